/* vmm/virtio/mmio: the virtio-mmio v2 register window (virtio 1.2
 * §4.2.2) driven with 32-bit accesses the way Linux's virtio_mmio driver
 * does, over a small fake device and a fake guest. No KVM: the eventfds
 * virtio_mmio_setup() makes are read directly. */
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

static void t_queue_notify(void *dev, unsigned int qi)
{
	struct tdev *t = dev;

	t->notified[qi]++;
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
	virtq_push(&m.q[0], 0, 0);
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
	virtq_push(&m.q[0], 0, 0);
	virtio_mmio_notify_used(&m, 0);
	virtq_push(&m.q[0], 1, 0);
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(drain(m.irq_fd), 1);
	virtio_mmio_config_changed(&m);
	CHECK_EQ(rd(INT_STATUS), INT_USED | INT_CONFIG);
	CHECK_EQ(drain(m.irq_fd), 1);
	wr(INT_ACK, INT_USED);
	virtq_push(&m.q[0], 2, 0);
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(drain(m.irq_fd), 1);
	CHECK_EQ(rd(INT_STATUS), INT_USED | INT_CONFIG);
	teardown();

	/* A driver that suppresses used interrupts gets none. */
	setup();
	bring_up(VIRTIO_F_VERSION_1);
	drv_init(&d, &g, 8, FG_DESC, FG_AVAIL, FG_USED);
	drv_avail_flags(&d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_push(&m.q[0], 0, 0);
	virtio_mmio_notify_used(&m, 0);
	CHECK_EQ(rd(INT_STATUS), 0);
	CHECK_EQ(drain(m.irq_fd), 0);
	teardown();
}

TEST(queue_notify_kicks)
{
	setup();
	bring_up(VIRTIO_F_VERSION_1);
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
)
