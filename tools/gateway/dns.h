/* DNS wire format, as far as the gateway needs it: a guest's query parsed
 * into a validated struct and answered (A from the synthetic range, or an
 * rcode), and the gateway's own upstream query and the answer to it (A or
 * AAAA records, CNAME chains followed). Pure code, no I/O; every length is
 * checked against the message before it is used (tests/fuzz/fuzz_dns.c). */
#ifndef AIRLOCK_GATEWAY_DNS_H
#define AIRLOCK_GATEWAY_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER 12
#define DNS_NAME_MAX 253	/* dotted, without the trailing dot */
/* Room for a name with every byte escaped as \DDD, for logs. */
#define DNS_NAME_TEXT_MAX (DNS_NAME_MAX * 4 + 1)
#define DNS_UDP_MAX 512		/* what we answer over UDP without EDNS */
#define DNS_EDNS_SIZE 1232	/* the UDP size we announce and accept */
#define DNS_MSG_MAX 65535

enum {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_OPT = 41,
	DNS_CLASS_IN = 1,
};

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

struct dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd;
	uint16_t qtype, qclass;
	/* The name, lower-cased, dotted, no trailing dot ("" for the root).
	 * host is true when every label is [a-z0-9_-]: only such a name can
	 * be allowed. Otherwise text holds it with other bytes as \DDD. */
	bool host;
	char name[DNS_NAME_TEXT_MAX];
	size_t qend;		/* offset just past the question */
	bool edns;		/* an OPT record came along */
	uint16_t edns_size;	/* its UDP payload size (>= 512) */
};

/* Parses a query. -EINVAL for anything malformed (a response, not exactly
 * one question, answer or authority records, a compressed or overlong
 * name, a truncated record, bytes left over, more than one OPT): the
 * caller drops it without an answer. */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);

/* Writes the answer to q (whose message is msg) into out: rcode, and when
 * a4 is not NULL one A record of a4 with ttl. The question is copied from
 * msg. max is the size the client can take (512, its EDNS size, or 65535
 * over TCP); an answer that would not fit is sent truncated (TC) without
 * records. Returns the length, or -ENOSPC if out is too small. */
int dns_build_answer(const struct dns_query *q, const uint8_t *msg,
		     uint8_t *out, size_t size, size_t max, int rcode,
		     const uint8_t a4[4], uint32_t ttl);

/* Writes a recursive query for name (dotted, a host name) and qtype.
 * Returns the length or -EINVAL / -ENOSPC. */
int dns_build_query(uint8_t *out, size_t size, uint16_t id, const char *name,
		    uint16_t qtype);

#define DNS_ANSWER_MAX 8

struct dns_answer {
	int rcode;
	bool tc;
	unsigned int n;		/* addresses found for the name */
	uint8_t addr[DNS_ANSWER_MAX][16];	/* 4 bytes used for A */
	uint32_t ttl;		/* the least TTL along the way */
};

/* Parses the answer to our query (id, name, qtype): the header must match
 * and the question must be ours. Addresses of qtype are taken for name or
 * for the end of a CNAME chain starting at it (at most 8 links). -EINVAL
 * if it is not the answer to that query or is malformed. */
int dns_parse_response(const uint8_t *msg, size_t len, uint16_t id,
		       const char *name, uint16_t qtype, struct dns_answer *ans);

#endif
