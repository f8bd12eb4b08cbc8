/* libFuzzer target: a hostile driver against virtio-rng. The input fills
 * descriptors and rings of a small fake guest, then either drives the whole
 * device through its MMIO registers (any register, any width), kicks (one
 * batch each, as the I/O loop runs them) and restarts (device reset or
 * QueueReady 0, on the same rings or on others, between any two batches),
 * or hands each popped chain to virtio_rng_handle() directly. The device
 * must never touch memory outside the guest (ASan), nor the used ring a
 * driver left (fuzz_driver.h); a chain handled directly must get exactly
 * min(its writable bytes, the per-request cap), or a refusal if it has
 * readable buffers. (Otherwise where the device writes inside the guest is
 * the guest's choice: its buffers may overlap its own rings.) */
#include "tests/fuzz/fuzz_driver.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/mem.h"
#include "vmm/virtio/rng.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x20000u
#define DESC 0x1000u
#define AVAIL 0x2000u
#define USED 0x3000u
#define BUFS 0x8000u		/* buffers and indirect tables from here */
#define MAX_OPS 256

/* Two sets of rings for a driver that starts over elsewhere. */
static const struct fuzz_rings set_a = { DESC, AVAIL, USED };
static const struct fuzz_rings set_b = { DESC + 0x3000, AVAIL + 0x3000, USED + 0x3000 };

static uint8_t *ram;
static struct guest_mem gm;
static struct virtio_rng rng;
static struct virtq q;
static struct virtq_chain c;
static struct fuzz_driver drv;

/* Input bytes to gpa, clipped to RAM; descriptors optionally biased toward
 * the buffer area (and a little past RAM) so chains are often valid. */
static void fill(struct fuzz_input *in, uint64_t gpa, size_t len, bool tame)
{
	if (len > in->n)
		len = in->n;
	if (gpa >= RAM_SIZE)
		return;
	if (len > RAM_SIZE - gpa)
		len = RAM_SIZE - gpa;
	memcpy(ram + gpa, in->p, len);
	in->p += len;
	in->n -= len;
	for (size_t i = 0; tame && i + 16 <= len; i += 16) {
		uint64_t addr;
		uint32_t l;

		memcpy(&addr, ram + gpa + i, 8);
		memcpy(&l, ram + gpa + i + 8, 4);
		addr = BUFS + addr % (RAM_SIZE - BUFS + 0x800);
		l %= 0x12000;	/* beyond the 64 KiB cap, sometimes */
		memcpy(ram + gpa + i, &addr, 8);
		memcpy(ram + gpa + i + 8, &l, 4);
	}
}

static void handle_direct(void)
{
	for (int i = 0; i < 8; i++) {
		int r = virtq_pop(&q, &c);
		int64_t n, want;

		if (r <= 0)
			return;
		n = virtio_rng_handle(&c, VIRTIO_RNG_MAX_REQ);
		want = c.w_len < VIRTIO_RNG_MAX_REQ ? (int64_t)c.w_len : VIRTIO_RNG_MAX_REQ;
		if (c.nr ? n != -EINVAL : n != want)
			abort();
		if (n < 0)
			return;		/* the device would stop here */
		virtq_push(&q, &c, (uint32_t)n);
	}
}

/* Is [gpa, gpa + 16) in a descriptor table (either set's)? */
static bool in_desc_table(uint64_t gpa)
{
	return (gpa >= set_a.desc && gpa < set_a.avail) ||
	       (gpa >= set_b.desc && gpa < set_b.avail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t mode, numsel;
	bool transport;
	uint16_t num, head_idx = 0;
	unsigned int ops = 0;

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		if (!ram || gm_add_region(&gm, 0, RAM_SIZE, ram))
			abort();
	}
	memset(ram, 0, RAM_SIZE);
	mode = (uint8_t)fuzz_take(&in, 1);
	numsel = (uint8_t)fuzz_take(&in, 1);
	num = (uint16_t)(1u << (numsel % 9));
	transport = mode & 4;
	fill(&in, set_a.desc, 16ull * num, mode & 1);
	fill(&in, set_b.desc, 16ull * num, mode & 1);
	fill(&in, AVAIL + 4, 2ull * num, false);
	fill(&in, BUFS, fuzz_take(&in, 2) % (RAM_SIZE - BUFS), mode & 2);
	if (virtio_rng_setup(&rng, &gm))
		abort();

	if (transport) {
		/* A driver bringing the device up with the features the input
		 * picks; the input then says what else it does. */
		drv = (struct fuzz_driver){
			.m = &rng.mmio, .ram = ram, .set = { &set_a, &set_b },
			.features = fuzz_take(&in, 8) & rng.mmio.ops->features,
			.num = numsel & 0x80 ? numsel : num,
		};
		/* Only tamed descriptors and no indirect tables keep every
		 * buffer out of the rings (fuzz_driver.h). */
		drv.sound = (mode & 1) && !(drv.features & VIRTIO_F_RING_INDIRECT_DESC);
		fuzz_driver_up(&drv);
	} else {
		virtq_reset(&q, &gm);
		q.num = num;
		q.desc_gpa = DESC;
		q.avail_gpa = AVAIL;
		q.used_gpa = USED;
		q.event_idx = mode & 8;
		if (virtq_activate(&q))
			abort();
	}

	while (in.n > 0 && ops++ < MAX_OPS) {
		uint8_t op = (uint8_t)fuzz_take(&in, 1);
		uint64_t avail = transport ? fuzz_rings_now(&drv)->avail : AVAIL;

		switch (op % 6) {
		case 0:		/* the device runs a batch of the queue (or a wrong one) */
			if (transport)
				virtio_mmio_kick(&rng.mmio, (unsigned int)(op >> 7));
			else
				handle_direct();
			break;
		case 1: {	/* the driver publishes a head */
			uint16_t h = (uint16_t)fuzz_take(&in, 2);

			memcpy(ram + avail + 4 + 2ull * (head_idx % num), &h, 2);
			head_idx++;
			memcpy(ram + avail + 2, &head_idx, 2);
			break;
		}
		case 2:		/* … or sets any index */
			head_idx = (uint16_t)fuzz_take(&in, 2);
			memcpy(ram + avail + 2, &head_idx, 2);
			if (transport)
				fuzz_driver_any_index(&drv);
			break;
		case 3: {	/* rewrites 16 bytes anywhere */
			uint64_t at = fuzz_take(&in, 3) % (RAM_SIZE - 16);
			bool tame = (mode & 1) && in_desc_table(at);

			if (tame)
				at &= ~15ull;	/* whole descriptors, each tamed */
			fill(&in, at, 16, tame);
			if (transport)
				fuzz_driver_wrote(&drv, at, 16);
			break;
		}
		case 4: {	/* any register, any width */
			uint8_t buf[8] = { 0 };
			uint64_t off = fuzz_take(&in, 2) % 0x140;
			uint32_t len = 1u << (fuzz_take(&in, 1) % 4);
			uint64_t v = fuzz_take(&in, len);

			if (!transport)
				break;
			memcpy(buf, &v, sizeof(v));
			virtio_mmio_access(&rng.mmio, off, buf, len, op & 0x80);
			if (op & 0x80)
				fuzz_driver_raw(&drv);
			break;
		}
		case 5:		/* the driver starts over, mid-request or not */
			if (!transport)
				break;
			fuzz_driver_restart(&drv, (uint8_t)fuzz_take(&in, 1));
			head_idx = drv.head_idx;
			break;
		}
		if (transport)
			fuzz_driver_check(&drv, head_idx);
	}
	close(rng.mmio.irq_fd);
	close(rng.mmio.kick_fd[0]);
	pthread_mutex_destroy(&rng.mmio.lock);
	return 0;
}
