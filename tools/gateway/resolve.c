/* The gateway's resolver: see resolve.h. A query is one UDP socket
 * connected to one nameserver (so the kernel drops answers from anyone
 * else) with a random ID; an answer must echo our question. Each server
 * is tried twice, 2 s each; several connections waiting for one name
 * share its query. */
#include "tools/gateway/resolve.h"
#include "tools/gateway/gateway.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_SERVERS 3
#define MAX_QUERIES 64		/* names being looked up at once */
#define CACHE_SIZE 512
#define MAP_MAX 256
#define TRY_MS 2000
#define TRIES_PER_SERVER 2
#define TTL_MIN_S 5
#define TTL_MAX_S 300
#define NEG_TTL_S 5

struct entry {
	char name[DNS_NAME_MAX + 1];
	struct ip addrs[RESOLVE_MAX_ADDRS];
	size_t n;
	int err;		/* cached failure */
	int64_t expires;	/* ms; 0: free */
};

struct query {
	struct query *prev, *next;
	struct ev ev;
	char name[DNS_NAME_MAX + 1];
	uint16_t qtype, id;
	int fd;
	unsigned int server, tries;
	int64_t deadline;
	struct resolve_wait *waiters;
};

struct resolver {
	struct ip servers[MAX_SERVERS];
	size_t nservers;
	struct entry *map;	/* NULL: no test map */
	size_t nmap;
	struct entry cache[CACHE_SIZE];
	struct query *queries;
	size_t nqueries;
	char describe[200];
};

int resolver_parse_conf(const char *text, size_t len, struct ip *servers,
			size_t max)
{
	size_t n = 0, off = 0;

	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t l = nl ? (size_t)(nl - s) : len - off;
		char line[256], addr[64];

		off += l + 1;
		if (l >= sizeof(line))
			continue;
		memcpy(line, s, l);
		line[l] = '\0';
		if (n < max && sscanf(line, " nameserver %63s", addr) == 1 &&
		    addr_parse(addr, &servers[n]) == 0)
			n++;
	}
	return (int)n;
}

static int parse_map(struct resolver *r, const char *text, size_t len,
		     char *why, size_t size)
{
	size_t off = 0;
	int line = 0;

	r->map = calloc(MAP_MAX, sizeof(*r->map));
	if (!r->map)
		return -ENOMEM;
	while (off < len) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t l = nl ? (size_t)(nl - s) : len - off;
		char buf[1024], *tok, *save;
		struct entry *e;

		off += l + 1;
		line++;
		if (l >= sizeof(buf)) {
			snprintf(why, size, "test map line %d is too long", line);
			return -EINVAL;
		}
		memcpy(buf, s, l);
		buf[l] = '\0';
		buf[strcspn(buf, "#")] = '\0';
		tok = strtok_r(buf, " \t", &save);
		if (!tok)
			continue;
		if (r->nmap >= MAP_MAX || strlen(tok) > DNS_NAME_MAX) {
			snprintf(why, size, "test map line %d: too many names or too "
				 "long a name", line);
			return -EINVAL;
		}
		e = &r->map[r->nmap++];
		snprintf(e->name, sizeof(e->name), "%s", tok);
		while ((tok = strtok_r(NULL, " \t", &save)) && e->n < RESOLVE_MAX_ADDRS) {
			if (addr_parse(tok, &e->addrs[e->n])) {
				snprintf(why, size, "test map line %d: '%s' is not an "
					 "address", line, tok);
				return -EINVAL;
			}
			e->n++;
		}
		if (!e->n) {
			snprintf(why, size, "test map line %d: NAME ADDRESS... expected",
				 line);
			return -EINVAL;
		}
	}
	return 0;
}

int resolver_new(const char *conf, size_t clen, const char *map, size_t mlen,
		 struct resolver **out, char *why, size_t size)
{
	struct resolver *r = calloc(1, sizeof(*r));
	size_t n = 0;
	int ret;

	if (!r)
		return -ENOMEM;
	if (map) {
		ret = parse_map(r, map, mlen, why, size);
		if (ret) {
			free(r->map);
			free(r);
			return ret;
		}
		snprintf(r->describe, sizeof(r->describe),
			 "a test name map of %zu names (nothing is resolved upstream)",
			 r->nmap);
		*out = r;
		return 0;
	}
	r->nservers = (size_t)resolver_parse_conf(conf, clen, r->servers,
						  MAX_SERVERS);
	if (!r->nservers) {
		/* Served all the same: DNS answers, connections fail. */
		snprintf(r->describe, sizeof(r->describe), "no nameserver (the host's "
			 "resolv.conf names none): no name can be reached");
		*out = r;
		return 0;
	}
	n = (size_t)snprintf(r->describe, sizeof(r->describe), "nameserver");
	for (size_t i = 0; i < r->nservers && n < sizeof(r->describe); i++) {
		char a[64];

		addr_format(&r->servers[i], a, sizeof(a));
		n += (size_t)snprintf(r->describe + n, sizeof(r->describe) - n, "%s %s",
				      i ? "," : "", a);
	}
	*out = r;
	return 0;
}

const char *resolver_describe(const struct resolver *r)
{
	return r->describe;
}

static struct entry *cache_find(struct resolver *r, const char *name, int64_t now)
{
	for (size_t i = 0; i < CACHE_SIZE; i++)
		if (r->cache[i].expires > now && strcmp(r->cache[i].name, name) == 0)
			return &r->cache[i];
	return NULL;
}

static void cache_put(struct resolver *r, const char *name, int err,
		      const struct dns_answer *a, uint16_t qtype, int64_t now)
{
	struct entry *e = &r->cache[0];
	uint32_t ttl = err ? NEG_TTL_S : a->ttl;

	for (size_t i = 0; i < CACHE_SIZE; i++) {
		if (r->cache[i].expires <= now) {
			e = &r->cache[i];
			break;
		}
		if (r->cache[i].expires < e->expires)
			e = &r->cache[i];
	}
	ttl = ttl < TTL_MIN_S ? TTL_MIN_S : ttl > TTL_MAX_S ? TTL_MAX_S : ttl;
	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->err = err;
	for (size_t i = 0; !err && i < a->n; i++) {
		e->addrs[i].v6 = qtype == DNS_TYPE_AAAA;
		memcpy(e->addrs[i].b, a->addr[i], qtype == DNS_TYPE_AAAA ? 16 : 4);
		e->n++;
	}
	e->expires = now + (int64_t)ttl * 1000;
}

static void finish(struct gw *g, struct query *q, int err, const struct entry *e)
{
	struct resolver *r = g->res;

	if (q->fd >= 0)
		close(q->fd);	/* also leaves the epoll set */
	if (q->prev)
		q->prev->next = q->next;
	else
		r->queries = q->next;
	if (q->next)
		q->next->prev = q->prev;
	r->nqueries--;
	while (q->waiters) {
		struct resolve_wait *w = q->waiters;

		q->waiters = w->next;
		w->q = NULL;
		w->prev = w->next = NULL;
		w->done(g, w, err, e ? e->addrs : NULL, e ? e->n : 0);
	}
	free(q);
}

static void on_answer(struct gw *g, struct ev *ev, uint32_t events);

/* Sends q to its current server; a fresh socket (and source port) each. */
static int send_query(struct gw *g, struct query *q)
{
	struct resolver *r = g->res;
	const struct ip *s = &r->servers[q->server];
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	uint8_t msg[DNS_NAME_MAX + 32];
	int len;

	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	if (getrandom(&q->id, sizeof(q->id), 0) != sizeof(q->id))
		return -EIO;
	len = dns_build_query(msg, sizeof(msg), q->id, q->name, q->qtype);
	if (len < 0)
		return len;
	if (s->v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(53);
		memcpy(&a->sin6_addr, s->b, 16);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(53);
		memcpy(&a->sin_addr, s->b, 4);
		sl = sizeof(*a);
	}
	q->fd = socket(s->v6 ? AF_INET6 : AF_INET,
		       SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return -errno;
	if (connect(q->fd, (struct sockaddr *)&ss, sl) < 0 ||
	    send(q->fd, msg, (size_t)len, 0) != len)
		return -errno;
	q->ev.fn = on_answer;
	q->deadline = g->now + TRY_MS;
	q->tries++;
	return gw_watch(g, q->fd, EPOLLIN, &q->ev);
}

/* The next try: the same server once more, then the next one. */
static void retry(struct gw *g, struct query *q)
{
	struct resolver *r = g->res;

	while (q->tries >= TRIES_PER_SERVER) {
		q->server++;
		q->tries = 0;
		if (q->server >= r->nservers) {
			finish(g, q, -ETIMEDOUT, NULL);
			return;
		}
	}
	if (send_query(g, q) < 0) {
		q->tries = TRIES_PER_SERVER;
		retry(g, q);
	}
}

static void on_answer(struct gw *g, struct ev *ev, uint32_t events)
{
	struct query *q = container_of(ev, struct query, ev);
	struct resolver *r = g->res;
	uint8_t msg[4096];
	struct dns_answer a;
	struct entry *e;
	ssize_t n;

	(void)events;
	for (;;) {
		n = recv(q->fd, msg, sizeof(msg), 0);
		if (n < 0) {
			if (errno != EAGAIN)
				retry(g, q);	/* e.g. the port is unreachable */
			return;
		}
		if (dns_parse_response(msg, (size_t)n, q->id, q->name, q->qtype, &a) == 0)
			break;
		/* Not the answer to this question: keep waiting. */
	}
	if (a.rcode == DNS_RCODE_NXDOMAIN) {
		cache_put(r, q->name, -ENOENT, &a, q->qtype, g->now);
		finish(g, q, -ENOENT, cache_find(r, q->name, g->now));
		return;
	}
	if (a.rcode != DNS_RCODE_NOERROR) {
		q->tries = TRIES_PER_SERVER;	/* SERVFAIL, REFUSED: next server */
		retry(g, q);
		return;
	}
	if (!a.n && q->qtype == DNS_TYPE_A) {
		/* No IPv4 address: try IPv6 with the same server. */
		q->qtype = DNS_TYPE_AAAA;
		q->tries = 0;
		if (send_query(g, q) < 0)
			retry(g, q);
		return;
	}
	cache_put(r, q->name, a.n ? 0 : -ENODATA, &a, q->qtype, g->now);
	e = cache_find(r, q->name, g->now);
	finish(g, q, e ? e->err : -EIO, e);
}

void resolver_lookup(struct gw *g, const char *name, struct resolve_wait *w)
{
	struct resolver *r = g->res;
	struct entry *e;
	struct query *q;

	w->q = NULL;
	w->prev = w->next = NULL;
	if (r->map) {
		for (size_t i = 0; i < r->nmap; i++)
			if (strcmp(r->map[i].name, name) == 0) {
				w->done(g, w, 0, r->map[i].addrs, r->map[i].n);
				return;
			}
		w->done(g, w, -ENOENT, NULL, 0);
		return;
	}
	if (!r->nservers) {
		w->done(g, w, -ENXIO, NULL, 0);
		return;
	}
	e = cache_find(r, name, g->now);
	if (e) {
		w->done(g, w, e->err, e->addrs, e->n);
		return;
	}
	for (q = r->queries; q; q = q->next)
		if (strcmp(q->name, name) == 0)
			break;
	if (!q) {
		if (r->nqueries >= MAX_QUERIES || !(q = calloc(1, sizeof(*q)))) {
			w->done(g, w, -EAGAIN, NULL, 0);
			return;
		}
		snprintf(q->name, sizeof(q->name), "%s", name);
		q->qtype = DNS_TYPE_A;
		q->fd = -1;
		q->next = r->queries;
		if (r->queries)
			r->queries->prev = q;
		r->queries = q;
		r->nqueries++;
		if (send_query(g, q) < 0) {
			q->tries = TRIES_PER_SERVER;
			/* Joins below first, so finish() reaches it. */
			w->next = q->waiters;
			w->q = q;
			q->waiters = w;
			retry(g, q);
			return;
		}
	}
	w->q = q;
	w->next = q->waiters;
	if (q->waiters)
		q->waiters->prev = w;
	q->waiters = w;
}

void resolver_cancel(struct gw *g, struct resolve_wait *w)
{
	struct query *q = w->q;

	(void)g;
	if (!q)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		q->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->q = NULL;
	/* The query goes on: its answer is cached for the next one. */
}

void resolver_tick(struct gw *g)
{
	struct query *q = g->res->queries, *next;

	for (; q; q = next) {
		next = q->next;
		if (q->deadline <= g->now)
			retry(g, q);	/* may free q */
	}
}
