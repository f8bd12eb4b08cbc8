/* virtio devices in a snapshot: the virtio-mmio transport and its queues,
 * and per device what else it must carry or do. One SNAP_SEC_DEVICE
 * section per device, its instance the device's MMIO slot.
 *
 * Loading checks the section against the device this VM has in that slot
 * (same kind, same queue count, features within what it offers, the
 * rings of every ready queue re-validated as when the driver set
 * QueueReady, ring indices consistent with guest memory), then makes the
 * device fresh where it must be: a disk whose size changed since the
 * snapshot raises a configuration interrupt, vsock tells the guest its
 * transport was reset (no stream survives a restore), virtio-net sets the
 * new TAP's offloads for the features the guest had accepted. Save with every
 * vCPU stopped and the I/O loop idle; load before the vCPUs start. */
#ifndef AIRLOCK_VMM_VIRTIO_STATE_H
#define AIRLOCK_VMM_VIRTIO_STATE_H

#include <stdint.h>

#include "vmm/snapshot.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/vsock.h"

/* On disk: SNAP_F_DEV_TRANSPORT. */
struct snap_virtio_transport {
	uint32_t device_id;
	uint32_t nqueues;
	uint32_t status;
	uint32_t dev_feat_sel;
	uint32_t drv_feat_sel;
	uint32_t queue_sel;
	uint32_t int_status;
	uint32_t config_gen;
	uint64_t drv_features;
	uint8_t drv_features_beyond;	/* 0/1: bits written above 63 */
	uint8_t reserved[7];
} __attribute__((packed));

/* On disk: SNAP_F_DEV_QUEUE0 + i. */
struct snap_virtq {
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t num;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	uint8_t ready;
	uint8_t event_idx;
	uint8_t signalled_valid;
	uint8_t reserved[5];
} __attribute__((packed));

/* On disk: SNAP_F_DEV_BLK. */
struct snap_virtio_blk {
	uint64_t capacity;	/* 512-byte sectors, as the guest last saw it */
	uint8_t ro;
	uint8_t reserved[7];
} __attribute__((packed));

/* On disk: SNAP_F_DEV_NET. */
struct snap_virtio_net {
	uint8_t mac[6];
	uint16_t link;		/* config status: VIRTIO_NET_S_LINK_UP or 0 */
} __attribute__((packed));

/* On disk: SNAP_F_DEV_VSOCK. */
struct snap_virtio_vsock {
	uint64_t guest_cid;
} __attribute__((packed));

/* The transport and queues, as fields of the section the caller opened;
 * and back, checked against the device m is. Lock taken inside. A chain
 * the device had popped but not finished is saved as not yet taken (its
 * queue's last_avail moved back), to be done from the start after a
 * restore: the transport's partly done one (virtio_mmio_drain), and
 * unpopped[q] more per queue that the device holds (NULL: none). */
void virtio_mmio_save(struct virtio_mmio *m, struct snap_writer *w,
		      const uint16_t *unpopped);
int virtio_mmio_load(struct virtio_mmio *m, struct snap_section *s, const char **why);

/* One whole section each, instance slot. -EBADMSG / -ESTALE with *why when
 * loading; saving vsock fails with -EBUSY while a stream is open (a
 * snapshot is taken before any is). */
void virtio_blk_save(struct virtio_blk *b, uint32_t slot, struct snap_writer *w);
int virtio_blk_load(struct virtio_blk *b, struct snap_file *f, uint32_t slot,
		    const char **why);
void virtio_rng_save(struct virtio_rng *r, uint32_t slot, struct snap_writer *w);
int virtio_rng_load(struct virtio_rng *r, struct snap_file *f, uint32_t slot,
		    const char **why);
void virtio_net_save(struct virtio_net *n, uint32_t slot, struct snap_writer *w);
int virtio_net_load(struct virtio_net *n, struct snap_file *f, uint32_t slot,
		    const char **why);
int virtio_vsock_save(struct virtio_vsock *v, uint32_t slot, struct snap_writer *w);
int virtio_vsock_load(struct virtio_vsock *v, struct snap_file *f, uint32_t slot,
		      const char **why);

#endif
