/* The vsock broker: see vsock_broker.h. */
#include "lib/vsock_broker.h"
#include "lib/sysfilter.h"
#include "lib/unixsock.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_port(const struct vsock_broker *b, uint32_t port)
{
	char name[128];
	unsigned int i;

	for (i = 0; i < b->nports && b->ports[i] != port; i++)
		;
	if (i == b->nports)
		return -EACCES;
	if (snprintf(name, sizeof(name), "%s%u", b->prefix, port) >= (int)sizeof(name))
		return -ENAMETOOLONG;
	return unix_connect_at(b->dirfd, name, SOCK_NONBLOCK);
}

int vsock_broker_answer(const struct vsock_broker *b, int sock)
{
	struct vsock_broker_req req;
	struct vsock_broker_rep rep = { .magic = VSOCK_BROKER_MAGIC };
	ssize_t n;
	int fd, r;

	do
		n = recv(sock, &req, sizeof(req), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 1;
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(req) || req.magic != VSOCK_BROKER_MAGIC)
		return -EPROTO;	/* the VMM is not itself: stop serving it */
	rep.id = req.id;
	fd = open_port(b, req.port);
	rep.err = fd < 0 ? -fd : 0;
	r = fd_send(sock, &rep, sizeof(rep), &fd, fd < 0 ? 0 : 1);
	if (fd >= 0)
		close(fd);
	return r;
}

int vsock_broker_serve(const struct vsock_broker *b, int sock)
{
	int r;

	while ((r = vsock_broker_answer(b, sock)) == 0)
		;
	return r == 1 ? 0 : r;
}

/* The broker's own allowlist: what serving needs, nothing else. */
static const struct sf_rule broker_rules[] = {
	{ SCMP_SYS(recvfrom), 0, { { 0 } }, "a request from the VMM" },
	{ SCMP_SYS(sendmsg), 0, { { 0 } }, "the answer, with the socket opened" },
	{ SCMP_SYS(newfstatat), 0, { { 0 } }, "is the name a socket, not a link?" },
	{ SCMP_SYS(fstat), 0, { { 0 } }, "is the folder writable by others?" },
	{ SCMP_SYS(getsockopt), 0, { { 0 } }, "SO_PEERCRED: who listens there" },
	{ SCMP_SYS(geteuid), 0, { { 0 } }, "who we are, to compare" },
	{ SCMP_SYS(connect), 0, { { 0 } }, "the stream to the named socket" },
	/* Unix sockets only: never a network socket. */
	{ SCMP_SYS(socket), 1, { { 0, SF_EQ32, AF_UNIX } }, "a Unix socket to connect" },
	{ SCMP_SYS(close), 0, { { 0 } }, "our copy of a socket once sent" },
	{ SCMP_SYS(write), 1, { { 0, SF_EQ32, 2 } }, "the reporter's message" },
	{ SCMP_SYS(rt_sigreturn), 0, { { 0 } }, "signal handlers return" },
	{ SCMP_SYS(exit_group), 0, { { 0 } }, "the end" },
};

static int confine(void)
{
	struct sf_filter *f = sf_new();
	char err[160];

	sf_install_reporter("airlock-vmm (vsock broker)", 125);
	sf_add(f, broker_rules, SF_COUNT(broker_rules));
	return sf_load(f, "vsock broker", err, sizeof(err));
}

int vsock_broker_spawn(const struct vsock_broker *b)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(sv[0]);
		close(sv[1]);
		return -e;
	}
	if (pid == 0) {
		int keep_lo = sv[1] < b->dirfd ? sv[1] : b->dirfd;
		int keep_hi = sv[1] < b->dirfd ? b->dirfd : sv[1];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		/* Everything but stdio, our end and the directory. */
		close_range(3, (unsigned int)keep_lo - 1, 0);
		if (keep_hi > keep_lo + 1)
			close_range((unsigned int)keep_lo + 1, (unsigned int)keep_hi - 1, 0);
		close_range((unsigned int)keep_hi + 1, ~0u, 0);
		if (confine() < 0)
			_exit(125);
		_exit(vsock_broker_serve(b, sv[1]) < 0 ? 1 : 0);
	}
	close(sv[1]);
	return sv[0];
}
