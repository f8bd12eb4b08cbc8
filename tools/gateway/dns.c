/* DNS wire format: see dns.h. Names are read through one function that
 * bounds every label by the message and the whole name by 255 wire bytes;
 * compression pointers are followed only in upstream answers, only
 * backwards, and at most 32 times. */
#include "tools/gateway/dns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WIRE_NAME_MAX 255
#define MAX_JUMPS 32
#define MAX_RRS 32	/* answer records looked at in an upstream answer */

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool host_byte(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/* Reads the name at *off into text (lower-cased, dotted; other bytes as
 * \DDD, *host false). With ptrs, compression pointers are followed; *off
 * ends past the name as it sits at *off. */
static int read_name(const uint8_t *msg, size_t len, size_t *off, bool ptrs,
		     char *text, size_t tsize, bool *host)
{
	size_t pos = *off, t = 0, wire = 1;
	int jumps = 0;
	bool jumped = false;

	*host = true;
	for (;;) {
		uint8_t l;

		if (pos >= len)
			return -EINVAL;
		l = msg[pos];
		if ((l & 0xc0) == 0xc0) {
			size_t target;

			if (!ptrs || pos + 1 >= len || ++jumps > MAX_JUMPS)
				return -EINVAL;
			target = (size_t)(l & 0x3f) << 8 | msg[pos + 1];
			/* Backwards only: a pointer can never loop. */
			if (target >= pos)
				return -EINVAL;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if (l & 0xc0)
			return -EINVAL;	/* 0x40 and 0x80: no such label types */
		if (l == 0) {
			if (!jumped)
				*off = pos + 1;
			break;
		}
		if (l > len - pos - 1)
			return -EINVAL;
		wire += 1 + l;
		if (wire > WIRE_NAME_MAX)
			return -EINVAL;
		if (t > 0) {
			if (t + 1 >= tsize)
				return -EINVAL;
			text[t++] = '.';
		}
		for (size_t i = 1; i <= l; i++) {
			uint8_t c = msg[pos + i];

			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (host_byte(c)) {
				if (t + 1 >= tsize)
					return -EINVAL;
				text[t++] = (char)c;
			} else {
				if (t + 4 >= tsize)
					return -EINVAL;
				*host = false;
				text[t++] = '\\';
				text[t++] = (char)('0' + c / 100);
				text[t++] = (char)('0' + c / 10 % 10);
				text[t++] = (char)('0' + c % 10);
			}
		}
		pos += 1 + l;
	}
	text[t] = '\0';
	return 0;
}

int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
	uint16_t flags, qd, an, ns, ar;
	size_t off = DNS_HEADER;

	memset(q, 0, sizeof(*q));
	if (len < DNS_HEADER || len > DNS_MSG_MAX)
		return -EINVAL;
	q->id = get16(msg);
	flags = get16(msg + 2);
	qd = get16(msg + 4);
	an = get16(msg + 6);
	ns = get16(msg + 8);
	ar = get16(msg + 10);
	/* A response, a truncated query, or not one plain question. */
	if ((flags & 0x8000) || (flags & 0x0200) || qd != 1 || an || ns || ar > 1)
		return -EINVAL;
	q->opcode = (uint8_t)(flags >> 11 & 0xf);
	q->rd = flags & 0x0100;
	if (read_name(msg, len, &off, false, q->name, sizeof(q->name), &q->host))
		return -EINVAL;
	if (len - off < 4)
		return -EINVAL;
	q->qtype = get16(msg + off);
	q->qclass = get16(msg + off + 2);
	off += 4;
	q->qend = off;
	if (ar) {
		uint16_t rdlen;

		/* The one additional record may only be EDNS's OPT, owned
		 * by the root. */
		if (len - off < 11 || msg[off] != 0 ||
		    get16(msg + off + 1) != DNS_TYPE_OPT)
			return -EINVAL;
		q->edns = true;
		q->edns_size = get16(msg + off + 3);
		if (q->edns_size < DNS_UDP_MAX)
			q->edns_size = DNS_UDP_MAX;
		rdlen = get16(msg + off + 9);
		off += 11;
		if (rdlen > len - off)
			return -EINVAL;
		off += rdlen;
	}
	if (off != len)
		return -EINVAL;
	return 0;
}

int dns_build_answer(const struct dns_query *q, const uint8_t *msg,
		     uint8_t *out, size_t size, size_t max, int rcode,
		     const uint8_t a4[4], uint32_t ttl)
{
	size_t qlen = q->qend - DNS_HEADER, n;
	bool tc = false;
	uint16_t flags;
	size_t need = DNS_HEADER + qlen + (a4 ? 16 : 0) + (q->edns ? 11 : 0);

	if (max > size)
		max = size;
	if (need > max) {
		/* Only an A record and an OPT can be added to the question,
		 * so this happens only for a client that takes less than we
		 * ever answer; it may ask again over TCP. */
		a4 = NULL;
		tc = true;
		need = DNS_HEADER + qlen;
		if (need > max)
			return -ENOSPC;
	}
	flags = (uint16_t)(0x8000 | q->opcode << 11 | 0x0400 /* AA */ |
			   (tc ? 0x0200 : 0) | (q->rd ? 0x0100 : 0) |
			   0x0080 /* RA */ | (rcode & 0xf));
	put16(out, q->id);
	put16(out + 2, flags);
	put16(out + 4, 1);
	put16(out + 6, a4 ? 1 : 0);
	put16(out + 8, 0);
	put16(out + 10, q->edns && !tc ? 1 : 0);
	memcpy(out + DNS_HEADER, msg + DNS_HEADER, qlen);
	n = DNS_HEADER + qlen;
	if (a4) {
		put16(out + n, 0xc000 | DNS_HEADER);	/* the question's name */
		put16(out + n + 2, DNS_TYPE_A);
		put16(out + n + 4, DNS_CLASS_IN);
		put32(out + n + 6, ttl);
		put16(out + n + 10, 4);
		memcpy(out + n + 12, a4, 4);
		n += 16;
	}
	if (q->edns && !tc) {
		out[n] = 0;
		put16(out + n + 1, DNS_TYPE_OPT);
		put16(out + n + 3, DNS_EDNS_SIZE);
		put32(out + n + 5, 0);
		put16(out + n + 9, 0);
		n += 11;
	}
	return (int)n;
}

int dns_build_query(uint8_t *out, size_t size, uint16_t id, const char *name,
		    uint16_t qtype)
{
	size_t nlen = strlen(name), n = DNS_HEADER;
	const char *p = name;

	if (nlen == 0 || nlen > DNS_NAME_MAX)
		return -EINVAL;
	if (size < DNS_HEADER + nlen + 2 + 4)
		return -ENOSPC;
	put16(out, id);
	put16(out + 2, 0x0100);	/* RD */
	put16(out + 4, 1);
	memset(out + 6, 0, 6);
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		if (l == 0 || l > 63)
			return -EINVAL;
		out[n++] = (uint8_t)l;
		memcpy(out + n, p, l);
		n += l;
		p += l;
		if (*p == '.' && !*++p)
			return -EINVAL;	/* a trailing dot */
	}
	out[n++] = 0;
	put16(out + n, qtype);
	put16(out + n + 2, DNS_CLASS_IN);
	return (int)(n + 4);
}

struct rr {
	char owner[DNS_NAME_TEXT_MAX];
	uint16_t type;
	uint32_t ttl;
	size_t rdata, rdlen;
};

int dns_parse_response(const uint8_t *msg, size_t len, uint16_t id,
		       const char *name, uint16_t qtype, struct dns_answer *ans)
{
	struct rr rrs[MAX_RRS];	/* 32 KiB: fine on the stack */
	char qname[DNS_NAME_TEXT_MAX], target[DNS_NAME_TEXT_MAX];
	size_t off = DNS_HEADER, nrr = 0;
	uint16_t flags, an;
	bool host;

	memset(ans, 0, sizeof(*ans));
	if (len < DNS_HEADER || get16(msg) != id)
		return -EINVAL;
	flags = get16(msg + 2);
	if (!(flags & 0x8000) || get16(msg + 4) != 1)
		return -EINVAL;
	ans->rcode = flags & 0xf;
	ans->tc = flags & 0x0200;
	an = get16(msg + 6);
	if (read_name(msg, len, &off, true, qname, sizeof(qname), &host) ||
	    len - off < 4 || strcmp(qname, name) != 0 ||
	    get16(msg + off) != qtype || get16(msg + off + 2) != DNS_CLASS_IN)
		return -EINVAL;
	off += 4;
	if (ans->tc || ans->rcode != DNS_RCODE_NOERROR)
		return 0;
	for (unsigned int i = 0; i < an && nrr < MAX_RRS; i++) {
		struct rr *r = &rrs[nrr];

		if (read_name(msg, len, &off, true, r->owner, sizeof(r->owner),
			      &host) || len - off < 10)
			return -EINVAL;
		r->type = get16(msg + off);
		r->ttl = get32(msg + off + 4);
		r->rdlen = get16(msg + off + 8);
		r->rdata = off + 10;
		if (r->rdlen > len - r->rdata)
			return -EINVAL;
		off = r->rdata + r->rdlen;
		if (get16(msg + r->rdata - 8) == DNS_CLASS_IN)
			nrr++;
	}
	snprintf(target, sizeof(target), "%s", name);
	ans->ttl = UINT32_MAX;
	/* Follow the chain from name: each link must be in the answer. */
	for (int link = 0; link <= 8; link++) {
		bool moved = false;

		for (size_t i = 0; i < nrr; i++) {
			struct rr *r = &rrs[i];
			size_t at = r->rdata, want = qtype == DNS_TYPE_A ? 4 : 16;

			if (strcmp(r->owner, target) != 0)
				continue;
			if (r->type == qtype && r->rdlen == want &&
			    ans->n < DNS_ANSWER_MAX) {
				memcpy(ans->addr[ans->n++], msg + r->rdata, want);
				if (r->ttl < ans->ttl)
					ans->ttl = r->ttl;
			} else if (r->type == DNS_TYPE_CNAME && !moved && !ans->n) {
				char next[DNS_NAME_TEXT_MAX];

				if (read_name(msg, r->rdata + r->rdlen, &at, true,
					      next, sizeof(next), &host) ||
				    at != r->rdata + r->rdlen)
					return -EINVAL;
				if (r->ttl < ans->ttl)
					ans->ttl = r->ttl;
				snprintf(target, sizeof(target), "%s", next);
				moved = true;
			}
		}
		if (ans->n || !moved)
			break;
	}
	if (!ans->n)
		ans->ttl = 0;
	return 0;
}
