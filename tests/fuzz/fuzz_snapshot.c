/* libFuzzer target: the snapshot loader (vmm/snapshot.c) on arbitrary
 * bytes. The first input byte chooses how: bit 0 reseals the rest (a right
 * checksum, so the fuzzer gets past it into the section walk), bit 1 passes
 * a key to match. Once a file parses, every section and field is read the
 * ways the consumers read them. It must never crash, leak or read outside
 * the input; whatever it returns is fine. */
#include "vmm/snapshot.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_key key = { .nr_vcpus = 1, .mem_size = 128u << 20 };
	struct snap_file f;
	const char *why = NULL;
	uint8_t *buf, mode;

	if (size < 1 || size > SNAP_MAX_SIZE + 1)
		return 0;
	mode = data[0];
	size--;
	/* A copy of exactly the input's size, so ASan sees any overread. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size);
	if (mode & 1)
		snap_reseal(buf, size);
	if (snap_parse(&f, buf, size, (mode & 2) ? &key : NULL,
		       (mode & 2) ? "0.1.0" : NULL, &why) == 0) {
		for (unsigned int i = 0; i < f.nsections; i++) {
			struct snap_section *s = snap_find(&f, f.s[i].type, f.s[i].instance);
			uint8_t small[64];
			const uint8_t *p;
			size_t n;

			for (uint32_t tag = 0; tag < 16; tag++) {
				snap_has(s, tag);
				snap_get(s, tag, small, tag * 4 % sizeof(small), &why);
				if (snap_get_var(s, tag, &p, &n, 8, 4096, &why) == 0 && n)
					small[0] = p[n - 1];	/* touch its last byte */
			}
			snap_section_done(s, &why);
		}
		snap_file_done(&f, &why);
	}
	snap_file_free(&f);
	free(buf);
	return 0;
}
