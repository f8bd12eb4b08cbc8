/* 8250/16550A UART emulation: see serial.h. Register semantics are the
 * National Semiconductor PC16550D datasheet's. Transmission is immediate,
 * so THR is always empty; the "THR empty" interrupt is raised when a byte
 * is written or ETBEI is enabled, and cleared by reading IIR, as on the
 * real part (Linux's driver depends on exactly that). */
#include "vmm/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_FIFO	0xc0
#define LCR_DLAB	0x80
#define MCR_LOOP	0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define FCR_ENABLE	0x01

void serial_init(struct serial *s, uint32_t irq, serial_irq_fn *set_irq,
		 void *irq_opaque, int out_fd, char *ring)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->irq = irq;
	s->set_irq = set_irq;
	s->irq_opaque = irq_opaque;
	s->out_fd = out_fd;
	s->ring = ring;
	s->lsr = LSR_THRE | LSR_TEMT;
	s->mcr = 0x08;		/* OUT2: interrupts reach the PIC */
}

void serial_limit(struct serial *s, uint64_t max)
{
	s->out_max = max;
}

static uint8_t iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_THRI) && s->thr_ipending)
		return IIR_THRI | fifo;
	return IIR_NO_INT | fifo;
}

static void update_irq(struct serial *s)
{
	int level = (iir(s) & IIR_NO_INT) ? 0 : 1;

	if (level != s->irq_level && s->set_irq) {
		s->irq_level = level;
		s->set_irq(s->irq_opaque, s->irq, level);
	}
}

static void emit(struct serial *s, uint8_t c)
{
	if (s->ring) {
		s->ring[s->ring_pos++] = (char)c;
		if (s->ring_pos == SERIAL_RING) {
			s->ring_pos = 0;
			s->ring_full = true;
		}
	}
	if (s->out_fd < 0 || (s->mcr & MCR_LOOP) || s->out_failed)
		return;
	if (s->out_max && s->out_count >= s->out_max)
		return;
	for (;;) {
		ssize_t w = write(s->out_fd, &c, 1);

		if (w == 1) {
			if (++s->out_count == s->out_max) {
				static const char note[] =
					"\n[airlock-vmm: the guest's output reached its limit; "
					"the rest is dropped]\n";

				if (write(s->out_fd, note, sizeof(note) - 1) < 0) {
					/* nowhere to say it */
				}
			}
			return;
		}
		if (w < 0 && errno == EINTR)
			continue;
		/* EPIPE and the like: the reader is gone. Keep the guest
		 * running; its output just has nowhere to go. */
		s->out_failed = true;
		return;
	}
}

static uint8_t msr(const struct serial *s)
{
	if (s->mcr & MCR_LOOP)	/* the loopback test Linux runs on probe */
		return (uint8_t)(((s->mcr & 0x02) ? MSR_CTS : 0) |
				 ((s->mcr & 0x01) ? MSR_DSR : 0) |
				 ((s->mcr & 0x04) ? MSR_RI : 0) |
				 ((s->mcr & 0x08) ? MSR_DCD : 0));
	return MSR_DCD | MSR_DSR | MSR_CTS;
}

static uint8_t reg_read(struct serial *s, uint16_t reg)
{
	uint8_t v;

	switch (reg) {
	case RBR_THR:
		return (s->lcr & LCR_DLAB) ? s->dll : 0;	/* no input yet */
	case IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR:
		v = iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thr_ipending = false;	/* read acknowledges it */
		return v;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		return s->lsr;
	case MSR:
		return msr(s);
	default:
		return s->scr;
	}
}

static void reg_write(struct serial *s, uint16_t reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			return;
		}
		emit(s, v);
		s->thr_ipending = true;		/* sent at once: empty again */
		return;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			return;
		}
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thr_ipending = true;
		s->ier = v & 0x0f;
		return;
	case IIR_FCR:
		s->fcr = v & 0xc9;
		return;
	case LCR:
		s->lcr = v;
		return;
	case MCR:
		s->mcr = v & 0x1f;
		return;
	case SCR:
		s->scr = v;
		return;
	default:
		return;		/* LSR and MSR are read-only */
	}
}

void serial_io(void *opaque, uint16_t offset, uint8_t *data, uint8_t size,
	       bool is_write)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	/* A wider access covers consecutive registers, one byte each. */
	for (uint8_t i = 0; i < size && offset + i < SERIAL_PORTS; i++) {
		if (is_write)
			reg_write(s, (uint16_t)(offset + i), data[i]);
		else
			data[i] = reg_read(s, (uint16_t)(offset + i));
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t serial_ring_read(struct serial *s, char *buf, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (s->ring) {
		size_t start = s->ring_full ? s->ring_pos : 0;
		size_t len = s->ring_full ? SERIAL_RING : s->ring_pos;

		for (; n < len && n + 1 < size; n++)
			buf[n] = s->ring[(start + n) % SERIAL_RING];
	}
	buf[n] = '\0';
	pthread_mutex_unlock(&s->lock);
	return n;
}
