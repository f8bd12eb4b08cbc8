/* The terminal filter (termfilter.h): UTF-8 decoding, then a VT500-style
 * parser over code points. Nothing the guest sent reaches the output as it
 * came except text: every control sequence is parsed whole, checked against
 * the allow list below and written out again in its 7-bit form, or dropped.
 * So the terminal never sees a sequence cut short or a byte this parser
 * read differently from it. The reasons for each entry are in
 * docs/security.md ("Terminal"). */
#include "lib/termfilter.h"

#include <stdio.h>
#include <string.h>

enum {
	S_GROUND,
	S_ESC,		/* after ESC: intermediates in seq */
	S_CSI,		/* after ESC [: parameters and intermediates in seq */
	S_OSC_NUM,	/* after ESC ]: the number, up to ';' */
	S_STR,		/* in a string (OSC, DCS, APC, PM, SOS) until ST */
	S_STR_ESC,	/* ESC in a string: ST if '\' follows */
};

enum { K_TITLE, K_OSC, K_OTHER };	/* str_kind */

#define ESC 0x1b
#define BEL 0x07
#define CAN 0x18
#define SUB 0x1a
#define C1_ST 0x9c
#define MAX_PARAMS 32
#define MAX_ESC_INTERMEDIATES 2

struct out {
	uint8_t *p;
	size_t n;
};

static void put(struct out *o, const void *s, size_t n)
{
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void put_byte(struct out *o, uint8_t c)
{
	o->p[o->n++] = c;
}

static size_t utf8_encode(uint32_t cp, uint8_t *b)
{
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (uint8_t)(0xf0 | cp >> 18);
	b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

void termfilter_init(struct termfilter *f, unsigned int flags)
{
	memset(f, 0, sizeof(*f));
	f->flags = flags;
	f->state = S_GROUND;
}

/* ---- single controls ---- */

static void c0(struct termfilter *f, struct out *o, uint32_t c)
{
	switch (c) {
	case 0x0e:		/* SO: G1 into GL, for line drawing */
		f->modes |= TF_CHARSET;
		/* fall through */
	case BEL: case 0x08: case 0x09: case 0x0a: case 0x0b: case 0x0c:
	case 0x0d: case 0x0f:
		put_byte(o, (uint8_t)c);
		break;
	default:		/* NUL, ENQ (answerback), DC1-4, ... */
		break;
	}
}

static void esc_dispatch(struct termfilter *f, struct out *o, uint32_t final)
{
	uint8_t seq[3] = { ESC, 0, 0 };

	if (f->overlong) {
		f->dropped++;
		return;
	}
	if (f->len == 0) {
		switch (final) {
		case '=':	/* DECKPAM */
			f->modes |= TF_APP_KEYPAD;
			/* fall through */
		case '7': case '8':	/* DECSC, DECRC */
		case '>':	/* DECKPNM */
		case 'D': case 'E': case 'M':	/* IND, NEL, RI */
			seq[1] = (uint8_t)final;
			put(o, seq, 2);
			return;
		}
	} else if (f->len == 1 && (f->seq[0] == '(' || f->seq[0] == ')') &&
		   (final == 'B' || final == '0' || final == 'A')) {
		/* G0/G1: ASCII, DEC line drawing, UK. */
		if (final != 'B')
			f->modes |= TF_CHARSET;
		seq[1] = f->seq[0];
		seq[2] = (uint8_t)final;
		put(o, seq, 3);
		return;
	}
	f->dropped++;
}

/* ---- CSI ---- */

struct csi {
	uint8_t prefix;		/* '<' '=' '>' '?' or 0 */
	uint8_t inter;		/* the one intermediate, or 0 */
	bool colon;		/* sub-parameters (SGR 38:2:...) */
	unsigned int n;		/* parameters; 0 for none at all */
	int v[MAX_PARAMS];	/* -1: left out (the default) */
};

/* Parses f->seq; false if malformed (a prefix after the start, a
 * parameter after an intermediate, too many of either, a value too big). */
static bool csi_parse(const struct termfilter *f, struct csi *c)
{
	size_t i = 0, end = f->len;
	unsigned int ninter = 0;

	*c = (struct csi){ 0 };
	if (i < end && f->seq[i] >= '<' && f->seq[i] <= '?')
		c->prefix = f->seq[i++];
	while (end > i && f->seq[end - 1] >= 0x20 && f->seq[end - 1] <= 0x2f) {
		c->inter = f->seq[--end];
		ninter++;
	}
	if (ninter > 1)
		return false;
	if (i == end)
		return true;
	c->n = 1;
	c->v[0] = -1;
	for (; i < end; i++) {
		uint8_t b = f->seq[i];

		if (b >= '0' && b <= '9') {
			int d = b - '0', *v = &c->v[c->n - 1];

			*v = *v < 0 ? d : *v * 10 + d;
			if (*v > TERMFILTER_PARAM_MAX)
				return false;
		} else if (b == ';' || b == ':') {
			if (c->n == MAX_PARAMS)
				return false;
			c->colon |= b == ':';
			c->v[c->n++] = -1;
		} else {
			return false;	/* a prefix byte, or an intermediate, inside */
		}
	}
	return true;
}

static void put_csi(struct termfilter *f, struct out *o, uint32_t final)
{
	put(o, "\x1b[", 2);
	put(o, f->seq, f->len);
	put_byte(o, (uint8_t)final);
}

/* DEC private modes allowed through ?h / ?l, and what ?h records. Those
 * recording TF_INPUT_MODES pass only with TERMFILTER_INTERACTIVE. */
#define TF_INPUT_MODES (TF_MOUSE | TF_MOUSE_ENC | TF_FOCUS | TF_PASTE)
static const struct {
	uint16_t mode;
	uint32_t on;
} decset_allowed[] = {
	{ 1, TF_APP_CURSOR },		/* DECCKM */
	{ 5, TF_REVERSE },		/* DECSCNM: flash (visual bell) */
	{ 6, TF_ORIGIN },		/* DECOM, with a scrolling region */
	{ 7, 0 },			/* DECAWM: what ?7l does is recorded */
	{ 9, TF_MOUSE },		/* X10 mouse */
	{ 25, 0 },			/* DECTCEM: ?25l is recorded */
	{ 47, TF_ALT_47 },		/* alternate screen */
	{ 66, TF_APP_KEYPAD },		/* DECNKM */
	{ 1000, TF_MOUSE },		/* mouse: buttons */
	{ 1002, TF_MOUSE },		/* mouse: buttons and drags */
	{ 1003, TF_MOUSE },		/* mouse: any motion */
	{ 1004, TF_FOCUS },		/* focus in/out reports */
	{ 1005, TF_MOUSE_ENC },		/* mouse encodings: UTF-8, */
	{ 1006, TF_MOUSE_ENC },		/* SGR, */
	{ 1015, TF_MOUSE_ENC },		/* urxvt, */
	{ 1016, TF_MOUSE_ENC },		/* SGR pixels */
	{ 1047, TF_ALT_1047 },		/* alternate screen */
	{ 1048, 0 },			/* save/restore the cursor */
	{ 1049, TF_ALT_1049 },		/* alternate screen + cursor */
	{ 2004, TF_PASTE },		/* bracketed paste */
	{ 2026, TF_SYNC },		/* synchronized output */
};

/* CSI ? Pm h / l: only the allowed modes go out, in one sequence. */
static void decset(struct termfilter *f, struct out *o, const struct csi *c,
		   uint32_t final)
{
	char buf[8 + MAX_PARAMS * 6] = "\x1b[?";
	size_t n = 3;
	bool any = false;

	for (unsigned int i = 0; i < c->n; i++) {
		int v = c->v[i];
		size_t k;

		for (k = 0; k < sizeof(decset_allowed) / sizeof(decset_allowed[0]); k++)
			if (decset_allowed[k].mode == v)
				break;
		if (k == sizeof(decset_allowed) / sizeof(decset_allowed[0]) ||
		    ((decset_allowed[k].on & TF_INPUT_MODES) &&
		     !(f->flags & TERMFILTER_INTERACTIVE))) {
			f->dropped++;
			continue;
		}
		if (final == 'h')
			f->modes |= decset_allowed[k].on;
		else if (v == 7)
			f->modes |= TF_NO_WRAP;
		else if (v == 25)
			f->modes |= TF_CURSOR_HIDDEN;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, any ? ";%d" : "%d", v);
		any = true;
	}
	if (!any)
		return;
	buf[n++] = (char)final;
	put(o, buf, n);
}

/* One parameter at most, left out or at most max. */
static bool at_most(const struct csi *c, int max)
{
	return c->n == 0 || (c->n == 1 && c->v[0] <= max);
}

static void csi_dispatch(struct termfilter *f, struct out *o, uint32_t final)
{
	bool queries = f->flags & TERMFILTER_INTERACTIVE;
	struct csi c;

	if (f->overlong || !csi_parse(f, &c)) {
		f->dropped++;
		return;
	}
	if (c.prefix == '?' && !c.inter && !c.colon && c.n &&
	    (final == 'h' || final == 'l')) {
		decset(f, o, &c, final);
		return;
	}
	if (c.prefix == '>' && !c.inter && final == 'c' && queries &&
	    at_most(&c, 0)) {
		f->queries++;		/* DA2: CSI > Pp ; Pv ; Pc c */
		put_csi(f, o, final);
		return;
	}
	if (c.prefix == 0 && c.inter == ' ' && final == 'q' && c.n <= 1 &&
	    !c.colon && (c.n == 0 || c.v[0] <= 6)) {
		f->modes |= TF_CURSOR_SHAPE;	/* DECSCUSR */
		put_csi(f, o, final);
		return;
	}
	if (c.prefix || c.inter) {
		f->dropped++;
		return;
	}
	if (final == 'm') {		/* SGR, sub-parameters and all */
		f->modes |= TF_SGR;
		put_csi(f, o, final);
		return;
	}
	if (c.colon) {
		f->dropped++;
		return;
	}
	switch (final) {
	case '@': case 'A': case 'B': case 'C': case 'D': case 'E': case 'F':
	case 'G': case 'I': case 'L': case 'M': case 'P': case 'S': case 'T':
	case 'X': case 'Z': case '`': case 'a': case 'b': case 'd': case 'e':
		/* Insert, cursor moves, tabs forward and back, scroll, erase
		 * characters, repeat. One parameter: CSI T with five is
		 * xterm's highlight mouse tracking. */
		if (c.n > 1)
			break;
		put_csi(f, o, final);
		return;
	case 'H': case 'f':		/* CUP, HVP */
		if (c.n > 2)
			break;
		put_csi(f, o, final);
		return;
	case 'J':			/* ED, 3: scrollback (clear(1) sends it) */
		if (!at_most(&c, 3))
			break;
		put_csi(f, o, final);
		return;
	case 'K':			/* EL */
		if (!at_most(&c, 2))
			break;
		put_csi(f, o, final);
		return;
	case 'r':			/* DECSTBM */
		if (c.n > 2)
			break;
		if (c.n)
			f->modes |= TF_SCROLL_REGION;
		put_csi(f, o, final);
		return;
	case 'h': case 'l':		/* SM/RM: only IRM (insert mode) */
		if (c.n != 1 || c.v[0] != 4)
			break;
		if (final == 'h')
			f->modes |= TF_INSERT;
		put_csi(f, o, final);
		return;
	case 's': case 'u':		/* SCOSC, SCORC: no parameters */
		if (c.n)
			break;
		put_csi(f, o, final);
		return;
	case 'c':			/* DA1 */
		if (!queries || !at_most(&c, 0))
			break;
		f->queries++;
		put_csi(f, o, final);
		return;
	case 'n':			/* DSR: status (5), cursor position (6) */
		if (!queries || c.n != 1 || (c.v[0] != 5 && c.v[0] != 6))
			break;
		f->queries++;
		put_csi(f, o, final);
		return;
	}
	f->dropped++;
}

/* ---- strings ---- */

static void title_out(struct termfilter *f, struct out *o)
{
	if (!(f->modes & TF_TITLE)) {
		/* The user's title, pushed: termfilter_reset() pops it. */
		put(o, "\x1b[22;0t", 7);
		f->modes |= TF_TITLE;
	}
	put(o, f->osc ? "\x1b]2;" : "\x1b]0;", 4);
	put(o, f->title, f->title_len);
	put(o, "\x1b\\", 2);
}

/* The end of a string: a title goes out if it ended properly (ST, or BEL
 * for an OSC), anything else is dropped. */
static void str_end(struct termfilter *f, struct out *o, bool proper)
{
	if (f->str_kind == K_TITLE && proper)
		title_out(f, o);
	else
		f->dropped++;
	f->state = S_GROUND;
}

static void title_add(struct termfilter *f, uint32_t cp)
{
	uint8_t b[4];
	size_t n = utf8_encode(cp, b);

	/* Printable only: no controls, C0, DEL or C1. */
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return;
	if (f->title_len + n > TERMFILTER_TITLE_MAX)
		return;		/* cut, at a whole character */
	memcpy(f->title + f->title_len, b, n);
	f->title_len += n;
}

/* ---- the state machine ---- */

static void step(struct termfilter *f, struct out *o, uint32_t cp);

static void enter_esc(struct termfilter *f)
{
	f->state = S_ESC;
	f->len = 0;
	f->overlong = false;
}

/* A C1 control, 8-bit or UTF-8: the same as ESC and cp - 0x40. */
static void c1(struct termfilter *f, struct out *o, uint32_t cp)
{
	step(f, o, ESC);
	step(f, o, cp - 0x40);
}

static void ground(struct termfilter *f, struct out *o, uint32_t cp)
{
	if (cp >= 0x20 && cp != 0x7f && (cp < 0x80 || cp > 0x9f)) {
		uint8_t b[4];
		size_t n = utf8_encode(cp, b);

		put(o, b, n);
	} else if (cp == ESC) {
		enter_esc(f);
	} else if (cp >= 0x80) {
		c1(f, o, cp);
	} else if (cp != 0x7f) {
		c0(f, o, cp);
	}
}

/* CAN and SUB end a sequence: dropped. */
static void cancel(struct termfilter *f)
{
	f->dropped++;
	f->state = S_GROUND;
}

/* Leaves a sequence that something else interrupted, and goes on with cp
 * as if in the ground state. */
static void abort_seq(struct termfilter *f, struct out *o, uint32_t cp)
{
	f->dropped++;
	f->state = S_GROUND;
	step(f, o, cp);
}

static void in_esc(struct termfilter *f, struct out *o, uint32_t cp)
{
	if (cp >= 0x20 && cp <= 0x2f) {
		if (f->len == MAX_ESC_INTERMEDIATES)
			f->overlong = true;
		else
			f->seq[f->len++] = (uint8_t)cp;
		return;
	}
	if (cp >= 0x30 && cp <= 0x7e) {
		f->state = S_GROUND;
		if (f->len == 0 && !f->overlong) {
			switch (cp) {
			case '[':
				f->state = S_CSI;
				return;
			case ']':
				f->state = S_OSC_NUM;
				f->osc = 0;
				return;
			case 'P': case 'X': case '^': case '_':
				/* DCS, SOS, PM, APC: dropped with their content */
				f->state = S_STR;
				f->str_kind = K_OTHER;
				return;
			}
		}
		esc_dispatch(f, o, cp);
		return;
	}
	if (cp == ESC)
		enter_esc(f);
	else if (cp == CAN || cp == SUB)
		cancel(f);
	else if (cp < 0x20)
		c0(f, o, cp);		/* executed inside, as terminals do */
	else if (cp != 0x7f)
		abort_seq(f, o, cp);
}

static void in_csi(struct termfilter *f, struct out *o, uint32_t cp)
{
	if (cp >= 0x20 && cp <= 0x3f) {
		if (f->len == TERMFILTER_SEQ_MAX)
			f->overlong = true;
		else
			f->seq[f->len++] = (uint8_t)cp;
		return;
	}
	if (cp >= 0x40 && cp <= 0x7e) {
		f->state = S_GROUND;
		csi_dispatch(f, o, cp);
		return;
	}
	if (cp == ESC) {
		f->dropped++;
		enter_esc(f);
	} else if (cp == CAN || cp == SUB) {
		cancel(f);
	} else if (cp < 0x20) {
		c0(f, o, cp);
	} else if (cp != 0x7f) {
		abort_seq(f, o, cp);
	}
}

static void in_osc_num(struct termfilter *f, struct out *o, uint32_t cp)
{
	if (cp >= '0' && cp <= '9') {
		/* Saturates: any number past 9 is dropped anyway. */
		if (f->osc < 1000)
			f->osc = (uint16_t)(f->osc * 10 + (cp - '0'));
		f->len = 1;
		return;
	}
	if (cp == ';' && f->len && (f->osc == 0 || f->osc == 2)) {
		f->state = S_STR;
		f->str_kind = K_TITLE;
		f->title_len = 0;
		return;
	}
	/* OSC 52, 8, 4, 10, 11, 7, 9, 777, "OSC ?", ...: dropped whole */
	f->state = S_STR;
	f->str_kind = K_OSC;
	step(f, o, cp);
}

static void in_str(struct termfilter *f, struct out *o, uint32_t cp)
{
	if (cp == ESC) {
		f->state = S_STR_ESC;
	} else if (cp == C1_ST) {
		str_end(f, o, true);
	} else if (cp == BEL && f->str_kind != K_OTHER) {
		str_end(f, o, true);	/* xterm's OSC terminator */
	} else if (cp == CAN || cp == SUB) {
		str_end(f, o, false);
	} else if (cp >= 0x80 && cp <= 0x9f) {
		/* Another C1 ends the string as ESC would, and begins its
		 * own sequence. */
		str_end(f, o, false);
		c1(f, o, cp);
	} else if (f->str_kind == K_TITLE) {
		title_add(f, cp);
	}
}

static void in_str_esc(struct termfilter *f, struct out *o, uint32_t cp)
{
	if (cp == '\\') {
		str_end(f, o, true);
		return;
	}
	str_end(f, o, false);
	enter_esc(f);
	step(f, o, cp);
}

static void step(struct termfilter *f, struct out *o, uint32_t cp)
{
	switch (f->state) {
	case S_GROUND:
		ground(f, o, cp);
		break;
	case S_ESC:
		in_esc(f, o, cp);
		break;
	case S_CSI:
		in_csi(f, o, cp);
		break;
	case S_OSC_NUM:
		in_osc_num(f, o, cp);
		break;
	case S_STR:
		in_str(f, o, cp);
		break;
	default:
		in_str_esc(f, o, cp);
		break;
	}
}

/* Printable ASCII, CR, LF, HT: passed as they are in the ground state. */
static inline bool plain(uint8_t b)
{
	return (b >= 0x20 && b < 0x7f) || b == '\r' || b == '\n' || b == '\t';
}

size_t termfilter_feed(struct termfilter *f, const uint8_t *in, size_t len,
		       uint8_t *out)
{
	struct out o = { out, 0 };

	for (size_t i = 0; i < len; i++) {
		uint8_t b = in[i];

		if (f->need) {
			if ((b & 0xc0) == 0x80) {
				uint32_t cp;

				f->cp = f->cp << 6 | (b & 0x3fu);
				if (--f->need)
					continue;
				cp = f->cp;
				if (cp < f->cp_min || cp > 0x10ffff ||
				    (cp >= 0xd800 && cp <= 0xdfff))
					cp = 0xfffd;	/* overlong, surrogate */
				step(f, &o, cp);
				continue;
			}
			f->need = 0;		/* cut short: b starts afresh */
			step(f, &o, 0xfffd);
		}
		if (plain(b) && f->state == S_GROUND) {
			size_t j = i + 1;

			/* Plain text: the common case, copied in one go. */
			while (j < len && plain(in[j]))
				j++;
			put(&o, in + i, j - i);
			i = j - 1;
		} else if (b >= 0x20 && b <= 0x3f && f->state == S_CSI &&
			   f->len < TERMFILTER_SEQ_MAX) {
			f->seq[f->len++] = b;	/* a parameter, in_csi() short */
		} else if (b < 0xa0) {
			step(f, &o, b);		/* ASCII, or an 8-bit C1 */
		} else if (b >= 0xc2 && b <= 0xdf) {
			f->need = 1;
			f->cp = b & 0x1fu;
			f->cp_min = 0x80;
		} else if (b >= 0xe0 && b <= 0xef) {
			f->need = 2;
			f->cp = b & 0x0fu;
			f->cp_min = 0x800;
		} else if (b >= 0xf0 && b <= 0xf4) {
			f->need = 3;
			f->cp = b & 0x07u;
			f->cp_min = 0x10000;
		} else {
			step(f, &o, 0xfffd);	/* a stray byte */
		}
	}
	return o.n;
}

size_t termfilter_reset(const struct termfilter *f, uint8_t *out)
{
	/* In order: output shown at once, back to the main screen (where
	 * the rest applies), the scrolling region (cursor kept), input modes,
	 * the cursor, then attributes (DECRC and ?1049l restore them). */
	static const struct {
		uint32_t mode;
		const char *off;
	} resets[] = {
		{ TF_SYNC, "\x1b[?2026l" },
		{ TF_ALT_1049, "\x1b[?1049l" },
		{ TF_ALT_1047, "\x1b[?1047l" },
		{ TF_ALT_47, "\x1b[?47l" },
		{ TF_SCROLL_REGION, "\x1b" "7\x1b[r\x1b" "8" },
		{ TF_ORIGIN, "\x1b[?6l" },
		{ TF_MOUSE, "\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l" },
		{ TF_MOUSE_ENC, "\x1b[?1005l\x1b[?1006l\x1b[?1015l\x1b[?1016l" },
		{ TF_FOCUS, "\x1b[?1004l" },
		{ TF_PASTE, "\x1b[?2004l" },
		{ TF_APP_CURSOR, "\x1b[?1l" },
		{ TF_APP_KEYPAD, "\x1b[?66l\x1b>" },
		{ TF_REVERSE, "\x1b[?5l" },
		{ TF_INSERT, "\x1b[4l" },
		{ TF_NO_WRAP, "\x1b[?7h" },
		{ TF_CURSOR_SHAPE, "\x1b[0 q" },
		{ TF_CURSOR_HIDDEN, "\x1b[?25h" },
		{ TF_CHARSET, "\x0f\x1b(B" },
		{ TF_SGR, "\x1b[0;10m" },
		{ TF_TITLE, "\x1b[23;0t" },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(resets) / sizeof(resets[0]); i++) {
		size_t k = strlen(resets[i].off);

		if (!(f->modes & resets[i].mode))
			continue;
		memcpy(out + n, resets[i].off, k);
		n += k;
	}
	return n;
}
