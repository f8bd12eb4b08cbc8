/* libFuzzer target for lib/termfilter, what stands between the guest and
 * the user's terminal. The first byte picks the flags and a chunk-size
 * seed; the rest is guest output, fed once whole and once in chunks: both
 * must give the same bytes, each call within TERMFILTER_OUT_MAX. Then the
 * output and the reset are read by a recogniser written apart from the
 * filter, which aborts on anything that must never reach a terminal: an
 * OSC but a clean title, a DCS/APC/PM/SOS introducer, a C1 control raw or
 * in UTF-8, invalid UTF-8, a control outside the few allowed, a sequence
 * cut short, a CSI t other than the title push/pop, a report query, a
 * query at all unless interactive. */
#include "lib/termfilter.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IN (1u << 16)

static uint8_t whole[TERMFILTER_OUT_MAX(MAX_IN) + TERMFILTER_RESET_MAX];
static uint8_t chunked[TERMFILTER_OUT_MAX(MAX_IN) + TERMFILTER_RESET_MAX];
static uint8_t scratch[TERMFILTER_OUT_MAX(MAX_IN) + 1];

/* ---- the recogniser: what a terminal would see ---- */

static bool params_are(const uint8_t *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* One number (leading zeros allowed), and its value; -1 for none. */
static long number(const uint8_t *p, size_t n)
{
	long v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (v < 1000000)
			v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* The DEC private modes a terminal may be given; reporting ones only
 * when interactive. */
static bool private_mode_ok(long v, bool interactive)
{
	static const long plain[] = { 1, 5, 6, 7, 25, 47, 66, 1047, 1048, 1049, 2026 };
	static const long reporting[] = { 9, 1000, 1002, 1003, 1004, 1005, 1006,
					  1015, 1016, 2004 };

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (v == plain[i])
			return true;
	for (size_t i = 0; i < sizeof(reporting) / sizeof(reporting[0]); i++)
		if (v == reporting[i])
			return interactive;
	return false;
}

/* A CSI whose parameters are p[0..n) and final byte fin, intermediates
 * in im[0..ni). */
static void check_csi(const uint8_t *p, size_t n, const uint8_t *im, size_t ni,
		      uint8_t fin, bool interactive)
{
	if (ni) {
		/* DECSCUSR only: DECRQM ($p), DECSCL ("p), DECRQCRA (*y)... */
		if (ni != 1 || im[0] != ' ' || fin != 'q')
			abort();
		return;
	}
	if (n && p[0] == '?') {
		size_t i = 1;

		if (fin != 'h' && fin != 'l')
			abort();
		while (i < n) {
			size_t j = i;
			long v = 0;

			while (j < n && p[j] >= '0' && p[j] <= '9')
				v = v * 10 + (p[j++] - '0');
			if (j == i || !private_mode_ok(v, interactive))
				abort();
			if (j < n && p[j] != ';')
				abort();
			i = j + 1;
		}
		return;
	}
	if (n && (p[0] == '>' || p[0] == '<' || p[0] == '=')) {
		/* DA2 only; never XTVERSION, kitty keys, modifyOtherKeys. */
		if (!interactive || p[0] != '>' || fin != 'c' ||
		    !(n == 1 || number(p + 1, n - 1) == 0))
			abort();
		return;
	}
	switch (fin) {
	case 't':
		/* Title push/pop, which the filter itself writes: never a
		 * report (21t, 14t, 18t...) or a window move. */
		if (!params_are(p, n, "22;0") && !params_are(p, n, "23;0"))
			abort();
		return;
	case 'n':
		if (!interactive || (number(p, n) != 5 && number(p, n) != 6))
			abort();
		return;
	case 'c':
		if (!interactive || !(n == 0 || number(p, n) == 0))
			abort();
		return;
	case 'h': case 'l':
		if (number(p, n) != 4)
			abort();
		return;
	case 'i':	/* media copy */
	case 'p': case 'q': case 'x': case 'y': case 'g': case 'W':
		abort();
	}
	if (!strchr("@ABCDEFGHIJKLMPSTXZ`abdefmrsu", fin))
		abort();
	if ((fin == 's' || fin == 'u') && n)
		abort();
}

/* A title string p[0..n) after "ESC ]", up to its ST (excluded). */
static void check_osc(const uint8_t *p, size_t n)
{
	if (n < 2 || (p[0] != '0' && p[0] != '2') || p[1] != ';')
		abort();	/* OSC 52, 8, 4, 10, 11, 7, ... */
	if (n - 2 > TERMFILTER_TITLE_MAX)
		abort();
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			abort();	/* C1 and bad UTF-8: checked by the caller */
}

/* The length of the valid UTF-8 character at p, not a C1; aborts if
 * there is none. */
static size_t utf8_ok(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t k;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, cp = p[0] & 0x07u;
	else
		abort();	/* a raw C1, or no UTF-8 */
	if (n < k)
		abort();
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			abort();
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if ((k == 2 && cp < 0xa0) || (k == 3 && cp < 0x800) ||
	    (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		abort();	/* U+0080-U+009F, overlong, surrogate */
	return k;
}

static void recognise(const uint8_t *p, size_t n, bool interactive)
{
	size_t i = 0;

	while (i < n) {
		uint8_t b = p[i];

		if (b >= 0x80) {
			i += utf8_ok(p + i, n - i);
			continue;
		}
		if (b >= 0x20 && b < 0x7f) {
			i++;
			continue;
		}
		if (b >= 0x07 && b <= 0x0f) {	/* BEL BS HT LF VT FF CR SO SI */
			i++;
			continue;
		}
		if (b != 0x1b || ++i == n)
			abort();	/* NUL, ENQ, DEL, ...; a lone ESC at the end */
		b = p[i++];
		if (b == '[') {
			size_t ps = i, pe, is;

			while (i < n && p[i] >= 0x30 && p[i] <= 0x3f)
				i++;
			pe = is = i;
			while (i < n && p[i] >= 0x20 && p[i] <= 0x2f)
				i++;
			if (i == n || p[i] < 0x40 || p[i] > 0x7e)
				abort();	/* cut short, or a control inside */
			check_csi(p + ps, pe - ps, p + is, i - is, p[i], interactive);
			i++;
		} else if (b == ']') {
			size_t s = i;

			while (i + 1 < n && !(p[i] == 0x1b && p[i + 1] == '\\')) {
				if (p[i] >= 0x80)
					i += utf8_ok(p + i, n - i);
				else
					i++;
			}
			if (i + 1 >= n)
				abort();	/* not ended by ST */
			check_osc(p + s, i - s);
			i += 2;
		} else if (b == '(' || b == ')') {
			if (i == n || !strchr("B0A", p[i]) || !p[i])
				abort();
			i++;
		} else if (!strchr("78=>DEM", b) || !b) {
			abort();	/* DCS P, SOS X, PM ^, APC _, RIS c, ... */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct termfilter fw, fc;
	unsigned int flags, seed;
	size_t nw, nc = 0, at = 0;

	if (size < 1 || size - 1 > MAX_IN)
		return 0;
	flags = data[0] & 1 ? TERMFILTER_INTERACTIVE : 0;
	seed = data[0] >> 1;
	data++;
	size--;

	termfilter_init(&fw, flags);
	nw = termfilter_feed(&fw, data, size, whole);
	if (nw > TERMFILTER_OUT_MAX(size))
		abort();

	termfilter_init(&fc, flags);
	while (at < size) {
		size_t k = 1 + (seed * 2654435761u + at) % 17, got;

		if (k > size - at)
			k = size - at;
		memset(scratch, 0, sizeof(scratch));
		got = termfilter_feed(&fc, data + at, k, scratch);
		if (got > TERMFILTER_OUT_MAX(k) || got > sizeof(chunked) - nc)
			abort();
		memcpy(chunked + nc, scratch, got);
		nc += got;
		at += k;
	}
	if (nw != nc || memcmp(whole, chunked, nw) != 0 || fw.modes != fc.modes ||
	    fw.queries != fc.queries)
		abort();

	nw += termfilter_reset(&fw, whole + nw);
	recognise(whole, nw, flags & TERMFILTER_INTERACTIVE);
	/* A query passed only if counted (exec.c drains on that count). */
	if (!(flags & TERMFILTER_INTERACTIVE) && fw.queries)
		abort();
	return 0;
}
