/* Split virtqueues (virtio 1.2 §2.7), device side, over hostile guest
 * memory. The ring locations are checked once when the driver makes the
 * queue ready; every descriptor is read once into a local copy and every
 * buffer it names goes through the checked guest-memory helper. A chain is
 * bounded by the queue size (and VIRTQ_MAX_CHAIN), loops are caught by
 * counting, and a malformed chain is reported, never followed. Every chain
 * carries the generation of the queue it came from: once the driver resets
 * the queue or sets it up again, nothing is written for it any more. */
#ifndef AIRLOCK_VMM_VIRTIO_QUEUE_H
#define AIRLOCK_VMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/mem.h"

#define VIRTQ_MAX_SIZE 256	/* the QueueNumMax we offer */
#define VIRTQ_MAX_CHAIN 256	/* buffers in one chain, direct or indirect */

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq {
	const struct guest_mem *gm;
	uint16_t num;		/* size, a power of 2 <= VIRTQ_MAX_SIZE */
	bool ready;
	/* Changes whenever the rings stop being the ones chains were popped
	 * from: reset, QueueReady 0, set up again. */
	uint32_t gen;
	bool event_idx;		/* VIRTIO_F_EVENT_IDX negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* Host views of the rings, valid once ready (checked then). */
	uint8_t *desc, *avail, *used;
	uint16_t last_avail;	/* next avail ring slot to consume */
	uint16_t used_idx;	/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx when we last interrupted */
	bool signalled_valid;
};

/* One chain: its readable buffers first, then its writable ones. */
struct virtq_chain {
	uint16_t head;
	uint32_t gen;		/* the queue's generation when popped */
	unsigned int nr, nw;	/* readable, writable buffer counts */
	struct iovec r[VIRTQ_MAX_CHAIN];
	struct iovec w[VIRTQ_MAX_CHAIN];
	uint64_t r_len, w_len;	/* totals */
};

/* Reset to the state after device reset (not ready, nothing consumed, no
 * rings): also what QueueReady = 0 does. Chains popped before are stale. */
void virtq_reset(struct virtq *q, const struct guest_mem *gm);

/* Check the rings' addresses and size and make the queue usable.
 * -EINVAL if num is not a power of 2 in range, a ring is misaligned, or a
 * ring is not wholly inside guest RAM. */
int virtq_activate(struct virtq *q);

/* Take the next available chain. Returns 1 with *c filled, 0 if none is
 * waiting, -EINVAL if the driver's ring or chain is malformed (the caller
 * marks the device as needing reset), -EFAULT if a buffer lies outside
 * guest RAM. */
int virtq_pop(struct virtq *q, struct virtq_chain *c);

/* Is a chain waiting (pop would not return 0)? */
bool virtq_has_avail(const struct virtq *q);

/* Is c from the queue as it is now (not reset or set up again since)? */
bool virtq_chain_live(const struct virtq *q, const struct virtq_chain *c);

/* Give back chain c, just popped, unused: the next pop returns it again. */
void virtq_unpop(struct virtq *q, const struct virtq_chain *c);

/* Return chain c to the driver with len bytes written. Returns false and
 * writes nothing if c is stale (virtq_chain_live() is false): its rings may
 * be the driver's memory again. */
bool virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t len);

/* After one or more pushes: does the driver want an interrupt? */
bool virtq_should_notify(struct virtq *q);

/* With EVENT_IDX, tell the driver to notify us when it adds past what we
 * consumed; returns true if more arrived meanwhile (process again). */
bool virtq_enable_notify(struct virtq *q);

/* Ask the driver to notify us when it next adds a buffer, however many it
 * has added that we have not taken (EVENT_IDX: avail_event = its avail
 * idx now; without it the driver notifies anyway). Returns that avail idx,
 * for virtq_added_since. */
uint16_t virtq_notify_on_next_add(struct virtq *q);

/* Has the driver added a buffer since its avail idx was idx? */
bool virtq_added_since(const struct virtq *q, uint16_t idx);

/* What one notification may do before the I/O thread turns to its other
 * sources (docs/vmm.md, "Batches"): chains taken, and data bytes moved. */
struct virtq_budget {
	unsigned int chains;
	uint64_t bytes;
};

static inline bool virtq_budget_left(const struct virtq_budget *b)
{
	return b->chains > 0 && b->bytes > 0;
}

/* bytes moved (more than is left spends it all); chains are counted by
 * whoever pops them. */
static inline void virtq_budget_spend(struct virtq_budget *b, uint64_t bytes)
{
	b->bytes = bytes < b->bytes ? b->bytes - bytes : 0;
}

/* Copy len bytes starting at offset off of the chain's readable bytes.
 * Returns the bytes copied (less if the chain is shorter). */
uint64_t virtq_read(const struct virtq_chain *c, uint64_t off, void *dst,
		    uint64_t len);

/* Copy into the chain's writable bytes at offset off; returns bytes copied. */
uint64_t virtq_write(const struct virtq_chain *c, uint64_t off,
		     const void *src, uint64_t len);

/* Describe bytes [off, off + len) of a buffer list as an iovec array in out
 * (at most max entries). Returns the entry count, or -E2BIG. */
int virtq_slice(const struct iovec *in, unsigned int n, uint64_t off,
		uint64_t len, struct iovec *out, unsigned int max);

#endif
