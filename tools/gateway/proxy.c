/* TCP through the gateway. The guest's connection is accepted inside the
 * sandbox's namespace (AnyIP: any destination address, on the ports the
 * namespace listens on); getsockname() tells where the guest meant to
 * go. A synthetic address stands for one name: if the policy allows that
 * name and port, the gateway resolves the name on the host, drops
 * addresses the policy refuses (this host, the LAN, metadata...), connects
 * from the host's namespace and splices the two sockets together. Anything
 * else is refused: a plain-HTTP request gets a 403 naming the rule, any
 * other protocol a reset. Guest sockets carry SO_LINGER 0 from the start,
 * so if the gateway dies the guest sees a reset, not a clean end. */
#include "tools/gateway/gateway.h"
#include "tools/gateway/resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECT_MS 10000	/* per address tried */
#define REFUSE_WAIT_MS 5000	/* for the guest's first bytes */
#define DRAIN_MS 2000		/* after the 403, for the guest to close */
#define PIPE_SIZE (256 << 10)	/* splice pipe: fewer wake-ups per MiB */
#define COPY_BUF (64 << 10)	/* --copy: per direction */
#define PEEK 16

enum state { RESOLVING, CONNECTING, SPLICING, REFUSING, DRAINING };

struct dir {
	int rd, wr;		/* the pipe (splice) */
	uint8_t *buf;		/* or a buffer (--copy): COPY_BUF bytes */
	size_t off;		/* where the bytes still to write start */
	size_t inpipe;		/* bytes in the pipe or buffer */
	bool eof;		/* the source has ended */
	bool shut;		/* shutdown(SHUT_WR) sent to the destination */
	uint64_t bytes;
};

struct conn {
	struct conn *prev, *next;
	bool dead;		/* freed after this turn's events */
	struct ev gev, uev;
	int g, u;		/* guest socket, upstream socket */
	enum state st;
	char name[DNS_NAME_MAX + 1];	/* "" when the guest dialled an address */
	struct ip dst;		/* where the guest dialled */
	uint16_t port;
	struct ip addrs[RESOLVE_MAX_ADDRS];
	size_t naddrs, ai;
	struct resolve_wait rw;
	char rule[POLICY_RULE_TEXT_MAX + POLICY_SOURCE_MAX + 8];
	char why[640];
	char hint[400];		/* what would allow it, for the 403 */
	struct dir d[2];	/* 0: guest to upstream, 1: back */
	int64_t start, deadline;
	uint8_t peek[PEEK];
	size_t npeek;
};

static void unlink_conn(struct gw *g, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	g->nconns--;
}

static void set_linger(int fd, bool reset)
{
	struct linger l = { .l_onoff = reset, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void log_conn(struct gw *g, struct conn *c, const char *action,
		     const char *reason)
{
	char addr[64] = "";
	struct netlog_entry le = {
		.kind = "tcp", .port = c->port, .action = action,
		.rule = c->rule[0] ? c->rule : NULL, .reason = reason,
		.sent = c->d[0].bytes, .received = c->d[1].bytes,
		.ms = g->now - c->start,
	};
	const struct ip *a = c->st == SPLICING || c->st == CONNECTING ?
			     &c->addrs[c->ai] : &c->dst;

	addr_format(a, addr, sizeof(addr));
	le.name = c->name[0] ? c->name : NULL;
	le.addr = addr;
	netlog_write(&g->log, &le);
}

/* Ends a connection: graceful (both sides said all) or with resets. */
static void conn_free(struct gw *g, struct conn *c, bool reset)
{
	resolver_cancel(g, &c->rw);
	if (c->g >= 0) {
		set_linger(c->g, reset);
		close(c->g);
	}
	if (c->u >= 0) {
		set_linger(c->u, reset);
		close(c->u);
	}
	for (int i = 0; i < 2; i++) {
		if (c->d[i].rd >= 0)
			close(c->d[i].rd);
		if (c->d[i].wr >= 0)
			close(c->d[i].wr);
		free(c->d[i].buf);
		c->d[i].buf = NULL;
	}
	unlink_conn(g, c);
	/* Another event of this turn may still name it: freed after them. */
	c->dead = true;
	c->g = c->u = -1;
	c->next = g->dead;
	g->dead = c;
}

void proxy_reap(struct gw *g)
{
	while (g->dead) {
		struct conn *c = g->dead;

		g->dead = c->next;
		free(c);
	}
}

static void conn_fail(struct gw *g, struct conn *c, const char *reason)
{
	log_conn(g, c, "error", reason);
	conn_free(g, c, true);
}

/* --- refusing ----------------------------------------------------------- */

static bool looks_like_http(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	return i >= 3 && i <= 10 && i < n && p[i] == ' ';
}

static void on_refusing(struct gw *g, struct ev *e, uint32_t events)
{
	struct conn *c = container_of(e, struct conn, gev);
	char resp[1400], body[1200];
	ssize_t n;
	int len;

	(void)events;
	if (c->dead)
		return;
	if (c->st == DRAINING) {
		char sink[4096];

		while ((n = recv(c->g, sink, sizeof(sink), 0)) > 0)
			;
		if (n == 0 || errno != EAGAIN)
			conn_free(g, c, false);
		return;
	}
	n = recv(c->g, c->peek + c->npeek, sizeof(c->peek) - c->npeek, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n > 0)
		c->npeek += (size_t)n;
	/* Wait for enough to tell a request line from anything else. */
	if (n > 0 && c->npeek < sizeof(c->peek) &&
	    !memchr(c->peek, ' ', c->npeek) && c->npeek < 11)
		return;
	if (n <= 0 || !looks_like_http(c->peek, c->npeek)) {
		conn_free(g, c, true);
		return;
	}
	if (c->hint[0])
		snprintf(body, sizeof(body), "airlock: %s for sandbox %s (%s)\n",
			 c->why, g->sandbox, c->hint);
	else
		snprintf(body, sizeof(body), "airlock: %s for sandbox %s\n", c->why,
			 g->sandbox);
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		       strlen(body), body);
	if (len > 0 && (size_t)len < sizeof(resp) &&
	    send(c->g, resp, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) == len) {
		/* Read what the guest still sends, so that closing does not
		 * reset the connection before it reads the answer. */
		shutdown(c->g, SHUT_WR);
		c->st = DRAINING;
		c->deadline = g->now + DRAIN_MS;
		on_refusing(g, e, 0);
		return;
	}
	conn_free(g, c, true);
}

/* Refuses c for why (logged now): 403 to plain HTTP, reset to the rest.
 * hint (may be "") says what would allow it. */
static void refuse(struct gw *g, struct conn *c, const char *why,
		   const char *hint)
{
	if (why != c->why)
		snprintf(c->why, sizeof(c->why), "%s", why);
	snprintf(c->hint, sizeof(c->hint), "%s", hint);
	log_conn(g, c, "deny", c->why);
	if (c->u >= 0) {
		close(c->u);
		c->u = -1;
	}
	c->st = REFUSING;
	c->deadline = g->now + REFUSE_WAIT_MS;
	c->gev.fn = on_refusing;
	if (gw_watch(g, c->g, EPOLLIN, &c->gev) < 0) {
		conn_free(g, c, true);
		return;
	}
	on_refusing(g, &c->gev, 0);
}

/* "airlock policy allow SANDBOX RULE", the command that would allow it. */
static void hint_allow(struct gw *g, char *out, size_t size, const char *rule,
		       uint16_t port)
{
	if (port == 80 || port == 443)
		snprintf(out, size, "airlock policy allow %s %s", g->sandbox, rule);
	else
		snprintf(out, size, "airlock policy allow %s %s:%u", g->sandbox, rule,
			 port);
}

/* --- splicing ----------------------------------------------------------- */

/* Moves what it can from src through the pipe (or the buffer) to dst.
 * 0: wait for an event; -1: the connection failed. */
static int pump(struct dir *d, int src, int dst)
{
	for (;;) {
		ssize_t n;

		if (d->inpipe > 0) {
			n = d->buf ? send(dst, d->buf + d->off, d->inpipe,
					  MSG_DONTWAIT | MSG_NOSIGNAL) :
				     splice(d->rd, NULL, dst, NULL, d->inpipe,
					    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0)
				return errno == EAGAIN ? 0 : -1;
			d->inpipe -= (size_t)n;
			d->off += (size_t)n;
			d->bytes += (uint64_t)n;
			continue;
		}
		if (d->eof) {
			if (!d->shut) {
				shutdown(dst, SHUT_WR);
				d->shut = true;
			}
			return 0;
		}
		d->off = 0;
		n = d->buf ? recv(src, d->buf, COPY_BUF, MSG_DONTWAIT) :
			     splice(src, NULL, d->wr, NULL, PIPE_SIZE,
				    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == 0)
			d->eof = true;
		else if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		else
			d->inpipe += (size_t)n;
	}
}

static void splice_both(struct gw *g, struct conn *c)
{
	if (pump(&c->d[0], c->g, c->u) < 0 || pump(&c->d[1], c->u, c->g) < 0) {
		log_conn(g, c, "allow", "reset");
		conn_free(g, c, true);
		return;
	}
	if (c->d[0].shut && c->d[1].shut) {
		log_conn(g, c, "allow", NULL);
		conn_free(g, c, false);
	}
}

static void on_guest(struct gw *g, struct ev *e, uint32_t events)
{
	struct conn *c = container_of(e, struct conn, gev);

	(void)events;
	if (!c->dead)
		splice_both(g, c);
}

static void on_upstream(struct gw *g, struct ev *e, uint32_t events)
{
	struct conn *c = container_of(e, struct conn, uev);

	(void)events;
	if (!c->dead)
		splice_both(g, c);
}

static int start_splice(struct gw *g, struct conn *c)
{
	const int one = 1;

	for (int i = 0; i < 2; i++) {
		int p[2];

		if (g->copy) {
			c->d[i].buf = malloc(COPY_BUF);
			if (!c->d[i].buf)
				return -ENOMEM;
			continue;
		}
		if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
			return -errno;
		c->d[i].rd = p[0];
		c->d[i].wr = p[1];
		fcntl(p[1], F_SETPIPE_SZ, PIPE_SIZE);	/* a hint: smaller is fine */
	}
	setsockopt(c->u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->st = SPLICING;
	c->gev.fn = on_guest;
	c->uev.fn = on_upstream;
	/* Edge-triggered: each side is pumped until it would block. */
	if (gw_watch(g, c->g, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->gev) < 0 ||
	    gw_watch(g, c->u, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, &c->uev) < 0)
		return -errno;
	splice_both(g, c);
	return 0;
}

/* --- connecting --------------------------------------------------------- */

static void try_connect(struct gw *g, struct conn *c);

static void on_connected(struct gw *g, struct ev *e, uint32_t events)
{
	struct conn *c = container_of(e, struct conn, uev);
	int err = 0;
	socklen_t sl = sizeof(err);

	(void)events;
	if (c->dead)
		return;
	if (getsockopt(c->u, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err == EINPROGRESS)
		return;
	if (err) {
		char a[64];

		addr_format(&c->addrs[c->ai], a, sizeof(a));
		snprintf(c->why, sizeof(c->why), "connecting to %s:%u: %s", a,
			 c->port, strerror(err));
		close(c->u);
		c->u = -1;
		c->ai++;
		try_connect(g, c);
		return;
	}
	/* The upstream socket leaves the set and comes back edge-triggered. */
	epoll_ctl(g->ep, EPOLL_CTL_DEL, c->u, NULL);
	if (start_splice(g, c) < 0)
		conn_fail(g, c, "out of descriptors for the splice pipes");
}

/* Connects to the next address left; fails the connection when none is. */
static void try_connect(struct gw *g, struct conn *c)
{
	struct sockaddr_storage ss = { 0 };
	const struct ip *a;
	socklen_t sl;

	for (; c->ai < c->naddrs; c->ai++) {
		a = &c->addrs[c->ai];
		if (a->v6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(c->port);
			memcpy(&s6->sin6_addr, a->b, 16);
			sl = sizeof(*s6);
		} else {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			s4->sin_family = AF_INET;
			s4->sin_port = htons(c->port);
			memcpy(&s4->sin_addr, a->b, 4);
			sl = sizeof(*s4);
		}
		c->u = socket(a->v6 ? AF_INET6 : AF_INET,
			      SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->u < 0)
			break;
		if (connect(c->u, (struct sockaddr *)&ss, sl) == 0 || errno == EINPROGRESS) {
			c->st = CONNECTING;
			c->deadline = g->now + CONNECT_MS;
			c->uev.fn = on_connected;
			if (gw_watch(g, c->u, EPOLLOUT, &c->uev) == 0)
				return;
		} else {
			snprintf(c->why, sizeof(c->why), "connecting: %s", strerror(errno));
		}
		close(c->u);
		c->u = -1;
	}
	conn_fail(g, c, c->why[0] ? c->why : "no address to connect to");
}

/* --- deciding ----------------------------------------------------------- */

static void on_resolved(struct gw *g, struct resolve_wait *w, int err,
			const struct ip *addrs, size_t n)
{
	struct conn *c = container_of(w, struct conn, rw);
	struct verdict v = { 0 };
	char why[640] = "";

	if (err) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", c->name,
			 err == -ENOENT ? "no such name" : err == -ENODATA ?
			 "it has no address" : err == -ETIMEDOUT ?
			 "the nameservers did not answer" : err == -EAGAIN ?
			 "too many lookups at once" : err == -ENXIO ?
			 "this host has no nameserver" : strerror(-err));
		conn_fail(g, c, why);
		return;
	}
	/* Keep only addresses the policy lets this name reach. */
	c->naddrs = 0;
	for (size_t i = 0; i < n; i++) {
		policy_addr(g->policy, &addrs[i], c->port, gw_is_own(g, &addrs[i]),
			    false, &v);
		if (v.allow)
			c->addrs[c->naddrs++] = addrs[i];
		else if (!why[0])
			snprintf(why, sizeof(why), "%s: %s", c->name, v.why);
	}
	if (!c->naddrs) {
		char hint[200], a[64];

		addr_format(&addrs[0], a, sizeof(a));
		snprintf(hint, sizeof(hint), "only a CIDR rule naming the address "
			 "would allow it: airlock policy allow %s %s", g->sandbox, a);
		refuse(g, c, why, hint);
		return;
	}
	c->ai = 0;
	try_connect(g, c);
}

static void decide(struct gw *g, struct conn *c)
{
	struct verdict v;
	char a[64];

	if (c->dst.v6 == 0 && addr_in(&c->dst, &(struct ip){ .b = { 198, 18 } },
				      NAMES_PLEN)) {
		const char *name = names_lookup(&g->names, addr_v4_u32(&c->dst));

		if (!name) {
			addr_format(&c->dst, a, sizeof(a));
			snprintf(c->why, sizeof(c->why), "%s stands for no name", a);
			refuse(g, c, c->why, "ask the sandbox's DNS for a name first");
			return;
		}
		snprintf(c->name, sizeof(c->name), "%s", name);
		policy_name(g->policy, c->name, c->port, &v);
		if (v.rule >= 0)
			gw_rule(g, v.rule, c->rule, sizeof(c->rule));
		if (!v.allow) {
			char hint[400];

			if (v.rule >= 0)
				snprintf(hint, sizeof(hint), "the rule is in %s",
					 g->policy->sources[g->policy->rules[v.rule].source]);
			else
				hint_allow(g, hint, sizeof(hint), c->name, c->port);
			refuse(g, c, v.why, hint);
			return;
		}
		c->st = RESOLVING;
		c->rw.done = on_resolved;
		resolver_lookup(g, c->name, &c->rw);	/* may finish c now */
		return;
	}
	if (!c->dst.v6 && memcmp(c->dst.b, g->link.b, 4) == 0) {
		addr_format(&c->dst, a, sizeof(a));
		snprintf(c->why, sizeof(c->why), "%s is the sandbox's gateway; it "
			 "answers DNS only", a);
		refuse(g, c, c->why, "");
		return;
	}
	/* An address the guest dialled: only a CIDR allow rule lets it out. */
	policy_addr(g->policy, &c->dst, c->port, gw_is_own(g, &c->dst), true, &v);
	if (v.rule >= 0)
		gw_rule(g, v.rule, c->rule, sizeof(c->rule));
	if (!v.allow) {
		char hint[400];

		snprintf(hint, sizeof(hint), "only names the policy allows are "
			 "reached: airlock policy allow %s HOST", g->sandbox);
		refuse(g, c, v.why, v.rule >= 0 ? "" : hint);
		return;
	}
	c->addrs[0] = c->dst;
	c->naddrs = 1;
	c->ai = 0;
	try_connect(g, c);
}

void proxy_accept(struct gw *g, struct ev *e, uint32_t events)
{
	struct listener *l = container_of(e, struct listener, ev);

	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage local;
		socklen_t sl = sizeof(local);
		const int one = 1;
		struct conn *c;
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		set_linger(fd, true);
		if (g->nconns >= GW_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			gw_say_guest(g, "refused a connection: %d at once is the most",
				     GW_MAX_CONNS);
			close(fd);
			continue;
		}
		c->g = fd;
		c->u = -1;
		for (int k = 0; k < 2; k++)
			c->d[k].rd = c->d[k].wr = -1;
		c->start = g->now;
		c->next = g->conns;
		if (g->conns)
			g->conns->prev = c;
		g->conns = c;
		g->nconns++;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (getsockname(fd, (struct sockaddr *)&local, &sl) < 0 ||
		    local.ss_family != AF_INET) {
			conn_free(g, c, true);
			continue;
		}
		memcpy(c->dst.b, &((struct sockaddr_in *)&local)->sin_addr, 4);
		c->port = ntohs(((struct sockaddr_in *)&local)->sin_port);
		/* Not watched until refused or spliced: what the guest sends
		 * meanwhile waits in the socket. */
		c->st = RESOLVING;
		decide(g, c);
	}
}

void proxy_tick(struct gw *g)
{
	struct conn *c, *next;

	for (c = g->conns; c; c = next) {
		next = c->next;
		if (c->st == SPLICING || c->st == RESOLVING || c->deadline > g->now)
			continue;
		if (c->st == CONNECTING) {
			char a[64];

			addr_format(&c->addrs[c->ai], a, sizeof(a));
			snprintf(c->why, sizeof(c->why), "connecting to %s:%u timed out",
				 a, c->port);
			epoll_ctl(g->ep, EPOLL_CTL_DEL, c->u, NULL);
			close(c->u);
			c->u = -1;
			c->ai++;
			try_connect(g, c);
		} else {
			conn_free(g, c, c->st != DRAINING);
		}
	}
}

void proxy_close_all(struct gw *g)
{
	while (g->conns)
		conn_free(g, g->conns, true);
}
