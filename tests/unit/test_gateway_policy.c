/* tools/gateway/policy.c and addr.c: rule syntax, the decisions (a table of
 * rules against names, ports and addresses), address classes, the policy
 * as text and back; the resolv.conf reader and the synthetic names. */
#include "tests/unit/check.h"
#include "tools/gateway/addr.h"
#include "tools/gateway/names.h"
#include "tools/gateway/policy.h"
#include "tools/gateway/resolve.h"

#include <errno.h>
#include <stdlib.h>

/* resolve.c is linked for its pure parser; its I/O is not reached here. */
struct gw;
struct ev;
int gw_watch(struct gw *g, int fd, uint32_t events, struct ev *e);
int gw_watch(struct gw *g, int fd, uint32_t events, struct ev *e)
{
	(void)g, (void)fd, (void)events, (void)e;
	return -ENOSYS;
}

TEST(rule_syntax)
{
	static const struct {
		const char *in, *canon;	/* canon NULL: refused */
	} t[] = {
		{ "github.com", "github.com" },
		{ "GitHub.COM", "github.com" },
		{ "*.githubusercontent.com", "*.githubusercontent.com" },
		{ "api.example.com:8443", "api.example.com:8443" },
		{ "*", "*" },
		{ "*:22", "*:22" },
		{ "10.1.2.0/24", "10.1.2.0/24" },
		{ "1.2.3.4", "1.2.3.4/32" },
		{ "1.2.3.4:22", "1.2.3.4/32:22" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "fd00::/8", "fd00::/8" },
		{ "my_host.internal", "my_host.internal" },
		{ "10.1.2.3/24", NULL },	/* host bits set */
		{ "10.1.2.0/33", NULL },
		{ "10.1.2.0/", NULL },
		{ "host:0", NULL },
		{ "host:65536", NULL },
		{ "host:", NULL },
		{ "host:http", NULL },
		{ "*.", NULL },
		{ "a.*.com", NULL },
		{ "**.com", NULL },
		{ "-bad.com", NULL },
		{ "bad-.com", NULL },
		{ "a..b", NULL },
		{ ".a", NULL },
		{ "a.", NULL },
		{ "spa ce", NULL },
		{ "", NULL },
		{ "x\"y", NULL },
	};
	char why[300];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct rule r;
		int ret = rule_parse(t[i].in, &r, why, sizeof(why));

		if (t[i].canon) {
			CHECK_EQ(ret, 0);
			if (ret == 0)
				CHECK_STR(r.text, t[i].canon);
		} else {
			if (ret != -EINVAL)
				fprintf(stderr, "accepted '%s'\n", t[i].in);
			CHECK_EQ(ret, -EINVAL);
			CHECK(why[0] != '\0');
		}
	}
	CHECK_EQ(rule_parse("10.1.2.3/24", &(struct rule){ 0 }, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "did you mean 10.1.2.0/24") != NULL);
}

static struct policy *mk(const char *const *allow, const char *const *deny)
{
	static struct policy p;
	char why[300];

	memset(&p, 0, sizeof(p));
	for (; allow && *allow; allow++)
		CHECK_EQ(policy_add_text(&p, false, *allow, "test", why, sizeof(why)), 0);
	for (; deny && *deny; deny++)
		CHECK_EQ(policy_add_text(&p, true, *deny, "test", why, sizeof(why)), 0);
	return &p;
}

TEST(names_and_ports)
{
	static const char *const allow[] = { "github.com", "*.githubusercontent.com",
		"api.example.com:8443", "gist.github.com", "*.corp.test:22", NULL };
	static const char *const deny[] = { "gist.github.com", "bad.corp.test:22", NULL };
	static const struct {
		const char *name;
		uint16_t port;
		bool allow, dns;
	} t[] = {
		{ "github.com", 443, true, true },
		{ "github.com", 80, true, true },
		{ "github.com", 22, false, true },	/* no port given: web ports */
		{ "api.github.com", 443, false, false },
		{ "raw.githubusercontent.com", 443, true, true },
		{ "a.b.githubusercontent.com", 443, true, true },
		{ "githubusercontent.com", 443, false, false },	/* *. is below only */
		{ "xgithubusercontent.com", 443, false, false },
		{ "api.example.com", 8443, true, true },
		{ "api.example.com", 443, false, true },
		{ "gist.github.com", 443, false, false },	/* deny beats allow */
		{ "git.corp.test", 22, true, true },
		{ "bad.corp.test", 22, false, true },	/* denied on 22 only */
		{ "example.org", 443, false, false },
	};
	struct policy *p = mk(allow, deny);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct verdict v;
		int rule;

		policy_name(p, t[i].name, t[i].port, &v);
		if (v.allow != t[i].allow)
			fprintf(stderr, "%s:%u: %s\n", t[i].name, t[i].port, v.why);
		CHECK_EQ(v.allow, t[i].allow);
		CHECK_EQ(policy_dns(p, t[i].name, &rule), t[i].dns);
		if (!v.allow)
			CHECK(strstr(v.why, t[i].name) != NULL);
	}
	{
		uint16_t ports[8];
		size_t n = policy_ports(p, ports, 8);

		CHECK_EQ(n, 4);
		CHECK_EQ(ports[0], 80);
		CHECK_EQ(ports[1], 443);
		CHECK_EQ(ports[2], 8443);
		CHECK_EQ(ports[3], 22);
	}
}

TEST(addresses)
{
	static const char *const allow[] = { "0.0.0.0/0", "10.1.2.0/24", "127.0.0.1",
		"203.0.113.5:22", NULL };
	static const char *const deny[] = { "1.2.3.0/24", NULL };
	static const struct {
		const char *addr;
		uint16_t port;
		bool own, raw, allow;
	} t[] = {
		{ "93.184.216.34", 443, false, false, true },
		{ "93.184.216.34", 443, false, true, true },	/* 0/0 allows raw public */
		{ "1.2.3.4", 443, false, false, false },	/* denied block */
		{ "10.1.2.7", 443, false, false, true },	/* named private block */
		{ "10.1.3.7", 443, false, false, false },	/* private, not named */
		{ "127.0.0.1", 80, false, false, true },	/* named */
		{ "127.0.0.2", 80, false, false, false },
		{ "169.254.169.254", 80, false, false, false },
		{ "100.64.1.1", 80, false, false, false },
		{ "224.0.0.1", 80, false, false, false },
		{ "198.18.0.5", 80, false, false, false },	/* our own names */
		{ "8.8.8.8", 80, true, false, false },		/* this host's address */
		{ "::1", 80, false, false, false },
		{ "::ffff:127.0.0.1", 80, false, false, false },
		{ "fd00:ec2::254", 80, false, false, false },
		{ "2606:4700::1", 80, false, false, true },
		{ "203.0.113.5", 22, false, false, true },	/* doc range, named */
		{ "203.0.113.5", 443, false, false, false },
	};
	struct policy *p = mk(allow, deny);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ip a;
		struct verdict v;

		CHECK_EQ(addr_parse(t[i].addr, &a), 0);
		policy_addr(p, &a, t[i].port, t[i].own, t[i].raw, &v);
		if (v.allow != t[i].allow)
			fprintf(stderr, "%s:%u: %s\n", t[i].addr, t[i].port, v.why);
		CHECK_EQ(v.allow, t[i].allow);
	}
	/* Without the catch-all, a public address dialled directly is not. */
	{
		static const char *const none[] = { "example.org", NULL };
		struct ip a;
		struct verdict v;

		p = mk(none, NULL);
		addr_parse("93.184.216.34", &a);
		policy_addr(p, &a, 443, false, true, &v);
		CHECK(!v.allow);
		CHECK(strstr(v.why, "not a name") != NULL);
		policy_addr(p, &a, 443, false, false, &v);
		CHECK(v.allow);
		addr_parse("10.9.9.9", &a);
		policy_addr(p, &a, 443, false, false, &v);
		CHECK(!v.allow);
		CHECK(strstr(v.why, "private") != NULL);
	}
}

TEST(classes)
{
	static const struct {
		const char *addr;
		enum addr_class c;
	} t[] = {
		{ "8.8.8.8", ADDR_PUBLIC },
		{ "0.1.2.3", ADDR_UNSPECIFIED },
		{ "10.0.0.1", ADDR_PRIVATE },
		{ "172.16.0.1", ADDR_PRIVATE },
		{ "172.31.255.255", ADDR_PRIVATE },
		{ "172.32.0.1", ADDR_PUBLIC },
		{ "192.168.1.1", ADDR_PRIVATE },
		{ "100.64.0.1", ADDR_CGNAT },
		{ "100.127.255.255", ADDR_CGNAT },
		{ "100.128.0.1", ADDR_PUBLIC },
		{ "127.0.0.1", ADDR_LOOPBACK },
		{ "169.254.1.1", ADDR_LINK_LOCAL },
		{ "169.254.169.254", ADDR_METADATA },
		{ "100.100.100.200", ADDR_METADATA },
		{ "168.63.129.16", ADDR_METADATA },
		{ "224.0.0.251", ADDR_MULTICAST },
		{ "255.255.255.255", ADDR_MULTICAST },
		{ "240.0.0.1", ADDR_RESERVED },
		{ "192.0.2.1", ADDR_RESERVED },
		{ "198.18.0.1", ADDR_SYNTHETIC },
		{ "198.19.255.254", ADDR_SYNTHETIC },
		{ "198.20.0.1", ADDR_PUBLIC },
		{ "::", ADDR_UNSPECIFIED },
		{ "::1", ADDR_LOOPBACK },
		{ "fe80::1", ADDR_LINK_LOCAL },
		{ "fc00::1", ADDR_PRIVATE },
		{ "fd00:ec2::254", ADDR_METADATA },
		{ "ff02::1", ADDR_MULTICAST },
		{ "2001:db8::1", ADDR_RESERVED },
		{ "::ffff:10.0.0.1", ADDR_PRIVATE },
		{ "::ffff:8.8.8.8", ADDR_PUBLIC },
		{ "64:ff9b::a9fe:a9fe", ADDR_METADATA },	/* NAT64 of 169.254.169.254 */
		{ "2002:7f00:1::", ADDR_LOOPBACK },		/* 6to4 of 127.0.0.1 */
		{ "2606:4700::1111", ADDR_PUBLIC },
		{ "3fff::1", ADDR_PUBLIC },
		{ "4000::1", ADDR_RESERVED },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct ip a;
		unsigned int plen;

		CHECK_EQ(addr_parse(t[i].addr, &a), 0);
		if (addr_classify(&a, &plen) != t[i].c)
			fprintf(stderr, "%s: %s\n", t[i].addr,
				addr_class_name(addr_classify(&a, &plen)));
		CHECK_EQ(addr_classify(&a, &plen), t[i].c);
	}
}

TEST(text_round_trip)
{
	static const char *const allow[] = { "github.com", "*.npmjs.org:8443", "10.0.0.0/8",
		NULL };
	static const char *const deny[] = { "gist.github.com", NULL };
	static struct policy back;
	static char text[POLICY_TEXT_MAX];
	struct policy *p = mk(allow, deny);
	char why[300];
	int n = policy_text_format(p, text, sizeof(text));

	CHECK(n > 0);
	CHECK_STR(text, "allow\tgithub.com\ttest\nallow\t*.npmjs.org:8443\ttest\n"
		  "allow\t10.0.0.0/8\ttest\ndeny\tgist.github.com\ttest\n");
	CHECK_EQ(policy_text_parse(&back, text, (size_t)n, why, sizeof(why)), 0);
	CHECK_EQ(back.n, 4);
	CHECK_EQ(policy_text_parse(&back, "allow\tx\n", 8, why, sizeof(why)), -EINVAL);
	CHECK_EQ(policy_text_parse(&back, "permit\tx\ts\n", 11, why, sizeof(why)), -EINVAL);
	CHECK_EQ(policy_text_parse(&back, "allow\tx\ts", 9, why, sizeof(why)), -EINVAL);
	CHECK_EQ(policy_text_parse(&back, "allow\tx y\ts\n", 12, why, sizeof(why)), -EINVAL);
	/* Presets: all parse; dev has registries and git hosting. */
	memset(&back, 0, sizeof(back));
	CHECK_EQ(policy_add_preset(&back, "dev", why, sizeof(why)), 0);
	CHECK(back.n > 10);
	CHECK(policy_dns(&back, "registry.npmjs.org", &n));
	CHECK(policy_dns(&back, "github.com", &n));
	CHECK(!policy_dns(&back, "example.org", &n));
	memset(&back, 0, sizeof(back));
	CHECK_EQ(policy_add_preset(&back, "none", why, sizeof(why)), 0);
	CHECK_EQ(back.n, 0);
	CHECK_EQ(policy_add_preset(&back, "open", why, sizeof(why)), 0);
	CHECK(policy_dns(&back, "anything.example", &n));
	CHECK_EQ(policy_add_preset(&back, "lots", why, sizeof(why)), -EINVAL);
}

TEST(resolv_conf)
{
	static const char conf[] = "# comment\nsearch x\nnameserver 10.255.255.53\n"
		"nameserver   ::1\nnameserver bogus\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n";
	struct ip s[3];
	char a[64];

	CHECK_EQ(resolver_parse_conf(conf, sizeof(conf) - 1, s, 3), 3);
	addr_format(&s[0], a, sizeof(a));
	CHECK_STR(a, "10.255.255.53");
	CHECK(s[1].v6);
	addr_format(&s[2], a, sizeof(a));
	CHECK_STR(a, "1.1.1.1");
	CHECK_EQ(resolver_parse_conf("", 0, s, 3), 0);
}

TEST(synthetic_names)
{
	struct names t;
	uint32_t a, b;
	int fresh;

	CHECK_EQ(names_init(&t), 0);
	CHECK_EQ(names_get(&t, "a.test", &a, &fresh), 0);
	CHECK(fresh);
	CHECK_EQ(a, 0xc6120001u);		/* 198.18.0.1 */
	CHECK_EQ(names_get(&t, "a.test", &b, &fresh), 0);
	CHECK(!fresh);
	CHECK_EQ(a, b);
	CHECK_STR(names_lookup(&t, a), "a.test");
	CHECK(names_lookup(&t, a + 1) == NULL);
	CHECK(names_lookup(&t, 0xc6120000u) == NULL);
	/* .0 and .255 are skipped; every address stands for one name. */
	for (int i = 0; i < 300; i++) {
		char name[32];

		snprintf(name, sizeof(name), "n%d.test", i);
		CHECK_EQ(names_get(&t, name, &b, &fresh), 0);
		CHECK((b & 255) != 0 && (b & 255) != 255);
		CHECK_STR(names_lookup(&t, b), name);
	}
	for (int i = 301; i < NAMES_MAX; i++) {
		char name[32];

		snprintf(name, sizeof(name), "m%d.test", i);
		CHECK_EQ(names_get(&t, name, &b, &fresh), 0);
	}
	CHECK_EQ(names_get(&t, "one.more", &b, &fresh), -ENOSPC);
	CHECK_EQ(names_get(&t, "a.test", &b, &fresh), 0);	/* old ones stay */
	names_free(&t);
}

CHECK_MAIN(TEST_ENTRY(rule_syntax), TEST_ENTRY(names_and_ports), TEST_ENTRY(addresses),
	   TEST_ENTRY(classes), TEST_ENTRY(text_round_trip), TEST_ENTRY(resolv_conf),
	   TEST_ENTRY(synthetic_names))
