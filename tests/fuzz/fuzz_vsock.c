/* libFuzzer target: a hostile guest's virtio-vsock driver, and host
 * programs doing odd things at the same time. The input is a stream of
 * moves: tx packets (a header biased toward plausible values but any field
 * possibly wild, a payload, split into descriptors at chosen points,
 * directly or through an indirect table, with lengths that may disagree),
 * raw descriptor rewrites, rx buffers of any size and direction, host
 * programs that dial with good or bad CONNECT lines, write, read, half-close
 * or vanish, guest streams accepted on a listener, the I/O loop, the
 * deadline timer, driver resets and register writes. Guest RAM is exactly
 * two heap blocks, so ASan catches any access outside it; after every move
 * the device's own bookkeeping must hold (buffered guest data within the
 * credit we advertise, consistent counters, bounded tables). */
#include "tests/fuzz/fuzz_input.h"
#include "vmm/mem.h"
#include "vmm/virtio/vsock.h"
#include "vmm/vm.h"
#include "lib/vsock_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CID 3
#define HDR ((uint32_t)sizeof(struct vsock_hdr))
/* 64 KiB at 0, and right after it 4 KiB with its own host block. */
#define A_SIZE 0x10000u
#define B_GPA 0x10000u
#define B_SIZE 0x1000u
#define QDESC(q) (0x1000u * (1 + (q)))	/* rings of queue q: desc, */
#define QAVAIL(q) (QDESC(q) + 0x400)	/* avail, */
#define QUSED(q) (QDESC(q) + 0x800)	/* used */
#define TXAREA 0x4000u		/* headers, payloads, indirect tables */
#define TXAREA_SIZE 0x8000u
#define RXAREA 0xc000u		/* rx buffers, into the B block too */
#define MAX_MOVES 128
#define MAX_HOSTS 8
#define LISTEN_PORT 1u		/* a listener is at PATH_1; none at PATH_2 */

static uint8_t *ram_a, *ram_b;
static struct guest_mem gm;
static struct virtio_vsock dev;
static char dir[64], path[80], lpath[88];	/* the VM's socket, PATH_1 */
static int listener = -1;
/* Guest-initiated streams go through the broker, answered in line: ports
 * 1 and 2 are named (a listener at PATH_1, none at PATH_2). */
static struct vsock_broker broker = { .ports = { LISTEN_PORT, 2 }, .nports = 2,
				      .prefix = "v_" };
static const uint32_t named[] = { LISTEN_PORT, 2 };
static int broker_end = -1;
static int hosts[MAX_HOSTS];
static uint16_t num, avail_idx[2];
static uint8_t scratch[1 << 16];

static uint8_t *host(uint64_t gpa)
{
	return gpa >= B_GPA ? ram_b + (gpa - B_GPA) : ram_a + gpa;
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(host(gpa), &v, 2);
}

static void desc_at(uint64_t table, uint32_t i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *p = host(table + 16ull * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void publish(unsigned int q, uint16_t head)
{
	put16(QAVAIL(q) + 4 + 2ull * (avail_idx[q] % num), head);
	avail_idx[q]++;
	put16(QAVAIL(q) + 2, avail_idx[q]);
}

static void reg_w(uint32_t off, uint32_t v)
{
	virtio_mmio_access(&dev.mmio, off, (uint8_t *)&v, 4, true);
}

static void up(uint32_t features_hi, uint32_t features_lo)
{
	reg_w(0x070, 0);
	memset(ram_a + QDESC(0), 0, 0x3000);
	avail_idx[0] = avail_idx[1] = 0;
	reg_w(0x070, 1);
	reg_w(0x070, 3);
	reg_w(0x024, 0);
	reg_w(0x020, features_lo);
	reg_w(0x024, 1);
	reg_w(0x020, features_hi | 1);
	reg_w(0x070, 0xb);
	for (unsigned int q = 0; q < 3; q++) {
		reg_w(0x030, q);
		reg_w(0x038, num);
		reg_w(0x080, QDESC(q));
		reg_w(0x090, QAVAIL(q));
		reg_w(0x0a0, QUSED(q));
		reg_w(0x044, 1);
	}
	reg_w(0x070, 0xf);
}

static void add_host(int fd)
{
	for (unsigned int i = 0; i < MAX_HOSTS; i++)
		if (hosts[i] < 0) {
			hosts[i] = fd;
			return;
		}
	close(hosts[0]);
	hosts[0] = fd;
}

/* A packet from the guest: header fields plausible unless the input asks
 * for wild ones, split into pieces, maybe through an indirect table. */
static void tx_packet(struct fuzz_input *in)
{
	uint8_t sel = (uint8_t)fuzz_take(in, 1), lay = (uint8_t)fuzz_take(in, 1);
	uint8_t wild = sel & 0x80 ? (uint8_t)fuzz_take(in, 1) : 0;
	uint32_t plen = (uint32_t)fuzz_take(in, 2) % 0x2000;
	uint32_t hp = (uint32_t)fuzz_take(in, 1);
	struct vsock_hdr h = {
		.src_cid = wild & 1 ? fuzz_take(in, 8) : CID,
		.dst_cid = wild & 2 ? fuzz_take(in, 8) : VSOCK_HOST_CID,
		.type = wild & 4 ? (uint16_t)fuzz_take(in, 2) : VSOCK_TYPE_STREAM,
		.op = wild & 8 ? (uint16_t)fuzz_take(in, 2) : (uint16_t)(sel % 8),
		.src_port = wild & 128 ? (uint32_t)fuzz_take(in, 4) : 1000 + (sel >> 3) % 2,
		/* The listener, nobody, or a port we hand out to host programs. */
		.dst_port = hp < 96 ? LISTEN_PORT : hp < 128 ? 2 : (1u << 30) + hp % 4,
		.flags = (uint32_t)fuzz_take(in, 1),
		.buf_alloc = wild & 16 ? (uint32_t)fuzz_take(in, 4) : 1u << 16,
		.fwd_cnt = wild & 64 ? (uint32_t)fuzz_take(in, 4) : 0,
	};
	uint64_t table = QDESC(1), at = TXAREA;
	uint32_t cut = lay & 0x40 ? (uint32_t)fuzz_take(in, 1) % HDR : 0;
	uint32_t pieces = 1 + (lay & 3), reps = 1, d = 0, max;
	bool indirect = lay & 0x80;

	if (lay & 0x10)	/* large: the same bytes named several times */
		reps = 1 + (uint32_t)fuzz_take(in, 1) % 12;
	h.len = wild & 32 ? (uint32_t)fuzz_take(in, 4) : plen * reps;
	memcpy(host(at), &h, HDR);
	memcpy(host(at + HDR), scratch, plen);	/* what the bytes are does not matter */
	if (indirect) {
		table = TXAREA + TXAREA_SIZE - 16u * 64;
		max = 64;
	} else {
		max = num;
	}
	/* Header in one or two descriptors (maybe a short one), then the
	 * payload in pieces, reps times. */
	if (cut && d < max) {
		desc_at(table, d, at, cut, 1, (uint16_t)(d + 1));
		d++;
	}
	if (d < max) {
		desc_at(table, d, at + cut, (lay & 0x20) ? HDR - cut - 1 : HDR - cut, 1,
			(uint16_t)(d + 1));
		d++;
	}
	for (uint32_t r = 0; r < reps; r++) {
		uint32_t off = 0;

		for (uint32_t k = 0; k < pieces && d < max && off < plen; k++) {
			uint32_t len = k + 1 == pieces ? plen - off : plen / pieces;

			desc_at(table, d, at + HDR + off, len, 1, (uint16_t)(d + 1));
			d++;
			off += len;
		}
	}
	if (d == 0)
		return;
	/* The last one ends the chain (flags 0 drops NEXT). */
	memset(host(table + 16ull * (d - 1) + 12), 0, 2);
	if (indirect) {
		desc_at(QDESC(1), 0, table, 16 * d, 4, 0);
		publish(1, 0);
	} else {
		publish(1, 0);
	}
	virtio_mmio_kick(&dev.mmio, 1);
}

/* rx buffers, mostly sane (a header and some data, maybe in two pieces),
 * sometimes too small or readable. An exhausted input gives sane ones. */
static void rx_buffers(struct fuzz_input *in, uint32_t k)
{
	for (uint32_t i = 0; i < k; i++) {
		uint8_t how = (uint8_t)fuzz_take(in, 1);
		uint16_t head = (uint16_t)(avail_idx[0] % num);
		uint64_t at = RXAREA + 0x800ull * (head % 10);	/* the last two in B */
		uint32_t len = how & 1 ? (uint32_t)fuzz_take(in, 2) % 0x900 : 0x800;
		uint16_t flags = how & 2 ? 0 : 2;

		if ((how & 4) && len > HDR && num > 1) {
			uint16_t second = (uint16_t)((head + num / 2) % num);

			desc_at(QDESC(0), head, at, HDR, flags | 1, second);
			desc_at(QDESC(0), second, at + HDR, len - HDR, flags, 0);
		} else {
			desc_at(QDESC(0), head, at, len, flags, 0);
		}
		publish(0, head);
	}
	virtio_mmio_kick(&dev.mmio, 0);
}

static void dial(struct fuzz_input *in)
{
	static const char *const lines[] = {
		"CONNECT 1000\n", "CONNECT 1001\nearly data", "CONNECT 7\r\n", "CONNECT ",
		"CONNECT 99999999999\n", "HELLO\n", "",
	};
	uint8_t which = (uint8_t)fuzz_take(in, 1);
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return;
	if (which < 0xf0) {
		const char *l = lines[which % 7];

		if (send(sv[0], l, strlen(l), MSG_NOSIGNAL) < 0) {
			/* nothing sent: a silent program */
		}
	} else {
		size_t n = fuzz_take(in, 1) % 48;

		if (n > in->n)
			n = in->n;
		if (send(sv[0], in->p, n, MSG_NOSIGNAL) < 0) {
			/* as above */
		}
		in->p += n;
		in->n -= n;
	}
	add_host(sv[0]);
	virtio_vsock_accept(&dev, sv[1]);
}

/* Whole handshakes in one move, so that later packets find live streams:
 * the guest connects to the listener, or a host program to the guest. */
static void open_stream(struct fuzz_input *in)
{
	uint8_t how = (uint8_t)fuzz_take(in, 1);
	uint32_t gp = 1000 + (how >> 1) % 2;
	struct vsock_hdr h = { .src_cid = CID, .dst_cid = VSOCK_HOST_CID,
			       .type = VSOCK_TYPE_STREAM, .src_port = gp,
			       .buf_alloc = 1u << 16 };
	int fd;

	if (how & 1) {
		h.op = VSOCK_OP_REQUEST;
		h.dst_port = LISTEN_PORT;
	} else {
		char line[32];
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			return;
		snprintf(line, sizeof(line), "CONNECT %u\n", gp);
		if (send(sv[0], line, strlen(line), MSG_NOSIGNAL) < 0) {
			/* cannot happen on a fresh socketpair */
		}
		add_host(sv[0]);
		virtio_vsock_accept(&dev, sv[1]);
		h.op = VSOCK_OP_RESPONSE;
		h.dst_port = dev.next_port - 1;	/* the port it was given */
	}
	memcpy(host(TXAREA), &h, HDR);
	desc_at(QDESC(1), 0, TXAREA, HDR, 0, 0);
	publish(1, 0);
	virtio_mmio_kick(&dev.mmio, 1);
	if ((how & 1) && (fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		add_host(fd);
	/* A host socket that takes little at a time: the device has to keep
	 * guest data, and the guest's credit runs out, within a few moves. */
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		int n = 4096;

		if (dev.conn[i].state == CONN_ESTABLISHED && dev.conn[i].guest_port == gp &&
		    dev.conn[i].host_port == h.dst_port)
			setsockopt(dev.conn[i].ev.fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n));
	}
}

static void host_move(struct fuzz_input *in)
{
	uint8_t what = (uint8_t)fuzz_take(in, 1);
	int *fd = &hosts[(what >> 3) % MAX_HOSTS];
	size_t n = fuzz_take(in, 2);
	int acc;

	switch (what & 7) {
	case 0:		/* a guest stream waiting on the listener */
		acc = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (acc >= 0)
			add_host(acc);
		break;
	case 1:
		if (*fd >= 0 && send(*fd, scratch, n % sizeof(scratch), MSG_NOSIGNAL) < 0) {
			/* full, or the device is gone */
		}
		break;
	case 2:
		if (*fd >= 0 && read(*fd, scratch, n % sizeof(scratch)) < 0) {
			/* nothing there */
		}
		break;
	case 3:
		if (*fd >= 0)
			shutdown(*fd, n & 1 ? SHUT_WR : SHUT_RD);
		break;
	case 4:
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		break;
	default:
		virtio_vsock_poll(&dev);
		break;
	}
}

/* The device's bookkeeping, checked from outside. */
static void check(void)
{
	unsigned int shaking = 0;

	if (dev.nrst > VSOCK_PENDING_RST)
		abort();
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		const struct vsock_conn *c = &dev.conn[i];

		if (c->state > CONN_CLOSING || c->dev != &dev)
			abort();
		shaking += c->state == CONN_HANDSHAKE;
		if ((c->state == CONN_FREE || c->state == CONN_CLOSING) && c->ev.fd >= 0)
			abort();
		/* Kept guest data: what arrived and did not reach the host,
		 * never more than the window we advertise. */
		if (c->txlen > VSOCK_BUF_ALLOC || c->tx_cnt - c->fwd_cnt != c->txlen ||
		    c->tx_cnt - c->fwd_cnt_sent > VSOCK_BUF_ALLOC)
			abort();
		if (c->txbuf != dev.bufs + (size_t)i * VSOCK_BUF_ALLOC)
			abort();
	}
	if (shaking > VSOCK_MAX_HANDSHAKES)
		abort();
}

static void cleanup_dir(void)
{
	unlink(lpath);
	rmdir(dir);
}

static void once(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	ram_a = aligned_alloc(4096, A_SIZE);
	ram_b = aligned_alloc(4096, B_SIZE);
	strcpy(dir, "/tmp/airlock-fuzz-vsock-XXXXXX");
	if (!ram_a || !ram_b || gm_add_region(&gm, 0, A_SIZE, ram_a) ||
	    gm_add_region(&gm, B_GPA, B_SIZE, ram_b) || !mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/v", dir);
	snprintf(lpath, sizeof(lpath), "%s_%u", path, LISTEN_PORT);
	strcpy(sa.sun_path, lpath);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(listener, 256))
		abort();
	atexit(cleanup_dir);
	broker.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (broker.dirfd < 0)
		abort();
	signal(SIGPIPE, SIG_IGN);	/* as in airlock-vmm */
	for (unsigned int i = 0; i < MAX_HOSTS; i++)
		hosts[i] = -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	uint8_t mode;
	int fd;

	if (!ram_a)
		once();
	memset(ram_a, 0, A_SIZE);
	memset(ram_b, 0, B_SIZE);
	{
		int sv[2];
		struct vsock_host_ports hp = { .ports = named, .nports = 2 };

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
		    fcntl(sv[1], F_SETFL, O_NONBLOCK))
			abort();
		hp.broker_fd = sv[0];
		broker_end = sv[1];
		if (virtio_vsock_setup(&dev, &gm, CID, &hp))
			abort();
	}
	mode = (uint8_t)fuzz_take(&in, 1);
	num = (uint16_t)(1u << (1 + mode % 4));	/* 2..16 */
	up(mode & 0x10 ? 1u << 29 | 1u << 28 : 0, 0);	/* EVENT_IDX, INDIRECT */
	if (!(mode & 0x20)) {
		struct fuzz_input none = { NULL, 0 };

		rx_buffers(&none, num);	/* a driver that has filled its rx ring */
	}

	for (unsigned int moves = 0; in.n > 0 && moves < MAX_MOVES; moves++) {
		uint8_t op = (uint8_t)fuzz_take(&in, 1);

		switch (op % 11) {
		case 0:
		case 1:
		case 2:
			tx_packet(&in);
			break;
		case 10:
			open_stream(&in);
			break;
		case 3:
			rx_buffers(&in, 1 + (uint32_t)fuzz_take(&in, 1) % 8);
			break;
		case 4:
			dial(&in);
			break;
		case 5:
		case 6:
			host_move(&in);
			break;
		case 7: {	/* the driver rewrites a tx descriptor and kicks */
			uint32_t i = (uint32_t)fuzz_take(&in, 1) % num;
			uint64_t addr = fuzz_take(&in, 2) % (B_GPA + B_SIZE + 0x100);

			desc_at(QDESC(1), i, addr, (uint32_t)fuzz_take(&in, 2), (uint16_t)fuzz_take(&in, 1),
				(uint16_t)fuzz_take(&in, 1));
			publish(1, (uint16_t)fuzz_take(&in, 1));
			virtio_mmio_kick(&dev.mmio, 1);
			break;
		}
		case 8: {	/* time passes */
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			virtio_vsock_expire(&dev, (uint64_t)ts.tv_sec * 1000000000u +
						  fuzz_take(&in, 1) * 100000000ull);
			break;
		}
		case 9: {	/* a driver reset, or any register access */
			uint8_t buf[8] = { 0 };
			uint64_t off = fuzz_take(&in, 2) % 0x110, v = fuzz_take(&in, 8);

			if (op & 0x80) {
				up(mode & 0x10 ? 1u << 29 : 0, 0);
				break;
			}
			memcpy(buf, &v, sizeof(v));
			virtio_mmio_access(&dev.mmio, off, buf, 1u << (op >> 4) % 4, op & 0x40);
			break;
		}
		}
		/* The broker answers what was asked, the device takes it. */
		while (vsock_broker_answer(&broker, broker_end) == 0)
			virtio_vsock_poll(&dev);
		check();
	}
	virtio_vsock_exit(&dev);
	close(broker_end);
	for (unsigned int i = 0; i < MAX_HOSTS; i++) {
		if (hosts[i] >= 0)
			close(hosts[i]);
		hosts[i] = -1;
	}
	while ((fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
	return 0;
}
