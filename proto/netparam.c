/* airlock.net= values: see netparam.h. */
#include "proto/netparam.h"

#include <errno.h>
#include <stdio.h>

/* A dotted quad at s[*i..], each part 0..255 without leading zeros. */
static int quad(const char *s, size_t len, size_t *i, uint32_t *out)
{
	uint32_t v = 0;

	for (int part = 0; part < 4; part++) {
		unsigned int n = 0, digits = 0;

		if (part && (*i >= len || s[(*i)++] != '.'))
			return -EINVAL;
		while (*i < len && s[*i] >= '0' && s[*i] <= '9' && digits < 4) {
			if (digits == 1 && n == 0)
				return -EINVAL;	/* "01" */
			n = n * 10 + (unsigned int)(s[(*i)++] - '0');
			digits++;
		}
		if (!digits || n > 255)
			return -EINVAL;
		v = v << 8 | n;
	}
	*out = v;
	return 0;
}

int netparam_parse(const char *s, size_t len, struct netparam *p)
{
	size_t i = 0;
	unsigned int prefix = 0, digits = 0;
	uint32_t mask;

	if (quad(s, len, &i, &p->addr) || i >= len || s[i++] != '/')
		return -EINVAL;
	while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 3) {
		prefix = prefix * 10 + (unsigned int)(s[i++] - '0');
		digits++;
	}
	if (!digits || prefix < 1 || prefix > 30 || i >= len || s[i++] != ',' ||
	    quad(s, len, &i, &p->gateway) || i != len)
		return -EINVAL;
	p->prefix = prefix;
	mask = ~0u << (32 - prefix);
	/* Both hosts of one subnet: not its network or broadcast address. */
	if ((p->addr & mask) != (p->gateway & mask) || p->addr == p->gateway ||
	    (p->addr & ~mask) == 0 || (p->addr & ~mask) == ~mask ||
	    (p->gateway & ~mask) == 0 || (p->gateway & ~mask) == ~mask)
		return -EINVAL;
	return 0;
}

int netparam_format(const struct netparam *p, char *out, size_t size)
{
	int n = snprintf(out, size, "%u.%u.%u.%u/%u,%u.%u.%u.%u",
			 p->addr >> 24, p->addr >> 16 & 255, p->addr >> 8 & 255,
			 p->addr & 255, p->prefix, p->gateway >> 24,
			 p->gateway >> 16 & 255, p->gateway >> 8 & 255, p->gateway & 255);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}
