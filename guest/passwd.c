/* /etc/passwd and /etc/group, parsed by hand: see passwd.h. Every field is
 * a (pointer, length) slice of the caller's text, checked before it is
 * copied; nothing here assumes the text is NUL-terminated or well formed. */
#include "guest/passwd.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define PASSWD_FIELDS 7
#define GROUP_FIELDS 4

struct slice {
	const char *p;
	size_t n;
};

bool passwd_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > PASSWD_NAME_MAX || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Next line of text at *pos (without its '\n'); false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos,
		      struct slice *line)
{
	const char *nl;

	if (*pos >= len)
		return false;
	line->p = text + *pos;
	nl = memchr(line->p, '\n', len - *pos);
	line->n = nl ? (size_t)(nl - line->p) : len - *pos;
	*pos += line->n + 1;
	return true;
}

/* Splits line at ':' into exactly want fields; false for any other count. */
static bool split(struct slice line, struct slice *f, size_t want)
{
	size_t k = 0;

	f[0].p = line.p;
	for (size_t i = 0; i < line.n; i++) {
		if (line.p[i] != ':')
			continue;
		f[k].n = (size_t)(line.p + i - f[k].p);
		if (++k == want)
			return false;
		f[k].p = line.p + i + 1;
	}
	f[k].n = (size_t)(line.p + line.n - f[k].p);
	return k + 1 == want;
}

static bool slice_is(struct slice s, const char *str)
{
	return s.n == strlen(str) && memcmp(s.p, str, s.n) == 0;
}

/* A uid or gid: decimal, no sign, below (uint32_t)-1, which means "none". */
static bool parse_id(struct slice s, uint32_t *out)
{
	uint64_t v = 0;

	if (s.n == 0 || s.n > 10)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int copy_field(char *dst, size_t size, struct slice s, const char *dflt)
{
	if (memchr(s.p, '\0', s.n))
		return -EINVAL;
	if (s.n == 0) {
		s.p = dflt;
		s.n = strlen(dflt);
	}
	if (s.n >= size)
		return -ENAMETOOLONG;
	memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return 0;
}

/* The fields of a passwd line, checked, into u (the name is checked by the
 * caller). */
static int fill_user(const struct slice *f, struct passwd_user *u)
{
	uint32_t uid, gid;
	int ret;

	if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
		return -EINVAL;
	/* A relative home would make HOME and the cwd mean nothing. */
	if (f[5].n > 0 && f[5].p[0] != '/')
		return -EINVAL;
	ret = copy_field(u->home, sizeof(u->home), f[5], "/");
	if (ret == 0)
		ret = copy_field(u->shell, sizeof(u->shell), f[6], "/bin/sh");
	if (ret < 0)
		return ret;
	memcpy(u->name, f[0].p, f[0].n);
	u->name[f[0].n] = '\0';
	u->uid = uid;
	u->gid = gid;
	u->groups[0] = gid;
	u->ngroups = 1;
	return 0;
}

int passwd_find(const char *text, size_t len, const char *name,
		struct passwd_user *u)
{
	struct slice line, f[PASSWD_FIELDS];
	size_t pos = 0;

	if (!passwd_name_valid(name))
		return -EINVAL;
	while (next_line(text, len, &pos, &line)) {
		/* The name is the first field whatever the rest holds. */
		if (line.n <= strlen(name) || line.p[strlen(name)] != ':' ||
		    memcmp(line.p, name, strlen(name)) != 0)
			continue;
		if (!split(line, f, PASSWD_FIELDS))
			return -EINVAL;
		return fill_user(f, u);
	}
	return -ENOENT;
}

int passwd_find_uid(const char *text, size_t len, uid_t uid,
		    struct passwd_user *u)
{
	struct slice line, f[PASSWD_FIELDS];
	char name[PASSWD_NAME_MAX + 1];
	size_t pos = 0;
	uint32_t id;

	while (next_line(text, len, &pos, &line)) {
		/* Lines that cannot be read cannot be the one asked for. */
		if (!split(line, f, PASSWD_FIELDS) || !parse_id(f[2], &id) ||
		    id != uid)
			continue;
		if (f[0].n > PASSWD_NAME_MAX || memchr(f[0].p, '\0', f[0].n))
			return -EINVAL;
		memcpy(name, f[0].p, f[0].n);
		name[f[0].n] = '\0';
		if (!passwd_name_valid(name))
			return -EINVAL;
		return fill_user(f, u);
	}
	return -ENOENT;
}

static bool has_member(struct slice members, const char *name)
{
	size_t start = 0;

	for (size_t i = 0; i <= members.n; i++) {
		if (i < members.n && members.p[i] != ',')
			continue;
		if (slice_is((struct slice){ members.p + start, i - start }, name))
			return true;
		start = i + 1;
	}
	return false;
}

int passwd_add_groups(const char *text, size_t len, struct passwd_user *u)
{
	struct slice line, f[GROUP_FIELDS];
	size_t pos = 0;
	uint32_t gid;

	while (next_line(text, len, &pos, &line)) {
		bool dup = false;

		if (!split(line, f, GROUP_FIELDS) || !parse_id(f[2], &gid) ||
		    !has_member(f[3], u->name))
			continue;
		for (size_t i = 0; i < u->ngroups; i++)
			dup = dup || u->groups[i] == gid;
		if (dup)
			continue;
		if (u->ngroups == PASSWD_GROUPS_MAX)
			return -E2BIG;
		u->groups[u->ngroups++] = gid;
	}
	return 0;
}

void passwd_builtin_root(struct passwd_user *u)
{
	memcpy(u->name, "root", sizeof("root"));
	u->uid = 0;
	u->gid = 0;
	memcpy(u->home, "/root", sizeof("/root"));
	memcpy(u->shell, "/bin/sh", sizeof("/bin/sh"));
	u->groups[0] = 0;
	u->ngroups = 1;
}
