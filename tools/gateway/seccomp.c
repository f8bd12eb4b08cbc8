/* The gateway's seccomp allowlist: see seccomp.h. A call not listed traps;
 * the SIGSYS handler names it in gateway.log and ends the process, so a
 * missing rule is a clear message. Every rule says why. */
#include "tools/gateway/seccomp.h"

#include <errno.h>
#include <linux/netlink.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define EXIT_SECCOMP 125

/* An int argument: the low 32 bits only. */
#define ARG_EQ32(n, v) \
	((struct scmp_arg_cmp){ .arg = (n), .op = SCMP_CMP_MASKED_EQ, \
				.datum_a = 0xffffffffu, \
				.datum_b = (scmp_datum_t)(uint32_t)(v) })
#define ARG_CLEAR(n, bits) \
	((struct scmp_arg_cmp){ .arg = (n), .op = SCMP_CMP_MASKED_EQ, \
				.datum_a = (scmp_datum_t)(bits), .datum_b = 0 })

struct rule {
	int nr;
	const char *why;
};

static const struct rule allowed[] = {
	{ SCMP_SYS(read), "the policy channel" },
	{ SCMP_SYS(write), "gateway.log lines" },
	{ SCMP_SYS(pread64), "network.log: moving its newer half to the front" },
	{ SCMP_SYS(pwrite64), "network.log lines, at the offset we keep" },
	{ SCMP_SYS(ftruncate), "network.log: cutting it to its newer half" },
	{ SCMP_SYS(close), "ended connections, queries, pipes" },
	{ SCMP_SYS(epoll_wait), "the event loop" },
	{ SCMP_SYS(epoll_pwait), "the event loop, where glibc uses it" },
	{ SCMP_SYS(epoll_ctl), "adding and dropping sockets" },
	{ SCMP_SYS(poll), "waiting for the opener's answer" },
	{ SCMP_SYS(ppoll), "the same, where glibc uses it" },
	{ SCMP_SYS(accept4), "the guest's connections, in its namespace" },
	{ SCMP_SYS(connect), "upstream connections and nameservers, from the host's namespace" },
	{ SCMP_SYS(bind), "getifaddrs' netlink socket" },
	{ SCMP_SYS(getsockname), "where the guest dialled (AnyIP); netlink" },
	{ SCMP_SYS(getsockopt), "SO_ERROR after a non-blocking connect" },
	{ SCMP_SYS(setsockopt), "SO_LINGER (resets), TCP_NODELAY" },
	{ SCMP_SYS(shutdown), "passing a half-close along" },
	{ SCMP_SYS(sendto), "DNS answers and queries, 403s, the policy channel" },
	{ SCMP_SYS(recvfrom), "DNS over TCP, upstream answers, a refused request" },
	{ SCMP_SYS(sendmsg), "DNS answers from the address asked (IP_PKTINFO); netlink" },
	{ SCMP_SYS(recvmsg), "DNS queries with their address; listeners from the opener" },
	{ SCMP_SYS(splice), "moving a connection's bytes without copying them" },
	{ SCMP_SYS(pipe2), "the splice pipes of a connection" },
	{ SCMP_SYS(fcntl), "O_NONBLOCK on listeners from the opener; pipe size" },
	{ SCMP_SYS(getrandom), "DNS query IDs" },
	{ SCMP_SYS(clock_gettime), "timeouts and log times, where the vDSO is not used" },
	{ SCMP_SYS(gettimeofday), "the same" },
	{ SCMP_SYS(getpid), "getifaddrs' netlink request" },
	{ SCMP_SYS(brk), "malloc" },
	{ SCMP_SYS(munmap), "free" },
	{ SCMP_SYS(mremap), "realloc" },
	{ SCMP_SYS(madvise), "free" },
	{ SCMP_SYS(rt_sigreturn), "return from the SIGSYS handler" },
	{ SCMP_SYS(rt_sigprocmask), "glibc around abort()" },
	{ SCMP_SYS(restart_syscall), "a wait cut short by a signal resumes" },
	{ SCMP_SYS(exit), "the end" },
	{ SCMP_SYS(exit_group), "the end (also from the SIGSYS handler)" },
};

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg),
		     "airlock-gateway: seccomp: forbidden system call %d; stopping\n",
		     si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* nowhere left to report to */
	}
	_exit(EXIT_SECCOMP);
}

int gw_seccomp_install(void)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx;
	int r = 0;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i].nr, 0);
	/* Sockets: IPv4 and IPv6 (upstream TCP, DNS over UDP) and netlink
	 * route (this host's addresses). No Unix sockets: nothing on this
	 * host can be reached but through its network addresses, and those
	 * the policy refuses. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     ARG_EQ32(0, AF_INET));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				     ARG_EQ32(0, AF_INET6));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     ARG_EQ32(0, AF_NETLINK), ARG_EQ32(2, NETLINK_ROUTE));
	/* Memory, never executable. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				     ARG_CLEAR(2, PROT_EXEC));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				     ARG_CLEAR(2, PROT_EXEC));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}
