/* vmm/virtio/mmio: the virtio-mmio v2 register window (virtio 1.2
 * §4.2.2) driven with 32-bit accesses the way Linux's virtio_mmio driver
 * does, and the way it must not (§2.1, §3.1, §4.2.2: each refused write a
 * table row), over a small fake device and a fake guest; then the batch
 * loop (virtio_mmio_drain) and the used ring checked against the queue's
 * current state. No KVM: the eventfds virtio_mmio_setup() makes are read
 * directly. */
#include "vmm/virtio/mmio.h"
#include "tests/unit/capture.h"
#include "tests/unit/check.h"
#include "tests/unit/virtq_driver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

enum {
	MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
	DEV_FEAT = 0x010, DEV_FEAT_SEL = 0x014, DRV_FEAT = 0x020, DRV_FEAT_SEL = 0x024,
	QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038,
	QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050, INT_STATUS = 0x060,
	INT_ACK = 0x064, STATUS = 0x070, DESC_LO = 0x080, DESC_HI = 0x084,
	DRIVER_LO = 0x090, DRIVER_HI = 0x094, DEVICE_LO = 0x0a0, DEVICE_HI = 0x0a4,
	CONFIG_GEN = 0x0fc, CONFIG = 0x100,
};

#define ACK VIRTIO_STATUS_ACKNOWLEDGE
#define DRV VIRTIO_STATUS_DRIVER
#define FEAT_OK VIRTIO_STATUS_FEATURES_OK
#define DRV_OK VIRTIO_STATUS_DRIVER_OK
#define NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define INT_USED 1
#define INT_CONFIG 2

#define TEST_ID 42
#define F_LOW0 (1ull << 0)
#define F_HIGH8 (1ull << 40)
#define TEST_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX | F_LOW0 | F_HIGH8)
#define CONFIG_SIZE 10

/* A device with two queues and 10 bytes of config space. */
struct tdev {
	uint8_t config[CONFIG_SIZE];
	int notified[VIRTIO_MAX_QUEUES];
	int resets;
	int bad_config_reads;
};

static void t_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	struct tdev *t = dev;

	if (off >= CONFIG_SIZE || len > CONFIG_SIZE - off) {
		t->bad_config_reads++;
		return;
	}
	memcpy(data, t->config + off, len);
}

static bool t_queue_notify(void *dev, unsigned int qi, struct virtq_budget *budget)
{
	struct tdev *t = dev;

	(void)budget;
	t->notified[qi]++;
	return false;
}

static void t_reset(void *dev)
{
	struct tdev *t = dev;

	t->resets++;
}

static const struct virtio_ops t_ops = {
	.name = "virtio-test",
	.device_id = TEST_ID,
	.features = TEST_FEATURES,
	.nqueues = 2,
	.config_size = CONFIG_SIZE,
	.config_read = t_config_read,
	.queue_notify = t_queue_notify,
	.reset = t_reset,
};

static struct fake_guest g;
static struct virtio_mmio m;
static struct tdev t;

/* A second device on the batch loop: each chain is "served" by writing
 * its writable bytes, at most the budget's bytes per wake-up, 3 chains or
 * 100 bytes per batch. */
#define D_CHAINS 3
#define D_BYTES 100
static struct virtq_chain dchain;
static uint64_t dmoved;		/* bytes of the current chain served so far */
static int dresumed, dstarted;

static int64_t d_chain(void *dev, struct virtq_chain *c, bool resume,
		       struct virtq_budget *b, const char **why)
{
	uint64_t n;

	(void)dev;
	(void)why;
	if (resume) {
		dresumed++;
	} else {
		dstarted++;
		dmoved = 0;
	}
	n = c->w_len - dmoved < b->bytes ? c->w_len - dmoved : b->bytes;
	for (uint64_t i = 0; i < n; i++) {
		uint8_t x = (uint8_t)(dmoved + i);

		virtq_write(c, dmoved + i, &x, 1);
	}
	dmoved += n;
	virtq_budget_spend(b, n);
	return dmoved < c->w_len ? VIRTIO_CHAIN_AGAIN : (int64_t)c->w_len;
}

static bool d_queue_notify(void *dev, unsigned int qi, struct virtq_budget *b)
{
	(void)dev;
	return virtio_mmio_drain(&m, qi, b, &dchain, d_chain);
}

static const struct virtio_ops d_ops = {
	.name = "virtio-batch",
	.device_id = TEST_ID,
	.features = VIRTIO_F_VERSION_1,
	.nqueues = 1,
	.batch_chains = D_CHAINS,
	.batch_bytes = D_BYTES,
	.queue_notify = d_queue_notify,
};

static void setup(void)
{
	CHECK_EQ(fg_init(&g), 0);
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < CONFIG_SIZE; i++)
		t.config[i] = (uint8_t)(0xc0 + i);
	CHECK_EQ(virtio_mmio_setup(&m, &g.gm, 0xd0000000, 5, &t_ops, &t), 0);
}

static void teardown(void)
{
	close(m.irq_fd);
	for (unsigned int i = 0; i < t_ops.nqueues; i++)
		close(m.kick_fd[i]);
	pthread_mutex_destroy(&m.lock);
	fg_free(&g);
}

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	uint32_t v;

	virtio_mmio_access(&m, off, b, 4, false);
	memcpy(&v, b, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	virtio_mmio_access(&m, off, b, 4, true);
}

/* Return head to the driver of q as if just popped from it. */
static bool push_head(struct virtq *q, uint16_t head)
{
	static struct virtq_chain c;

	c.head = head;
	c.gen = q->gen;
	return virtq_push(q, &c, 0);
}

/* What an eventfd has counted since last read (0 if nothing). */
static uint64_t drain(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* The driver's init sequence up to FEATURES_OK (§3.1.1); returns the
 * status read back after asking for FEATURES_OK. */
static uint32_t negotiate(uint64_t features)
{
	wr(STATUS, 0);
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	wr(DRV_FEAT_SEL, 0);
	wr(DRV_FEAT, (uint32_t)features);
	wr(DRV_FEAT_SEL, 1);
	wr(DRV_FEAT, (uint32_t)(features >> 32));
	wr(STATUS, ACK | DRV | FEAT_OK);
	return rd(STATUS);
}

/* Queue qi on rings at desc/avail/used, then QueueReady = 1. */
static void queue_setup(uint32_t qi, uint32_t num, uint64_t desc, uint64_t avail,
			uint64_t used)
{
	wr(QUEUE_SEL, qi);
	wr(QUEUE_NUM, num);
	wr(DESC_LO, (uint32_t)desc);
	wr(DESC_HI, (uint32_t)(desc >> 32));
	wr(DRIVER_LO, (uint32_t)avail);
	wr(DRIVER_HI, (uint32_t)(avail >> 32));
	wr(DEVICE_LO, (uint32_t)used);
	wr(DEVICE_HI, (uint32_t)(used >> 32));
	wr(QUEUE_READY, 1);
}

/* A whole, healthy device: features, queue 0 on the standard rings, live. */
static void bring_up(uint64_t features)
{
	CHECK_EQ(negotiate(features), ACK | DRV | FEAT_OK);
	queue_setup(0, 8, FG_DESC, FG_AVAIL, FG_USED);
	CHECK_EQ(rd(QUEUE_READY), 1);
	wr(STATUS, ACK | DRV | FEAT_OK | DRV_OK);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK | DRV_OK);
}

TEST(identity)
{
	setup();
	CHECK_EQ(rd(MAGIC), 0x74726976);
	CHECK_EQ(rd(VERSION), 2);
	CHECK_EQ(rd(DEVICE_ID), TEST_ID);
	CHECK_EQ(rd(VENDOR_ID), 0x4b4c5241);
	CHECK_EQ(rd(STATUS), 0);
	CHECK_EQ(rd(INT_STATUS), 0);
	CHECK_EQ(rd(CONFIG_GEN), 0);
	/* Write-only and reserved registers read as 0. */
	CHECK_EQ(rd(QUEUE_NOTIFY), 0);
	CHECK_EQ(rd(INT_ACK), 0);
	CHECK_EQ(rd(0x0f8), 0);
	/* Identity is read-only. */
	wr(MAGIC, 0);
	wr(DEVICE_ID, 7);
	CHECK_EQ(rd(MAGIC), 0x74726976);
	CHECK_EQ(rd(DEVICE_ID), TEST_ID);
	teardown();
}

TEST(feature_windows)
{
	setup();
	CHECK_EQ(rd(DEV_FEAT), (uint32_t)TEST_FEATURES);	/* select 0 at reset */
	wr(DEV_FEAT_SEL, 1);
	CHECK_EQ(rd(DEV_FEAT), (uint32_t)(TEST_FEATURES >> 32));
	CHECK_EQ(rd(DEV_FEAT), 0x101);	/* VERSION_1 and bit 40 */
	wr(DEV_FEAT_SEL, 2);
	CHECK_EQ(rd(DEV_FEAT), 0);
	wr(DEV_FEAT_SEL, 0xffffffff);
	CHECK_EQ(rd(DEV_FEAT), 0);
	wr(DEV_FEAT_SEL, 0);
	CHECK_EQ(rd(DEV_FEAT), (uint32_t)TEST_FEATURES);
	/* Driver feature windows past 1 are ignored. */
	wr(STATUS, ACK | DRV);
	wr(DRV_FEAT_SEL, 2);
	wr(DRV_FEAT, 0xffffffff);
	CHECK_EQ(m.drv_features, 0);
	teardown();
}

TEST(init_sequence)
{
	setup();
	wr(STATUS, ACK);
	CHECK_EQ(rd(STATUS), ACK);
	wr(STATUS, ACK | DRV);
	CHECK_EQ(rd(STATUS), ACK | DRV);
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1 | F_LOW0 | F_HIGH8), ACK | DRV | FEAT_OK);
	CHECK_EQ(m.drv_features, VIRTIO_F_VERSION_1 | F_LOW0 | F_HIGH8);
	/* Features are fixed once accepted. */
	wr(DRV_FEAT_SEL, 0);
	wr(DRV_FEAT, 0);
	wr(DRV_FEAT_SEL, 1);
	wr(DRV_FEAT, 0);
	CHECK_EQ(m.drv_features, VIRTIO_F_VERSION_1 | F_LOW0 | F_HIGH8);
	wr(STATUS, ACK | DRV | FEAT_OK | DRV_OK);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK | DRV_OK);
	/* The driver cannot clear bits but by reset, nor set NEEDS_RESET. */
	wr(STATUS, ACK);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK | DRV_OK);
	wr(STATUS, NEEDS_RESET);
	CHECK_EQ(rd(STATUS) & NEEDS_RESET, 0);
	CHECK_EQ(t.resets, 1);	/* the one in negotiate() */
	teardown();
}

TEST(features_refused)
{
	setup();
	/* A bit we never offered, low or high. */
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1 | (1ull << 1)), ACK | DRV);
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1 | (1ull << 63)), ACK | DRV);
	CHECK_EQ(negotiate(TEST_FEATURES | VIRTIO_F_RING_INDIRECT_DESC), ACK | DRV);
	/* Legacy: no VERSION_1. */
	CHECK_EQ(negotiate(F_LOW0), ACK | DRV);
	CHECK_EQ(negotiate(0), ACK | DRV);
	/* Everything offered, and VERSION_1 alone, are fine. */
	CHECK_EQ(negotiate(TEST_FEATURES), ACK | DRV | FEAT_OK);
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1), ACK | DRV | FEAT_OK);
	teardown();
}

TEST(queue_setup_registers)
{
	setup();
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1), ACK | DRV | FEAT_OK);
	wr(QUEUE_SEL, 0);
	CHECK_EQ(rd(QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	CHECK_EQ(rd(QUEUE_READY), 0);
	wr(QUEUE_SEL, 1);
	CHECK_EQ(rd(QUEUE_NUM_MAX), VIRTQ_MAX_SIZE);
	/* Queues the device does not have: 0, and writes go nowhere. */
	wr(QUEUE_SEL, 2);
	CHECK_EQ(rd(QUEUE_NUM_MAX), 0);
	CHECK_EQ(rd(QUEUE_READY), 0);
	wr(QUEUE_NUM, 8);
	wr(QUEUE_READY, 1);
	CHECK_EQ(rd(QUEUE_READY), 0);
	CHECK_EQ(m.q[2].num, 0);
	wr(QUEUE_SEL, 0xffffffff);
	CHECK_EQ(rd(QUEUE_NUM_MAX), 0);
	wr(QUEUE_READY, 1);
	CHECK_EQ(rd(STATUS) & NEEDS_RESET, 0);

	queue_setup(0, 8, FG_DESC, FG_AVAIL, FG_USED);
	CHECK_EQ(rd(QUEUE_READY), 1);
	CHECK(m.q[0].ready);
	CHECK_EQ(m.q[0].num, 8);
	CHECK_EQ(m.q[0].desc_gpa, FG_DESC);
	CHECK_EQ(m.q[0].avail_gpa, FG_AVAIL);
	CHECK_EQ(m.q[0].used_gpa, FG_USED);
	CHECK(!m.q[0].event_idx);
	/* Queue 1, independently, in the second region via the high halves
	 * (which a 64-bit address needs but ours do not: still written). */
	queue_setup(1, 4, FG_RAM2_GPA, FG_RAM2_GPA + 0x100, FG_RAM2_GPA + 0x200);
	CHECK_EQ(rd(QUEUE_READY), 1);
	CHECK(m.q[1].ready);
	CHECK_EQ(m.q[1].num, 4);
	CHECK(m.q[1].desc == g.ram2);
	wr(QUEUE_SEL, 0);
	CHECK_EQ(rd(QUEUE_READY), 1);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK);
	teardown();

	/* EVENT_IDX, once negotiated, reaches the queues. */
	setup();
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX),
		 ACK | DRV | FEAT_OK);
	queue_setup(0, 8, FG_DESC, FG_AVAIL, FG_USED);
	CHECK(m.q[0].ready);
	CHECK(m.q[0].event_idx);
	teardown();
}

/* QueueReady = 1 on rings virtq_activate() refuses: the device needs a
 * reset and says so with a config interrupt. */
static void bad_rings(uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	setup();
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1), ACK | DRV | FEAT_OK);
	queue_setup(0, num, desc, avail, used);
	CHECK_EQ(rd(QUEUE_READY), 0);
	CHECK(!m.q[0].ready);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK | NEEDS_RESET);
	CHECK_EQ(rd(INT_STATUS), INT_CONFIG);
	CHECK_EQ(rd(CONFIG_GEN), 1);
	CHECK_EQ(drain(m.irq_fd), 1);
	teardown();
}

TEST(queue_ready_bad_rings)
{
	const uint64_t end = FG_RAM2_GPA + FG_RAM2_SIZE;

	bad_rings(0, FG_DESC, FG_AVAIL, FG_USED);
	bad_rings(6, FG_DESC, FG_AVAIL, FG_USED);
	bad_rings(512, FG_DESC, FG_AVAIL, FG_USED);
	bad_rings(VIRTQ_MAX_SIZE + 1, FG_DESC, FG_AVAIL, FG_USED);
	bad_rings(8, FG_DESC + 8, FG_AVAIL, FG_USED);
	bad_rings(8, FG_DESC, FG_AVAIL + 1, FG_USED);
	bad_rings(8, FG_DESC, FG_AVAIL, FG_USED + 2);
	bad_rings(8, end, FG_AVAIL, FG_USED);
	bad_rings(8, FG_DESC, FG_AVAIL, end - 16);
	bad_rings(8, FG_DESC | 1ull << 32, FG_AVAIL, FG_USED);	/* high half */
	bad_rings(8, FG_DESC, FG_RAM2_GPA - 8, FG_USED);	/* spans regions */
	bad_rings(8, 0xfffffffffffffff0ull, FG_AVAIL, FG_USED);

	/* Once failed: one interrupt, not one per complaint; no kicks. */
	setup();
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1), ACK | DRV | FEAT_OK);
	queue_setup(1, 8, FG_DESC, FG_AVAIL, FG_USED);
	queue_setup(0, 8, FG_DESC + 8, FG_AVAIL, FG_USED);
	CHECK_EQ(drain(m.irq_fd), 1);
	queue_setup(0, 8, FG_DESC + 8, FG_AVAIL, FG_USED);
	CHECK_EQ(drain(m.irq_fd), 0);
	CHECK_EQ(rd(CONFIG_GEN), 1);
	wr(STATUS, ACK | DRV | FEAT_OK | DRV_OK);
	virtio_mmio_kick(&m, 1);
	CHECK_EQ(t.notified[1], 0);
	/* A reset clears it, and the queue can then be set up. */
	wr(STATUS, 0);
	CHECK_EQ(rd(STATUS), 0);
	CHECK_EQ(rd(INT_STATUS), 0);
	bring_up(VIRTIO_F_VERSION_1);
	virtio_mmio_kick(&m, 0);
	CHECK_EQ(t.notified[0], 1);
	teardown();
}

TEST(queue_registers_ignored_once_ready)
{
	setup();
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1), ACK | DRV | FEAT_OK);
	queue_setup(0, 8, FG_DESC, FG_AVAIL, FG_USED);
	wr(QUEUE_NUM, 4);
	wr(DESC_LO, 0x5000);
	wr(DESC_HI, 1);
	wr(DRIVER_LO, 0x6000);
	wr(DEVICE_LO, 0x7000);
	wr(DEVICE_HI, 0xffffffff);
	wr(QUEUE_READY, 1);
	CHECK_EQ(m.q[0].num, 8);
	CHECK_EQ(m.q[0].desc_gpa, FG_DESC);
	CHECK_EQ(m.q[0].avail_gpa, FG_AVAIL);
	CHECK_EQ(m.q[0].used_gpa, FG_USED);
	CHECK(m.q[0].desc == g.ram + FG_DESC);
	CHECK(m.q[0].ready);
	CHECK_EQ(rd(STATUS) & NEEDS_RESET, 0);
	teardown();
}

TEST(registers_are_32_bit_only)
{
	uint8_t b[8];

	setup();
	/* Narrow or wide writes to STATUS change nothing. */
	b[0] = ACK; b[1] = 0; b[2] = 0; b[3] = 0;
	virtio_mmio_access(&m, STATUS, b, 1, true);
	virtio_mmio_access(&m, STATUS, b, 2, true);
	memset(b, 0, sizeof(b));
	b[0] = ACK;
	virtio_mmio_access(&m, STATUS, b, 8, true);
	CHECK_EQ(rd(STATUS), 0);
	/* Misaligned 4-byte accesses. */
	wr(STATUS + 1, ACK);
	wr(STATUS + 2, ACK);
	CHECK_EQ(rd(STATUS), 0);
	CHECK_EQ(rd(MAGIC + 1), 0);
	CHECK_EQ(rd(MAGIC + 2), 0);
	/* Narrow and wide reads of MAGIC come back zero. */
	for (uint32_t len = 1; len <= 8; len *= 2) {
		if (len == 4)
			continue;
		memset(b, 0xaa, sizeof(b));
		virtio_mmio_access(&m, MAGIC, b, len, false);
		for (uint32_t i = 0; i < len; i++)
			CHECK_EQ(b[i], 0);
		for (uint32_t i = len; i < 8; i++)
			CHECK_EQ(b[i], 0xaa);	/* and nothing past len */
	}
	/* A narrow write to QueueNotify kicks nothing. */
	b[0] = 0;
	virtio_mmio_access(&m, QUEUE_NOTIFY, b, 2, true);
	CHECK_EQ(drain(m.kick_fd[0]), 0);
	teardown();
}

TEST(config_space)
{
	uint8_t b[16];

	setup();
	for (uint32_t len = 1; len <= 8; len *= 2) {
		for (uint32_t off = 0; off < CONFIG_SIZE + 8; off++) {
			memset(b, 0xaa, sizeof(b));
			virtio_mmio_access(&m, CONFIG + off, b, len, false);
			for (uint32_t i = 0; i < len; i++) {
				/* All of the read inside config space, or zeroes. */
				if (off + len <= CONFIG_SIZE)
					CHECK_EQ(b[i], 0xc0 + off + i);
				else
					CHECK_EQ(b[i], 0);
			}
			for (uint32_t i = len; i < sizeof(b); i++)
				CHECK_EQ(b[i], 0xaa);
		}
	}
	/* The far end of the window, and offsets no bus would send. */
	memset(b, 0xaa, sizeof(b));
	virtio_mmio_access(&m, VIRTIO_MMIO_SIZE - 4, b, 4, false);
	CHECK_EQ(b[0] | b[1] | b[2] | b[3], 0);
	virtio_mmio_access(&m, UINT64_MAX - 3, b, 4, false);
	CHECK_EQ(b[0] | b[1] | b[2] | b[3], 0);
	virtio_mmio_access(&m, CONFIG + 0xffffffffull, b, 8, false);
	CHECK_EQ(b[0] | b[7], 0);
	/* Config space is read-only here. */
	memset(b, 0x11, sizeof(b));
	virtio_mmio_access(&m, CONFIG, b, 4, true);
	virtio_mmio_access(&m, CONFIG + 2, b, 1, true);
	CHECK_EQ(rd(CONFIG), 0xc3c2c1c0);
	CHECK_EQ(t.config[2], 0xc2);
	CHECK_EQ(t.bad_config_reads, 0);
	teardown();
}

TEST(status_zero_resets)
{
	setup();
	bring_up(VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX);
	queue_setup(1, 4, FG_RAM2_GPA, FG_RAM2_GPA + 0x100, FG_RAM2_GPA + 0x200);
	wr(DEV_FEAT_SEL, 1);
	virtio_mmio_fail(&m, "test");
	CHECK_EQ(rd(INT_STATUS), INT_CONFIG);
	CHECK(rd(STATUS) & NEEDS_RESET);
	CHECK_EQ(t.resets, 1);

	wr(STATUS, 0);
	CHECK_EQ(t.resets, 2);
	CHECK_EQ(rd(STATUS), 0);
	CHECK_EQ(rd(INT_STATUS), 0);
	CHECK_EQ(m.drv_features, 0);
	CHECK_EQ(rd(DEV_FEAT), (uint32_t)TEST_FEATURES);	/* select back to 0 */
	CHECK_EQ(m.queue_sel, 0);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		CHECK(!m.q[i].ready);
		CHECK_EQ(m.q[i].num, 0);
		CHECK_EQ(m.q[i].desc_gpa, 0);
		CHECK(!m.q[i].event_idx);
	}
	wr(QUEUE_SEL, 1);
	CHECK_EQ(rd(QUEUE_READY), 0);
	/* Queues are dead until set up again. */
	virtio_mmio_kick(&m, 0);
	CHECK_EQ(t.notified[0], 0);
	bring_up(VIRTIO_F_VERSION_1);
	virtio_mmio_kick(&m, 0);
	CHECK_EQ(t.notified[0], 1);
	teardown();
}

/* A guest that fails and resets its device in a loop must not grow the
 * host's log without end: one line per failure, 8 in all, the last saying
 * so. */
TEST(failures_logged_a_bounded_number_of_times)
{
	struct capture cap;
	char buf[4096];

	setup();
	CHECK_EQ(capture_start(&cap), 0);
	for (int i = 0; i < 100; i++) {
		bring_up(VIRTIO_F_VERSION_1);
		virtio_mmio_fail(&m, "bad chain");
		virtio_mmio_fail(&m, "bad chain");	/* not reset yet: no line */
		CHECK(rd(STATUS) & NEEDS_RESET);
		wr(STATUS, 0);
	}
	CHECK_EQ(capture_end(&cap, buf, sizeof(buf)), 8);
	teardown();
	CHECK(strstr(buf, "bad chain; device stopped until the guest resets it\n"));
	CHECK(strstr(buf, "its further failures are not reported)\n"));
}

TEST(interrupt_ack)
{
	struct drv_q d;

	setup();
	bring_up(VIRTIO_F_VERSION_1);
	drv_init(&d, &g, 8, FG_DESC, FG_AVAIL, FG_USED);
	push_head(&m.q[0], 0);
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(rd(INT_STATUS), INT_USED);
	CHECK_EQ(drain(m.irq_fd), 1);
	virtio_mmio_fail(&m, "test");
	CHECK_EQ(rd(INT_STATUS), INT_USED | INT_CONFIG);
	wr(INT_ACK, INT_USED);
	CHECK_EQ(rd(INT_STATUS), INT_CONFIG);
	wr(INT_ACK, 0xfffffffc);	/* bits that are not set: nothing */
	CHECK_EQ(rd(INT_STATUS), INT_CONFIG);
	wr(INT_ACK, INT_CONFIG);
	CHECK_EQ(rd(INT_STATUS), 0);
	/* INTERRUPT_STATUS is read-only. */
	wr(INT_STATUS, 3);
	CHECK_EQ(rd(INT_STATUS), 0);
	teardown();

	/* While a reason is pending (not yet acknowledged), more of the
	 * same raise no new interrupt, as on a level-triggered line: the
	 * driver's handler acknowledges, then looks at every queue. A
	 * different reason still interrupts; after the ack, so does the
	 * same one. */
	setup();
	bring_up(VIRTIO_F_VERSION_1);
	drv_init(&d, &g, 8, FG_DESC, FG_AVAIL, FG_USED);
	push_head(&m.q[0], 0);
	virtio_mmio_notify_used(&m, 0);
	push_head(&m.q[0], 1);
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(drain(m.irq_fd), 1);
	virtio_mmio_config_changed(&m);
	CHECK_EQ(rd(INT_STATUS), INT_USED | INT_CONFIG);
	CHECK_EQ(drain(m.irq_fd), 1);
	wr(INT_ACK, INT_USED);
	push_head(&m.q[0], 2);
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(drain(m.irq_fd), 1);
	CHECK_EQ(rd(INT_STATUS), INT_USED | INT_CONFIG);
	teardown();

	/* A driver that suppresses used interrupts gets none. */
	setup();
	bring_up(VIRTIO_F_VERSION_1);
	drv_init(&d, &g, 8, FG_DESC, FG_AVAIL, FG_USED);
	drv_avail_flags(&d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_head(&m.q[0], 0);
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(rd(INT_STATUS), 0);
	CHECK_EQ(drain(m.irq_fd), 0);
	teardown();
}

TEST(queue_notify_kicks)
{
	setup();
	bring_up(VIRTIO_F_VERSION_1);
	/* Queue 1 is not set up: its notification is refused (the ioeventfd
	 * path, which never comes here, is stopped by the kick's check). */
	wr(QUEUE_NOTIFY, 1);
	CHECK_EQ(drain(m.kick_fd[1]), 0);
	queue_setup(1, 4, FG_RAM2_GPA, FG_RAM2_GPA + 0x100, FG_RAM2_GPA + 0x200);
	wr(QUEUE_NOTIFY, 1);
	CHECK_EQ(drain(m.kick_fd[1]), 1);
	CHECK_EQ(drain(m.kick_fd[0]), 0);
	wr(QUEUE_NOTIFY, 0);
	wr(QUEUE_NOTIFY, 0);
	CHECK_EQ(drain(m.kick_fd[0]), 2);
	/* Queues that do not exist. */
	wr(QUEUE_NOTIFY, 2);
	wr(QUEUE_NOTIFY, VIRTIO_MAX_QUEUES);
	wr(QUEUE_NOTIFY, 0xffffffff);
	CHECK_EQ(drain(m.kick_fd[0]), 0);
	CHECK_EQ(drain(m.kick_fd[1]), 0);
	/* The register write only signals; the I/O loop does the work. */
	CHECK_EQ(t.notified[0], 0);
	teardown();
}

TEST(kick_only_when_live)
{
	setup();
	CHECK_EQ(negotiate(VIRTIO_F_VERSION_1), ACK | DRV | FEAT_OK);
	queue_setup(0, 8, FG_DESC, FG_AVAIL, FG_USED);
	virtio_mmio_kick(&m, 0);	/* no DRIVER_OK yet */
	CHECK_EQ(t.notified[0], 0);
	wr(STATUS, ACK | DRV | FEAT_OK | DRV_OK);
	virtio_mmio_kick(&m, 0);
	CHECK_EQ(t.notified[0], 1);
	virtio_mmio_kick(&m, 1);	/* not set up */
	virtio_mmio_kick(&m, 2);	/* not a queue */
	virtio_mmio_kick(&m, VIRTIO_MAX_QUEUES + 5);
	CHECK_EQ(t.notified[1] + t.notified[2] + t.notified[3], 0);
	wr(STATUS, ACK | DRV | FEAT_OK | DRV_OK | VIRTIO_STATUS_FAILED);
	virtio_mmio_kick(&m, 0);
	CHECK_EQ(t.notified[0], 1);
	teardown();
}

/* --- what the spec does not allow (§2.1, §3.1.1, §4.2.2) ------------------ */

/* Status writes from reset: each row's writes in order, after the driver
 * wrote features (and, if beyond, a bit above 63); the status read back
 * and what the log says (NULL: nothing). */
struct status_case {
	const char *name;
	uint64_t features;
	bool beyond;
	uint32_t w[5];
	unsigned int n;
	uint32_t want;
	const char *log;
};

#define V1 VIRTIO_F_VERSION_1
#define FAILED VIRTIO_STATUS_FAILED

static const struct status_case status_cases[] = {
	{ "the initialisation sequence", V1, false, { ACK, ACK | DRV, ACK | DRV | FEAT_OK,
	  ACK | DRV | FEAT_OK | DRV_OK }, 4, ACK | DRV | FEAT_OK | DRV_OK, NULL },
	{ "DRIVER_OK without FEATURES_OK", V1, false, { ACK, ACK | DRV, ACK | DRV | DRV_OK },
	  3, ACK | DRV, "DRIVER_OK before FEATURES_OK" },
	{ "DRIVER_OK in the write that asks for FEATURES_OK", V1, false,
	  { ACK, ACK | DRV, ACK | DRV | FEAT_OK | DRV_OK }, 3, ACK | DRV,
	  "DRIVER_OK before FEATURES_OK" },
	{ "DRIVER_OK after FEATURES_OK was refused", V1 | (1ull << 1), false,
	  { ACK, ACK | DRV, ACK | DRV | FEAT_OK, ACK | DRV | FEAT_OK | DRV_OK }, 4, ACK | DRV,
	  "DRIVER_OK before FEATURES_OK" },
	{ "FEATURES_OK for a feature not offered", V1 | (1ull << 1), false,
	  { ACK, ACK | DRV, ACK | DRV | FEAT_OK }, 3, ACK | DRV, "FEATURES_OK for features 0x100000002" },
	{ "FEATURES_OK for a feature above bit 63", V1, true,
	  { ACK, ACK | DRV, ACK | DRV | FEAT_OK }, 3, ACK | DRV, "and bits above 63" },
	{ "FEATURES_OK without VERSION_1", F_LOW0, false,
	  { ACK, ACK | DRV, ACK | DRV | FEAT_OK }, 3, ACK | DRV, "with VERSION_1" },
	{ "DRIVER before ACKNOWLEDGE", V1, false, { DRV }, 1, 0,
	  "status 0x2: out of the initialisation order" },
	{ "FEATURES_OK before DRIVER", V1, false, { ACK, ACK | FEAT_OK }, 2, ACK,
	  "status 0x9: out of the initialisation order" },
	{ "a write that clears DRIVER_OK", V1, false, { ACK, ACK | DRV, ACK | DRV | FEAT_OK,
	  ACK | DRV | FEAT_OK | DRV_OK, ACK | DRV | FEAT_OK }, 5, ACK | DRV | FEAT_OK | DRV_OK,
	  "a status write of 0xb over 0xf: only a write of 0" },
	{ "a write that clears bits while it adds DRIVER_OK", V1, false,
	  { ACK, ACK | DRV, ACK | DRV | FEAT_OK, ACK | DRV_OK }, 4, ACK | DRV | FEAT_OK,
	  "a status write of 0x5 over 0xb" },
	{ "a write that clears FEATURES_OK", V1, false,
	  { ACK, ACK | DRV, ACK | DRV | FEAT_OK, ACK | DRV }, 4, ACK | DRV | FEAT_OK,
	  "only a write of 0 (reset) may clear bits" },
	{ "FAILED at any point", V1, false, { ACK, ACK | DRV, ACK | DRV | FAILED }, 3,
	  ACK | DRV | FAILED, NULL },
	{ "nothing but a reset after FAILED", V1, false,
	  { ACK, ACK | FAILED, ACK | DRV | FAILED }, 3, ACK | FAILED, "after FAILED" },
	{ "NEEDS_RESET is the device's to set", V1, false, { ACK, ACK | NEEDS_RESET }, 2, ACK, NULL },
	{ "the same status again", V1, false, { ACK, ACK | DRV, ACK | DRV }, 3, ACK | DRV, NULL },
};

TEST(status_rules)
{
	for (size_t i = 0; i < sizeof(status_cases) / sizeof(status_cases[0]); i++) {
		const struct status_case *sc = &status_cases[i];
		struct capture cap;
		char buf[2048];
		int lines;

		setup();
		wr(DRV_FEAT_SEL, 0);
		wr(DRV_FEAT, (uint32_t)sc->features);
		wr(DRV_FEAT_SEL, 1);
		wr(DRV_FEAT, (uint32_t)(sc->features >> 32));
		wr(DRV_FEAT_SEL, 2);
		wr(DRV_FEAT, sc->beyond ? 1 : 0);
		CHECK_EQ(capture_start(&cap), 0);
		for (unsigned int k = 0; k < sc->n; k++)
			wr(STATUS, sc->w[k]);
		lines = capture_end(&cap, buf, sizeof(buf));
		if (rd(STATUS) != sc->want || (sc->log ? !strstr(buf, sc->log) : lines != 0)) {
			fprintf(stderr, "status case '%s': status 0x%x (want 0x%x), log: %s\n",
				sc->name, rd(STATUS), sc->want, buf);
			check_failures++;
		}
		teardown();
	}
}

/* Refusals are logged, boundedly: a guest writing the wrong register in a
 * loop gets 8 lines, the last saying so. */
TEST(refusals_logged_a_bounded_number_of_times)
{
	struct capture cap;
	char buf[4096];

	setup();
	bring_up(V1);
	CHECK_EQ(capture_start(&cap), 0);
	for (int i = 0; i < 100; i++)
		wr(QUEUE_NUM, 4);
	CHECK_EQ(capture_end(&cap, buf, sizeof(buf)), 8);
	CHECK(strstr(buf, "airlock-vmm: virtio-test at 0xd0000000: ignored a QueueNum "
		      "write while queue 0 is ready\n"));
	CHECK(strstr(buf, "(further refused writes are not reported)\n"));
	/* Failures keep their own count. */
	CHECK_EQ(capture_start(&cap), 0);
	virtio_mmio_fail(&m, "test");
	CHECK_EQ(capture_end(&cap, buf, sizeof(buf)), 1);
	teardown();
}

/* One refused write: its effect is checked by the caller; here, that the
 * log names it. */
static void expect_refusal(void (*act)(void), const char *line)
{
	struct capture cap;
	char buf[2048];

	CHECK_EQ(capture_start(&cap), 0);
	act();
	CHECK_EQ(capture_end(&cap, buf, sizeof(buf)), 1);
	if (!strstr(buf, line)) {
		fprintf(stderr, "log '%s' lacks '%s'\n", buf, line);
		check_failures++;
	}
}

static void w_driver_features(void)
{
	wr(DRV_FEAT_SEL, 0);
	wr(DRV_FEAT, (uint32_t)TEST_FEATURES);
}

static void w_queue_regs(void)
{
	wr(QUEUE_NUM, 4);
}

static void w_queue_desc(void)
{
	wr(DESC_LO, 0x5000);
}

static void w_queue_driver(void)
{
	wr(DRIVER_HI, 1);
}

static void w_queue_device(void)
{
	wr(DEVICE_LO, 0x7000);
}

static void w_ready_2(void)
{
	wr(QUEUE_READY, 2);
}

static void w_notify_1(void)
{
	wr(QUEUE_NOTIFY, 1);
}

static void w_config(void)
{
	uint8_t b[4] = { 1, 2, 3, 4 };

	virtio_mmio_access(&m, CONFIG + 4, b, 4, true);
}

static void w_queue0_setup(void)
{
	queue_setup(0, 8, FG_DESC, FG_AVAIL, FG_USED);
}

TEST(driver_features_fixed_after_features_ok)
{
	setup();
	CHECK_EQ(negotiate(V1), ACK | DRV | FEAT_OK);
	expect_refusal(w_driver_features, "ignored a DriverFeatures write after FEATURES_OK");
	CHECK_EQ(m.drv_features, V1);
	teardown();
}

TEST(queue_registers_refused_while_ready)
{
	setup();
	bring_up(V1);
	expect_refusal(w_queue_regs, "a QueueNum write while queue 0 is ready");
	expect_refusal(w_queue_desc, "a QueueDesc write while queue 0 is ready");
	expect_refusal(w_queue_driver, "a QueueDriver write while queue 0 is ready");
	expect_refusal(w_queue_device, "a QueueDevice write while queue 0 is ready");
	CHECK_EQ(m.q[0].num, 8);
	CHECK_EQ(m.q[0].desc_gpa, FG_DESC);
	CHECK_EQ(m.q[0].avail_gpa, FG_AVAIL);
	CHECK_EQ(m.q[0].used_gpa, FG_USED);
	CHECK(m.q[0].ready);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK | DRV_OK);
	teardown();
}

TEST(queue_ready_needs_features_ok)
{
	setup();
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	expect_refusal(w_queue0_setup, "QueueReady for queue 0 before FEATURES_OK");
	CHECK_EQ(rd(QUEUE_READY), 0);
	CHECK(!m.q[0].ready && m.q[0].desc == NULL);
	teardown();

	setup();
	CHECK_EQ(negotiate(V1), ACK | DRV | FEAT_OK);
	wr(QUEUE_SEL, 0);
	expect_refusal(w_ready_2, "QueueReady = 2 for queue 0");
	CHECK_EQ(rd(QUEUE_READY), 0);
	teardown();
}

TEST(notify_for_a_queue_not_ready)
{
	setup();
	bring_up(V1);
	expect_refusal(w_notify_1, "a notification for queue 1, which is not ready");
	CHECK_EQ(drain(m.kick_fd[1]), 0);
	/* Kicked anyway (KVM's ioeventfd does not look): nothing runs. */
	CHECK(!virtio_mmio_kick(&m, 1));
	CHECK_EQ(t.notified[1], 0);
	teardown();
}

TEST(config_space_writes_refused)
{
	setup();
	bring_up(V1);
	expect_refusal(w_config, "a write to config space at 0x4");
	CHECK_EQ(rd(CONFIG + 4), 0xc7c6c5c4);
	teardown();
}

/* QueueReady = 0 forgets the rings: nothing is read from or written to
 * them again, a chain taken before is never returned, and the queue is as
 * after a reset until set up again. */
TEST(queue_ready_zero_forgets_the_rings)
{
	static struct virtq_chain c;
	struct drv_q dq;
	uint8_t used_before[6 + 8 * 8];

	setup();
	bring_up(V1);
	drv_init(&dq, &g, 8, FG_DESC, FG_AVAIL, FG_USED);
	drv_desc(&dq, 0, FG_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&dq, 0);
	drv_publish(&dq, 0);
	CHECK_EQ(virtq_pop(&m.q[0], &c), 1);
	memcpy(used_before, fg_host(&g, FG_USED), sizeof(used_before));

	wr(QUEUE_SEL, 0);
	wr(QUEUE_READY, 0);
	CHECK_EQ(rd(QUEUE_READY), 0);
	CHECK(m.q[0].desc == NULL && m.q[0].avail == NULL && m.q[0].used == NULL);
	CHECK_EQ(m.q[0].num, 0);
	CHECK_EQ(m.q[0].desc_gpa | m.q[0].avail_gpa | m.q[0].used_gpa, 0);
	CHECK_EQ(m.q[0].last_avail, 0);
	CHECK_EQ(m.q[0].used_idx, 0);
	/* The chain popped before is stale: no used element, no interrupt. */
	CHECK(!virtq_chain_live(&m.q[0], &c));
	CHECK(!virtq_push(&m.q[0], &c, 16));
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(drain(m.irq_fd), 0);
	CHECK(memcmp(used_before, fg_host(&g, FG_USED), sizeof(used_before)) == 0);
	CHECK_EQ(virtq_pop(&m.q[0], &c), 0);
	CHECK(!virtio_mmio_kick(&m, 0));
	CHECK_EQ(t.notified[0], 0);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK | DRV_OK);

	/* Set up again elsewhere: the old chain still goes nowhere, in
	 * neither ring; the new queue starts from its own index 0. */
	CHECK_EQ(virtq_pop(&m.q[0], &c), 0);
	drv_publish(&dq, 0);
	memset(fg_host(&g, FG_RAM2_GPA), 0, 0x1000);
	queue_setup(0, 8, FG_RAM2_GPA, FG_RAM2_GPA + 0x100, FG_RAM2_GPA + 0x200);
	CHECK_EQ(rd(QUEUE_READY), 1);
	c.gen = m.q[0].gen - 1;		/* as popped before the new set-up */
	CHECK(!virtq_push(&m.q[0], &c, 16));
	CHECK_EQ(get16(&g, FG_RAM2_GPA + 0x200 + 2), 0);
	CHECK(memcmp(used_before, fg_host(&g, FG_USED), sizeof(used_before)) == 0);
	teardown();
}

/* A device reset between taking a chain and returning it: the same. */
TEST(used_ring_checked_after_reset)
{
	static struct virtq_chain c;
	struct drv_q dq;

	setup();
	bring_up(V1);
	drv_init(&dq, &g, 8, FG_DESC, FG_AVAIL, FG_USED);
	drv_desc(&dq, 0, FG_BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&dq, 0);
	CHECK_EQ(virtq_pop(&m.q[0], &c), 1);
	wr(STATUS, 0);
	CHECK(!virtq_push(&m.q[0], &c, 16));
	CHECK(!virtq_should_notify(&m.q[0]));
	/* Up again on the same rings, as a driver that reuses its memory
	 * would: still nothing for the old chain. */
	memset(fg_host(&g, FG_USED), 0, 6 + 8 * 8);
	bring_up(V1);
	CHECK(!virtq_push(&m.q[0], &c, 16));
	CHECK_EQ(drv_used_idx(&dq), 0);
	CHECK_EQ(get32(&g, FG_USED + 4), 0);
	CHECK_EQ(drain(m.irq_fd), 0);
	teardown();
}

/* --- batches (virtio_mmio_drain) ------------------------------------------ */

static struct drv_q dq;

/* The batch device, live, queue 0 (16 entries) on the standard rings. */
static void dsetup(void)
{
	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(virtio_mmio_setup(&m, &g.gm, 0xd0000000, 5, &d_ops, NULL), 0);
	dresumed = dstarted = 0;
	drv_init(&dq, &g, 16, FG_DESC, FG_AVAIL, FG_USED);
	wr(STATUS, ACK);
	wr(STATUS, ACK | DRV);
	wr(DRV_FEAT_SEL, 1);
	wr(DRV_FEAT, 1);
	wr(STATUS, ACK | DRV | FEAT_OK);
	queue_setup(0, 16, FG_DESC, FG_AVAIL, FG_USED);
	wr(STATUS, ACK | DRV | FEAT_OK | DRV_OK);
	CHECK_EQ(rd(STATUS), ACK | DRV | FEAT_OK | DRV_OK);
}

static void dteardown(void)
{
	close(m.irq_fd);
	close(m.kick_fd[0]);
	pthread_mutex_destroy(&m.lock);
	fg_free(&g);
}

/* Publish a chain of one writable buffer of len bytes at descriptor i. */
static void dpublish(uint16_t i, uint32_t len)
{
	drv_desc(&dq, i, FG_BUF + 0x1000ull * i, len, VIRTQ_DESC_F_WRITE, 0);
	drv_publish(&dq, i);
}

TEST(batch_stops_after_its_chains)
{
	uint32_t id, len;

	dsetup();
	for (uint16_t i = 0; i < 5; i++)
		dpublish(i, 1);
	/* Round 1: three chains, one interrupt, and the queue woken again
	 * for the rest instead of looping. */
	CHECK(virtio_mmio_kick(&m, 0));
	CHECK_EQ(drv_used_idx(&dq), D_CHAINS);
	CHECK_EQ(drain(m.irq_fd), 1);
	CHECK_EQ(drain(m.kick_fd[0]), 1);
	/* The driver's handler acknowledges (until then a second batch
	 * raises no new interrupt: see interrupt_ack). */
	wr(INT_ACK, INT_USED);
	/* Round 2 (the I/O loop's next): the other two, and done. */
	CHECK(!virtio_mmio_kick(&m, 0));
	CHECK_EQ(drv_used_idx(&dq), 5);
	for (uint16_t i = 0; i < 5; i++) {
		drv_used_elem(&dq, i, &id, &len);
		CHECK_EQ(id, i);
		CHECK_EQ(len, 1);
	}
	CHECK_EQ(drain(m.irq_fd), 1);
	CHECK_EQ(drain(m.kick_fd[0]), 0);
	CHECK_EQ(dstarted, 5);
	CHECK_EQ(dresumed, 0);
	dteardown();
}

TEST(batch_stops_after_its_bytes)
{
	uint32_t id, len;

	dsetup();
	/* 250 bytes: 100, 100, 50 over three rounds; then a small one. */
	dpublish(0, 250);
	dpublish(1, 10);
	CHECK(virtio_mmio_kick(&m, 0));
	CHECK_EQ(drv_used_idx(&dq), 0);
	CHECK_EQ(drain(m.irq_fd), 0);		/* nothing to tell yet */
	CHECK_EQ(drain(m.kick_fd[0]), 1);
	CHECK(virtio_mmio_kick(&m, 0));
	CHECK_EQ(drv_used_idx(&dq), 0);
	CHECK(!virtio_mmio_kick(&m, 0));	/* 50, then the 10 fit too */
	CHECK_EQ(drv_used_idx(&dq), 2);
	drv_used_elem(&dq, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 250);
	for (int i = 0; i < 250; i++)
		CHECK_EQ(fg_host(&g, FG_BUF)[i], (uint8_t)i);
	drv_used_elem(&dq, 1, &id, &len);
	CHECK_EQ(id, 1);
	CHECK_EQ(dstarted, 2);
	CHECK_EQ(dresumed, 2);
	dteardown();
}

/* A chain left part-done is dropped, never finished or returned, when
 * the driver resets the device or the queue before its next round. */
TEST(held_chain_dropped_on_reset)
{
	uint32_t id, len;

	for (int how = 0; how < 3; how++) {
		dsetup();
		dpublish(0, 250);
		CHECK(virtio_mmio_kick(&m, 0));
		CHECK_EQ(dstarted, 1);
		CHECK(m.held[0]);
		switch (how) {
		case 0:		/* device reset, and up again */
			wr(STATUS, 0);
			CHECK(!m.held[0]);
			wr(STATUS, ACK);
			wr(STATUS, ACK | DRV);
			wr(DRV_FEAT_SEL, 1);
			wr(DRV_FEAT, 1);
			wr(STATUS, ACK | DRV | FEAT_OK);
			queue_setup(0, 16, FG_DESC, FG_AVAIL, FG_USED);
			wr(STATUS, ACK | DRV | FEAT_OK | DRV_OK);
			break;
		case 1:		/* QueueReady 0, set up again on the same rings */
			wr(QUEUE_SEL, 0);
			wr(QUEUE_READY, 0);
			CHECK(!m.held[0]);
			queue_setup(0, 16, FG_DESC, FG_AVAIL, FG_USED);
			break;
		case 2:		/* the held flag survives (a device's own
				 * path), but the generation says stale */
			m.q[0].gen++;
			break;
		}
		/* The driver starts over with a fresh ring and a small chain. */
		memset(fg_host(&g, FG_USED), 0, 6 + 8 * 16);
		drv_set_avail_idx(&dq, 0);
		if (how == 2) {
			m.q[0].last_avail = 0;
			m.q[0].used_idx = 0;
		}
		dpublish(3, 10);
		CHECK(!virtio_mmio_kick(&m, 0));
		CHECK_EQ(dresumed, 0);
		CHECK_EQ(dstarted, 2);
		CHECK_EQ(drv_used_idx(&dq), 1);
		drv_used_elem(&dq, 0, &id, &len);
		CHECK_EQ(id, 3);
		CHECK_EQ(len, 10);
		dteardown();
	}
}

CHECK_MAIN(
	TEST_ENTRY(identity),
	TEST_ENTRY(feature_windows),
	TEST_ENTRY(init_sequence),
	TEST_ENTRY(features_refused),
	TEST_ENTRY(queue_setup_registers),
	TEST_ENTRY(queue_ready_bad_rings),
	TEST_ENTRY(queue_registers_ignored_once_ready),
	TEST_ENTRY(registers_are_32_bit_only),
	TEST_ENTRY(config_space),
	TEST_ENTRY(status_zero_resets),
	TEST_ENTRY(failures_logged_a_bounded_number_of_times),
	TEST_ENTRY(interrupt_ack),
	TEST_ENTRY(queue_notify_kicks),
	TEST_ENTRY(kick_only_when_live),
	TEST_ENTRY(status_rules),
	TEST_ENTRY(refusals_logged_a_bounded_number_of_times),
	TEST_ENTRY(driver_features_fixed_after_features_ok),
	TEST_ENTRY(queue_registers_refused_while_ready),
	TEST_ENTRY(queue_ready_needs_features_ok),
	TEST_ENTRY(notify_for_a_queue_not_ready),
	TEST_ENTRY(config_space_writes_refused),
	TEST_ENTRY(queue_ready_zero_forgets_the_rings),
	TEST_ENTRY(used_ring_checked_after_reset),
	TEST_ENTRY(batch_stops_after_its_chains),
	TEST_ENTRY(batch_stops_after_its_bytes),
	TEST_ENTRY(held_chain_dropped_on_reset),
)
