/* tools/gateway/dns.c: the guest's queries (table of good and malformed
 * ones), our answers to them, and upstream answers with CNAME chains. */
#include "tests/unit/check.h"
#include "tools/gateway/dns.h"

#include <errno.h>
#include <stdint.h>

/* A query for name/type, with an optional OPT record; returns its length. */
static size_t mkquery(uint8_t *b, const char *name, uint16_t type, bool opt)
{
	size_t n = 12, l;
	const char *p = name;

	memset(b, 0, 12);
	b[0] = 0xab; b[1] = 0xcd;	/* id */
	b[2] = 0x01;			/* RD */
	b[5] = 1;			/* one question */
	b[11] = opt ? 1 : 0;
	while (*p) {
		l = strcspn(p, ".");
		b[n++] = (uint8_t)l;
		memcpy(b + n, p, l);
		n += l;
		p += l + (p[l] == '.');
	}
	b[n++] = 0;
	b[n++] = (uint8_t)(type >> 8); b[n++] = (uint8_t)type;
	b[n++] = 0; b[n++] = 1;
	if (opt) {
		static const uint8_t o[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };

		memcpy(b + n, o, sizeof(o));
		n += sizeof(o);
	}
	return n;
}

TEST(query_good)
{
	uint8_t b[600];
	struct dns_query q;
	size_t n = mkquery(b, "WWW.Example.org", DNS_TYPE_A, false);

	CHECK_EQ(dns_parse_query(b, n, &q), 0);
	CHECK_EQ(q.id, 0xabcd);
	CHECK(q.rd);
	CHECK(q.host);
	CHECK_STR(q.name, "www.example.org");
	CHECK_EQ(q.qtype, DNS_TYPE_A);
	CHECK_EQ(q.qclass, DNS_CLASS_IN);
	CHECK(!q.edns);
	n = mkquery(b, "a.b", DNS_TYPE_AAAA, true);
	CHECK_EQ(dns_parse_query(b, n, &q), 0);
	CHECK(q.edns);
	CHECK_EQ(q.edns_size, 4096);
	/* Bytes that are not host bytes: escaped, and not a host name. */
	n = mkquery(b, "a_b-c.x", DNS_TYPE_A, false);
	CHECK_EQ(dns_parse_query(b, n, &q), 0);
	CHECK(q.host);
	n = mkquery(b, "evil", DNS_TYPE_A, false);
	b[13] = '"';
	b[14] = 0x01;
	CHECK_EQ(dns_parse_query(b, n, &q), 0);
	CHECK(!q.host);
	CHECK_STR(q.name, "\\034\\001il");
}

TEST(query_malformed)
{
	uint8_t b[600], c[600];
	struct dns_query q;
	size_t n = mkquery(b, "example.org", DNS_TYPE_A, false);
	struct {
		size_t at;
		uint8_t val;
		const char *what;
	} flip[] = {
		{ 2, 0x81, "a response (QR)" },
		{ 2, 0x03, "truncated (TC)" },
		{ 5, 2, "two questions" },
		{ 5, 0, "no question" },
		{ 7, 1, "an answer record" },
		{ 9, 1, "an authority record" },
		{ 11, 2, "two additional records" },
		{ 11, 1, "an additional record that is not there" },
		{ 12, 0xc0, "a compression pointer" },
		{ 12, 0x40, "label type 01" },
		{ 12, 63, "a label running past the end" },
	};

	for (size_t i = 0; i < sizeof(flip) / sizeof(flip[0]); i++) {
		memcpy(c, b, n);
		c[flip[i].at] = flip[i].val;
		if (dns_parse_query(c, n, &q) != -EINVAL)
			fprintf(stderr, "accepted: %s\n", flip[i].what);
		CHECK_EQ(dns_parse_query(c, n, &q), -EINVAL);
	}
	for (size_t len = 0; len < n; len++)
		CHECK_EQ(dns_parse_query(b, len, &q), -EINVAL);	/* every cut */
	CHECK_EQ(dns_parse_query(b, n + 1, &q), -EINVAL);	/* a byte left over */
	/* The longest name: 255 wire bytes (three labels of 63, one of 61). */
	{
		char name[300] = "";

		for (int i = 0; i < 4; i++) {
			size_t l = strlen(name);

			if (i)
				name[l++] = '.';
			memset(name + l, 'x', i < 3 ? 63 : 61);
			name[l + (i < 3 ? 63 : 61)] = '\0';
		}
		n = mkquery(c, name, DNS_TYPE_A, false);
		CHECK_EQ(dns_parse_query(c, n, &q), 0);
		strcat(name, ".y");
		n = mkquery(c, name, DNS_TYPE_A, false);
		CHECK_EQ(dns_parse_query(c, n, &q), -EINVAL);
	}
}

TEST(answer)
{
	uint8_t b[600], out[600];
	static const uint8_t a4[4] = { 198, 18, 0, 7 };
	struct dns_query q;
	size_t n = mkquery(b, "example.org", DNS_TYPE_A, true);
	int len;

	CHECK_EQ(dns_parse_query(b, n, &q), 0);
	len = dns_build_answer(&q, b, out, sizeof(out), 512, DNS_RCODE_NOERROR, a4, 60);
	CHECK_EQ(len, (int)(n + 16));		/* question, A, OPT */
	CHECK_EQ(out[0], 0xab);
	CHECK_EQ(out[2], 0x85);			/* QR, AA, RD */
	CHECK_EQ(out[3], 0x80);			/* RA, NOERROR */
	CHECK_EQ(out[7], 1);			/* one answer */
	CHECK_EQ(out[11], 1);			/* OPT */
	CHECK(memcmp(out + 12, b + 12, q.qend - 12) == 0);
	CHECK(memcmp(out + q.qend + 12, a4, 4) == 0);
	/* And what we answer parses as an answer to that question. */
	{
		struct dns_answer a;

		CHECK_EQ(dns_parse_response(out, (size_t)len, 0xabcd, "example.org",
					    DNS_TYPE_A, &a), 0);
		CHECK_EQ(a.n, 1);
		CHECK(memcmp(a.addr[0], a4, 4) == 0);
		CHECK_EQ(a.ttl, 60);
	}
	len = dns_build_answer(&q, b, out, sizeof(out), 512, DNS_RCODE_NXDOMAIN, NULL, 0);
	CHECK_EQ(out[3] & 15, DNS_RCODE_NXDOMAIN);
	CHECK_EQ(out[7], 0);
	/* A client that takes less than the answer: truncated, no records. */
	len = dns_build_answer(&q, b, out, sizeof(out), n, DNS_RCODE_NOERROR, a4, 60);
	CHECK_EQ(len, (int)(q.qend));
	CHECK(out[2] & 0x02);
}

TEST(upstream)
{
	/* www.example.org CNAME edge.example.net; edge A 93.184.216.34, TTLs
	 * 300 and 20; plus an unrelated A record that must not be taken. */
	static const uint8_t r[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
		0, 1, 0, 1,
		0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44, 0, 18,
		4, 'e', 'd', 'g', 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0,
		0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 20, 0, 4, 93, 184, 216, 34,
		0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 20, 0, 4, 6, 6, 6, 6,
	};
	struct dns_answer a;
	uint8_t q[300];
	int n;

	CHECK_EQ(dns_parse_response(r, sizeof(r), 0x1234, "www.example.org",
				    DNS_TYPE_A, &a), 0);
	CHECK_EQ(a.rcode, 0);
	CHECK_EQ(a.n, 1);
	CHECK_EQ(a.addr[0][0], 93);
	CHECK_EQ(a.ttl, 20);
	/* Not our ID, not our question. */
	CHECK_EQ(dns_parse_response(r, sizeof(r), 0x1235, "www.example.org",
				    DNS_TYPE_A, &a), -EINVAL);
	CHECK_EQ(dns_parse_response(r, sizeof(r), 0x1234, "example.org",
				    DNS_TYPE_A, &a), -EINVAL);
	CHECK_EQ(dns_parse_response(r, sizeof(r), 0x1234, "www.example.org",
				    DNS_TYPE_AAAA, &a), -EINVAL);
	for (size_t len = 0; len < sizeof(r); len++)
		CHECK(dns_parse_response(r, len, 0x1234, "www.example.org", DNS_TYPE_A,
					 &a) == -EINVAL || a.n == 0);
	/* A pointer to itself (a loop) is refused. */
	{
		uint8_t l[sizeof(r)];

		memcpy(l, r, sizeof(r));
		l[33] = 0xc0;
		l[34] = 33;
		CHECK_EQ(dns_parse_response(l, sizeof(l), 0x1234, "www.example.org",
					    DNS_TYPE_A, &a), -EINVAL);
	}
	n = dns_build_query(q, sizeof(q), 7, "www.example.org", DNS_TYPE_A);
	CHECK_EQ(n, 12 + 17 + 4);
	CHECK_EQ(dns_build_query(q, sizeof(q), 7, "a..b", DNS_TYPE_A), -EINVAL);
	CHECK_EQ(dns_build_query(q, sizeof(q), 7, "a.", DNS_TYPE_A), -EINVAL);
	CHECK_EQ(dns_build_query(q, 20, 7, "www.example.org", DNS_TYPE_A), -ENOSPC);
}

CHECK_MAIN(TEST_ENTRY(query_good), TEST_ENTRY(query_malformed), TEST_ENTRY(answer),
	   TEST_ENTRY(upstream))
