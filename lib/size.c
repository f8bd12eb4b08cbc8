/* See size.h. */
#include "lib/size.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

int size_parse(const char *s, uint64_t bare_unit, uint64_t max, uint64_t *bytes)
{
	unsigned long long n;
	uint64_t unit = bare_unit;
	bool had_unit = true;
	char *end;

	/* strtoull would take " 1", "+1" and "-1". */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case '\0':
		had_unit = false;
		break;
	case 'k': case 'K': unit = 1ull << 10; end++; break;
	case 'm': case 'M': unit = 1ull << 20; end++; break;
	case 'g': case 'G': unit = 1ull << 30; end++; break;
	case 't': case 'T': unit = 1ull << 40; end++; break;
	default:
		return -EINVAL;
	}
	if (had_unit) {
		if ((end[0] == 'i' || end[0] == 'I') && (end[1] == 'B' || end[1] == 'b'))
			end += 2;
		else if (*end == 'B' || *end == 'b')
			end++;
	}
	if (*end || unit == 0)
		return -EINVAL;
	if (n > max / unit)
		return -ERANGE;
	*bytes = (uint64_t)n * unit;
	return 0;
}

int size_parse_mib(const char *s, uint64_t max_mib, uint64_t *mib)
{
	uint64_t bytes;
	int r = size_parse(s, 1ull << 20, max_mib << 20, &bytes);

	if (r)
		return r;
	if (bytes % (1ull << 20))
		return -EINVAL;	/* not a whole MiB */
	if (bytes == 0)
		return -ERANGE;
	*mib = bytes >> 20;
	return 0;
}
