/* Guest physical memory: a few contiguous regions of host memory. Every
 * access to guest memory, by the loader or a device, goes through
 * gm_ptr()/gm_read()/gm_write(), which refuse anything not entirely inside
 * one region: out of range, overflowing or wrapping. */
#ifndef AIRLOCK_VMM_MEM_H
#define AIRLOCK_VMM_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;	/* guest-physical start */
	uint64_t size;	/* bytes, > 0 */
	uint8_t *host;	/* host mapping of gpa */
};

struct guest_mem {
	struct gm_region r[GM_MAX_REGIONS];
	unsigned int n;
	uint8_t *base;		/* the single host mapping all regions live in */
	size_t base_size;
};

/* Add a region; regions must not overlap. Returns 0 or -EINVAL/-ENOSPC. */
int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size,
		  uint8_t *host);

/* Host pointer for [gpa, gpa + len), or NULL if any byte of it lies outside
 * a single region (or gpa + len overflows). len == 0 is valid at any address
 * inside a region or at its end. */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy out of / into guest memory. Return 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     size_t len);

/* The end (exclusive) of the region containing gpa, or 0. */
uint64_t gm_region_end(const struct guest_mem *gm, uint64_t gpa);

#endif
