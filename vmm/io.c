/* Port I/O dispatch: see io.h. An access must lie wholly inside one range;
 * a 4-byte access straddling two devices is treated as unclaimed. */
#include "vmm/io.h"

#include <errno.h>
#include <string.h>

int io_bus_add(struct io_bus *b, uint16_t base, uint16_t len, io_handler *fn,
	       void *opaque)
{
	uint32_t end = (uint32_t)base + len;

	if (len == 0 || end > 0x10000)
		return -EINVAL;
	if (b->n >= IO_BUS_MAX)
		return -ENOSPC;
	for (unsigned int i = 0; i < b->n; i++)
		if (base < b->r[i].base + b->r[i].len && b->r[i].base < end)
			return -EBUSY;
	b->r[b->n++] = (struct io_range){ base, len, fn, opaque };
	return 0;
}

bool io_bus_access(const struct io_bus *b, uint16_t port, uint8_t *data,
		   uint8_t size, bool is_write)
{
	for (unsigned int i = 0; i < b->n; i++) {
		const struct io_range *r = &b->r[i];

		if (port < r->base || port - r->base >= r->len)
			continue;
		if (size > r->len - (port - r->base))
			break;
		r->fn(r->opaque, (uint16_t)(port - r->base), data, size, is_write);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}

int mmio_bus_add(struct mmio_bus *b, uint64_t base, uint64_t len,
		 mmio_handler *fn, void *opaque)
{
	if (len == 0 || base + len < base)
		return -EINVAL;
	if (b->n >= MMIO_BUS_MAX)
		return -ENOSPC;
	for (unsigned int i = 0; i < b->n; i++)
		if (base < b->r[i].base + b->r[i].len && b->r[i].base < base + len)
			return -EBUSY;
	b->r[b->n++] = (struct mmio_range){ base, len, fn, opaque };
	return 0;
}

bool mmio_bus_access(const struct mmio_bus *b, uint64_t addr, uint8_t *data,
		     uint32_t len, bool is_write)
{
	for (unsigned int i = 0; i < b->n; i++) {
		const struct mmio_range *r = &b->r[i];

		if (addr < r->base || addr - r->base >= r->len)
			continue;
		if (len > r->len - (addr - r->base))
			break;
		r->fn(r->opaque, addr - r->base, data, len, is_write);
		return true;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
