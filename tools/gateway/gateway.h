/* airlock-gateway: what its parts share. One process per sandbox, one
 * thread, one epoll loop: DNS (dnsd.c) and TCP (proxy.c) from the guest
 * arrive on sockets made inside the sandbox's network namespace; the
 * gateway resolves allowed names itself (resolve.c) and connects out from
 * the host's namespace, where it runs. main.c sets up and then confines it
 * (seccomp.c): it never opens a path. gw.c has what they all use. */
#ifndef AIRLOCK_GATEWAY_GATEWAY_H
#define AIRLOCK_GATEWAY_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/ratelog.h"
#include "tools/gateway/addr.h"
#include "tools/gateway/names.h"
#include "tools/gateway/netlog.h"
#include "tools/gateway/policy.h"

#define GW_MAX_CONNS 1024	/* TCP connections through the gateway */
#define GW_MAX_DNS_TCP 32	/* DNS-over-TCP connections */
#define GW_MAX_OWN 64		/* this host's addresses kept */

#define container_of(p, type, member) \
	((type *)((char *)(p) - offsetof(type, member)))

struct gw;

/* Something in the epoll set: the loop calls fn with the events. */
struct ev {
	void (*fn)(struct gw *g, struct ev *e, uint32_t events);
};

struct listener {
	struct ev ev;
	int fd;
	uint16_t port;
};

struct resolver;
struct conn;
struct dns_tcp;

struct gw {
	int ep;
	const char *sandbox;
	int64_t now;			/* ms, monotonic, once per loop turn */
	struct policy *policy;		/* in force */
	struct names names;
	struct resolver *res;
	struct netlog log;
	struct ip link;			/* the namespace's side: gateway, resolver */
	struct ip own[GW_MAX_OWN];	/* this host's addresses */
	size_t nown;
	int64_t own_at;

	int policy_fd;			/* from the supervisor */
	struct ev policy_ev;
	char *policy_buf;
	size_t policy_len;
	int opener_fd;			/* makes listeners in the namespace; -1 */

	struct listener tcp[POLICY_MAX_PORTS];
	size_t ntcp;
	struct listener dns_udp, dns_tcp;

	struct conn *conns;		/* doubly linked */
	size_t nconns;
	struct conn *dead;		/* ended this turn */
	struct dns_tcp *dconns;
	size_t ndconns;

	struct ratelog diag;		/* gateway.log lines a guest can cause */
	bool copy;			/* --copy: a buffer loop, not splice(2) */
	bool stop;
};

/* Diagnostics on stderr (gateway.log): bounded where a guest can cause them. */
void gw_say(struct gw *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void gw_say_guest(struct gw *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int gw_watch(struct gw *g, int fd, uint32_t events, struct ev *e);
bool gw_is_own(struct gw *g, const struct ip *a);
/* This host's addresses (g->own), so that no name can lead back to the
 * host: read again every so often. */
void gw_refresh_own(struct gw *g);
/* Policy rule index -> "rule (source)". */
void gw_rule(struct gw *g, int rule, char *out, size_t size);

/* dnsd.c */
void dnsd_udp(struct gw *g, struct ev *e, uint32_t events);
void dnsd_accept(struct gw *g, struct ev *e, uint32_t events);
void dnsd_tick(struct gw *g);

/* proxy.c */
void proxy_accept(struct gw *g, struct ev *e, uint32_t events);
void proxy_tick(struct gw *g);
void proxy_close_all(struct gw *g);
/* Frees the connections that ended during this turn's events. */
void proxy_reap(struct gw *g);

#endif
