/* The sync log (sync.log in the sandbox's sync folder): every refusal,
 * hold and conflict with its reason, one line each. A guest provokes these
 * lines, so a run writes at most LOG_MAX_LINES, names are escaped, and a
 * log grown past LOG_ROTATE is moved aside at start. */
#include "tools/sync/sync.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX_LINES 5000
#define LOG_ROTATE (4u << 20)

void hsync_log_open(struct hsync *s)
{
	struct stat st;
	int fd;

	if (fstatat(s->state, "sync.log", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (uint64_t)st.st_size > LOG_ROTATE)
		renameat(s->state, "sync.log", s->state, "sync.log.1");
	fd = openat(s->state, "sync.log", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	s->log = fd < 0 ? NULL : fdopen(fd, "a");
	if (!s->log && fd >= 0)
		close(fd);
}

/* UTF-8 sequences are kept whole if valid and not C1 controls; every
 * other byte that a terminal could act on becomes \xNN. */
void hsync_escape(const char *in, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	if (!size)
		return;
	while (*s && o + 5 < size) {
		unsigned char c = *s;
		size_t n = 0;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		if (n && !(c == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)) {
			size_t k = 1;

			while (k <= n && (s[k] & 0xc0) == 0x80)
				k++;
			if (k == n + 1 && o + n + 1 < size) {
				memcpy(out + o, s, n + 1);
				o += n + 1;
				s += n + 1;
				continue;
			}
		}
		o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		s++;
	}
	out[o] = 0;
}

static void vlog(struct hsync *s, const char *kind, const char *path,
		 const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void vlog(struct hsync *s, const char *kind, const char *path,
		 const char *fmt, va_list ap)
{
	char msg[1024], epath[4 * SYNC_MAX_PATH + 8], emsg[4 * sizeof(msg)];
	char when[32];
	struct tm tm;
	time_t now;

	if (!s->log)
		return;
	if (s->log_lines == LOG_MAX_LINES) {
		fprintf(s->log, "(further lines of this run are not logged; the "
			"summary counts them)\n");
		fflush(s->log);
	}
	if (s->log_lines++ >= LOG_MAX_LINES)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	hsync_escape(msg, emsg, sizeof(emsg));
	if (path) {
		hsync_escape(path, epath, sizeof(epath));
		fprintf(s->log, "%s %s %s: %s\n", when, kind, epath, emsg);
	} else {
		fprintf(s->log, "%s %s %s\n", when, kind, emsg);
	}
	fflush(s->log);
}

void hsync_log(struct hsync *s, const char *kind, const char *path,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(s, kind, path, fmt, ap);
	va_end(ap);
}

void hsync_refuse(struct hsync *s, const char *path, const char *fmt, ...)
{
	va_list ap;

	s->count.refused++;
	va_start(ap, fmt);
	vlog(s, "refused", path, fmt, ap);
	va_end(ap);
}
