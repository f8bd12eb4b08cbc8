/* The synthetic addresses of one sandbox: each name the policy allows is
 * given an address from 198.18.0.0/15 when the guest first asks for it,
 * and keeps it for the sandbox's life, so an address stands for exactly
 * one name. Bounded (NAMES_MAX); addresses ending in .0 or .255 are not
 * handed out. */
#ifndef AIRLOCK_GATEWAY_NAMES_H
#define AIRLOCK_GATEWAY_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define NAMES_MAX 16384
#define NAMES_BASE 0xc6120000u	/* 198.18.0.0 */
#define NAMES_PLEN 15

struct names {
	size_t n;
	char **name;		/* by index */
	uint32_t *slot;		/* open addressing: index + 1, 0 = empty */
	size_t nslots;
};

int names_init(struct names *t);
void names_free(struct names *t);
/* The address (host order) of name, given one if it has none yet.
 * -ENOSPC when NAMES_MAX names have one; -ENOMEM. *fresh tells whether
 * it was given now. */
int names_get(struct names *t, const char *name, uint32_t *addr, int *fresh);
/* The name an address (host order) stands for, or NULL. */
const char *names_lookup(const struct names *t, uint32_t addr);

#endif
