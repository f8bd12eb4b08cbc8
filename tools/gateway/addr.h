/* IP addresses as the gateway judges them: which special range an address
 * falls in (loopback, private, link-local, CGNAT, multicast, cloud
 * metadata, reserved, the synthetic range), parsing and printing. A
 * connection may only go to a special address that a CIDR rule names.
 * Pure code (tests/unit/test_gateway_addr.c). */
#ifndef AIRLOCK_GATEWAY_ADDR_H
#define AIRLOCK_GATEWAY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ip {
	uint8_t v6;		/* 0: IPv4 in b[0..3] */
	uint8_t b[16];
};

enum addr_class {
	ADDR_PUBLIC,
	ADDR_UNSPECIFIED,	/* 0.0.0.0/8, :: */
	ADDR_LOOPBACK,
	ADDR_PRIVATE,		/* RFC 1918, fc00::/7, fec0::/10 */
	ADDR_LINK_LOCAL,
	ADDR_CGNAT,		/* 100.64.0.0/10 */
	ADDR_MULTICAST,		/* and 255.255.255.255 */
	ADDR_METADATA,		/* cloud instance metadata services */
	ADDR_RESERVED,		/* documentation, IETF, 240/4, not 2000::/3 */
	ADDR_SYNTHETIC,		/* 198.18.0.0/15: our own names' addresses */
};

/* The class of a, and in *plen the prefix length of the range that made
 * it so (0 for public). IPv4 inside IPv6 (mapped, NAT64, 6to4) is judged
 * as the IPv4 address it carries. */
enum addr_class addr_classify(const struct ip *a, unsigned int *plen);
const char *addr_class_name(enum addr_class c);

/* True if a lies in net/plen (same family). */
bool addr_in(const struct ip *a, const struct ip *net, unsigned int plen);

/* "1.2.3.4" or "2001:db8::1" into *a; -EINVAL otherwise. */
int addr_parse(const char *s, struct ip *a);
/* Text form into out (at least 46 bytes). */
void addr_format(const struct ip *a, char *out, size_t size);

static inline struct ip addr_v4(uint32_t host_order)
{
	struct ip a = { 0 };

	a.b[0] = (uint8_t)(host_order >> 24);
	a.b[1] = (uint8_t)(host_order >> 16);
	a.b[2] = (uint8_t)(host_order >> 8);
	a.b[3] = (uint8_t)host_order;
	return a;
}

static inline uint32_t addr_v4_u32(const struct ip *a)
{
	return (uint32_t)a->b[0] << 24 | (uint32_t)a->b[1] << 16 |
	       (uint32_t)a->b[2] << 8 | a->b[3];
}

#endif
