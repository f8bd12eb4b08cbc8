/* Synthetic addresses: see names.h. Index i becomes 198.18.0.0 plus
 * (i / 254) * 256 + 1 + i % 254, skipping .0 and .255. */
#include "tools/gateway/names.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

int names_init(struct names *t)
{
	memset(t, 0, sizeof(*t));
	t->nslots = NAMES_MAX * 2;
	t->name = calloc(NAMES_MAX, sizeof(*t->name));
	t->slot = calloc(t->nslots, sizeof(*t->slot));
	if (!t->name || !t->slot) {
		names_free(t);
		return -ENOMEM;
	}
	return 0;
}

void names_free(struct names *t)
{
	for (size_t i = 0; t->name && i < t->n; i++)
		free(t->name[i]);
	free(t->name);
	free(t->slot);
	memset(t, 0, sizeof(*t));
}

static uint32_t index_addr(size_t i)
{
	return NAMES_BASE + (uint32_t)(i / 254 * 256 + 1 + i % 254);
}

int names_get(struct names *t, const char *name, uint32_t *addr, int *fresh)
{
	size_t s = hash(name) % t->nslots;

	*fresh = 0;
	for (;; s = (s + 1) % t->nslots) {
		uint32_t v = t->slot[s];

		if (v == 0)
			break;
		if (strcmp(t->name[v - 1], name) == 0) {
			*addr = index_addr(v - 1);
			return 0;
		}
	}
	/* Half the slots at most are used: the probe always ends. */
	if (t->n >= NAMES_MAX)
		return -ENOSPC;
	t->name[t->n] = strdup(name);
	if (!t->name[t->n])
		return -ENOMEM;
	t->slot[s] = (uint32_t)(t->n + 1);
	*addr = index_addr(t->n);
	t->n++;
	*fresh = 1;
	return 0;
}

const char *names_lookup(const struct names *t, uint32_t addr)
{
	uint32_t off = addr - NAMES_BASE, low = off % 256;
	size_t i;

	if (addr < NAMES_BASE || off >= (1u << (32 - NAMES_PLEN)) || low == 0 ||
	    low == 255)
		return NULL;
	i = off / 256 * 254 + low - 1;
	return i < t->n ? t->name[i] : NULL;
}
