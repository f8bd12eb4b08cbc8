/* Encoding of the guest command on the kernel command line: see cmdline.h. */
#include "proto/cmdline.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static bool plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '/' || c == ':' || c == '+' || c == '@';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int cmdline_encode_argv(char *buf, size_t size, int argc, char *const argv[])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (argc < 1 || size == 0)
		return -EINVAL;
	for (int i = 0; i < argc; i++) {
		const unsigned char *s = (const unsigned char *)argv[i];

		if (i > 0) {
			if (n + 1 >= size)
				return -ENOSPC;
			buf[n++] = ',';
		}
		for (; *s; s++) {
			if (plain(*s)) {
				if (n + 1 >= size)
					return -ENOSPC;
				buf[n++] = (char)*s;
			} else {
				if (n + 3 >= size)
					return -ENOSPC;
				buf[n++] = '%';
				buf[n++] = hex[*s >> 4];
				buf[n++] = hex[*s & 15];
			}
		}
	}
	buf[n] = '\0';
	return (int)n;
}

int cmdline_decode_argv(const char *tok, size_t len, char *buf, size_t size,
			char *argv[], int max_args)
{
	size_t n = 0;
	int argc = 0;

	if (max_args < 1 || size == 0)
		return -E2BIG;
	argv[argc++] = buf;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];
		int hi, lo;

		if (n + 1 >= size)
			return -E2BIG;
		if (c == ',') {
			if (argc >= max_args)
				return -E2BIG;
			buf[n++] = '\0';
			argv[argc++] = buf + n;
		} else if (c == '%') {
			if (len - i < 3)
				return -EINVAL;
			hi = hexval(tok[i + 1]);
			lo = hexval(tok[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			buf[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plain(c)) {
			buf[n++] = (char)c;
		} else {
			return -EINVAL;
		}
	}
	if (n >= size)
		return -E2BIG;
	buf[n] = '\0';
	argv[argc] = NULL;
	return argc;
}

const char *cmdline_find(const char *cmdline, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		const char *start, *end;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		start = p;
		/* Like the kernel's next_arg(): a quote anywhere opens a run
		 * in which blanks do not split. */
		for (bool quoted = false; *p; p++) {
			if (*p == '"')
				quoted = !quoted;
			else if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n'))
				break;
		}
		end = p;
		if ((size_t)(end - start) >= klen && memcmp(start, key, klen) == 0) {
			*len = (size_t)(end - start) - klen;
			return start + klen;
		}
	}
	return NULL;
}
