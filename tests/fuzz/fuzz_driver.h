/* A fuzzed driver's life cycle, for the targets that drive a whole virtio
 * device through its MMIO registers: bring-up, and the restarts a driver
 * may do at any moment, mid-request included (device reset, or QueueReady
 * 0), on the same rings or on a second set. Two things are watched (virtio
 * 1.2 §4.2.2.1; the queue generation in vmm/virtio/queue.c): the used ring
 * the driver left is never written again, and the ring it uses now never
 * has more used entries than it made available since it set it up (a
 * chain taken before the restart must not come back there). The watch is
 * only sound while no descriptor can name a ring as a buffer: the target
 * says so (its descriptors tamed into the buffer area, no indirect tables,
 * whose bytes the device itself may have written); a raw register write,
 * or an avail index the input sets at will, ends it. Header only. */
#ifndef AIRLOCK_TESTS_FUZZ_DRIVER_H
#define AIRLOCK_TESTS_FUZZ_DRIVER_H

#include "vmm/virtio/mmio.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fuzz_rings {
	uint64_t desc, avail, used;
};

struct fuzz_driver {
	struct virtio_mmio *m;
	uint8_t *ram;
	const struct fuzz_rings *set[2];
	unsigned int cur;		/* the set in use */
	uint64_t features;
	uint32_t num;			/* what is written to QueueNum */
	uint16_t head_idx;		/* next avail index */
	bool sound;			/* the watch can be trusted (see above) */
	bool counting;			/* used <= published holds for the ring now */
	bool watching;
	uint64_t old_used;
	uint8_t old[6 + 8 * VIRTQ_MAX_SIZE + 2];
};

static inline void fuzz_reg(struct fuzz_driver *d, uint32_t off, uint32_t v)
{
	virtio_mmio_access(d->m, off, (uint8_t *)&v, 4, true);
}

static inline const struct fuzz_rings *fuzz_rings_now(const struct fuzz_driver *d)
{
	return d->set[d->cur];
}

/* The input wrote guest memory [gpa, gpa + len) itself. */
static inline void fuzz_driver_wrote(struct fuzz_driver *d, uint64_t gpa, uint64_t len)
{
	const struct fuzz_rings *r = fuzz_rings_now(d);

	if ((gpa < r->used + 4 && r->used < gpa + len) ||
	    (gpa < r->avail + 4 && r->avail < gpa + len))
		d->counting = false;	/* it changed an index itself */
	if (d->watching && gpa < d->old_used + sizeof(d->old) && d->old_used < gpa + len)
		memcpy(d->old, d->ram + d->old_used, sizeof(d->old));
}

/* Queue 0 on the current set of rings, and QueueReady. */
static inline void fuzz_queue_up(struct fuzz_driver *d)
{
	const struct fuzz_rings *r = fuzz_rings_now(d);

	fuzz_reg(d, 0x030, 0);
	fuzz_reg(d, 0x038, d->num);
	fuzz_reg(d, 0x080, (uint32_t)r->desc);
	fuzz_reg(d, 0x090, (uint32_t)r->avail);
	fuzz_reg(d, 0x0a0, (uint32_t)r->used);
	fuzz_reg(d, 0x044, 1);
}

/* The whole initialisation sequence (§3.1.1) from reset. */
static inline void fuzz_driver_up(struct fuzz_driver *d)
{
	fuzz_reg(d, 0x070, 0);
	fuzz_reg(d, 0x070, 1);
	fuzz_reg(d, 0x070, 3);
	fuzz_reg(d, 0x024, 0);
	fuzz_reg(d, 0x020, (uint32_t)d->features);
	fuzz_reg(d, 0x024, 1);
	fuzz_reg(d, 0x020, (uint32_t)(d->features >> 32) | 1);	/* VERSION_1 */
	fuzz_reg(d, 0x070, 0xb);
	fuzz_queue_up(d);
	fuzz_reg(d, 0x070, 0xf);
	d->counting = d->sound;
}

/* The driver starts over, as the input byte how says: bit 0 a device
 * reset (else QueueReady 0 alone), bit 1 on the other set of rings, bit 2
 * not set up again (the queue stays down). */
static inline void fuzz_driver_restart(struct fuzz_driver *d, uint8_t how)
{
	uint64_t left = fuzz_rings_now(d)->used;
	const struct fuzz_rings *r;

	if (how & 2) {
		d->cur ^= 1;
		d->watching = d->sound;
		d->old_used = left;
		memcpy(d->old, d->ram + left, sizeof(d->old));
	}
	/* A new queue starts at index 0: the driver clears its rings. */
	r = fuzz_rings_now(d);
	memset(d->ram + r->avail, 0, 6 + 2 * VIRTQ_MAX_SIZE);
	memset(d->ram + r->used, 0, sizeof(d->old));
	d->head_idx = 0;
	fuzz_driver_wrote(d, r->avail, 6 + 2 * VIRTQ_MAX_SIZE);
	fuzz_driver_wrote(d, r->used, sizeof(d->old));
	if (how & 1) {
		fuzz_reg(d, 0x070, 0);
		if (!(how & 4))
			fuzz_driver_up(d);
		return;
	}
	fuzz_reg(d, 0x030, 0);
	fuzz_reg(d, 0x044, 0);
	d->counting = d->sound;
	if (!(how & 4))
		fuzz_queue_up(d);
}

/* A raw register write: the driver may have put rings anywhere. */
static inline void fuzz_driver_raw(struct fuzz_driver *d)
{
	d->watching = d->counting = false;
}

/* The input set the avail index to whatever it likes. */
static inline void fuzz_driver_any_index(struct fuzz_driver *d)
{
	d->counting = false;
}

/* After every step, published being the avail index the driver reached by
 * one-at-a-time steps from 0: the ring it left is as it left it, and the
 * ring it uses has no more used entries than it made available. */
static inline void fuzz_driver_check(const struct fuzz_driver *d, uint16_t published)
{
	uint16_t used;

	if (d->watching && memcmp(d->old, d->ram + d->old_used, sizeof(d->old)))
		abort();
	memcpy(&used, d->ram + fuzz_rings_now(d)->used + 2, 2);
	if (d->counting && used > published)
		abort();
}

#endif
