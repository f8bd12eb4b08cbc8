/* A UART's registers in a snapshot (section SNAP_SEC_SERIAL, instance the
 * UART's index): the guest's 8250 driver programmed them at boot and
 * relies on them afterwards (interrupt enables, line control). Where its
 * output goes, and how much has gone, is the new VMM's own. */
#ifndef AIRLOCK_VMM_SERIAL_SAVE_H
#define AIRLOCK_VMM_SERIAL_SAVE_H

#include <stdint.h>

#include "vmm/serial.h"
#include "vmm/snapshot.h"

/* On disk: SNAP_F_SERIAL. */
struct snap_serial {
	uint8_t ier, lcr, mcr, lsr, scr, dll, dlm, fcr;
	uint8_t thr_ipending;
	uint8_t irq_level;
	uint8_t reserved[6];
} __attribute__((packed));

void serial_save(struct serial *s, uint32_t index, struct snap_writer *w);
/* 0, or -EBADMSG / -ESTALE with *why. */
int serial_load(struct serial *s, struct snap_file *f, uint32_t index, const char **why);

#endif
