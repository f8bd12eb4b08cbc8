/* Network policy rules and decisions: see policy.h. Rules are few (tens,
 * at most POLICY_MAX_RULES) and decisions are made once per connection or
 * DNS query, so every decision is a plain scan. */
#include "tools/gateway/policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char policy_preset_dev[];	/* presets/dev.rules, built in */

static const char preset_open[] =
	"# Every name, and every public address dialled directly; still never\n"
	"# this host, its LAN or a metadata service (no rule here names them).\n"
	"*\n"
	"0.0.0.0/0\n";

static int fail(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why && size) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A host name: labels of [a-z0-9_-] (upper case folded), 1-63 bytes each,
 * 253 in all, not starting or ending with '-'. */
static bool host_ok(const char *s, size_t len, char *out)
{
	size_t label = 0;

	if (len == 0 || len > DNS_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			   c == '_' || (c == '-' && label > 0)) {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = c;
	}
	out[len] = '\0';
	return label > 0 && s[len - 1] != '-';
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < 1 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int parse_cidr(const char *s, struct rule *r, char *why, size_t size)
{
	char buf[64], *slash;
	unsigned int max;
	struct ip host;

	if (strlen(s) >= sizeof(buf))
		return fail(why, size, "'%s' is not an address or CIDR block", s);
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (addr_parse(buf, &r->net))
		return fail(why, size, "'%s' is not an address or CIDR block", s);
	max = r->net.v6 ? 128 : 32;
	r->plen = max;
	if (slash) {
		char *end;
		unsigned long v = strtoul(slash, &end, 10);

		if (!*slash || *end || v > max || (slash[0] == '0' && slash[1]))
			return fail(why, size, "'%s': the prefix length must be 0 to %u",
				    s, max);
		r->plen = (unsigned int)v;
	}
	/* Host bits set is a typo more often than not: say so. */
	host = r->net;
	for (unsigned int bit = r->plen; bit < max; bit++)
		host.b[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	if (memcmp(host.b, r->net.b, sizeof(host.b)) != 0) {
		char net[64];

		addr_format(&host, net, sizeof(net));
		return fail(why, size, "'%s' has bits set past /%u: did you mean %s/%u?",
			    s, r->plen, net, r->plen);
	}
	r->kind = RULE_CIDR;
	return 0;
}

int rule_parse(const char *s, struct rule *r, char *why, size_t size)
{
	char body[POLICY_RULE_TEXT_MAX], portbuf[8] = "";
	const char *colon;
	size_t len = strlen(s), blen;

	memset(r, 0, sizeof(*r));
	if (len == 0 || len >= POLICY_RULE_TEXT_MAX)
		return fail(why, size, "a rule is 1 to %d bytes: '%.40s...'",
			    POLICY_RULE_TEXT_MAX - 1, s);
	/* An IPv6 block has colons of its own and takes no port. */
	colon = strrchr(s, ':');
	if (colon && strchr(s, ':') == colon) {
		blen = (size_t)(colon - s);
		if (parse_port(colon + 1, &r->port))
			return fail(why, size, "'%s': the port must be a number from 1 "
				    "to 65535", s);
		snprintf(portbuf, sizeof(portbuf), ":%u", r->port);
	} else {
		blen = len;
	}
	memcpy(body, s, blen);
	body[blen] = '\0';

	if (strcmp(body, "*") == 0) {
		r->kind = RULE_ANY;
	} else if (strncmp(body, "*.", 2) == 0) {
		if (!host_ok(body + 2, blen - 2, r->host))
			return fail(why, size, "'%s': after '*.' a domain name is "
				    "needed", s);
		r->kind = RULE_SUFFIX;
	} else if (strchr(body, '/') || addr_parse(body, &r->net) == 0 ||
		   (colon && strchr(s, ':') != colon)) {
		if (parse_cidr(colon && strchr(s, ':') != colon ? s : body, r, why,
			       size))
			return -EINVAL;
	} else if (host_ok(body, blen, r->host)) {
		r->kind = RULE_HOST;
	} else {
		return fail(why, size, "'%s' is not a rule: expected host, *.domain, "
			    "host:port or a CIDR block such as 10.1.2.0/24", s);
	}
	switch (r->kind) {
	case RULE_HOST:
		snprintf(r->text, sizeof(r->text), "%s%s", r->host, portbuf);
		break;
	case RULE_SUFFIX:
		snprintf(r->text, sizeof(r->text), "*.%s%s", r->host, portbuf);
		break;
	case RULE_ANY:
		snprintf(r->text, sizeof(r->text), "*%s", portbuf);
		break;
	case RULE_CIDR: {
		char net[64];

		addr_format(&r->net, net, sizeof(net));
		snprintf(r->text, sizeof(r->text), "%s/%u%s", net, r->plen, portbuf);
		break;
	}
	}
	return 0;
}

int policy_add(struct policy *p, const struct rule *r, const char *source)
{
	size_t s;

	for (size_t i = 0; i < p->n; i++)
		if (p->rules[i].deny == r->deny && strcmp(p->rules[i].text, r->text) == 0)
			return 0;
	if (p->n >= POLICY_MAX_RULES)
		return -E2BIG;
	for (s = 0; s < p->nsources; s++)
		if (strcmp(p->sources[s], source) == 0)
			break;
	if (s == p->nsources) {
		if (p->nsources >= POLICY_MAX_SOURCES)
			return -E2BIG;
		snprintf(p->sources[s], POLICY_SOURCE_MAX, "%s", source);
		p->nsources++;
	}
	p->rules[p->n] = *r;
	p->rules[p->n].source = (uint8_t)s;
	p->n++;
	return 0;
}

int policy_add_text(struct policy *p, bool deny, const char *text,
		    const char *source, char *why, size_t size)
{
	struct rule r;
	int ret = rule_parse(text, &r, why, size);

	if (ret)
		return ret;
	r.deny = deny;
	ret = policy_add(p, &r, source);
	if (ret)
		return fail(why, size, "more than %d rules or %d sources",
			    POLICY_MAX_RULES, POLICY_MAX_SOURCES);
	return 0;
}

const char *policy_preset(const char *name)
{
	if (strcmp(name, "none") == 0)
		return "";
	if (strcmp(name, "dev") == 0)
		return policy_preset_dev;
	if (strcmp(name, "open") == 0)
		return preset_open;
	return NULL;
}

int policy_add_preset(struct policy *p, const char *name, char *why, size_t size)
{
	const char *text = policy_preset(name), *line;
	char source[64];

	if (!text)
		return fail(why, size, "no preset '%s' (none, dev, open)", name);
	snprintf(source, sizeof(source), "preset %s", name);
	for (line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char rule[POLICY_RULE_TEXT_MAX];
		bool deny = false;
		const char *r;

		if (len < sizeof(rule)) {
			memcpy(rule, line, len);
			rule[len] = '\0';
			r = rule + strspn(rule, " \t");
			rule[strcspn(rule, "#")] = '\0';
			for (size_t e = strlen(rule); e > 0 && strchr(" \t", rule[e - 1]); e--)
				rule[e - 1] = '\0';
			if (strncmp(r, "deny ", 5) == 0) {
				deny = true;
				r += 5 + strspn(r + 5, " ");
			}
			if (*r && policy_add_text(p, deny, r, source, why, size))
				return -EINVAL;
		}
		line += len + (nl ? 1 : 0);
	}
	return 0;
}

int policy_text_format(const struct policy *p, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];
		int k = snprintf(out + n, size - n, "%s\t%s\t%s\n",
				 r->deny ? "deny" : "allow", r->text,
				 p->sources[r->source]);

		if (k < 0 || (size_t)k >= size - n)
			return -ENOSPC;
		n += (size_t)k;
	}
	if (n < size)
		out[n] = '\0';
	return (int)n;
}

int policy_text_parse(struct policy *p, const char *text, size_t len,
		      char *why, size_t size)
{
	size_t off = 0;
	int line = 0;

	p->n = p->nsources = 0;
	if (len > POLICY_TEXT_MAX)
		return fail(why, size, "the policy is longer than %d bytes",
			    POLICY_TEXT_MAX);
	while (off < len) {
		const char *start = text + off, *nl = memchr(start, '\n', len - off);
		char buf[POLICY_RULE_TEXT_MAX + POLICY_SOURCE_MAX + 16];
		char *action, *rule, *source, *save;
		size_t l;

		line++;
		if (!nl)
			return fail(why, size, "line %d does not end", line);
		l = (size_t)(nl - start);
		off += l + 1;
		if (l >= sizeof(buf) || memchr(start, '\0', l))
			return fail(why, size, "line %d is too long", line);
		memcpy(buf, start, l);
		buf[l] = '\0';
		action = strtok_r(buf, "\t", &save);
		rule = strtok_r(NULL, "\t", &save);
		source = strtok_r(NULL, "\t", &save);
		if (!action || !rule || !source || strtok_r(NULL, "\t", &save) ||
		    (strcmp(action, "allow") && strcmp(action, "deny")))
			return fail(why, size, "line %d is not ACTION<TAB>RULE<TAB>SOURCE",
				    line);
		if (policy_add_text(p, strcmp(action, "deny") == 0, rule, source,
				    why, size))
			return -EINVAL;
	}
	return 0;
}

/* Does a name rule cover name? */
static bool name_match(const struct rule *r, const char *name)
{
	size_t nl, dl;

	switch (r->kind) {
	case RULE_ANY:
		return true;
	case RULE_HOST:
		return strcmp(r->host, name) == 0;
	case RULE_SUFFIX:
		nl = strlen(name);
		dl = strlen(r->host);
		return nl > dl + 1 && name[nl - dl - 1] == '.' &&
		       strcmp(name + nl - dl, r->host) == 0;
	case RULE_CIDR:
		return false;
	}
	return false;
}

static bool web_port(uint16_t port)
{
	return port == 80 || port == 443;
}

/* Does rule r cover port? A portless allow covers the web ports, a
 * portless deny every port; a portless CIDR rule every port. */
static bool port_match(const struct rule *r, uint16_t port)
{
	if (r->port)
		return r->port == port;
	return r->deny || r->kind == RULE_CIDR || web_port(port);
}

static void say(struct verdict *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

bool policy_dns(const struct policy *p, const char *name, int *rule)
{
	int allow = -1;

	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];

		if (!name_match(r, name))
			continue;
		if (r->deny && !r->port) {
			*rule = (int)i;
			return false;
		}
		if (!r->deny && allow < 0)
			allow = (int)i;
	}
	*rule = allow;
	return allow >= 0;
}

void policy_name(const struct policy *p, const char *name, uint16_t port,
		 struct verdict *v)
{
	int allow = -1;

	v->allow = false;
	v->rule = -1;
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];

		if (!name_match(r, name) || !port_match(r, port))
			continue;
		if (r->deny) {
			v->rule = (int)i;
			say(v, "%s is denied by the rule %s (%s)", name, r->text,
			    p->sources[r->source]);
			return;
		}
		if (allow < 0)
			allow = (int)i;
	}
	if (allow < 0) {
		if (web_port(port))
			say(v, "%s is not allowed", name);
		else
			say(v, "%s:%u is not allowed", name, port);
		return;
	}
	v->allow = true;
	v->rule = allow;
	v->why[0] = '\0';
}

void policy_addr(const struct policy *p, const struct ip *a, uint16_t port,
		 bool own, bool raw, struct verdict *v)
{
	unsigned int cplen;
	enum addr_class c = addr_classify(a, &cplen);
	char text[64];
	int allow = -1;

	/* The host's own addresses count as special, however public. */
	if (own && c == ADDR_PUBLIC)
		cplen = 1;
	addr_format(a, text, sizeof(text));
	v->allow = false;
	v->rule = -1;
	for (size_t i = 0; i < p->n; i++) {
		const struct rule *r = &p->rules[i];

		if (r->kind != RULE_CIDR || !port_match(r, port) ||
		    !addr_in(a, &r->net, r->plen))
			continue;
		if (r->deny) {
			v->rule = (int)i;
			say(v, "%s is denied by the rule %s (%s)", text, r->text,
			    p->sources[r->source]);
			return;
		}
		/* A special address needs a rule inside its range: 0.0.0.0/0
		 * (preset open) names no one's loopback. */
		if (allow < 0 && (c == ADDR_PUBLIC && !own ? true : r->plen >= cplen))
			allow = (int)i;
	}
	if (allow >= 0) {
		v->allow = true;
		v->rule = allow;
		v->why[0] = '\0';
		return;
	}
	if (raw)
		say(v, "%s is an address, not a name, and is not allowed", text);
	else if (c == ADDR_SYNTHETIC)
		say(v, "it resolves to %s, in the range of the sandbox's own names",
		    text);
	else if (c != ADDR_PUBLIC)
		say(v, "it resolves to %s, a %s address", text, addr_class_name(c));
	else if (own)
		say(v, "it resolves to %s, an address of this host", text);
	else {
		v->allow = true;	/* public, by a name the policy allows */
		v->why[0] = '\0';
	}
}

size_t policy_ports(const struct policy *p, uint16_t *ports, size_t max)
{
	size_t n = 0;

	if (max >= 2) {
		ports[n++] = 80;
		ports[n++] = 443;
	}
	for (size_t i = 0; i < p->n && n < max; i++) {
		const struct rule *r = &p->rules[i];
		bool have = false;

		if (r->deny || !r->port)
			continue;
		for (size_t j = 0; j < n; j++)
			have |= ports[j] == r->port;
		if (!have)
			ports[n++] = r->port;
	}
	return n;
}

void policy_rule_label(const struct policy *p, int rule, char *out, size_t size)
{
	if (rule < 0 || (size_t)rule >= p->n)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%s (%s)", p->rules[rule].text,
			 p->sources[p->rules[rule].source]);
}
