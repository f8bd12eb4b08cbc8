/* virtio-blk (virtio 1.2 §5.2) on a raw image file: read, write, flush,
 * get-id, discard and write-zeroes. Data moves between the file and guest
 * buffers with preadv/pwritev straight on the checked guest mappings, at
 * most a batch's bytes per wake-up of the queue (a guest may ask for a
 * gigabyte in one request; it is moved a megabyte per round). A
 * request the guest gets wrong (out of range, odd length, writing a
 * read-only disk) fails with a status byte; a chain it gets wrong stops the
 * device; a host I/O error is reported to the guest as IOERR. */
#include "vmm/virtio/blk.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define VIRTIO_ID_BLOCK 2

#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define VIRTIO_BLK_F_DISCARD (1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ull << 14)

enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11, T_WRITE_ZEROES = 13 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };

#define SECTOR 512ull
#define MAX_LOGGED_ERRORS 8	/* host I/O errors logged per device */
#define WRITE_ZEROES_UNMAP 1u
/* One discard/write-zeroes range per request, of at most 1 GiB: what we
 * advertise, so the guest splits larger ones for us. */
#define MAX_RANGE_SECTORS (1u << 21)
/* A batch: 64 requests (small reads from the page cache take microseconds
 * each) or 1 MiB of data (about a millisecond from a fast disk, less from
 * the page cache), whichever comes first; a flush, discard or write-zeroes
 * ends it, since how long those take is up to the host's file system.
 * (The fuzz target makes them small, so that requests span batches.) */
#ifndef BLK_BATCH_CHAINS
#define BLK_BATCH_CHAINS VIRTIO_BATCH_CHAINS
#endif
#ifndef BLK_BATCH_BYTES
#define BLK_BATCH_BYTES VIRTIO_BATCH_BYTES
#endif

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_range {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

/* struct virtio_blk_config up to write_zeroes_may_unmap (60 bytes). */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

_Static_assert(sizeof(struct blk_config) == 60, "virtio_blk_config layout");

static void blk_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	struct virtio_blk *b = dev;
	struct blk_config c = {
		.capacity = b->capacity,
		.seg_max = VIRTQ_MAX_CHAIN - 2,	/* header and status take two */
		.blk_size = SECTOR,
		.num_queues = 1,
		.max_discard_sectors = MAX_RANGE_SECTORS,
		.max_discard_seg = 1,
		.discard_sector_alignment = 8,	/* 4 KiB: what hole punching frees */
		.max_write_zeroes_sectors = MAX_RANGE_SECTORS,
		.max_write_zeroes_seg = 1,
		.write_zeroes_may_unmap = 1,
	};

	memcpy(data, (uint8_t *)&c + off, len);
}

/* Is [sector, sector + bytes/512) inside the disk? */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
	return sector <= b->capacity && bytes / SECTOR <= b->capacity - sector;
}

/* preadv/pwritev until done. -EIO at end of file (the image shrank). */
static int rw_full(int fd, struct iovec *iov, int n, uint64_t off, bool write)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off)
				  : preadv(fd, iov, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* Check a read or write and set b->req up to move it. */
static uint8_t rw_begin(struct virtio_blk *b, const struct virtq_chain *c, bool write)
{
	uint64_t len = write ? c->r_len - sizeof(struct blk_req_hdr) : c->w_len - 1;

	if (write && b->ro)
		return S_IOERR;
	if (len % SECTOR || !in_range(b, b->req.sector, len))
		return S_IOERR;
	b->req.len = len;
	return S_OK;
}

/* Move up to max more bytes of the request's data; returns how many moved.
 * A host error ends the request with IOERR. */
static uint64_t rw_move(struct virtio_blk *b, const struct virtq_chain *c, uint64_t max)
{
	struct blk_req *q = &b->req;
	bool write = q->type == T_OUT;
	uint64_t n = q->len - q->done < max ? q->len - q->done : max;
	int k, r;

	if (write)
		k = virtq_slice(c->r, c->nr, sizeof(struct blk_req_hdr) + q->done, n,
				b->iov, VIRTQ_MAX_CHAIN);
	else
		k = virtq_slice(c->w, c->nw, q->done, n, b->iov, VIRTQ_MAX_CHAIN);
	r = k < 0 ? -EIO : rw_full(b->fd, b->iov, k, q->sector * SECTOR + q->done, write);
	if (r) {
		/* The host's error (a full disk, say), which the guest can hit
		 * again and again: the first few are enough to say what. */
		bool last;

		if (k >= 0 && ratelog_take(&b->io_errors, &last))
			fprintf(stderr, "airlock-vmm: virtio-blk %s: %s at sector %llu: %s%s\n",
				b->id, write ? "write" : "read",
				(unsigned long long)(q->sector + q->done / SECTOR),
				strerror(-r),
				last ? " (further I/O errors are not reported)" : "");
		q->status = S_IOERR;
		q->len = q->done;	/* nothing more to move */
		return n;
	}
	q->done += n;
	if (q->done == q->len && !write)
		q->written += (uint32_t)q->len;
	return n;
}

static uint8_t do_range(struct virtio_blk *b, const struct virtq_chain *c,
			uint32_t type)
{
	struct blk_range rg;
	int mode;

	if (b->ro)
		return S_IOERR;
	/* Exactly one range, as advertised. */
	if (c->r_len - sizeof(struct blk_req_hdr) != sizeof(rg) ||
	    virtq_read(c, sizeof(struct blk_req_hdr), &rg, sizeof(rg)) != sizeof(rg))
		return S_UNSUPP;
	if (rg.num_sectors > MAX_RANGE_SECTORS ||
	    !in_range(b, rg.sector, (uint64_t)rg.num_sectors * SECTOR))
		return S_IOERR;
	if (type == T_DISCARD && rg.flags)
		return S_UNSUPP;
	if (type == T_WRITE_ZEROES && (rg.flags & ~WRITE_ZEROES_UNMAP))
		return S_UNSUPP;
	if (rg.num_sectors == 0)
		return S_OK;
	/* A punched hole reads back as zeroes, so it serves both. */
	mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
	if (type == T_WRITE_ZEROES && !(rg.flags & WRITE_ZEROES_UNMAP))
		mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	if (fallocate(b->fd, mode, (off_t)(rg.sector * SECTOR),
		      (off_t)rg.num_sectors * (off_t)SECTOR) == 0)
		return S_OK;
	if (type == T_WRITE_ZEROES && errno == EOPNOTSUPP &&
	    fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(rg.sector * SECTOR),
		      (off_t)rg.num_sectors * (off_t)SECTOR) == 0)
		return S_OK;
	/* Discard is a hint: a file system that cannot punch holes loses
	 * nothing by ignoring it. Zeroes are a promise: fail. */
	return type == T_DISCARD ? S_OK : S_IOERR;
}

/* Read chain c's header into b->req and do whatever is not a data move.
 * Returns how many bytes of the budget that cost (flush, discard and
 * write-zeroes: the whole budget, their time being the host's), or -1 when
 * the chain has no room for a status (the driver broke the protocol). */
static int64_t req_begin(struct virtio_blk *b, const struct virtq_chain *c)
{
	struct blk_req *q = &b->req;
	struct blk_req_hdr h;

	if (c->w_len < 1)
		return -1;
	*q = (struct blk_req){ .written = 1, .status = S_OK };	/* the status byte */
	if (virtq_read(c, 0, &h, sizeof(h)) != sizeof(h)) {
		q->status = S_IOERR;
		return 0;
	}
	q->type = h.type;
	q->sector = h.sector;
	switch (h.type) {
	case T_IN:
	case T_OUT:
		q->status = rw_begin(b, c, h.type == T_OUT);
		return 0;
	case T_FLUSH:
		q->status = (b->ro || fdatasync(b->fd) == 0) ? S_OK : S_IOERR;
		return b->ro ? 0 : INT64_MAX;
	case T_GET_ID: {
		uint64_t n = c->w_len - 1 < sizeof(b->id) ? c->w_len - 1 : sizeof(b->id);

		virtq_write(c, 0, b->id, n);
		q->written += (uint32_t)n;
		return 0;
	}
	case T_DISCARD:
	case T_WRITE_ZEROES:
		q->status = do_range(b, c, h.type);
		return INT64_MAX;
	default:
		q->status = S_UNSUPP;
		return 0;
	}
}

/* The status byte, last of the chain's writable bytes; returns the bytes
 * written into the chain in all. */
static uint32_t req_finish(struct virtio_blk *b, const struct virtq_chain *c)
{
	virtq_write(c, c->w_len - 1, &b->req.status, 1);
	return b->req.written;
}

int virtio_blk_handle(struct virtio_blk *b, const struct virtq_chain *c,
		      uint32_t *written)
{
	if (req_begin(b, c) < 0)
		return -1;
	if (b->req.done < b->req.len)
		rw_move(b, c, UINT64_MAX);
	*written = req_finish(b, c);
	return b->req.status;
}

static int64_t blk_chain(void *dev, struct virtq_chain *c, bool resume,
			 struct virtq_budget *budget, const char **why)
{
	struct virtio_blk *b = dev;

	if (!resume) {
		int64_t cost = req_begin(b, c);

		if (cost < 0) {
			*why = "a request with no room for its status";
			return -EINVAL;
		}
		virtq_budget_spend(budget, (uint64_t)cost);
	}
	if (b->req.done < b->req.len) {
		if (budget->bytes == 0)
			return VIRTIO_CHAIN_AGAIN;
		virtq_budget_spend(budget, rw_move(b, c, budget->bytes));
		if (b->req.done < b->req.len)
			return VIRTIO_CHAIN_AGAIN;
	}
	return req_finish(b, c);
}

static bool blk_queue_notify(void *dev, unsigned int qi, struct virtq_budget *budget)
{
	struct virtio_blk *b = dev;

	return virtio_mmio_drain(&b->mmio, qi, budget, &b->chain, blk_chain);
}

static const struct virtio_ops blk_ops_rw = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX |
		    VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_BLK_F_SEG_MAX |
		    VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
		    VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES,
	.nqueues = 1,
	.config_size = sizeof(struct blk_config),
	.config_read = blk_config_read,
	.batch_chains = BLK_BATCH_CHAINS,
	.batch_bytes = BLK_BATCH_BYTES,
	.queue_notify = blk_queue_notify,
};

static const struct virtio_ops blk_ops_ro = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX |
		    VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_BLK_F_SEG_MAX |
		    VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_RO,
	.nqueues = 1,
	.config_size = sizeof(struct blk_config),
	.config_read = blk_config_read,
	.batch_chains = BLK_BATCH_CHAINS,
	.batch_bytes = BLK_BATCH_BYTES,
	.queue_notify = blk_queue_notify,
};

static void blk_state(struct virtio_blk *b, int fd, uint64_t size, bool ro,
		      const char *id)
{
	b->fd = fd;
	b->ro = ro;
	b->capacity = size / SECTOR;	/* a partial last sector is not offered */
	b->io_errors = (struct ratelog)RATELOG_INIT(MAX_LOGGED_ERRORS);
	/* The spec's 20-byte ID need not end in NUL. */
	memset(b->id, 0, sizeof(b->id));
	memcpy(b->id, id, strnlen(id, sizeof(b->id)));
}

int virtio_blk_setup(struct virtio_blk *b, const struct guest_mem *gm, int fd,
		     uint64_t size, bool ro, const char *id)
{
	blk_state(b, fd, size, ro, id);
	return virtio_mmio_setup(&b->mmio, gm, 0, 0, ro ? &blk_ops_ro : &blk_ops_rw, b);
}

int virtio_blk_init(struct virtio_blk *b, struct vm *vm, uint64_t base,
		    uint32_t irq, int fd, uint64_t size, bool ro, const char *id)
{
	blk_state(b, fd, size, ro, id);
	return virtio_mmio_init(&b->mmio, vm, base, irq, ro ? &blk_ops_ro : &blk_ops_rw, b);
}
