/* airlock diff, accept and reject (review.c): the changes a sandbox's
 * workspace sync held back for review. */
#ifndef AIRLOCK_TOOLS_REVIEW_H
#define AIRLOCK_TOOLS_REVIEW_H

#include "tools/airlock/sandbox.h"

/* cmd is "diff", "accept" or "reject"; argv its arguments (without the
 * command itself). Returns the exit status. */
int review_main(const struct airlock_paths *p, const char *cmd, int argc, char **argv);

#endif
