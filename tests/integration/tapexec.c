/* tapexec: the host side of the network tests and benchmarks. Opens (or
 * attaches to) the TAP called IFNAME in the current network namespace
 * with lib/tap's tap_open() (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), puts it
 * at descriptor FD and execs CMD, which inherits it: what the supervisor
 * will do for airlock-vmm --net fd:FD.
 *   tapexec IFNAME FD CMD [ARGS...] */
#include "lib/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	long want;
	int fd;

	if (argc < 4) {
		fputs("usage: tapexec IFNAME FD CMD [ARGS...]\n", stderr);
		return 2;
	}
	errno = 0;
	want = strtol(argv[2], &end, 10);
	if (errno || *end || end == argv[2] || want < 3 || want > 1023) {
		fprintf(stderr, "tapexec: FD '%s': expected a number from 3 to 1023\n", argv[2]);
		return 2;
	}
	fd = tap_open(argv[1], NULL);
	if (fd < 0) {
		fprintf(stderr, "tapexec: cannot open TAP '%s': %s\n", argv[1], strerror(-fd));
		return 1;
	}
	/* dup2 leaves the copy without O_CLOEXEC; an fd already at its
	 * place has it, so clear it by hand. */
	if (fd != want && dup2(fd, (int)want) < 0) {
		fprintf(stderr, "tapexec: dup2 to %ld: %s\n", want, strerror(errno));
		return 1;
	}
	if (fd == want)
		fcntl(fd, F_SETFD, 0);
	else
		close(fd);
	execvp(argv[3], argv + 3);
	fprintf(stderr, "tapexec: cannot run '%s': %s\n", argv[3], strerror(errno));
	return 127;
}
