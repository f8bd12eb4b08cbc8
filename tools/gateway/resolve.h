/* The gateway's own resolver, used only when it connects out for an
 * allowed name: A (then AAAA) queries over UDP to the host's nameservers,
 * read once at start from a resolv.conf handed in as a descriptor; answers
 * cached by TTL. It never resolves a name a guest asked for in DNS alone,
 * so denied names never leave the host. With a test name map, the map is
 * the only source of addresses and nothing is sent anywhere. */
#ifndef AIRLOCK_GATEWAY_RESOLVE_H
#define AIRLOCK_GATEWAY_RESOLVE_H

#include <stddef.h>

#include "tools/gateway/addr.h"
#include "tools/gateway/dns.h"

struct gw;
struct query;
struct resolver;

#define RESOLVE_MAX_ADDRS DNS_ANSWER_MAX

struct resolve_wait {
	struct resolve_wait *prev, *next;
	struct query *q;
	/* err: 0, -ENOENT (no such name), -ENODATA (no address),
	 * -ETIMEDOUT, -EAGAIN (too many lookups at once), -EIO. */
	void (*done)(struct gw *g, struct resolve_wait *w, int err,
		     const struct ip *addrs, size_t n);
};

/* Nameservers from resolv.conf text; test map lines "NAME ADDR..." (when
 * map is not NULL). -EINVAL with why[]. */
int resolver_new(const char *conf, size_t clen, const char *map, size_t mlen,
		 struct resolver **out, char *why, size_t size);
/* One line for the log: "nameservers 1.1.1.1, 9.9.9.9" or "test map". */
const char *resolver_describe(const struct resolver *r);
/* Looks name up; w->done is called once, possibly before this returns. */
void resolver_lookup(struct gw *g, const char *name, struct resolve_wait *w);
/* Forgets w (its connection went away first). */
void resolver_cancel(struct gw *g, struct resolve_wait *w);
/* Retries and timeouts. */
void resolver_tick(struct gw *g);

/* Pure parsers, for the unit tests. */
int resolver_parse_conf(const char *text, size_t len, struct ip *servers,
			size_t max);

#endif
