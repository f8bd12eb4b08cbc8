/* vmm/virtio/blk: virtio-blk requests (virtio 1.2 §5.2) over a real
 * temporary image file and a fake guest, one chain at a time through
 * virtio_blk_handle(), then end to end through the MMIO transport. The disk
 * is 1 MiB plus 300 bytes: the partial sector must never be offered, read
 * or written. */
#include "vmm/virtio/blk.h"
#include "tests/unit/capture.h"
#include "tests/unit/check.h"
#include "tests/unit/virtq_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT

enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_DISCARD = 11,
       T_WRITE_ZEROES = 13 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };

#define SECTOR 512u
#define DISK_SIZE ((1u << 20) + 300)
#define CAPACITY ((uint64_t)DISK_SIZE / SECTOR)	/* 2048 */
#define ID "serial-0123456789abcdefXYZ"		/* 26: kept to 20 */

#define F_RO (1u << 5)
#define F_FLUSH (1u << 9)
#define F_DISCARD (1u << 13)
#define F_WRITE_ZEROES (1u << 14)

/* Guest addresses of a request's parts. */
#define HDR 0x20000ull
#define DATA 0x30000ull		/* up to 64 KiB */
#define STATUS 0x50000ull

static struct fake_guest g;
static struct drv_q d;
static struct virtq q;
static struct virtq_chain c;
static struct virtio_blk b;
static int fd = -1;
static uint8_t expect[DISK_SIZE];	/* what the file should hold */

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 31 + (off >> 9) + 1);
}

static void setup_id(bool ro, const char *id)
{
	char path[] = "/tmp/airlock-test-blk-XXXXXX";

	CHECK_EQ(fg_init(&g), 0);
	drv_init(&d, &g, 16, FG_DESC, FG_AVAIL, FG_USED);
	drv_device_q(&d, &q);
	CHECK_EQ(virtq_activate(&q), 0);

	fd = mkstemp(path);
	CHECK(fd >= 0);
	for (uint64_t i = 0; i < DISK_SIZE; i++)
		expect[i] = pattern(i);
	CHECK_EQ(pwrite(fd, expect, DISK_SIZE, 0), DISK_SIZE);
	if (ro) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);

		CHECK(rfd >= 0);
		close(fd);
		fd = rfd;
	}
	unlink(path);
	CHECK_EQ(virtio_blk_setup(&b, &g.gm, fd, DISK_SIZE, ro, id), 0);
}

static void setup(bool ro)
{
	setup_id(ro, ID);
}

static void teardown(void)
{
	close(b.mmio.irq_fd);
	close(b.mmio.kick_fd[0]);
	pthread_mutex_destroy(&b.mmio.lock);
	close(fd);
	fd = -1;
	fg_free(&g);
}

/* Does the file still hold expect[]? */
static bool disk_is_expected(void)
{
	static uint8_t now[DISK_SIZE + 1];

	if (pread(fd, now, sizeof(now), 0) != DISK_SIZE)
		return false;
	return memcmp(now, expect, DISK_SIZE) == 0;
}

static bool disk_zero(uint64_t off, uint64_t len)
{
	uint8_t buf[4096];

	while (len > 0) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);

		if (pread(fd, buf, n, (off_t)off) != (ssize_t)n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (buf[i])
				return false;
		off += n;
		len -= n;
	}
	return true;
}

static void put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint8_t h[16] = { 0 };

	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
	memcpy(fg_host(&g, gpa), h, 16);
}

/* One descriptor of a request. */
struct seg {
	uint64_t gpa;
	uint32_t len;
	uint16_t flags;		/* W or 0; NEXT is added */
};

/* Lay segs out as a chain from descriptor 0, publish, pop and hand it to
 * the device. Returns virtio_blk_handle()'s answer. */
static int submit(const struct seg *s, unsigned int n, uint32_t *written)
{
	for (unsigned int i = 0; i < n; i++)
		drv_desc(&d, (uint16_t)i, s[i].gpa, s[i].len,
			 (uint16_t)(s[i].flags | (i + 1 < n ? N : 0)), (uint16_t)(i + 1));
	drv_publish(&d, 0);
	CHECK_EQ(virtq_pop(&q, &c), 1);
	*written = 0xdeadbeef;
	return virtio_blk_handle(&b, &c, written);
}

static uint8_t status_byte(void)
{
	return *fg_host(&g, STATUS);
}

/* The usual three-part request: header, data (len bytes, readable for OUT,
 * writable otherwise), status. */
static int rq(uint32_t type, uint64_t sector, uint32_t len, uint32_t *written)
{
	struct seg s[3] = {
		{ HDR, 16, 0 },
		{ DATA, len, type == T_OUT ? 0 : W },
		{ STATUS, 1, W },
	};
	int st;

	put_hdr(HDR, type, sector);
	*fg_host(&g, STATUS) = 0xee;
	if (len == 0) {
		s[1] = s[2];
		st = submit(s, 2, written);
	} else {
		st = submit(s, 3, written);
	}
	CHECK_EQ(status_byte(), st);
	return st;
}

/* A discard or write-zeroes request with n ranges of {sector, num, flags}. */
static int range_rq(uint32_t type, const uint64_t *sector, const uint32_t *num,
		    const uint32_t *flags, unsigned int n)
{
	struct seg s[3] = {
		{ HDR, 16, 0 },
		{ DATA, 16 * n, 0 },
		{ STATUS, 1, W },
	};
	uint32_t written;
	int st;

	put_hdr(HDR, type, 0);
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = fg_host(&g, DATA + 16 * i);

		memcpy(p, &sector[i], 8);
		memcpy(p + 8, &num[i], 4);
		memcpy(p + 12, &flags[i], 4);
	}
	if (n == 0) {
		s[1] = s[2];
		st = submit(s, 2, &written);
	} else {
		st = submit(s, 3, &written);
	}
	CHECK_EQ(written, 1);
	CHECK_EQ(status_byte(), st);
	return st;
}

static int range1(uint32_t type, uint64_t sector, uint32_t num, uint32_t flags)
{
	return range_rq(type, &sector, &num, &flags, 1);
}

static uint32_t config32(uint32_t off)
{
	uint32_t v = 0xaaaaaaaa;

	virtio_mmio_access(&b.mmio, 0x100 + off, (uint8_t *)&v, 4, false);
	return v;
}

static uint32_t reg(uint32_t off)
{
	uint32_t v;

	virtio_mmio_access(&b.mmio, off, (uint8_t *)&v, 4, false);
	return v;
}

static void set_reg(uint32_t off, uint32_t v)
{
	virtio_mmio_access(&b.mmio, off, (uint8_t *)&v, 4, true);
}

TEST(config_and_features)
{
	uint64_t cap = 0;

	setup(false);
	virtio_mmio_access(&b.mmio, 0x100, (uint8_t *)&cap, 8, false);
	CHECK_EQ(cap, CAPACITY);	/* the 300-byte tail is not offered */
	CHECK_EQ(config32(0), CAPACITY);
	CHECK_EQ(config32(4), 0);
	CHECK_EQ(config32(12), VIRTQ_MAX_CHAIN - 2);	/* seg_max */
	CHECK_EQ(config32(20), SECTOR);			/* blk_size */
	CHECK_EQ(config32(32) >> 16, 1);		/* num_queues */
	CHECK_EQ(config32(40), 1);			/* max_discard_seg */
	CHECK_EQ(config32(44), 8);			/* discard alignment */
	CHECK_EQ(config32(56) & 0xff, 1);		/* write_zeroes_may_unmap */
	CHECK_EQ(config32(60), 0);			/* past the end */
	CHECK_EQ(reg(0x008), 2);			/* block device */
	CHECK_EQ(reg(0x010) & F_RO, 0);
	CHECK(reg(0x010) & F_FLUSH);
	CHECK(reg(0x010) & F_DISCARD);
	CHECK(reg(0x010) & F_WRITE_ZEROES);
	set_reg(0x014, 1);
	CHECK_EQ(reg(0x010) & 1, 1);			/* VERSION_1 */
	teardown();

	setup(true);
	CHECK_EQ(config32(0), CAPACITY);
	CHECK(reg(0x010) & F_RO);
	CHECK_EQ(reg(0x010) & (F_FLUSH | F_DISCARD | F_WRITE_ZEROES), 0);
	teardown();
}

TEST(out_then_in)
{
	uint32_t written;
	uint8_t *data;

	setup(false);
	data = fg_host(&g, DATA);
	/* Four sectors at sector 3, from three odd-sized buffers. */
	{
		struct seg s[5] = {
			{ HDR, 16, 0 },
			{ DATA, 100, 0 },
			{ DATA + 0x1000, 1500, 0 },
			{ DATA + 0x2000, 448, 0 },
			{ STATUS, 1, W },
		};

		for (int i = 0; i < 2048; i++) {
			uint8_t v = (uint8_t)(i * 7 + 3);

			if (i < 100)
				data[i] = v;
			else if (i < 1600)
				data[0x1000 + i - 100] = v;
			else
				data[0x2000 + i - 1600] = v;
			expect[3 * SECTOR + (unsigned int)i] = v;
		}
		put_hdr(HDR, T_OUT, 3);
		CHECK_EQ(submit(s, 5, &written), S_OK);
		CHECK_EQ(status_byte(), S_OK);
		CHECK_EQ(written, 1);	/* only the status */
		CHECK(disk_is_expected());
	}
	/* Read them back into two buffers, the header split 10 + 6. */
	{
		struct seg s[5] = {
			{ HDR, 10, 0 },
			{ HDR + 0x100, 6, 0 },
			{ DATA + 0x4000, 7, W },
			{ DATA + 0x5000, 2041, W },
			{ STATUS, 1, W },
		};
		uint8_t h[16] = { 0 };
		uint64_t sector = 3;

		memcpy(h + 8, &sector, 8);
		memcpy(fg_host(&g, HDR), h, 10);
		memcpy(fg_host(&g, HDR + 0x100), h + 10, 6);
		CHECK_EQ(submit(s, 5, &written), S_OK);
		CHECK_EQ(status_byte(), S_OK);
		CHECK_EQ(written, 2048 + 1);
		CHECK(memcmp(data + 0x4000, expect + 3 * SECTOR, 7) == 0);
		CHECK(memcmp(data + 0x5000, expect + 3 * SECTOR + 7, 2041) == 0);
	}
	/* Header and data in one readable buffer; data and status in one
	 * writable buffer. */
	{
		struct seg out[2] = { { HDR, 16 + SECTOR, 0 }, { STATUS, 1, W } };
		struct seg in[2] = { { HDR, 16, 0 }, { DATA, SECTOR + 1, W } };

		put_hdr(HDR, T_OUT, CAPACITY - 1);	/* the last whole sector */
		memset(fg_host(&g, HDR + 16), 0x77, SECTOR);
		memset(expect + (CAPACITY - 1) * SECTOR, 0x77, SECTOR);
		CHECK_EQ(submit(out, 2, &written), S_OK);
		CHECK(disk_is_expected());	/* the partial tail untouched */
		put_hdr(HDR, T_IN, CAPACITY - 1);
		memset(data, 0, SECTOR + 1);
		CHECK_EQ(submit(in, 2, &written), S_OK);
		CHECK_EQ(written, SECTOR + 1);
		CHECK_EQ(data[0], 0x77);
		CHECK_EQ(data[SECTOR - 1], 0x77);
		CHECK_EQ(data[SECTOR], S_OK);
	}
	/* A read of sector 0 and of nothing at all. */
	CHECK_EQ(rq(T_IN, 0, SECTOR, &written), S_OK);
	CHECK(memcmp(data, expect, SECTOR) == 0);
	CHECK_EQ(written, SECTOR + 1);
	CHECK_EQ(rq(T_IN, 5, 0, &written), S_OK);
	CHECK_EQ(written, 1);
	teardown();
}

TEST(out_on_read_only)
{
	uint32_t written;

	setup(true);
	memset(fg_host(&g, DATA), 0x33, 4096);
	CHECK_EQ(rq(T_OUT, 0, 4096, &written), S_IOERR);
	CHECK_EQ(written, 1);
	CHECK_EQ(rq(T_OUT, 100, SECTOR, &written), S_IOERR);
	CHECK(disk_is_expected());
	/* Reads work, flush is harmless. */
	CHECK_EQ(rq(T_IN, 1, SECTOR, &written), S_OK);
	CHECK(memcmp(fg_host(&g, DATA), expect + SECTOR, SECTOR) == 0);
	CHECK_EQ(rq(T_FLUSH, 0, 0, &written), S_OK);
	CHECK(disk_is_expected());
	teardown();
}

TEST(out_of_range)
{
	static const uint64_t bad_sector[] = {
		CAPACITY, CAPACITY + 1, 1ull << 32,
		1ull << 55,		/* * 512 wraps to 0 */
		(1ull << 55) + 1,	/* … to 512 */
		UINT64_MAX, UINT64_MAX - 1, UINT64_MAX / SECTOR,
	};
	uint32_t written;
	uint8_t *data;

	setup(false);
	data = fg_host(&g, DATA);
	memset(data, 0x44, 8192);
	for (size_t i = 0; i < sizeof(bad_sector) / sizeof(bad_sector[0]); i++) {
		CHECK_EQ(rq(T_OUT, bad_sector[i], SECTOR, &written), S_IOERR);
		CHECK_EQ(rq(T_OUT, bad_sector[i], 4096, &written), S_IOERR);
		CHECK_EQ(rq(T_IN, bad_sector[i], SECTOR, &written), S_IOERR);
		CHECK_EQ(written, 1);
	}
	/* Starting inside, running past the end (into the partial tail). */
	CHECK_EQ(rq(T_OUT, CAPACITY - 1, 2 * SECTOR, &written), S_IOERR);
	CHECK_EQ(rq(T_OUT, CAPACITY - 7, 8192, &written), S_IOERR);
	CHECK_EQ(rq(T_OUT, 0, 8192, &written), S_OK);	/* the control */
	memset(expect, 0x44, 8192);
	CHECK(disk_is_expected());
	/* A failed read leaves the guest buffer alone. */
	memset(data, 0x55, 2 * SECTOR);
	CHECK_EQ(rq(T_IN, CAPACITY - 1, 2 * SECTOR, &written), S_IOERR);
	CHECK_EQ(written, 1);
	CHECK_EQ(data[0], 0x55);
	CHECK_EQ(data[2 * SECTOR - 1], 0x55);
	/* Exactly to the end is fine. */
	CHECK_EQ(rq(T_IN, CAPACITY - 2, 2 * SECTOR, &written), S_OK);
	CHECK(memcmp(data, expect + (CAPACITY - 2) * SECTOR, 2 * SECTOR) == 0);
	teardown();
}

TEST(length_not_sector_multiple)
{
	static const uint32_t lens[] = { 1, 511, 513, 1000, 4095 };
	uint32_t written;

	setup(false);
	memset(fg_host(&g, DATA), 0x66, 8192);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		CHECK_EQ(rq(T_OUT, 0, lens[i], &written), S_IOERR);
		CHECK_EQ(rq(T_IN, 0, lens[i], &written), S_IOERR);
		CHECK_EQ(written, 1);
	}
	CHECK(disk_is_expected());
	teardown();
}

TEST(flush)
{
	uint32_t written;

	setup(false);
	CHECK_EQ(rq(T_FLUSH, 0, 0, &written), S_OK);
	CHECK_EQ(written, 1);
	/* The sector field of a flush is ignored. */
	CHECK_EQ(rq(T_FLUSH, UINT64_MAX, 0, &written), S_OK);
	teardown();
}

TEST(get_id)
{
	uint32_t written;
	uint8_t *data;

	setup(false);
	data = fg_host(&g, DATA);
	memset(data, 0xee, 64);
	CHECK_EQ(rq(T_GET_ID, 0, 20, &written), S_OK);
	CHECK_EQ(written, 21);
	CHECK(memcmp(data, ID, 20) == 0);	/* no NUL: 20 is the size */
	CHECK_EQ(data[20], 0xee);
	/* A bigger buffer gets 20 bytes; a smaller one what fits. */
	memset(data, 0xee, 64);
	CHECK_EQ(rq(T_GET_ID, 0, 64, &written), S_OK);
	CHECK_EQ(written, 21);
	CHECK(memcmp(data, ID, 20) == 0);
	CHECK_EQ(data[20], 0xee);
	memset(data, 0xee, 64);
	CHECK_EQ(rq(T_GET_ID, 0, 8, &written), S_OK);
	CHECK_EQ(written, 9);
	CHECK(memcmp(data, ID, 8) == 0);
	CHECK_EQ(data[8], 0xee);
	CHECK_EQ(rq(T_GET_ID, 0, 0, &written), S_OK);
	CHECK_EQ(written, 1);
	teardown();

	/* A short id is padded with NULs. */
	setup_id(true, "disk0");
	data = fg_host(&g, DATA);
	memset(data, 0xee, 64);
	CHECK_EQ(rq(T_GET_ID, 0, 20, &written), S_OK);
	CHECK(memcmp(data, "disk0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20) == 0);
	teardown();
}

TEST(discard_and_write_zeroes)
{
	setup(false);
	/* Discard sectors 8..23: zeroes read back, neighbours intact. */
	CHECK_EQ(range1(T_DISCARD, 8, 16, 0), S_OK);
	CHECK(disk_zero(8 * SECTOR, 16 * SECTOR));
	memset(expect + 8 * SECTOR, 0, 16 * SECTOR);
	CHECK(disk_is_expected());
	/* Write zeroes, with and without leave to unmap, odd sizes. */
	CHECK_EQ(range1(T_WRITE_ZEROES, 33, 3, 0), S_OK);
	memset(expect + 33 * SECTOR, 0, 3 * SECTOR);
	CHECK(disk_is_expected());
	CHECK_EQ(range1(T_WRITE_ZEROES, 100, 17, 1), S_OK);
	memset(expect + 100 * SECTOR, 0, 17 * SECTOR);
	CHECK(disk_is_expected());
	/* To the last whole sector; the partial tail survives. */
	CHECK_EQ(range1(T_WRITE_ZEROES, CAPACITY - 5, 5, 0), S_OK);
	memset(expect + (CAPACITY - 5) * SECTOR, 0, 5 * SECTOR);
	CHECK(disk_is_expected());
	CHECK_EQ(range1(T_DISCARD, CAPACITY - 1, 1, 0), S_OK);
	memset(expect + (CAPACITY - 1) * SECTOR, 0, SECTOR);
	CHECK(disk_is_expected());
	/* Nothing to do is fine. */
	CHECK_EQ(range1(T_DISCARD, 0, 0, 0), S_OK);
	CHECK_EQ(range1(T_WRITE_ZEROES, CAPACITY, 0, 0), S_OK);
	CHECK(disk_is_expected());
	teardown();
}

TEST(discard_and_write_zeroes_refused)
{
	uint64_t sec[2] = { 0, 8 };
	uint32_t num[2] = { 8, 8 }, fl[2] = { 0, 0 };

	setup(false);
	/* One range per request, as advertised. */
	CHECK_EQ(range_rq(T_DISCARD, sec, num, fl, 2), S_UNSUPP);
	CHECK_EQ(range_rq(T_WRITE_ZEROES, sec, num, fl, 2), S_UNSUPP);
	CHECK_EQ(range_rq(T_DISCARD, sec, num, fl, 0), S_UNSUPP);
	/* Flags we do not know, or UNMAP on a discard. */
	CHECK_EQ(range1(T_DISCARD, 0, 8, 1), S_UNSUPP);
	CHECK_EQ(range1(T_DISCARD, 0, 8, 0x80000000u), S_UNSUPP);
	CHECK_EQ(range1(T_WRITE_ZEROES, 0, 8, 2), S_UNSUPP);
	CHECK_EQ(range1(T_WRITE_ZEROES, 0, 8, 3), S_UNSUPP);
	/* Out of range, overflowing, or larger than advertised. */
	CHECK_EQ(range1(T_DISCARD, CAPACITY, 1, 0), S_IOERR);
	CHECK_EQ(range1(T_WRITE_ZEROES, CAPACITY - 1, 2, 0), S_IOERR);
	CHECK_EQ(range1(T_WRITE_ZEROES, 1ull << 55, 1, 0), S_IOERR);
	CHECK_EQ(range1(T_DISCARD, UINT64_MAX, 1, 0), S_IOERR);
	CHECK_EQ(range1(T_DISCARD, UINT64_MAX - 1, 0xffffffffu, 0), S_IOERR);
	CHECK_EQ(range1(T_WRITE_ZEROES, 0, (1u << 21) + 1, 0), S_IOERR);
	CHECK_EQ(range1(T_DISCARD, 0, 0xffffffffu, 0), S_IOERR);
	CHECK(disk_is_expected());
	teardown();

	setup(true);
	CHECK_EQ(range1(T_DISCARD, 0, 8, 0), S_IOERR);
	CHECK_EQ(range1(T_WRITE_ZEROES, 0, 8, 0), S_IOERR);
	CHECK_EQ(range1(T_WRITE_ZEROES, 0, 8, 1), S_IOERR);
	CHECK(disk_is_expected());
	teardown();
}

/* A host I/O error (here /dev/full's ENOSPC) is the guest's IOERR; the
 * guest can hit it again and again, so only the first 8 are logged. */
TEST(host_io_errors_logged_a_bounded_number_of_times)
{
	struct capture cap;
	char buf[4096];
	int full = open("/dev/full", O_RDWR | O_CLOEXEC);
	uint32_t w;

	CHECK(full >= 0);
	setup(false);
	b.fd = full;
	CHECK_EQ(capture_start(&cap), 0);
	for (int i = 0; i < 20; i++)
		CHECK_EQ(rq(T_OUT, (uint64_t)i, SECTOR, &w), S_IOERR);
	CHECK_EQ(capture_end(&cap, buf, sizeof(buf)), 8);
	b.fd = fd;
	close(full);
	teardown();
	CHECK(strstr(buf, "write at sector 0: No space left on device\n"));
	CHECK(strstr(buf, "(further I/O errors are not reported)\n"));
}

TEST(unknown_type)
{
	static const uint32_t types[] = { 2, 3, 5, 7, 9, 10, 12, 14, 0xffffffffu };
	uint32_t written;

	setup(false);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		CHECK_EQ(rq(types[i], 0, SECTOR, &written), S_UNSUPP);
		CHECK_EQ(written, 1);
	}
	CHECK(disk_is_expected());
	teardown();
}

TEST(malformed_requests)
{
	uint32_t written;

	setup(false);
	/* No writable byte: nowhere to put a status. */
	{
		struct seg s[2] = { { HDR, 16, 0 }, { DATA, SECTOR, 0 } };

		put_hdr(HDR, T_OUT, 0);
		CHECK_EQ(submit(s, 2, &written), -1);
		put_hdr(HDR, T_IN, 0);
		CHECK_EQ(submit(s, 1, &written), -1);
	}
	/* A header shorter than 16 bytes: IOERR, still reported. */
	{
		struct seg s[2] = { { HDR, 15, 0 }, { STATUS, 1, W } };

		put_hdr(HDR, T_IN, 0);
		CHECK_EQ(submit(s, 2, &written), S_IOERR);
		CHECK_EQ(status_byte(), S_IOERR);
		CHECK_EQ(written, 1);
	}
	/* Nothing readable at all. */
	{
		struct seg s[1] = { { STATUS, 1, W } };

		CHECK_EQ(submit(s, 1, &written), S_IOERR);
		CHECK_EQ(written, 1);
	}
	/* A write whose data sits in writable buffers: no data, one byte of
	 * status after 512 bytes that are not data. Length 0 of data. */
	{
		struct seg s[3] = { { HDR, 16, 0 }, { DATA, SECTOR, W }, { STATUS, 1, W } };

		put_hdr(HDR, T_OUT, 0);
		CHECK_EQ(submit(s, 3, &written), S_OK);
		CHECK_EQ(written, 1);
		CHECK_EQ(status_byte(), S_OK);
	}
	CHECK(disk_is_expected());
	teardown();
}

/* Bring the device up as a driver would and set queue 0 (num entries) on
 * our rings. */
static void transport_up_n(uint64_t features, uint16_t num)
{
	drv_init(&d, &g, num, FG_DESC, FG_AVAIL, FG_USED);
	set_reg(0x070, 0);
	set_reg(0x070, 1);
	set_reg(0x070, 3);
	set_reg(0x024, 0);
	set_reg(0x020, (uint32_t)features);
	set_reg(0x024, 1);
	set_reg(0x020, (uint32_t)(features >> 32));
	set_reg(0x070, 0xb);
	CHECK_EQ(reg(0x070), 0xb);
	set_reg(0x030, 0);
	CHECK_EQ(reg(0x034), VIRTQ_MAX_SIZE);
	set_reg(0x038, num);
	set_reg(0x080, (uint32_t)FG_DESC);
	set_reg(0x084, 0);
	set_reg(0x090, (uint32_t)FG_AVAIL);
	set_reg(0x094, 0);
	set_reg(0x0a0, (uint32_t)FG_USED);
	set_reg(0x0a4, 0);
	set_reg(0x044, 1);
	CHECK_EQ(reg(0x044), 1);
	set_reg(0x070, 0xf);
	CHECK_EQ(reg(0x070), 0xf);
	memset(fg_host(&g, FG_USED), 0, 6 + 8ull * num);
	drv_set_avail_idx(&d, 0);
}

static void transport_up(uint64_t features)
{
	transport_up_n(features, 16);
}

static uint64_t drain(int efd)
{
	uint64_t n = 0;

	if (read(efd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}

/* Place a three-part read of sector 1 at descriptor head. */
static void place_read(uint16_t head, uint64_t data_gpa)
{
	uint64_t hdr = HDR + 0x100ull * head;

	put_hdr(hdr, T_IN, 1);
	drv_desc(&d, head, hdr, 16, N, (uint16_t)(head + 1));
	drv_desc(&d, (uint16_t)(head + 1), data_gpa, SECTOR, W | N, (uint16_t)(head + 2));
	drv_desc(&d, (uint16_t)(head + 2), STATUS + head, 1, W, 0);
	*fg_host(&g, STATUS + head) = 0xee;
	drv_publish(&d, head);
}

TEST(end_to_end)
{
	uint32_t id, len;

	setup(false);
	transport_up(1ull << 32);
	place_read(0, DATA);
	/* The guest's notify write signals the kick eventfd; the I/O loop
	 * would read it and run the queue. */
	set_reg(0x050, 0);
	CHECK_EQ(drain(b.mmio.kick_fd[0]), 1);
	virtio_mmio_kick(&b.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 1);
	drv_used_elem(&d, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, SECTOR + 1);
	CHECK_EQ(*fg_host(&g, STATUS), S_OK);
	CHECK(memcmp(fg_host(&g, DATA), expect + SECTOR, SECTOR) == 0);
	CHECK_EQ(drain(b.mmio.irq_fd), 1);
	CHECK_EQ(reg(0x060), 1);
	set_reg(0x064, 1);
	CHECK_EQ(reg(0x060), 0);
	/* Two at once, one interrupt. */
	place_read(3, DATA + 0x1000);
	place_read(6, DATA + 0x2000);
	virtio_mmio_kick(&b.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 3);
	drv_used_elem(&d, 1, &id, &len);
	CHECK_EQ(id, 3);
	drv_used_elem(&d, 2, &id, &len);
	CHECK_EQ(id, 6);
	CHECK_EQ(len, SECTOR + 1);
	CHECK_EQ(*fg_host(&g, STATUS + 6), S_OK);
	CHECK_EQ(drain(b.mmio.irq_fd), 1);
	/* A kick with nothing new does nothing. */
	virtio_mmio_kick(&b.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 3);
	CHECK_EQ(drain(b.mmio.irq_fd), 0);
	teardown();

	/* With EVENT_IDX the driver picks when it hears, and learns where
	 * to notify next. */
	setup(false);
	transport_up((1ull << 32) | (1ull << 29));
	CHECK(b.mmio.q[0].event_idx);
	drv_used_event(&d, 0);
	place_read(0, DATA);
	virtio_mmio_kick(&b.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 1);
	CHECK_EQ(drain(b.mmio.irq_fd), 1);
	CHECK_EQ(drv_avail_event(&d), 1);
	/* used_event 5: two more completions are not worth an interrupt. */
	drv_used_event(&d, 5);
	place_read(3, DATA);
	place_read(6, DATA);
	virtio_mmio_kick(&b.mmio, 0);
	CHECK_EQ(drv_used_idx(&d), 3);
	CHECK_EQ(drain(b.mmio.irq_fd), 0);
	CHECK_EQ(drv_avail_event(&d), 3);
	teardown();
}

TEST(end_to_end_malformed)
{
	uint32_t id, len;

	/* Each broken chain stops the device with NEEDS_RESET and a config
	 * interrupt; used is untouched and further kicks do nothing. */
	for (int kind = 0; kind < 5; kind++) {
		setup(false);
		transport_up(1ull << 32);
		switch (kind) {
		case 0:		/* head past the table */
			drv_publish(&d, 16);
			break;
		case 1:		/* a loop */
			drv_desc(&d, 0, HDR, 16, N, 1);
			drv_desc(&d, 1, DATA, SECTOR, N, 0);
			drv_publish(&d, 0);
			break;
		case 2:		/* a buffer outside RAM */
			drv_desc(&d, 0, HDR, 16, N, 1);
			drv_desc(&d, 1, 1ull << 40, SECTOR, W, 0);
			drv_publish(&d, 0);
			break;
		case 3:		/* no room for a status */
			put_hdr(HDR, T_IN, 0);
			drv_desc(&d, 0, HDR, 16, 0, 0);
			drv_publish(&d, 0);
			break;
		case 4:		/* avail idx far ahead */
			drv_set_avail_idx(&d, 100);
			break;
		}
		virtio_mmio_kick(&b.mmio, 0);
		CHECK_EQ(reg(0x070), 0xf | 0x40);
		CHECK_EQ(reg(0x060), 2);
		CHECK_EQ(drain(b.mmio.irq_fd), 1);
		CHECK_EQ(drv_used_idx(&d), 0);
		place_read(3, DATA);
		virtio_mmio_kick(&b.mmio, 0);
		CHECK_EQ(drv_used_idx(&d), 0);
		/* After a reset the device works again. */
		transport_up(1ull << 32);
		CHECK_EQ(reg(0x060), 0);
		place_read(3, DATA);
		virtio_mmio_kick(&b.mmio, 0);
		CHECK_EQ(drv_used_idx(&d), 1);
		drv_used_elem(&d, 0, &id, &len);
		CHECK_EQ(id, 3);
		CHECK_EQ(len, SECTOR + 1);
		CHECK(disk_is_expected());
		teardown();
	}
}

/* --- batches: a flood is served a batch per wake-up of the queue --------- */

/* One request, descriptors 0 and 1: header, then sector 1's data and the
 * status in one writable buffer. */
static void place_small_read(void)
{
	put_hdr(HDR, T_IN, 1);
	drv_desc(&d, 0, HDR, 16, N, 1);
	drv_desc(&d, 1, DATA, SECTOR + 1, W, 0);
}

TEST(batch_of_64_requests)
{
	uint32_t id, len;

	setup(false);
	transport_up_n(1ull << 32, 128);
	place_small_read();
	/* A guest that keeps the ring full: 100 requests (the same chain
	 * published again and again, which the device cannot tell). */
	for (int i = 0; i < 100; i++)
		drv_publish(&d, 0);
	CHECK(virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 64);
	CHECK_EQ(drain(b.mmio.irq_fd), 1);
	CHECK_EQ(drain(b.mmio.kick_fd[0]), 1);	/* woken again, not looping */
	CHECK(!virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 100);
	CHECK_EQ(drain(b.mmio.kick_fd[0]), 0);
	drv_used_elem(&d, 99, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, SECTOR + 1);
	CHECK(memcmp(fg_host(&g, DATA), expect + SECTOR, SECTOR) == 0);
	teardown();
}

TEST(flush_ends_a_batch)
{
	setup(false);
	transport_up(1ull << 32);
	place_small_read();
	put_hdr(HDR + 0x100, T_FLUSH, 0);
	drv_desc(&d, 4, HDR + 0x100, 16, N, 5);
	drv_desc(&d, 5, STATUS, 1, W, 0);
	drv_publish(&d, 4);
	drv_publish(&d, 0);
	CHECK(virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 1);
	CHECK(!virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 2);
	teardown();
}

#define BIG_DISK (4u << 20)
#define PIECE (64u * 1024)

/* A 4 MiB disk holding pattern(offset) everywhere. */
static void setup_big(void)
{
	char path[] = "/tmp/airlock-test-blk-XXXXXX";
	static uint8_t buf[PIECE];

	CHECK_EQ(fg_init(&g), 0);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	for (uint64_t off = 0; off < BIG_DISK; off += PIECE) {
		for (uint64_t i = 0; i < PIECE; i++)
			buf[i] = pattern(off + i);
		CHECK_EQ(pwrite(fd, buf, PIECE, (off_t)off), PIECE);
	}
	CHECK_EQ(virtio_blk_setup(&b, &g.gm, fd, BIG_DISK, false, ID), 0);
}

/* Does DATA hold the disk's bytes [off, off + PIECE)? */
static bool data_is(uint64_t off)
{
	for (uint64_t i = 0; i < PIECE; i++)
		if (fg_host(&g, DATA)[i] != pattern(off + i))
			return false;
	return true;
}

/* A read of 40 pieces of 64 KiB (2.5 MiB) from sector 0, every piece into
 * the same guest buffer at DATA, at head 0 of a 64-entry queue. */
static void place_big_read(void)
{
	put_hdr(HDR, T_IN, 0);
	drv_desc(&d, 0, HDR, 16, N, 1);
	for (uint16_t i = 1; i <= 40; i++)
		drv_desc(&d, i, DATA, PIECE, W | N, (uint16_t)(i + 1));
	drv_desc(&d, 41, STATUS, 1, W, 0);
	*fg_host(&g, STATUS) = 0xee;
	drv_publish(&d, 0);
}

TEST(big_read_moved_a_megabyte_per_round)
{
	uint32_t id, len;

	setup_big();
	transport_up_n(1ull << 32, 64);
	place_big_read();
	/* Round 1: the first 1 MiB (pieces 1-16), nothing returned yet. */
	CHECK(virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 0);
	CHECK(data_is(15ull * PIECE));
	CHECK_EQ(*fg_host(&g, STATUS), 0xee);
	CHECK_EQ(drain(b.mmio.irq_fd), 0);
	CHECK_EQ(drain(b.mmio.kick_fd[0]), 1);
	/* Round 2: the next. */
	CHECK(virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 0);
	CHECK(data_is(31ull * PIECE));
	CHECK_EQ(drain(b.mmio.kick_fd[0]), 1);
	/* Round 3: the last half megabyte, the status, the used element. */
	CHECK(!virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 1);
	drv_used_elem(&d, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 40 * PIECE + 1);
	CHECK_EQ(*fg_host(&g, STATUS), S_OK);
	CHECK(data_is(39ull * PIECE));
	CHECK_EQ(drain(b.mmio.irq_fd), 1);
	CHECK_EQ(drain(b.mmio.kick_fd[0]), 0);
	teardown();

	/* The whole request at once through virtio_blk_handle(), as before. */
	setup_big();
	transport_up_n(1ull << 32, 64);
	place_big_read();
	CHECK_EQ(virtq_pop(&b.mmio.q[0], &c), 1);
	CHECK_EQ(virtio_blk_handle(&b, &c, &len), S_OK);
	CHECK_EQ(len, 40 * PIECE + 1);
	CHECK(data_is(39ull * PIECE));
	teardown();
}

TEST(big_read_dropped_when_reset_between_rounds)
{
	uint32_t id, len;

	setup_big();
	transport_up_n(1ull << 32, 64);
	place_big_read();
	CHECK(virtio_mmio_kick(&b.mmio, 0));
	CHECK(data_is(15ull * PIECE));
	/* The driver resets and starts over with one small read: the big
	 * one is neither continued nor returned. */
	transport_up_n(1ull << 32, 64);
	memset(fg_host(&g, DATA), 0, PIECE);
	put_hdr(HDR + 0x100, T_IN, 1);
	drv_desc(&d, 50, HDR + 0x100, 16, N, 51);
	drv_desc(&d, 51, DATA, SECTOR, W | N, 52);
	drv_desc(&d, 52, STATUS + 1, 1, W, 0);
	drv_publish(&d, 50);
	CHECK(!virtio_mmio_kick(&b.mmio, 0));
	CHECK_EQ(drv_used_idx(&d), 1);
	drv_used_elem(&d, 0, &id, &len);
	CHECK_EQ(id, 50);
	CHECK_EQ(len, SECTOR + 1);
	for (uint32_t i = 0; i < SECTOR; i++)
		CHECK_EQ(fg_host(&g, DATA)[i], pattern(SECTOR + i));
	CHECK_EQ(fg_host(&g, DATA)[SECTOR], 0);	/* no more of the big read */
	CHECK_EQ(*fg_host(&g, STATUS), 0xee);
	teardown();
}

CHECK_MAIN(
	TEST_ENTRY(config_and_features),
	TEST_ENTRY(out_then_in),
	TEST_ENTRY(out_on_read_only),
	TEST_ENTRY(out_of_range),
	TEST_ENTRY(length_not_sector_multiple),
	TEST_ENTRY(flush),
	TEST_ENTRY(get_id),
	TEST_ENTRY(discard_and_write_zeroes),
	TEST_ENTRY(discard_and_write_zeroes_refused),
	TEST_ENTRY(host_io_errors_logged_a_bounded_number_of_times),
	TEST_ENTRY(unknown_type),
	TEST_ENTRY(malformed_requests),
	TEST_ENTRY(end_to_end),
	TEST_ENTRY(end_to_end_malformed),
	TEST_ENTRY(batch_of_64_requests),
	TEST_ENTRY(flush_ends_a_batch),
	TEST_ENTRY(big_read_moved_a_megabyte_per_round),
	TEST_ENTRY(big_read_dropped_when_reset_between_rounds),
)
