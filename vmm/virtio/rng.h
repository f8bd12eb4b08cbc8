/* virtio-rng (virtio 1.2 §5.4): entropy for the guest, from the host's
 * getrandom(). Without it the guest kernel's crng takes seconds to
 * initialise and programs that ask for random bytes early wait for it. */
#ifndef AIRLOCK_VMM_VIRTIO_RNG_H
#define AIRLOCK_VMM_VIRTIO_RNG_H

#include <stdint.h>

#include "vmm/virtio/mmio.h"

/* At most this many bytes go into one request, however large its buffers,
 * and as many into one batch (docs/vmm.md, "Batches"): one request must not
 * hold the I/O loop (disks, vsock, SIGTERM) for long. The guest's driver
 * asks for far less at a time. */
#define VIRTIO_RNG_MAX_REQ (64u * 1024)

struct virtio_rng {
	struct virtio_mmio mmio;
	struct virtq_chain chain;	/* scratch, under mmio.lock */
};

int virtio_rng_init(struct virtio_rng *r, struct vm *vm, uint64_t base,
		    uint32_t irq);

/* The same without KVM, for unit tests and fuzzing: the device is driven
 * through virtio_mmio_access() and virtio_mmio_kick(). */
int virtio_rng_setup(struct virtio_rng *r, const struct guest_mem *gm);

/* Fill one popped chain's writable buffers, at most max bytes (capped at
 * VIRTIO_RNG_MAX_REQ): returns the bytes written, -EINVAL if the chain has
 * a readable buffer (the driver broke the protocol), or -errno if
 * getrandom() failed. */
int64_t virtio_rng_handle(const struct virtq_chain *c, uint64_t max);

#endif
