/* The command's environment: see env.h. */
#include "guest/env.h"

#include <errno.h>
#include <string.h>

int env_same_key(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");

	return ka == kb && memcmp(a, b, ka) == 0 && a[ka] == b[kb];
}

int env_merge(const char *const *base, const char *const *extra,
	      const char **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; base && base[i]; i++) {
		int replaced = 0;

		for (size_t j = 0; extra && extra[j] && !replaced; j++)
			replaced = env_same_key(base[i], extra[j]);
		if (replaced)
			continue;
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = base[i];
	}
	for (size_t j = 0; extra && extra[j]; j++) {
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = extra[j];
	}
	if (n >= cap)
		return -E2BIG;
	out[n] = NULL;
	return (int)n;
}
