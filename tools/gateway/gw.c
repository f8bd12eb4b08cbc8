/* What the gateway's parts share (gateway.h): its diagnostics, the epoll
 * set, policy rule labels, and this host's own addresses. */
#include "tools/gateway/gateway.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

void gw_say(struct gw *g, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "airlock-gateway[%s]: ",
			 g->sandbox ? g->sandbox : "?");

	va_start(ap, fmt);
	n += vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	/* stdio is not used: it may stat or allocate behind our back. */
	if (write(2, msg, (size_t)n) < 0) {
		/* nowhere to say it */
	}
}

void gw_say_guest(struct gw *g, const char *fmt, ...)
{
	char msg[900];
	va_list ap;
	bool last;

	if (!ratelog_take(&g->diag, &last))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	gw_say(g, "%s%s", msg, last ? " (further such lines are not written; "
	       "network.log has every decision)" : "");
}

int gw_watch(struct gw *g, int fd, uint32_t events, struct ev *e)
{
	struct epoll_event ee = { .events = events, .data.ptr = e };

	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ee) < 0)
		return -errno;
	return 0;
}

void gw_rule(struct gw *g, int rule, char *out, size_t size)
{
	policy_rule_label(g->policy, rule, out, size);
}

bool gw_is_own(struct gw *g, const struct ip *a)
{
	for (size_t i = 0; i < g->nown; i++)
		if (g->own[i].v6 == a->v6 &&
		    memcmp(g->own[i].b, a->b, a->v6 ? 16 : 4) == 0)
			return true;
	return false;
}

void gw_refresh_own(struct gw *g)
{
	struct ifaddrs *ifa, *i;

	g->own_at = g->now;
	if (getifaddrs(&ifa) < 0)
		return;		/* keep what we had */
	g->nown = 0;
	for (i = ifa; i && g->nown < GW_MAX_OWN; i = i->ifa_next) {
		struct ip *a = &g->own[g->nown];

		if (!i->ifa_addr)
			continue;
		memset(a, 0, sizeof(*a));
		if (i->ifa_addr->sa_family == AF_INET) {
			memcpy(a->b, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			g->nown++;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			a->v6 = 1;
			memcpy(a->b, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
			g->nown++;
		}
	}
	freeifaddrs(ifa);
}
