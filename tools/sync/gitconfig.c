/* git config and attributes, as much as quarantine decisions need: see
 * gitconfig.h. Written after git's config.c rules (parse_value,
 * get_base_var, get_extended_base_var). */
#include "tools/sync/gitconfig.h"
#include "lib/pathmatch.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- lists ---- */

static int add(struct strlist *l, const char *s, size_t len)
{
	char *c;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **p = realloc(l->s, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->s = p;
		l->cap = cap;
	}
	c = malloc(len + 1);
	if (!c)
		return -ENOMEM;
	memcpy(c, s, len);
	c[len] = 0;
	l->s[l->n++] = c;
	return 0;
}

void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
	l->s = NULL;
	l->n = l->cap = 0;
}

const char *strlist_added(const struct strlist *old, const struct strlist *new_)
{
	bool *used = old->n ? calloc(old->n, sizeof(*used)) : NULL;
	const char *added = NULL;

	if (old->n && !used)
		return new_->n ? new_->s[0] : NULL;	/* cannot tell: say so */
	for (size_t i = 0; i < new_->n && !added; i++) {
		bool found = false;

		for (size_t k = 0; k < old->n && !found; k++) {
			if (!used[k] && strcmp(old->s[k], new_->s[i]) == 0) {
				used[k] = true;
				found = true;
			}
		}
		if (!found)
			added = new_->s[i];
	}
	free(used);
	return added;
}

/* ---- rules ---- */

void gitcfg_rule_free(struct gitcfg_rule *r)
{
	free(r->section);
	free(r->sub);
	free(r->key);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

static char *lower_dup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	d[n] = 0;
	return d;
}

int gitcfg_rule_parse(const char *text, struct gitcfg_rule *r)
{
	const char *eq = strchr(text, '=');
	size_t klen = eq ? (size_t)(eq - text) : strlen(text);
	const char *first = memchr(text, '.', klen), *last;

	memset(r, 0, sizeof(*r));
	if (!first || first == text)
		return -EINVAL;
	for (last = text + klen - 1; *last != '.'; last--)
		;
	if (last + 1 == text + klen)
		return -EINVAL;
	r->section = lower_dup(text, (size_t)(first - text));
	r->key = lower_dup(last + 1, (size_t)(text + klen - last - 1));
	if (last > first) {
		r->sub = strndup(first + 1, (size_t)(last - first - 1));
	} else if (strcmp(r->key ? r->key : "", "*") == 0) {
		r->any_sub = true;
	}
	if (eq)
		r->value = strdup(eq + 1);
	if (!r->section || !r->key || (last > first && !r->sub) || (eq && !r->value)) {
		gitcfg_rule_free(r);
		return -ENOMEM;
	}
	return 0;
}

static bool rule_match(const struct gitcfg_rule *r, const char *section,
		       const char *sub, const char *key, const char *value)
{
	if (!pathmatch_glob(r->section, section))
		return false;
	if (r->any_sub) {
		/* "section.*": every key of the section, in any subsection. */
	} else if (r->sub) {
		if (!sub || (strcmp(r->sub, "*") != 0 && strcmp(r->sub, sub) != 0))
			return false;
		if (!pathmatch_glob(r->key, key))
			return false;
	} else {
		if (sub || !pathmatch_glob(r->key, key))
			return false;
	}
	return !r->value || pathmatch_glob(r->value, value);
}

/* ---- the config parser ---- */

struct cfg {
	const char *p, *end;
	char section[256], sub[1024];
	bool have_sub;
};

static bool at_end(const struct cfg *c)
{
	return c->p >= c->end;
}

static int peek(const struct cfg *c)
{
	return at_end(c) ? -1 : (unsigned char)*c->p;
}

static void skip_blank(struct cfg *c)
{
	while (!at_end(c) && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
		c->p++;
}

static void skip_line(struct cfg *c)
{
	while (!at_end(c) && *c->p != '\n')
		c->p++;
	if (!at_end(c))
		c->p++;
}

/* After '[': the section name, then "subsection" or ']' (or the legacy
 * [section.sub] form, whose subsection git lowercases). */
static int header(struct cfg *c)
{
	size_t n = 0, s = 0;

	c->have_sub = false;
	while (!at_end(c) && (isalnum((unsigned char)*c->p) || *c->p == '-' || *c->p == '.')) {
		if (n + 1 >= sizeof(c->section))
			return -EINVAL;
		c->section[n++] = (char)tolower((unsigned char)*c->p++);
	}
	c->section[n] = 0;
	if (n == 0)
		return -EINVAL;
	if (peek(c) == ']') {
		char *dot = strchr(c->section, '.');

		c->p++;
		if (dot) {
			snprintf(c->sub, sizeof(c->sub), "%s", dot + 1);
			*dot = 0;
			c->have_sub = true;
		}
		return 0;
	}
	if (peek(c) != ' ' && peek(c) != '\t')
		return -EINVAL;
	skip_blank(c);
	if (peek(c) != '"')
		return -EINVAL;
	c->p++;
	while (!at_end(c) && *c->p != '"') {
		char ch = *c->p++;

		if (ch == '\n')
			return -EINVAL;
		if (ch == '\\') {
			if (at_end(c) || *c->p == '\n')
				return -EINVAL;
			ch = *c->p++;
		}
		if (s + 1 >= sizeof(c->sub))
			return -EINVAL;
		c->sub[s++] = ch;
	}
	if (at_end(c))
		return -EINVAL;
	c->p++;
	c->sub[s] = 0;
	c->have_sub = true;
	if (peek(c) != ']')
		return -EINVAL;
	c->p++;
	return 0;
}

/* A value up to the end of its (possibly continued) line. */
static int value(struct cfg *c, char *out, size_t size)
{
	bool quoted = false;
	size_t n = 0, keep = 0;	/* keep: length without trailing blanks */

	skip_blank(c);
	while (!at_end(c)) {
		char ch = *c->p++;

		if (ch == '\n') {
			if (quoted)
				return -EINVAL;
			break;
		}
		if (!quoted && (ch == ';' || ch == '#')) {
			skip_line(c);
			break;
		}
		if (ch == '"') {
			quoted = !quoted;
			keep = n;
			continue;
		}
		if (ch == '\\') {
			if (at_end(c))
				return -EINVAL;
			ch = *c->p++;
			switch (ch) {
			case '\n':
				continue;	/* a continued line */
			case '\r':
				if (peek(c) == '\n') {
					c->p++;
					continue;
				}
				return -EINVAL;
			case 'n':
				ch = '\n';
				break;
			case 't':
				ch = '\t';
				break;
			case 'b':
				ch = '\b';
				break;
			case '\\':
			case '"':
				break;
			default:
				return -EINVAL;
			}
			if (n + 1 >= size)
				return -EINVAL;
			out[n++] = ch;
			keep = n;
			continue;
		}
		if (n + 1 >= size)
			return -EINVAL;
		out[n++] = ch;
		if (quoted || (ch != ' ' && ch != '\t' && ch != '\r'))
			keep = n;
	}
	if (quoted)
		return -EINVAL;
	out[keep] = 0;
	return 0;
}

int gitcfg_collect(const char *text, size_t len, const struct gitcfg_rule *rules,
		   size_t nrules, struct strlist *out)
{
	struct cfg c = { .p = text, .end = text + len };
	static char val[65536];
	char key[256], item[sizeof(val) + 1600];
	bool in_section = false;

	while (!at_end(&c)) {
		size_t k = 0;
		int r;

		skip_blank(&c);
		if (at_end(&c))
			break;
		if (*c.p == '\n') {
			c.p++;
			continue;
		}
		if (*c.p == '#' || *c.p == ';') {
			skip_line(&c);
			continue;
		}
		if (*c.p == '[') {
			c.p++;
			if (header(&c) < 0)
				return -EINVAL;
			in_section = true;
			skip_blank(&c);
			continue;	/* a key may follow on the same line */
		}
		if (!in_section || !isalpha((unsigned char)*c.p))
			return -EINVAL;
		while (!at_end(&c) && (isalnum((unsigned char)*c.p) || *c.p == '-')) {
			if (k + 1 >= sizeof(key))
				return -EINVAL;
			key[k++] = (char)tolower((unsigned char)*c.p++);
		}
		key[k] = 0;
		skip_blank(&c);
		if (at_end(&c) || *c.p == '\n' || *c.p == '#' || *c.p == ';') {
			strcpy(val, "true");	/* a key alone is a boolean */
			skip_line(&c);
		} else if (*c.p == '=') {
			c.p++;
			if (value(&c, val, sizeof(val)) < 0)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		for (size_t i = 0; i < nrules; i++) {
			const char *sub = c.have_sub ? c.sub : NULL;

			if (!rule_match(&rules[i], c.section, sub, key, val))
				continue;
			if (sub)
				snprintf(item, sizeof(item), "%s.%s.%s=%s", c.section, sub, key, val);
			else
				snprintf(item, sizeof(item), "%s.%s=%s", c.section, key, val);
			r = add(out, item, strlen(item));
			if (r < 0)
				return r;
			break;
		}
	}
	return 0;
}

/* ---- attributes ---- */

int gitattr_collect(const char *text, size_t len, char *const *attrs, size_t nattrs,
		    struct strlist *out)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		const char *line = text + i;
		char norm[8192];
		size_t o = 0, start = 0;
		bool driver = false, first = true;

		i += n + 1;
		while (start < n && (line[start] == ' ' || line[start] == '\t'))
			start++;
		if (start == n || line[start] == '#')
			continue;
		/* Tokens split on blanks; a quoted pattern is one token. */
		for (size_t p = start; p < n;) {
			size_t t = p;
			bool q = line[p] == '"';

			if (q) {
				for (t = p + 1; t < n && line[t] != '"'; t++)
					if (line[t] == '\\' && t + 1 < n)
						t++;
				t = t < n ? t + 1 : n;
			} else {
				while (t < n && line[t] != ' ' && line[t] != '\t' && line[t] != '\r')
					t++;
			}
			if (!first) {
				for (size_t a = 0; a < nattrs; a++) {
					size_t al = strlen(attrs[a]);

					if (t - p > al + 1 && strncmp(line + p, attrs[a], al) == 0 &&
					    line[p + al] == '=')
						driver = true;
				}
			}
			if (o + (t - p) + 2 < sizeof(norm)) {
				if (o)
					norm[o++] = ' ';
				memcpy(norm + o, line + p, t - p);
				o += t - p;
			}
			first = false;
			p = t;
			while (p < n && (line[p] == ' ' || line[p] == '\t' || line[p] == '\r'))
				p++;
		}
		if (driver) {
			int r = add(out, norm, o);

			if (r < 0)
				return r;
		}
	}
	return 0;
}
