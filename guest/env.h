/* The environment of a command airlock-init starts for an exec request: the
 * user's login environment (user.c) with the request's entries added or
 * replacing an entry of the same name. Pure code, so it is table-tested. */
#ifndef AIRLOCK_GUEST_ENV_H
#define AIRLOCK_GUEST_ENV_H

#include <stddef.h>

/* True if entries a and b ("KEY=VALUE") set the same KEY. An entry without
 * '=' is a key of its own, equal only to the same text. */
int env_same_key(const char *a, const char *b);

/* Writes into out[] the entries of base (NULL-terminated) whose key no entry
 * of extra sets, in order, then every entry of extra, in order (duplicate
 * keys within extra are passed on as they are), then NULL. Returns the
 * number of entries, or -E2BIG if out cannot hold them and the NULL (cap
 * entries). The strings are not copied. */
int env_merge(const char *const *base, const char *const *extra,
	      const char **out, size_t cap);

#endif
