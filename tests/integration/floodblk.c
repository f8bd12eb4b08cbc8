/* floodblk: keeps a guest block device's queue as full as a guest can, for
 * tests/integration/t_flood.sh. Static, so it runs from the initramfs.
 *   floodblk DEV DEPTH BS
 * reads DEV with O_DIRECT through Linux AIO, DEPTH requests of BS bytes in
 * flight at all times: each completion is resubmitted at once, walking the
 * device over and over. Prints "floodblk: running" once the first requests
 * complete, then runs until killed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DEPTH 256

static long io_setup(unsigned int n, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, n, ctx);
}

static long io_submit(aio_context_t ctx, long n, struct iocb **cbs)
{
	return syscall(SYS_io_submit, ctx, n, cbs);
}

static long io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev)
{
	return syscall(SYS_io_getevents, ctx, min, max, ev, NULL);
}

int main(int argc, char **argv)
{
	static struct iocb cb[MAX_DEPTH];
	static struct iocb *cbp[MAX_DEPTH];
	static struct io_event ev[MAX_DEPTH];
	aio_context_t ctx = 0;
	uint64_t size, next = 0, bs;
	unsigned long depth;
	bool said = false;
	uint8_t *bufs;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: floodblk DEV DEPTH BS\n");
		return 2;
	}
	depth = strtoul(argv[2], NULL, 10);
	bs = strtoull(argv[3], NULL, 10);
	if (depth == 0 || depth > MAX_DEPTH || bs == 0 || bs % 4096) {
		fprintf(stderr, "floodblk: DEPTH 1-%d, BS a multiple of 4096\n", MAX_DEPTH);
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || (size = (uint64_t)lseek(fd, 0, SEEK_END)) < bs ||
	    posix_memalign((void **)&bufs, 4096, depth * bs) ||
	    io_setup((unsigned int)depth, &ctx) < 0) {
		fprintf(stderr, "floodblk: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	size -= size % bs;
	for (unsigned long i = 0; i < depth; i++) {
		cb[i] = (struct iocb){
			.aio_data = i,
			.aio_lio_opcode = IOCB_CMD_PREAD,
			.aio_fildes = (uint32_t)fd,
			.aio_buf = (uint64_t)(uintptr_t)(bufs + i * bs),
			.aio_nbytes = bs,
			.aio_offset = (int64_t)next,
		};
		next = (next + bs) % size;
		cbp[i] = &cb[i];
	}
	if (io_submit(ctx, (long)depth, cbp) != (long)depth) {
		fprintf(stderr, "floodblk: io_submit: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		long n = io_getevents(ctx, 1, (long)depth, ev);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "floodblk: io_getevents: %s\n", strerror(errno));
			return 1;
		}
		if (!said) {
			printf("floodblk: running\n");
			fflush(stdout);
			said = true;
		}
		for (long i = 0; i < n; i++) {
			struct iocb *c = &cb[ev[i].data];

			c->aio_offset = (int64_t)next;
			next = (next + bs) % size;
			cbp[i] = c;
		}
		if (io_submit(ctx, n, cbp) != n) {
			fprintf(stderr, "floodblk: io_submit: %s\n", strerror(errno));
			return 1;
		}
	}
}
