/* The driver's side of a split virtqueue, for tests of the device side: a
 * fake guest (malloc'd RAM registered with the guest-memory helper) and
 * helpers that lay out descriptors and publish avail entries the way a
 * virtio driver does, then read back what the device put in the used ring.
 * Addresses are guest-physical throughout. */
#ifndef AIRLOCK_TESTS_VIRTQ_DRIVER_H
#define AIRLOCK_TESTS_VIRTQ_DRIVER_H

#include "vmm/mem.h"
#include "vmm/virtio/queue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 MiB of RAM at 0, and directly after it a second region with its own
 * host buffer: nothing may span the boundary. */
#define FG_RAM_SIZE (1ull << 20)
#define FG_RAM2_GPA FG_RAM_SIZE
#define FG_RAM2_SIZE (64ull << 10)

/* Where the tests put one queue's rings, and buffers. */
#define FG_DESC 0x1000ull
#define FG_AVAIL 0x3000ull
#define FG_USED 0x4000ull
#define FG_BUF 0x10000ull

struct fake_guest {
	struct guest_mem gm;
	uint8_t *ram, *ram2;
};

static inline int fg_init(struct fake_guest *g)
{
	memset(g, 0, sizeof(*g));
	g->ram = aligned_alloc(4096, FG_RAM_SIZE);
	g->ram2 = aligned_alloc(4096, FG_RAM2_SIZE);
	if (!g->ram || !g->ram2)
		return -1;
	memset(g->ram, 0, FG_RAM_SIZE);
	memset(g->ram2, 0, FG_RAM2_SIZE);
	if (gm_add_region(&g->gm, 0, FG_RAM_SIZE, g->ram) ||
	    gm_add_region(&g->gm, FG_RAM2_GPA, FG_RAM2_SIZE, g->ram2))
		return -1;
	return 0;
}

static inline void fg_free(struct fake_guest *g)
{
	free(g->ram);
	free(g->ram2);
}

/* Host address of the guest RAM byte at gpa (the tests only use valid
 * ones). Length 1, not 0: at a region's end a 0-byte range belongs to it. */
static inline uint8_t *fg_host(struct fake_guest *g, uint64_t gpa)
{
	return gm_ptr(&g->gm, gpa, 1);
}

/* The driver's view of one queue. */
struct drv_q {
	struct fake_guest *g;
	uint16_t num;
	uint64_t desc, avail, used;
	uint16_t avail_idx;	/* next free avail slot, as published */
};

static inline void drv_init(struct drv_q *d, struct fake_guest *g, uint16_t num,
			    uint64_t desc, uint64_t avail, uint64_t used)
{
	*d = (struct drv_q){ .g = g, .num = num, .desc = desc, .avail = avail,
			     .used = used };
}

/* The device's queue on the same rings (reset, not yet activated). */
static inline void drv_device_q(const struct drv_q *d, struct virtq *q)
{
	virtq_reset(q, &d->g->gm);
	q->num = d->num;
	q->desc_gpa = d->desc;
	q->avail_gpa = d->avail;
	q->used_gpa = d->used;
}

static inline void put16(struct fake_guest *g, uint64_t gpa, uint16_t v)
{
	memcpy(fg_host(g, gpa), &v, 2);
}

static inline uint16_t get16(struct fake_guest *g, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, fg_host(g, gpa), 2);
	return v;
}

static inline uint32_t get32(struct fake_guest *g, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, fg_host(g, gpa), 4);
	return v;
}

/* A 16-byte descriptor at table_gpa[i] (the queue's table or an indirect one). */
static inline void drv_desc_at(struct fake_guest *g, uint64_t table_gpa, uint32_t i,
			       uint64_t addr, uint32_t len, uint16_t flags,
			       uint16_t next)
{
	uint8_t *p = fg_host(g, table_gpa + 16ull * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static inline void drv_desc(struct drv_q *d, uint16_t i, uint64_t addr,
			    uint32_t len, uint16_t flags, uint16_t next)
{
	drv_desc_at(d->g, d->desc, i, addr, len, flags, next);
}

/* Publish head in the next avail slot and bump avail->idx. */
static inline void drv_publish(struct drv_q *d, uint16_t head)
{
	put16(d->g, d->avail + 4 + 2ull * (d->avail_idx % d->num), head);
	d->avail_idx++;
	put16(d->g, d->avail + 2, d->avail_idx);
}

/* Set both the driver's and the ring's avail idx (to start near a wrap). */
static inline void drv_set_avail_idx(struct drv_q *d, uint16_t idx)
{
	d->avail_idx = idx;
	put16(d->g, d->avail + 2, idx);
}

static inline void drv_avail_flags(struct drv_q *d, uint16_t flags)
{
	put16(d->g, d->avail, flags);
}

static inline void drv_used_event(struct drv_q *d, uint16_t ev)
{
	put16(d->g, d->avail + 4 + 2ull * d->num, ev);
}

static inline uint16_t drv_avail_event(struct drv_q *d)
{
	return get16(d->g, d->used + 4 + 8ull * d->num);
}

static inline uint16_t drv_used_idx(struct drv_q *d)
{
	return get16(d->g, d->used + 2);
}

/* The used element the device wrote for its n-th push (n counted with
 * u16 wrap, like the index). */
static inline void drv_used_elem(struct drv_q *d, uint16_t n, uint32_t *id,
				 uint32_t *len)
{
	uint64_t e = d->used + 4 + 8ull * (n % d->num);

	*id = get32(d->g, e);
	*len = get32(d->g, e + 4);
}

#endif
