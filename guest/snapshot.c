/* The snapshot points (airlock.snapshot=1 or 2). A guest booted for a
 * snapshot stops at one: at 1 the template is mounted, the vsock device is
 * up and the control port is listening, but nothing of the sandbox's own
 * disk has been read; at 2 (for new sandboxes) the sandbox disk is mounted
 * too, the root and the network set up, and everything written synced, so
 * that the host can give each new sandbox a copy of that disk. (The guest
 * sends nothing before: IPv6 is off, and IPv4 speaks only when spoken
 * to; even so, the snapshot VM's gateway, if it was met, is forgotten.) It reports PVPORT_EV_SNAPSHOT_READY, at which the VMM saves the VM
 * and ends it; every sandbox restored from that snapshot starts running on
 * the next instruction, and waits here for the host's RESUME on the control
 * port. Then, before any command can run, it makes fresh what a snapshot
 * shares with every other copy of itself:
 *   - the kernel's RNG: the host's random bytes are added to the input pool
 *     and the CRNG reseeded from it (RNDADDENTROPY, RNDRESEEDCRNG), so two
 *     sandboxes never produce the same random bytes, keys or UUIDs;
 *   - the wall clock, set to the host's time;
 *   - the sandbox disk: it may be another file than the snapshot's, or the
 *     same one grown. The VMM raised a config change for a new size; we
 *     wait until the kernel has the size the host says, then drop every
 *     block cached from the snapshot's disk (BLKFLSBUF) before it is mounted.
 * Each step can be done twice without harm: if the ACK does not reach the
 * host, the host sends RESUME again and gets the same answer. At stage 2
 * the ACK waits until the services listen (init_serve): the host connects
 * to them as soon as it has it. A RESUME sent again after that finds no
 * one waiting for it; the host then boots the sandbox instead. */
#include "guest/init.h"
#include "lib/clock.h"
#include "proto/cmdline.h"
#include "proto/control.h"
#include "proto/frame.h"
#include "proto/ports.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <linux/random.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The vsock device is probed before init runs; a moment's grace anyway. */
#define VSOCK_WAIT_MS 1000
/* A host that connected sends RESUME at once; one that does not is not
 * the host we wait for (or it died): drop it and wait for the next. */
#define RESUME_READ_MS 10000
/* virtio_blk reads the new capacity in a work item after the config
 * interrupt; it is there within moments. */
#define CAPACITY_WAIT_MS 2000
/* Page cache worth having in the snapshot: what nearly every first command
 * reads (the accounts, a shell, the loader and libc), resolved inside the
 * template. Every sandbox then finds it in memory it shares with the
 * others, instead of reading it from disk after the restore. */
static const char *const warm_files[] = {
	"etc/passwd", "etc/group", "bin/sh", "bin/bash", "usr/bin/env",
	"bin/busybox", "lib64/ld-linux-x86-64.so.2",
	"lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libc.so.6",
	"lib/x86_64-linux-gnu/libtinfo.so.6", "usr/lib/x86_64-linux-gnu/libtinfo.so.6",
};
#define WARM_MAX (64u << 20)	/* bytes read at most */

/* The stage airlock.snapshot= names (0: none), or -errno. */
static int wanted(const struct init_ctx *ctx)
{
	static char cmdline[INIT_CMDLINE_MAX];
	const char *v;
	size_t len;
	int r = init_read_file("/proc/cmdline", cmdline, sizeof(cmdline));

	if (r < 0) {
		init_log(ctx, "cannot read /proc/cmdline: %s", strerror(-r));
		return r;
	}
	v = cmdline_find(cmdline, GUESTPARAM_SNAPSHOT, &len);
	if (!v)
		return 0;
	if (len == 1 && v[0] >= '0' && v[0] <= '2')
		return v[0] - '0';
	init_log(ctx, "bad %s'%.*s': want 0, 1 or 2", GUESTPARAM_SNAPSHOT,
		 (int)(len > 16 ? 16 : len), v);
	return -EINVAL;
}

/* Reads the files above through, synchronously: the snapshot is taken
 * right after, and readahead still in flight would not be in it. */
static void warm_page_cache(const char *dir)
{
	static char buf[256 * 1024];
	/* Symlinks ("/bin/sh" -> busybox) resolve inside the template, not
	 * in the initramfs. */
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT };
	uint64_t total = 0;
	int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (root < 0)
		return;		/* no template: nothing to warm */
	for (size_t i = 0; i < sizeof(warm_files) / sizeof(warm_files[0]); i++) {
		int fd = (int)syscall(SYS_openat2, root, warm_files[i], &how, sizeof(how));
		ssize_t n;

		if (fd < 0)
			continue;
		while (total < WARM_MAX && (n = read(fd, buf, sizeof(buf))) > 0)
			total += (uint64_t)n;
		close(fd);
	}
	close(root);
}

static int listen_control(const struct init_ctx *ctx)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = AIRLOCK_VSOCK_PORT_CONTROL };
	unsigned int cid = VMADDR_CID_ANY;
	int fd, err;

	for (int waited = 0; cid == VMADDR_CID_ANY; waited += 10) {
		fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
				cid = VMADDR_CID_ANY;
			close(fd);
		}
		if (cid != VMADDR_CID_ANY)
			break;
		if (waited >= VSOCK_WAIT_MS) {
			init_log(ctx, "no vsock device: a snapshot waits for the host "
				 "on vsock, so the VMM needs --vsock");
			return -ENODEV;
		}
		clock_sleep_ms(10);
	}
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		err = errno;
		init_log(ctx, "cannot listen on vsock port %u: %s",
			 AIRLOCK_VSOCK_PORT_CONTROL, strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	return fd;
}

/* The first frame on a fresh connection, which must be RESUME. */
static int read_resume(int fd, struct control_msg *m)
{
	static struct frame_decoder dec;
	struct timeval tv = { RESUME_READ_MS / 1000, 0 };
	uint8_t buf[256];

	frame_decoder_init(&dec, control_type_to_guest);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		const uint8_t *p = buf;
		size_t left;
		struct frame f;
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ECONNRESET;
		left = (size_t)n;
		r = frame_decoder_next(&dec, &p, &left, &f);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = control_msg_decode(f.type, f.payload, f.len, m) < 0 ||
		    m->type != CONTROL_MSG_RESUME ? -EPROTO : 0;
		/* The seed is in the decoder's buffer too. */
		explicit_bzero(&dec, sizeof(dec));
		explicit_bzero(buf, sizeof(buf));
		return r;
	}
}

static int reseed(const struct init_ctx *ctx, const uint8_t *seed)
{
	struct {
		struct rand_pool_info info;
		uint8_t buf[CONTROL_RESUME_SEED];
	} e;
	int fd, r = 0;

	e.info.entropy_count = CONTROL_RESUME_SEED * 8;
	e.info.buf_size = CONTROL_RESUME_SEED;
	memcpy(e.buf, seed, CONTROL_RESUME_SEED);
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	/* Mixed into the input pool and credited, then the CRNG rekeyed from
	 * it at once rather than at its next scheduled reseed. */
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &e) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0) {
		r = -errno;
		init_log(ctx, "cannot reseed the kernel's random number generator: %s",
			 strerror(errno));
	}
	explicit_bzero(&e, sizeof(e));
	if (fd >= 0)
		close(fd);
	return r;
}

static int set_clock(const struct init_ctx *ctx, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	if (clock_settime(CLOCK_REALTIME, &ts) == 0)
		return 0;
	init_log(ctx, "cannot set the clock to the host's time: %s", strerror(errno));
	return -errno;
}

/* The sandbox disk as it is now: the size the host says (the VMM offers
 * whole sectors), nothing cached from the snapshot's. */
static int fresh_disk(const struct init_ctx *ctx, const struct init_params *p,
		      uint64_t size)
{
	char path[sizeof("/dev/") + GUESTPARAM_DEV_MAX];
	uint64_t want = size & ~511ull, now = 0;
	int64_t deadline = clock_ms() + CAPACITY_WAIT_MS;
	int fd, r = 0;

	if (!p->upper[0])
		return 0;
	snprintf(path, sizeof(path), "/dev/%s", p->upper);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		init_log(ctx, "cannot open the sandbox disk %s: %s", path, strerror(errno));
		return r;
	}
	while (want && (ioctl(fd, BLKGETSIZE64, &now) < 0 || now != want)) {
		if (clock_ms() >= deadline) {
			init_log(ctx, "the sandbox disk %s has %llu bytes, not the %llu the "
				 "host says: the VMM did not tell the guest its new size",
				 path, (unsigned long long)now, (unsigned long long)want);
			r = -EIO;
			goto out;
		}
		clock_sleep_ms(1);
	}
	/* Writes back nothing (nothing was written) and drops the page cache
	 * of the device: the snapshot's disk was probed, so its first blocks
	 * are cached, and they are not this disk's. */
	if (ioctl(fd, BLKFLSBUF, 0) < 0) {
		r = -errno;
		init_log(ctx, "cannot drop the cached blocks of %s: %s", path, strerror(errno));
	}
out:
	close(fd);
	return r;
}

/* At stage 2 the disk must be the copy made for it: the same size. */
static int same_disk(const struct init_ctx *ctx, const struct init_params *p, uint64_t size)
{
	char path[sizeof("/dev/") + GUESTPARAM_DEV_MAX];
	uint64_t now = 0;
	int fd, r = 0;

	if (!p->upper[0])
		return 0;
	snprintf(path, sizeof(path), "/dev/%s", p->upper);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &now) < 0 || now != (size & ~511ull)) {
		init_log(ctx, "the sandbox disk %s is not the one this snapshot was made "
			 "with (%llu bytes, the host says %llu)", path, (unsigned long long)now,
			 (unsigned long long)size);
		r = -EIO;
	}
	if (fd >= 0)
		close(fd);
	return r;
}

static int encode_ack(uint8_t ack[FRAME_HEADER_SIZE])
{
	return control_msg_encode(ack, FRAME_HEADER_SIZE,
				  &(struct control_msg){ .type = CONTROL_MSG_ACK });
}

void init_snapshot_ack(const struct init_ctx *ctx, int fd)
{
	uint8_t ack[FRAME_HEADER_SIZE];

	if (fd < 0)
		return;
	/* Not taken: the host gives up on this VM and boots another. */
	if (encode_ack(ack) < 0 || send(fd, ack, sizeof(ack), MSG_NOSIGNAL) != (ssize_t)sizeof(ack))
		init_log(ctx, "the host did not take the ACK of its RESUME: %s", strerror(errno));
	close(fd);
}

int init_snapshot_point(struct init_ctx *ctx, const struct init_params *p,
			enum init_snapshot_stage stage, int *ack_later)
{
	static struct control_msg m;
	uint8_t ack[FRAME_HEADER_SIZE];
	int lfd, r;

	if (ack_later)
		*ack_later = -1;
	r = wanted(ctx);
	if (r < 0 || r != (int)stage)
		return r < 0 ? r : 0;
	/* What the disk holds must be in the file the host copies. */
	if (stage == INIT_SNAPSHOT_WITH_DISK)
		sync();
	lfd = listen_control(ctx);
	if (lfd < 0)
		return lfd;
	warm_page_cache(stage == INIT_SNAPSHOT_WITH_DISK ? "/" : INIT_TEMPLATE_DIR);
	r = encode_ack(ack);
	if (r < 0)
		return r;
	init_report(ctx, PVPORT_EV_SNAPSHOT_READY, 0);

	/* A restored sandbox runs from here. */
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			r = -errno;
			init_log(ctx, "waiting for the host to resume: accept: %s", strerror(errno));
			break;
		}
		if (read_resume(fd, &m) < 0) {
			close(fd);	/* not a RESUME: wait for the one that is */
			continue;
		}
		r = reseed(ctx, m.seed);
		if (r == 0)
			r = set_clock(ctx, m.realtime_ns);
		if (r == 0)
			r = stage == INIT_SNAPSHOT_WITH_DISK ? same_disk(ctx, p, m.upper_size)
							     : fresh_disk(ctx, p, m.upper_size);
		if (r == 0 && stage == INIT_SNAPSHOT_WITH_DISK)
			init_net_forget_gateway(ctx, p);
		explicit_bzero(&m, sizeof(m));
		if (r < 0) {
			close(fd);
			break;
		}
		if (ack_later) {
			*ack_later = fd;
			break;
		}
		/* Only an ACK the host got ends the wait; else it asks again. */
		if (send(fd, ack, sizeof(ack), MSG_NOSIGNAL) == (ssize_t)sizeof(ack)) {
			close(fd);
			break;
		}
		close(fd);
	}
	close(lfd);
	return r;
}
