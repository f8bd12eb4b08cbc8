/* The port I/O bus: a short table of (base, length) ranges, each with one
 * handler. A vCPU exit for a port nobody claims reads as all ones, like an
 * empty ISA bus, and writes to it are dropped. */
#ifndef AIRLOCK_VMM_IO_H
#define AIRLOCK_VMM_IO_H

#include <stdbool.h>
#include <stdint.h>

#define IO_BUS_MAX 16

/* data holds size bytes (1, 2 or 4): filled by the handler on a read. */
typedef void io_handler(void *opaque, uint16_t offset, uint8_t *data,
			uint8_t size, bool is_write);

struct io_range {
	uint16_t base;
	uint16_t len;
	io_handler *fn;
	void *opaque;
};

struct io_bus {
	unsigned int n;
	struct io_range r[IO_BUS_MAX];
};

/* Claim [base, base + len). -EBUSY on overlap, -ENOSPC when full. */
int io_bus_add(struct io_bus *b, uint16_t base, uint16_t len, io_handler *fn,
	       void *opaque);

/* Dispatch one access. Returns false if no device claims the port. */
bool io_bus_access(const struct io_bus *b, uint16_t port, uint8_t *data,
		   uint8_t size, bool is_write);

/* The MMIO bus: the same idea for guest-physical addresses (virtio-mmio
 * windows in the 3-4 GiB gap). Unclaimed reads return all ones. */
#define MMIO_BUS_MAX 16

typedef void mmio_handler(void *opaque, uint64_t offset, uint8_t *data,
			  uint32_t len, bool is_write);

struct mmio_range {
	uint64_t base;
	uint64_t len;
	mmio_handler *fn;
	void *opaque;
};

struct mmio_bus {
	unsigned int n;
	struct mmio_range r[MMIO_BUS_MAX];
};

int mmio_bus_add(struct mmio_bus *b, uint64_t base, uint64_t len,
		 mmio_handler *fn, void *opaque);
bool mmio_bus_access(const struct mmio_bus *b, uint64_t addr, uint8_t *data,
		     uint32_t len, bool is_write);

#endif
