/* The sandbox's network namespace: see netns.h. The child that makes it
 * unshares (user +) network namespace, sets it up with ioctls and two
 * rtnetlink requests, makes the sockets and sends them back over a
 * socketpair (SCM_RIGHTS); then it stays as the opener, confined: no
 * descriptor but that socketpair, no uid 0 of the host, a seccomp filter
 * that allows making listeners and nothing else. */
#include "lib/netns.h"
#include "lib/sysfilter.h"
#include "lib/unixsock.h"
#include "lib/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPLY_WAIT_MS 10000
#define NOBODY 65534

/* What the child sends first: a status and why, then the descriptors in
 * this order: tap, dns_udp, dns_tcp, tcp[0..ntcp). */
struct hello {
	int32_t err;
	uint32_t ntcp;
	char why[400];
};

static int say(char *why, size_t size, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int say(char *why, size_t size, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return err < 0 ? err : -err;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -errno;
}

/* --- rtnetlink ------------------------------------------------------------ */

static void nl_attr(struct nlmsghdr *h, unsigned short type, const void *data,
		    size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* ip route add TYPE DST/PLEN dev IFINDEX table TABLE scope SCOPE [src SRC] */
static int route_add(int nl, unsigned char type, unsigned char scope,
		     unsigned char table, struct in_addr dst, unsigned int plen,
		     int ifindex, const struct in_addr *src)
{
	struct {
		struct nlmsghdr h;
		struct rtmsg r;
		char attrs[128];
	} req = { 0 };
	char buf[512];
	struct nlmsghdr *ans = (struct nlmsghdr *)buf;
	uint32_t oif = (uint32_t)ifindex;
	ssize_t n;

	req.h.nlmsg_len = NLMSG_LENGTH(sizeof(req.r));
	req.h.nlmsg_type = RTM_NEWROUTE;
	req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.h.nlmsg_seq = 1;
	req.r.rtm_family = AF_INET;
	req.r.rtm_dst_len = (unsigned char)plen;
	req.r.rtm_table = table;
	req.r.rtm_protocol = RTPROT_STATIC;
	req.r.rtm_scope = scope;
	req.r.rtm_type = type;
	if (plen)
		nl_attr(&req.h, RTA_DST, &dst, sizeof(dst));
	nl_attr(&req.h, RTA_OIF, &oif, sizeof(oif));
	if (src)
		nl_attr(&req.h, RTA_PREFSRC, src, sizeof(*src));
	if (send(nl, &req, req.h.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(nl, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
	    ans->nlmsg_type != NLMSG_ERROR)
		return -EIO;
	return ((struct nlmsgerr *)NLMSG_DATA(ans))->error;
}

/* --- the child -------------------------------------------------------------- */

static int if_up(int s, const char *name, const struct in_addr *addr,
		 unsigned int prefix)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (addr) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;

		sin->sin_family = AF_INET;
		sin->sin_addr = *addr;
		if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
			return -errno;
		sin->sin_addr.s_addr = htonl(prefix ? ~0u << (32 - prefix) : 0);
		if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
			return -errno;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int listener(int type, uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	const int one = 1;
	int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), e;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (type == SOCK_DGRAM &&
	     setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0)) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int enter(char *why, size_t size)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (uid == 0) {
		if (unshare(CLONE_NEWNET) < 0)
			return say(why, size, errno, "cannot make a network namespace: %s",
				   strerror(errno));
		return 0;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return say(why, size, errno,
			   "cannot make a user namespace (%s): unprivileged user "
			   "namespaces are off here (sysctl kernel.unprivileged_userns_clone=1, "
			   "user.max_user_namespaces > 0, or AppArmor's "
			   "kernel.apparmor_restrict_unprivileged_userns=0), or this runs in a "
			   "chroot (where the kernel refuses them); or run as root",
			   strerror(errno));
	/* Our own uid (and gid) become root in it, nothing else. */
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)uid);
	r = write_file("/proc/self/setgroups", "deny");
	if (r == 0 || r == -ENOENT)
		r = write_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)gid);
	if (r == 0)
		r = write_file("/proc/self/gid_map", map);
	if (r)
		return say(why, size, r, "cannot map our uid into the sandbox's user "
			   "namespace: %s", strerror(-r));
	return 0;
}

static int open_tap(char *why, size_t size)
{
	int fd = tap_open(NETNS_TAP_NAME, NULL);

	if (fd == -ENOENT)
		return say(why, size, -fd, "no /dev/net/tun: the kernel needs TUN "
			   "(modprobe tun), or use --network none");
	if (fd == -EACCES)
		return say(why, size, -fd, "/dev/net/tun is not open to this user "
			   "(it is root's alone here, mode 0600): as root, `chmod 0666 "
			   "/dev/net/tun` (a udev rule KERNEL==\"tun\", MODE=\"0666\" "
			   "keeps it so; a TAP still needs a namespace of one's own), "
			   "or run airlock as root, or use --network none");
	if (fd < 0)
		return say(why, size, -fd, "cannot make the sandbox's TAP device: %s",
			   strerror(-fd));
	return fd;
}

/* Sysctls of the new namespace: /proc/sys/net shows the writer's own. */
static int tune(char *why, size_t size)
{
	static const char *const on[][2] = {
		/* Nothing is forwarded, whatever the host does. */
		{ "/proc/sys/net/ipv4/ip_forward", "0" },
		/* The guest gets nothing back from ICMP echo. */
		{ "/proc/sys/net/ipv4/icmp_echo_ignore_all", "1" },
		/* The opener binds any port without being root. */
		{ "/proc/sys/net/ipv4/ip_unprivileged_port_start", "0" },
	};
	/* IPv4 only: no IPv6 on any interface of the namespace. */
	static const char *const v6[] = {
		"/proc/sys/net/ipv6/conf/default/disable_ipv6",
		"/proc/sys/net/ipv6/conf/all/disable_ipv6",
	};

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		int r = write_file(on[i][0], on[i][1]);

		if (r)
			return say(why, size, r, "cannot set %s in the sandbox's network "
				   "namespace: %s", on[i][0], strerror(-r));
	}
	for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
		int r = write_file(v6[i], "1");

		if (r && r != -ENOENT)	/* a host without IPv6 is fine */
			return say(why, size, r, "cannot turn IPv6 off in the sandbox's "
				   "network namespace: %s", strerror(-r));
	}
	return 0;
}

static int setup(const struct netns_config *cfg, int *fds, char *why, size_t size)
{
	struct in_addr any = { 0 }, net;
	int s, nl, r, tapidx;

	r = tune(why, size);
	if (r)
		return r;
	fds[0] = open_tap(why, size);
	if (fds[0] < 0)
		return fds[0];
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0 || nl < 0)
		return say(why, size, errno, "cannot make a socket in the sandbox's "
			   "namespace: %s", strerror(errno));
	r = if_up(s, "lo", NULL, 0);
	if (r == 0)
		r = if_up(s, NETNS_TAP_NAME, &cfg->link, cfg->prefix);
	if (r) {
		close(s);
		close(nl);
		return say(why, size, r, "cannot set up the sandbox's interfaces: %s",
			   strerror(-r));
	}
	tapidx = (int)if_nametoindex(NETNS_TAP_NAME);
	net.s_addr = cfg->guest.s_addr &
		     htonl(cfg->prefix ? ~0u << (32 - cfg->prefix) : 0);
	/* AnyIP: every IPv4 address is this namespace's own, so whatever
	 * the guest dials is accepted here (and the gateway decides); only
	 * the link itself is not, so that answers reach the guest. */
	r = route_add(nl, RTN_LOCAL, RT_SCOPE_HOST, RT_TABLE_LOCAL, any, 0,
		      (int)if_nametoindex("lo"), NULL);
	if (r == 0)
		r = route_add(nl, RTN_UNICAST, RT_SCOPE_LINK, RT_TABLE_LOCAL, net,
			      cfg->prefix, tapidx, &cfg->link);
	close(s);
	close(nl);
	if (r)
		return say(why, size, r, "cannot add the sandbox's routes: %s",
			   strerror(-r));
	fds[1] = listener(SOCK_DGRAM, 53);
	fds[2] = fds[1] < 0 ? fds[1] : listener(SOCK_STREAM, 53);
	if (fds[1] < 0 || fds[2] < 0)
		return say(why, size, fds[1] < 0 ? fds[1] : fds[2],
			   "cannot listen on port 53 in the sandbox's namespace: %s",
			   strerror(-(fds[1] < 0 ? fds[1] : fds[2])));
	for (size_t i = 0; i < cfg->nports; i++) {
		fds[3 + i] = listener(SOCK_STREAM, cfg->ports[i]);
		if (fds[3 + i] < 0)
			return say(why, size, fds[3 + i], "cannot listen on port %u in "
				   "the sandbox's namespace: %s", cfg->ports[i],
				   strerror(-fds[3 + i]));
	}
	return 0;
}

/* The opener's whole world: this loop, the socketpair, the namespace. */
static const struct sf_rule opener_rules[] = {
	{ SCMP_SYS(recvfrom), 0, { { 0 } }, "a port asked for by the gateway" },
	{ SCMP_SYS(recvmsg), 0, { { 0 } }, "the same" },
	{ SCMP_SYS(sendmsg), 0, { { 0 } }, "the listener, passed back" },
	{ SCMP_SYS(setsockopt), 0, { { 0 } }, "SO_REUSEADDR, IP_TRANSPARENT-free AnyIP" },
	{ SCMP_SYS(bind), 0, { { 0 } }, "the port" },
	{ SCMP_SYS(listen), 0, { { 0 } }, "the listener" },
	{ SCMP_SYS(close), 0, { { 0 } }, "our copy once passed" },
	{ SCMP_SYS(exit), 0, { { 0 } }, "the end" },
	{ SCMP_SYS(exit_group), 0, { { 0 } }, "the end" },
	{ SCMP_SYS(write), 1, { { 0, SF_EQ32, 2 } }, "the reporter's message" },
	{ SCMP_SYS(rt_sigreturn), 0, { { 0 } }, "signal handlers return" },
	{ SCMP_SYS(restart_syscall), 0, { { 0 } }, "a wait cut short resumes" },
	/* IPv4 sockets only, in this namespace. */
	{ SCMP_SYS(socket), 1, { { 0, SF_EQ32, AF_INET } }, "a TCP listener" },
};

static int confine_opener(void)
{
	struct sf_filter *f;
	char err[160];

	sf_install_reporter("airlock (network opener)", 125);
	f = sf_new();
	sf_add(f, opener_rules, SF_COUNT(opener_rules));
	return sf_load(f, "network opener", err, sizeof(err));
}

static void opener_loop(int sock)
{
	uint16_t port;

	for (;;) {
		ssize_t n = recv(sock, &port, sizeof(port), 0);
		int32_t err = 0;
		int fd;

		if (n == 0 || (n < 0 && errno != EINTR))
			_exit(0);	/* the gateway is gone */
		if (n != sizeof(port))
			continue;
		fd = port == 0 || port == 53 ? -EINVAL : listener(SOCK_STREAM, port);
		if (fd < 0)
			err = -fd;
		fd_send(sock, &err, sizeof(err), &fd, fd >= 0 ? 1 : 0);
		if (fd >= 0)
			close(fd);
	}
}

__attribute__((noreturn)) static void child(const struct netns_config *cfg, int sock)
{
	struct hello h = { 0 };
	int fds[3 + NETNS_MAX_PORTS];
	size_t n = 3 + cfg->nports;
	bool root = geteuid() == 0;

	for (size_t i = 0; i < n; i++)
		fds[i] = -1;
	h.err = enter(h.why, sizeof(h.why));
	if (h.err == 0)
		h.err = setup(cfg, fds, h.why, sizeof(h.why));
	h.ntcp = (uint32_t)cfg->nports;
	if (h.err) {
		fd_send(sock, &h, sizeof(h), NULL, 0);
		_exit(1);
	}
	if (fd_send(sock, &h, sizeof(h), fds, (unsigned int)n) < 0)
		_exit(1);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	/* As the opener: not root of the host (ip_unprivileged_port_start
	 * is 0 in here), confined to making listeners. */
	if (root && (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		     setresuid(NOBODY, NOBODY, NOBODY) < 0))
		_exit(1);
	if (confine_opener() < 0)
		_exit(1);
	opener_loop(sock);
	_exit(0);
}

int netns_create(const struct netns_config *cfg, struct netns *ns, char *why,
		 size_t size)
{
	struct hello h = { 0 };
	struct pollfd pfd;
	unsigned int nfds = 0;
	int sp[2], fds[3 + NETNS_MAX_PORTS], r;
	ssize_t n;
	pid_t pid;

	memset(ns, 0, sizeof(*ns));
	ns->tap = ns->dns_udp = ns->dns_tcp = ns->opener = -1;
	if (cfg->nports > NETNS_MAX_PORTS)
		return say(why, size, E2BIG, "more than %d ports to listen on",
			   NETNS_MAX_PORTS);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return say(why, size, errno, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sp[0]);
		close(sp[1]);
		return say(why, size, r, "fork: %s", strerror(-r));
	}
	if (pid == 0) {
		/* Nothing of the caller's but the socketpair goes along: it
		 * is fd 3, and everything above is closed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(sp[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		child(cfg, 3);
	}
	close(sp[1]);
	ns->pid = pid;
	pfd = (struct pollfd){ .fd = sp[0], .events = POLLIN };
	if (poll(&pfd, 1, REPLY_WAIT_MS) != 1) {
		r = say(why, size, ETIMEDOUT, "the process making the sandbox's "
			"network namespace did not answer");
		goto fail;
	}
	n = fd_recv(sp[0], &h, sizeof(h), fds, NETNS_MAX_PORTS + 3, &nfds);
	if (n != sizeof(h) || h.err || (size_t)nfds != 3 + cfg->nports) {
		h.why[sizeof(h.why) - 1] = '\0';
		r = say(why, size, h.err ? -h.err : EIO, "%s", n == sizeof(h) && h.err ?
			h.why : "the process making the sandbox's network namespace "
			"failed");
		for (unsigned int i = 0; i < nfds; i++)
			close(fds[i]);
		goto fail;
	}
	ns->tap = fds[0];
	ns->dns_udp = fds[1];
	ns->dns_tcp = fds[2];
	for (size_t i = 0; i < cfg->nports; i++)
		ns->tcp[i] = fds[3 + i];
	ns->ntcp = cfg->nports;
	ns->opener = sp[0];
	return 0;
fail:
	close(sp[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ns->pid = 0;
	return r;
}

int netns_open_port(int opener, uint16_t port)
{
	struct pollfd pfd = { .fd = opener, .events = POLLIN };
	int32_t err = 0;
	unsigned int nfd = 0;
	int fd = -1;

	if (send(opener, &port, sizeof(port), MSG_NOSIGNAL) != sizeof(port) ||
	    poll(&pfd, 1, 3000) != 1 ||
	    fd_recv(opener, &err, sizeof(err), &fd, 1, &nfd) != sizeof(err))
		return -EIO;
	if (!nfd)
		fd = -1;
	if (err || fd < 0) {
		if (fd >= 0)
			close(fd);
		return err ? -err : -EIO;
	}
	return fd;
}

void netns_close_fds(struct netns *ns)
{
	int *fds[] = { &ns->tap, &ns->dns_udp, &ns->dns_tcp, &ns->opener };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	for (size_t i = 0; i < ns->ntcp; i++)
		if (ns->tcp[i] >= 0) {
			close(ns->tcp[i]);
			ns->tcp[i] = -1;
		}
}

void netns_close(struct netns *ns)
{
	netns_close_fds(ns);
	if (ns->pid > 0) {
		kill(ns->pid, SIGKILL);
		waitpid(ns->pid, NULL, 0);
		ns->pid = 0;
	}
}
