/* Address classes: see addr.h. The tables list the ranges from the IANA
 * special-purpose registries that a sandbox must not reach by name:
 * anything that is this host, its LAN, its cloud's metadata service, or
 * not globally routed. Most specific entries first. */
#include "tools/gateway/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct range {
	const char *net;
	unsigned int plen;
	enum addr_class class;
};

static const struct range v4_ranges[] = {
	{ "169.254.169.254", 32, ADDR_METADATA },	/* AWS, GCP, Azure, OCI... */
	{ "169.254.170.2", 32, ADDR_METADATA },		/* ECS task credentials */
	{ "100.100.100.200", 32, ADDR_METADATA },	/* Alibaba Cloud */
	{ "168.63.129.16", 32, ADDR_METADATA },		/* Azure wire server (public!) */
	{ "0.0.0.0", 8, ADDR_UNSPECIFIED },
	{ "10.0.0.0", 8, ADDR_PRIVATE },
	{ "100.64.0.0", 10, ADDR_CGNAT },
	{ "127.0.0.0", 8, ADDR_LOOPBACK },
	{ "169.254.0.0", 16, ADDR_LINK_LOCAL },
	{ "172.16.0.0", 12, ADDR_PRIVATE },
	{ "192.0.0.0", 24, ADDR_RESERVED },		/* IETF protocol assignments */
	{ "192.0.2.0", 24, ADDR_RESERVED },		/* documentation */
	{ "192.88.99.0", 24, ADDR_RESERVED },		/* 6to4 relay anycast */
	{ "192.168.0.0", 16, ADDR_PRIVATE },
	{ "198.18.0.0", 15, ADDR_SYNTHETIC },
	{ "198.51.100.0", 24, ADDR_RESERVED },		/* documentation */
	{ "203.0.113.0", 24, ADDR_RESERVED },		/* documentation */
	{ "255.255.255.255", 32, ADDR_MULTICAST },	/* broadcast */
	{ "224.0.0.0", 4, ADDR_MULTICAST },
	{ "240.0.0.0", 4, ADDR_RESERVED },
};

static const struct range v6_ranges[] = {
	{ "fd00:ec2::254", 128, ADDR_METADATA },	/* AWS over IPv6 */
	{ "::", 128, ADDR_UNSPECIFIED },
	{ "::1", 128, ADDR_LOOPBACK },
	{ "64:ff9b:1::", 48, ADDR_RESERVED },		/* local-use NAT64 */
	{ "100::", 64, ADDR_RESERVED },			/* discard */
	{ "2001:db8::", 32, ADDR_RESERVED },		/* documentation */
	{ "2001::", 23, ADDR_RESERVED },		/* IETF: Teredo, ORCHID... */
	{ "fc00::", 7, ADDR_PRIVATE },			/* unique local */
	{ "fe80::", 10, ADDR_LINK_LOCAL },
	{ "fec0::", 10, ADDR_PRIVATE },			/* old site-local */
	{ "ff00::", 8, ADDR_MULTICAST },
};

bool addr_in(const struct ip *a, const struct ip *net, unsigned int plen)
{
	unsigned int bits = a->v6 ? 128 : 32, whole = plen / 8, rest = plen % 8;

	if (a->v6 != net->v6 || plen > bits)
		return false;
	if (memcmp(a->b, net->b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a->b[whole] ^ net->b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int addr_parse(const char *s, struct ip *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1)
		return 0;
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->v6 = 1;
		return 0;
	}
	return -EINVAL;
}

void addr_format(const struct ip *a, char *out, size_t size)
{
	if (!inet_ntop(a->v6 ? AF_INET6 : AF_INET, a->b, out, (socklen_t)size))
		snprintf(out, size, "?");
}

static enum addr_class lookup(const struct range *t, size_t n,
			      const struct ip *a, unsigned int *plen)
{
	for (size_t i = 0; i < n; i++) {
		struct ip net;

		if (addr_parse(t[i].net, &net) == 0 &&
		    addr_in(a, &net, t[i].plen)) {
			*plen = t[i].plen;
			return t[i].class;
		}
	}
	*plen = 0;
	return ADDR_PUBLIC;
}

enum addr_class addr_classify(const struct ip *a, unsigned int *plen)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	struct ip v4 = { 0 };
	unsigned int p;
	enum addr_class c;

	if (!a->v6)
		return lookup(v4_ranges, sizeof(v4_ranges) / sizeof(v4_ranges[0]),
			      a, plen);
	/* IPv4 carried in IPv6 reaches that IPv4 address. */
	if (memcmp(a->b, mapped, 12) == 0 || memcmp(a->b, nat64, 12) == 0) {
		memcpy(v4.b, a->b + 12, 4);
	} else if (a->b[0] == 0x20 && a->b[1] == 0x02) {	/* 2002::/16 */
		memcpy(v4.b, a->b + 2, 4);
	} else {
		c = lookup(v6_ranges, sizeof(v6_ranges) / sizeof(v6_ranges[0]), a,
			   plen);
		if (c != ADDR_PUBLIC)
			return c;
		/* Only 2000::/3 is global unicast. */
		if ((a->b[0] & 0xe0) != 0x20) {
			*plen = 3;
			return ADDR_RESERVED;
		}
		return ADDR_PUBLIC;
	}
	c = lookup(v4_ranges, sizeof(v4_ranges) / sizeof(v4_ranges[0]), &v4, &p);
	/* The IPv6 prefix length of the same range. */
	*plen = c == ADDR_PUBLIC ? 0 : p + (a->b[0] == 0x20 ? 16 : 96);
	return c;
}

const char *addr_class_name(enum addr_class c)
{
	switch (c) {
	case ADDR_PUBLIC: return "public";
	case ADDR_UNSPECIFIED: return "unspecified";
	case ADDR_LOOPBACK: return "loopback";
	case ADDR_PRIVATE: return "private";
	case ADDR_LINK_LOCAL: return "link-local";
	case ADDR_CGNAT: return "shared (CGNAT)";
	case ADDR_MULTICAST: return "multicast";
	case ADDR_METADATA: return "cloud metadata";
	case ADDR_RESERVED: return "reserved";
	case ADDR_SYNTHETIC: return "synthetic";
	}
	return "?";
}
