/* A UART's registers in a snapshot: see serial_save.h. The ranges checked
 * are what serial.c itself ever stores. */
#include "vmm/serial_save.h"

#include <errno.h>
#include <string.h>

_Static_assert(sizeof(struct snap_serial) == 16, "serial layout");

#define LSR_IDLE 0x60	/* THRE | TEMT: serial.c transmits at once */

void serial_save(struct serial *s, uint32_t index, struct snap_writer *w)
{
	struct snap_serial ss;

	pthread_mutex_lock(&s->lock);
	ss = (struct snap_serial){
		.ier = s->ier, .lcr = s->lcr, .mcr = s->mcr, .lsr = s->lsr,
		.scr = s->scr, .dll = s->dll, .dlm = s->dlm, .fcr = s->fcr,
		.thr_ipending = s->thr_ipending, .irq_level = (uint8_t)s->irq_level,
	};
	pthread_mutex_unlock(&s->lock);
	snap_begin(w, SNAP_SEC_SERIAL, index);
	snap_field(w, SNAP_F_SERIAL, &ss, sizeof(ss));
	snap_end(w);
}

int serial_load(struct serial *s, struct snap_file *f, uint32_t index, const char **why)
{
	struct snap_section *sec = snap_find(f, SNAP_SEC_SERIAL, index);
	struct snap_serial ss;
	int r;

	if (!sec) {
		*why = "a UART the snapshot does not have";
		return -ESTALE;
	}
	if ((r = snap_get(sec, SNAP_F_SERIAL, &ss, sizeof(ss), why)) ||
	    (r = snap_section_done(sec, why)))
		return r;
	if (ss.ier > 0x0f || ss.mcr > 0x1f || (ss.fcr & ~0xc9) || ss.lsr != LSR_IDLE ||
	    ss.thr_ipending > 1 || ss.irq_level > 1 ||
	    memcmp(ss.reserved, "\0\0\0\0\0\0", sizeof(ss.reserved))) {
		*why = "UART registers out of range";
		return -EBADMSG;
	}
	pthread_mutex_lock(&s->lock);
	s->ier = ss.ier;
	s->lcr = ss.lcr;
	s->mcr = ss.mcr;
	s->lsr = ss.lsr;
	s->scr = ss.scr;
	s->dll = ss.dll;
	s->dlm = ss.dlm;
	s->fcr = ss.fcr;
	s->thr_ipending = ss.thr_ipending;
	/* The line's level is in the restored irqchip already: only our
	 * record of it, so the next change is raised as a change. */
	s->irq_level = ss.irq_level;
	pthread_mutex_unlock(&s->lock);
	return 0;
}
