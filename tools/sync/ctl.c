/* The socketpair to the supervisor (`airlock run`): one line per message,
 * both ways. To it: "left-out N SAMPLES", "progress DONE TOTAL", "ready
 * FILES BYTES", "flushed", "summary in=N back=N held=N conflicts=N
 * refused=N stripped=N", "error TEXT". From it: "flush" (send what the
 * guest changed now, then "flushed") and "finish" (the last flush, the
 * summary, the end). The supervisor is trusted; the text it gets is
 * escaped anyway, since paths are in it. */
#include "tools/sync/sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void hsync_ctl_say(struct hsync *s, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (s->ctl < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	/* Small and rare: a blocking send is fine. */
	if (send(s->ctl, line, (size_t)n, MSG_NOSIGNAL) < 0) {
		/* The supervisor is gone: the loop notices on reading. */
	}
}

bool hsync_ctl_read(struct hsync *s)
{
	char buf[256];
	ssize_t n = recv(s->ctl, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	buf[n] = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strcmp(line, "finish") == 0) {
			s->finish_wanted = true;
			if (s->phase == H_RUNNING)
				s->phase = H_FINISHING;
		} else if (strcmp(line, "flush") == 0) {
			s->ctl_flush_wanted = true;	/* sent between files */
		}
	}
	return true;
}
