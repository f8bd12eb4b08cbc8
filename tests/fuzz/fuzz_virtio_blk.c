/* libFuzzer target: a hostile driver's virtio-blk requests. A small
 * memfd disk (its size, read-only or not, chosen by the input; sizes with
 * a partial last sector included) behind a queue in a fake guest memory.
 * Either each popped chain goes to virtio_blk_handle() directly, or the
 * whole device is driven through its MMIO registers (any register, any
 * width), kicks (one batch each; the batch is cut to 4 KiB and 8 requests
 * here, so that requests span several) and restarts (device reset or
 * QueueReady 0, on the same rings or on others, between any two batches,
 * so in the middle of a request). A read-only disk must not change, no
 * disk may change past its last whole sector or change size, every answer
 * must be a status the chain has room for, and the used ring a driver
 * left is never written again (fuzz_driver.h). */
#include "tests/fuzz/fuzz_driver.h"
#include "tests/fuzz/fuzz_input.h"
#include "vmm/mem.h"
#include "vmm/virtio/blk.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE 0x18000u
#define DESC 0x1000u
#define AVAIL 0x2000u
#define USED 0x3000u
#define SCRATCH 0x8000u		/* headers, ranges, data, indirect tables */

/* Two sets of rings for a driver that starts over elsewhere. */
static const struct fuzz_rings set_a = { DESC, AVAIL, USED };
static const struct fuzz_rings set_b = { DESC + 0x3000, AVAIL + 0x3000, USED + 0x3000 };
#define MAX_POPS 256
#define SECTOR 512u

static const uint64_t disk_sizes[] = { 0, 511, 4096, 0x10000 + 100 };
#define MAX_DISK (0x10000 + 100)

static uint8_t *ram;
static struct guest_mem gm;
static struct virtq q;
static struct virtq_chain c;
static struct virtio_blk b;
static int disk = -1;
static uint8_t pattern[MAX_DISK], now[MAX_DISK + 1];
static struct fuzz_driver drv;

/* Copy the next up-to-len input bytes to gpa (clipped to RAM). */
static void fill(struct fuzz_input *in, uint64_t gpa, size_t len, bool tame_descs)
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
	/* Bias descriptors toward the scratch area (a little past RAM too)
	 * and toward request-sized buffers; the device still sees only
	 * memory. (Untamed, buffers may overlap the rings.) */
	for (size_t i = 0; tame_descs && i + 16 <= len; i += 16) {
		uint64_t addr;
		uint32_t l;

		memcpy(&addr, ram + gpa + i, 8);
		memcpy(&l, ram + gpa + i + 8, 4);
		addr = SCRATCH + addr % (RAM_SIZE - SCRATCH + 0x800);
		l %= 0x3000;
		memcpy(ram + gpa + i, &addr, 8);
		memcpy(ram + gpa + i + 8, &l, 4);
	}
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(ram + gpa, &v, 2);
}

/* The last writable byte of a chain: where the status goes. */
static uint8_t last_writable(const struct virtq_chain *ch)
{
	const struct iovec *v = &ch->w[ch->nw - 1];

	return ((const uint8_t *)v->iov_base)[v->iov_len - 1];
}

static void handle_direct(void)
{
	for (int i = 0; i < 8; i++) {
		uint32_t written = 0;
		int r = virtq_pop(&q, &c), st;

		if (r <= 0)
			return;
		st = virtio_blk_handle(&b, &c, &written);
		if (st == -1) {
			if (c.w_len != 0)
				abort();
			return;		/* the device would stop here */
		}
		if (st < 0 || st > 2 || written < 1 || written > c.w_len ||
		    last_writable(&c) != st)
			abort();
		virtq_push(&q, &c, written);
	}
}

static void check_disk(uint64_t disk_size, bool ro)
{
	struct stat sb;
	uint64_t whole = disk_size / SECTOR * SECTOR;

	if (fstat(disk, &sb) || (uint64_t)sb.st_size != disk_size)
		abort();
	if (pread(disk, now, sizeof(now), 0) != (ssize_t)disk_size)
		abort();
	if (ro && memcmp(now, pattern, disk_size))
		abort();
	if (memcmp(now + whole, pattern + whole, disk_size - whole))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t mode, numsel;
	uint64_t disk_size;
	uint16_t num, head_idx = 0;
	bool ro, transport;
	unsigned int pops = 0;

	if (!ram) {
		ram = aligned_alloc(4096, RAM_SIZE);
		disk = memfd_create("fuzz-disk", MFD_CLOEXEC);
		if (!ram || disk < 0 || gm_add_region(&gm, 0, RAM_SIZE, ram))
			abort();
		for (size_t i = 0; i < sizeof(pattern); i++)
			pattern[i] = (uint8_t)(i * 31 + (i >> 9) + 1);
	}
	memset(ram, 0, RAM_SIZE);

	mode = (uint8_t)fuzz_take(&in, 1);
	numsel = (uint8_t)fuzz_take(&in, 1);
	ro = mode & 1;
	transport = mode & 8;
	disk_size = disk_sizes[(mode >> 1) & 3];
	if (ftruncate(disk, 0) || ftruncate(disk, (off_t)disk_size) ||
	    pwrite(disk, pattern, disk_size, 0) != (ssize_t)disk_size)
		abort();
	if (virtio_blk_setup(&b, &gm, disk, disk_size, ro, "fuzz-disk-serial-0123"))
		abort();
	if (b.capacity != disk_size / SECTOR)
		abort();

	num = (uint16_t)(1u << (numsel % 9));
	fill(&in, set_a.desc, 16ull * num, mode & 0x10);
	fill(&in, set_b.desc, 16ull * num, mode & 0x10);
	fill(&in, AVAIL + 4, 2ull * num, false);
	fill(&in, SCRATCH, fuzz_take(&in, 2) % (RAM_SIZE - SCRATCH), false);

	if (transport) {
		/* A driver bringing the device up; the input then says what
		 * else it does. */
		drv = (struct fuzz_driver){
			.m = &b.mmio, .ram = ram, .set = { &set_a, &set_b },
			.features = fuzz_take(&in, 8) & b.mmio.ops->features,
			.num = numsel & 0x80 ? numsel : num,
		};
		drv.sound = (mode & 0x10) && !(drv.features & VIRTIO_F_RING_INDIRECT_DESC);
		fuzz_driver_up(&drv);
	} else {
		virtq_reset(&q, &gm);
		q.num = num;
		q.desc_gpa = DESC;
		q.avail_gpa = AVAIL;
		q.used_gpa = USED;
		q.event_idx = mode & 0x20;
		if (virtq_activate(&q))
			abort();
	}

	while (in.n > 0 && pops < MAX_POPS) {
		uint8_t op = (uint8_t)fuzz_take(&in, 1);
		uint64_t avail = transport ? fuzz_rings_now(&drv)->avail : AVAIL;

		switch (op % 7) {
		case 0:		/* the device runs a batch of the queue */
			pops += 8;
			if (transport)
				virtio_mmio_kick(&b.mmio, (unsigned int)(op >> 7));
			else
				handle_direct();
			break;
		case 1:		/* the driver publishes a head */
			put16(avail + 4 + 2ull * (head_idx % num), (uint16_t)fuzz_take(&in, 2));
			head_idx++;
			put16(avail + 2, head_idx);
			break;
		case 2:		/* … or any index it likes */
			head_idx = (uint16_t)fuzz_take(&in, 2);
			put16(avail + 2, head_idx);
			if (transport)
				fuzz_driver_any_index(&drv);
			break;
		case 3: {	/* rewrites 16 bytes anywhere below the scratch end */
			uint64_t at = fuzz_take(&in, 2) % (RAM_SIZE - 16);
			bool tame = at < SCRATCH && (mode & 0x10);

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
			virtio_mmio_access(&b.mmio, off, buf, len, op & 0x80);
			if (op & 0x80)
				fuzz_driver_raw(&drv);
			break;
		}
		case 5:		/* avail flags, used_event */
			put16(avail, (uint16_t)fuzz_take(&in, 2));
			put16(avail + 4 + 2ull * num, (uint16_t)fuzz_take(&in, 2));
			break;
		case 6:		/* the driver starts over, mid-request or not */
			if (!transport)
				break;
			fuzz_driver_restart(&drv, (uint8_t)fuzz_take(&in, 1));
			head_idx = drv.head_idx;
			break;
		}
		if (transport)
			fuzz_driver_check(&drv, head_idx);
	}
	check_disk(disk_size, ro);
	close(b.mmio.irq_fd);
	close(b.mmio.kick_fd[0]);
	pthread_mutex_destroy(&b.mmio.lock);
	return 0;
}
