/* vmm/virtio/state: virtio devices through a snapshot, over a fake guest
 * whose RAM plays the memory file. A device brought up the way Linux does
 * and used is saved, then loaded into a fresh device on the same memory:
 * the transport and queues come back and the device goes on serving; a
 * disk of another size raises a config interrupt; vsock tells the guest its
 * transport was reset; chains a device held unfinished (virtio-net's
 * receive buffers, a request partly done) are taken again from the start;
 * virtio-net refuses another MAC address. Every transport and queue field out of range, and a
 * device of another kind, is refused with a reason. */
#include "vmm/virtio/state.h"
#include "tests/unit/check.h"
#include "tests/unit/virtq_driver.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
	DRV_FEAT = 0x020, DRV_FEAT_SEL = 0x024, QUEUE_SEL = 0x030, QUEUE_NUM = 0x038,
	QUEUE_READY = 0x044, INT_STATUS = 0x060, STATUS = 0x070,
	DESC_LO = 0x080, DRIVER_LO = 0x090, DEVICE_LO = 0x0a0, CONFIG_GEN = 0x0fc,
};

#define QNUM 16
#define QDESC(i) (0x1000ull + (i) * 0x4000ull)
#define QAVAIL(i) (QDESC(i) + 0x1000)
#define QUSED(i) (QDESC(i) + 0x2000)
#define SECTOR 512u
#define DISK (64u * 1024)
#define SLOT 1

static struct fake_guest g;

static void reg_w(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	virtio_mmio_access(m, off, (uint8_t *)&v, 4, true);
}

static uint32_t reg_r(struct virtio_mmio *m, uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_access(m, off, (uint8_t *)&v, 4, false);
	return v;
}

/* As Linux's virtio_mmio does: status steps, every offered feature,
 * each queue QNUM long at its own place, DRIVER_OK. */
static void bring_up(struct virtio_mmio *m)
{
	uint64_t f = m->ops->features;

	reg_w(m, STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	reg_w(m, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	reg_w(m, DRV_FEAT_SEL, 0);
	reg_w(m, DRV_FEAT, (uint32_t)f);
	reg_w(m, DRV_FEAT_SEL, 1);
	reg_w(m, DRV_FEAT, (uint32_t)(f >> 32));
	reg_w(m, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK);
	for (unsigned int i = 0; i < m->ops->nqueues; i++) {
		reg_w(m, QUEUE_SEL, i);
		reg_w(m, QUEUE_NUM, QNUM);
		reg_w(m, DESC_LO, (uint32_t)QDESC(i));
		reg_w(m, DRIVER_LO, (uint32_t)QAVAIL(i));
		reg_w(m, DEVICE_LO, (uint32_t)QUSED(i));
		reg_w(m, QUEUE_READY, 1);
	}
	reg_w(m, STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			 VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* The VM-wide sections a file must have to parse; their content is not
 * this test's business. */
static uint8_t *finish(struct snap_writer *w, size_t *len)
{
	uint8_t *buf = NULL;

	snap_begin(w, SNAP_SEC_MEMORY, 0); snap_end(w);
	snap_begin(w, SNAP_SEC_IRQCHIP, 0); snap_end(w);
	snap_begin(w, SNAP_SEC_PIT, 0); snap_end(w);
	snap_begin(w, SNAP_SEC_CLOCK, 0); snap_end(w);
	snap_begin(w, SNAP_SEC_VCPU, 0); snap_end(w);
	CHECK_EQ(snap_finish(w, &buf, len), 0);
	return buf;
}

static void writer(struct snap_writer *w)
{
	static const uint8_t id[SNAP_ID_LEN];
	struct snap_key k = { .nr_vcpus = 1, .mem_size = 4096 };

	snap_writer_init(w, &k, id, "test");
}

/* ---- virtio-blk ---------------------------------------------------------- */

static int disk(uint64_t size)
{
	char path[] = "/tmp/airlock-test-vstate-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static void blk_free(struct virtio_blk *b)
{
	close(b->mmio.irq_fd);
	close(b->mmio.kick_fd[0]);
	pthread_mutex_destroy(&b->mmio.lock);
	close(b->fd);
}

/* One read of sector 0 through queue 0: the driver's n-th request. */
static void blk_request(struct virtio_blk *b, uint16_t n)
{
	struct drv_q d;
	uint64_t hdr = 0x40000, data = 0x41000, st = 0x42000;
	uint32_t h[4] = { 0, 0, 0, 0 };

	drv_init(&d, &g, QNUM, QDESC(0), QAVAIL(0), QUSED(0));
	d.avail_idx = n;
	memcpy(fg_host(&g, hdr), h, sizeof(h));
	drv_desc(&d, 0, hdr, 16, VIRTQ_DESC_F_NEXT, 1);
	drv_desc(&d, 1, data, SECTOR, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	drv_desc(&d, 2, st, 1, VIRTQ_DESC_F_WRITE, 0);
	*fg_host(&g, st) = 0xff;
	drv_publish(&d, 0);
	virtio_mmio_kick(&b->mmio, 0);
	CHECK_EQ(*fg_host(&g, st), 0);
	CHECK_EQ(drv_used_idx(&d), (uint16_t)(n + 1));
}

static uint8_t *blk_saved(size_t *len, struct virtio_blk *b)
{
	struct snap_writer w;

	writer(&w);
	virtio_blk_save(b, SLOT, &w);
	return finish(&w, len);
}

static int blk_load(const uint8_t *buf, size_t len, struct virtio_blk *b, const char **why)
{
	struct snap_file f;
	int r = snap_parse(&f, buf, len, NULL, NULL, why);

	if (r == 0)
		r = virtio_blk_load(b, &f, SLOT, why);
	snap_file_free(&f);
	return r;
}

TEST(blk_round_trip)
{
	struct virtio_blk a, b;
	uint8_t *buf;
	size_t len;
	const char *why = NULL;
	uint64_t n;

	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(virtio_blk_setup(&a, &g.gm, disk(DISK), DISK, false, "a"), 0);
	bring_up(&a.mmio);
	blk_request(&a, 0);
	blk_request(&a, 1);
	buf = blk_saved(&len, &a);

	CHECK_EQ(virtio_blk_setup(&b, &g.gm, disk(DISK), DISK, false, "b"), 0);
	CHECK_EQ(blk_load(buf, len, &b, &why), 0);
	CHECK_EQ(b.mmio.status, a.mmio.status);
	CHECK_EQ(b.mmio.drv_features, a.mmio.drv_features);
	CHECK_EQ(b.mmio.q[0].ready, 1);
	CHECK_EQ(b.mmio.q[0].last_avail, 2);
	CHECK_EQ(b.mmio.q[0].used_idx, 2);
	CHECK_EQ(b.mmio.q[0].event_idx, a.mmio.q[0].event_idx);
	CHECK(b.mmio.q[0].desc == a.mmio.q[0].desc);
	/* Same size: no config interrupt. */
	CHECK_EQ(b.mmio.int_status & 2, 0);
	CHECK_EQ(read(b.mmio.irq_fd, &n, sizeof(n)), -1);
	/* It goes on where the first left off. */
	blk_request(&b, 2);
	free(buf);
	blk_free(&a);
	blk_free(&b);
	fg_free(&g);
}

TEST(blk_resized_raises_config_change)
{
	struct virtio_blk a, b, c;
	uint8_t *buf;
	size_t len;
	const char *why = NULL;
	uint64_t n = 0;
	uint32_t gen;

	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(virtio_blk_setup(&a, &g.gm, disk(DISK), DISK, false, "a"), 0);
	bring_up(&a.mmio);
	gen = reg_r(&a.mmio, CONFIG_GEN);
	buf = blk_saved(&len, &a);

	CHECK_EQ(virtio_blk_setup(&b, &g.gm, disk(4 * DISK), 4 * DISK, false, "b"), 0);
	CHECK_EQ(blk_load(buf, len, &b, &why), 0);
	CHECK(reg_r(&b.mmio, INT_STATUS) & 2);
	CHECK_EQ(reg_r(&b.mmio, CONFIG_GEN), gen + 1);
	CHECK_EQ(read(b.mmio.irq_fd, &n, sizeof(n)), 8);
	CHECK_EQ(b.capacity, 4 * DISK / SECTOR);

	/* A writable disk in the snapshot cannot come back read-only. */
	CHECK_EQ(virtio_blk_setup(&c, &g.gm, disk(DISK), DISK, true, "c"), 0);
	CHECK_EQ(blk_load(buf, len, &c, &why), -ESTALE);
	CHECK_STR(why, "a disk that was writable is now read-only");
	free(buf);
	blk_free(&a);
	blk_free(&b);
	blk_free(&c);
	fg_free(&g);
}

/* A device section made by hand from a transport, queue and blk field. */
static uint8_t *blk_file(const struct snap_virtio_transport *t, const struct snap_virtq *q,
			 const struct snap_virtio_blk *sb, bool extra, size_t *len)
{
	struct snap_writer w;

	writer(&w);
	snap_begin(&w, SNAP_SEC_DEVICE, SLOT);
	snap_field(&w, SNAP_F_DEV_TRANSPORT, t, sizeof(*t));
	snap_field(&w, SNAP_F_DEV_QUEUE0, q, sizeof(*q));
	if (sb)
		snap_field(&w, SNAP_F_DEV_BLK, sb, sizeof(*sb));
	if (extra)
		snap_field(&w, 31, "?", 1);
	snap_end(&w);
	return finish(&w, len);
}

struct vcase {
	const char *name;
	void (*mutate)(struct snap_virtio_transport *t, struct snap_virtq *q,
		       struct snap_virtio_blk *b);
	int err;
	const char *why;
};

#define MUT(n, body) \
	static void n(struct snap_virtio_transport *t, struct snap_virtq *q, \
		      struct snap_virtio_blk *b) { (void)t; (void)q; (void)b; body; }

MUT(m_device_id, t->device_id = 4)
MUT(m_nqueues, t->nqueues = 2)
MUT(m_status, t->status |= 0x10)
MUT(m_int_status, t->int_status = 4)
MUT(m_features, t->drv_features |= 1ull << 3)
MUT(m_no_version1, t->drv_features &= ~VIRTIO_F_VERSION_1)
MUT(m_ready, q->ready = 2)
MUT(m_event_idx, q->event_idx = 7)
MUT(m_reserved, q->reserved[4] = 1)
MUT(m_num_big, q->num = 512)
MUT(m_num_odd, q->num = 12)
MUT(m_desc_misaligned, q->desc_gpa += 8)
MUT(m_desc_outside, q->desc_gpa = FG_RAM_SIZE - 64)
MUT(m_used_far, q->used_gpa = 1ull << 40)
MUT(m_used_idx, q->used_idx += 1)
MUT(m_last_avail, q->last_avail += 20)
MUT(m_beyond, t->drv_features_beyond = 2)
MUT(m_t_reserved, t->reserved[3] = 1)
MUT(m_blk_ro, b->ro = 3)
MUT(m_blk_reserved, b->reserved[6] = 1)

static const struct vcase vcases[] = {
	{ "device id", m_device_id, -ESTALE, "another kind of device in this slot" },
	{ "queue count", m_nqueues, -ESTALE, "another kind of device in this slot" },
	{ "status bits", m_status, -EBADMSG, "device status bits unknown" },
	{ "interrupt bits", m_int_status, -EBADMSG, "interrupt status bits unknown" },
	{ "features", m_features, -EBADMSG, "features the device does not offer" },
	{ "no VERSION_1", m_no_version1, -EBADMSG, "features the device does not offer" },
	{ "ready flag", m_ready, -EBADMSG, "a queue with flags out of range" },
	{ "event_idx flag", m_event_idx, -EBADMSG, "a queue with flags out of range" },
	{ "queue reserved", m_reserved, -EBADMSG, "a queue with flags out of range" },
	{ "queue size", m_num_big, -EBADMSG, "a queue larger than the device offers" },
	{ "queue size odd", m_num_odd, -EBADMSG,
	  "a queue whose rings are misplaced or misaligned" },
	{ "desc misaligned", m_desc_misaligned, -EBADMSG,
	  "a queue whose rings are misplaced or misaligned" },
	{ "desc outside RAM", m_desc_outside, -EBADMSG,
	  "a queue whose rings are misplaced or misaligned" },
	{ "used far away", m_used_far, -EBADMSG,
	  "a queue whose rings are misplaced or misaligned" },
	{ "used idx", m_used_idx, -EBADMSG,
	  "a queue whose used ring does not match guest memory" },
	{ "last avail", m_last_avail, -EBADMSG,
	  "a queue whose indices do not match guest memory" },
	{ "features beyond", m_beyond, -EBADMSG, "transport flags out of range" },
	{ "transport reserved", m_t_reserved, -EBADMSG, "transport flags out of range" },
	{ "blk ro", m_blk_ro, -EBADMSG, "disk flags out of range" },
	{ "blk reserved", m_blk_reserved, -EBADMSG, "disk flags out of range" },
};

TEST(blk_fields_out_of_range)
{
	struct virtio_blk a, b;
	struct snap_virtio_transport t0;
	struct snap_virtq q0;
	struct snap_virtio_blk b0;
	struct snap_file f;
	struct snap_section *s;
	uint8_t *buf;
	size_t len;
	const char *why;

	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(virtio_blk_setup(&a, &g.gm, disk(DISK), DISK, false, "a"), 0);
	bring_up(&a.mmio);
	for (uint16_t i = 0; i < 40; i++)	/* indices past a wrap of the ring */
		blk_request(&a, i);
	buf = blk_saved(&len, &a);
	CHECK_EQ(snap_parse(&f, buf, len, NULL, NULL, &why), 0);
	s = snap_find(&f, SNAP_SEC_DEVICE, SLOT);
	CHECK(s != NULL);
	CHECK_EQ(snap_get(s, SNAP_F_DEV_TRANSPORT, &t0, sizeof(t0), &why), 0);
	CHECK_EQ(snap_get(s, SNAP_F_DEV_QUEUE0, &q0, sizeof(q0), &why), 0);
	CHECK_EQ(snap_get(s, SNAP_F_DEV_BLK, &b0, sizeof(b0), &why), 0);
	snap_file_free(&f);
	free(buf);

	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		struct snap_virtio_transport t = t0;
		struct snap_virtq q = q0;
		struct snap_virtio_blk sb = b0;
		int r;

		vcases[i].mutate(&t, &q, &sb);
		buf = blk_file(&t, &q, &sb, false, &len);
		CHECK_EQ(virtio_blk_setup(&b, &g.gm, disk(DISK), DISK, false, "b"), 0);
		why = NULL;
		r = blk_load(buf, len, &b, &why);
		if (r != vcases[i].err || !why || strcmp(why, vcases[i].why)) {
			fprintf(stderr, "case '%s': got %d (%s)\n", vcases[i].name, r,
				why ? why : "-");
			check_failures++;
		}
		/* Nothing half-loaded stays behind. */
		CHECK_EQ(b.mmio.status, 0);
		CHECK_EQ(b.mmio.q[0].ready, 0);
		blk_free(&b);
		free(buf);
	}

	/* Unmutated, it loads; with a field nobody knows, or without the
	 * blk field, it does not. */
	CHECK_EQ(virtio_blk_setup(&b, &g.gm, disk(DISK), DISK, false, "b"), 0);
	buf = blk_file(&t0, &q0, &b0, false, &len);
	CHECK_EQ(blk_load(buf, len, &b, &why), 0);
	free(buf);
	buf = blk_file(&t0, &q0, &b0, true, &len);
	CHECK_EQ(blk_load(buf, len, &b, &why), -EBADMSG);
	CHECK_STR(why, "a field this VMM does not know");
	free(buf);
	buf = blk_file(&t0, &q0, NULL, false, &len);
	CHECK_EQ(blk_load(buf, len, &b, &why), -EBADMSG);
	CHECK_STR(why, "a field is missing");
	free(buf);
	blk_free(&b);

	/* No section for the slot: the snapshot had no such device. */
	{
		struct snap_writer w;

		writer(&w);
		buf = finish(&w, &len);
		CHECK_EQ(virtio_blk_setup(&b, &g.gm, disk(DISK), DISK, false, "b"), 0);
		CHECK_EQ(blk_load(buf, len, &b, &why), -ESTALE);
		CHECK_STR(why, "a device the snapshot does not have");
		blk_free(&b);
		free(buf);
	}
	blk_free(&a);
	fg_free(&g);
}

/* A device the driver never touched (status 0) comes back as it was. */
TEST(rng_untouched)
{
	struct virtio_rng a, b;
	struct snap_writer w;
	struct snap_file f;
	uint8_t *buf;
	size_t len;
	const char *why;

	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(virtio_rng_setup(&a, &g.gm), 0);
	writer(&w);
	virtio_rng_save(&a, 0, &w);
	buf = finish(&w, &len);
	CHECK_EQ(virtio_rng_setup(&b, &g.gm), 0);
	CHECK_EQ(snap_parse(&f, buf, len, NULL, NULL, &why), 0);
	CHECK_EQ(virtio_rng_load(&b, &f, 0, &why), 0);
	CHECK_EQ(b.mmio.status, 0);
	CHECK_EQ(b.mmio.q[0].ready, 0);
	/* A blk device cannot take an rng's state. */
	{
		struct virtio_blk blk;

		CHECK_EQ(virtio_blk_setup(&blk, &g.gm, disk(DISK), DISK, false, "b"), 0);
		CHECK_EQ(virtio_blk_load(&blk, &f, 0, &why), -ESTALE);
		blk_free(&blk);
	}
	snap_file_free(&f);
	free(buf);
	fg_free(&g);
}

/* ---- virtio-net ---------------------------------------------------------- */

static uint8_t *net_saved(size_t *len, struct virtio_net *nd)
{
	struct snap_writer w;

	writer(&w);
	virtio_net_save(nd, SLOT, &w);
	return finish(&w, len);
}

static int net_load(const uint8_t *buf, size_t len, struct virtio_net *nd, const char **why)
{
	struct snap_file f;
	int r = snap_parse(&f, buf, len, NULL, NULL, why);

	if (r == 0)
		r = virtio_net_load(nd, &f, SLOT, why);
	snap_file_free(&f);
	return r;
}

/* Receive buffers the device held waiting for a frame are the guest's
 * again after a restore: the new device takes them from the ring and
 * delivers into them. */
TEST(net_held_rx_taken_again)
{
	static struct virtio_net a, b, c;
	static const uint8_t mac[6] = VIRTIO_NET_DEFAULT_MAC;
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 1 };
	struct drv_q rx;
	uint8_t frame[60], *buf;
	uint32_t id, elen;
	size_t len;
	const char *why = NULL;
	int sa[2], sb[2], sc[2];

	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sa), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sb), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sc), 0);
	CHECK_EQ(virtio_net_setup(&a, &g.gm, sa[0], mac), 0);
	bring_up(&a.mmio);
	/* A ring of 2 KiB receive buffers: with mergeable buffers the
	 * device holds them all, waiting for a frame (none comes). */
	drv_init(&rx, &g, QNUM, QDESC(NET_RXQ), QAVAIL(NET_RXQ), QUSED(NET_RXQ));
	for (uint16_t i = 0; i < QNUM; i++) {
		drv_desc(&rx, i, 0x50000 + 0x800u * i, 0x800, VIRTQ_DESC_F_WRITE, 0);
		drv_publish(&rx, i);
	}
	virtio_net_poll(&a);
	CHECK_EQ(a.held_end - a.held_start, QNUM);
	CHECK_EQ(a.mmio.q[NET_RXQ].last_avail, QNUM);
	buf = net_saved(&len, &a);

	CHECK_EQ(virtio_net_setup(&b, &g.gm, sb[0], mac), 0);
	CHECK_EQ(net_load(buf, len, &b, &why), 0);
	CHECK_EQ(b.mmio.q[NET_RXQ].last_avail, 0);
	CHECK_EQ(b.mmio.drv_features, a.mmio.drv_features);
	CHECK_EQ(b.offload_synced, false);
	/* Same link state: no config interrupt. */
	CHECK_EQ(b.mmio.int_status & 2, 0);
	/* A frame arrives on the new TAP (after its virtio-net header): it
	 * lands in the first buffer. */
	{
		struct vnet_hdr h = { .gso_type = VNET_GSO_NONE };
		struct iovec iov[2] = { { &h, NET_HDR_SIZE }, { frame, sizeof(frame) } };

		memset(frame, 0x5a, sizeof(frame));
		CHECK_EQ(writev(sb[1], iov, 2), (ssize_t)(NET_HDR_SIZE + sizeof(frame)));
	}
	virtio_net_poll(&b);
	CHECK_EQ(drv_used_idx(&rx), 1);
	drv_used_elem(&rx, 0, &id, &elen);
	CHECK_EQ(id, 0);
	CHECK_EQ(elen, NET_HDR_SIZE + sizeof(frame));
	CHECK(memcmp(fg_host(&g, 0x50000 + NET_HDR_SIZE), frame, sizeof(frame)) == 0);

	/* Another MAC address: the guest's driver knows the old one. */
	CHECK_EQ(virtio_net_setup(&c, &g.gm, sc[0], other), 0);
	CHECK_EQ(net_load(buf, len, &c, &why), -ESTALE);
	CHECK_STR(why, "made with another MAC address");
	free(buf);

	/* Link status bits nobody knows. */
	a.link = 0x80;
	buf = net_saved(&len, &a);
	CHECK_EQ(net_load(buf, len, &c, &why), -EBADMSG);
	CHECK_STR(why, "link status bits unknown");
	free(buf);
	/* A link that was down comes back up: the guest is told. (Saved
	 * from b: guest memory is as b left it.) */
	b.link = 0;
	buf = net_saved(&len, &b);
	virtio_net_exit(&c);
	CHECK_EQ(virtio_net_setup(&c, &g.gm, sc[0], mac), 0);
	CHECK_EQ(net_load(buf, len, &c, &why), 0);
	CHECK(c.mmio.int_status & 2);
	free(buf);
	virtio_net_exit(&a);
	virtio_net_exit(&b);
	virtio_net_exit(&c);
	for (int i = 0; i < 2; i++) {
		close(sa[i]);
		close(sb[i]);
		close(sc[i]);
	}
	fg_free(&g);
}

/* A request the transport left partly done (its batch ran out part way)
 * is saved as not yet taken, and done from the start after a restore. */
TEST(partly_done_chain_taken_again)
{
	struct virtio_blk a, b;
	struct virtq_chain *c = calloc(1, sizeof(*c));
	uint8_t *buf;
	size_t len;
	const char *why = NULL;

	CHECK(c != NULL);
	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(virtio_blk_setup(&a, &g.gm, disk(DISK), DISK, false, "a"), 0);
	bring_up(&a.mmio);
	blk_request(&a, 0);
	blk_request(&a, 1);
	/* A third request, popped and held as virtio_mmio_drain() leaves
	 * one whose batch ran out. */
	{
		struct drv_q d;

		drv_init(&d, &g, QNUM, QDESC(0), QAVAIL(0), QUSED(0));
		d.avail_idx = 2;
		drv_publish(&d, 0);
	}
	CHECK_EQ(virtq_pop(&a.mmio.q[0], c), 1);
	a.mmio.held[0] = true;
	buf = blk_saved(&len, &a);
	CHECK_EQ(virtio_blk_setup(&b, &g.gm, disk(DISK), DISK, false, "b"), 0);
	CHECK_EQ(blk_load(buf, len, &b, &why), 0);
	CHECK_EQ(b.mmio.q[0].last_avail, 2);
	CHECK_EQ(b.mmio.q[0].used_idx, 2);
	CHECK_EQ(b.mmio.held[0], false);
	/* The new device does it whole. */
	{
		struct drv_q d;

		drv_init(&d, &g, QNUM, QDESC(0), QAVAIL(0), QUSED(0));
		*fg_host(&g, 0x42000) = 0xff;
		virtio_mmio_kick(&b.mmio, 0);
		CHECK_EQ(drv_used_idx(&d), 3);
		CHECK_EQ(*fg_host(&g, 0x42000), 0);
	}
	free(buf);
	free(c);
	blk_free(&a);
	blk_free(&b);
	fg_free(&g);
}

/* ---- virtio-vsock -------------------------------------------------------- */

TEST(vsock_transport_reset)
{
	static struct virtio_vsock a, b;
	struct snap_writer w;
	struct snap_file f;
	struct drv_q ev;
	uint8_t *buf;
	size_t len;
	const char *why;
	uint32_t id, elen, event = 0xffffffff;
	uint64_t n;
	int sp[2];

	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(virtio_vsock_setup(&a, &g.gm, 3, NULL), 0);
	bring_up(&a.mmio);
	/* The driver's event buffers: four of 4 bytes. */
	drv_init(&ev, &g, QNUM, QDESC(2), QAVAIL(2), QUSED(2));
	for (uint16_t i = 0; i < 4; i++) {
		drv_desc(&ev, i, 0x50000 + 8u * i, 4, VIRTQ_DESC_F_WRITE, 0);
		drv_publish(&ev, i);
	}

	/* A host connection still handshaking: no snapshot now. */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	virtio_vsock_accept(&a, sp[0]);
	writer(&w);
	CHECK_EQ(virtio_vsock_save(&a, 2, &w), -EBUSY);
	close(sp[1]);
	virtio_vsock_poll(&a);	/* it hangs up: the slot is free again */
	CHECK_EQ(virtio_vsock_save(&a, 2, &w), 0);
	buf = finish(&w, &len);

	CHECK_EQ(virtio_vsock_setup(&b, &g.gm, 3, NULL), 0);
	CHECK_EQ(snap_parse(&f, buf, len, NULL, NULL, &why), 0);
	CHECK_EQ(virtio_vsock_load(&b, &f, 2, &why), 0);
	snap_file_free(&f);
	/* One event used: TRANSPORT_RESET (0), and an interrupt for it. */
	CHECK_EQ(drv_used_idx(&ev), 1);
	drv_used_elem(&ev, 0, &id, &elen);
	CHECK_EQ(id, 0);
	CHECK_EQ(elen, 4);
	memcpy(&event, fg_host(&g, 0x50000), 4);
	CHECK_EQ(event, 0);
	CHECK_EQ(read(b.mmio.irq_fd, &n, sizeof(n)), 8);
	CHECK(reg_r(&b.mmio, INT_STATUS) & 1);
	/* The guest is asked to say when it refills: its next add. */
	CHECK_EQ(drv_avail_event(&ev), 4);

	/* Until it has handled the reset, a host connection waits: no
	 * REQUEST in the rx buffer the guest offers. */
	{
		struct drv_q rx;
		uint32_t rid, rlen;
		uint16_t op;
		int hp[2];

		drv_init(&rx, &g, QNUM, QDESC(0), QAVAIL(0), QUSED(0));
		drv_desc(&rx, 0, 0x60000, 4096, VIRTQ_DESC_F_WRITE, 0);
		drv_publish(&rx, 0);
		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, hp), 0);
		CHECK_EQ(write(hp[1], "CONNECT 1002\n", 13), 13);
		virtio_vsock_accept(&b, hp[0]);
		virtio_mmio_kick(&b.mmio, 0);
		CHECK_EQ(drv_used_idx(&rx), 0);
		/* A look at the event queue with nothing new in it (the
		 * restore looks at every queue once) is not the refill. */
		virtio_mmio_kick(&b.mmio, 2);
		CHECK_EQ(drv_used_idx(&rx), 0);
		/* The guest refills its event buffer and kicks: now it goes. */
		drv_publish(&ev, 0);
		virtio_mmio_kick(&b.mmio, 2);
		CHECK_EQ(drv_used_idx(&rx), 1);
		drv_used_elem(&rx, 0, &rid, &rlen);
		memcpy(&op, fg_host(&g, 0x60000) + 30, 2);	/* vsock_hdr.op */
		CHECK_EQ(op, VSOCK_OP_REQUEST);
		close(hp[1]);
	}

	/* Another CID: refused. */
	virtio_vsock_exit(&b);
	CHECK_EQ(virtio_vsock_setup(&b, &g.gm, 4, NULL), 0);
	CHECK_EQ(snap_parse(&f, buf, len, NULL, NULL, &why), 0);
	CHECK_EQ(virtio_vsock_load(&b, &f, 2, &why), -ESTALE);
	CHECK_STR(why, "made with another guest vsock CID");
	snap_file_free(&f);
	free(buf);
	virtio_vsock_exit(&a);
	virtio_vsock_exit(&b);
	fg_free(&g);
}

CHECK_MAIN(TEST_ENTRY(blk_round_trip), TEST_ENTRY(blk_resized_raises_config_change),
	   TEST_ENTRY(blk_fields_out_of_range), TEST_ENTRY(rng_untouched),
	   TEST_ENTRY(net_held_rx_taken_again), TEST_ENTRY(partly_done_chain_taken_again),
	   TEST_ENTRY(vsock_transport_reset))
