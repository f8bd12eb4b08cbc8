/* vmm/virtio/rng: virtio-rng (virtio 1.2 §5.4) over a fake guest, through
 * the MMIO transport as the guest's driver uses it: buffers come back full
 * of fresh random bytes, never more than the buffers hold or than one
 * request may take, and a chain the driver gets wrong stops the device
 * without touching guest memory. */
#include "vmm/virtio/rng.h"
#include "tests/unit/check.h"
#include "tests/unit/virtq_driver.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT
#define IND VIRTQ_DESC_F_INDIRECT

#define BUF 0x20000ull		/* buffers, up to 0xa0000 */
#define TABLE 0x8000ull		/* an indirect table */
#define FILL 0xa5		/* what guest memory holds before a request */

static struct fake_guest g;
static struct drv_q d;
static struct virtio_rng r;

static uint32_t reg(uint32_t off)
{
	uint32_t v;

	virtio_mmio_access(&r.mmio, off, (uint8_t *)&v, 4, false);
	return v;
}

static void set_reg(uint32_t off, uint32_t v)
{
	virtio_mmio_access(&r.mmio, off, (uint8_t *)&v, 4, true);
}

static uint64_t drain(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* A fresh device and guest, brought up as a driver would: queue 0 (16
 * entries) on the fake guest's rings, with the given features. */
static void setup(uint64_t features)
{
	CHECK_EQ(fg_init(&g), 0);
	memset(g.ram + BUF, FILL, FG_RAM_SIZE - BUF);
	drv_init(&d, &g, 16, FG_DESC, FG_AVAIL, FG_USED);
	CHECK_EQ(virtio_rng_setup(&r, &g.gm), 0);
	set_reg(0x070, 1);
	set_reg(0x070, 3);
	set_reg(0x024, 0);
	set_reg(0x020, (uint32_t)features);
	set_reg(0x024, 1);
	set_reg(0x020, (uint32_t)(features >> 32));
	set_reg(0x070, 0xb);
	CHECK_EQ(reg(0x070), 0xb);
	set_reg(0x030, 0);
	set_reg(0x038, 16);
	set_reg(0x080, (uint32_t)FG_DESC);
	set_reg(0x090, (uint32_t)FG_AVAIL);
	set_reg(0x0a0, (uint32_t)FG_USED);
	set_reg(0x044, 1);
	set_reg(0x070, 0xf);
	CHECK_EQ(reg(0x070), 0xf);
}

static void teardown(void)
{
	close(r.mmio.irq_fd);
	close(r.mmio.kick_fd[0]);
	pthread_mutex_destroy(&r.mmio.lock);
	fg_free(&g);
}

/* How many of len bytes at gpa still hold FILL. */
static uint64_t untouched(uint64_t gpa, uint64_t len)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < len; i++)
		n += fg_host(&g, gpa + i)[0] == FILL;
	return n;
}

/* Random bytes look random: with 64 or more of them, no value fills more
 * than a quarter (a 2^-100 event for real random data). */
static bool looks_random(uint64_t gpa, uint64_t len)
{
	unsigned int count[256] = { 0 };

	if (len < 64)
		return true;
	for (uint64_t i = 0; i < len; i++)
		count[fg_host(&g, gpa + i)[0]]++;
	for (int v = 0; v < 256; v++)
		if (count[v] > len / 4)
			return false;
	return true;
}

/* The used element for the n-th completion. */
static uint32_t used_len(uint16_t n, uint32_t *id)
{
	uint32_t len;

	drv_used_elem(&d, n, id, &len);
	return len;
}

TEST(identity_and_features)
{
	uint8_t cfg[8];

	setup(1ull << 32);
	CHECK_EQ(reg(0x000), 0x74726976);	/* "virt" */
	CHECK_EQ(reg(0x004), 2);
	CHECK_EQ(reg(0x008), 4);		/* entropy source */
	set_reg(0x014, 1);
	CHECK_EQ(reg(0x010) & 1, 1);		/* VERSION_1 */
	set_reg(0x014, 0);
	CHECK_EQ(reg(0x010) & ~((1u << 28) | (1u << 29)), 0);	/* nothing device-specific */
	/* No config space: reads are zero, writes ignored. */
	memset(cfg, 0xee, sizeof(cfg));
	virtio_mmio_access(&r.mmio, 0x100, cfg, 8, false);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(cfg[i], 0);
	virtio_mmio_access(&r.mmio, 0x100, cfg, 4, true);
	teardown();
}

TEST(fills_buffers)
{
	uint32_t id;

	setup(1ull << 32);
	/* One buffer of 64 bytes, one chain of three (16 + 1 + 300). */
	drv_desc(&d, 0, BUF, 64, W, 0);
	drv_desc(&d, 1, BUF + 0x1000, 16, W | N, 2);
	drv_desc(&d, 2, BUF + 0x2000, 1, W | N, 3);
	drv_desc(&d, 3, BUF + 0x3000, 300, W, 0);
	drv_publish(&d, 0);
	drv_publish(&d, 1);
	set_reg(0x050, 0);
	CHECK_EQ(drain(r.mmio.kick_fd[0]), 1);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 2);
	CHECK_EQ(used_len(0, &id), 64);
	CHECK_EQ(id, 0);
	CHECK_EQ(used_len(1, &id), 317);
	CHECK_EQ(id, 1);
	CHECK_EQ(drain(r.mmio.irq_fd), 1);
	CHECK_EQ(reg(0x060), 1);
	CHECK(untouched(BUF, 64) < 8);
	CHECK(looks_random(BUF, 64));
	CHECK(looks_random(BUF + 0x3000, 300));
	/* Not a byte past any buffer. */
	CHECK_EQ(untouched(BUF + 64, 0x1000 - 64), 0x1000 - 64);
	CHECK_EQ(untouched(BUF + 0x1000 + 16, 0x1000 - 16), 0x1000 - 16);
	CHECK_EQ(untouched(BUF + 0x2001, 0x1000 - 1), 0x1000 - 1);
	CHECK_EQ(untouched(BUF + 0x3000 + 300, 0x1000), 0x1000);
	/* The same buffer again gets different bytes. */
	{
		uint8_t before[64];

		memcpy(before, fg_host(&g, BUF), 64);
		drv_publish(&d, 0);
		virtio_mmio_kick(&r.mmio, 0);
		CHECK_EQ(drv_used_idx(&d), 3);
		CHECK_EQ(used_len(2, &id), 64);
		CHECK(memcmp(before, fg_host(&g, BUF), 64) != 0);
	}
	/* A kick with nothing new: no completion, no interrupt. */
	drain(r.mmio.irq_fd);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 3);
	CHECK_EQ(drain(r.mmio.irq_fd), 0);
	teardown();
}

TEST(one_request_is_capped)
{
	uint32_t id;

	setup(1ull << 32);
	/* 80 KiB in one buffer, then 40 + 40 KiB in two: 64 KiB each time. */
	drv_desc(&d, 0, BUF, 80 << 10, W, 0);
	drv_publish(&d, 0);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(used_len(0, &id), VIRTIO_RNG_MAX_REQ);
	CHECK_EQ(untouched(BUF + VIRTIO_RNG_MAX_REQ, 16 << 10), 16 << 10);
	CHECK(looks_random(BUF + VIRTIO_RNG_MAX_REQ - 4096, 4096));
	memset(fg_host(&g, BUF), FILL, 80 << 10);
	drv_desc(&d, 1, BUF, 40 << 10, W | N, 2);
	drv_desc(&d, 2, BUF + (40 << 10), 40 << 10, W, 0);
	drv_publish(&d, 1);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(used_len(1, &id), VIRTIO_RNG_MAX_REQ);
	CHECK_EQ(id, 1);
	CHECK(looks_random(BUF + (64 << 10) - 4096, 4096));
	CHECK_EQ(untouched(BUF + VIRTIO_RNG_MAX_REQ, 16 << 10), 16 << 10);
	teardown();
}

TEST(indirect_and_event_idx)
{
	uint32_t id;

	setup((1ull << 32) | (1ull << 28) | (1ull << 29));
	CHECK(r.mmio.q[0].event_idx);
	drv_desc_at(&g, TABLE, 0, BUF, 32, W | N, 1);
	drv_desc_at(&g, TABLE, 1, BUF + 0x100, 32, W, 0);
	drv_desc(&d, 0, TABLE, 32, IND, 0);
	drv_used_event(&d, 0);
	drv_publish(&d, 0);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 1);
	CHECK_EQ(used_len(0, &id), 64);
	CHECK_EQ(drain(r.mmio.irq_fd), 1);
	CHECK_EQ(drv_avail_event(&d), 1);
	/* used_event 5: the next completion is not worth an interrupt. */
	drv_used_event(&d, 5);
	drv_publish(&d, 0);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 2);
	CHECK_EQ(drain(r.mmio.irq_fd), 0);
	teardown();
}

TEST(bad_chains_stop_the_device)
{
	uint32_t id;

	/* Each stops the device (NEEDS_RESET, config interrupt) with the
	 * used ring and guest buffers untouched. */
	for (int kind = 0; kind < 4; kind++) {
		setup(1ull << 32);
		switch (kind) {
		case 0:		/* a readable buffer: not for an entropy device */
			drv_desc(&d, 0, BUF, 64, 0, 0);
			break;
		case 1:		/* readable, then writable */
			drv_desc(&d, 0, BUF, 64, N, 1);
			drv_desc(&d, 1, BUF + 0x1000, 64, W, 0);
			break;
		case 2:		/* past the end of guest RAM */
			drv_desc(&d, 0, FG_RAM2_GPA + FG_RAM2_SIZE - 16, 64, W, 0);
			break;
		case 3:		/* across two RAM regions */
			drv_desc(&d, 0, FG_RAM_SIZE - 16, 64, W, 0);
			break;
		}
		drv_publish(&d, 0);
		virtio_mmio_kick(&r.mmio, 0);
		CHECK_EQ(reg(0x070), 0xf | 0x40);
		CHECK_EQ(reg(0x060), 2);
		CHECK_EQ(drain(r.mmio.irq_fd), 1);
		CHECK_EQ(drv_used_idx(&d), 0);
		CHECK_EQ(untouched(BUF, 0x2000), 0x2000);
		/* Stopped: a good request waits. */
		drv_desc(&d, 5, BUF + 0x4000, 16, W, 0);
		drv_publish(&d, 5);
		virtio_mmio_kick(&r.mmio, 0);
		CHECK_EQ(drv_used_idx(&d), 0);
		teardown();
	}
	/* A reset through the status register revives it. */
	setup(1ull << 32);
	drv_desc(&d, 0, BUF, 64, 0, 0);
	drv_publish(&d, 0);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(reg(0x070) & 0x40, 0x40);
	set_reg(0x070, 0);
	CHECK_EQ(reg(0x070), 0);
	drain(r.mmio.irq_fd);
	memset(fg_host(&g, FG_USED), 0, 6 + 8 * 16);
	drv_set_avail_idx(&d, 0);
	set_reg(0x070, 1);
	set_reg(0x070, 3);
	set_reg(0x024, 1);
	set_reg(0x020, 1);
	set_reg(0x070, 0xb);
	set_reg(0x030, 0);
	set_reg(0x038, 16);
	set_reg(0x080, (uint32_t)FG_DESC);
	set_reg(0x090, (uint32_t)FG_AVAIL);
	set_reg(0x0a0, (uint32_t)FG_USED);
	set_reg(0x044, 1);
	set_reg(0x070, 0xf);
	drv_desc(&d, 0, BUF, 64, W, 0);
	drv_publish(&d, 0);
	virtio_mmio_kick(&r.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 1);
	CHECK_EQ(used_len(0, &id), 64);
	CHECK(looks_random(BUF, 64));
	teardown();
}

TEST(handle_directly)
{
	static struct virtq_chain c;
	uint8_t a[100], b[3];

	/* The request handler alone, on host buffers. */
	memset(&c, 0, sizeof(c));
	memset(a, FILL, sizeof(a));
	memset(b, FILL, sizeof(b));
	c.w[0] = (struct iovec){ a, sizeof(a) };
	c.w[1] = (struct iovec){ b, 0 };
	c.w[2] = (struct iovec){ b, sizeof(b) };
	c.nw = 3;
	c.w_len = sizeof(a) + sizeof(b);
	CHECK_EQ(virtio_rng_handle(&c, VIRTIO_RNG_MAX_REQ), 103);
	c.nw = 0;
	CHECK_EQ(virtio_rng_handle(&c, VIRTIO_RNG_MAX_REQ), 0);
	c.nr = 1;
	c.r[0] = (struct iovec){ a, 1 };
	CHECK_EQ(virtio_rng_handle(&c, VIRTIO_RNG_MAX_REQ), -EINVAL);
}

/* A guest keeping the ring full gets 64 KiB per wake-up of the queue: a
 * request that would pass that gets what is left of it (the guest asks
 * again), and the rest waits for the I/O loop's next round. */
TEST(batch_of_64_kib)
{
	uint32_t id;

	setup(1ull << 32);
	for (uint16_t i = 0; i < 4; i++) {
		drv_desc(&d, i, BUF + (uint64_t)i * 0x10000, 40 << 10, W, 0);
		drv_publish(&d, i);
	}
	/* Round 1: 40 KiB, then the 24 KiB left of the batch. */
	CHECK(virtio_mmio_kick(&r.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 2);
	CHECK_EQ(used_len(0, &id), 40 << 10);
	CHECK_EQ(used_len(1, &id), 24 << 10);
	CHECK_EQ(id, 1);
	CHECK_EQ(untouched(BUF + 0x10000 + (24 << 10), 16 << 10), 16 << 10);
	CHECK_EQ(untouched(BUF + 0x20000, 40 << 10), 40 << 10);
	CHECK_EQ(drain(r.mmio.irq_fd), 1);
	CHECK_EQ(drain(r.mmio.kick_fd[0]), 1);	/* woken again, not looping */
	/* Round 2: the same again; nothing is left, but the batch is spent,
	 * so one more (empty) round to look. */
	CHECK(virtio_mmio_kick(&r.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 4);
	CHECK_EQ(used_len(2, &id), 40 << 10);
	CHECK_EQ(used_len(3, &id), 24 << 10);
	CHECK(looks_random(BUF + 0x30000, 24 << 10));
	CHECK(!virtio_mmio_kick(&r.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 4);
	teardown();
}

CHECK_MAIN(
	TEST_ENTRY(identity_and_features),
	TEST_ENTRY(fills_buffers),
	TEST_ENTRY(one_request_is_capped),
	TEST_ENTRY(batch_of_64_kib),
	TEST_ENTRY(indirect_and_event_idx),
	TEST_ENTRY(bad_chains_stop_the_device),
	TEST_ENTRY(handle_directly),
)
