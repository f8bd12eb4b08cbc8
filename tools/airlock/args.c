/* Command-line values: see args.h. */
#include "tools/airlock/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int args_uint(const char *s, unsigned long min, unsigned long max,
	      unsigned long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;	/* strtoul would take " 1", "+1" and "-1" */
	errno = 0;
	*v = strtoul(s, &end, 10);
	if (errno || *end || *v < min || *v > max)
		return -EINVAL;
	return 0;
}

static bool name_byte(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '.' || c == '-');
}

bool args_name_ok(const char *name, size_t max)
{
	size_t n = strlen(name);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_byte(name[i], i == 0))
			return false;
	return true;
}

void args_name_stem(const char *path, char *out, size_t max)
{
	const char *base = path, *p;
	size_t n = 0, len;

	/* The last component, trailing slashes ignored. */
	len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	for (p = path; p < path + len; p++)
		if (*p == '/' && p + 1 < path + len)
			base = p + 1;
	for (p = base; p < path + len && n < max; p++) {
		if (name_byte(*p, n == 0))
			out[n++] = *p;
		else if (n > 0 && out[n - 1] != '-')
			out[n++] = '-';
	}
	while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.' ||
			 out[n - 1] == '_'))
		n--;
	if (n == 0) {
		n = strlen("sandbox") < max ? strlen("sandbox") : max;
		memcpy(out, "sandbox", n);
	}
	out[n] = '\0';
}

uint64_t args_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

int args_env(const char *arg, char *(*getenv_fn)(const char *),
	     char *buf, size_t size, const char **out)
{
	const char *eq = strchr(arg, '=');
	const char *val;
	int n;

	*out = NULL;
	if (eq == arg || *arg == '\0')
		return -EINVAL;
	if (eq) {
		*out = arg;
		return 0;
	}
	val = getenv_fn(arg);
	if (!val)
		return 0;	/* not set on the host: nothing to pass */
	n = snprintf(buf, size, "%s=%s", arg, val);
	if (n < 0 || (size_t)n >= size)
		return -E2BIG;
	*out = buf;
	return 0;
}
