/* escape_text() (escape.h): strict UTF-8 decoding, one character or stray
 * byte at a time, each written as itself or as an escape. */
#include "lib/escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The length of the valid UTF-8 character at s (no overlong form, no
 * surrogate, nothing past U+10FFFF) and its code point; 0 if invalid. */
static size_t utf8_char(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Shown as an escape although valid: controls, and what reorders or
 * breaks a line without being seen. */
static bool hidden(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c ||
	       cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escaped form of the character or stray byte at s: its length in
 * piece (8 bytes) and, in *step, how many bytes of s it stands for. */
static size_t escape_one(const unsigned char *s, size_t len, char *piece,
			 size_t *step)
{
	uint32_t cp;

	*step = utf8_char(s, len, &cp);
	if (*step == 0) {
		*step = 1;
		return (size_t)snprintf(piece, 8, "\\x%02x", s[0]);
	}
	if (cp < 0x20 || cp == 0x7f)
		return (size_t)snprintf(piece, 8, "\\x%02x", cp);
	if (hidden(cp))
		return (size_t)snprintf(piece, 8, "\\u%04x", cp);
	memcpy(piece, s, *step);
	return *step;
}

size_t escape_text(char *out, size_t cap, const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0, total = 0, step;
	char piece[8];

	if (cap < 4) {
		if (cap)
			out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < len; i += step)
		total += escape_one(s + i, len - i, piece, &step);
	for (size_t i = 0; i < len; i += step) {
		size_t k = escape_one(s + i, len - i, piece, &step);

		/* When not all fits: room kept for "..." and the NUL. */
		if (total + 1 > cap && n + k + 3 + 1 > cap) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(out + n, piece, k);
		n += k;
	}
	out[n] = '\0';
	return n;
}
