/* vmm/serial: the 8250 UART driven the way Linux's 8250 driver probes and
 * uses it, with output to a pipe and the interrupt line observed through
 * the callback. */
#include "vmm/serial.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { THR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

#define IRQ 4

struct irq_log {
	int calls;
	int level;
	int raises, lowers;
	uint32_t last_irq;
};

static int irq_cb(void *opaque, uint32_t irq, int level)
{
	struct irq_log *l = opaque;

	l->calls++;
	l->level = level;
	l->last_irq = irq;
	if (level)
		l->raises++;
	else
		l->lowers++;
	return 0;
}

static uint8_t in(struct serial *s, uint16_t reg)
{
	uint8_t v = 0x5a;

	serial_io(s, reg, &v, 1, false);
	return v;
}

static void out(struct serial *s, uint16_t reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

/* A pipe whose read end does not block. */
static void mkpipe(int fds[2])
{
	CHECK_EQ(pipe(fds), 0);
	CHECK_EQ(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
}

static ssize_t drain(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size);

	return n < 0 && errno == EAGAIN ? 0 : n;
}

TEST(probe_like_linux)
{
	struct serial s;
	struct irq_log log = { 0 };

	serial_init(&s, IRQ, irq_cb, &log, -1, NULL);

	/* Scratch register. */
	out(&s, SCR, 0xa5);
	CHECK_EQ(in(&s, SCR), 0xa5);
	out(&s, SCR, 0x5a);
	CHECK_EQ(in(&s, SCR), 0x5a);

	/* autoconfig: IER reads back what was written (low nibble only). */
	out(&s, IER, 0);
	CHECK_EQ(in(&s, IER) & 0x0f, 0);
	out(&s, IER, 0x0f);
	CHECK_EQ(in(&s, IER) & 0x0f, 0x0f);
	out(&s, IER, 0xff);
	CHECK_EQ(in(&s, IER), 0x0f);
	out(&s, IER, 0);
	CHECK_EQ(in(&s, IER), 0);

	/* Loopback: MCR LOOP|OUT2|RTS must read back as MSR DCD|CTS. */
	out(&s, MCR, 0x1a);
	CHECK_EQ(in(&s, MSR) & 0xf0, 0x90);
	out(&s, MCR, 0x1f);	/* + DTR, OUT1: all four status lines */
	CHECK_EQ(in(&s, MSR) & 0xf0, 0xf0);
	out(&s, MCR, 0x10);
	CHECK_EQ(in(&s, MSR) & 0xf0, 0x00);
	out(&s, MCR, 0x0b);	/* out of loopback: carrier and modem ready */
	CHECK_EQ(in(&s, MSR) & 0xb0, 0xb0);
	CHECK_EQ(in(&s, MCR), 0x0b);

	/* FIFO enabled: IIR bits 7:6 both set, as on a 16550A. */
	out(&s, FCR, 0x01);
	CHECK_EQ(in(&s, IIR) >> 6, 3);
	out(&s, FCR, 0x00);
	CHECK_EQ(in(&s, IIR) >> 6, 0);

	/* The transmitter is always empty, nothing is ever received. */
	CHECK_EQ(in(&s, LSR) & 0x61, 0x60);

	/* DLAB: the divisor latch replaces THR/RBR and IER. */
	out(&s, IER, 0x05);
	out(&s, LCR, 0x83);
	out(&s, THR, 0x0c);
	out(&s, IER, 0x01);
	CHECK_EQ(in(&s, THR), 0x0c);
	CHECK_EQ(in(&s, IER), 0x01);
	CHECK_EQ(in(&s, LCR), 0x83);
	out(&s, LCR, 0x03);
	CHECK_EQ(in(&s, IER), 0x05);	/* IER kept its value */
	CHECK_EQ(in(&s, LCR), 0x03);
	out(&s, LCR, 0x83);
	CHECK_EQ(in(&s, THR), 0x0c);
	CHECK_EQ(in(&s, IER), 0x01);
	out(&s, LCR, 0x03);

	/* LSR and MSR are read-only. */
	out(&s, LSR, 0);
	CHECK_EQ(in(&s, LSR) & 0x60, 0x60);
	CHECK_EQ(log.last_irq, log.calls ? IRQ : 0);
}

TEST(output_in_order)
{
	struct serial s;
	int fds[2];
	char got[64];
	const char *msg = "Linux version 6.1\r\n";
	ssize_t n;

	mkpipe(fds);
	serial_init(&s, IRQ, NULL, NULL, fds[1], NULL);
	out(&s, LCR, 0x03);
	for (const char *p = msg; *p; p++)
		out(&s, THR, (uint8_t)*p);
	n = drain(fds[0], got, sizeof(got) - 1);
	CHECK_EQ(n, strlen(msg));
	got[n > 0 ? n : 0] = '\0';
	CHECK_STR(got, msg);

	/* Bytes written with DLAB set go to the divisor, not the wire. */
	out(&s, LCR, 0x83);
	out(&s, THR, 'x');
	out(&s, LCR, 0x03);
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 0);

	/* A 2-byte access covers THR then IER: one byte out. */
	uint8_t two[2] = { 'y', 0 };
	serial_io(&s, THR, two, 2, true);
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 1);
	CHECK_EQ(got[0], 'y');
	/* An access running past the last register is cut, not overrun. */
	uint8_t four[4] = { 0x11, 0x22, 0x33, 0x44 };
	serial_io(&s, SCR, four, 4, true);
	CHECK_EQ(in(&s, SCR), 0x11);
	memset(four, 0xee, sizeof(four));
	serial_io(&s, MSR, four, 4, false);
	CHECK_EQ(four[1], 0x11);			/* SCR */
	CHECK(four[2] == 0xee && four[3] == 0xee);	/* no register 8, 9 */
	close(fds[0]);
	close(fds[1]);
}

TEST(thr_empty_interrupt)
{
	struct serial s;
	struct irq_log log = { 0 };
	int fds[2];
	char got[16];

	mkpipe(fds);
	serial_init(&s, IRQ, irq_cb, &log, fds[1], NULL);
	out(&s, LCR, 0x03);
	CHECK_EQ(log.calls, 0);
	CHECK_EQ(in(&s, IIR) & 0x0f, 0x01);	/* nothing pending */

	/* Enabling ETBEI with THR empty raises the line at once. */
	out(&s, IER, 0x02);
	CHECK_EQ(log.calls, 1);
	CHECK_EQ(log.level, 1);
	CHECK_EQ(log.last_irq, IRQ);
	/* Other register traffic does not re-signal a held level. */
	CHECK_EQ(in(&s, LSR) & 0x20, 0x20);
	out(&s, SCR, 1);
	CHECK_EQ(log.calls, 1);

	/* Reading IIR reports it and acknowledges it. */
	CHECK_EQ(in(&s, IIR) & 0x0f, 0x02);
	CHECK_EQ(log.calls, 2);
	CHECK_EQ(log.level, 0);
	CHECK_EQ(in(&s, IIR) & 0x0f, 0x01);
	CHECK_EQ(log.calls, 2);

	/* Each byte written empties THR again: raise, acknowledge, ... */
	for (int i = 0; i < 3; i++) {
		out(&s, THR, (uint8_t)('0' + i));
		CHECK_EQ(log.level, 1);
		CHECK_EQ(in(&s, IIR) & 0x0f, 0x02);
		CHECK_EQ(log.level, 0);
	}
	CHECK_EQ(log.raises, 4);
	CHECK_EQ(log.lowers, 4);
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 3);
	CHECK(memcmp(got, "012", 3) == 0);

	/* Disabling ETBEI lowers a pending interrupt; re-enabling raises. */
	out(&s, THR, 'z');
	CHECK_EQ(log.level, 1);
	out(&s, IER, 0x00);
	CHECK_EQ(log.level, 0);
	CHECK_EQ(in(&s, IIR) & 0x0f, 0x01);
	out(&s, IER, 0x02);
	CHECK_EQ(log.level, 1);
	CHECK_EQ(log.calls, 11);

	/* No ETBEI, no interrupt for bytes written. */
	CHECK_EQ(in(&s, IIR) & 0x0f, 0x02);
	out(&s, IER, 0x00);
	int calls = log.calls;
	out(&s, THR, 'q');
	CHECK_EQ(log.calls, calls);
	CHECK_EQ(log.level, 0);
	close(fds[0]);
	close(fds[1]);
}

TEST(loopback_does_not_emit)
{
	struct serial s;
	int fds[2];
	char got[16];

	mkpipe(fds);
	serial_init(&s, IRQ, NULL, NULL, fds[1], NULL);
	out(&s, MCR, 0x1a);
	out(&s, THR, 'L');
	out(&s, THR, 'B');
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 0);
	out(&s, MCR, 0x0b);
	out(&s, THR, 'o');
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 1);
	CHECK_EQ(got[0], 'o');
	close(fds[0]);
	close(fds[1]);
}

TEST(ring_keeps_tail)
{
	static char ring[SERIAL_RING], buf[SERIAL_RING + 16];
	struct serial s;
	const size_t total = SERIAL_RING + 1000;
	size_t n;

	serial_init(&s, IRQ, NULL, NULL, -1, ring);
	CHECK_EQ(serial_ring_read(&s, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "");
	out(&s, THR, 'a');
	out(&s, THR, 'b');
	CHECK_EQ(serial_ring_read(&s, buf, sizeof(buf)), 2);
	CHECK_STR(buf, "ab");

	serial_init(&s, IRQ, NULL, NULL, -1, ring);
	for (size_t i = 0; i < total; i++)
		out(&s, THR, (uint8_t)('A' + i % 23));
	memset(buf, 0x7f, sizeof(buf));
	n = serial_ring_read(&s, buf, sizeof(buf));
	CHECK_EQ(n, SERIAL_RING);
	CHECK_EQ(buf[n], '\0');
	for (size_t i = 0; i < SERIAL_RING; i++) {
		size_t k = total - SERIAL_RING + i;

		if (buf[i] != (char)('A' + k % 23)) {
			CHECK_EQ(buf[i], 'A' + k % 23);
			break;
		}
	}
	/* A small buffer gets a NUL-terminated prefix of the tail. */
	memset(buf, 0x7f, 16);
	CHECK_EQ(serial_ring_read(&s, buf, 8), 7);
	CHECK_EQ(buf[7], '\0');
	CHECK_EQ(buf[8], 0x7f);
	CHECK_EQ(buf[0], 'A' + (total - SERIAL_RING) % 23);
	CHECK_EQ(serial_ring_read(&s, buf, 1), 0);
	CHECK_EQ(buf[0], '\0');
	CHECK_EQ(serial_ring_read(&s, buf, 0), 0);

	/* Exactly full, not yet wrapped. */
	serial_init(&s, IRQ, NULL, NULL, -1, ring);
	for (size_t i = 0; i < SERIAL_RING; i++)
		out(&s, THR, (uint8_t)('a' + i % 26));
	n = serial_ring_read(&s, buf, sizeof(buf));
	CHECK_EQ(n, SERIAL_RING);
	CHECK_EQ(buf[0], 'a');
	CHECK_EQ(buf[SERIAL_RING - 1], 'a' + (SERIAL_RING - 1) % 26);

	/* No ring: empty string. */
	serial_init(&s, IRQ, NULL, NULL, -1, NULL);
	out(&s, THR, 'x');
	buf[0] = 'x';
	CHECK_EQ(serial_ring_read(&s, buf, sizeof(buf)), 0);
	CHECK_EQ(buf[0], '\0');
}

TEST(closed_pipe)
{
	static char ring[SERIAL_RING];
	struct serial s;
	int fds[2], again[2];
	char got[16], tail[16];

	signal(SIGPIPE, SIG_IGN);
	mkpipe(fds);
	serial_init(&s, IRQ, NULL, NULL, fds[1], ring);
	out(&s, THR, 'a');
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 1);
	close(fds[0]);			/* the reader goes away */
	out(&s, THR, 'b');		/* EPIPE: no crash */
	CHECK(s.out_failed);

	/* Put a live pipe behind the same fd number: later bytes must not
	 * be written at all. */
	mkpipe(again);
	CHECK(dup2(again[1], fds[1]) == fds[1]);
	out(&s, THR, 'c');
	out(&s, THR, 'd');
	CHECK_EQ(drain(again[0], got, sizeof(got)), 0);
	/* The guest still sees a working port, and the ring still records. */
	CHECK_EQ(in(&s, LSR) & 0x60, 0x60);
	CHECK_EQ(serial_ring_read(&s, tail, sizeof(tail)), 4);
	CHECK_STR(tail, "abcd");
	close(again[0]);
	close(again[1]);
	close(fds[1]);
}

/* A console file must not grow without end: after the limit, one note and
 * nothing more, while the guest still sees a working port and the ring
 * (for quoting a panic) keeps recording. */
TEST(output_limit)
{
	static char ring[SERIAL_RING];
	struct serial s;
	int fds[2];
	char got[256], tail[64];
	ssize_t n;

	mkpipe(fds);
	serial_init(&s, IRQ, NULL, NULL, fds[1], ring);
	serial_limit(&s, 5);
	for (const char *p = "hello, world"; *p; p++)
		out(&s, THR, (uint8_t)*p);
	n = drain(fds[0], got, sizeof(got) - 1);
	CHECK(n > 5);
	got[n > 0 ? n : 0] = '\0';
	CHECK_STR(got, "hello\n[airlock-vmm: the guest's output reached its limit; "
		  "the rest is dropped]\n");
	out(&s, THR, '!');
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 0);
	CHECK_EQ(in(&s, LSR) & 0x60, 0x60);
	CHECK_EQ(serial_ring_read(&s, tail, sizeof(tail)), 13);
	CHECK_STR(tail, "hello, world!");

	/* 0: no limit. */
	serial_init(&s, IRQ, NULL, NULL, fds[1], NULL);
	serial_limit(&s, 0);
	for (int i = 0; i < 200; i++)
		out(&s, THR, 'x');
	CHECK_EQ(drain(fds[0], got, sizeof(got)), 200);
	close(fds[0]);
	close(fds[1]);
}

CHECK_MAIN(
	TEST_ENTRY(probe_like_linux),
	TEST_ENTRY(output_in_order),
	TEST_ENTRY(thr_empty_interrupt),
	TEST_ENTRY(loopback_does_not_emit),
	TEST_ENTRY(ring_keeps_tail),
	TEST_ENTRY(closed_pipe),
	TEST_ENTRY(output_limit),
)
