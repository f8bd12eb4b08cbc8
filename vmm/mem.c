/* The one checked path to guest memory (see mem.h). Bounds are checked by
 * subtraction so no sum can wrap: gpa - start < size and len <= size - off. */
#include "vmm/mem.h"

#include <errno.h>
#include <string.h>

int gm_add_region(struct guest_mem *gm, uint64_t gpa, uint64_t size,
		  uint8_t *host)
{
	if (size == 0 || host == NULL || gpa + size < gpa)
		return -EINVAL;
	if (gm->n >= GM_MAX_REGIONS)
		return -ENOSPC;
	for (unsigned int i = 0; i < gm->n; i++) {
		const struct gm_region *o = &gm->r[i];

		if (gpa < o->gpa + o->size && o->gpa < gpa + size)
			return -EINVAL;
	}
	gm->r[gm->n++] = (struct gm_region){ .gpa = gpa, .size = size, .host = host };
	return 0;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < gm->n; i++) {
		const struct gm_region *r = &gm->r[i];
		uint64_t off;

		if (gpa < r->gpa)
			continue;
		off = gpa - r->gpa;
		if (off > r->size || (off == r->size && len != 0))
			continue;
		if (len > r->size - off)
			return NULL;	/* never spans regions: hosts need not be contiguous */
		return r->host + off;
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     size_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t gm_region_end(const struct guest_mem *gm, uint64_t gpa)
{
	for (unsigned int i = 0; i < gm->n; i++) {
		const struct gm_region *r = &gm->r[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r->gpa + r->size;
	}
	return 0;
}
