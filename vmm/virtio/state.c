/* virtio devices in a snapshot: see state.h. */
#include "vmm/virtio/state.h"
#include "lib/clock.h"

#include <errno.h>
#include <string.h>

_Static_assert(sizeof(struct snap_virtio_transport) == 48, "transport layout");
_Static_assert(sizeof(struct snap_virtio_net) == 8, "net layout");
_Static_assert(sizeof(struct snap_virtq) == 40, "virtq layout");
_Static_assert(sizeof(struct snap_virtio_blk) == 16, "blk layout");

#define BAD(msg) do { *why = (msg); r = -EBADMSG; goto out; } while (0)

#define STATUS_KNOWN (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
		      VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | \
		      VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)
#define INT_USED_RING 1u
#define INT_CONFIG 2u

#define VSOCK_Q_EVENT 2
#define VSOCK_EVENT_TRANSPORT_RESET 0u
/* How long host connections wait for the guest to handle its transport
 * reset at most, should it never say so. */
#define VSOCK_HOLD_NS (1000ull * 1000 * 1000)

void virtio_mmio_save(struct virtio_mmio *m, struct snap_writer *w,
		      const uint16_t *unpopped)
{
	struct snap_virtio_transport t;

	pthread_mutex_lock(&m->lock);
	t = (struct snap_virtio_transport){
		.device_id = m->ops->device_id,
		.nqueues = m->ops->nqueues,
		.status = m->status,
		.dev_feat_sel = m->dev_feat_sel,
		.drv_feat_sel = m->drv_feat_sel,
		.queue_sel = m->queue_sel,
		.int_status = m->int_status,
		.config_gen = m->config_gen,
		.drv_features = m->drv_features,
		.drv_features_beyond = m->drv_features_beyond,
	};
	snap_field(w, SNAP_F_DEV_TRANSPORT, &t, sizeof(t));
	for (unsigned int i = 0; i < m->ops->nqueues; i++) {
		const struct virtq *q = &m->q[i];
		/* Chains popped and not pushed are the last ones popped. */
		uint16_t back = (uint16_t)((m->held[i] ? 1 : 0) + (unpopped ? unpopped[i] : 0));
		struct snap_virtq sq = {
			.desc_gpa = q->desc_gpa,
			.avail_gpa = q->avail_gpa,
			.used_gpa = q->used_gpa,
			.num = q->num,
			.last_avail = (uint16_t)(q->last_avail - back),
			.used_idx = q->used_idx,
			.signalled_used = q->signalled_used,
			.ready = q->ready,
			.event_idx = q->event_idx,
			.signalled_valid = q->signalled_valid,
		};

		snap_field(w, SNAP_F_DEV_QUEUE0 + i, &sq, sizeof(sq));
	}
	pthread_mutex_unlock(&m->lock);
}

static uint16_t ring_idx(const uint8_t *ring)
{
	uint16_t v;

	memcpy(&v, ring + 2, sizeof(v));
	return v;
}

/* One queue, checked as the driver's QueueReady would be, then its indices
 * against the rings in guest memory (the memory file and the state file
 * must be of the same moment). */
static int load_queue(struct virtio_mmio *m, struct virtq *q, const struct snap_virtq *sq,
		      const char **why)
{
	int r = 0;

	virtq_reset(q, m->gm);
	if (sq->ready > 1 || sq->event_idx > 1 || sq->signalled_valid > 1 ||
	    sq->reserved[0] || sq->reserved[1] || sq->reserved[2] || sq->reserved[3] ||
	    sq->reserved[4])
		BAD("a queue with flags out of range");
	/* The transport never keeps a size above what it offers. */
	if (sq->num > VIRTQ_MAX_SIZE)
		BAD("a queue larger than the device offers");
	q->num = sq->num;
	q->desc_gpa = sq->desc_gpa;
	q->avail_gpa = sq->avail_gpa;
	q->used_gpa = sq->used_gpa;
	if (!sq->ready)
		goto out;	/* set up half way, or not at all: nothing to check */
	if (virtq_activate(q))
		BAD("a queue whose rings are misplaced or misaligned");
	q->event_idx = sq->event_idx;
	q->last_avail = sq->last_avail;
	q->used_idx = sq->used_idx;
	q->signalled_used = sq->signalled_used;
	q->signalled_valid = sq->signalled_valid;
	/* Only the device writes used->idx; the driver has made available
	 * at most a ring's worth beyond what we took. */
	if (ring_idx(q->used) != q->used_idx)
		BAD("a queue whose used ring does not match guest memory");
	if ((uint16_t)(ring_idx(q->avail) - q->last_avail) > q->num ||
	    (uint16_t)(q->last_avail - q->used_idx) > q->num)
		BAD("a queue whose indices do not match guest memory");
out:
	if (r)
		virtq_reset(q, m->gm);
	return r;
}

int virtio_mmio_load(struct virtio_mmio *m, struct snap_section *s, const char **why)
{
	struct snap_virtio_transport t;
	int r;

	pthread_mutex_lock(&m->lock);
	if ((r = snap_get(s, SNAP_F_DEV_TRANSPORT, &t, sizeof(t), why)))
		goto out;
	if (t.device_id != m->ops->device_id || t.nqueues != m->ops->nqueues) {
		*why = "another kind of device in this slot";
		r = -ESTALE;
		goto out;
	}
	if (t.status & ~(uint32_t)STATUS_KNOWN)
		BAD("device status bits unknown");
	if (t.int_status & ~(INT_USED_RING | INT_CONFIG))
		BAD("interrupt status bits unknown");
	if (t.drv_features_beyond > 1 || memcmp(t.reserved, "\0\0\0\0\0\0\0", 7))
		BAD("transport flags out of range");
	/* What set_status() lets through: only offered features, and the
	 * modern interface. Before FEATURES_OK the driver may have written
	 * anything; it is refused when it tries to set it. */
	if ((t.status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((t.drv_features & ~m->ops->features) || !(t.drv_features & VIRTIO_F_VERSION_1)))
		BAD("features the device does not offer");
	m->status = t.status;
	m->dev_feat_sel = t.dev_feat_sel;
	m->drv_feat_sel = t.drv_feat_sel;
	m->queue_sel = t.queue_sel;
	m->int_status = t.int_status;
	m->config_gen = t.config_gen;
	m->drv_features = t.drv_features;
	m->drv_features_beyond = t.drv_features_beyond;
	for (unsigned int i = 0; i < m->ops->nqueues; i++) {
		struct snap_virtq sq;

		if ((r = snap_get(s, SNAP_F_DEV_QUEUE0 + i, &sq, sizeof(sq), why)) ||
		    (r = load_queue(m, &m->q[i], &sq, why)))
			goto out;
	}
out:
	if (r) {
		/* As after a reset: nothing half-loaded stays. */
		for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
			virtq_reset(&m->q[i], m->gm);
		m->status = m->int_status = m->drv_features = 0;
		m->drv_features_beyond = false;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* The section of the device m in this slot: -ESTALE if the snapshot had
 * no device there, or another kind (checked first: its other fields would
 * only confuse the message). */
static int find_section(struct virtio_mmio *m, struct snap_file *f, uint32_t slot,
			struct snap_section **s, const char **why)
{
	struct snap_virtio_transport t;
	int r;

	*s = snap_find(f, SNAP_SEC_DEVICE, slot);
	if (!*s) {
		*why = "a device the snapshot does not have";
		return -ESTALE;
	}
	if ((r = snap_get(*s, SNAP_F_DEV_TRANSPORT, &t, sizeof(t), why)))
		return r;
	if (t.device_id != m->ops->device_id || t.nqueues != m->ops->nqueues) {
		*why = "another kind of device in this slot";
		return -ESTALE;
	}
	return 0;
}

/* ---- virtio-blk --------------------------------------------------------- */

void virtio_blk_save(struct virtio_blk *b, uint32_t slot, struct snap_writer *w)
{
	struct snap_virtio_blk sb = { .capacity = b->capacity, .ro = b->ro };

	snap_begin(w, SNAP_SEC_DEVICE, slot);
	virtio_mmio_save(&b->mmio, w, NULL);
	snap_field(w, SNAP_F_DEV_BLK, &sb, sizeof(sb));
	snap_end(w);
}

int virtio_blk_load(struct virtio_blk *b, struct snap_file *f, uint32_t slot,
		    const char **why)
{
	struct snap_virtio_blk sb;
	struct snap_section *s;
	int r;

	/* The disk's own fields first: a mismatch there says more than the
	 * transport's features (a read-only disk offers fewer). */
	if ((r = find_section(&b->mmio, f, slot, &s, why)) ||
	    (r = snap_get(s, SNAP_F_DEV_BLK, &sb, sizeof(sb), why)))
		return r;
	if (sb.ro > 1 || memcmp(sb.reserved, "\0\0\0\0\0\0\0", 7)) {
		*why = "disk flags out of range";
		return -EBADMSG;
	}
	/* The guest's driver negotiated (or not) writes for what it saw. */
	if (sb.ro != b->ro) {
		*why = sb.ro ? "a disk that was read-only is now writable"
			     : "a disk that was writable is now read-only";
		return -ESTALE;
	}
	if ((r = virtio_mmio_load(&b->mmio, s, why)) || (r = snap_section_done(s, why)))
		return r;
	/* Another disk, or the same one grown: the guest re-reads the size
	 * (virtio_blk's config_changed), and airlock-init drops what it had
	 * cached of the device before mounting it. */
	pthread_mutex_lock(&b->mmio.lock);
	if (sb.capacity != b->capacity && virtio_mmio_live(&b->mmio))
		virtio_mmio_config_changed(&b->mmio);
	pthread_mutex_unlock(&b->mmio.lock);
	return 0;
}

/* ---- virtio-rng: the transport is all there is --------------------------- */

void virtio_rng_save(struct virtio_rng *rng, uint32_t slot, struct snap_writer *w)
{
	snap_begin(w, SNAP_SEC_DEVICE, slot);
	virtio_mmio_save(&rng->mmio, w, NULL);
	snap_end(w);
}

int virtio_rng_load(struct virtio_rng *rng, struct snap_file *f, uint32_t slot,
		    const char **why)
{
	struct snap_section *s;
	int r;

	if ((r = find_section(&rng->mmio, f, slot, &s, why)) ||
	    (r = virtio_mmio_load(&rng->mmio, s, why)))
		return r;
	return snap_section_done(s, why);
}

/* ---- virtio-net ---------------------------------------------------------- */

void virtio_net_save(struct virtio_net *n, uint32_t slot, struct snap_writer *w)
{
	struct snap_virtio_net sn = { .link = n->link };
	uint16_t unpopped[VIRTIO_MAX_QUEUES] = { 0 };

	memcpy(sn.mac, n->mac, sizeof(sn.mac));
	/* Receive chains held for a packet yet to come, from the rings as
	 * they are: taken again after a restore. */
	pthread_mutex_lock(&n->mmio.lock);
	if (n->held_end > n->held_start &&
	    n->held[n->held_start].gen == n->mmio.q[NET_RXQ].gen)
		unpopped[NET_RXQ] = (uint16_t)(n->held_end - n->held_start);
	pthread_mutex_unlock(&n->mmio.lock);
	snap_begin(w, SNAP_SEC_DEVICE, slot);
	virtio_mmio_save(&n->mmio, w, unpopped);
	snap_field(w, SNAP_F_DEV_NET, &sn, sizeof(sn));
	snap_end(w);
}

int virtio_net_load(struct virtio_net *n, struct snap_file *f, uint32_t slot,
		    const char **why)
{
	struct snap_virtio_net sn;
	struct snap_section *s;
	int r;

	if ((r = find_section(&n->mmio, f, slot, &s, why)) ||
	    (r = snap_get(s, SNAP_F_DEV_NET, &sn, sizeof(sn), why)))
		return r;
	if (sn.link & ~(uint16_t)VIRTIO_NET_S_LINK_UP) {
		*why = "link status bits unknown";
		return -EBADMSG;
	}
	/* The guest's driver read the address once, at probe. */
	if (memcmp(sn.mac, n->mac, sizeof(sn.mac)) != 0) {
		*why = "made with another MAC address";
		return -ESTALE;
	}
	if ((r = virtio_mmio_load(&n->mmio, s, why)) || (r = snap_section_done(s, why)))
		return r;
	pthread_mutex_lock(&n->mmio.lock);
	/* The new TAP starts with no offloads: it learns the accepted
	 * features' before its first read, as after a reset. */
	n->offload_synced = false;
	/* A link that was down (the old TAP had failed) is up again. */
	if (sn.link != n->link && virtio_mmio_live(&n->mmio))
		virtio_mmio_config_changed(&n->mmio);
	pthread_mutex_unlock(&n->mmio.lock);
	return 0;
}

/* ---- virtio-vsock ------------------------------------------------------- */

int virtio_vsock_save(struct virtio_vsock *v, uint32_t slot, struct snap_writer *w)
{
	struct snap_virtio_vsock sv = { .guest_cid = v->guest_cid };
	bool busy = v->nrst > 0;

	pthread_mutex_lock(&v->mmio.lock);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		busy |= v->conn[i].state != CONN_FREE;
	pthread_mutex_unlock(&v->mmio.lock);
	/* Streams are host sockets and guest kernel state both: neither can
	 * be carried into another process. */
	if (busy)
		return -EBUSY;
	snap_begin(w, SNAP_SEC_DEVICE, slot);
	virtio_mmio_save(&v->mmio, w, NULL);
	snap_field(w, SNAP_F_DEV_VSOCK, &sv, sizeof(sv));
	snap_end(w);
	return 0;
}

/* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (§5.10.6.7): the guest drops every
 * connection it had and re-reads its CID. Its listeners stay. */
static int transport_reset(struct virtio_vsock *v, const char **why)
{
	struct virtq *q = &v->mmio.q[VSOCK_Q_EVENT];
	uint32_t ev = VSOCK_EVENT_TRANSPORT_RESET;
	int r;

	if (!virtio_mmio_live(&v->mmio) || !q->ready)
		return 0;	/* no driver: no connection to drop */
	r = virtq_pop(q, &v->chain);
	if (r <= 0 || v->chain.nr || v->chain.w_len < sizeof(ev)) {
		*why = "the vsock event queue has no usable buffer";
		return -EBADMSG;
	}
	virtq_write(&v->chain, 0, &ev, sizeof(ev));
	virtq_push(q, &v->chain, sizeof(ev));
	virtio_mmio_notify_used(&v->mmio, VSOCK_Q_EVENT);
	/* The guest refills the buffer once it has handled the event: be told
	 * then, and keep host connections waiting until it has. */
	v->hold_avail = virtq_notify_on_next_add(q);
	v->hold_host = true;
	v->hold_until = clock_ns() + VSOCK_HOLD_NS;
	return 0;
}

int virtio_vsock_load(struct virtio_vsock *v, struct snap_file *f, uint32_t slot,
		      const char **why)
{
	struct snap_virtio_vsock sv;
	struct snap_section *s;
	int r;

	if ((r = find_section(&v->mmio, f, slot, &s, why)) ||
	    (r = snap_get(s, SNAP_F_DEV_VSOCK, &sv, sizeof(sv), why)))
		return r;
	if (sv.guest_cid != v->guest_cid) {
		*why = "made with another guest vsock CID";
		return -ESTALE;
	}
	if ((r = virtio_mmio_load(&v->mmio, s, why)) || (r = snap_section_done(s, why)))
		return r;
	pthread_mutex_lock(&v->mmio.lock);
	r = transport_reset(v, why);
	pthread_mutex_unlock(&v->mmio.lock);
	return r;
}
