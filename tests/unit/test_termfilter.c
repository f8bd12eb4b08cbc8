/* lib/termfilter: what passes to the user's terminal and what does not,
 * class by class; each case also fed cut at every byte and a byte at a
 * time, which must give the same output; C1 in both forms, invalid UTF-8,
 * over-long sequences, the output bound, and the record of modes with the
 * reset it gives. */
#include "lib/termfilter.h"
#include "tests/unit/check.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define I TERMFILTER_INTERACTIVE
#define DROP ""
#define SAME NULL	/* expected output: the input itself */
#define PUSH "\x1b[22;0t"	/* the user's title pushed, before a title */
#define FFFD "\xef\xbf\xbd"

struct tcase {
	const char *name;
	unsigned int flags;
	const char *in;
	const char *want;	/* SAME: unchanged */
};

static uint8_t outbuf[TERMFILTER_OUT_MAX(70000) + 64];

/* Feeds in[0..len) in pieces cut at cuts[0..ncuts) into a fresh filter
 * with flags; returns the whole output (NUL-terminated) and its length.
 * Checks each call stays within TERMFILTER_OUT_MAX and writes no further. */
static size_t run(unsigned int flags, const uint8_t *in, size_t len,
		  const size_t *cuts, size_t ncuts, uint8_t *out)
{
	struct termfilter f;
	size_t n = 0, at = 0;

	termfilter_init(&f, flags);
	for (size_t c = 0; c <= ncuts; c++) {
		size_t end = c < ncuts ? cuts[c] : len, k;

		memset(outbuf, 0xa5, sizeof(outbuf));
		k = termfilter_feed(&f, in + at, end - at, outbuf);
		CHECK(k <= TERMFILTER_OUT_MAX(end - at));
		CHECK(outbuf[TERMFILTER_OUT_MAX(end - at)] == 0xa5);
		memcpy(out + n, outbuf, k);
		n += k;
		at = end;
	}
	out[n] = 0;
	return n;
}

static void show(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "    %s: \"", what);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' ?
			"%c" : "\\x%02x", p[i]);
	fprintf(stderr, "\"\n");
}

static void check_cases(const struct tcase *t, size_t n)
{
	static uint8_t out[4 * 70000];

	for (size_t i = 0; i < n; i++) {
		const uint8_t *in = (const uint8_t *)t[i].in;
		size_t len = strlen(t[i].in);
		const char *want = t[i].want ? t[i].want : t[i].in;
		size_t wlen = t[i].want ? strlen(want) : len, got;
		size_t cuts[1];
		size_t *each = malloc((len + 1) * sizeof(*each));

		/* Whole. */
		got = run(t[i].flags, in, len, NULL, 0, out);
		if (got != wlen || memcmp(out, want, wlen)) {
			fprintf(stderr, "  '%s' whole:\n", t[i].name);
			show("got ", out, got);
			show("want", (const uint8_t *)want, wlen);
			CHECK(0);
			free(each);
			continue;
		}
		/* Cut in two at every byte. */
		for (size_t k = 1; k < len; k++) {
			cuts[0] = k;
			got = run(t[i].flags, in, len, cuts, 1, out);
			if (got != wlen || memcmp(out, want, wlen)) {
				fprintf(stderr, "  '%s' cut at %zu:\n", t[i].name, k);
				show("got ", out, got);
				CHECK(0);
				break;
			}
		}
		/* A byte at a time. */
		for (size_t k = 0; k + 1 < len; k++)
			each[k] = k + 1;
		got = run(t[i].flags, in, len, each, len ? len - 1 : 0, out);
		if (got != wlen || memcmp(out, want, wlen)) {
			fprintf(stderr, "  '%s' byte by byte:\n", t[i].name);
			show("got ", out, got);
			CHECK(0);
		}
		free(each);
	}
}

TEST(text_and_controls_pass)
{
	static const struct tcase t[] = {
		{ "ascii", 0, "hello, world", SAME },
		{ "utf-8", 0, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf", SAME },
		{ "U+00A0, first after C1", 0, "\xc2\xa0", SAME },
		/* Continuation bytes in the C1 range are text, not C1. */
		{ "U+00DB (C3 9B)", 0, "\xc3\x9b", SAME },
		{ "U+201C (E2 80 9C)", 0, "\xe2\x80\x9c", SAME },
		{ "U+FFFD itself", 0, FFFD, SAME },
		{ "CR LF BS HT BEL VT FF", 0, "a\r\nb\bc\td\a\x0b\x0c", SAME },
		{ "SO SI", 0, "\x0eq\x0f", SAME },
		{ "ENQ DC1 DEL dropped", 0, "a\x05" "b\x11" "c\x7f" "d\x1c", "abcd" },
		{ "CAN SUB alone dropped", 0, "a\x18" "b\x1a" "c", "abc" },
	};
	check_cases(t, NELEM(t));
}

TEST(nul_dropped)
{
	struct termfilter f;
	uint8_t out[16];

	termfilter_init(&f, 0);
	CHECK_EQ(termfilter_feed(&f, (const uint8_t *)"a\0b", 3, out), 2);
	CHECK(memcmp(out, "ab", 2) == 0);
}

TEST(sgr_passes)
{
	static const struct tcase t[] = {
		{ "reset", 0, "\x1b[m\x1b[0m", SAME },
		{ "bold red", 0, "\x1b[1;31mx\x1b[0m", SAME },
		{ "256", 0, "\x1b[38;5;208m", SAME },
		{ "truecolour", 0, "\x1b[38;2;1;2;3;48;2;4;5;6m", SAME },
		{ "colon form", 0, "\x1b[38:2::1:2:3m\x1b[4:3m", SAME },
		{ "many", 0, "\x1b[1;2;3;4;5;7;8;9;21;22;23;24;25;27;28;29;30;39;40;49;53;55;90;107m", SAME },
	};
	check_cases(t, NELEM(t));
}

TEST(cursor_erase_scroll_pass)
{
	static const struct tcase t[] = {
		{ "CUP", 0, "\x1b[H\x1b[10;20H\x1b[;5H\x1b[3;4f", SAME },
		{ "CUU..CPL", 0, "\x1b[5A\x1b[B\x1b[3C\x1b[D\x1b[2E\x1b[F", SAME },
		{ "CHA VPA HPA HPR VPR", 0, "\x1b[40G\x1b[5d\x1b[7`\x1b[2a\x1b[3e", SAME },
		{ "DECSC DECRC SCOSC SCORC", 0, "\x1b" "7\x1b" "8\x1b[s\x1b[u", SAME },
		{ "IND NEL RI", 0, "\x1b" "D\x1b" "E\x1b" "M", SAME },
		{ "ED", 0, "\x1b[J\x1b[0J\x1b[1J\x1b[2J\x1b[3J", SAME },
		{ "EL ECH", 0, "\x1b[K\x1b[1K\x1b[2K\x1b[5X", SAME },
		{ "ICH DCH IL DL", 0, "\x1b[3@\x1b[2P\x1b[4L\x1b[M", SAME },
		{ "IRM", 0, "\x1b[4h\x1b[4l", SAME },
		{ "DECSTBM", 0, "\x1b[1;20r\x1b[r", SAME },
		{ "SU SD", 0, "\x1b[3S\x1b[2T", SAME },
		{ "CHT CBT", 0, "\x1b[2I\x1b[Z", SAME },
		{ "REP", 0, "x\x1b[5b", SAME },
		{ "DECSCUSR", 0, "\x1b[2 q\x1b[ q\x1b[0 q", SAME },
		{ "charsets", 0, "\x1b(0\x1b(B\x1b)0\x1b(A", SAME },
		{ "keypad", 0, "\x1b=\x1b>", SAME },
		{ "C0 inside CSI runs in place", 0, "\x1b[1\r;2H", "\r\x1b[1;2H" },
	};
	check_cases(t, NELEM(t));
}

TEST(private_modes)
{
	static const struct tcase t[] = {
		{ "alt screen", 0, "\x1b[?1049h\x1b[?1049l\x1b[?47h\x1b[?1047l", SAME },
		{ "cursor", 0, "\x1b[?25l\x1b[?25h\x1b[?1h\x1b[?1l\x1b[?7l\x1b[?7h", SAME },
		{ "keypad, origin, flash, sync", 0, "\x1b[?66h\x1b[?6h\x1b[?5h\x1b[?2026h", SAME },
		{ "mouse, interactive", I, "\x1b[?1000h\x1b[?1002h\x1b[?1003h\x1b[?9h\x1b[?1006h\x1b[?1000;1006h", SAME },
		{ "focus, paste, interactive", I, "\x1b[?1004h\x1b[?2004h\x1b[?2004l", SAME },
		{ "mouse, not interactive", 0, "\x1b[?1000h\x1b[?1006h", DROP },
		{ "paste, not interactive", 0, "\x1b[?2004h", DROP },
		{ "mixed: only the allowed go", I, "\x1b[?1001;1000h", "\x1b[?1000h" },
		{ "vim's t_vs", 0, "\x1b[?12;25h", "\x1b[?25h" },
		{ "none allowed", I, "\x1b[?1001;3;1034;12;1007;69;1051;1036h", DROP },
		{ "XTSAVE XTRESTORE", I, "\x1b[?1000s\x1b[?1000r", DROP },
		{ "DECCOLM", 0, "\x1b[?3h\x1b[?3l", DROP },
		{ "KAM SRM LNM", 0, "\x1b[2h\x1b[12l\x1b[20h", DROP },
		{ "colon in DECSET", I, "\x1b[?1000:1h", DROP },
	};
	check_cases(t, NELEM(t));
}

TEST(fixed_form_queries)
{
	static const struct tcase t[] = {
		{ "DSR 6n, 5n", I, "\x1b[6n\x1b[5n", SAME },
		{ "DA1, DA2", I, "\x1b[c\x1b[0c\x1b[>c\x1b[>0c", SAME },
		{ "not interactive: dropped", 0, "\x1b[6n\x1b[5n\x1b[c\x1b[>c", DROP },
		{ "DECXCPR", I, "\x1b[?6n", DROP },
		{ "other DSR", I, "\x1b[15n\x1b[?15n\x1b[?26n", DROP },
		{ "DA3", I, "\x1b[=c", DROP },
		{ "XTVERSION", I, "\x1b[>0q\x1b[>q", DROP },
		{ "DECRQM", I, "\x1b[?1049$p\x1b[4$p", DROP },
		{ "DECREQTPARM", I, "\x1b[x\x1b[1x", DROP },
		{ "DECRQCRA: reads the screen", I, "\x1b[1;1;1;1;5;5*y", DROP },
		{ "kitty keyboard", I, "\x1b[>1u\x1b[?u\x1b[<u", DROP },
		{ "modifyOtherKeys", I, "\x1b[>4;2m", DROP },
		{ "DECSCL", I, "\x1b[62;1\"p", DROP },
		{ "DECSTR", I, "\x1b[!p", DROP },
	};
	check_cases(t, NELEM(t));
}

TEST(window_ops_dropped)
{
	static const struct tcase t[] = {
		{ "title report 21t", I, "\x1b[21t", DROP },
		{ "icon report 20t", I, "\x1b[20t", DROP },
		{ "size reports", I, "\x1b[14t\x1b[18t\x1b[19t\x1b[16t\x1b[15t\x1b[13t\x1b[11t", DROP },
		{ "move, resize, iconify", I, "\x1b[3;0;0t\x1b[8;50;100t\x1b[4;1;1t\x1b[1t\x1b[2t\x1b[9;1t\x1b[10;1t", DROP },
		{ "title stack (ours)", I, "\x1b[22;0t\x1b[23;0t", DROP },
		{ "lines", I, "\x1b[50t", DROP },
		{ "between text", I, "a\x1b[21tb", "ab" },
	};
	check_cases(t, NELEM(t));
}

TEST(other_csi_dropped)
{
	static const struct tcase t[] = {
		{ "media copy: printer", 0, "\x1b[5i\x1b[4i\x1b[i", DROP },
		{ "tab stops", 0, "\x1b[3g\x1b[g\x1bH", DROP },
		{ "highlight mouse CSI T", I, "\x1b[1;2;3;4;5T", DROP },
		{ "LED", 0, "\x1b[1q", DROP },
		{ "big parameter", 0, "x\x1b[99999b", "x" },
		{ "DECSLRM with params", 0, "\x1b[1;10s", DROP },
		{ "erase, bad selector", 0, "\x1b[4J\x1b[3K", DROP },
		{ "two intermediates", 0, "\x1b[1 !q", DROP },
		{ "prefix inside", 0, "\x1b[1?h", DROP },
		{ "param after intermediate", 0, "\x1b[ 1q", DROP },
	};
	check_cases(t, NELEM(t));
}

TEST(osc_dropped_title_cleaned)
{
	static char longtitle[2 + 300 + 2], longwant[7 + 4 + 256 + 2 + 1];
	static char edge[4 + 255 + 2 + 1 + 1], edgewant[7 + 4 + 255 + 2 + 1];
	static const struct tcase t[] = {
		{ "OSC 52 BEL", I, "\x1b]52;c;aGVsbG8=\a", DROP },
		{ "OSC 52 ST", I, "\x1b]52;c;aGVsbG8=\x1b\\", DROP },
		{ "OSC 52 query", I, "\x1b]52;c;?\a", DROP },
		{ "OSC 8 hyperlink", I, "\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "link" },
		{ "OSC 4 10 11 12 queries", I, "\x1b]4;1;?\a\x1b]10;?\a\x1b]11;?\x1b\\\x1b]12;?\a", DROP },
		{ "OSC 4 104 set colours", I, "\x1b]4;1;rgb:ff/00/00\a\x1b]104\a", DROP },
		{ "OSC 7 9 777 1337", I, "\x1b]7;file://h/tmp\a\x1b]9;hi\a\x1b]777;notify;a;b\a\x1b]1337;File=x\a", DROP },
		{ "OSC 1 icon", I, "\x1b]1;icon\a", DROP },
		{ "OSC 50 font query", I, "\x1b]50;?\a", DROP },
		{ "OSC l (not a number)", I, "\x1b]l title\x1b\\", DROP },
		{ "OSC 02, 20", I, "\x1b]20;x\a", DROP },
		{ "OSC with no ';'", I, "\x1b]2\a", DROP },
		{ "text around", I, "a\x1b]52;c;x\ab", "ab" },
		{ "title 0, BEL", I, "\x1b]0;hi\a", PUSH "\x1b]0;hi\x1b\\" },
		{ "title 2, ST", I, "\x1b]2;hi there\x1b\\", PUSH "\x1b]2;hi there\x1b\\" },
		{ "title twice: pushed once", I, "\x1b]2;a\a\x1b]2;b\a", PUSH "\x1b]2;a\x1b\\\x1b]2;b\x1b\\" },
		{ "title: controls and DEL out", I, "\x1b]2;a\x01" "b\x7f" "c\td\a", PUSH "\x1b]2;abcd\x1b\\" },
		{ "title: UTF-8 kept", I, "\x1b]2;caf\xc3\xa9\a", PUSH "\x1b]2;caf\xc3\xa9\x1b\\" },
		{ "title: invalid UTF-8", I, "\x1b]2;a\xff" "b\a", PUSH "\x1b]2;a" FFFD "b\x1b\\" },
		{ "title cut by CSI", I, "\x1b]2;abc\x1b[1m", "\x1b[1m" },
		{ "title cut by CAN", I, "\x1b]2;abc\x18z", "z" },
		{ "unterminated at end", I, "\x1b]2;abc", DROP },
		{ "ESC inside ends OSC 52", I, "\x1b]52;c;x\x1b" "7z", "\x1b" "7z" },
	};
	struct tcase t2[2];

	check_cases(t, NELEM(t));

	/* Long titles are cut, at a whole character. */
	memcpy(longtitle, "\x1b]", 2);
	longtitle[2] = '2';
	longtitle[3] = ';';
	memset(longtitle + 4, 'x', 296);
	memcpy(longtitle + 300, "\a", 2);
	snprintf(longwant, sizeof(longwant), PUSH "\x1b]2;%.*s\x1b\\", 256,
		 longtitle + 4);
	memcpy(edge, "\x1b]2;", 4);
	memset(edge + 4, 'y', 255);
	memcpy(edge + 259, "\xc3\xa9\a", 4);	/* é: 2 bytes, 1 left */
	snprintf(edgewant, sizeof(edgewant), PUSH "\x1b]2;%.*s\x1b\\", 255, edge + 4);
	t2[0] = (struct tcase){ "long title", I, longtitle, longwant };
	t2[1] = (struct tcase){ "cut before a 2-byte char", I, edge, edgewant };
	check_cases(t2, 2);
}

TEST(strings_dropped)
{
	static const struct tcase t[] = {
		{ "DECRQSS", I, "\x1bP$qm\x1b\\", DROP },
		{ "XTGETTCAP", I, "\x1bP+q544e\x1b\\", DROP },
		{ "DECUDK", I, "\x1bP1;1|17/6563686f\x1b\\", DROP },
		{ "sixel", I, "\x1bPq#0;2;0;0;0#0!10~\x1b\\", DROP },
		{ "tmux passthrough", I, "\x1bPtmux;\x1b\x1b]52;c;x\a\x1b\\", DROP },
		{ "APC kitty graphics", I, "\x1b_Gf=100;AAAA\x1b\\", DROP },
		{ "PM", I, "\x1b^private\x1b\\", DROP },
		{ "SOS", I, "\x1bXstring\x1b\\", DROP },
		{ "BEL does not end DCS", I, "\x1bPzz\azz\x1b\\ok", "ok" },
		{ "text after", I, "a\x1bP$q\"p\x1b\\b", "ab" },
		{ "CAN ends", I, "\x1bPabc\x18ok", "ok" },
	};
	check_cases(t, NELEM(t));
}

TEST(other_escapes)
{
	static const struct tcase t[] = {
		{ "RIS", 0, "\x1b" "c", DROP },
		{ "DECALN, double width", 0, "\x1b#8\x1b#6", DROP },
		{ "ISO 2022 out of UTF-8", 0, "\x1b%@\x1b%G", DROP },
		{ "S7C1T S8C1T", 0, "\x1b F\x1b G", DROP },
		{ "DECID", I, "\x1bZ", DROP },
		{ "SS2 SS3 LS2 LS3", 0, "\x1bN\x1bO\x1bn\x1bo\x1b|", DROP },
		{ "HTS", 0, "\x1bH", DROP },
		{ "96-charsets, G2", 0, "\x1b-A\x1b*0\x1b+B", DROP },
		{ "other charset", 0, "\x1b(U\x1b(K", DROP },
		{ "ST alone", 0, "\x1b\\", DROP },
		{ "ESC ESC [", 0, "\x1b\x1b[1m", "\x1b[1m" },
	};
	check_cases(t, NELEM(t));
}

TEST(c1_both_forms)
{
	static const struct tcase t[] = {
		{ "8-bit CSI", 0, "\x9b" "31mx", "\x1b[31mx" },
		{ "UTF-8 CSI", 0, "\xc2\x9b" "31mx", "\x1b[31mx" },
		{ "8-bit CSI query", I, "\x9b" "6n", "\x1b[6n" },
		{ "8-bit CSI 21t", I, "\x9b" "21t", DROP },
		{ "UTF-8 CSI 21t", I, "\xc2\x9b" "21t", DROP },
		{ "8-bit OSC 52, 8-bit ST", I, "\x9d" "52;c;eA==\x9c", DROP },
		{ "UTF-8 OSC 52, UTF-8 ST", I, "\xc2\x9d" "52;c;eA==\xc2\x9c", DROP },
		{ "UTF-8 OSC 52, BEL", I, "\xc2\x9d" "52;c;eA==\a", DROP },
		{ "8-bit OSC title", I, "\x9d" "2;t\x9c", PUSH "\x1b]2;t\x1b\\" },
		{ "8-bit DCS", I, "\x90" "$qm\x9c" "ok", "ok" },
		{ "UTF-8 DCS", I, "\xc2\x90" "+q544e\xc2\x9c" "ok", "ok" },
		{ "8-bit APC PM SOS", I, "\x9f" "a\x9c\x9e" "b\x9c\x98" "c\x9c", DROP },
		{ "UTF-8 APC PM SOS", I, "\xc2\x9f" "a\xc2\x9c\xc2\x9e" "b\xc2\x9c\xc2\x98" "c\xc2\x9c", DROP },
		{ "IND NEL RI: 7-bit", 0, "\x84\x85\x8d", "\x1b" "D\x1b" "E\x1b" "M" },
		{ "UTF-8 IND NEL RI", 0, "\xc2\x84\xc2\x85\xc2\x8d", "\x1b" "D\x1b" "E\x1b" "M" },
		{ "HTS SS2 SS3 ST alone", 0, "\x88\x8e\x8f\x9c\xc2\x88\xc2\x9c", DROP },
		{ "other C1", 0, "\x80\x81\x82\x83\x86\x87\x89\x8a\x8b\x8c\x91\x92\x93\x94\x95\x96\x97\x99\x9a", DROP },
		{ "UTF-8 other C1", 0, "\xc2\x80\xc2\x81\xc2\x96\xc2\x9a", DROP },
		{ "C1 aborts a CSI", 0, "\x1b[1\x9b" "2m", "\x1b[2m" },
		{ "C1 inside a title ends it", I, "\x1b]2;a\xc2\x9b" "1mb", "\x1b[1mb" },
	};
	check_cases(t, NELEM(t));
}

TEST(invalid_utf8)
{
	static const struct tcase t[] = {
		{ "stray FF", 0, "a\xff" "b", "a" FFFD "b" },
		{ "stray continuation A0-BF", 0, "\xa0\xbf", FFFD FFFD },
		{ "C0 C1 leads", 0, "\xc0\xaf\xc1\xbf", FFFD FFFD FFFD FFFD },
		{ "cut short", 0, "\xc3" "a", FFFD "a" },
		{ "cut by ESC", 0, "\xe2\x82\x1b[1m", FFFD "\x1b[1m" },
		{ "overlong 3", 0, "\xe0\x80\xaf", FFFD },
		{ "overlong 4", 0, "\xf0\x80\x80\xaf", FFFD },
		{ "surrogate", 0, "\xed\xa0\x80", FFFD },
		{ "past U+10FFFF", 0, "\xf4\x90\x80\x80", FFFD },
		{ "F5", 0, "\xf5", FFFD },
		{ "in a CSI", 0, "\x1b[1\xff" "m", FFFD "m" },
	};
	check_cases(t, NELEM(t));
}

TEST(overlong_sequences_dropped_whole)
{
	static char csi[2 + 2 * 300 + 3], esc[16];
	static uint8_t dcs[200000], out[8];
	struct tcase t[2];
	struct termfilter f;
	size_t n;

	memcpy(csi, "\x1b[", 2);
	for (int i = 0; i < 300; i++)
		memcpy(csi + 2 + 2 * i, "1;", 2);
	memcpy(csi + 602, "mz", 3);
	snprintf(esc, sizeof(esc), "\x1b(((((Bz");
	t[0] = (struct tcase){ "CSI of 602 bytes", 0, csi, "z" };
	t[1] = (struct tcase){ "ESC with 5 intermediates", 0, esc, "z" };
	check_cases(t, 2);

	/* A string of any length costs no memory and leaves nothing. */
	termfilter_init(&f, I);
	memcpy(dcs, "\x1bPq", 3);
	memset(dcs + 3, '~', sizeof(dcs) - 3);
	for (int i = 0; i < 50; i++)
		CHECK_EQ(termfilter_feed(&f, dcs + (i ? 3 : 0), sizeof(dcs) - (i ? 3 : 0),
					 outbuf), 0);
	n = termfilter_feed(&f, (const uint8_t *)"\x1b\\ok", 4, out);
	CHECK_EQ(n, 2);
	CHECK(memcmp(out, "ok", 2) == 0);
}

TEST(worst_case_growth_within_bound)
{
	static uint8_t in[65536];
	struct termfilter f;

	/* Every byte a stray: 3 bytes out each. */
	memset(in, 0xff, sizeof(in));
	termfilter_init(&f, 0);
	CHECK_EQ(termfilter_feed(&f, in, sizeof(in), outbuf), 3 * sizeof(in));
	/* A title held, then a byte that ends it. */
	termfilter_init(&f, I);
	memcpy(in, "\x1b]2;", 4);
	memset(in + 4, 'x', 300);
	CHECK_EQ(termfilter_feed(&f, in, 304, outbuf), 0);
	CHECK(termfilter_feed(&f, (const uint8_t *)"\a", 1, outbuf) <=
	      TERMFILTER_OUT_MAX(1));
}

static uint32_t modes_after(unsigned int flags, const char *s)
{
	struct termfilter f;

	termfilter_init(&f, flags);
	termfilter_feed(&f, (const uint8_t *)s, strlen(s), outbuf);
	return f.modes;
}

static size_t reset_after(unsigned int flags, const char *s, uint8_t *out)
{
	struct termfilter f;

	termfilter_init(&f, flags);
	termfilter_feed(&f, (const uint8_t *)s, strlen(s), outbuf);
	return termfilter_reset(&f, out);
}

TEST(mode_record)
{
	static const struct {
		const char *in;
		unsigned int flags;
		uint32_t want;
	} t[] = {
		{ "plain text\r\n", I, 0 },
		{ "\x1b[31m", 0, TF_SGR },
		{ "\x1b[?1049h\x1b[?1049l", 0, TF_ALT_1049 },	/* sticky */
		{ "\x1b[?47h", 0, TF_ALT_47 },
		{ "\x1b[?1047h", 0, TF_ALT_1047 },
		{ "\x1b[2;10r", 0, TF_SCROLL_REGION },
		{ "\x1b[r", 0, 0 },
		{ "\x1b[?6h", 0, TF_ORIGIN },
		{ "\x1b[?7l", 0, TF_NO_WRAP },
		{ "\x1b[?7h", 0, 0 },
		{ "\x1b[?25l", 0, TF_CURSOR_HIDDEN },
		{ "\x1b[?25h", 0, 0 },
		{ "\x1b[4 q", 0, TF_CURSOR_SHAPE },
		{ "\x1b[?1h", 0, TF_APP_CURSOR },
		{ "\x1b=", 0, TF_APP_KEYPAD },
		{ "\x1b[?66h", 0, TF_APP_KEYPAD },
		{ "\x1b[?1000h", I, TF_MOUSE },
		{ "\x1b[?1002;1006h", I, TF_MOUSE | TF_MOUSE_ENC },
		{ "\x1b[?9h", I, TF_MOUSE },
		{ "\x1b[?1003h", 0, 0 },	/* dropped: not recorded */
		{ "\x1b[?1004h", I, TF_FOCUS },
		{ "\x1b[?2004h", I, TF_PASTE },
		{ "\x1b[?5h", 0, TF_REVERSE },
		{ "\x1b[4h", 0, TF_INSERT },
		{ "\x1b[?2026h", 0, TF_SYNC },
		{ "\x1b(0", 0, TF_CHARSET },
		{ "\x0e", 0, TF_CHARSET },
		{ "\x1b(B\x0f", 0, 0 },
		{ "\x1b]2;t\a", 0, TF_TITLE },
		{ "\x1b]52;c;x\a", I, 0 },
	};

	for (size_t i = 0; i < NELEM(t); i++) {
		uint32_t got = modes_after(t[i].flags, t[i].in);

		if (got != t[i].want) {
			fprintf(stderr, "  case %zu: modes %#x, want %#x\n", i,
				got, t[i].want);
			CHECK(0);
		}
	}
}

TEST(reset_switches_off_what_was_on)
{
	static uint8_t out[TERMFILTER_RESET_MAX];
	struct termfilter f;
	size_t n;

	CHECK_EQ(reset_after(I, "just text\r\n", out), 0);

	n = reset_after(I, "\x1b[?1049h\x1b[?1000;1006h\x1b[?2004h\x1b[31m", out);
	out[n] = 0;
	CHECK_STR((char *)out, "\x1b[?1049l\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l"
		  "\x1b[?1005l\x1b[?1006l\x1b[?1015l\x1b[?1016l\x1b[?2004l\x1b[0;10m");

	/* Main screen first, then the scrolling region with the cursor kept. */
	n = reset_after(0, "\x1b[?47h\x1b[2;5r\x1b[?25l\x1b[?7l", out);
	out[n] = 0;
	CHECK_STR((char *)out, "\x1b[?47l\x1b" "7\x1b[r\x1b" "8\x1b[?7h\x1b[?25h");

	n = reset_after(I, "\x1b]2;t\a\x1b=\x1b[?1h\x1b(0\x1b[?2026h\x1b[?1004h", out);
	out[n] = 0;
	CHECK_STR((char *)out, "\x1b[?2026l\x1b[?1004l\x1b[?1l\x1b[?66l\x1b>"
		  "\x0f\x1b(B\x1b[23;0t");

	/* Everything on: fits. */
	termfilter_init(&f, I);
	f.modes = ~0u;
	CHECK(termfilter_reset(&f, out) <= TERMFILTER_RESET_MAX);
}

CHECK_MAIN(TEST_ENTRY(text_and_controls_pass),
	   TEST_ENTRY(nul_dropped),
	   TEST_ENTRY(sgr_passes),
	   TEST_ENTRY(cursor_erase_scroll_pass),
	   TEST_ENTRY(private_modes),
	   TEST_ENTRY(fixed_form_queries),
	   TEST_ENTRY(window_ops_dropped),
	   TEST_ENTRY(other_csi_dropped),
	   TEST_ENTRY(osc_dropped_title_cleaned),
	   TEST_ENTRY(strings_dropped),
	   TEST_ENTRY(other_escapes),
	   TEST_ENTRY(c1_both_forms),
	   TEST_ENTRY(invalid_utf8),
	   TEST_ENTRY(overlong_sequences_dropped_whole),
	   TEST_ENTRY(worst_case_growth_within_bound),
	   TEST_ENTRY(mode_record),
	   TEST_ENTRY(reset_switches_off_what_was_on))
