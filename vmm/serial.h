/* An 8250/16550A UART, transmit side: what Linux's 8250 driver needs to
 * find the port and print through it. Output goes to a file descriptor
 * (or nowhere) and, optionally, into a ring that keeps the tail so the VMM
 * can quote a guest panic. The guest sees a port that never stalls. */
#ifndef AIRLOCK_VMM_SERIAL_H
#define AIRLOCK_VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_PORTS 8
#define SERIAL_RING 16384

typedef int serial_irq_fn(void *opaque, uint32_t irq, int level);

struct serial {
	pthread_mutex_t lock;
	uint32_t irq;
	serial_irq_fn *set_irq;
	void *irq_opaque;
	int out_fd;		/* -1: discard */
	bool out_failed;	/* stop writing after the first error */
	uint64_t out_max;	/* bytes to write at most; 0: no limit */
	uint64_t out_count;	/* bytes written */

	uint8_t ier, lcr, mcr, lsr, scr, dll, dlm, fcr;
	bool thr_ipending;	/* "THR empty" interrupt not yet acknowledged */
	int irq_level;

	char *ring;		/* NULL, or SERIAL_RING bytes of recent output */
	size_t ring_pos;
	bool ring_full;
};

void serial_init(struct serial *s, uint32_t irq, serial_irq_fn *set_irq,
		 void *irq_opaque, int out_fd, char *ring);

/* Write at most max bytes of guest output to out_fd (0: no limit), then
 * one line saying the rest was dropped: a guest must not be able to fill
 * the host's disk through a console file. */
void serial_limit(struct serial *s, uint64_t max);

/* The port handler (8 registers). */
void serial_io(void *opaque, uint16_t offset, uint8_t *data, uint8_t size,
	       bool is_write);

/* Copy the ring's content in order into buf (NUL-terminated). */
size_t serial_ring_read(struct serial *s, char *buf, size_t size);

#endif
