/* virtio-rng: one queue of device-writable buffers, each filled with
 * random bytes from the host kernel (getrandom(), the same pool
 * /dev/urandom reads) and given back. Nothing the guest writes is read;
 * a chain that offers readable buffers stops the device. */
#include "vmm/virtio/rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define VIRTIO_ID_RNG 4

int64_t virtio_rng_handle(const struct virtq_chain *c, uint64_t max)
{
	uint64_t left = max < VIRTIO_RNG_MAX_REQ ? max : VIRTIO_RNG_MAX_REQ, done = 0;

	if (c->nr)
		return -EINVAL;
	for (unsigned int i = 0; i < c->nw && left > 0; i++) {
		uint8_t *p = c->w[i].iov_base;
		size_t len = c->w[i].iov_len < left ? c->w[i].iov_len : (size_t)left;

		while (len > 0) {
			/* Flags 0: once the host's crng is ready (at its
			 * boot) this never blocks; above 256 bytes a signal
			 * may cut it short, hence the loop. */
			ssize_t n = getrandom(p, len, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return n < 0 ? -errno : -EIO;
			p += n;
			len -= (size_t)n;
			done += (uint64_t)n;
			left -= (uint64_t)n;
		}
	}
	return (int64_t)done;
}

static int64_t rng_chain(void *dev, struct virtq_chain *c, bool resume,
			 struct virtq_budget *budget, const char **why)
{
	/* What is left of the batch: the guest gets fewer bytes this time
	 * (the used length says how many) and asks again. */
	int64_t n = virtio_rng_handle(c, budget->bytes);

	(void)dev;
	(void)resume;	/* never partial: a short fill is a whole answer */
	if (n == -EINVAL)
		*why = "a request with a readable buffer";
	else if (n < 0)
		*why = "the host's getrandom() failed";
	else
		virtq_budget_spend(budget, (uint64_t)n);
	return n;
}

static bool rng_queue_notify(void *dev, unsigned int qi, struct virtq_budget *budget)
{
	struct virtio_rng *r = dev;

	return virtio_mmio_drain(&r->mmio, qi, budget, &r->chain, rng_chain);
}

static const struct virtio_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX |
		    VIRTIO_F_RING_INDIRECT_DESC,
	.nqueues = 1,
	.config_size = 0,	/* virtio-rng has no configuration */
	/* getrandom() is the slowest copy here (about 100 MB/s on a loaded
	 * host, several times that on an idle one): 64 KiB, well under a
	 * millisecond, one of the largest requests. */
	.batch_chains = VIRTIO_BATCH_CHAINS,
	.batch_bytes = VIRTIO_RNG_MAX_REQ,
	.queue_notify = rng_queue_notify,
};

int virtio_rng_setup(struct virtio_rng *r, const struct guest_mem *gm)
{
	return virtio_mmio_setup(&r->mmio, gm, 0, 0, &rng_ops, r);
}

int virtio_rng_init(struct virtio_rng *r, struct vm *vm, uint64_t base,
		    uint32_t irq)
{
	return virtio_mmio_init(&r->mmio, vm, base, irq, &rng_ops, r);
}
