/* virtio-blk on a raw image file. */
#ifndef AIRLOCK_VMM_VIRTIO_BLK_H
#define AIRLOCK_VMM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/virtio/mmio.h"

struct virtio_blk {
	struct virtio_mmio mmio;
	int fd;
	bool ro;
	uint64_t capacity;	/* 512-byte sectors */
	char id[20];		/* VIRTIO_BLK_ID_BYTES */
	struct ratelog io_errors;	/* host I/O errors: the first few logged */
	struct virtq_chain chain;	/* scratch, under mmio.lock */
	struct iovec iov[VIRTQ_MAX_CHAIN];
	/* The request in chain, its header read once. A read or write
	 * larger than what one batch may move continues on the next. */
	struct blk_req {
		uint32_t type;
		uint64_t sector;
		uint64_t len, done;	/* data bytes to move, and moved */
		uint32_t written;	/* bytes written into the chain */
		uint8_t status;
	} req;
};

/* fd is the open image (O_RDONLY if ro) of size bytes; id is its serial
 * as the guest sees it (at most 20 bytes kept). */
int virtio_blk_init(struct virtio_blk *b, struct vm *vm, uint64_t base,
		    uint32_t irq, int fd, uint64_t size, bool ro, const char *id);

/* The same without KVM, for unit tests and fuzzing: the device is driven
 * through virtio_mmio_access() and virtio_mmio_kick(). */
int virtio_blk_setup(struct virtio_blk *b, const struct guest_mem *gm, int fd,
		     uint64_t size, bool ro, const char *id);

/* Handle one popped request chain: returns the status byte written into
 * it (0 OK, 1 IOERR, 2 UNSUPP), or -1 when the chain has no room for a
 * status (the driver broke the protocol). *written = bytes written. */
int virtio_blk_handle(struct virtio_blk *b, const struct virtq_chain *c,
		      uint32_t *written);

#endif
