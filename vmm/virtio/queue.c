/* Split virtqueue, device side: see queue.h. Layouts (virtio 1.2 §2.7):
 *   descriptor table: 16-byte entries { u64 addr; u32 len; u16 flags; u16 next }
 *   available ring:   u16 flags, u16 idx, u16 ring[num], u16 used_event
 *   used ring:        u16 flags, u16 idx, { u32 id; u32 len } ring[num], u16 avail_event
 * The driver may change any of it at any moment, so each field is loaded
 * once into a local and only the local is used. */
#include "vmm/virtio/queue.h"

#include <errno.h>
#include <string.h>

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

_Static_assert(sizeof(struct vdesc) == 16, "descriptor layout");

static uint16_t load16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t avail_idx(const struct virtq *q)
{
	/* Acquire: the ring entries the driver wrote before idx are visible. */
	return __atomic_load_n((const uint16_t *)(q->avail + 2), __ATOMIC_ACQUIRE);
}

void virtq_reset(struct virtq *q, const struct guest_mem *gm)
{
	uint32_t gen = q->gen;

	memset(q, 0, sizeof(*q));
	q->gm = gm;
	q->gen = gen + 1;
}

int virtq_activate(struct virtq *q)
{
	uint64_t n = q->num;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		return -EINVAL;
	q->desc = gm_ptr(q->gm, q->desc_gpa, 16 * n);
	q->avail = gm_ptr(q->gm, q->avail_gpa, 6 + 2 * n);
	q->used = gm_ptr(q->gm, q->used_gpa, 6 + 8 * n);
	if (!q->desc || !q->avail || !q->used) {
		q->desc = q->avail = q->used = NULL;
		return -EINVAL;
	}
	q->last_avail = q->used_idx = 0;
	q->signalled_valid = false;
	q->ready = true;
	q->gen++;
	return 0;
}

static int add_buf(const struct virtq *q, struct virtq_chain *c,
		   const struct vdesc *d)
{
	void *p;

	if (d->len == 0)
		return 0;
	p = gm_ptr(q->gm, d->addr, d->len);
	if (!p)
		return -EFAULT;
	/* The bound is on the whole chain: direct descriptors followed by
	 * an indirect table could otherwise carry num - 1 + VIRTQ_MAX_CHAIN. */
	if (c->nr + c->nw >= VIRTQ_MAX_CHAIN)
		return -EINVAL;
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		c->w[c->nw++] = (struct iovec){ p, d->len };
		c->w_len += d->len;
	} else {
		/* Readable buffers come first (§2.7.4.2); anything else is
		 * a driver bug we refuse rather than guess about. */
		if (c->nw > 0)
			return -EINVAL;
		c->r[c->nr++] = (struct iovec){ p, d->len };
		c->r_len += d->len;
	}
	return 0;
}

static int walk(const struct virtq *q, uint16_t head, struct virtq_chain *c)
{
	const uint8_t *table = q->desc;
	uint32_t entries = q->num, steps = 0;
	bool indirect = false;
	uint16_t i = head;
	int r;

	c->head = head;
	c->gen = q->gen;
	c->nr = c->nw = 0;
	c->r_len = c->w_len = 0;
	if (head >= q->num)
		return -EINVAL;
	for (;;) {
		struct vdesc d;

		/* Visiting more descriptors than the table holds means the
		 * chain loops back on itself. */
		if (++steps > entries)
			return -EINVAL;
		memcpy(&d, table + 16u * i, sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect || (d.flags & VIRTQ_DESC_F_NEXT))
				return -EINVAL;	/* nested, or chained past it */
			if (d.len == 0 || d.len % 16 || d.len / 16 > VIRTQ_MAX_CHAIN)
				return -EINVAL;
			table = gm_ptr(q->gm, d.addr, d.len);
			if (!table)
				return -EFAULT;
			entries = d.len / 16;
			steps = 0;
			i = 0;
			indirect = true;
			continue;
		}
		r = add_buf(q, c, &d);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 1;
		if (d.next >= entries)
			return -EINVAL;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	uint16_t idx, head;

	if (!q->ready)
		return 0;
	idx = avail_idx(q);
	if (idx == q->last_avail)
		return 0;
	if ((uint16_t)(idx - q->last_avail) > q->num)
		return -EINVAL;	/* more "new" entries than the ring holds */
	head = load16(q->avail + 4 + 2u * (q->last_avail % q->num));
	q->last_avail++;
	return walk(q, head, c);
}

bool virtq_has_avail(const struct virtq *q)
{
	return q->ready && avail_idx(q) != q->last_avail;
}

bool virtq_chain_live(const struct virtq *q, const struct virtq_chain *c)
{
	return q->ready && c->gen == q->gen;
}

void virtq_unpop(struct virtq *q, const struct virtq_chain *c)
{
	if (virtq_chain_live(q, c))
		q->last_avail--;
}

bool virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t len)
{
	uint32_t e[2] = { c->head, len };

	/* The used ring is checked against the queue as it is now: a chain
	 * popped before a reset or a new set-up belongs to rings the driver
	 * may have handed to something else. */
	if (!virtq_chain_live(q, c))
		return false;
	memcpy(q->used + 4 + 8u * (q->used_idx % q->num), e, sizeof(e));
	q->used_idx++;
	/* Release: the entry is visible before the index that publishes it. */
	__atomic_store_n((uint16_t *)(q->used + 2), q->used_idx, __ATOMIC_RELEASE);
	return true;
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx, ev;
	bool valid = q->signalled_valid;

	if (!q->ready)
		return false;	/* reset since the push: nothing to tell */
	/* Our used->idx store must be ordered before reading the driver's
	 * suppression fields, or we could miss its request for an interrupt. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx)
		return !(load16(q->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = now;
	q->signalled_valid = true;
	ev = load16(q->avail + 4 + 2u * q->num);	/* used_event */
	/* vring_need_event(): did now pass ev since old? */
	return !valid || (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!q->ready)
		return false;
	if (q->event_idx) {
		uint16_t v = q->last_avail;

		memcpy(q->used + 4 + 8u * q->num, &v, sizeof(v));	/* avail_event */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return avail_idx(q) != q->last_avail;
}

uint16_t virtq_notify_on_next_add(struct virtq *q)
{
	uint16_t v;

	if (!q->ready)
		return 0;
	v = avail_idx(q);
	if (!q->event_idx)
		return v;
	memcpy(q->used + 4 + 8u * q->num, &v, sizeof(v));	/* avail_event */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return v;
}

bool virtq_added_since(const struct virtq *q, uint16_t idx)
{
	return q->ready && avail_idx(q) != idx;
}

uint64_t virtq_read(const struct virtq_chain *c, uint64_t off, void *dst,
		    uint64_t len)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < c->nr && done < len; i++) {
		uint64_t n;

		if (off >= c->r[i].iov_len) {
			off -= c->r[i].iov_len;
			continue;
		}
		n = c->r[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)c->r[i].iov_base + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t virtq_write(const struct virtq_chain *c, uint64_t off,
		     const void *src, uint64_t len)
{
	uint64_t done = 0;

	for (unsigned int i = 0; i < c->nw && done < len; i++) {
		uint64_t n;

		if (off >= c->w[i].iov_len) {
			off -= c->w[i].iov_len;
			continue;
		}
		n = c->w[i].iov_len - off;
		if (n > len - done)
			n = len - done;
		memcpy((uint8_t *)c->w[i].iov_base + off, (const uint8_t *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}

int virtq_slice(const struct iovec *in, unsigned int n, uint64_t off,
		uint64_t len, struct iovec *out, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len > 0; i++) {
		uint64_t take;

		if (off >= in[i].iov_len) {
			off -= in[i].iov_len;
			continue;
		}
		if (k >= max)
			return -E2BIG;
		take = in[i].iov_len - off;
		if (take > len)
			take = len;
		out[k++] = (struct iovec){ (uint8_t *)in[i].iov_base + off, take };
		len -= take;
		off = 0;
	}
	return (int)k;
}
