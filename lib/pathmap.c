/* Open addressing with linear probing and backward-shift deletion (no
 * tombstones): see pathmap.h. */
#include "lib/pathmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_path(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h ^ h >> 29;
}

void pathmap_init(struct pathmap *m)
{
	m->slot = NULL;
	m->cap = m->count = 0;
}

void pathmap_free(struct pathmap *m)
{
	free(m->slot);
	pathmap_init(m);
}

static size_t find(const struct pathmap *m, const char *path, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	while (m->slot[i] && (m->slot[i]->hash != h || strcmp(m->slot[i]->path, path)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

struct pathmap_node *pathmap_get(const struct pathmap *m, const char *path)
{
	if (!m->cap)
		return NULL;
	return m->slot[find(m, path, hash_path(path))];
}

static int grow(struct pathmap *m)
{
	size_t cap = m->cap ? 2 * m->cap : 64;
	struct pathmap_node **old = m->slot, **ns = calloc(cap, sizeof(*ns));
	size_t oldcap = m->cap;

	if (!ns)
		return -ENOMEM;
	m->slot = ns;
	m->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			m->slot[find(m, old[i]->path, old[i]->hash)] = old[i];
	free(old);
	return 0;
}

int pathmap_put(struct pathmap *m, struct pathmap_node *n)
{
	size_t i;

	/* At most 3/4 full, so probes stay short and always end. */
	if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0)
		return -ENOMEM;
	n->hash = hash_path(n->path);
	i = find(m, n->path, n->hash);
	if (m->slot[i])
		return -EEXIST;
	m->slot[i] = n;
	m->count++;
	return 0;
}

struct pathmap_node *pathmap_del(struct pathmap *m, const char *path)
{
	struct pathmap_node *n;
	size_t i, j;

	if (!m->cap)
		return NULL;
	i = find(m, path, hash_path(path));
	n = m->slot[i];
	if (!n)
		return NULL;
	m->slot[i] = NULL;
	m->count--;
	/* Move back every later record of the run whose home slot is not
	 * between the hole and it. */
	for (j = (i + 1) & (m->cap - 1); m->slot[j]; j = (j + 1) & (m->cap - 1)) {
		size_t home = (size_t)m->slot[j]->hash & (m->cap - 1);

		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			m->slot[i] = m->slot[j];
			m->slot[j] = NULL;
			i = j;
		}
	}
	return n;
}

bool pathmap_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static int cmp(const void *a, const void *b)
{
	return strcmp((*(struct pathmap_node *const *)a)->path,
		      (*(struct pathmap_node *const *)b)->path);
}

static struct pathmap_node **collect(const struct pathmap *m, const char *dir,
				     size_t *n, bool sorted)
{
	struct pathmap_node **out;
	size_t k = 0;

	*n = 0;
	if (!m->count)
		return NULL;
	out = malloc(m->count * sizeof(*out));
	if (!out)
		return NULL;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slot[i] && (!dir || pathmap_under(m->slot[i]->path, dir)))
			out[k++] = m->slot[i];
	if (sorted)
		qsort(out, k, sizeof(*out), cmp);
	*n = k;
	return out;
}

struct pathmap_node **pathmap_list(const struct pathmap *m, size_t *n, bool sorted)
{
	return collect(m, NULL, n, sorted);
}

struct pathmap_node **pathmap_subtree(const struct pathmap *m, const char *path,
				      size_t *n, bool sorted)
{
	return collect(m, path, n, sorted);
}
