/* libFuzzer target: arbitrary bytes as a kernel image through
 * x86_kernel_parse() and, when it is accepted, x86_kernel_load() into a
 * 64 MiB fake guest memory at 0. A valid parse may describe segments up to
 * 3 GiB: those must make the load fail with -EFAULT, never write wild.
 * Checks what the parser promises about the struct it fills in. It finds
 * its way much faster from seeds: put a small ELF with a PVH note and a
 * bzImage (or the first pages of real ones) in the corpus directory. */
#include "vmm/arch/x86/layout.h"
#include "vmm/arch/x86/loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RAM_SIZE (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *ram;
static struct guest_mem gm;

static void check_kernel(const struct x86_kernel *k, size_t size)
{
	if (k->nseg < 1 || k->nseg > X86_MAX_SEGMENTS)
		abort();
	for (unsigned int i = 0; i < k->nseg; i++) {
		const struct x86_segment *s = &k->seg[i];

		if (s->file_off > size || s->file_size > size - s->file_off)
			abort();
		if (s->file_size > s->mem_size || s->mem_size == 0)
			abort();
		if (s->paddr < X86_HIMEM_START || s->paddr > X86_MMIO_GAP_START ||
		    s->mem_size > X86_MMIO_GAP_START - s->paddr)
			abort();
		if (s->paddr < k->load_start || s->paddr + s->mem_size > k->load_end)
			abort();
	}
	if (k->load_end > X86_MMIO_GAP_START)
		abort();
	if (k->entry64 < k->load_start || k->entry64 >= k->load_end)
		abort();
	if (k->pvh_entry && (k->pvh_entry < k->load_start ||
			     k->pvh_entry >= k->load_end))
		abort();
	if (k->cmdline_max == 0 || k->cmdline_max >= X86_CMDLINE_MAX)
		abort();
	if (k->kind == X86_KERNEL_BZIMAGE) {
		uint64_t base = k->hdr.pref_address > X86_BZIMAGE_LOAD ?
				k->hdr.pref_address : X86_BZIMAGE_LOAD, end;

		if (k->hdr_len > sizeof(k->hdr))
			abort();
		/* The entry is in the file, and what the decompressor
		 * unpacks is inside [load_start, load_end). */
		if (k->entry64 >= k->seg[0].paddr + k->seg[0].file_size)
			abort();
		if (__builtin_add_overflow(base, (uint64_t)k->hdr.init_size, &end) ||
		    end > k->load_end)
			abort();
	}
}

/* Whether every segment lies inside our RAM, i.e. whether load succeeds. */
static int fits(const struct x86_kernel *k)
{
	for (unsigned int i = 0; i < k->nseg; i++)
		if (k->seg[i].paddr + k->seg[i].mem_size > RAM_SIZE)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x86_kernel k;
	const char *why = NULL;
	uint8_t *img;
	int r;

	if (!ram) {
		ram = malloc(RAM_SIZE);
		if (!ram || gm_add_region(&gm, 0, RAM_SIZE, ram))
			abort();
	}
	/* An exactly sized copy, so ASan sees any read past the image. */
	img = malloc(size ? size : 1);
	if (!img)
		return 0;
	memcpy(img, data, size);

	r = x86_kernel_parse(img, size, &k, &why);
	if (r != 0) {
		if ((r != -EINVAL && r != -ENOEXEC) || !why || !*why)
			abort();
	} else {
		check_kernel(&k, size);
		r = x86_kernel_load(&gm, img, size, &k);
		if (r != (fits(&k) ? 0 : -EFAULT))
			abort();
		/* The last segment's file bytes are where it says. */
		if (r == 0) {
			const struct x86_segment *s = &k.seg[k.nseg - 1];

			if (memcmp(ram + s->paddr, img + s->file_off, s->file_size))
				abort();
		}
	}
	free(img);
	return 0;
}
