/* The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2): the register
 * window a driver probes, negotiates features through and sets queues up
 * with. Devices plug in through struct virtio_ops. Register accesses come
 * from vCPU threads; queue work runs on the VMM's I/O loop, woken by an
 * ioeventfd per queue; interrupts go to the guest through an irqfd. One
 * lock per device orders the two. */
#ifndef AIRLOCK_VMM_VIRTIO_MMIO_H
#define AIRLOCK_VMM_VIRTIO_MMIO_H

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

struct virtio_ops {
	const char *name;		/* for messages: "virtio-blk" */
	uint32_t device_id;
	uint64_t features;		/* offered, transport bits included */
	unsigned int nqueues;
	uint32_t config_size;
	/* Read config space bytes [off, off + len): always inside config_size. */
	void (*config_read)(void *dev, uint32_t off, void *data, uint32_t len);
	/* Process queue q (device lock held, device live). */
	void (*queue_notify)(void *dev, unsigned int q);
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
	struct ratelog complaints;	/* failures: the first few logged */
	struct virtq q[VIRTIO_MAX_QUEUES];
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

/* Process queue q now (I/O loop, on a kick). */
void virtio_mmio_kick(struct virtio_mmio *m, unsigned int q);

/* Tell the driver queue q has used buffers, if it wants to know. */
void virtio_mmio_notify_used(struct virtio_mmio *m, unsigned int q);

/* The device's configuration changed (a disk's size): bump the config
 * generation and interrupt the driver so it reads it again. Lock held. */
void virtio_mmio_config_changed(struct virtio_mmio *m);

/* The driver broke the rules: mark DEVICE_NEEDS_RESET, stop touching its
 * queues until it resets the device, say so once. Lock held. */
void virtio_mmio_fail(struct virtio_mmio *m, const char *why);

#endif
