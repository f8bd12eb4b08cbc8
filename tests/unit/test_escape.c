/* lib/escape: guest text in airlock's messages comes out visible and inert,
 * class by class, and bounded: cut at a whole character or escape, with
 * "..." saying so. */
#include "lib/escape.h"
#include "tests/unit/check.h"

#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

TEST(classes)
{
	static const struct {
		const char *name, *in, *want;
	} t[] = {
		{ "plain", "Attempted to kill init!", "Attempted to kill init!" },
		{ "utf-8 kept", "n\xc3\xa3o \xe2\x80\x94 \xf0\x9f\x98\x80", "n\xc3\xa3o \xe2\x80\x94 \xf0\x9f\x98\x80" },
		{ "U+00A0 kept", "\xc2\xa0", "\xc2\xa0" },
		{ "ESC", "\x1b[2J\x1b]52;c;eA==\a", "\\x1b[2J\\x1b]52;c;eA==\\x07" },
		{ "C0", "a\tb\nc\rd\x01", "a\\x09b\\x0ac\\x0dd\\x01" },
		{ "DEL", "x\x7f", "x\\x7f" },
		{ "C1 8-bit", "\x9b" "31m\x9d", "\\x9b31m\\x9d" },
		{ "C1 UTF-8", "\xc2\x9b" "31m\xc2\x9d\xc2\x80", "\\u009b31m\\u009d\\u0080" },
		{ "bidi and separators", "a\xe2\x80\xaeZ\xe2\x80\xa8\xe2\x81\xa6\xd8\x9c",
		  "a\\u202eZ\\u2028\\u2066\\u061c" },
		{ "backslash kept: escaping twice changes nothing", "a\\x1b", "a\\x1b" },
		{ "invalid: stray, cut, overlong, surrogate",
		  "\xff\xc3\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80",
		  "\\xff\\xc3\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80" },
		{ "cut at the end", "ok\xe2\x82", "ok\\xe2\\x82" },
		{ "empty", "", "" },
	};
	char out[256];

	for (size_t i = 0; i < NELEM(t); i++) {
		size_t n = escape_text(out, sizeof(out), t[i].in, strlen(t[i].in));

		if (strcmp(out, t[i].want) || n != strlen(t[i].want)) {
			fprintf(stderr, "  '%s': got \"%s\"\n", t[i].name, out);
			CHECK(0);
		}
	}
	/* NUL: the length is what counts. */
	CHECK_EQ(escape_text(out, sizeof(out), "a\0b", 3), 6);
	CHECK_STR(out, "a\\x00b");
}

TEST(bounded)
{
	char out[16], big[4096];
	size_t n;

	/* Fits exactly: no "...". */
	n = escape_text(out, sizeof(out), "123456789012345", 15);
	CHECK_EQ(n, 15);
	CHECK_STR(out, "123456789012345");
	/* One more: cut, with room for "..." and the NUL. */
	n = escape_text(out, sizeof(out), "1234567890123456", 16);
	CHECK_STR(out, "123456789012...");
	CHECK_EQ(n, 15);
	/* An escape is never split. */
	n = escape_text(out, sizeof(out), "12345678901\x1b" "23", 14);
	CHECK_STR(out, "12345678901...");
	/* Nor a character. */
	n = escape_text(out, sizeof(out), "1234567890\xe2\x82\xac" "abc", 16);
	CHECK_STR(out, "1234567890...");
	/* Much longer than the room. */
	memset(big, 0x1b, sizeof(big));
	n = escape_text(out, sizeof(out), big, sizeof(big));
	CHECK_STR(out, "\\x1b\\x1b\\x1b...");
	CHECK(n < sizeof(out));
	/* The least room it takes. */
	n = escape_text(out, 4, "abcdef", 6);
	CHECK_STR(out, "...");
	n = escape_text(out, 4, "abc", 3);
	CHECK_STR(out, "abc");
	CHECK_EQ(escape_text(out, 3, "abc", 3), 0);
	CHECK_STR(out, "");
}

TEST(every_byte_alone)
{
	/* No byte comes out as a control, DEL or C1, whatever it is. */
	char out[16];

	char again[16];

	for (int b = 0; b < 256; b++) {
		char in = (char)b;

		escape_text(out, sizeof(out), &in, 1);
		for (const char *p = out; *p; p++)
			CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
		/* Escaping what is escaped changes nothing. */
		escape_text(again, sizeof(again), out, strlen(out));
		CHECK_STR(again, out);
	}
}

CHECK_MAIN(TEST_ENTRY(classes), TEST_ENTRY(bounded), TEST_ENTRY(every_byte_alone))
