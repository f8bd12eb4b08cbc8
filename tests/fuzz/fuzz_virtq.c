/* libFuzzer target: a hostile driver's split virtqueue. The input lays out
 * a queue (size, ring addresses, including bad ones, start index, event
 * idx) in a small fake guest memory, fills the descriptor table, avail ring
 * and a scratch area for indirect tables, then plays a stream of driver
 * moves (publish, rewrite a descriptor or the index, reset the queue or
 * set it up again while a chain is out) against device moves (pop, push,
 * unpop, should_notify, enable_notify, copy helpers). Every iovec the queue
 * hands out must lie inside guest RAM, every chain within VIRTQ_MAX_CHAIN,
 * activation must accept exactly the rings a reference check says are
 * sound, and a chain popped before a reset or a new set-up must never be
 * pushed or unpopped: its used ring stays as it was. */
#include "tests/fuzz/fuzz_input.h"
#include "vmm/mem.h"
#include "vmm/virtio/queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 64 KiB at 0 and, right after it, 4 KiB with its own host buffer. */
#define A_SIZE 0x10000u
#define B_GPA 0x10000u
#define B_SIZE 0x1000u
#define DESC 0x1000u
#define AVAIL 0x2000u
#define USED 0x3000u
#define SCRATCH 0x4000u		/* indirect tables, buffers */
#define MAX_POPS 512

static uint8_t *ram_a, *ram_b;
static struct guest_mem gm;
static struct virtq q;
static struct virtq_chain c, held;
static uint8_t used_before[6 + 8 * VIRTQ_MAX_SIZE];
static uint8_t copy_buf[1 << 16];
static uint8_t chunk[A_SIZE - SCRATCH];

/* Inside one region, by a check written independently of mem.c. */
static bool inside(uint64_t gpa, uint64_t len)
{
	if (gpa < A_SIZE && len <= A_SIZE - gpa)
		return true;
	return gpa >= B_GPA && gpa - B_GPA < B_SIZE && len <= B_SIZE - (gpa - B_GPA);
}

static bool host_inside(const void *base, size_t len)
{
	const uint8_t *p = base;

	if (p >= ram_a && p <= ram_a + A_SIZE && len <= (size_t)(ram_a + A_SIZE - p))
		return true;
	return p >= ram_b && p <= ram_b + B_SIZE && len <= (size_t)(ram_b + B_SIZE - p);
}

/* Copy into guest memory as much of src as fits where gpa lands. */
static void poke(uint64_t gpa, const uint8_t *src, size_t len)
{
	while (len > 0 && !gm_ptr(&gm, gpa, len))
		len--;
	if (len)
		memcpy(gm_ptr(&gm, gpa, len), src, len);
}

static void poke16(uint64_t gpa, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	poke(gpa, b, 2);
}

/* Bias descriptors toward guest RAM: addresses below 0x11800 (RAM and a
 * little past its end), lengths mostly under 4 KiB, some under 64 KiB.
 * The device still sees whatever bytes end up in memory. */
static void tame(uint8_t *d, size_t len)
{
	for (size_t i = 0; i + 16 <= len; i += 16) {
		uint64_t addr;
		uint32_t l;

		memcpy(&addr, d + i, 8);
		memcpy(&l, d + i + 8, 4);
		addr %= 0x11800;
		l = l & 0x80000000u ? l & 0xffff : l & 0xfff;
		memcpy(d + i, &addr, 8);
		memcpy(d + i + 8, &l, 4);
	}
}

static void check_chain(const struct virtq_chain *ch)
{
	uint64_t r = 0, w = 0;

	if (ch->head >= q.num)
		abort();
	if (ch->nr + ch->nw > VIRTQ_MAX_CHAIN)
		abort();
	for (unsigned int i = 0; i < ch->nr; i++) {
		if (ch->r[i].iov_len == 0 || !host_inside(ch->r[i].iov_base, ch->r[i].iov_len))
			abort();
		r += ch->r[i].iov_len;
	}
	for (unsigned int i = 0; i < ch->nw; i++) {
		if (ch->w[i].iov_len == 0 || !host_inside(ch->w[i].iov_base, ch->w[i].iov_len))
			abort();
		w += ch->w[i].iov_len;
	}
	if (r != ch->r_len || w != ch->w_len)
		abort();
}

/* The copy helpers on a popped chain at fuzzed offsets. */
static void check_copies(const struct virtq_chain *ch, uint64_t off, uint64_t len)
{
	struct iovec out[VIRTQ_MAX_CHAIN];
	uint64_t want, got = 0;
	int n;

	len %= sizeof(copy_buf) + 1;
	want = off < ch->r_len ? ch->r_len - off : 0;
	if (want > len)
		want = len;
	if (virtq_read(ch, off, copy_buf, len) != want)
		abort();
	want = off < ch->w_len ? ch->w_len - off : 0;
	if (want > len)
		want = len;
	if (virtq_write(ch, off, copy_buf, len) != want)
		abort();
	n = virtq_slice(ch->w, ch->nw, off, len, out, VIRTQ_MAX_CHAIN);
	if (n < 0 || (unsigned int)n > ch->nw)
		abort();
	for (int i = 0; i < n; i++) {
		if (out[i].iov_len == 0 || !host_inside(out[i].iov_base, out[i].iov_len))
			abort();
		got += out[i].iov_len;
	}
	if (got != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t numsel, mode;
	uint16_t num, start, head_idx;
	uint64_t desc = DESC, avail = AVAIL, used = USED;
	bool ok, have_chain = false, have_held = false;
	unsigned int pops = 0;
	size_t len;

	if (!ram_a) {
		ram_a = aligned_alloc(4096, A_SIZE);
		ram_b = aligned_alloc(4096, B_SIZE);
		if (!ram_a || !ram_b || gm_add_region(&gm, 0, A_SIZE, ram_a) ||
		    gm_add_region(&gm, B_GPA, B_SIZE, ram_b))
			abort();
	}
	memset(ram_a, 0, A_SIZE);
	memset(ram_b, 0, B_SIZE);

	numsel = (uint8_t)fuzz_take(&in, 1);
	mode = (uint8_t)fuzz_take(&in, 1);
	/* Mostly powers of two; sometimes 0, odd sizes or too big. */
	num = numsel & 0x80 ? (uint16_t)((numsel & 0x7f) * 3) : (uint16_t)(1u << (numsel % 9));
	if (mode & 2) {
		/* Ring addresses of the input's choosing: misaligned, off the
		 * end, across the region boundary, or wrapping. */
		desc = fuzz_take(&in, 3) % 0x12000;
		avail = fuzz_take(&in, 3) % 0x12000;
		used = fuzz_take(&in, 3) % 0x12000;
		if (mode & 4)
			desc |= fuzz_take(&in, 1) ? 0xffffffffffff0000ull : 1ull << 40;
	}
	virtq_reset(&q, &gm);
	q.num = num;
	q.desc_gpa = desc;
	q.avail_gpa = avail;
	q.used_gpa = used;
	q.event_idx = mode & 1;
	ok = num && num <= VIRTQ_MAX_SIZE && !(num & (num - 1)) &&
	     !(desc & 15) && !(avail & 1) && !(used & 3) &&
	     inside(desc, 16ull * num) && inside(avail, 6 + 2ull * num) &&
	     inside(used, 6 + 8ull * num);
	if ((virtq_activate(&q) == 0) != ok)
		abort();
	if (!ok) {
		if (virtq_pop(&q, &c) != 0 || virtq_enable_notify(&q))
			abort();
		return 0;
	}

	/* As if start chains had gone through: indices near a wrap are as
	 * likely as any. */
	start = (uint16_t)fuzz_take(&in, 2);
	q.last_avail = q.used_idx = start;
	poke16(used + 2, start);
	poke16(avail, (uint16_t)fuzz_take(&in, 2));		/* flags */
	poke16(avail + 2, (uint16_t)(start + fuzz_take(&in, 1) % (num + 2u)));
	poke16(avail + 4 + 2ull * num, (uint16_t)fuzz_take(&in, 2));	/* used_event */

	len = in.n < 16ull * num ? in.n : 16ull * num;
	memcpy(chunk, in.p, len);
	if (mode & 8)
		tame(chunk, len);
	poke(desc, chunk, len);
	in.p += len;
	in.n -= len;
	len = in.n < 2ull * num ? in.n : 2ull * num;
	poke(avail + 4, in.p, len);
	in.p += len;
	in.n -= len;
	len = fuzz_take(&in, 2) % (A_SIZE - SCRATCH + 1);
	len = in.n < len ? in.n : len;
	memcpy(chunk, in.p, len);
	if (mode & 8)
		tame(chunk, len);
	poke(SCRATCH, chunk, len);
	in.p += len;
	in.n -= len;

	head_idx = (uint16_t)(start + fuzz_take(&in, 1) % (num + 2u));
	while (in.n > 0 && pops < MAX_POPS) {
		uint8_t op = (uint8_t)fuzz_take(&in, 1);
		int r;

		switch (op % 10) {
		case 0:		/* the device drains the ring */
			for (int i = 0; i < 8 && pops < MAX_POPS; i++, pops++) {
				r = virtq_pop(&q, &c);
				if (r == 0)
					break;
				if (r != 1 && r != -EINVAL && r != -EFAULT)
					abort();
				if (r < 0) {
					have_chain = false;
					continue;
				}
				check_chain(&c);
				have_chain = true;
				if (!virtq_push(&q, &c, (uint32_t)c.w_len))
					abort();
			}
			break;
		case 1:		/* the driver publishes a head */
			poke16(avail + 4 + 2ull * (head_idx % num), (uint16_t)fuzz_take(&in, 2));
			head_idx++;
			poke16(avail + 2, head_idx);
			break;
		case 2:		/* … or writes any index it likes */
			head_idx = (uint16_t)fuzz_take(&in, 2);
			poke16(avail + 2, head_idx);
			break;
		case 3: {	/* rewrites a descriptor, in the table or scratch */
			uint8_t slot = (uint8_t)fuzz_take(&in, 1);
			uint64_t at = slot & 0x80 ? SCRATCH + 16ull * (slot & 0x7f)
						  : desc + 16ull * (slot % num);

			len = in.n < 16 ? in.n : 16;
			memcpy(chunk, in.p, len);
			if (mode & 8)
				tame(chunk, len);
			poke(at, chunk, len);
			in.p += len;
			in.n -= len;
			break;
		}
		case 4:		/* avail flags and used_event */
			poke16(avail, (uint16_t)fuzz_take(&in, 2));
			poke16(avail + 4 + 2ull * num, (uint16_t)fuzz_take(&in, 2));
			break;
		case 5:
			(void)virtq_should_notify(&q);
			break;
		case 6:
			(void)virtq_enable_notify(&q);
			break;
		case 7:
			if (have_chain) {
				uint64_t off = fuzz_take(&in, 2), n = fuzz_take(&in, 2);

				if (off & 0x8000)
					off = UINT64_MAX - (off & 0x7fff);
				check_copies(&c, off, n);
			}
			break;
		case 8:		/* the device takes a chain and keeps it */
			r = virtq_pop(&q, &held);
			if (r == 1)
				have_held = true;
			else if (r < 0)
				have_held = false;
			break;
		case 9: {	/* the driver resets the queue (and may set it up
				 * again on the same rings); then the device tries
				 * to return what it held */
			uint8_t how = (uint8_t)fuzz_take(&in, 1);

			virtq_reset(&q, &gm);
			if (how & 1) {
				q.num = num;
				q.desc_gpa = desc;
				q.avail_gpa = avail;
				q.used_gpa = used;
				q.event_idx = mode & 1;
				if (virtq_activate(&q))
					abort();
				/* A new queue starts at 0 where the driver left
				 * its indices. */
				poke16(used + 2, 0);
				head_idx = 0;
				poke16(avail + 2, 0);
			}
			memcpy(used_before, gm_ptr(&gm, used, 6 + 8ull * num), 6 + 8ull * num);
			if (have_held && (virtq_push(&q, &held, 1) || virtq_chain_live(&q, &held)))
				abort();
			if (have_held)
				virtq_unpop(&q, &held);
			if (have_chain && virtq_push(&q, &c, 1))
				abort();
			if (memcmp(used_before, gm_ptr(&gm, used, 6 + 8ull * num), 6 + 8ull * num))
				abort();
			/* Nothing consumed, nothing waiting (avail idx 0). */
			if (q.last_avail != 0 || virtq_pop(&q, &c) != 0)
				abort();
			have_chain = have_held = false;
			break;
		}
		}
	}
	return 0;
}
