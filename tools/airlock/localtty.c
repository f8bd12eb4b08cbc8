/* The user's own terminal during an exec session: see localtty.h. */
#include "tools/airlock/localtty.h"
#include "lib/clock.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* At the end: how long the terminal gets to take the reset, and to answer
 * the query that marks the end of its earlier answers. */
#define RESET_WRITE_MS 1000
#define DRAIN_MS 1000
#define DRAIN_QUIET_MS 100

void localtty_init(struct localtty *t)
{
	*t = (struct localtty){ .out_tty = { isatty(1), isatty(2) } };
}

void localtty_raw(struct localtty *t)
{
	struct termios raw;

	if (!isatty(0) || tcgetattr(0, &t->saved) < 0)
		return;
	raw = t->saved;
	/* Every byte, ^C and ^Z included, goes to the guest's terminal,
	 * whose line discipline does what this one would have done. */
	cfmakeraw(&raw);
	if (tcsetattr(0, TCSADRAIN, &raw) == 0)
		t->raw = true;
}

void localtty_raw_again(const struct localtty *t)
{
	struct termios raw = t->saved;

	if (!t->raw)
		return;
	cfmakeraw(&raw);
	tcsetattr(0, TCSADRAIN, &raw);
}

/* Both fds are the same terminal. */
static bool same_tty(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && S_ISCHR(sa.st_mode) &&
	       S_ISCHR(sb.st_mode) && sa.st_rdev == sb.st_rdev;
}

int localtty_filters(struct localtty *t, bool tty_session)
{
	for (int i = 0; i < 2; i++) {
		if (!t->out_tty[i])
			continue;
		t->filt[i] = malloc(sizeof(*t->filt[i]));
		if (!t->filt[i])
			return -ENOMEM;
		termfilter_init(t->filt[i], tty_session && t->raw && same_tty(0, i + 1)
				? TERMFILTER_INTERACTIVE : 0);
	}
	return 0;
}

/* Writes all of p within ms, or gives up (a terminal nobody drains). */
static void write_within(int fd, const uint8_t *p, size_t n, int ms)
{
	int64_t deadline = clock_ms() + ms;

	while (n) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		int64_t left = deadline - clock_ms();
		ssize_t k;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		k = write(fd, p, n);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0)
			return;
		p += k;
		n -= (size_t)k;
	}
}

/* Reads the terminal until the answer to our DA1 (ESC [ ? ... c) has come
 * and then nothing for DRAIN_QUIET_MS, or DRAIN_MS passed. A terminal
 * answers in order, so the guest's earlier queries were answered before. */
static void drain_answers(void)
{
	int64_t deadline = clock_ms() + DRAIN_MS;
	int st = 0;		/* 0, ESC, ESC [, ESC [ ? digits */
	bool seen = false;

	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int64_t left = deadline - clock_ms();
		uint8_t buf[512];
		ssize_t n;

		if (left <= 0)
			return;
		if (seen && left > DRAIN_QUIET_MS)
			left = DRAIN_QUIET_MS;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n == 0 && seen))
			return;
		if (n == 0)
			continue;
		n = read(0, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		for (ssize_t i = 0; i < n; i++) {
			uint8_t c = buf[i];

			if (c == 0x1b)
				st = 1;
			else if (st == 1)
				st = c == '[' ? 2 : 0;
			else if (st == 2)
				st = c == '?' ? 3 : 0;
			else if (st == 3 && c == 'c')
				seen = true, st = 0;
			else if (st == 3 && !((c >= '0' && c <= '9') || c == ';'))
				st = 0;
		}
	}
}

void localtty_restore(struct localtty *t, const bool cut[2], const bool dead[2])
{
	uint8_t buf[1 + TERMFILTER_RESET_MAX + 3];
	bool drain = false;

	for (int i = 0; i < 2; i++) {
		struct termfilter *f = t->filt[i];
		size_t n = 0;

		if (!f || dead[i])
			continue;
		if (cut[i])
			buf[n++] = 0x18;	/* CAN: the reset is read as itself */
		n += termfilter_reset(f, buf + n);
		if ((f->flags & TERMFILTER_INTERACTIVE) &&
		    (f->queries || (f->modes & TF_REPORTING))) {
			memcpy(buf + n, "\x1b[c", 3);
			n += 3;
			drain = true;
		}
		if (n)
			write_within(i + 1, buf, n, RESET_WRITE_MS);
	}
	if (drain)
		drain_answers();
	/* What the terminal typed meanwhile (answers and reports for the
	 * guest that nobody will read now) is thrown away with TCSAFLUSH. */
	if (t->raw)
		tcsetattr(0, drain ? TCSAFLUSH : TCSADRAIN, &t->saved);
	t->raw = false;
}

void localtty_free(struct localtty *t)
{
	free(t->filt[0]);
	free(t->filt[1]);
	t->filt[0] = t->filt[1] = NULL;
}
