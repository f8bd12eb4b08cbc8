/* lib/tap: what can be checked without privileges: names too long for an
 * interface are refused before anything is opened, and fds that are not
 * TAPs are told apart (a closed fd, a pipe, a file, a socket). Opening a
 * real TAP needs CAP_NET_ADMIN: tests/integration/t_net.sh does it in the
 * test host, through tapexec and airlock-vmm --net. */
#include "lib/tap.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

TEST(open_refuses_long_names)
{
	char name[IFNAMSIZ];

	CHECK_EQ(tap_open("0123456789abcdef", name), -EINVAL);	/* 16 bytes */
	CHECK_EQ(tap_open("0123456789abcdefg", NULL), -EINVAL);
}

TEST(check_tells_non_taps_apart)
{
	int p[2], s[2], f;

	CHECK_EQ(tap_check(-1, NULL), -EBADF);
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(tap_check(p[0], NULL), -ENOTTY);
	close(p[1]);
	CHECK_EQ(tap_check(p[1], NULL), -EBADF);
	close(p[0]);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, s), 0);
	CHECK_EQ(tap_check(s[0], NULL), -ENOTTY);
	close(s[0]);
	close(s[1]);
	f = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(f >= 0);
	CHECK_EQ(tap_check(f, NULL), -ENOTTY);
	close(f);
}

CHECK_MAIN(TEST_ENTRY(open_refuses_long_names), TEST_ENTRY(check_tells_non_taps_apart))
