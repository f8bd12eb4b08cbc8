/* The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): the register
 * window a driver probes, negotiates features through and sets queues up
 * with, and the state machine that refuses what the spec does not allow.
 * Devices plug in through struct virtio_ops. Register accesses come from
 * vCPU threads; queue work runs on the VMM's I/O loop, woken by an
 * ioeventfd per queue, one bounded batch per wake-up; interrupts go to the
 * guest through an irqfd. One lock per device orders the two. */
#ifndef AIRLOCK_VMM_VIRTIO_MMIO_H
#define AIRLOCK_VMM_VIRTIO_MMIO_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/ratelog.h"
#include "vmm/virtio/queue.h"
#include "vmm/vm.h"

#define VIRTIO_MMIO_SIZE 0x1000
#define VIRTIO_MAX_QUEUES 4

#define VIRTIO_F_RING_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_RING_EVENT_IDX (1ull << 29)
#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

/* What one wake-up of a queue may do when the device does not say
 * (docs/vmm.md, "Batches"): a quarter of the largest ring, and a
 * megabyte, which the host moves in well under a millisecond from its page
 * cache and in about one from a fast disk. */
#define VIRTIO_BATCH_CHAINS 64
#define VIRTIO_BATCH_BYTES (1u << 20)

struct virtio_ops {
	const char *name;		/* for messages: "virtio-blk" */
	uint32_t device_id;
	uint64_t features;		/* offered, transport bits included */
	unsigned int nqueues;
	uint32_t config_size;
	/* One wake-up's batch: chains taken and data bytes moved at most
	 * (0: VIRTIO_BATCH_CHAINS, VIRTIO_BATCH_BYTES). */
	unsigned int batch_chains;
	uint64_t batch_bytes;
	/* Read config space bytes [off, off + len): always inside config_size. */
	void (*config_read)(void *dev, uint32_t off, void *data, uint32_t len);
	/* Process queue q within *budget (device lock held, device live, q
	 * ready). Returns true if it stopped with work left: the transport
	 * wakes the queue again on a later round of the I/O loop. */
	bool (*queue_notify)(void *dev, unsigned int q, struct virtq_budget *budget);
	/* The driver reset the device (lock held). */
	void (*reset)(void *dev);
};

struct virtio_mmio {
	pthread_mutex_t lock;
	const struct guest_mem *gm;
	const struct virtio_ops *ops;
	void *dev;
	uint64_t base;
	uint32_t irq;
	uint32_t status, dev_feat_sel, drv_feat_sel, queue_sel, int_status;
	uint32_t config_gen;
	uint64_t drv_features;
	bool drv_features_beyond;	/* bits written above 63: never offered */
	struct ratelog complaints;	/* failures: the first few logged */
	struct ratelog refusals;	/* refused register writes: the same */
	struct virtq q[VIRTIO_MAX_QUEUES];
	/* virtio_mmio_drain(): the chain in the device's scratch is only
	 * partly done and is taken up again on the queue's next wake-up. */
	bool held[VIRTIO_MAX_QUEUES];
	int kick_fd[VIRTIO_MAX_QUEUES];	/* ioeventfd per queue */
	struct vm_event kick_ev[VIRTIO_MAX_QUEUES];
	int irq_fd;			/* irqfd */
};

/* Set the device up at guest-physical base with ISA interrupt irq:
 * register the MMIO window, the ioeventfds and irqfd, and the kick fds with
 * the VM's I/O loop. -errno on failure. */
int virtio_mmio_init(struct virtio_mmio *m, struct vm *vm, uint64_t base,
		     uint32_t irq, const struct virtio_ops *ops, void *dev);

/* The state alone, no KVM: what virtio_mmio_init() does before wiring the
 * eventfds to KVM. Unit tests and fuzzers drive a device through this. */
int virtio_mmio_setup(struct virtio_mmio *m, const struct guest_mem *gm,
		      uint64_t base, uint32_t irq, const struct virtio_ops *ops,
		      void *dev);

/* The MMIO handler (vCPU threads). */
void virtio_mmio_access(void *opaque, uint64_t off, uint8_t *data,
			uint32_t len, bool is_write);

/* Process one batch of queue q now (I/O loop, on a kick). Returns true if
 * work is left, in which case the queue's kick eventfd has been signalled
 * again: the I/O loop comes back to it after its other sources. */
bool virtio_mmio_kick(struct virtio_mmio *m, unsigned int q);

/* Wake queue q on a later round of the I/O loop (what virtio_mmio_kick()
 * does when work is left; a device whose work on a queue starts elsewhere,
 * such as host sockets, uses it too). */
void virtio_mmio_rearm(struct virtio_mmio *m, unsigned int q);

/* A fresh batch budget for this device. */
struct virtq_budget virtio_mmio_budget(const struct virtio_mmio *m);

/* What a device does with one chain in virtio_mmio_drain(): returns the
 * bytes it wrote into the chain once it is done with it; or
 * VIRTIO_CHAIN_AGAIN when the budget's bytes ran out part way (the chain is
 * handed back with resume true on the queue's next wake-up, or dropped if
 * the driver reset the queue meanwhile); or -errno with *why set when the
 * driver broke the rules (the device then needs a reset). It spends the
 * budget's bytes on what it moved. */
#define VIRTIO_CHAIN_AGAIN (-EINPROGRESS)
typedef int64_t virtio_chain_fn(void *dev, struct virtq_chain *c, bool resume,
				struct virtq_budget *budget, const char **why);

/* The queue loop of a device that serves chains one at a time: pop while
 * the budget lasts, hand each chain (c: the device's scratch) to fn, push
 * it back with what fn wrote, interrupt the driver once at the end if it
 * wants. Returns true if it stopped with work left (for queue_notify). */
bool virtio_mmio_drain(struct virtio_mmio *m, unsigned int q,
		       struct virtq_budget *budget, struct virtq_chain *c,
		       virtio_chain_fn *fn);

/* Tell the driver queue q has used buffers, if it wants to know. */
void virtio_mmio_notify_used(struct virtio_mmio *m, unsigned int q);

/* Is the device running: DRIVER_OK, and neither failed nor waiting for
 * a reset? Lock held. Devices check it before touching a queue from
 * anywhere but queue_notify. */
bool virtio_mmio_live(const struct virtio_mmio *m);

/* Something in config space changed: new generation, config interrupt.
 * Lock held. */
void virtio_mmio_config_changed(struct virtio_mmio *m);

/* The driver broke the rules: mark DEVICE_NEEDS_RESET, stop touching its
 * queues until it resets the device, say so once. Lock held. */
void virtio_mmio_fail(struct virtio_mmio *m, const char *why);

#endif
