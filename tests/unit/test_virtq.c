/* vmm/virtio/queue: the device side of a split virtqueue (virtio 1.2 §2.7)
 * over a fake guest, with the test as the driver. Every malformed ring or
 * chain must come back as -EINVAL/-EFAULT, never as a hang or an iovec
 * outside guest RAM. */
#include "vmm/virtio/queue.h"
#include "tests/unit/check.h"
#include "tests/unit/virtq_driver.h"

#include <errno.h>
#include <stdint.h>

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT
#define I VIRTQ_DESC_F_INDIRECT
#define TABLE 0x8000ull		/* an indirect table */

static struct fake_guest g;
static struct drv_q d;
static struct virtq q;
static struct virtq_chain c;	/* 8 KiB: not on the stack */

/* A fresh guest and a ready queue of num entries on the standard rings. */
static void setup_q(uint16_t num, bool event_idx)
{
	CHECK_EQ(fg_init(&g), 0);
	drv_init(&d, &g, num, FG_DESC, FG_AVAIL, FG_USED);
	drv_device_q(&d, &q);
	q.event_idx = event_idx;
	CHECK_EQ(virtq_activate(&q), 0);
}

static void setup(uint16_t num)
{
	setup_q(num, false);
}

/* Activate a queue on the given rings; returns virtq_activate's answer. */
static int try_activate(uint16_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct drv_q t;
	int r;

	drv_init(&t, &g, num, desc, avail, used);
	drv_device_q(&t, &q);
	r = virtq_activate(&q);
	if (r) {
		CHECK(!q.ready);
		CHECK(q.desc == NULL && q.avail == NULL && q.used == NULL);
	} else {
		CHECK(q.ready);
	}
	return r;
}

/* An indirect table at gpa of n one-byte buffers linked 0 → 1 → … → n-1,
 * each with flags (plus NEXT but the last). */
static void fill_table(uint64_t gpa, uint32_t n, uint16_t flags)
{
	for (uint32_t i = 0; i < n; i++)
		drv_desc_at(&g, gpa, i, FG_BUF + i, 1,
			    (uint16_t)(flags | (i + 1 < n ? N : 0)),
			    (uint16_t)(i + 1));
}

/* Return head to the driver as if just popped from the queue as it is. */
static void push_head(uint16_t head, uint32_t len)
{
	static struct virtq_chain t;

	t.head = head;
	t.gen = q.gen;
	CHECK(virtq_push(&q, &t, len));
}

/* Publish a one-descriptor chain and pop it: the answer of virtq_pop. */
static int pop_one(uint64_t addr, uint32_t len, uint16_t flags)
{
	drv_desc(&d, 0, addr, len, flags, 0);
	drv_publish(&d, 0);
	return virtq_pop(&q, &c);
}

TEST(activate_num)
{
	static const uint16_t bad[] = { 0, 3, 6, 255, 257, 384, 512, 1024, 65535 };
	static const uint16_t good[] = { 1, 2, 4, 128, VIRTQ_MAX_SIZE };

	CHECK_EQ(fg_init(&g), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(try_activate(bad[i], FG_DESC, FG_AVAIL, FG_USED), -EINVAL);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ(try_activate(good[i], FG_DESC, FG_AVAIL, FG_USED), 0);
	fg_free(&g);
}

TEST(activate_alignment)
{
	CHECK_EQ(fg_init(&g), 0);
	/* Table 16, avail 2, used 4 (§2.7 "Alignment"). */
	CHECK_EQ(try_activate(8, FG_DESC + 8, FG_AVAIL, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC + 1, FG_AVAIL, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_AVAIL + 1, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_AVAIL, FG_USED + 2), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_AVAIL, FG_USED + 1), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC + 16, FG_AVAIL + 2, FG_USED + 4), 0);
	fg_free(&g);
}

TEST(activate_outside_ram)
{
	const uint64_t end = FG_RAM2_GPA + FG_RAM2_SIZE;

	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(try_activate(8, end, FG_AVAIL, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, 1ull << 40, FG_AVAIL, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, end, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_AVAIL, end), -EINVAL);
	/* Addresses where ring start + size wraps past 2^64. */
	CHECK_EQ(try_activate(8, 0xfffffffffffffff0ull, FG_AVAIL, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, 0xfffffffffffffffeull, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_AVAIL, 0xfffffffffffffffcull), -EINVAL);
	/* Running off the end of RAM by a little: 128, 22 and 70 bytes. */
	CHECK_EQ(try_activate(8, end - 112, FG_AVAIL, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, end - 20, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_AVAIL, end - 68), -EINVAL);
	/* Spanning the two regions (separate host buffers). */
	CHECK_EQ(try_activate(8, FG_RAM2_GPA - 64, FG_AVAIL, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_RAM2_GPA - 16, FG_USED), -EINVAL);
	CHECK_EQ(try_activate(8, FG_DESC, FG_AVAIL, FG_RAM2_GPA - 64), -EINVAL);
	/* Ending exactly at a region's end is fine, in either region. */
	CHECK_EQ(try_activate(8, FG_RAM2_GPA - 128, end - 22, end - 104), 0);
	CHECK(q.desc == g.ram + FG_RAM_SIZE - 128);
	CHECK(q.avail == g.ram2 + FG_RAM2_SIZE - 22);
	CHECK(q.used == g.ram2 + FG_RAM2_SIZE - 104);
	fg_free(&g);
}

TEST(pop_not_ready_or_empty)
{
	CHECK_EQ(fg_init(&g), 0);
	virtq_reset(&q, &g.gm);
	CHECK_EQ(virtq_pop(&q, &c), 0);
	CHECK(!virtq_enable_notify(&q));
	fg_free(&g);

	setup(8);
	CHECK_EQ(virtq_pop(&q, &c), 0);
	CHECK_EQ(virtq_pop(&q, &c), 0);
	CHECK_EQ(drv_used_idx(&d), 0);
	fg_free(&g);
}

TEST(simple_chain)
{
	setup(8);
	drv_desc(&d, 5, FG_BUF, 100, N, 2);
	drv_desc(&d, 2, FG_BUF + 0x1000, 200, W, 0);
	drv_publish(&d, 5);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.head, 5);
	CHECK_EQ(c.nr, 1);
	CHECK_EQ(c.nw, 1);
	CHECK(c.r[0].iov_base == g.ram + FG_BUF);
	CHECK_EQ(c.r[0].iov_len, 100);
	CHECK(c.w[0].iov_base == g.ram + FG_BUF + 0x1000);
	CHECK_EQ(c.w[0].iov_len, 200);
	CHECK_EQ(c.r_len, 100);
	CHECK_EQ(c.w_len, 200);
	CHECK_EQ(virtq_pop(&q, &c), 0);

	/* Several buffers each way. */
	drv_desc(&d, 0, FG_BUF, 16, N, 1);
	drv_desc(&d, 1, FG_BUF + 16, 512, N, 3);
	drv_desc(&d, 3, FG_BUF + 0x2000, 512, W | N, 4);
	drv_desc(&d, 4, FG_BUF + 0x3000, 1, W, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.head, 0);
	CHECK_EQ(c.nr, 2);
	CHECK_EQ(c.nw, 2);
	CHECK_EQ(c.r_len, 528);
	CHECK_EQ(c.w_len, 513);
	CHECK(c.r[1].iov_base == g.ram + FG_BUF + 16);
	CHECK(c.w[1].iov_base == g.ram + FG_BUF + 0x3000);
	CHECK_EQ(c.w[1].iov_len, 1);
	fg_free(&g);
}

TEST(push_writes_used)
{
	uint32_t id, len;

	setup(8);
	CHECK_EQ(pop_one(FG_BUF, 8, W), 1);
	CHECK(virtq_push(&q, &c, 42));
	CHECK_EQ(drv_used_idx(&d), 1);
	drv_used_elem(&d, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 42);
	CHECK_EQ(get16(&g, FG_USED), 0);	/* used flags untouched */
	fg_free(&g);
}

TEST(chains_in_order)
{
	static const uint16_t heads[] = { 3, 0, 7, 1 };
	uint32_t id, len;

	setup(8);
	for (unsigned int i = 0; i < 4; i++) {
		drv_desc(&d, heads[i], FG_BUF + 0x100 * i, 10 + i, W, 0);
		drv_publish(&d, heads[i]);
	}
	for (unsigned int i = 0; i < 4; i++) {
		CHECK_EQ(virtq_pop(&q, &c), 1);
		CHECK_EQ(c.head, heads[i]);
		CHECK_EQ(c.w_len, 10 + i);
		CHECK(c.w[0].iov_base == g.ram + FG_BUF + 0x100 * i);
	}
	CHECK_EQ(virtq_pop(&q, &c), 0);
	/* Completed out of order: the used ring says so in push order. */
	for (unsigned int i = 0; i < 4; i++)
		push_head(heads[3 - i], 100 + i);
	CHECK_EQ(drv_used_idx(&d), 4);
	for (unsigned int i = 0; i < 4; i++) {
		drv_used_elem(&d, (uint16_t)i, &id, &len);
		CHECK_EQ(id, heads[3 - i]);
		CHECK_EQ(len, 100 + i);
	}
	fg_free(&g);
}

TEST(ring_wrap)
{
	uint32_t id, len;
	uint16_t start = 65530;

	setup(4);
	/* As if 65530 chains had gone through already. */
	q.last_avail = q.used_idx = start;
	drv_set_avail_idx(&d, start);
	put16(&g, FG_USED + 2, start);
	for (unsigned int i = 0; i < 12; i++) {
		uint16_t head = (uint16_t)(3 - i % 4);

		drv_desc(&d, head, FG_BUF + 0x100 * i, i + 1, W, 0);
		drv_publish(&d, head);
		CHECK_EQ(virtq_pop(&q, &c), 1);
		CHECK_EQ(c.head, head);
		CHECK_EQ(c.w_len, i + 1);
		CHECK(virtq_push(&q, &c, 1000 + i));
		CHECK_EQ(drv_used_idx(&d), (uint16_t)(start + i + 1));
		drv_used_elem(&d, (uint16_t)(start + i), &id, &len);
		CHECK_EQ(id, head);
		CHECK_EQ(len, 1000 + i);
		CHECK_EQ(virtq_pop(&q, &c), 0);
	}
	CHECK_EQ(drv_used_idx(&d), 6);

	/* A full ring's worth published at once, straddling 65535 → 0. */
	q.last_avail = q.used_idx = 65534;
	drv_set_avail_idx(&d, 65534);
	for (uint16_t i = 0; i < 4; i++) {
		drv_desc(&d, i, FG_BUF + i, 1, W, 0);
		drv_publish(&d, i);
	}
	CHECK_EQ(get16(&g, FG_AVAIL + 2), 2);
	for (uint16_t i = 0; i < 4; i++) {
		CHECK_EQ(virtq_pop(&q, &c), 1);
		CHECK_EQ(c.head, i);
	}
	CHECK_EQ(virtq_pop(&q, &c), 0);
	fg_free(&g);
}

TEST(avail_idx_too_far_ahead)
{
	setup(4);
	for (uint16_t i = 0; i < 4; i++)
		drv_desc(&d, i, FG_BUF, 1, W, 0);
	/* Exactly num ahead: a full ring, fine. */
	drv_set_avail_idx(&d, 4);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(virtq_pop(&q, &c), 0);
	/* num + 1 ahead: impossible for an honest driver. */
	drv_set_avail_idx(&d, 9);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);	/* and stays so */
	/* Going backwards looks like 65535 ahead. */
	drv_set_avail_idx(&d, 3);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* Across the wrap. */
	q.last_avail = 65534;
	drv_set_avail_idx(&d, 2);	/* 4 ahead */
	CHECK_EQ(virtq_pop(&q, &c), 1);
	q.last_avail = 65534;
	drv_set_avail_idx(&d, 3);	/* 5 ahead */
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	fg_free(&g);
}

TEST(head_out_of_range)
{
	setup(8);
	drv_publish(&d, 8);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	drv_publish(&d, 0xffff);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	drv_desc(&d, 7, FG_BUF, 1, W, 0);
	drv_publish(&d, 7);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	fg_free(&g);
}

TEST(next_out_of_range)
{
	setup(8);
	drv_desc(&d, 0, FG_BUF, 1, N, 8);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	drv_desc(&d, 0, FG_BUF, 1, N, 0xffff);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	fg_free(&g);
}

TEST(loops_refused)
{
	setup(8);
	/* a → b → a */
	drv_desc(&d, 0, FG_BUF, 1, N, 1);
	drv_desc(&d, 1, FG_BUF, 1, N, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* a → a, readable and writable (writable would hit nothing else) */
	drv_desc(&d, 2, FG_BUF, 1, N, 2);
	drv_publish(&d, 2);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	drv_desc(&d, 2, FG_BUF, 1, W | N, 2);
	drv_publish(&d, 2);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* A loop of zero-length buffers adds nothing but must still end. */
	drv_desc(&d, 3, FG_BUF, 0, N, 4);
	drv_desc(&d, 4, FG_BUF, 0, N, 3);
	drv_publish(&d, 3);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* A tail that loops back into the middle. */
	drv_desc(&d, 5, FG_BUF, 1, N, 6);
	drv_desc(&d, 6, FG_BUF, 1, N, 7);
	drv_desc(&d, 7, FG_BUF, 1, N, 6);
	drv_publish(&d, 5);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* Inside an indirect table too. */
	drv_desc_at(&g, TABLE, 0, FG_BUF, 1, N, 1);
	drv_desc_at(&g, TABLE, 1, FG_BUF, 1, N, 0);
	drv_desc(&d, 0, TABLE, 32, I, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	fg_free(&g);
}

TEST(chain_of_num_descriptors)
{
	setup(8);
	/* 3 → 4 → … → 7 → 0 → 1 → 2: every entry once. */
	for (uint16_t i = 0; i < 8; i++) {
		uint16_t k = (uint16_t)((3 + i) % 8);

		drv_desc(&d, k, FG_BUF + 0x100 * i, 0x10,
			 (uint16_t)((i >= 4 ? W : 0) | (i < 7 ? N : 0)),
			 (uint16_t)((k + 1) % 8));
	}
	drv_publish(&d, 3);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nr, 4);
	CHECK_EQ(c.nw, 4);
	CHECK(c.w[3].iov_base == g.ram + FG_BUF + 0x700);
	/* One more would have to reuse an entry. */
	drv_desc(&d, 2, FG_BUF + 0x700, 0x10, W | N, 3);
	drv_publish(&d, 3);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	fg_free(&g);

	/* The largest queue, every descriptor in one chain. */
	setup(VIRTQ_MAX_SIZE);
	for (uint16_t i = 0; i < VIRTQ_MAX_SIZE; i++)
		drv_desc(&d, i, FG_BUF + i, 1,
			 (uint16_t)(W | (i < VIRTQ_MAX_SIZE - 1 ? N : 0)),
			 (uint16_t)(i + 1));
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nw, VIRTQ_MAX_SIZE);
	CHECK_EQ(c.w_len, VIRTQ_MAX_SIZE);
	fg_free(&g);
}

TEST(readable_after_writable)
{
	setup(8);
	drv_desc(&d, 0, FG_BUF, 4, W | N, 1);
	drv_desc(&d, 1, FG_BUF + 4, 4, 0, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* The next chain is unaffected. */
	CHECK_EQ(pop_one(FG_BUF, 4, 0), 1);
	CHECK_EQ(c.nr, 1);
	fg_free(&g);
}

TEST(buffer_outside_ram)
{
	const uint64_t end = FG_RAM2_GPA + FG_RAM2_SIZE;

	setup(8);
	CHECK_EQ(pop_one(end, 1, 0), -EFAULT);
	CHECK_EQ(pop_one(end - 1, 2, W), -EFAULT);
	CHECK_EQ(pop_one(1ull << 40, 1, W), -EFAULT);
	CHECK_EQ(pop_one(0, 0xffffffffu, W), -EFAULT);
	/* addr + len wraps to a small, valid-looking address. */
	CHECK_EQ(pop_one(UINT64_MAX - 10, 100, 0), -EFAULT);
	CHECK_EQ(pop_one(UINT64_MAX, 1, W), -EFAULT);
	/* Spanning the two regions. */
	CHECK_EQ(pop_one(FG_RAM2_GPA - 8, 16, W), -EFAULT);
	/* The last bytes of each region are fine. */
	CHECK_EQ(pop_one(FG_RAM2_GPA - 16, 16, W), 1);
	CHECK(c.w[0].iov_base == g.ram + FG_RAM_SIZE - 16);
	CHECK_EQ(pop_one(end - 16, 16, 0), 1);
	CHECK(c.r[0].iov_base == g.ram2 + FG_RAM2_SIZE - 16);
	/* A bad buffer deep in a chain. */
	drv_desc(&d, 0, FG_BUF, 16, N, 1);
	drv_desc(&d, 1, end, 16, W, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EFAULT);
	fg_free(&g);
}

TEST(zero_length_skipped)
{
	setup(8);
	drv_desc(&d, 0, FG_BUF, 0, N, 1);
	drv_desc(&d, 1, FG_BUF, 10, N, 2);
	drv_desc(&d, 2, 1ull << 40, 0, W | N, 3);	/* nowhere, but empty */
	drv_desc(&d, 3, FG_BUF + 0x100, 5, W | N, 4);
	drv_desc(&d, 4, FG_BUF + 0x200, 0, W, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nr, 1);
	CHECK_EQ(c.nw, 1);
	CHECK_EQ(c.r[0].iov_len, 10);
	CHECK_EQ(c.w[0].iov_len, 5);
	CHECK_EQ(c.r_len, 10);
	CHECK_EQ(c.w_len, 5);
	/* Nothing at all. */
	CHECK_EQ(pop_one(FG_BUF, 0, W), 1);
	CHECK_EQ(c.nr + c.nw, 0);
	CHECK_EQ(c.r_len + c.w_len, 0);
	fg_free(&g);
}

TEST(indirect_valid)
{
	setup(8);
	drv_desc_at(&g, TABLE, 0, FG_BUF, 16, N, 1);
	drv_desc_at(&g, TABLE, 1, FG_BUF + 16, 512, N, 2);
	drv_desc_at(&g, TABLE, 2, FG_BUF + 0x1000, 1, W, 0);
	drv_desc(&d, 4, TABLE, 48, I, 0);
	drv_publish(&d, 4);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.head, 4);
	CHECK_EQ(c.nr, 2);
	CHECK_EQ(c.nw, 1);
	CHECK(c.r[1].iov_base == g.ram + FG_BUF + 16);
	CHECK(c.w[0].iov_base == g.ram + FG_BUF + 0x1000);
	CHECK_EQ(c.r_len, 528);

	/* The device ignores WRITE on the descriptor naming a table. */
	drv_desc(&d, 4, TABLE, 48, I | W, 0);
	drv_publish(&d, 4);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nr, 2);

	/* Direct descriptors followed by one indirect (§2.7.5.3.2). */
	drv_desc(&d, 1, FG_BUF, 16, N, 2);
	drv_desc(&d, 2, TABLE + 0x100, 32, I, 0);
	drv_desc_at(&g, TABLE + 0x100, 0, FG_BUF + 0x2000, 8, W | N, 1);
	drv_desc_at(&g, TABLE + 0x100, 1, FG_BUF + 0x3000, 8, W, 0);
	drv_publish(&d, 1);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nr, 1);
	CHECK_EQ(c.nw, 2);
	CHECK(c.w[1].iov_base == g.ram + FG_BUF + 0x3000);

	/* The table's links need not be in order. */
	drv_desc_at(&g, TABLE, 0, FG_BUF, 1, N, 2);
	drv_desc_at(&g, TABLE, 2, FG_BUF + 2, 1, N, 1);
	drv_desc_at(&g, TABLE, 1, FG_BUF + 1, 1, W, 0);
	drv_desc(&d, 0, TABLE, 48, I, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nr, 2);
	CHECK(c.r[1].iov_base == g.ram + FG_BUF + 2);

	/* A table of VIRTQ_MAX_CHAIN entries, far more than num. */
	fill_table(TABLE, VIRTQ_MAX_CHAIN, W);
	drv_desc(&d, 0, TABLE, 16 * VIRTQ_MAX_CHAIN, I, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nw, VIRTQ_MAX_CHAIN);
	fg_free(&g);
}

TEST(indirect_refused)
{
	const uint64_t end = FG_RAM2_GPA + FG_RAM2_SIZE;

	setup(8);
	drv_desc_at(&g, TABLE, 0, FG_BUF, 16, N, 1);
	drv_desc_at(&g, TABLE, 1, FG_BUF, 16, W, 0);
	CHECK_EQ(pop_one(TABLE, 32, I), 1);	/* the control */
	CHECK_EQ(pop_one(TABLE, 24, I), -EINVAL);
	CHECK_EQ(pop_one(TABLE, 31, I), -EINVAL);
	CHECK_EQ(pop_one(TABLE, 0, I), -EINVAL);
	CHECK_EQ(pop_one(TABLE, 16 * (VIRTQ_MAX_CHAIN + 1), I), -EINVAL);
	CHECK_EQ(pop_one(TABLE, 0xfffffff0u, I), -EINVAL);
	/* The table itself outside RAM, wrapping, or across regions. */
	CHECK_EQ(pop_one(end, 32, I), -EFAULT);
	CHECK_EQ(pop_one(end - 16, 32, I), -EFAULT);
	CHECK_EQ(pop_one(UINT64_MAX - 15, 32, I), -EFAULT);
	CHECK_EQ(pop_one(FG_RAM2_GPA - 16, 32, I), -EFAULT);
	/* INDIRECT together with NEXT. */
	drv_desc(&d, 0, TABLE, 32, I | N, 1);
	drv_desc(&d, 1, FG_BUF, 1, W, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* A table naming another table. */
	drv_desc_at(&g, TABLE, 1, TABLE + 0x100, 32, I, 0);
	drv_desc_at(&g, TABLE + 0x100, 0, FG_BUF, 16, W, 0);
	CHECK_EQ(pop_one(TABLE, 32, I), -EINVAL);
	/* next past the table's own end, though inside the queue's. */
	drv_desc_at(&g, TABLE, 1, FG_BUF, 16, W | N, 5);
	CHECK_EQ(pop_one(TABLE, 32, I), -EINVAL);
	/* A bad buffer inside the table. */
	drv_desc_at(&g, TABLE, 1, end, 16, W, 0);
	CHECK_EQ(pop_one(TABLE, 32, I), -EFAULT);
	fg_free(&g);
}

TEST(chain_longer_than_max_refused)
{
	/* VIRTQ_MAX_CHAIN buffers in all, however they are split between
	 * the direct part and an indirect table. */
	setup(8);
	fill_table(TABLE, VIRTQ_MAX_CHAIN, W);
	drv_desc(&d, 0, FG_BUF, 16, N, 1);
	drv_desc(&d, 1, TABLE, 16 * VIRTQ_MAX_CHAIN, I, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	/* One buffer fewer in the table: exactly the limit. */
	fill_table(TABLE, VIRTQ_MAX_CHAIN - 1, W);
	drv_desc(&d, 1, TABLE, 16 * (VIRTQ_MAX_CHAIN - 1), I, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.nr + c.nw, VIRTQ_MAX_CHAIN);
	fg_free(&g);

	setup(VIRTQ_MAX_SIZE);
	for (uint32_t i = 0; i < VIRTQ_MAX_SIZE; i++)
		drv_desc(&d, (uint16_t)i, FG_BUF + i, 1, N, (uint16_t)(i + 1));
	fill_table(TABLE, VIRTQ_MAX_CHAIN, W);
	drv_desc(&d, VIRTQ_MAX_SIZE - 1, TABLE, 16 * VIRTQ_MAX_CHAIN, I, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), -EINVAL);
	fg_free(&g);
}

TEST(event_idx_should_notify)
{
	setup_q(8, true);
	for (uint16_t i = 0; i < 8; i++)
		drv_desc(&d, i, FG_BUF, 1, W, 0);
	drv_used_event(&d, 0xffff);
	/* Nothing signalled yet: the first push always interrupts. */
	push_head(0, 1);
	CHECK(virtq_should_notify(&q));
	/* used_event 1: interrupt once used idx moves past 1. */
	drv_used_event(&d, 1);
	push_head(0, 1);		/* idx 2 */
	CHECK(virtq_should_notify(&q));
	/* used_event 5: not at 3 or 4; at 6 (two pushes passing 5). */
	drv_used_event(&d, 5);
	push_head(0, 1);
	CHECK(!virtq_should_notify(&q));
	push_head(0, 1);
	CHECK(!virtq_should_notify(&q));
	push_head(0, 1);
	push_head(0, 1);
	CHECK(virtq_should_notify(&q));
	CHECK(!virtq_should_notify(&q));	/* nothing new since */
	/* An event behind what we already signalled. */
	drv_used_event(&d, 3);
	push_head(0, 1);
	CHECK(!virtq_should_notify(&q));
	/* The flag is ignored with event idx (§2.7.10). */
	drv_avail_flags(&d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	drv_used_event(&d, 7);
	push_head(0, 1);		/* idx 8 */
	CHECK(virtq_should_notify(&q));
	drv_avail_flags(&d, 0);

	/* Across the u16 wrap. */
	q.used_idx = q.signalled_used = 65534;
	drv_used_event(&d, 65535);
	push_head(0, 1);
	push_head(0, 1);		/* idx 0 */
	CHECK_EQ(drv_used_idx(&d), 0);
	CHECK(virtq_should_notify(&q));
	drv_used_event(&d, 2);
	push_head(0, 1);		/* 1 */
	CHECK(!virtq_should_notify(&q));
	push_head(0, 1);
	push_head(0, 1);		/* 3 */
	CHECK(virtq_should_notify(&q));
	/* used_event just before a wrap, passed by a burst across it. */
	q.used_idx = q.signalled_used = 65530;
	drv_used_event(&d, 65533);
	for (int i = 0; i < 10; i++)
		push_head(0, 1);	/* 65530 → 4 */
	CHECK(virtq_should_notify(&q));
	drv_used_event(&d, 65533);	/* stale: long passed */
	push_head(0, 1);
	CHECK(!virtq_should_notify(&q));
	fg_free(&g);
}

TEST(no_interrupt_flag)
{
	setup(8);
	drv_desc(&d, 0, FG_BUF, 1, W, 0);
	drv_used_event(&d, 0);		/* ignored without event idx */
	push_head(0, 1);
	CHECK(virtq_should_notify(&q));
	drv_avail_flags(&d, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_head(0, 1);
	CHECK(!virtq_should_notify(&q));
	CHECK(!virtq_should_notify(&q));
	drv_avail_flags(&d, 0);
	push_head(0, 1);
	CHECK(virtq_should_notify(&q));
	CHECK(virtq_should_notify(&q));
	fg_free(&g);
}

TEST(enable_notify)
{
	setup_q(8, true);
	put16(&g, FG_USED + 4 + 8 * 8, 0xdead);
	for (uint16_t i = 0; i < 8; i++)
		drv_desc(&d, i, FG_BUF, 1, W, 0);
	drv_publish(&d, 0);
	drv_publish(&d, 1);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK(!virtq_enable_notify(&q));
	CHECK_EQ(drv_avail_event(&d), 2);
	/* The driver added one before we re-enabled: go round again. */
	drv_publish(&d, 2);
	CHECK(virtq_enable_notify(&q));
	CHECK_EQ(drv_avail_event(&d), 2);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK(!virtq_enable_notify(&q));
	CHECK_EQ(drv_avail_event(&d), 3);
	/* Across the wrap the event is the u16 index. */
	q.last_avail = 65535;
	drv_set_avail_idx(&d, 65535);
	drv_publish(&d, 3);
	CHECK(virtq_enable_notify(&q));
	CHECK_EQ(drv_avail_event(&d), 65535);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK(!virtq_enable_notify(&q));
	CHECK_EQ(drv_avail_event(&d), 0);
	fg_free(&g);

	/* Without event idx: no avail_event written, pending still seen. */
	setup(8);
	put16(&g, FG_USED + 4 + 8 * 8, 0xdead);
	drv_desc(&d, 0, FG_BUF, 1, W, 0);
	CHECK(!virtq_enable_notify(&q));
	drv_publish(&d, 0);
	CHECK(virtq_enable_notify(&q));
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK(!virtq_enable_notify(&q));
	CHECK_EQ(drv_avail_event(&d), 0xdead);
	fg_free(&g);
}

TEST(read_write_slice)
{
	uint8_t buf[32], *src = NULL;
	struct iovec out[8];

	setup(8);
	/* Readable 3 + 5 + 8 bytes holding 0..15; writable 4 + 6. */
	for (int i = 0; i < 16; i++)
		g.ram[FG_BUF + (i < 3 ? i : i < 8 ? 0x100 + i - 3 : 0x200 + i - 8)] =
			(uint8_t)i;
	drv_desc(&d, 0, FG_BUF, 3, N, 1);
	drv_desc(&d, 1, FG_BUF + 0x100, 5, N, 2);
	drv_desc(&d, 2, FG_BUF + 0x200, 8, N, 3);
	drv_desc(&d, 3, FG_BUF + 0x300, 4, W | N, 4);
	drv_desc(&d, 4, FG_BUF + 0x400, 6, W, 0);
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	CHECK_EQ(c.r_len, 16);
	CHECK_EQ(c.w_len, 10);

	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(virtq_read(&c, 0, buf, 16), 16);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(buf[i], i);
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(virtq_read(&c, 2, buf, 7), 7);	/* 2 | 3..7 | 8 */
	for (int i = 0; i < 7; i++)
		CHECK_EQ(buf[i], 2 + i);
	CHECK_EQ(buf[7], 0xee);
	CHECK_EQ(virtq_read(&c, 3, buf, 5), 5);	/* exactly the second */
	CHECK_EQ(buf[0], 3);
	CHECK_EQ(virtq_read(&c, 14, buf, 10), 2);
	CHECK_EQ(buf[0], 14);
	CHECK_EQ(buf[1], 15);
	CHECK_EQ(virtq_read(&c, 16, buf, 1), 0);
	CHECK_EQ(virtq_read(&c, 1000, buf, 1), 0);
	CHECK_EQ(virtq_read(&c, UINT64_MAX, buf, 1), 0);
	CHECK_EQ(virtq_read(&c, 0, buf, 0), 0);

	CHECK_EQ(virtq_write(&c, 3, "ABCDE", 5), 5);	/* 1 | 4 */
	CHECK_EQ(g.ram[FG_BUF + 0x303], 'A');
	CHECK(memcmp(g.ram + FG_BUF + 0x400, "BCDE", 4) == 0);
	CHECK_EQ(g.ram[FG_BUF + 0x404], 0);
	CHECK_EQ(virtq_write(&c, 9, "XYZ", 3), 1);
	CHECK_EQ(g.ram[FG_BUF + 0x405], 'X');
	CHECK_EQ(g.ram[FG_BUF + 0x406], 0);	/* nothing past the buffer */
	CHECK_EQ(virtq_write(&c, 10, "Q", 1), 0);
	CHECK_EQ(virtq_write(&c, UINT64_MAX, "Q", 1), 0);
	CHECK_EQ(virtq_write(&c, 0, src, 0), 0);

	CHECK_EQ(virtq_slice(c.r, c.nr, 2, 9, out, 8), 3);
	CHECK(out[0].iov_base == g.ram + FG_BUF + 2);
	CHECK_EQ(out[0].iov_len, 1);
	CHECK(out[1].iov_base == g.ram + FG_BUF + 0x100);
	CHECK_EQ(out[1].iov_len, 5);
	CHECK(out[2].iov_base == g.ram + FG_BUF + 0x200);
	CHECK_EQ(out[2].iov_len, 3);
	CHECK_EQ(virtq_slice(c.r, c.nr, 3, 5, out, 8), 1);
	CHECK(out[0].iov_base == g.ram + FG_BUF + 0x100);
	CHECK_EQ(out[0].iov_len, 5);
	CHECK_EQ(virtq_slice(c.r, c.nr, 2, 9, out, 2), -E2BIG);
	CHECK_EQ(virtq_slice(c.r, c.nr, 2, 6, out, 2), 2);
	CHECK_EQ(virtq_slice(c.r, c.nr, 10, 100, out, 8), 1);	/* what exists */
	CHECK_EQ(out[0].iov_len, 6);
	CHECK_EQ(virtq_slice(c.r, c.nr, 16, 1, out, 8), 0);
	CHECK_EQ(virtq_slice(c.r, c.nr, UINT64_MAX, 1, out, 8), 0);
	CHECK_EQ(virtq_slice(c.r, c.nr, 0, 0, out, 0), 0);
	CHECK_EQ(virtq_slice(c.w, c.nw, 0, UINT64_MAX, out, 8), 2);
	fg_free(&g);
}

CHECK_MAIN(
	TEST_ENTRY(activate_num),
	TEST_ENTRY(activate_alignment),
	TEST_ENTRY(activate_outside_ram),
	TEST_ENTRY(pop_not_ready_or_empty),
	TEST_ENTRY(simple_chain),
	TEST_ENTRY(push_writes_used),
	TEST_ENTRY(chains_in_order),
	TEST_ENTRY(ring_wrap),
	TEST_ENTRY(avail_idx_too_far_ahead),
	TEST_ENTRY(head_out_of_range),
	TEST_ENTRY(next_out_of_range),
	TEST_ENTRY(loops_refused),
	TEST_ENTRY(chain_of_num_descriptors),
	TEST_ENTRY(readable_after_writable),
	TEST_ENTRY(buffer_outside_ram),
	TEST_ENTRY(zero_length_skipped),
	TEST_ENTRY(indirect_valid),
	TEST_ENTRY(indirect_refused),
	TEST_ENTRY(chain_longer_than_max_refused),
	TEST_ENTRY(event_idx_should_notify),
	TEST_ENTRY(no_interrupt_flag),
	TEST_ENTRY(enable_notify),
	TEST_ENTRY(read_write_slice),
)
