/* The guest kernel command line the VMM builds: our fixed parameters, the
 * command for airlock-init, then the user's extras. */
#ifndef AIRLOCK_VMM_BOOTARGS_H
#define AIRLOCK_VMM_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>

/* Write the command line into buf. quiet: the kernel console goes nowhere,
 * so spare the guest the cost of printing to it. argc may be 0 (no
 * command). Returns its length, or -E2BIG if it does not fit in size. */
int bootargs_build(char *buf, size_t size, bool quiet, int argc,
		   char *const argv[], const char *extra);

#endif
