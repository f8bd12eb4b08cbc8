/* XXH64 (Yann Collet's xxHash, 64-bit, seed 0), written from its
 * specification: see hash.h. */
#include "lib/hash.h"

#include <string.h>

#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull

static uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t round64(uint64_t acc, uint64_t in)
{
	acc += in * P2;
	acc = rotl(acc, 31);
	return acc * P1;
}

static uint64_t merge(uint64_t acc, uint64_t v)
{
	acc ^= round64(0, v);
	return acc * P1 + P4;
}

void hash64_init(struct hash64 *h)
{
	h->v[0] = P1 + P2;
	h->v[1] = P2;
	h->v[2] = 0;
	h->v[3] = 0 - P1;
	h->total = 0;
	h->nbuf = 0;
}

static void stripe(struct hash64 *h, const uint8_t *p)
{
	for (int i = 0; i < 4; i++)
		h->v[i] = round64(h->v[i], rd64(p + 8 * i));
}

void hash64_update(struct hash64 *h, const void *data, size_t len)
{
	const uint8_t *p = data;

	h->total += len;
	if (h->nbuf) {
		size_t n = 32 - h->nbuf < len ? 32 - h->nbuf : len;

		memcpy(h->buf + h->nbuf, p, n);
		h->nbuf += (unsigned int)n;
		p += n;
		len -= n;
		if (h->nbuf < 32)
			return;
		stripe(h, h->buf);
		h->nbuf = 0;
	}
	while (len >= 32) {
		stripe(h, p);
		p += 32;
		len -= 32;
	}
	if (len) {
		memcpy(h->buf, p, len);
		h->nbuf = (unsigned int)len;
	}
}

uint64_t hash64_final(const struct hash64 *h)
{
	const uint8_t *p = h->buf;
	unsigned int n = h->nbuf;
	uint64_t r;

	if (h->total >= 32) {
		r = rotl(h->v[0], 1) + rotl(h->v[1], 7) + rotl(h->v[2], 12) +
		    rotl(h->v[3], 18);
		for (int i = 0; i < 4; i++)
			r = merge(r, h->v[i]);
	} else {
		r = P5;
	}
	r += h->total;
	while (n >= 8) {
		r ^= round64(0, rd64(p));
		r = rotl(r, 27) * P1 + P4;
		p += 8;
		n -= 8;
	}
	if (n >= 4) {
		r ^= (uint64_t)rd32(p) * P1;
		r = rotl(r, 23) * P2 + P3;
		p += 4;
		n -= 4;
	}
	while (n--) {
		r ^= (uint64_t)*p++ * P5;
		r = rotl(r, 11) * P1;
	}
	r ^= r >> 33;
	r *= P2;
	r ^= r >> 29;
	r *= P3;
	r ^= r >> 32;
	return r;
}

uint64_t hash64(const void *data, size_t len)
{
	struct hash64 h;

	hash64_init(&h);
	hash64_update(&h, data, len);
	return hash64_final(&h);
}
