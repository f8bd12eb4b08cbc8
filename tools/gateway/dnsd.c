/* The guest's DNS server, on port 53 (UDP and TCP) of the namespace's own
 * address. A name the policy allows is answered with its synthetic
 * address (names.h); every other name with NXDOMAIN, and nothing is ever
 * sent upstream for a query: DNS cannot carry data out. A only: AAAA and
 * other types of an allowed name get an empty answer. Malformed queries
 * are dropped. Queries to any other address (the guest asking a resolver
 * of its own choosing) arrive here too, through the namespace's AnyIP
 * route, and are logged and dropped. */
#include "tools/gateway/gateway.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TTL_S 60		/* the address is the name's for good; the
				 * policy may change, and is checked anyway */
#define TCP_IDLE_MS 10000
#define TCP_QUERY_MAX 1024	/* a query is a name and a few bytes */

struct dns_tcp {
	struct dns_tcp *prev, *next;
	struct ev ev;
	int fd;
	int64_t deadline;
	size_t len;
	uint8_t buf[2 + TCP_QUERY_MAX];
};

static const char *qtype_name(uint16_t t, char *buf, size_t size)
{
	switch (t) {
	case DNS_TYPE_A: return "A";
	case DNS_TYPE_AAAA: return "AAAA";
	case DNS_TYPE_CNAME: return "CNAME";
	case 2: return "NS";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 33: return "SRV";
	case 65: return "HTTPS";
	case 255: return "ANY";
	}
	snprintf(buf, size, "TYPE%u", t);
	return buf;
}

/* Decides and writes the answer to one query; returns its length, or -1
 * to send nothing. */
static int answer(struct gw *g, const uint8_t *msg, size_t len, uint8_t *out,
		  size_t size, bool tcp)
{
	struct netlog_entry le = { .kind = "dns", .ms = -1 };
	char tbuf[16], rule[POLICY_RULE_TEXT_MAX + POLICY_SOURCE_MAX + 8];
	char ans[20];
	struct dns_query q;
	uint8_t a4[4];
	size_t max;
	int rcode = DNS_RCODE_NOERROR, ri = -1, n;
	bool give_a = false;

	if (dns_parse_query(msg, len, &q)) {
		gw_say_guest(g, "dropped a malformed DNS query (%zu bytes)", len);
		return -1;
	}
	max = tcp ? DNS_MSG_MAX : q.edns ? q.edns_size : DNS_UDP_MAX;
	le.name = q.name;
	le.qtype = qtype_name(q.qtype, tbuf, sizeof(tbuf));
	if (q.opcode != 0) {
		rcode = DNS_RCODE_NOTIMP;
		le.action = "deny";
		le.reason = "not a standard query";
	} else if (q.qclass != DNS_CLASS_IN) {
		rcode = DNS_RCODE_REFUSED;
		le.action = "deny";
		le.reason = "not class IN";
	} else if (!q.host || !policy_dns(g->policy, q.name, &ri)) {
		rcode = DNS_RCODE_NXDOMAIN;
		le.action = "deny";
		le.reason = !q.host ? "not a host name" : ri >= 0 ?
			    "denied by a rule" : "no rule allows this name";
	} else if (q.qtype == DNS_TYPE_A) {
		uint32_t addr;
		int fresh;
		int r = names_get(&g->names, q.name, &addr, &fresh);

		le.action = "allow";
		if (r) {
			rcode = DNS_RCODE_SERVFAIL;
			le.action = "error";
			le.reason = "the sandbox has used up its synthetic addresses";
		} else {
			struct ip ip = addr_v4(addr);

			memcpy(a4, ip.b, 4);
			give_a = true;
			addr_format(&ip, ans, sizeof(ans));
			le.answer = ans;
		}
	} else {
		/* IPv4 only: an allowed name has no other records. */
		le.action = "allow";
		le.reason = q.qtype == DNS_TYPE_AAAA ? "IPv4 only: no AAAA answer" :
			    "only A records are answered";
		le.answer = "";
	}
	if (ri >= 0) {
		gw_rule(g, ri, rule, sizeof(rule));
		le.rule = rule;
	}
	netlog_write(&g->log, &le);
	n = dns_build_answer(&q, msg, out, size, max, rcode, give_a ? a4 : NULL,
			     TTL_S);
	return n < 0 ? -1 : n;
}

static bool is_link(struct gw *g, const struct in_addr *a)
{
	return !g->link.v6 && memcmp(&a->s_addr, g->link.b, 4) == 0;
}

static void refused_elsewhere(struct gw *g, const char *kind, const struct ip *dst,
			      uint16_t port)
{
	struct netlog_entry le = { .kind = kind, .ms = -1, .action = "deny",
		.port = port,
		.reason = "DNS goes to the sandbox's resolver only" };
	char a[64];

	addr_format(dst, a, sizeof(a));
	le.addr = a;
	netlog_write(&g->log, &le);
}

void dnsd_udp(struct gw *g, struct ev *e, uint32_t events)
{
	uint8_t msg[DNS_MSG_MAX], out[DNS_MSG_MAX];
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];

	(void)e;
	(void)events;
	/* A bounded number per turn, so TCP gets its share. */
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in from;
		struct iovec iov = { msg, sizeof(msg) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			.msg_controllen = sizeof(cbuf) };
		struct in_pktinfo *pi = NULL;
		ssize_t n = recvmsg(g->dns_udp.fd, &mh, MSG_DONTWAIT);
		int len;

		if (n < 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
				pi = (struct in_pktinfo *)CMSG_DATA(c);
		if (!pi || !is_link(g, &pi->ipi_addr)) {
			struct ip dst = { 0 };

			if (pi)
				memcpy(dst.b, &pi->ipi_addr, 4);
			refused_elsewhere(g, "udp", &dst, 53);
			continue;
		}
		len = answer(g, msg, (size_t)n, out, sizeof(out), false);
		if (len < 0)
			continue;
		/* Answer from the address asked. */
		iov.iov_base = out;
		iov.iov_len = (size_t)len;
		pi->ipi_ifindex = 0;
		pi->ipi_spec_dst = pi->ipi_addr;
		mh.msg_flags = 0;
		sendmsg(g->dns_udp.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
}

static void tcp_close(struct gw *g, struct dns_tcp *c)
{
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->dconns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	g->ndconns--;
	free(c);
}

static void tcp_read(struct gw *g, struct ev *e, uint32_t events)
{
	struct dns_tcp *c = container_of(e, struct dns_tcp, ev);
	uint8_t out[2 + DNS_MSG_MAX];

	(void)events;
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		size_t need;

		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			tcp_close(g, c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		c->deadline = g->now + TCP_IDLE_MS;
		while (c->len >= 2) {
			int len;

			need = (size_t)(c->buf[0] << 8 | c->buf[1]);
			if (need > TCP_QUERY_MAX) {
				gw_say_guest(g, "dropped a DNS-over-TCP connection "
					     "sending a %zu-byte query", need);
				tcp_close(g, c);
				return;
			}
			if (c->len < 2 + need)
				break;
			len = answer(g, c->buf + 2, need, out + 2, sizeof(out) - 2, true);
			if (len >= 0) {
				out[0] = (uint8_t)(len >> 8);
				out[1] = (uint8_t)len;
				/* An answer is small; a guest that does not read
				 * them loses the connection. */
				if (send(c->fd, out, (size_t)len + 2,
					 MSG_DONTWAIT | MSG_NOSIGNAL) != len + 2) {
					tcp_close(g, c);
					return;
				}
			}
			memmove(c->buf, c->buf + 2 + need, c->len - 2 - need);
			c->len -= 2 + need;
		}
	}
}

void dnsd_accept(struct gw *g, struct ev *e, uint32_t events)
{
	(void)e;
	(void)events;
	for (int i = 0; i < 16; i++) {
		struct sockaddr_in local;
		socklen_t sl = sizeof(local);
		struct dns_tcp *c;
		int fd = accept4(g->dns_tcp.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (getsockname(fd, (struct sockaddr *)&local, &sl) < 0 ||
		    !is_link(g, &local.sin_addr) || g->ndconns >= GW_MAX_DNS_TCP ||
		    !(c = calloc(1, sizeof(*c)))) {
			struct ip dst = { 0 };

			memcpy(dst.b, &local.sin_addr, 4);
			if (!is_link(g, &local.sin_addr))
				refused_elsewhere(g, "tcp", &dst, 53);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ev.fn = tcp_read;
		c->deadline = g->now + TCP_IDLE_MS;
		if (gw_watch(g, fd, EPOLLIN, &c->ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = g->dconns;
		if (g->dconns)
			g->dconns->prev = c;
		g->dconns = c;
		g->ndconns++;
	}
}

void dnsd_tick(struct gw *g)
{
	struct dns_tcp *c, *next;

	for (c = g->dconns; c; c = next) {
		next = c->next;
		if (c->deadline <= g->now)
			tcp_close(g, c);
	}
}
