/* The escape a user at a terminal always has, as in ssh: `~.` typed at the
 * start of a line ends the session from the keyboard however the guest
 * behaves; `~?` lists the escapes; `~~` sends one `~`. A pure scanner over
 * the bytes typed (raw mode), its state kept across reads. docs/cli.md
 * describes it for users. */
#ifndef AIRLOCK_TOOLS_AIRLOCK_TILDE_H
#define AIRLOCK_TOOLS_AIRLOCK_TILDE_H

#include <stddef.h>
#include <stdint.h>

enum {
	TILDE_END = 1u << 0,	/* ~. : end the session */
	TILDE_HELP = 1u << 1,	/* ~? : show the escapes */
};

struct tilde {
	uint8_t state;
};

/* The help ~? shows, lines ending in \r\n (the terminal is raw). */
#define TILDE_HELP_MAX 256
extern const char tilde_help[];

/* At the start of a line. */
void tilde_init(struct tilde *t);

/* Copies what in[0..len) sends to the guest into out (room: len + 1, a
 * `~` held back from an earlier call may come out), leaving out the
 * escapes, and returns its length. *act gets TILDE_* bits; after
 * TILDE_END the rest of in is not looked at. */
size_t tilde_scan(struct tilde *t, const uint8_t *in, size_t len, uint8_t *out,
		  unsigned int *act);

#endif
