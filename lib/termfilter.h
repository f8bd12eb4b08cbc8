/* Guest output on its way to the user's terminal: a streaming filter that
 * passes what terminal programs need (text, colours, cursor movement, the
 * alternate screen, mouse modes, ...) and drops the rest (OSC other than a
 * cleaned title, DCS, APC, PM, SOS, reports that carry text the guest chose
 * or the screen's content). It records which modes the guest switched on so
 * that the end of a session can switch them off. docs/security.md
 * ("Terminal") lists every rule with its reason. */
#ifndef AIRLOCK_LIB_TERMFILTER_H
#define AIRLOCK_LIB_TERMFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest control sequence (after its introducer) kept whole; a longer one
 * is dropped whole, and so is one with a parameter over PARAM_MAX. */
#define TERMFILTER_SEQ_MAX 256
#define TERMFILTER_PARAM_MAX 9999
/* A window title is cut to this many bytes (whole characters). */
#define TERMFILTER_TITLE_MAX 256
/* Room termfilter_feed() may need for len bytes of input: text can grow
 * 3x (a stray byte becomes U+FFFD), and a sequence or title held from an
 * earlier call comes out whole. */
#define TERMFILTER_OUT_MAX(len) (3 * (size_t)(len) + 640)
/* Room termfilter_reset() may need. */
#define TERMFILTER_RESET_MAX 320

/* Flags for termfilter_init(). */
enum {
	/* The terminal's input goes to the guest (a TTY session on this
	 * terminal, in raw mode): what makes the terminal type something
	 * passes too, since the guest reads it. That is queries with a
	 * fixed-form answer (cursor position DSR 6n, status DSR 5n, DA1,
	 * DA2) and the modes that report (mouse, focus, bracketed paste).
	 * Without it they are dropped: their answers would wait in the
	 * terminal's input for the user's shell. */
	TERMFILTER_INTERACTIVE = 1u << 0,
};

/* What the guest switched on at some point (bits of termfilter.modes). */
enum {
	TF_SGR = 1u << 0,		/* colours or attributes */
	TF_ALT_47 = 1u << 1,		/* alternate screen, ?47 */
	TF_ALT_1047 = 1u << 2,		/* ?1047 */
	TF_ALT_1049 = 1u << 3,		/* ?1049 */
	TF_SCROLL_REGION = 1u << 4,	/* DECSTBM */
	TF_ORIGIN = 1u << 5,		/* DECOM ?6 */
	TF_NO_WRAP = 1u << 6,		/* DECAWM off, ?7l */
	TF_CURSOR_HIDDEN = 1u << 7,	/* ?25l */
	TF_CURSOR_SHAPE = 1u << 8,	/* DECSCUSR */
	TF_APP_CURSOR = 1u << 9,	/* DECCKM ?1 */
	TF_APP_KEYPAD = 1u << 10,	/* DECKPAM, ?66 */
	TF_MOUSE = 1u << 11,		/* any of ?9 ?1000 ?1002 ?1003 */
	TF_MOUSE_ENC = 1u << 12,	/* ?1005 ?1006 ?1015 ?1016 */
	TF_FOCUS = 1u << 13,		/* ?1004 */
	TF_PASTE = 1u << 14,		/* bracketed paste ?2004 */
	TF_REVERSE = 1u << 15,		/* DECSCNM ?5 */
	TF_INSERT = 1u << 16,		/* IRM 4h */
	TF_SYNC = 1u << 17,		/* synchronized output ?2026 */
	TF_CHARSET = 1u << 18,		/* SO, or G0/G1 other than ASCII */
	TF_TITLE = 1u << 19,		/* a title set (the user's was pushed) */
};

/* Modes whose effect is the terminal typing something into its input:
 * reports of those may still be on their way when a session ends. */
#define TF_REPORTING (TF_MOUSE | TF_FOCUS)

struct termfilter {
	unsigned int flags;
	uint32_t modes;		/* TF_*, sticky: set when switched on */
	uint64_t queries;	/* queries let through so far */
	uint64_t dropped;	/* sequences and strings dropped so far */

	/* UTF-8 decoding: a character in progress. */
	uint32_t cp, cp_min;
	uint8_t need;

	uint8_t state;
	uint8_t str_kind;	/* in a string: OSC or another (DCS, ...) */
	bool overlong;		/* the sequence is dropped when it ends */
	size_t len;		/* bytes in seq (CSI: after "ESC [") */
	uint8_t seq[TERMFILTER_SEQ_MAX];
	uint16_t osc;		/* OSC number so far */
	size_t title_len;
	uint8_t title[TERMFILTER_TITLE_MAX];
};

void termfilter_init(struct termfilter *f, unsigned int flags);

/* Filters len bytes of guest output into out, which has room for
 * TERMFILTER_OUT_MAX(len) bytes, and returns how many it wrote. A sequence
 * or a UTF-8 character cut by the end of in is kept for the next call. */
size_t termfilter_feed(struct termfilter *f, const uint8_t *in, size_t len,
		       uint8_t *out);

/* What switches off every mode recorded in f->modes and restores the
 * user's title, into out (TERMFILTER_RESET_MAX bytes); returns its
 * length (0: nothing was switched on). */
size_t termfilter_reset(const struct termfilter *f, uint8_t *out);

#endif
