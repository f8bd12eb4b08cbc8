/* The content hash sync keeps per file (XXH64, seed 0): fast enough to
 * compute while a file streams past, to tell "changed" from "touched".
 * Not a defence against anyone: both sides hash only their own data.
 * Streaming: feed any chunks, the digest is that of their concatenation. */
#ifndef AIRLOCK_LIB_HASH_H
#define AIRLOCK_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash64 {
	uint64_t v[4];
	uint64_t total;
	uint8_t buf[32];
	unsigned int nbuf;
};

void hash64_init(struct hash64 *h);
void hash64_update(struct hash64 *h, const void *data, size_t len);
uint64_t hash64_final(const struct hash64 *h);
/* One call. */
uint64_t hash64(const void *data, size_t len);

#endif
