/* The network log: see netlog.h. */
#include "tools/gateway/netlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_ 65536	/* a policy record lists its rules */

void netlog_init(struct netlog *l, int fd, off_t max, const char *sandbox)
{
	struct stat st;

	l->fd = fd;
	l->max = max > 4096 ? max : 4096;
	l->sandbox = sandbox;
	l->size = fd >= 0 && fstat(fd, &st) == 0 ? st.st_size : 0;
}

static void add(char *buf, size_t size, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= size)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *n, size - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = *n + (size_t)k < size ? *n + (size_t)k : size;
}

void json_str(char *buf, size_t size, size_t *n, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	add(buf, size, n, "\"");
	for (; *s && *n + 8 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[(*n)++] = '\\';
			buf[(*n)++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			/* Names are ASCII (dns.h escapes the rest); anything
			 * else is shown, not trusted, as \u00XX. */
			add(buf, size, n, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			buf[(*n)++] = (char)c;
		}
	}
	add(buf, size, n, "\"");
}

static void member(char *buf, size_t size, size_t *n, const char *key,
		   const char *val)
{
	if (!val)
		return;
	add(buf, size, n, ",\"%s\":", key);
	json_str(buf, size, n, val);
}

/* Keeps the newer half: copies it to the front, cut at a line start. */
static void halve(struct netlog *l)
{
	static char chunk[65536];
	off_t from = l->size / 2, to = 0;
	ssize_t r;

	/* Find the first line start at or after the middle. */
	for (;;) {
		char *nl;

		r = pread(l->fd, chunk, sizeof(chunk), from);
		if (r <= 0) {
			from = l->size;
			break;
		}
		nl = memchr(chunk, '\n', (size_t)r);
		if (nl) {
			from += nl - chunk + 1;
			break;
		}
		from += r;
	}
	while (from < l->size && (r = pread(l->fd, chunk, sizeof(chunk), from)) > 0) {
		if (pwrite(l->fd, chunk, (size_t)r, to) != r)
			break;
		from += r;
		to += r;
	}
	if (ftruncate(l->fd, to) == 0)
		l->size = to;
}

/* UTC date and time of t. Not gmtime()/strftime(): glibc reads the time
 * zone file on first use, and the gateway opens no file. Days to civil
 * date as in Howard Hinnant's date algorithms. */
static void utc(time_t t, char *out, size_t size)
{
	int64_t days = t / 86400, secs = t % 86400, z, era, doe, yoe, doy, mp;
	int64_t y, m, d;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	snprintf(out, size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld", (long long)y,
		 (long long)m, (long long)d, (long long)(secs / 3600),
		 (long long)(secs / 60 % 60), (long long)(secs % 60));
}

void netlog_write(struct netlog *l, const struct netlog_entry *e)
{
	static char line[LINE_MAX_];
	char ts[96];
	size_t n = 0;
	struct timespec now;

	if (l->fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	utc(now.tv_sec, ts, sizeof(ts));
	add(line, sizeof(line), &n, "{\"time\":\"%s.%03ldZ\"", ts,
	    now.tv_nsec / 1000000);
	member(line, sizeof(line), &n, "sandbox", l->sandbox);
	member(line, sizeof(line), &n, "kind", e->kind);
	member(line, sizeof(line), &n, "name", e->name);
	member(line, sizeof(line), &n, "qtype", e->qtype);
	if (e->port)
		add(line, sizeof(line), &n, ",\"port\":%u", e->port);
	member(line, sizeof(line), &n, "addr", e->addr);
	member(line, sizeof(line), &n, "answer", e->answer);
	member(line, sizeof(line), &n, "action", e->action);
	member(line, sizeof(line), &n, "rule", e->rule);
	member(line, sizeof(line), &n, "reason", e->reason);
	if (e->ms >= 0 && e->kind && strcmp(e->kind, "tcp") == 0)
		add(line, sizeof(line), &n, ",\"sent\":%" PRIu64 ",\"received\":%"
		    PRIu64 ",\"ms\":%" PRId64, e->sent, e->received, e->ms);
	if (e->extra && n + strlen(e->extra) + 4 < sizeof(line))
		add(line, sizeof(line), &n, ",%s", e->extra);
	if (n > sizeof(line) - 3)
		n = sizeof(line) - 3;	/* cut: still one line */
	line[n++] = '}';
	line[n++] = '\n';
	if (l->size + (off_t)n > l->max)
		halve(l);
	if (pwrite(l->fd, line, n, l->size) == (ssize_t)n)
		l->size += (off_t)n;
}
