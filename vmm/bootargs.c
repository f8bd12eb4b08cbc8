/* Kernel command line: see bootargs.h. */
#include "vmm/bootargs.h"
#include "proto/cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int bootargs_build(char *buf, size_t size, bool quiet, int argc,
		   char *const argv[], const char *extra)
{
	int n, t;

	if (size == 0)
		return -E2BIG;
	/* ttyS0 is the console, ttyS1 the command's output; only two UARTs
	 * so the kernel does not probe ports we do not have. panic=-1
	 * reboots at once, reboot=k through the i8042, which ends the VM. */
	n = snprintf(buf, size, "console=ttyS0 8250.nr_uarts=2 reboot=k panic=-1%s",
		     quiet ? " quiet" : "");
	if (n < 0 || (size_t)n >= size)
		return -E2BIG;
	if (argc > 0) {
		char *tok = malloc(size);

		if (!tok)
			return -ENOMEM;
		t = cmdline_encode_argv(tok, size, argc, argv);
		if (t >= 0)
			t = snprintf(buf + n, size - (size_t)n, " %s%s",
				     CMDLINE_CMD_KEY, tok);
		free(tok);
		if (t < 0 || (size_t)t >= size - (size_t)n)
			return -E2BIG;
		n += t;
	}
	/* Extras last, so a "--" among them cannot swallow our parameters. */
	if (extra && *extra) {
		t = snprintf(buf + n, size - (size_t)n, " %s", extra);
		if (t < 0 || (size_t)t >= size - (size_t)n)
			return -E2BIG;
		n += t;
	}
	return n;
}
