/* Parsing and loading an x86-64 Linux kernel image: an ELF vmlinux (entered
 * through its PVH note or its 64-bit entry) or a bzImage (64-bit entry of
 * its decompressor). Parsing validates every offset and size of the image
 * before anything is copied; loading copies through the checked helper. */
#ifndef AIRLOCK_VMM_X86_LOADER_H
#define AIRLOCK_VMM_X86_LOADER_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/mem.h"

enum x86_kernel_kind {
	X86_KERNEL_ELF,
	X86_KERNEL_BZIMAGE,
};

#define X86_MAX_SEGMENTS 16

struct x86_segment {
	uint64_t file_off;
	uint64_t file_size;
	uint64_t paddr;
	uint64_t mem_size;
};

struct x86_kernel {
	enum x86_kernel_kind kind;
	uint64_t entry64;	/* 64-bit boot protocol entry (guest-physical) */
	uint64_t pvh_entry;	/* 32-bit PVH entry, 0 if the image has none */
	uint64_t load_start;	/* lowest byte the kernel occupies */
	uint64_t load_end;	/* one past the highest, incl. bss / init_size */
	uint32_t cmdline_max;	/* longest command line it accepts, w/o NUL */
	uint64_t initrd_max;	/* highest byte an initrd may occupy */
	unsigned int nseg;
	struct x86_segment seg[X86_MAX_SEGMENTS];
	struct setup_header hdr;	/* bzImage: its setup header */
	size_t hdr_len;			/* bytes of hdr taken from the image */
};

/* Validate img and describe it in *k. On error returns -EINVAL (or
 * -ENOEXEC when it is not a kernel at all) and points *why at a message. */
int x86_kernel_parse(const uint8_t *img, size_t size, struct x86_kernel *k,
		     const char **why);

/* Copy the segments described by k into guest memory. -EFAULT if one does
 * not fit in guest RAM. */
int x86_kernel_load(const struct guest_mem *gm, const uint8_t *img,
		    size_t size, const struct x86_kernel *k);

/* The same, reading each segment from fd straight into guest memory, so
 * the image is never held in a buffer of ours. -EFAULT if a segment does
 * not fit, -EIO (or -errno) if the file cannot be read. */
int x86_kernel_load_fd(const struct guest_mem *gm, int fd,
		       const struct x86_kernel *k);

/* Read len bytes at file offset off into guest memory at gpa. */
int x86_pread_guest(const struct guest_mem *gm, int fd, uint64_t gpa,
		    uint64_t off, uint64_t len);

#endif
