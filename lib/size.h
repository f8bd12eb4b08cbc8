/* Sizes as users write them, one grammar for every program: decimal digits,
 * then an optional unit K, M, G or T (powers of 1024, any case), optionally
 * followed by "iB" or "B": "4096", "64K", "512M", "2GiB", "1t". */
#ifndef AIRLOCK_LIB_SIZE_H
#define AIRLOCK_LIB_SIZE_H

#include <stdint.h>

/* Parses s into bytes; a number without a unit counts in units of
 * bare_unit (1 for bytes, 1 << 20 for MiB). -EINVAL if s is not of the
 * grammar, -ERANGE if it is over max bytes. */
int size_parse(const char *s, uint64_t bare_unit, uint64_t max, uint64_t *bytes);

/* The same for a size that must be a whole number of MiB from 1 MiB to
 * max_mib MiB (memory sizes): a bare number is MiB. */
int size_parse_mib(const char *s, uint64_t max_mib, uint64_t *mib);

#endif
