/* airlock-gateway: the network of one sandbox (gateway.h). It is started
 * by the supervisor with every descriptor it needs (listening sockets made
 * inside the sandbox's namespace, the log, resolv.conf, the policy
 * channel), reads its first policy, drops what it does not need (root's
 * uid, the right to open, exec or fork) and then serves until the policy
 * channel closes: the supervisor is gone, so is the sandbox. */
#include "tools/gateway/gateway.h"
#include "tools/gateway/resolve.h"
#include "tools/gateway/seccomp.h"
#include "lib/clock.h"
#include "lib/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define TICK_MS 250
#define OWN_REFRESH_MS 30000
#define FIRST_POLICY_MS 10000
#define FILE_MAX (64 << 10)	/* resolv.conf, test map */
#define NOBODY 65534

static const char usage[] =
	"usage: airlock-gateway --sandbox NAME --link ADDR --dns-udp fd:N\n"
	"       --dns-tcp fd:N --tcp fd:N [--tcp fd:N...] --policy fd:N\n"
	"       [--opener fd:N] [--log fd:N] [--log-max BYTES]\n"
	"       [--resolv-conf fd:N|PATH] [--test-map fd:N|PATH] [--copy]\n"
	"\n"
	"The network gateway of one airlock sandbox (docs/network.md). Started\n"
	"by `airlock run` with the sockets it made in the sandbox's network\n"
	"namespace; not meant to be run by hand.\n";

/* --- options ------------------------------------------------------------ */

static int parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	if (strncmp(s, "fd:", 3) != 0)
		return -EINVAL;
	v = strtol(s + 3, &end, 10);
	if (end == s + 3 || *end || v < 3 || v > 65535 || fcntl((int)v, F_GETFD) < 0)
		return -EBADF;
	*fd = (int)v;
	return 0;
}

/* fd:N or a path (opened now, for developers). */
static int open_input(const char *s, int *fd)
{
	if (strncmp(s, "fd:", 3) == 0)
		return parse_fd(s, fd);
	*fd = open(s, O_RDONLY | O_CLOEXEC);
	return *fd < 0 ? -errno : 0;
}

static char *read_all(int fd, size_t max, size_t *len)
{
	char *buf = malloc(max + 1);
	size_t n = 0;

	if (!buf)
		return NULL;
	while (n < max) {
		ssize_t r = read(fd, buf + n, max - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct opts {
	const char *sandbox;
	struct ip link;
	int dns_udp, dns_tcp, policy, opener, log, resolv, map;
	int tcp[POLICY_MAX_PORTS];
	size_t ntcp;
	off_t log_max;
	bool copy;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_SANDBOX = 256, O_LINK, O_DNS_UDP, O_DNS_TCP, O_TCP, O_POLICY,
	       O_OPENER, O_LOG, O_LOG_MAX, O_RESOLV, O_MAP, O_COPY };
	static const struct option lo[] = {
		{ "sandbox", required_argument, NULL, O_SANDBOX },
		{ "link", required_argument, NULL, O_LINK },
		{ "dns-udp", required_argument, NULL, O_DNS_UDP },
		{ "dns-tcp", required_argument, NULL, O_DNS_TCP },
		{ "tcp", required_argument, NULL, O_TCP },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "opener", required_argument, NULL, O_OPENER },
		{ "log", required_argument, NULL, O_LOG },
		{ "log-max", required_argument, NULL, O_LOG_MAX },
		{ "resolv-conf", required_argument, NULL, O_RESOLV },
		{ "test-map", required_argument, NULL, O_MAP },
		{ "copy", no_argument, NULL, O_COPY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, r = 0;

	*o = (struct opts){ .dns_udp = -1, .dns_tcp = -1, .policy = -1,
			    .opener = -1, .log = -1, .resolv = -1, .map = -1,
			    .log_max = NETLOG_DEFAULT_MAX };
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		const char *what = argv[optind - 1];

		switch (opt) {
		case O_SANDBOX: o->sandbox = optarg; break;
		case O_LINK:
			if (addr_parse(optarg, &o->link) || o->link.v6)
				r = -EINVAL;
			break;
		case O_DNS_UDP: r = parse_fd(optarg, &o->dns_udp); break;
		case O_DNS_TCP: r = parse_fd(optarg, &o->dns_tcp); break;
		case O_TCP:
			if (o->ntcp >= POLICY_MAX_PORTS)
				r = -E2BIG;
			else
				r = parse_fd(optarg, &o->tcp[o->ntcp++]);
			break;
		case O_POLICY: r = parse_fd(optarg, &o->policy); break;
		case O_OPENER: r = parse_fd(optarg, &o->opener); break;
		case O_LOG: r = parse_fd(optarg, &o->log); break;
		case O_LOG_MAX: {
			char *end;

			o->log_max = strtoll(optarg, &end, 10);
			if (*end || o->log_max < 4096)
				r = -EINVAL;
			break;
		}
		case O_RESOLV: r = open_input(optarg, &o->resolv); break;
		case O_MAP: r = open_input(optarg, &o->map); break;
		case O_COPY: o->copy = true; break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fprintf(stderr, "airlock-gateway: unknown option '%s'\n%s", what,
				usage);
			return -EINVAL;
		}
		if (r) {
			fprintf(stderr, "airlock-gateway: bad value for %s: '%s' (%s)\n",
				what, optarg, strerror(-r));
			return r;
		}
	}
	if (optind != argc || !o->sandbox || !o->link.b[0] || o->dns_udp < 0 ||
	    o->dns_tcp < 0 || o->policy < 0 || !o->ntcp) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	return 0;
}

/* --- listeners ---------------------------------------------------------- */

static int add_listener(struct gw *g, int fd)
{
	struct sockaddr_in a;
	socklen_t sl = sizeof(a);
	struct listener *l;

	if (g->ntcp >= POLICY_MAX_PORTS)
		return -E2BIG;
	if (getsockname(fd, (struct sockaddr *)&a, &sl) < 0 || a.sin_family != AF_INET)
		return -EINVAL;
	l = &g->tcp[g->ntcp];
	l->fd = fd;
	l->port = ntohs(a.sin_port);
	l->ev.fn = proxy_accept;
	if (gw_watch(g, fd, EPOLLIN, &l->ev) < 0)
		return -errno;
	g->ntcp++;
	return 0;
}

/* Asks the opener (a process left in the sandbox's namespace for this)
 * for a listener on port: a rule added at run time may name a port the
 * namespace did not listen on. */
static int open_port(struct gw *g, uint16_t port)
{
	int fd;

	if (g->opener_fd < 0)
		return -ENOTCONN;
	fd = netns_open_port(g->opener_fd, port);
	if (fd < 0)
		return fd;
	if (add_listener(g, fd) < 0) {
		close(fd);
		return -EIO;
	}
	return 0;
}

static void ensure_ports(struct gw *g)
{
	uint16_t ports[POLICY_MAX_PORTS];
	size_t n = policy_ports(g->policy, ports, POLICY_MAX_PORTS);

	for (size_t i = 0; i < n; i++) {
		bool have = false;
		int r;

		for (size_t j = 0; j < g->ntcp; j++)
			have |= g->tcp[j].port == ports[i];
		if (have)
			continue;
		r = open_port(g, ports[i]);
		if (r)
			gw_say(g, "cannot listen on port %u in the sandbox's namespace "
			       "(%s): rules for it take effect at the next run",
			       ports[i], strerror(-r));
	}
}

/* --- the policy channel --------------------------------------------------- */

static void log_policy(struct gw *g)
{
	static char extra[60000];
	size_t n = 0;
	struct netlog_entry le = { .kind = "policy", .ms = -1, .extra = extra };

	n += (size_t)snprintf(extra, sizeof(extra), "\"rules\":[");
	for (size_t i = 0; i < g->policy->n && n + 700 < sizeof(extra); i++) {
		const struct rule *r = &g->policy->rules[i];

		n += (size_t)snprintf(extra + n, sizeof(extra) - n,
				      "%s{\"action\":\"%s\",\"rule\":", i ? "," : "",
				      r->deny ? "deny" : "allow");
		json_str(extra, sizeof(extra), &n, r->text);
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, ",\"source\":");
		json_str(extra, sizeof(extra), &n, g->policy->sources[r->source]);
		n += (size_t)snprintf(extra + n, sizeof(extra) - n, "}");
	}
	snprintf(extra + n, sizeof(extra) - n, "]");
	netlog_write(&g->log, &le);
	gw_say(g, "policy: %zu rules", g->policy->n);
	for (size_t i = 0; i < g->policy->n; i++) {
		const struct rule *r = &g->policy->rules[i];

		gw_say(g, "  %-5s %-40s %s", r->deny ? "deny" : "allow", r->text,
		       g->policy->sources[r->source]);
	}
}

static void reply(struct gw *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void reply(struct gw *g, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	if (send(g->policy_fd, msg, (size_t)n, MSG_NOSIGNAL) < 0) {
		/* the supervisor is gone: the read side will tell */
	}
}

/* One message: "policy\n", the policy's lines (policy_text_format),
 * "end\n". Answered "ok N\n" or "error WHY\n". */
static void take_policy(struct gw *g, const char *msg, size_t len)
{
	static struct policy spare[2];
	struct policy *p = g->policy == &spare[0] ? &spare[1] : &spare[0];
	char why[400];

	if (policy_text_parse(p, msg, len, why, sizeof(why))) {
		gw_say(g, "refused a new policy: %s", why);
		reply(g, "error %s", why);
		return;
	}
	g->policy = p;
	ensure_ports(g);
	log_policy(g);
	reply(g, "ok %zu", p->n);
}

static void on_policy(struct gw *g, struct ev *e, uint32_t events)
{
	const size_t cap = POLICY_TEXT_MAX + 64;
	ssize_t n;

	(void)e;
	(void)events;
	n = recv(g->policy_fd, g->policy_buf + g->policy_len, cap - g->policy_len,
		 MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		g->stop = true;		/* the supervisor is gone */
		return;
	}
	if (n < 0)
		return;
	g->policy_len += (size_t)n;
	for (;;) {
		char *end;

		g->policy_buf[g->policy_len] = '\0';
		if (g->policy_len < 7 || memcmp(g->policy_buf, "policy\n", 7) != 0) {
			if (g->policy_len >= 7) {
				gw_say(g, "the policy channel said something else than "
				       "a policy; stopping");
				g->stop = true;
			}
			return;
		}
		end = memmem(g->policy_buf, g->policy_len, "\nend\n", 5);
		if (!end) {
			if (g->policy_len >= cap) {
				reply(g, "error the policy is longer than %zu bytes", cap);
				g->stop = true;
			}
			return;
		}
		take_policy(g, g->policy_buf + 7, (size_t)(end + 1 - g->policy_buf) - 7);
		n = end + 5 - g->policy_buf;
		memmove(g->policy_buf, g->policy_buf + n, g->policy_len - (size_t)n);
		g->policy_len -= (size_t)n;
	}
}

/* --- set-up and loop ---------------------------------------------------- */

/* What root does not need: its uid. A gateway that nobody can ptrace or
 * signal but root, holding nothing but its sockets. */
static int drop_root(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0)
		return -errno;
	return 0;
}

static int limits(void)
{
	const struct rlimit core = { 0, 0 };
	/* A connection holds 6 descriptors (two sockets, two pipes). */
	const struct rlimit nofile = { GW_MAX_CONNS * 6 + 256, GW_MAX_CONNS * 6 + 256 };

	if (setrlimit(RLIMIT_CORE, &core) < 0)
		return -errno;
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) {
		struct rlimit cur;

		/* Not root: as high as the hard limit lets us. */
		if (getrlimit(RLIMIT_NOFILE, &cur) == 0) {
			cur.rlim_cur = cur.rlim_max;
			setrlimit(RLIMIT_NOFILE, &cur);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct gw gw;
	struct gw *g = &gw;
	struct opts o;
	char *conf = NULL, *map = NULL, why[300];
	size_t clen = 0, mlen = 0;
	int64_t until, last_tick = 0;
	int r;

	signal(SIGPIPE, SIG_IGN);	/* splice(2) to a closed socket */
	if (parse_opts(argc, argv, &o))
		return 2;
	g->sandbox = o.sandbox;
	g->link = o.link;
	g->diag = (struct ratelog)RATELOG_INIT(32);
	g->policy_fd = o.policy;
	g->opener_fd = o.opener;
	g->copy = o.copy;
	g->now = clock_ms();

	if (o.resolv >= 0) {
		conf = read_all(o.resolv, FILE_MAX, &clen);
		close(o.resolv);
	}
	if (o.map >= 0) {
		map = read_all(o.map, FILE_MAX, &mlen);
		close(o.map);
	}
	r = resolver_new(conf ? conf : "", clen, map, mlen, &g->res, why, sizeof(why));
	free(conf);
	free(map);
	if (r) {
		gw_say(g, "%s", r == -ENOMEM ? "out of memory" : why);
		return 1;
	}
	g->policy_buf = malloc(POLICY_TEXT_MAX + 65);
	if (!g->policy_buf || names_init(&g->names)) {
		gw_say(g, "out of memory");
		return 1;
	}
	netlog_init(&g->log, o.log, o.log_max, g->sandbox);

	g->ep = epoll_create1(EPOLL_CLOEXEC);
	if (g->ep < 0) {
		gw_say(g, "epoll: %s", strerror(errno));
		return 1;
	}
	g->dns_udp = (struct listener){ .ev.fn = dnsd_udp, .fd = o.dns_udp, .port = 53 };
	g->dns_tcp = (struct listener){ .ev.fn = dnsd_accept, .fd = o.dns_tcp, .port = 53 };
	g->policy_ev.fn = on_policy;
	if (gw_watch(g, o.dns_udp, EPOLLIN, &g->dns_udp.ev) ||
	    gw_watch(g, o.dns_tcp, EPOLLIN, &g->dns_tcp.ev) ||
	    gw_watch(g, o.policy, EPOLLIN, &g->policy_ev)) {
		gw_say(g, "cannot watch the descriptors handed in: %s", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < o.ntcp; i++)
		if (add_listener(g, o.tcp[i])) {
			gw_say(g, "fd %d is not a TCP listener", o.tcp[i]);
			return 1;
		}
	gw_refresh_own(g);

	/* Confined before the first byte from the guest is read. */
	r = drop_root();
	if (r == 0)
		r = limits();
	if (r == 0)
		r = gw_seccomp_install();
	if (r) {
		gw_say(g, "cannot confine the gateway: %s", strerror(-r));
		return 1;
	}

	/* Nothing is served before the first policy. */
	until = clock_ms() + FIRST_POLICY_MS;
	while (!g->policy && !g->stop) {
		struct pollfd pfd = { .fd = g->policy_fd, .events = POLLIN };
		int64_t left = until - clock_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			gw_say(g, "no policy came from the supervisor in %d s",
			       FIRST_POLICY_MS / 1000);
			return 1;
		}
		on_policy(g, &g->policy_ev, POLLIN);
	}
	if (g->stop)
		return 1;
	{
		struct netlog_entry le = { .kind = "gateway", .action = "start",
					   .reason = resolver_describe(g->res),
					   .ms = -1 };

		netlog_write(&g->log, &le);
		gw_say(g, "serving; outgoing names resolved with %s",
		       resolver_describe(g->res));
	}

	while (!g->stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(g->ep, evs, 64, TICK_MS);

		g->now = clock_ms();
		for (int i = 0; i < n; i++) {
			struct ev *e = evs[i].data.ptr;

			e->fn(g, e, evs[i].events);
		}
		proxy_reap(g);
		if (g->now - last_tick >= TICK_MS) {
			last_tick = g->now;
			proxy_tick(g);
			dnsd_tick(g);
			resolver_tick(g);
			proxy_reap(g);
		}
		if (g->now - g->own_at >= OWN_REFRESH_MS)
			gw_refresh_own(g);
	}
	proxy_close_all(g);
	proxy_reap(g);
	return 0;
}
