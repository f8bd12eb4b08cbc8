/* A hash map from relative path to the caller's record, for the sync
 * index on either side (tens of thousands of paths). The record embeds a
 * struct pathmap_node first; the map owns neither. Subtree helpers collect
 * "path and everything under it". Pure code (tests/unit/test_pathmap.c). */
#ifndef AIRLOCK_LIB_PATHMAP_H
#define AIRLOCK_LIB_PATHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pathmap_node {
	char *path;		/* the key, owned by the record */
	uint64_t hash;
};

struct pathmap {
	struct pathmap_node **slot;
	size_t cap;		/* a power of two, or 0 */
	size_t count;
};

void pathmap_init(struct pathmap *m);
/* Frees the table, not the records. */
void pathmap_free(struct pathmap *m);

struct pathmap_node *pathmap_get(const struct pathmap *m, const char *path);
/* Inserts n (n->path set): -EEXIST if the path is there, -ENOMEM. */
int pathmap_put(struct pathmap *m, struct pathmap_node *n);
/* Removes and returns the record for path, or NULL. */
struct pathmap_node *pathmap_del(struct pathmap *m, const char *path);

/* Every record, in an array the caller frees (NULL and *n = 0 when
 * empty or out of memory). sorted: by path, a parent before its children. */
struct pathmap_node **pathmap_list(const struct pathmap *m, size_t *n, bool sorted);
/* path itself and everything under it (path/...), the same way. */
struct pathmap_node **pathmap_subtree(const struct pathmap *m, const char *path,
				      size_t *n, bool sorted);

/* Is path equal to dir or under it? */
bool pathmap_under(const char *path, const char *dir);

#endif
