/* libFuzzer target: a hostile driver against virtio-net, and a hostile far
 * side of its TAP. A small fake guest holds both queues' rings and buffers
 * (all from the input); a SOCK_SEQPACKET socketpair stands in for the TAP,
 * with readv wrapped (-Wl,--wrap=readv) so that, like a TAP, it reports a
 * cut frame's whole length, and can fail the way a dead TAP does. The
 * input then brings the device up with any features, and interleaves
 * kicks, TAP wake-ups, frames from the far side, well-formed chains (so
 * that the paths past the checks are reached), ring and memory rewrites,
 * register accesses of any width and fresh starts. The device must never touch memory
 * outside the guest (ASan), and every frame that reaches the far side
 * must be one the header check lets through for the features the driver
 * accepted, of a size it allows. */
#include "tests/fuzz/fuzz_input.h"
#include "vmm/mem.h"
#include "vmm/virtio/net.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
ssize_t __real_readv(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt);

#define RAM_SIZE 0x20000u
#define RX_DESC 0x1000u
#define RX_AVAIL 0x1400u
#define RX_USED 0x1600u
#define TX_DESC 0x2000u
#define TX_AVAIL 0x2400u
#define TX_USED 0x2600u
#define SCRATCH 0x3000u		/* buffers, indirect tables from here */
#define MAX_OPS 512

static uint8_t *ram;
static struct guest_mem gm;
static struct virtio_net n;
static int sv[2] = { -1, -1 };
static int fail_readv;
static uint8_t frame[NET_MAX_PACKET + 16];
static uint16_t qnum[2], idx[2], next_desc[2];
static uint32_t next_buf;

ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	if (fd != sv[0])
		return __real_readv(fd, iov, cnt);
	if (fail_readv) {
		errno = fail_readv;
		return -1;
	}
	return recvmsg(fd, &m, MSG_TRUNC);
}

/* Input bytes to gpa, clipped to RAM; descriptors optionally biased toward
 * the scratch area (and a little past RAM) and toward packet sizes. */
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
		addr = SCRATCH + addr % (RAM_SIZE - SCRATCH + 0x800);
		l %= 0x4000;
		memcpy(ram + gpa + i, &addr, 8);
		memcpy(ram + gpa + i + 8, &l, 4);
	}
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(ram + gpa, &v, 2);
}

static void reg_write(uint32_t off, uint32_t v)
{
	virtio_mmio_access(&n.mmio, off, (uint8_t *)&v, 4, true);
}

static void queue_up(unsigned int q, uint32_t num, uint32_t desc, uint32_t avail,
		     uint32_t used)
{
	reg_write(0x030, q);
	reg_write(0x038, num);
	reg_write(0x080, desc);
	reg_write(0x090, avail);
	reg_write(0x0a0, used);
	reg_write(0x044, 1);
}

/* A driver (re)starting the device with features feat (VERSION_1 added)
 * and queues of 2^(sizes & 7) and 2^(sizes >> 3 & 7) entries (64 at most). */
static void bring_up(uint64_t feat, uint8_t sizes)
{
	memset(ram + RX_DESC, 0, SCRATCH - RX_DESC);
	qnum[NET_RXQ] = (uint16_t)(1u << (sizes & 7));
	qnum[NET_TXQ] = (uint16_t)(1u << ((sizes >> 3) & 7));
	for (int q = 0; q < 2; q++) {
		if (qnum[q] > 64)
			qnum[q] = 64;
		idx[q] = next_desc[q] = 0;
	}
	reg_write(0x070, 0);
	reg_write(0x070, 1);
	reg_write(0x070, 3);
	reg_write(0x024, 0);
	reg_write(0x020, (uint32_t)feat);
	reg_write(0x024, 1);
	reg_write(0x020, (uint32_t)(feat >> 32) | 1);
	reg_write(0x070, 0xb);
	queue_up(NET_RXQ, qnum[NET_RXQ], RX_DESC, RX_AVAIL, RX_USED);
	queue_up(NET_TXQ, qnum[NET_TXQ], TX_DESC, TX_AVAIL, TX_USED);
	reg_write(0x070, 0xf);
}

static uint64_t buf_alloc(uint32_t len)
{
	uint64_t at;

	if (next_buf + len > RAM_SIZE - SCRATCH)
		next_buf = 0;
	at = SCRATCH + next_buf;
	next_buf += len;
	return at;
}

/* A well-formed chain on queue q: rx, 1-4 writable buffers of at least a
 * header; tx, a header (from the input) then the frame in 1-3 pieces. */
static void post_chain(struct fuzz_input *in, unsigned int q)
{
	uint16_t num = qnum[q], head = next_desc[q] % num;
	uint64_t table = q == NET_RXQ ? RX_DESC : TX_DESC;
	uint64_t avail = q == NET_RXQ ? RX_AVAIL : TX_AVAIL;
	unsigned int parts = 1 + (unsigned int)fuzz_take(in, 1) % (q == NET_RXQ ? 4 : 3);
	uint16_t d = head;

	if (q == NET_TXQ) {
		uint64_t h = buf_alloc(NET_HDR_SIZE);

		fill(in, h, NET_HDR_SIZE, false);
		if (!(fuzz_take(in, 1) & 3))
			memset(ram + h, 0, 2);	/* plain flags and gso_type, often */
		memcpy(ram + table + 16u * d, &h, 8);
		memcpy(ram + table + 16u * d + 8, &(uint32_t){ NET_HDR_SIZE }, 4);
		memcpy(ram + table + 16u * d + 12, &(uint16_t){ 1 }, 2);	/* NEXT */
		d = (uint16_t)((d + 1) % num);
		memcpy(ram + table + 16u * ((d + num - 1) % num) + 14, &d, 2);
	}
	for (unsigned int i = 0; i < parts; i++) {
		uint32_t len = q == NET_RXQ ? NET_HDR_SIZE + (uint32_t)fuzz_take(in, 2) % 4096
					    : 1 + (uint32_t)fuzz_take(in, 2) % 3000;
		uint64_t b = buf_alloc(len);
		uint16_t flags = (uint16_t)((q == NET_RXQ ? 2 : 0) | (i + 1 < parts ? 1 : 0));
		uint16_t next = (uint16_t)((d + 1) % num);

		memcpy(ram + table + 16u * d, &b, 8);
		memcpy(ram + table + 16u * d + 8, &len, 4);
		memcpy(ram + table + 16u * d + 12, &flags, 2);
		memcpy(ram + table + 16u * d + 14, &next, 2);
		d = next;
	}
	next_desc[q] = d;
	put16(avail + 4 + 2ull * (idx[q] % num), head);
	idx[q]++;
	put16(avail + 2, idx[q]);
}

/* What reached the far side: each frame must pass the device's own check
 * for the features in force when it was sent. */
static void drain_peer(void)
{
	ssize_t k;

	while ((k = recv(sv[1], frame, sizeof(frame), MSG_DONTWAIT | MSG_TRUNC)) >= 0) {
		struct vnet_hdr h;
		const char *why;

		if ((size_t)k < NET_HDR_SIZE + NET_ETH_HLEN || (size_t)k > NET_MAX_PACKET)
			abort();
		memcpy(&h, frame, sizeof(h));
		if (virtio_net_tx_check(&h, (uint64_t)k - NET_HDR_SIZE,
					n.mmio.drv_features, &why))
			abort();
	}
}

/* The far side sends a frame: a header and len bytes, from the input. */
static void peer_send(struct fuzz_input *in)
{
	size_t len = (size_t)fuzz_take(in, 2) % (NET_MAX_PACKET + 8);
	size_t from_input = len < in->n ? len : in->n;

	if (from_input > 64)
		from_input = 64;	/* the rest: a pattern, not input */
	memcpy(frame, in->p, from_input);
	in->p += from_input;
	in->n -= from_input;
	for (size_t i = from_input; i < len; i++)
		frame[i] = (uint8_t)(i * 7);
	if (send(sv[1], frame, len, MSG_DONTWAIT) < 0) {
		/* full: the TAP drops it, as a full TAP would */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = VIRTIO_NET_DEFAULT_MAC;
	struct fuzz_input in = { data, size };
	uint8_t mode;
	unsigned int ops = 0;

	if (!ram) {
		int sz = 4 << 20;

		ram = aligned_alloc(4096, RAM_SIZE);
		if (!ram || gm_add_region(&gm, 0, RAM_SIZE, ram))
			abort();
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
			abort();
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	memset(ram, 0, RAM_SIZE);
	/* Nothing left over from the last input on either side. */
	while (recv(sv[0], frame, sizeof(frame), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	while (recv(sv[1], frame, sizeof(frame), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	fail_readv = 0;
	if (virtio_net_setup(&n, &gm, sv[0], mac))
		abort();

	mode = (uint8_t)fuzz_take(&in, 1);
	next_buf = 0;
	bring_up(fuzz_take(&in, 8) & n.mmio.ops->features, mode);
	/* Raw descriptors for the raw publishing op; buffer contents. */
	if (mode & 0x80) {
		fill(&in, RX_DESC, 16ull * 64, mode & 0x40);
		fill(&in, TX_DESC, 16ull * 64, mode & 0x40);
	}
	fill(&in, SCRATCH + 0x100 * fuzz_take(&in, 1) % (RAM_SIZE - SCRATCH),
	     64 * fuzz_take(&in, 1), false);

	while (in.n > 0 && ops++ < MAX_OPS) {
		uint8_t op = (uint8_t)fuzz_take(&in, 1);
		unsigned int qi = op >> 7;
		uint64_t base = qi ? TX_AVAIL : RX_AVAIL;
		uint16_t num = qnum[qi];

		switch (op % 13) {
		case 0:		/* a kick */
			virtio_mmio_kick(&n.mmio, qi);
			break;
		case 1:		/* the TAP is readable */
			virtio_net_poll(&n);
			break;
		case 2:		/* the driver publishes a head */
			put16(base + 4 + 2ull * (idx[qi] % num), (uint16_t)fuzz_take(&in, 2));
			idx[qi]++;
			put16(base + 2, idx[qi]);
			break;
		case 3:		/* … or any index it likes */
			idx[qi] = (uint16_t)fuzz_take(&in, 2);
			put16(base + 2, idx[qi]);
			break;
		case 4: {	/* rewrites 16 bytes anywhere */
			uint64_t at = fuzz_take(&in, 3) % (RAM_SIZE - 16);

			fill(&in, at, 16, (mode & 0x40) && at < SCRATCH);
			break;
		}
		case 5: {	/* any register, any width */
			uint8_t buf[8] = { 0 };
			uint64_t off = fuzz_take(&in, 2) % 0x140;
			uint32_t len = 1u << (fuzz_take(&in, 1) % 4);
			uint64_t v = fuzz_take(&in, len);

			/* What was sent is checked against the features it
			 * was sent under, before a write can change them. */
			drain_peer();
			memcpy(buf, &v, sizeof(v));
			virtio_mmio_access(&n.mmio, off, buf, len, op & 0x80);
			break;
		}
		case 6:		/* avail flags, used_event */
			put16(base, (uint16_t)fuzz_take(&in, 2));
			put16(base + 4 + 2ull * num, (uint16_t)fuzz_take(&in, 2));
			break;
		case 7:
			peer_send(&in);
			break;
		case 8:
			drain_peer();
			break;
		case 9:		/* the TAP dies, or comes back for reads */
			fail_readv = op & 0x80 ? EBADFD : 0;
			break;
		case 10:
		case 11:
			post_chain(&in, qi);
			break;
		case 12:	/* the driver starts again */
			drain_peer();
			bring_up(fuzz_take(&in, 8) & n.mmio.ops->features,
				 (uint8_t)fuzz_take(&in, 1));
			break;
		}
	}
	drain_peer();
	virtio_net_exit(&n);
	return 0;
}
