/* gitignore-style matching: see pathmatch.h. */
#include "lib/pathmatch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void pathmatch_init(struct pathmatch *m)
{
	m->pat = NULL;
	m->n = m->cap = 0;
}

void pathmatch_free(struct pathmatch *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->pat[i].glob);
	free(m->pat);
	pathmatch_init(m);
}

int pathmatch_add(struct pathmatch *m, const char *line, size_t len)
{
	struct pathmatch_pattern p = { 0 };
	size_t start = 0;

	if (len && line[len - 1] == '\r')
		len--;
	/* Trailing blanks go unless escaped with a backslash. */
	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t') &&
	       !(len >= 2 && line[len - 2] == '\\'))
		len--;
	if (len == 0 || line[0] == '#')
		return 0;
	if (line[0] == '!') {
		p.negate = true;
		start = 1;
	} else if (line[0] == '\\' && len > 1 && (line[1] == '#' || line[1] == '!')) {
		start = 1;
	}
	if (len > start && line[len - 1] == '/') {
		p.dir_only = true;
		len--;
	}
	if (len > start && line[start] == '/') {
		p.anchored = true;
		start++;
	}
	if (len <= start)
		return 0;
	if (memchr(line + start, '/', len - start))
		p.anchored = true;
	p.glob = malloc(len - start + 1);
	if (!p.glob)
		return -ENOMEM;
	memcpy(p.glob, line + start, len - start);
	p.glob[len - start] = 0;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct pathmatch_pattern *np = realloc(m->pat, cap * sizeof(*np));

		if (!np) {
			free(p.glob);
			return -ENOMEM;
		}
		m->pat = np;
		m->cap = cap;
	}
	m->pat[m->n++] = p;
	return 0;
}

int pathmatch_add_text(struct pathmatch *m, const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		int r = pathmatch_add(m, text + i, n);

		if (r < 0)
			return r;
		i += n + 1;
	}
	return 0;
}

/* [...] at *pp against c; advances *pp past the class. A class that never
 * closes matches a literal '['. */
static bool class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') {	/* a leading ']' is literal */
		hit |= c == ']';
		p++;
	}
	while (*p && *p != ']') {
		char lo = *p, hi;

		if (lo == '\\' && p[1])
			lo = *++p;
		hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			p += 2;
			hi = *p;
			if (hi == '\\' && p[1])
				hi = *++p;
		}
		if ((unsigned char)c >= (unsigned char)lo &&
		    (unsigned char)c <= (unsigned char)hi)
			hit = true;
		p++;
	}
	if (*p != ']') {
		*pp += 1;
		return c == '[';
	}
	*pp = p + 1;
	return c != '/' && hit != neg;
}

static bool glob_at(const char *start, const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*' && (p == start || p[-1] == '/') &&
		    (p[2] == '/' || p[2] == 0)) {
			if (p[2] == 0)
				return true;	/* "**" at the end: everything */
			/* "**" + "/": zero or more whole names. */
			for (const char *t = s;;) {
				if (glob_at(start, p + 3, t))
					return true;
				t = strchr(t, '/');
				if (!t)
					return false;
				t++;
			}
		}
		if (*p == '*') {
			while (*p == '*')
				p++;
			for (const char *t = s;; t++) {
				if (glob_at(start, p, t))
					return true;
				if (*t == 0 || *t == '/')
					return false;
			}
		}
		if (*s == 0)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
		} else if (*p == '[') {
			if (!class_match(&p, *s))
				return false;
			s++;
			continue;
		} else {
			if (*p == '\\' && p[1])
				p++;
			if (*p != *s)
				return false;
		}
		p++;
		s++;
	}
	return *s == 0;
}

bool pathmatch_glob(const char *glob, const char *path)
{
	return glob_at(glob, glob, path);
}

static bool pattern_match(const struct pathmatch_pattern *p, const char *path,
			  bool is_dir)
{
	const char *base;

	if (p->dir_only && !is_dir)
		return false;
	if (p->anchored)
		return pathmatch_glob(p->glob, path);
	base = strrchr(path, '/');
	return pathmatch_glob(p->glob, base ? base + 1 : path);
}

/* The last pattern that matches path itself decides. */
static bool decide(const struct pathmatch *m, const char *path, bool is_dir)
{
	for (size_t i = m->n; i-- > 0;)
		if (pattern_match(&m->pat[i], path, is_dir))
			return !m->pat[i].negate;
	return false;
}

bool pathmatch_match(const struct pathmatch *m, const char *path, bool is_dir)
{
	char buf[4096];
	size_t len = strlen(path);

	if (m->n == 0)
		return false;
	if (len >= sizeof(buf))
		return decide(m, path, is_dir);
	memcpy(buf, path, len + 1);
	/* Each parent directory first: a matched one takes all below it. */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = 0;
		if (decide(m, buf, true))
			return true;
		buf[i] = '/';
	}
	return decide(m, buf, is_dir);
}
