/* What a hijacked host process tries first, for the tests that prove its
 * seccomp filter (test_seccomp.c: the VMM's; test_host_filters.c: the
 * sync's and the gateway's): reach a Unix socket such as docker.sock, and
 * pass a descriptor out over a socket it holds. */
#ifndef AIRLOCK_TESTS_UNIT_ATTACKS_H
#define AIRLOCK_TESTS_UNIT_ATTACKS_H

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static inline void attack_connect_docker(int sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/docker.sock" };

	connect(sock, (struct sockaddr *)&sa, sizeof(sa));
}

static inline void attack_pass_fd(int sock, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} u = { 0 };
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };

	u.h.cmsg_level = SOL_SOCKET;
	u.h.cmsg_type = SCM_RIGHTS;
	u.h.cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(&u.h), &fd, sizeof(int));
	sendmsg(sock, &m, 0);
}

#endif
