/* The gateway's seccomp allowlist (lib/sysfilter.h): see seccomp.h. A call
 * not listed traps; the reporter names it in gateway.log and ends the
 * process, so a missing rule is a clear message. Every rule says why. */
#include "tools/gateway/seccomp.h"
#include "lib/sysfilter.h"

#include <errno.h>
#include <linux/netlink.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>

#define EXIT_SECCOMP 125

static const struct sf_rule allowed[] = {
	{ SCMP_SYS(read), 0, { { 0 } }, "the policy channel" },
	{ SCMP_SYS(write), 0, { { 0 } }, "gateway.log lines" },
	{ SCMP_SYS(pread64), 0, { { 0 } }, "network.log: moving its newer half to the front" },
	{ SCMP_SYS(pwrite64), 0, { { 0 } }, "network.log lines, at the offset we keep" },
	{ SCMP_SYS(ftruncate), 0, { { 0 } }, "network.log: cutting it to its newer half" },
	{ SCMP_SYS(close), 0, { { 0 } }, "ended connections, queries, pipes" },
	{ SCMP_SYS(epoll_wait), 0, { { 0 } }, "the event loop" },
	{ SCMP_SYS(epoll_pwait), 0, { { 0 } }, "the event loop, where glibc uses it" },
	{ SCMP_SYS(epoll_ctl), 0, { { 0 } }, "adding and dropping sockets" },
	{ SCMP_SYS(poll), 0, { { 0 } }, "waiting for the opener's answer" },
	{ SCMP_SYS(ppoll), 0, { { 0 } }, "the same, where glibc uses it" },
	{ SCMP_SYS(accept4), 0, { { 0 } }, "the guest's connections, in its namespace" },
	{ SCMP_SYS(connect), 0, { { 0 } }, "upstream connections and nameservers, from the host's namespace" },
	{ SCMP_SYS(bind), 0, { { 0 } }, "getifaddrs' netlink socket" },
	{ SCMP_SYS(getsockname), 0, { { 0 } }, "where the guest dialled (AnyIP); netlink" },
	{ SCMP_SYS(getsockopt), 0, { { 0 } }, "SO_ERROR after a non-blocking connect" },
	{ SCMP_SYS(setsockopt), 0, { { 0 } }, "SO_LINGER (resets), TCP_NODELAY" },
	{ SCMP_SYS(shutdown), 0, { { 0 } }, "passing a half-close along" },
	{ SCMP_SYS(sendto), 0, { { 0 } }, "DNS answers and queries, 403s, the policy channel" },
	{ SCMP_SYS(recvfrom), 0, { { 0 } }, "DNS over TCP, upstream answers, a refused request" },
	{ SCMP_SYS(sendmsg), 0, { { 0 } }, "DNS answers from the address asked (IP_PKTINFO); netlink" },
	{ SCMP_SYS(recvmsg), 0, { { 0 } }, "DNS queries with their address; listeners from the opener" },
	{ SCMP_SYS(splice), 0, { { 0 } }, "moving a connection's bytes without copying them" },
	{ SCMP_SYS(pipe2), 0, { { 0 } }, "the splice pipes of a connection" },
	{ SCMP_SYS(fcntl), 0, { { 0 } }, "O_NONBLOCK on listeners from the opener; pipe size" },
	{ SCMP_SYS(getrandom), 0, { { 0 } }, "DNS query IDs" },
	{ SCMP_SYS(clock_gettime), 0, { { 0 } }, "timeouts and log times, where the vDSO is not used" },
	{ SCMP_SYS(gettimeofday), 0, { { 0 } }, "the same" },
	{ SCMP_SYS(getpid), 0, { { 0 } }, "getifaddrs' netlink request" },
	{ SCMP_SYS(brk), 0, { { 0 } }, "malloc" },
	{ SCMP_SYS(munmap), 0, { { 0 } }, "free" },
	{ SCMP_SYS(mremap), 0, { { 0 } }, "realloc" },
	{ SCMP_SYS(madvise), 0, { { 0 } }, "free" },
	{ SCMP_SYS(rt_sigreturn), 0, { { 0 } }, "return from the SIGSYS handler" },
	{ SCMP_SYS(rt_sigprocmask), 0, { { 0 } }, "glibc around abort()" },
	{ SCMP_SYS(restart_syscall), 0, { { 0 } }, "a wait cut short by a signal resumes" },
	{ SCMP_SYS(exit), 0, { { 0 } }, "the end" },
	{ SCMP_SYS(exit_group), 0, { { 0 } }, "the end (also from the SIGSYS handler)" },
};

/* Sockets: IPv4 and IPv6 (upstream TCP, DNS over UDP) and netlink route
 * (this host's addresses). No Unix sockets: nothing on this host can be
 * reached but through its network addresses, and those the policy
 * refuses. Memory, never executable. */
static const struct sf_rule with_args[] = {
	{ SCMP_SYS(socket), 1, { { 0, SF_EQ32, AF_INET } }, "upstream TCP, DNS over UDP" },
	{ SCMP_SYS(socket), 1, { { 0, SF_EQ32, AF_INET6 } }, "the same over IPv6" },
	{ SCMP_SYS(socket), 2, { { 0, SF_EQ32, AF_NETLINK }, { 2, SF_EQ32, NETLINK_ROUTE } },
	  "this host's own addresses (getifaddrs)" },
	{ SCMP_SYS(mmap), 1, { { 2, SF_MASK0, PROT_EXEC } }, "malloc, never executable" },
	{ SCMP_SYS(mprotect), 1, { { 2, SF_MASK0, PROT_EXEC } }, "the same" },
};

int gw_seccomp_install(void)
{
	struct sf_filter *f;
	char err[200];
	int r;

	r = sf_install_reporter("airlock-gateway", EXIT_SECCOMP);
	if (r)
		return r;
	f = sf_new();
	sf_add(f, allowed, SF_COUNT(allowed));
	sf_add(f, with_args, SF_COUNT(with_args));
	r = sf_load(f, "gateway", err, sizeof(err));
	if (r)
		fprintf(stderr, "airlock-gateway: %s\n", err);
	return r;
}
