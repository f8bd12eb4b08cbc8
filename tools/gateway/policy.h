/* The network policy of one sandbox: rules, where each came from, and the
 * decisions made with them. Rules are `host`, `*.domain`, `*` (any name),
 * each with an optional `:port`, and CIDR blocks (`10.1.2.0/24`, a bare
 * address, optionally `:port`). A name rule without a port allows the web
 * ports 80 and 443 and denies every port; deny beats allow. Special
 * addresses (addr.h) and the host's own are reached only through a CIDR
 * allow rule that lies inside their range. Pure code, shared by the
 * gateway and the CLI (tests/unit/test_gateway_policy.c). */
#ifndef AIRLOCK_GATEWAY_POLICY_H
#define AIRLOCK_GATEWAY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/gateway/addr.h"
#include "tools/gateway/dns.h"

#define POLICY_MAX_RULES 1024
#define POLICY_RULE_TEXT_MAX 272	/* "*." + a name + ":65535" */
#define POLICY_MAX_SOURCES 16
#define POLICY_SOURCE_MAX 320
#define POLICY_MAX_PORTS 64		/* ports the sandbox's namespace listens on */
/* The policy as text (policy_text_*) is at most this long. */
#define POLICY_TEXT_MAX (POLICY_MAX_RULES * (POLICY_RULE_TEXT_MAX + 16) + \
			 POLICY_MAX_SOURCES * POLICY_SOURCE_MAX)

enum rule_kind { RULE_HOST, RULE_SUFFIX, RULE_ANY, RULE_CIDR };

struct rule {
	enum rule_kind kind;
	bool deny;
	uint16_t port;		/* 0: none given */
	uint8_t source;		/* index into policy.sources */
	unsigned int plen;	/* CIDR */
	struct ip net;		/* CIDR */
	char host[DNS_NAME_MAX + 1];	/* HOST: the name; SUFFIX: the domain */
	char text[POLICY_RULE_TEXT_MAX];	/* canonical form */
};

struct policy {
	size_t n, nsources;
	struct rule rules[POLICY_MAX_RULES];
	char sources[POLICY_MAX_SOURCES][POLICY_SOURCE_MAX];
};

/* Parses one rule (not its action or source). -EINVAL with why[] saying
 * what is wrong, for the user. */
int rule_parse(const char *s, struct rule *r, char *why, size_t size);

/* Appends a rule with its source (a path, "preset dev", "--allow"...).
 * -E2BIG when full. A rule already there with the same action is kept
 * once (its first source). */
int policy_add(struct policy *p, const struct rule *r, const char *source);
/* Parses and adds; -EINVAL with why[] as for rule_parse. */
int policy_add_text(struct policy *p, bool deny, const char *rule,
		    const char *source, char *why, size_t size);

/* The rules of a preset ("none", "dev", "open"); NULL if there is no such
 * preset. One rule a line, '#' comments. */
const char *policy_preset(const char *name);
/* Adds a preset's rules with source "preset NAME". */
int policy_add_preset(struct policy *p, const char *name, char *why,
		      size_t size);

/* The policy as lines "allow|deny<TAB>RULE<TAB>SOURCE\n", and back (how
 * the CLI hands a policy to the gateway). parse: -EINVAL with why[]. */
int policy_text_format(const struct policy *p, char *out, size_t size);
int policy_text_parse(struct policy *p, const char *text, size_t len,
		      char *why, size_t size);

struct verdict {
	bool allow;
	int rule;		/* the deciding rule, -1 if none */
	char why[320];		/* for the log and the 403 body */
};

/* Does the guest get an address for name? True if some allow rule names
 * it (on any port) and no portless deny rule does; *rule is the deciding
 * rule (-1 if none). Only host names (dns_query.host) can be allowed. */
bool policy_dns(const struct policy *p, const char *name, int *rule);

/* A connection to name:port, before the name is resolved. */
void policy_name(const struct policy *p, const char *name, uint16_t port,
		 struct verdict *v);
/* One address name resolved to, for that connection (own: it is one of
 * this host's addresses), or an address the guest dialled itself (raw:
 * only a CIDR allow rule lets that through). */
void policy_addr(const struct policy *p, const struct ip *a, uint16_t port,
		 bool own, bool raw, struct verdict *v);

/* The TCP ports the sandbox's namespace listens on: 80, 443 and every
 * port an allow rule names. Returns how many (at most max). */
size_t policy_ports(const struct policy *p, uint16_t *ports, size_t max);

/* "github.com (preset dev)": a rule and where it came from. */
void policy_rule_label(const struct policy *p, int rule, char *out,
		       size_t size);

#endif
