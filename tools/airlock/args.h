/* Values the user types on the airlock command line, checked:
 * sandbox and template names, -e VAR[=VALUE]. Pure: no I/O, so the rules
 * are table-tested (tests/unit/test_cli_args.c). */
#ifndef AIRLOCK_TOOLS_ARGS_H
#define AIRLOCK_TOOLS_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A whole number in [min, max]. 0 or -EINVAL. */
int args_uint(const char *s, unsigned long min, unsigned long max,
	      unsigned long *v);

/* [A-Za-z0-9][A-Za-z0-9_.-]*, 1..max bytes (Docker's rule for names). */
bool args_name_ok(const char *name, size_t max);

/* Turns a folder's last component into a name-safe stem (runs of other
 * bytes become one '-', at most max bytes, "sandbox" if nothing is left). */
void args_name_stem(const char *path, char *out, size_t max);

/* 64-bit FNV-1a, for short stable suffixes. */
uint64_t args_hash(const char *s);

/* -e VAR=VALUE passes exactly that; -e VAR passes the host's VAR if it is
 * set and nothing otherwise (as docker run -e does). Writes the entry to
 * use into *out (arg itself, or "VAR=<host value>" built in buf), or NULL
 * when there is nothing to pass. -EINVAL if VAR is empty, -E2BIG if the
 * host's value does not fit in buf. getenv_fn is getenv in use, a table in
 * tests. */
int args_env(const char *arg, char *(*getenv_fn)(const char *),
	     char *buf, size_t size, const char **out);

#endif
