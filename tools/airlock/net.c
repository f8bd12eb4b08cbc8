/* A sandbox's network at run time: see net.h. The gateway is exec'd with
 * an empty environment and exactly its descriptors; the feeder is a
 * forked child that watches the two policy files (inotify) and sends the
 * gateway the whole policy again whenever one changes, so `airlock policy
 * allow` reaches a running sandbox. Each dies with `airlock run`. */
#include "tools/airlock/net.h"
#include "lib/clock.h"
#include "lib/spawn.h"
#include "tools/airlock/msg.h"
#include "tools/airlock/sandbox.h"
#include "proto/guestparams.h"
#include "proto/netparam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AIRLOCK_BUILD_GATEWAY
#error "AIRLOCK_BUILD_GATEWAY: the build's airlock-gateway, set by meson"
#endif

#define READY_WAIT_MS 10000
#define STOP_WAIT_MS 3000
#define DEBOUNCE_MS 100
#define MAX_FDS (10 + NETNS_MAX_PORTS)

static char policy_msg[POLICY_TEXT_MAX + 32];

/* "policy\n" + the policy's lines + "end\n", as the gateway reads it. */
static int policy_message(const struct policy *p, size_t *len)
{
	int n = policy_text_format(p, policy_msg + 7, sizeof(policy_msg) - 12);

	if (n < 0)
		return n;
	memcpy(policy_msg, "policy\n", 7);
	memcpy(policy_msg + 7 + n, "end\n", 5);
	*len = (size_t)n + 11;
	return 0;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The gateway's answer to a policy: "ok N" or "error WHY". */
static int read_reply(int fd, int ms, char *out, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pfd, 1, ms) != 1)
			return -ETIMEDOUT;
		r = recv(fd, out + n, 1, 0);
		if (r <= 0)
			return r == 0 ? -EPIPE : -errno;
		if (out[n] == '\n') {
			out[n] = '\0';
			return 0;
		}
		n++;
	}
	return -E2BIG;
}

static const char *gateway_path(void)
{
	const char *v = getenv("AIRLOCK_GATEWAY");

	return v && *v ? v : AIRLOCK_BUILD_GATEWAY;
}

/* --- the feeder ----------------------------------------------------------- */

__attribute__((noreturn)) static void feeder(int sock, const char *home,
					     const struct sandbox *sb,
					     const struct net_opts *o)
{
	static struct policy p;
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |
			      IN_MOVED_FROM;
	bool dirty = false;

	if (in < 0 || inotify_add_watch(in, home, mask) < 0 ||
	    inotify_add_watch(in, sb->dir, mask) < 0) {
		say("network policy changes will not reach the running sandbox: "
		    "inotify: %s", strerror(errno));
		in = -1;
	}
	for (;;) {
		struct pollfd pfd[2] = { { .fd = sock, .events = POLLIN },
					 { .fd = in, .events = POLLIN } };
		char buf[4096] __attribute__((aligned(8)));
		ssize_t n;

		if (poll(pfd, 2, dirty ? DEBOUNCE_MS : -1) < 0 && errno != EINTR)
			_exit(1);
		if (pfd[0].revents) {
			/* Replies: errors are the gateway's to log. */
			n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				_exit(0);	/* the gateway is gone */
			continue;
		}
		if (pfd[1].revents) {
			while ((n = read(in, buf, sizeof(buf))) > 0)
				for (char *e = buf; e < buf + n;) {
					struct inotify_event *ev = (struct inotify_event *)e;

					if (ev->len && strcmp(ev->name, "policy.json") == 0)
						dirty = true;
					e += sizeof(*ev) + ev->len;
				}
			continue;	/* wait until the changes settle */
		}
		if (dirty) {
			size_t len;

			dirty = false;
			/* A bad file is said in gateway.log; the policy in
			 * force stays. */
			if (policy_compose(home, sb->name, o, &p) == 0 &&
			    policy_message(&p, &len) == 0 &&
			    send_all(sock, policy_msg, len) < 0)
				_exit(0);
		}
	}
}

/* --- start and stop --------------------------------------------------------- */

static pid_t spawn_gateway(const struct sandbox *sb, struct sandbox_net *n,
			   int policy_fd, int logfd, int errfd, int resolv, int map)
{
	char argbuf[MAX_FDS][16];
	const char *argv[2 * MAX_FDS + 16];
	int fds[MAX_FDS], nfd = 0, a = 0;
	pid_t pid;

#define FD_ARG(opt, fd) do { \
		fds[nfd] = (fd); \
		snprintf(argbuf[nfd], sizeof(argbuf[nfd]), "fd:%d", 3 + nfd); \
		argv[a++] = (opt); \
		argv[a++] = argbuf[nfd]; \
		nfd++; \
	} while (0)

	argv[a++] = "airlock-gateway";
	argv[a++] = "--sandbox";
	argv[a++] = sb->name;
	argv[a++] = "--link";
	argv[a++] = NET_LINK_ADDR;
	FD_ARG("--dns-udp", n->ns.dns_udp);
	FD_ARG("--dns-tcp", n->ns.dns_tcp);
	FD_ARG("--policy", policy_fd);
	FD_ARG("--opener", n->ns.opener);
	FD_ARG("--log", logfd);
	FD_ARG("--resolv-conf", resolv);
	if (map >= 0)
		FD_ARG("--test-map", map);
	for (size_t i = 0; i < n->ns.ntcp; i++)
		FD_ARG("--tcp", n->ns.tcp[i]);
	/* For measuring splice(2) against a buffer loop (tests/bench/net). */
	if (getenv("AIRLOCK_GATEWAY_COPY"))
		argv[a++] = "--copy";
	argv[a] = NULL;
#undef FD_ARG

	{
		struct spawn_fd at[MAX_FDS + 3];
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (devnull < 0)
			return -errno;
		at[0] = (struct spawn_fd){ devnull, 0 };
		at[1] = (struct spawn_fd){ devnull, 1 };
		at[2] = (struct spawn_fd){ errfd, 2 };
		for (int i = 0; i < nfd; i++)
			at[3 + i] = (struct spawn_fd){ fds[i], 3 + i };
		/* Exactly these fds, an empty environment, a process group of
		 * its own (^C is the guest command's); if we die, it goes too. */
		pid = spawn(&(struct spawn_opts){ .path = gateway_path(),
						  .argv = (char *const *)argv,
						  .fds = at, .nfds = 3 + (unsigned int)nfd,
						  .death_sig = SIGKILL, .new_pgrp = true });
		close(devnull);
		if (pid < 0)
			say("cannot run %s: %s", gateway_path(), strerror(-pid));
		return pid;
	}
}

static int open_in(const char *dir, const char *name, int flags)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return open(path, flags | O_CLOEXEC, 0600);
}

int sandbox_net_start(struct sandbox_net *n, const struct sandbox *sb,
		      const struct airlock_paths *p, const struct net_opts *o)
{
	static struct policy pol;
	uint16_t ports[POLICY_MAX_PORTS];
	struct netns_config cfg = { .prefix = NET_PREFIX };
	const char *resolv = getenv("AIRLOCK_RESOLV_CONF");
	const char *map = getenv("AIRLOCK_TEST_NAME_MAP");
	int sp[2] = { -1, -1 }, logfd = -1, errfd = -1, rfd = -1, mfd = -1, r;
	char why[512];
	size_t len, np = 0;

	memset(n, 0, sizeof(*n));
	n->ns.tap = n->ns.dns_udp = n->ns.dns_tcp = n->ns.opener = -1;
	n->ctl = n->errfd = -1;
	r = policy_compose(p->home, sb->name, o, &pol);
	if (r)
		return r;
	/* The ports to listen on, but 53 (DNS's own). */
	{
		uint16_t all[POLICY_MAX_PORTS];
		size_t k = policy_ports(&pol, all, POLICY_MAX_PORTS);

		for (size_t i = 0; i < k; i++)
			if (all[i] != 53)
				ports[np++] = all[i];
	}
	cfg.ports = ports;
	cfg.nports = np;
	inet_pton(AF_INET, NET_LINK_ADDR, &cfg.link);
	inet_pton(AF_INET, NET_GUEST_ADDR, &cfg.guest);
	r = netns_create(&cfg, &n->ns, why, sizeof(why));
	if (r) {
		say("cannot give sandbox '%s' a network: %s", sb->name, why);
		return r;
	}
	/* What the guest may reach, said once at the start to whoever
	 * watches (the gateway's log has every rule). */
	if (isatty(STDERR_FILENO)) {
		size_t deny = 0;

		for (size_t i = 0; i < pol.n; i++)
			deny += pol.rules[i].deny;
		say("network: %zu allow and %zu deny rules in force, everything else "
		    "refused (airlock policy show %s)", pol.n - deny, deny, sb->name);
	}

	logfd = open_in(sb->dir, "network.log", O_RDWR | O_CREAT);
	errfd = open_in(sb->dir, "gateway.log", O_WRONLY | O_CREAT | O_TRUNC);
	rfd = open(resolv && *resolv ? resolv : "/etc/resolv.conf", O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		rfd = open("/dev/null", O_RDONLY | O_CLOEXEC);	/* no nameserver */
	if (map && *map && (mfd = open(map, O_RDONLY | O_CLOEXEC)) < 0) {
		r = -errno;
		say("AIRLOCK_TEST_NAME_MAP %s: %s", map, strerror(errno));
		goto fail;
	}
	if (logfd < 0 || errfd < 0 || rfd < 0) {
		r = -errno;
		say("cannot open the network logs in %s: %s", sb->dir, strerror(errno));
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		r = -errno;
		goto fail;
	}
	n->gateway = spawn_gateway(sb, n, sp[1], logfd, errfd, rfd, mfd);
	if (n->gateway < 0) {
		r = n->gateway;
		n->gateway = 0;
		goto fail;
	}
	close(sp[1]);
	sp[1] = -1;
	r = policy_message(&pol, &len);
	if (r == 0)
		r = send_all(sp[0], policy_msg, len);
	if (r) {
		say("the network gateway of sandbox '%s' did not start (see %s/gateway.log)",
		    sb->name, sb->dir);
		goto fail;
	}
	/* The gateway holds the listeners and the opener now; we keep only
	 * the TAP, for the VMM. Once no copy is left here, a gateway that
	 * dies takes them along, and the guest's connections are refused at
	 * once rather than left waiting. */
	{
		int tap = n->ns.tap;

		n->ns.tap = -1;
		netns_close_fds(&n->ns);
		n->ns.tap = tap;
	}
	n->ctl = sp[0];
	n->errfd = errfd;
	close(logfd);
	close(rfd);
	if (mfd >= 0)
		close(mfd);
	{
		struct netparam npar = { .addr = ntohl(cfg.guest.s_addr),
					 .prefix = NET_PREFIX,
					 .gateway = ntohl(cfg.link.s_addr) };
		size_t k = strlen(GUESTPARAM_NET);

		memcpy(n->param, GUESTPARAM_NET, k);
		netparam_format(&npar, n->param + k, sizeof(n->param) - k);
	}
	return 0;

fail:
	for (int *fd = (int[]){ sp[0], sp[1], logfd, errfd, rfd, mfd }, i = 0; i < 6; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (n->gateway > 0) {
		kill(n->gateway, SIGKILL);
		waitpid(n->gateway, NULL, 0);
		n->gateway = 0;
	}
	netns_close(&n->ns);
	return r;
}

/* The socketpair to the gateway and gateway.log: the feeder's now. */
static void close_ctl(struct sandbox_net *n)
{
	if (n->ctl >= 0)
		close(n->ctl);
	if (n->errfd >= 0)
		close(n->errfd);
	n->ctl = n->errfd = -1;
}

int sandbox_net_ready(struct sandbox_net *n, const struct sandbox *sb,
		      const struct airlock_paths *p, const struct net_opts *o)
{
	char reply_[600];
	int r = read_reply(n->ctl, READY_WAIT_MS, reply_, sizeof(reply_));

	if (r || strncmp(reply_, "ok ", 3) != 0) {
		say("the network gateway of sandbox '%s' did not start%s%s (see %s/"
		    "gateway.log)", sb->name, r ? "" : ": ", r ? "" : reply_, sb->dir);
		r = r ? r : -EINVAL;
		goto fail;
	}
	n->feeder = fork();
	if (n->feeder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		setpgid(0, 0);
		/* Its messages go to gateway.log, not the user's terminal; it
		 * holds nothing else of ours (no listener, no TAP). */
		if (dup2(n->errfd, 2) < 0 || dup2(n->ctl, 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		feeder(3, p->home, sb, o);
	}
	if (n->feeder < 0) {
		r = -errno;
		n->feeder = 0;
		goto fail;
	}
	close_ctl(n);
	return 0;

fail:
	close_ctl(n);
	kill(n->gateway, SIGKILL);
	waitpid(n->gateway, NULL, 0);
	n->gateway = 0;
	netns_close(&n->ns);
	return r;
}

void sandbox_net_tap_handed(struct sandbox_net *n)
{
	if (n->ns.tap >= 0)
		close(n->ns.tap);
	n->ns.tap = -1;
}

bool sandbox_net_alive(struct sandbox_net *n)
{
	pid_t r;

	if (n->gateway <= 0 || n->gateway_reaped)
		return false;
	r = waitpid(n->gateway, &n->gateway_status, WNOHANG);
	if (r == n->gateway || (r < 0 && errno == ECHILD)) {
		n->gateway_reaped = true;
		return false;
	}
	return true;
}

/* SIGTERM to each at once, then a wait for all; SIGKILL for any still
 * there after STOP_WAIT_MS. */
static void end_children(const pid_t *pids, size_t n)
{
	int64_t deadline = clock_ms() + STOP_WAIT_MS;

	for (size_t i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (size_t i = 0; i < n; i++) {
		int64_t left = deadline - clock_ms();

		if (pids[i] <= 0 || spawn_reaped_within(pids[i], left > 0 ? (int)left : 0, NULL))
			continue;
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

int sandbox_net_stop(struct sandbox_net *n, const struct sandbox *sb, bool discard)
{
	int r = 0;

	if (n->gateway > 0 && !sandbox_net_alive(n)) {
		int st = n->gateway_status;

		if (WIFSIGNALED(st))
			say("the network of sandbox '%s' went away during the run: its "
			    "gateway was killed by signal %d (see %s/gateway.log)", sb->name,
			    WTERMSIG(st), sb->dir);
		else
			say("the network of sandbox '%s' went away during the run: its "
			    "gateway ended with status %d (see %s/gateway.log)", sb->name,
			    WEXITSTATUS(st), sb->dir);
		r = -EPIPE;
	}
	if (discard) {
		/* They write only into files already open (no new names in
		 * the folder being removed); our exit hands them to init. */
		if (n->gateway > 0 && !n->gateway_reaped)
			kill(n->gateway, SIGKILL);
		if (n->feeder > 0)
			kill(n->feeder, SIGKILL);
	} else {
		end_children((pid_t[]){ n->gateway_reaped ? 0 : n->gateway, n->feeder }, 2);
	}
	n->gateway = n->feeder = 0;
	close_ctl(n);
	netns_close(&n->ns);	/* and the opener, which the gateway left */
	return r;
}
