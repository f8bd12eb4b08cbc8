/* The user's own terminal during an exec session (exec.c): raw mode and
 * back, the terminal filter (lib/termfilter.h) on each of stdout and stderr
 * that is a terminal, and at the end, however the session ends, every mode
 * the guest switched on switched off again and the answers the terminal may
 * still be typing for the guest drained, never left for the user's shell. */
#ifndef AIRLOCK_TOOLS_LOCALTTY_H
#define AIRLOCK_TOOLS_LOCALTTY_H

#include <stdbool.h>
#include <termios.h>

#include "lib/termfilter.h"

struct localtty {
	struct termios saved;	/* stdin's mode before raw */
	bool raw;		/* stdin was put in raw mode */
	bool out_tty[2];	/* stdout, stderr are terminals */
	struct termfilter *filt[2];	/* for each that is; else NULL */
};

/* Looks at stdout and stderr; nothing is changed yet. */
void localtty_init(struct localtty *t);

/* stdin in raw mode, if it is a terminal: every key goes to the guest. */
void localtty_raw(struct localtty *t);

/* A filter for each output that is a terminal. Interactive (queries and
 * reporting modes pass) only in a TTY session on a raw stdin that is the
 * same terminal, so that its answers go to the guest. -ENOMEM or 0. */
int localtty_filters(struct localtty *t, bool tty_session);

/* The end: for each filtered output not dead[i], CAN if cut[i] (output
 * left unwritten may have cut a sequence), then the reset of what the
 * guest switched on; if the terminal could have been made to type, what
 * it typed is read and thrown away. Then stdin's mode back. */
void localtty_restore(struct localtty *t, const bool cut[2], const bool dead[2]);

/* After a stop and SIGCONT: the shell may have reset the terminal. */
void localtty_raw_again(const struct localtty *t);

void localtty_free(struct localtty *t);

#endif
