/* Bounded logging of what a guest can provoke: the first few lines of a
 * kind are written, then one saying the rest are not, then nothing, so no
 * guest can grow a host log without end. */
#ifndef AIRLOCK_LIB_RATELOG_H
#define AIRLOCK_LIB_RATELOG_H

#include <stdbool.h>

struct ratelog {
	unsigned int seen;	/* events so far */
	unsigned int max;	/* how many are logged */
};

#define RATELOG_INIT(n) { .seen = 0, .max = (n) }

/* Counts one event. True if it is to be logged; *last is then set when it
 * is the last one that will be (say "further ... are not reported"). */
bool ratelog_take(struct ratelog *r, bool *last);

#endif
