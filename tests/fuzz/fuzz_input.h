/* The input of a libFuzzer target, read front to back: what the targets
 * that build guest memory and registers from it share. Header only. */
#ifndef AIRLOCK_TESTS_FUZZ_INPUT_H
#define AIRLOCK_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

/* The next `bytes` bytes (at most 8) as a little-endian number; what is
 * past the end of the input reads as zeros. */
static inline uint64_t fuzz_take(struct fuzz_input *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes && in->n > 0; i++, in->p++, in->n--)
		v |= (uint64_t)*in->p << (8 * i);
	return v;
}

#endif
