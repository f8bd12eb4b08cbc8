/* blkbench: the guest side of tests/bench/blk. Measures a block device
 * with O_DIRECT (so the guest's page cache does not flatter anyone):
 * sequential read and write in 1 MiB requests, random 4 KiB reads and
 * writes. Prints one key=value line. Static, so it runs from an initramfs.
 *
 *   blkbench DEVICE [MIB] [RANDOM_OPS]
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BLOCK (1u << 20)
#define RAND_BLOCK 4096u

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int io(int fd, void *buf, size_t len, off_t off, int write_it)
{
	ssize_t r = write_it ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);

	if (r != (ssize_t)len) {
		fprintf(stderr, "blkbench: %s at %lld: %s\n", write_it ? "write" : "read",
			(long long)off, r < 0 ? strerror(errno) : "short");
		return -1;
	}
	return 0;
}

/* A small xorshift: the same offsets every run, no libc state. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	unsigned long ops = argc > 3 ? strtoul(argv[3], NULL, 10) : 2000;
	uint64_t size = 0, seed = 0x9e3779b97f4a7c15ull, blocks;
	double t, seq_r, seq_w, rand_r, rand_w;
	void *buf;
	int fd;

	if (argc < 2 || mib == 0 || ops == 0) {
		fprintf(stderr, "usage: blkbench DEVICE [MIB] [RANDOM_OPS]\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) < 0) {
		fprintf(stderr, "blkbench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (size < (uint64_t)mib << 20) {
		fprintf(stderr, "blkbench: %s holds %llu MiB, fewer than %lu\n", argv[1],
			(unsigned long long)(size >> 20), mib);
		return 1;
	}
	if (posix_memalign(&buf, 4096, SEQ_BLOCK))
		return 1;
	memset(buf, 0xa5, SEQ_BLOCK);

	t = now();
	for (unsigned long i = 0; i < mib; i++)
		if (io(fd, buf, SEQ_BLOCK, (off_t)i << 20, 1))
			return 1;
	if (fsync(fd))
		return 1;
	seq_w = (double)mib / (now() - t);

	t = now();
	for (unsigned long i = 0; i < mib; i++)
		if (io(fd, buf, SEQ_BLOCK, (off_t)i << 20, 0))
			return 1;
	seq_r = (double)mib / (now() - t);

	blocks = ((uint64_t)mib << 20) / RAND_BLOCK;
	t = now();
	for (unsigned long i = 0; i < ops; i++)
		if (io(fd, buf, RAND_BLOCK, (off_t)(next(&seed) % blocks) * RAND_BLOCK, 0))
			return 1;
	rand_r = (double)ops / (now() - t);

	t = now();
	for (unsigned long i = 0; i < ops; i++)
		if (io(fd, buf, RAND_BLOCK, (off_t)(next(&seed) % blocks) * RAND_BLOCK, 1))
			return 1;
	if (fsync(fd))
		return 1;
	rand_w = (double)ops / (now() - t);

	printf("blkbench seq_read_mibs=%.1f seq_write_mibs=%.1f rand_read_iops=%.0f "
	       "rand_write_iops=%.0f\n", seq_r, seq_w, rand_r, rand_w);
	return 0;
}
