/* tools/airlock/tilde: the ssh-style escape from the keyboard. ~. at the
 * start of a line (and only there) ends the session; ~~ sends one ~; ~
 * with anything else sends both; the state carries across reads. */
#include "tools/airlock/tilde.h"
#include "tests/unit/check.h"

#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Feeds in, cut into pieces at every '|', and returns what went out. */
static unsigned int feed(const char *in, char *out)
{
	struct tilde t;
	unsigned int all = 0;
	size_t n = 0;
	char piece[64];

	tilde_init(&t);
	while (*in) {
		size_t k = strcspn(in, "|");
		unsigned int act;

		memcpy(piece, in, k);
		n += tilde_scan(&t, (const uint8_t *)piece, k, (uint8_t *)out + n, &act);
		all |= act;
		in += k + (in[k] == '|');
		if (act & TILDE_END)
			break;
	}
	out[n] = 0;
	return all;
}

TEST(table)
{
	static const struct {
		const char *in, *out;
		unsigned int act;
	} t[] = {
		{ "~.", "", TILDE_END },
		{ "ls\r~.rest", "ls\r", TILDE_END },
		{ "ls\n~.", "ls\n", TILDE_END },
		{ "ls\r~|.", "ls\r", TILDE_END },		/* across reads */
		{ "a~.", "a~.", 0 },				/* not at a line start */
		{ "~~.", "~.", 0 },				/* ~~: one ~ */
		{ "~~|~.", "~~.", 0 },
		{ "~x", "~x", 0 },				/* both */
		{ "~\r~.", "~\r", TILDE_END },			/* ~ CR: a new line */
		{ "~?", "", TILDE_HELP },
		{ "~?~.", "", TILDE_HELP | TILDE_END },
		{ "\x1b[15~.", "\x1b[15~.", 0 },		/* F5, then . */
		{ "~", "", 0 },					/* held */
		{ "abc", "abc", 0 },
	};
	char out[64];

	for (size_t i = 0; i < NELEM(t); i++) {
		unsigned int act = feed(t[i].in, out);

		if (strcmp(out, t[i].out) || act != t[i].act) {
			fprintf(stderr, "  '%s': sent \"%s\", act %u\n", t[i].in,
				out, act);
			CHECK(0);
		}
	}
}

CHECK_MAIN(TEST_ENTRY(table))
