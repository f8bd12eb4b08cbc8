/* vmm/virtio/vsock: the device driven the way Linux's virtio-vsock driver
 * drives it, through the MMIO transport over a fake guest, with real Unix
 * sockets on the host side: listeners in a temporary directory for the
 * guest's streams ("PATH_P"), socketpairs for host programs. The I/O loop
 * is virtio_vsock_poll(), its timer virtio_vsock_expire(). */
#include "vmm/virtio/vsock.h"
#include "lib/vsock_broker.h"
#include "tests/unit/check.h"
#include "tests/unit/virtq_driver.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/un.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT
#define CID 3
#define HDR ((uint32_t)sizeof(struct vsock_hdr))
#define STATUS 0x070
#define LIVE 0xf
#define NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET
#define SEND VSOCK_SHUTDOWN_SEND
#define RCV VSOCK_SHUTDOWN_RCV
enum { RXQ = 0, TXQ = 1, EVQ = 2 };

/* Three queues of QN entries, then buffers: rx descriptor i always names
 * RXBUF + i * 0x2000 (a header and 4 KiB, as Linux posts them). */
#define QN 64
#define RX_DESC 0x1000ull
#define TX_DESC 0x2000ull
#define EV_DESC 0x3000ull
#define AVAIL_OFF 0x400
#define USED_OFF 0x800
#define RXBUF 0x10000ull
#define RXBUF_LEN (HDR + 4096)
#define TXHDR 0x90000ull
#define TXDATA 0xa0000ull	/* up to 64 KiB + 1 */

struct pkt {
	struct vsock_hdr h;
	uint32_t len;
	uint8_t data[4096];
};

static struct fake_guest g;
static struct drv_q rxq, txq, evq;
static struct virtio_vsock dev;
static uint16_t rx_seen;		/* rx used entries consumed */
static char dir[64], sock_path[80];
/* The broker that opens guest-initiated streams: answered in line here,
 * from the test's end of its socketpair. Ports 5000-5002 are named. */
static struct vsock_broker broker;
static int broker_end = -1;
static const uint32_t named_ports[] = { 5000, 5001, 5002 };
static uint32_t g_buf_alloc, g_fwd_cnt;	/* what the guest advertises */

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void fill(uint8_t *buf, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(off + i);
}

static bool is_pattern(const uint8_t *buf, uint64_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != pattern(off + i))
			return false;
	return true;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- the driver ------------------------------------------------------- */

static void reg_w(uint32_t off, uint32_t val)
{
	virtio_mmio_access(&dev.mmio, off, (uint8_t *)&val, 4, true);
}

static uint32_t reg_r(uint32_t off)
{
	uint32_t x = 0;

	virtio_mmio_access(&dev.mmio, off, (uint8_t *)&x, 4, false);
	return x;
}

static void queue_up(unsigned int q, const struct drv_q *d)
{
	reg_w(0x030, q);
	reg_w(0x038, QN);
	reg_w(0x080, (uint32_t)d->desc);
	reg_w(0x084, 0);
	reg_w(0x090, (uint32_t)d->avail);
	reg_w(0x094, 0);
	reg_w(0x0a0, (uint32_t)d->used);
	reg_w(0x0a4, 0);
	reg_w(0x044, 1);
}

static void rx_give(uint16_t i)
{
	drv_desc(&rxq, i, RXBUF + 0x2000ull * i, RXBUF_LEN, W, 0);
	drv_publish(&rxq, i);
}

/* Reset the device and bring it up as a driver does, giving nrx rx buffers. */
static void up_with(unsigned int nrx)
{
	reg_w(STATUS, 0);
	memset(fg_host(&g, RX_DESC), 0, 0x3000);
	drv_init(&rxq, &g, QN, RX_DESC, RX_DESC + AVAIL_OFF, RX_DESC + USED_OFF);
	drv_init(&txq, &g, QN, TX_DESC, TX_DESC + AVAIL_OFF, TX_DESC + USED_OFF);
	drv_init(&evq, &g, QN, EV_DESC, EV_DESC + AVAIL_OFF, EV_DESC + USED_OFF);
	rx_seen = 0;
	reg_w(STATUS, 1);
	reg_w(STATUS, 3);
	reg_w(0x024, 1);
	reg_w(0x020, 1);	/* VIRTIO_F_VERSION_1 */
	reg_w(STATUS, 0xb);
	queue_up(RXQ, &rxq);
	queue_up(TXQ, &txq);
	queue_up(EVQ, &evq);
	reg_w(STATUS, LIVE);
	CHECK_EQ(reg_r(STATUS), LIVE);
	for (unsigned int i = 0; i < nrx; i++)
		rx_give((uint16_t)i);
	virtio_mmio_kick(&dev.mmio, RXQ);
}

static void up(void)
{
	up_with(QN);
}

/* The next packet the device gave the guest, if any; its buffer goes back. */
static bool rx_get(struct pkt *p)
{
	uint32_t id, len;

	if (drv_used_idx(&rxq) == rx_seen)
		return false;
	drv_used_elem(&rxq, rx_seen++, &id, &len);
	if (id >= QN || len < HDR || len > RXBUF_LEN) {
		fprintf(stderr, "rx used element id %u len %u\n", id, len);
		check_failures++;
		return false;
	}
	memcpy(&p->h, fg_host(&g, RXBUF + 0x2000ull * id), HDR);
	p->len = len - HDR;
	memcpy(p->data, fg_host(&g, RXBUF + 0x2000ull * id + HDR), p->len);
	if (p->h.len != p->len || p->h.src_cid != VSOCK_HOST_CID || p->h.dst_cid != CID ||
	    p->h.type != VSOCK_TYPE_STREAM || p->h.buf_alloc != VSOCK_BUF_ALLOC) {
		fprintf(stderr, "rx packet with a bad header (op %u)\n", p->h.op);
		check_failures++;
	}
	rx_give((uint16_t)id);
	return true;
}

/* Is the next packet op, from host port hp to guest port gp? */
static bool rx_expect(struct pkt *p, uint16_t op, uint32_t hp, uint32_t gp)
{
	if (!rx_get(p)) {
		fprintf(stderr, "expected op %u for %u -> %u, got nothing\n", op, hp, gp);
		return false;
	}
	if (p->h.op != op || p->h.src_port != hp || p->h.dst_port != gp) {
		fprintf(stderr, "expected op %u for %u -> %u, got op %u for %u -> %u\n", op,
			hp, gp, p->h.op, p->h.src_port, p->h.dst_port);
		return false;
	}
	return true;
}

static bool rx_none(void)
{
	struct pkt p;

	if (rx_get(&p)) {
		fprintf(stderr, "unexpected op %u for %u -> %u\n", p.h.op, p.h.src_port,
			p.h.dst_port);
		return false;
	}
	return true;
}

static struct vsock_hdr gh(uint16_t op, uint32_t gp, uint32_t hp, uint32_t flags,
			   uint32_t len)
{
	return (struct vsock_hdr){ .src_cid = CID, .dst_cid = VSOCK_HOST_CID,
				   .src_port = gp, .dst_port = hp, .len = len,
				   .type = VSOCK_TYPE_STREAM, .op = op, .flags = flags,
				   .buf_alloc = g_buf_alloc, .fwd_cnt = g_fwd_cnt };
}

/* The guest sends hlen header bytes and len payload bytes, each in its own
 * descriptor as Linux does, and notifies. */
static void tx_raw(const void *h, uint32_t hlen, const void *data, uint32_t len)
{
	memcpy(fg_host(&g, TXHDR), h, hlen);
	if (len)
		memcpy(fg_host(&g, TXDATA), data, len);
	drv_desc(&txq, 0, TXHDR, hlen, len ? N : 0, 1);
	drv_desc(&txq, 1, TXDATA, len, 0, 0);
	drv_publish(&txq, 0);
	virtio_mmio_kick(&dev.mmio, TXQ);
	/* A REQUEST goes to the broker: answer it, and let the device take
	 * the answer, as the I/O loop would. */
	if (broker_end >= 0 && vsock_broker_answer(&broker, broker_end) == 0)
		virtio_vsock_poll(&dev);
}

static void txf(uint16_t op, uint32_t gp, uint32_t hp, uint32_t flags,
		const void *data, uint32_t len)
{
	struct vsock_hdr h = gh(op, gp, hp, flags, len);

	tx_raw(&h, HDR, data, len);
}

static void tx(uint16_t op, uint32_t gp, uint32_t hp, const void *data, uint32_t len)
{
	txf(op, gp, hp, 0, data, len);
}

/* --- the host --------------------------------------------------------- */

static int host_listen(uint32_t port)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", sock_path, port);

	CHECK(n > 0 && (size_t)n < sizeof(sa.sun_path));
	CHECK(fd >= 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ(listen(fd, 128), 0);
	return fd;
}

static int host_accept(int l)
{
	int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	CHECK(fd >= 0);
	return fd;
}

/* Has the device closed its end? Reads what is left first: EOF, or a
 * reset because the device left some of ours unread. */
static bool host_closed(int fd)
{
	char b[4096];
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		;
	return n == 0 || errno == ECONNRESET;
}

static bool host_reads(int fd, const char *want)
{
	char b[256] = { 0 };
	ssize_t n = read(fd, b, sizeof(b) - 1);

	if (n < 0 || strcmp(b, want)) {
		fprintf(stderr, "host read '%s' (%zd), expected '%s'\n", b, n, want);
		return false;
	}
	return true;
}

static void host_write(int fd, const void *buf, size_t n)
{
	CHECK_EQ(write(fd, buf, n), (ssize_t)n);
}

/* The guest opens a stream from its port gp to host port hp, where l
 * listens: the host's end of it. */
static int guest_stream(int l, uint32_t gp, uint32_t hp)
{
	struct pkt p;

	tx(VSOCK_OP_REQUEST, gp, hp, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RESPONSE, hp, gp));
	CHECK_EQ(p.h.fwd_cnt, 0);
	return host_accept(l);
}

/* A host program sends "CONNECT gp\n" and maybe more: the device's end of
 * it goes to the device, the program's end is returned. */
static int host_dial(const char *line)
{
	int sv[2];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	if (*line)
		host_write(sv[0], line, strlen(line));
	virtio_vsock_accept(&dev, sv[1]);
	return sv[0];
}

/* A host program connects to guest port gp, with extra bytes after the
 * line, and the guest accepts: the program's end; *hp its host port. */
static int host_stream(uint32_t gp, uint32_t *hp, const char *extra)
{
	char line[64], ok[32];
	struct pkt p;
	int fd;

	snprintf(line, sizeof(line), "CONNECT %u\n%s", gp, extra);
	fd = host_dial(line);
	CHECK(rx_get(&p));
	CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, gp);
	CHECK(p.h.src_port >= (1u << 30));
	*hp = p.h.src_port;
	tx(VSOCK_OP_RESPONSE, gp, *hp, NULL, 0);
	snprintf(ok, sizeof(ok), "OK %u\n", *hp);
	CHECK(host_reads(fd, ok));
	return fd;
}

static unsigned int nconns(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		n += dev.conn[i].state != CONN_FREE;
	return n;
}

static struct vsock_conn *conn_of(uint32_t hp, uint32_t gp)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (dev.conn[i].state != CONN_FREE && dev.conn[i].host_port == hp &&
		    dev.conn[i].guest_port == gp)
			return &dev.conn[i];
	return NULL;
}

/* Make the device's socket of a stream take little at a time, so that
 * guest data is kept in the device whatever the system's defaults. */
static void small_sndbuf(uint32_t hp, uint32_t gp)
{
	struct vsock_conn *c = conn_of(hp, gp);
	int n = 4096;

	CHECK(c != NULL);
	if (c)
		CHECK_EQ(setsockopt(c->ev.fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof(n)), 0);
}

static void setup(void)
{
	/* As in airlock-vmm: a host socket that went away is an EPIPE to
	 * handle (the device writes with writev, which cannot say
	 * MSG_NOSIGNAL). */
	signal(SIGPIPE, SIG_IGN);
	CHECK_EQ(fg_init(&g), 0);
	strcpy(dir, "/tmp/airlock-test-vsock-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock_path, sizeof(sock_path), "%s/dev.sock", dir);
	{
		struct vsock_host_ports hp = { .ports = named_ports,
					       .nports = (sizeof(named_ports) / sizeof(named_ports[0])) };
		int sv[2];

		CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
		broker = (struct vsock_broker){ .nports = (sizeof(named_ports) / sizeof(named_ports[0])) };
		memcpy(broker.ports, named_ports, sizeof(named_ports));
		snprintf(broker.prefix, sizeof(broker.prefix), "dev.sock_");
		broker.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		CHECK(broker.dirfd >= 0);
		/* Non-blocking: a packet that asked nothing leaves nothing to read. */
		CHECK_EQ(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
		broker_end = sv[1];
		hp.broker_fd = sv[0];
		CHECK_EQ(virtio_vsock_setup(&dev, &g.gm, CID, &hp), 0);
	}
	g_buf_alloc = VSOCK_BUF_ALLOC;
	g_fwd_cnt = 0;
	up();
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	virtio_vsock_exit(&dev);
	fg_free(&g);
	close(broker_end);
	broker_end = -1;
	close(broker.dirfd);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

/* --- tests ------------------------------------------------------------ */

TEST(config_and_setup)
{
	static struct virtio_vsock bad;
	uint64_t cid = 0;

	setup();
	CHECK_EQ(reg_r(0x008), 19);
	virtio_mmio_access(&dev.mmio, 0x100, (uint8_t *)&cid, 8, false);
	CHECK_EQ(cid, CID);
	CHECK_EQ(reg_r(0x104), 0);
	reg_w(0x030, 3);	/* three queues: rx, tx, event */
	CHECK_EQ(reg_r(0x034), 0);
	teardown();

	CHECK_EQ(virtio_vsock_setup(&bad, &g.gm, 2, NULL), -EINVAL);
	CHECK_EQ(virtio_vsock_setup(&bad, &g.gm, 0xffffffffull, NULL), -EINVAL);
	CHECK_EQ(virtio_vsock_setup(&bad, &g.gm, 1ull << 32, NULL), -EINVAL);
	{
		struct vsock_host_ports many = { .broker_fd = -1, .ports = named_ports,
						 .nports = VSOCK_BROKER_MAX_PORTS + 1 };

		CHECK_EQ(virtio_vsock_setup(&bad, &g.gm, 3, &many), -EINVAL);
	}
	CHECK_EQ(virtio_vsock_setup(&bad, &g.gm, 3, NULL), 0);
	virtio_vsock_exit(&bad);
}

TEST(header_checks)
{
	static const struct {
		struct vsock_hdr h;
		uint64_t payload;
		const char *why;
	} cases[] = {
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 10 }, 10, NULL },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 1 }, 0, NULL },
		{ { .src_cid = CID, .dst_cid = 2, .type = 2, .op = 1 }, 0, "not a stream packet" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 0, .op = 1 }, 0, "not a stream packet" },
		{ { .src_cid = 4, .dst_cid = 2, .type = 1, .op = 1 }, 0, "wrong source CID" },
		{ { .src_cid = CID | (1ull << 32), .dst_cid = 2, .type = 1, .op = 1 }, 0,
		  "wrong source CID" },
		{ { .src_cid = CID, .dst_cid = 3, .type = 1, .op = 1 }, 0, "not addressed to the host" },
		{ { .src_cid = CID, .dst_cid = 1, .type = 1, .op = 1 }, 0, "not addressed to the host" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 0 }, 0, "unknown operation" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 8 }, 0, "unknown operation" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 0xffff }, 0, "unknown operation" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 65537 }, 65537,
		  "payload larger than 64 KiB" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 65536 }, 65536, NULL },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 10 }, 9,
		  "length field does not match the payload" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 0 }, 1,
		  "length field does not match the payload" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 5, .len = 0xffffffff }, 10,
		  "payload larger than 64 KiB" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 6, .len = 4 }, 4,
		  "payload on a control packet" },
		{ { .src_cid = CID, .dst_cid = 2, .type = 1, .op = 1, .len = 1 }, 1,
		  "payload on a control packet" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		int r = vsock_hdr_check(&cases[i].h, CID, cases[i].payload, &why);

		if (cases[i].why) {
			CHECK_EQ(r, -EINVAL);
			CHECK_STR(why, cases[i].why);
		} else {
			CHECK_EQ(r, 0);
		}
	}
}

TEST(guest_stream_both_ways)
{
	struct pkt p;
	int l, hs;

	setup();
	l = host_listen(5000);
	hs = guest_stream(l, 1000, 5000);
	CHECK_EQ(nconns(), 1);
	tx(VSOCK_OP_RW, 1000, 5000, "hello host", 10);
	CHECK(host_reads(hs, "hello host"));
	host_write(hs, "hello guest", 11);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_RW, 5000, 1000));
	CHECK_EQ(p.len, 11);
	CHECK(memcmp(p.data, "hello guest", 11) == 0);
	CHECK_EQ(p.h.fwd_cnt, 10);	/* every packet carries our credit */
	CHECK(rx_none());
	/* Asked for credit, the device says how much reached the host. */
	tx(VSOCK_OP_CREDIT_REQUEST, 1000, 5000, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_CREDIT_UPDATE, 5000, 1000));
	CHECK_EQ(p.h.fwd_cnt, 10);
	/* The guest shuts its sending side: the host reads EOF and may
	 * still send. */
	txf(VSOCK_OP_SHUTDOWN, 1000, 5000, SEND, NULL, 0);
	CHECK(host_reads(hs, ""));
	host_write(hs, "more", 4);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_RW, 5000, 1000));
	CHECK_EQ(p.len, 4);
	CHECK_EQ(nconns(), 1);
	/* The host is done too: both directions are, so RST, and the host
	 * socket is closed. */
	shutdown(hs, SHUT_WR);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 1000));
	CHECK(rx_none());
	CHECK_EQ(nconns(), 0);
	CHECK(host_closed(hs));
	/* The stream is gone: anything for it is answered with RST, an RST
	 * with nothing. */
	tx(VSOCK_OP_RW, 1000, 5000, "x", 1);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 1000));
	tx(VSOCK_OP_RST, 1000, 5000, NULL, 0);
	CHECK(rx_none());
	CHECK_EQ(dev.dropped.seen, 0);
	close(hs);
	close(l);
	teardown();
}

TEST(guest_connect_refused)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pkt p;
	int fd, l;

	setup();
	/* Nothing there; a socket bound but not listening; the largest port,
	 * not named; a listener on a port not named. */
	tx(VSOCK_OP_REQUEST, 1000, 5001, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5001, 1000));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_5002", sock_path);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	tx(VSOCK_OP_REQUEST, 1001, 5002, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5002, 1001));
	tx(VSOCK_OP_REQUEST, 1002, 0xffffffff, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 0xffffffff, 1002));
	l = host_listen(6000);
	tx(VSOCK_OP_REQUEST, 1003, 6000, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 6000, 1003));
	CHECK(accept4(l, NULL, NULL, SOCK_NONBLOCK) < 0 && errno == EAGAIN);
	CHECK(rx_none());
	CHECK_EQ(nconns(), 0);
	CHECK_EQ(dev.dropped.seen, 0);
	close(l);
	close(fd);
	teardown();
}

TEST(host_stream_both_ways)
{
	uint32_t hp, hp2;
	struct pkt p;
	int hs, hs2;

	setup();
	/* Bytes right after the CONNECT line are the stream's first. */
	hs = host_stream(1234, &hp, "early");
	CHECK(rx_expect(&p, VSOCK_OP_RW, hp, 1234));
	CHECK_EQ(p.len, 5);
	CHECK(memcmp(p.data, "early", 5) == 0);
	tx(VSOCK_OP_RW, 1234, hp, "hi", 2);
	CHECK(host_reads(hs, "hi"));
	hs2 = host_stream(1234, &hp2, "");
	CHECK(hp2 != hp);
	CHECK_EQ(nconns(), 2);
	/* The guest closes (SHUTDOWN both ways): RST, host EOF. */
	txf(VSOCK_OP_SHUTDOWN, 1234, hp, RCV | SEND, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, hp, 1234));
	CHECK(host_closed(hs));
	CHECK_EQ(nconns(), 1);
	CHECK(conn_of(hp2, 1234) && conn_of(hp2, 1234)->state == CONN_ESTABLISHED);
	close(hs);
	close(hs2);
	teardown();
}

TEST(host_connect_refused_by_guest)
{
	struct pkt p;
	int hs;

	setup();
	hs = host_dial("CONNECT 999\n");
	CHECK(rx_get(&p));
	CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, 999);
	tx(VSOCK_OP_RST, 999, p.h.src_port, NULL, 0);	/* nobody listens */
	CHECK(host_closed(hs));	/* and no "OK" came first */
	CHECK_EQ(nconns(), 0);
	CHECK(rx_none());
	close(hs);
	teardown();
}

TEST(handshake_refusals)
{
	static const char *const bad[] = {
		"HELLO 1234\n", "CONNECT\n", "CONNECT \n", "CONNECT x\n", "CONNECT -1\n",
		"CONNECT +1\n", "CONNECT 4294967296\n", "CONNECT 99999999999999999999999\n",
		"CONNECT 12 13\n", "CONNECT 12\r\r\n", "connect 12\n", "\n",
		"CONNECT 0000000000000000000000000012\n",	/* longer than any line */
	};
	struct pkt p;
	int hs;

	setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hs = host_dial(bad[i]);
		CHECK(host_closed(hs));
		close(hs);
	}
	/* EOF before the newline. */
	hs = host_dial("CONNECT 5");
	shutdown(hs, SHUT_WR);
	virtio_vsock_poll(&dev);
	CHECK(host_closed(hs));
	close(hs);
	CHECK(rx_none());
	CHECK_EQ(nconns(), 0);
	/* A CRLF line, and a line that arrives a piece at a time. */
	hs = host_dial("CONNECT 7\r\n");
	CHECK(rx_get(&p));
	CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, 7);
	close(hs);
	hs = host_dial("CONN");
	virtio_vsock_poll(&dev);
	host_write(hs, "ECT 8", 5);
	virtio_vsock_poll(&dev);
	CHECK(rx_none());
	host_write(hs, "\n", 1);
	virtio_vsock_poll(&dev);
	CHECK(rx_get(&p));
	CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, 8);
	close(hs);
	teardown();
}

TEST(deadlines)
{
	uint64_t t0 = mono_ns();
	uint32_t hp;
	struct pkt p;
	int silent, waiting, hs;

	setup();
	silent = host_dial("");
	waiting = host_dial("CONNECT 55\n");	/* the guest never answers */
	CHECK(rx_get(&p));
	CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
	hs = host_stream(56, &hp, "");
	CHECK_EQ(nconns(), 3);
	virtio_vsock_expire(&dev, t0 + 5000000000ull);
	CHECK_EQ(nconns(), 3);
	CHECK(rx_none());
	virtio_vsock_expire(&dev, t0 + 20000000000ull);
	CHECK(host_closed(silent));
	CHECK(host_closed(waiting));
	CHECK(rx_expect(&p, VSOCK_OP_RST, p.h.src_port, 55));	/* it had heard */
	CHECK(rx_none());
	/* An established stream has no deadline. */
	virtio_vsock_expire(&dev, t0 + 1000000000000ull);
	CHECK_EQ(nconns(), 1);
	CHECK(conn_of(hp, 56) && conn_of(hp, 56)->state == CONN_ESTABLISHED);
	close(silent);
	close(waiting);
	close(hs);
	teardown();
}

TEST(handshake_limit)
{
	int fds[VSOCK_MAX_HANDSHAKES + 1];
	int l, hs;

	setup();
	for (int i = 0; i <= VSOCK_MAX_HANDSHAKES; i++)
		fds[i] = host_dial("");
	/* The first 16 wait for their line, the 17th is closed at once. */
	CHECK_EQ(nconns(), VSOCK_MAX_HANDSHAKES);
	CHECK(host_closed(fds[VSOCK_MAX_HANDSHAKES]));
	CHECK(!host_closed(fds[0]));
	/* The guest can still open streams. */
	l = host_listen(5000);
	hs = guest_stream(l, 1000, 5000);
	CHECK_EQ(nconns(), VSOCK_MAX_HANDSHAKES + 1);
	close(hs);
	close(l);
	virtio_vsock_expire(&dev, mono_ns() + 20000000000ull);
	for (int i = 0; i <= VSOCK_MAX_HANDSHAKES; i++) {
		CHECK(host_closed(fds[i]));
		close(fds[i]);
	}
	teardown();
}

TEST(table_full)
{
	struct pkt p;
	int l, hs;

	setup();
	l = host_listen(5000);
	for (uint32_t i = 0; i < VSOCK_MAX_CONNS; i++) {
		tx(VSOCK_OP_REQUEST, 2000 + i, 5000, NULL, 0);
		CHECK(rx_expect(&p, VSOCK_OP_RESPONSE, 5000, 2000 + i));
	}
	CHECK_EQ(nconns(), VSOCK_MAX_CONNS);
	/* One more from either side is refused, and nothing else changes. */
	tx(VSOCK_OP_REQUEST, 3000, 5000, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 3000));
	hs = host_dial("CONNECT 1\n");
	CHECK(host_closed(hs));
	close(hs);
	CHECK_EQ(nconns(), VSOCK_MAX_CONNS);
	/* Once one ends, there is room again. */
	tx(VSOCK_OP_RST, 2000, 5000, NULL, 0);
	tx(VSOCK_OP_REQUEST, 3000, 5000, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RESPONSE, 5000, 3000));
	CHECK(rx_none());
	CHECK_EQ(dev.dropped.seen, 0);
	close(l);
	teardown();
}

TEST(credit_host_to_guest)
{
	static uint8_t sent[30000], got[30000];
	uint32_t hp, total = 0;
	struct pkt p;
	int hs;

	setup();
	g_buf_alloc = 10000;	/* the guest's window, from its RESPONSE on */
	hs = host_stream(1234, &hp, "");
	fill(sent, 0, sizeof(sent));
	host_write(hs, sent, sizeof(sent));
	for (int round = 0; round < 4; round++) {
		uint32_t want = round < 2 ? 10000 : 5000;
		uint32_t n = 0;

		virtio_vsock_poll(&dev);
		while (rx_get(&p) && p.h.op == VSOCK_OP_RW) {
			CHECK(total + p.len <= sizeof(got));
			if (total + p.len > sizeof(got))
				break;
			memcpy(got + total, p.data, p.len);
			total += p.len;
			n += p.len;
		}
		/* Exactly the window, then one CREDIT_REQUEST, then quiet. */
		CHECK_EQ(n, want);
		if (total < sizeof(sent))
			CHECK_EQ(p.h.op, VSOCK_OP_CREDIT_REQUEST);
		virtio_vsock_poll(&dev);
		CHECK(rx_none());
		/* The guest reads what it got and tells. */
		g_fwd_cnt = total;
		g_buf_alloc = round == 1 ? 5000 : 10000;
		tx(VSOCK_OP_CREDIT_UPDATE, 1234, hp, NULL, 0);
	}
	CHECK_EQ(total, sizeof(sent));
	CHECK(memcmp(got, sent, sizeof(sent)) == 0);
	/* A guest whose fwd_cnt runs ahead of what it got is given nothing. */
	host_write(hs, sent, 100);
	g_fwd_cnt = total + 0x80000000u;
	tx(VSOCK_OP_CREDIT_UPDATE, 1234, hp, NULL, 0);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_CREDIT_REQUEST, hp, 1234));
	CHECK(rx_none());
	close(hs);
	teardown();
}

/* Drain the guest's rx, noting the stream's advertised fwd_cnt. */
static void note_credit(uint32_t *adv)
{
	struct pkt p;

	while (rx_get(&p)) {
		CHECK(p.h.op == VSOCK_OP_CREDIT_UPDATE || p.h.op == VSOCK_OP_RW);
		*adv = p.h.fwd_cnt;
	}
}

TEST(credit_guest_to_host)
{
	static uint8_t buf[VSOCK_MAX_PKT];
	uint32_t sent = 0, adv = 0, credit;
	struct pkt p;
	int l, hs;

	setup();
	l = host_listen(5000);
	hs = guest_stream(l, 1000, 5000);
	small_sndbuf(5000, 1000);
	/* The host does not read: the guest sends all the credit it has,
	 * as the device keeps telling it, and that is taken. */
	while ((credit = VSOCK_BUF_ALLOC - (sent - adv)) > 0) {
		uint32_t n = credit < sizeof(buf) ? credit : sizeof(buf);

		fill(buf, sent, n);
		tx(VSOCK_OP_RW, 1000, 5000, buf, n);
		sent += n;
		note_credit(&adv);
	}
	CHECK(sent >= VSOCK_BUF_ALLOC);
	CHECK(conn_of(5000, 1000) && conn_of(5000, 1000)->txlen > 0);
	CHECK_EQ(dev.dropped.seen, 0);
	/* One byte beyond the credit it was given: dropped, reset. */
	tx(VSOCK_OP_RW, 1000, 5000, "x", 1);
	CHECK_EQ(dev.dropped.seen, 1);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 1000));
	CHECK_EQ(nconns(), 0);
	CHECK(host_closed(hs));
	close(hs);
	close(l);
	teardown();
}

TEST(guest_to_host_through_a_slow_reader)
{
	static uint8_t buf[VSOCK_MAX_PKT];
	const uint32_t total = 2u << 20;
	uint32_t sent = 0, got = 0, adv = 0;
	struct pkt p;
	int l, hs, rounds = 0;

	setup();
	l = host_listen(5000);
	hs = guest_stream(l, 1000, 5000);
	small_sndbuf(5000, 1000);
	while (got < total && rounds++ < 10000) {
		uint32_t n = VSOCK_BUF_ALLOC - (sent - adv);	/* the credit */
		ssize_t r;

		if (n > sizeof(buf))
			n = sizeof(buf);
		if (n > total - sent)
			n = total - sent;
		if (n) {
			fill(buf, sent, n);
			tx(VSOCK_OP_RW, 1000, 5000, buf, n);
			sent += n;
		}
		/* The host reads 50000 bytes at a time; the device then
		 * flushes what it kept and tells the guest. */
		r = read(hs, buf, 50000);
		if (r > 0) {
			CHECK(is_pattern(buf, got, (size_t)r));
			got += (uint32_t)r;
		}
		virtio_vsock_poll(&dev);
		note_credit(&adv);
	}
	CHECK_EQ(got, total);
	CHECK_EQ(dev.dropped.seen, 0);
	txf(VSOCK_OP_SHUTDOWN, 1000, 5000, SEND, NULL, 0);
	CHECK(host_reads(hs, ""));
	shutdown(hs, SHUT_WR);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 1000));
	CHECK_EQ(nconns(), 0);
	close(hs);
	close(l);
	teardown();
}

TEST(guest_close_waits_for_its_data)
{
	static uint8_t buf[VSOCK_MAX_PKT];
	uint64_t got = 0;
	struct pkt p;
	ssize_t r;
	int l, hs, rounds = 0;

	setup();
	l = host_listen(5000);
	hs = guest_stream(l, 1000, 5000);
	small_sndbuf(5000, 1000);
	for (uint32_t off = 0; off < VSOCK_BUF_ALLOC; off += sizeof(buf)) {
		fill(buf, off, sizeof(buf));
		tx(VSOCK_OP_RW, 1000, 5000, buf, sizeof(buf));
	}
	note_credit(&(uint32_t){ 0 });
	CHECK(conn_of(5000, 1000) && conn_of(5000, 1000)->txlen > 0);
	/* The guest closes with data still on its way: no RST until the
	 * host has all of it, then EOF. */
	txf(VSOCK_OP_SHUTDOWN, 1000, 5000, RCV | SEND, NULL, 0);
	CHECK(rx_none());
	CHECK_EQ(nconns(), 1);
	while ((r = read(hs, buf, sizeof(buf))) != 0 && rounds++ < 100000) {
		if (r > 0) {
			CHECK(is_pattern(buf, got, (size_t)r));
			got += (uint64_t)r;
		} else if (errno == EAGAIN) {
			virtio_vsock_poll(&dev);
		} else {
			break;
		}
	}
	CHECK_EQ(got, VSOCK_BUF_ALLOC);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 1000));
	CHECK_EQ(nconns(), 0);
	close(hs);
	close(l);
	teardown();
}

TEST(host_shuts_first)
{
	struct pkt p;
	uint32_t hp;
	int hs;

	setup();
	hs = host_stream(1234, &hp, "last words");
	CHECK(rx_expect(&p, VSOCK_OP_RW, hp, 1234));
	shutdown(hs, SHUT_WR);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_SHUTDOWN, hp, 1234));
	CHECK_EQ(p.h.flags, SEND);
	CHECK(rx_none());
	/* The guest may still send, and then closes. */
	tx(VSOCK_OP_RW, 1234, hp, "late", 4);
	CHECK(host_reads(hs, "late"));
	txf(VSOCK_OP_SHUTDOWN, 1234, hp, SEND, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, hp, 1234));
	CHECK(host_closed(hs));
	CHECK_EQ(nconns(), 0);
	close(hs);
	teardown();
}

TEST(guest_will_not_read)
{
	struct pkt p;
	uint32_t hp;
	int hs;

	setup();
	hs = host_stream(1234, &hp, "");
	txf(VSOCK_OP_SHUTDOWN, 1234, hp, RCV, NULL, 0);
	/* The host's writes now fail; the guest may still send. */
	CHECK_EQ(send(hs, "x", 1, MSG_NOSIGNAL), -1);
	CHECK_EQ(errno, EPIPE);
	tx(VSOCK_OP_RW, 1234, hp, "still", 5);
	CHECK(host_reads(hs, "still"));
	txf(VSOCK_OP_SHUTDOWN, 1234, hp, SEND, NULL, 0);
	CHECK(rx_expect(&p, VSOCK_OP_RST, hp, 1234));
	CHECK(host_closed(hs));
	close(hs);
	teardown();
}

TEST(host_hangs_up)
{
	struct pkt p;
	uint32_t hp;
	int l, hs;

	setup();
	/* Idle: the guest learns EOF, and its next write resets the stream. */
	hs = host_stream(1234, &hp, "");
	close(hs);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_SHUTDOWN, hp, 1234));
	tx(VSOCK_OP_RW, 1234, hp, "anyone?", 7);
	CHECK(rx_expect(&p, VSOCK_OP_RST, hp, 1234));
	CHECK_EQ(nconns(), 0);
	/* With the guest's data unread: a reset at once. */
	l = host_listen(5000);
	hs = guest_stream(l, 1000, 5000);
	tx(VSOCK_OP_RW, 1000, 5000, "unread", 6);
	close(hs);
	virtio_vsock_poll(&dev);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 1000));
	CHECK_EQ(nconns(), 0);
	CHECK_EQ(dev.dropped.seen, 0);
	close(l);
	teardown();
}

TEST(guest_reset)
{
	uint32_t hp;
	int hs;

	setup();
	hs = host_stream(1234, &hp, "");
	tx(VSOCK_OP_RST, 1234, hp, NULL, 0);
	CHECK(host_closed(hs));
	CHECK(rx_none());	/* no reset answers a reset */
	CHECK_EQ(nconns(), 0);
	close(hs);
	teardown();
}

TEST(malformed_packets_are_dropped)
{
	static uint8_t big[VSOCK_MAX_PKT + 1];
	struct vsock_hdr h;
	struct pkt p;
	uint32_t hp;
	int l, hs;

	setup();
	l = host_listen(5000);
	hs = guest_stream(l, 1000, 5000);
	/* Not even a header; wrong CIDs: dropped, nobody to reset. */
	h = gh(VSOCK_OP_RW, 1000, 5000, 0, 0);
	tx_raw(&h, HDR - 1, NULL, 0);
	h.src_cid = 7;
	tx_raw(&h, HDR, NULL, 0);
	h = gh(VSOCK_OP_RW, 1000, 5000, 0, 0);
	h.dst_cid = CID;
	tx_raw(&h, HDR, NULL, 0);
	CHECK_EQ(dev.dropped.seen, 3);
	CHECK(rx_none());
	tx(VSOCK_OP_RW, 1000, 5000, "alive", 5);
	CHECK(host_reads(hs, "alive"));
	tx(VSOCK_OP_RST, 1000, 5000, NULL, 0);
	/* For no stream: dropped, answered with RST. */
	h = gh(0, 1, 1, 0, 0);
	tx_raw(&h, HDR, NULL, 0);
	h = gh(VSOCK_OP_REQUEST, 2, 2, 0, 0);
	h.type = 2;	/* SEQPACKET was not offered */
	tx_raw(&h, HDR, NULL, 0);
	CHECK_EQ(dev.dropped.seen, 5);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 1, 1));
	CHECK(rx_expect(&p, VSOCK_OP_RST, 2, 2));
	CHECK(rx_none());
	close(hs);

	/* Naming a live stream: dropped, and the stream is reset. */
	for (int kind = 0; kind < 9; kind++) {
		unsigned int dropped = dev.dropped.seen;

		hs = guest_stream(l, 1000, 5000);
		h = gh(VSOCK_OP_RW, 1000, 5000, 0, 4);
		switch (kind) {
		case 0:		/* length field larger than the payload */
			h.len = 10;
			tx_raw(&h, HDR, "abcd", 4);
			break;
		case 1:		/* and smaller */
			h.len = 3;
			tx_raw(&h, HDR, "abcd", 4);
			break;
		case 2:		/* more than 64 KiB */
			h.len = sizeof(big);
			tx_raw(&h, HDR, big, sizeof(big));
			break;
		case 3:		/* payload on a control packet */
			h.op = VSOCK_OP_CREDIT_UPDATE;
			tx_raw(&h, HDR, "abcd", 4);
			break;
		case 4:		/* unknown op */
			h = gh(9, 1000, 5000, 0, 0);
			tx_raw(&h, HDR, NULL, 0);
			break;
		case 5:		/* not a stream packet */
			h = gh(VSOCK_OP_RW, 1000, 5000, 0, 0);
			h.type = 2;
			tx_raw(&h, HDR, NULL, 0);
			break;
		case 6:		/* a response on an open stream */
			tx(VSOCK_OP_RESPONSE, 1000, 5000, NULL, 0);
			break;
		case 7:		/* a request for it again */
			tx(VSOCK_OP_REQUEST, 1000, 5000, NULL, 0);
			break;
		case 8:		/* data after the guest shut its sending side */
			txf(VSOCK_OP_SHUTDOWN, 1000, 5000, SEND, NULL, 0);
			tx(VSOCK_OP_RW, 1000, 5000, "abcd", 4);
			break;
		}
		CHECK_EQ(dev.dropped.seen, dropped + 1);
		if (!rx_expect(&p, VSOCK_OP_RST, 5000, 1000))
			fprintf(stderr, "  in case %d\n", kind);
		CHECK(rx_none());
		CHECK_EQ(nconns(), 0);
		CHECK(host_closed(hs));
		close(hs);
	}
	/* A host stream the guest has not accepted yet gets no data. */
	hs = host_dial("CONNECT 77\n");
	CHECK(rx_get(&p));
	hp = p.h.src_port;
	tx(VSOCK_OP_RW, 77, hp, "sneaky", 6);
	CHECK(rx_expect(&p, VSOCK_OP_RST, hp, 77));
	CHECK(host_closed(hs));
	close(hs);
	/* Through all of it the device stayed up. */
	CHECK_EQ(reg_r(STATUS), LIVE);
	close(l);
	teardown();
}

TEST(resets_for_unknown_streams_are_bounded)
{
	struct pkt p;
	unsigned int n = 0;

	setup();
	up_with(0);
	for (uint32_t i = 0; i < 40; i++)
		tx(VSOCK_OP_RW, 100 + i, 200, "x", 1);
	for (uint16_t i = 0; i < QN; i++)
		rx_give(i);
	virtio_mmio_kick(&dev.mmio, RXQ);
	while (rx_get(&p)) {
		CHECK_EQ(p.h.op, VSOCK_OP_RST);
		CHECK_EQ(p.h.dst_port, 100 + n);
		n++;
	}
	CHECK_EQ(n, VSOCK_PENDING_RST);
	teardown();
}

TEST(device_reset_frees_streams)
{
	uint32_t hp;
	struct pkt p;
	int l, ha, hb, hc;

	setup();
	l = host_listen(5000);
	ha = guest_stream(l, 1000, 5000);
	hb = host_stream(1234, &hp, "");
	hc = host_dial("");	/* still handshaking: the guest never heard */
	CHECK_EQ(nconns(), 3);
	reg_w(STATUS, 0);
	virtio_vsock_poll(&dev);
	CHECK(host_closed(ha));
	CHECK(host_closed(hb));
	CHECK(!host_closed(hc));
	CHECK_EQ(nconns(), 1);
	/* It asks while the driver is away: the request waits for the new
	 * driver, through another reset. */
	host_write(hc, "CONNECT 42\n", 11);
	virtio_vsock_poll(&dev);
	reg_w(STATUS, 0);
	virtio_vsock_poll(&dev);
	CHECK_EQ(nconns(), 1);
	up();
	CHECK(rx_get(&p));
	CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
	CHECK_EQ(p.h.dst_port, 42);
	CHECK(rx_none());
	/* The old streams are unknown now. */
	tx(VSOCK_OP_RW, 1000, 5000, "x", 1);
	CHECK(rx_expect(&p, VSOCK_OP_RST, 5000, 1000));
	close(ha);
	close(hb);
	close(hc);
	close(l);
	teardown();
}

TEST(broken_rings_stop_the_device)
{
	for (int kind = 0; kind < 3; kind++) {
		uint32_t hp;
		int hs;

		setup();
		up_with(0);
		switch (kind) {
		case 0:		/* an rx buffer the device would have to read */
			drv_desc(&rxq, 0, RXBUF, RXBUF_LEN, 0, 0);
			drv_publish(&rxq, 0);
			virtio_mmio_kick(&dev.mmio, RXQ);
			break;
		case 1:		/* an rx buffer too small for a header */
			drv_desc(&rxq, 0, RXBUF, HDR - 1, W, 0);
			drv_publish(&rxq, 0);
			virtio_mmio_kick(&dev.mmio, RXQ);
			break;
		case 2:		/* a tx chain that loops */
			drv_desc(&txq, 0, TXHDR, HDR, N, 1);
			drv_desc(&txq, 1, TXDATA, 4, N, 0);
			drv_publish(&txq, 0);
			virtio_mmio_kick(&dev.mmio, TXQ);
			break;
		}
		CHECK_EQ(reg_r(STATUS), LIVE | NEEDS_RESET);
		/* A driver reset brings it back. */
		up();
		hs = host_stream(1, &hp, "");
		close(hs);
		teardown();
	}
}

TEST(split_buffers)
{
	static const char msg[] = "header and payload in pieces";
	uint8_t h[HDR], got[64];
	uint32_t hp, id, len;
	struct vsock_hdr rh;
	int hs;

	setup();
	hs = host_stream(1234, &hp, "");
	/* The guest's header in three descriptors, its payload in three. */
	struct vsock_hdr th = gh(VSOCK_OP_RW, 1234, hp, 0, sizeof(msg));

	memcpy(h, &th, HDR);
	memcpy(fg_host(&g, TXHDR), h, HDR);
	memcpy(fg_host(&g, TXDATA), msg, sizeof(msg));
	drv_desc(&txq, 5, TXHDR, 20, N, 6);
	drv_desc(&txq, 6, TXHDR + 20, 20, N, 7);
	drv_desc(&txq, 7, TXHDR + 40, HDR - 40, N, 8);
	drv_desc(&txq, 8, TXDATA, 3, N, 9);
	drv_desc(&txq, 9, TXDATA + 3, 10, N, 10);
	drv_desc(&txq, 10, TXDATA + 13, sizeof(msg) - 13, 0, 0);
	drv_publish(&txq, 5);
	virtio_mmio_kick(&dev.mmio, TXQ);
	CHECK_EQ(read(hs, got, sizeof(got)), sizeof(msg));
	CHECK(memcmp(got, msg, sizeof(msg)) == 0);
	/* An rx buffer as Linux 6.1 posts it: the header, then the data. */
	up_with(0);
	close(hs);
	hs = host_dial("CONNECT 1234\n");	/* no rx buffers: it waits */
	CHECK_EQ(nconns(), 1);
	drv_desc(&rxq, 0, RXBUF, HDR, W | N, 1);
	drv_desc(&rxq, 1, RXBUF + 0x1000, 4096, W, 0);
	drv_publish(&rxq, 0);
	virtio_mmio_kick(&dev.mmio, RXQ);
	CHECK_EQ(drv_used_idx(&rxq), 1);
	drv_used_elem(&rxq, 0, &id, &len);
	CHECK_EQ(len, HDR);
	memcpy(&rh, fg_host(&g, RXBUF), HDR);
	CHECK_EQ(rh.op, VSOCK_OP_REQUEST);
	teardown();
	close(hs);
}

TEST(streams_take_turns)
{
	static uint8_t data[3 * 4096];
	uint32_t hp[4];
	int hs[4];
	struct pkt p;

	setup();
	for (int i = 0; i < 4; i++) {
		hs[i] = host_stream(100 + (uint32_t)i, &hp[i], "");
		host_write(hs[i], data, sizeof(data));
	}
	virtio_vsock_poll(&dev);
	/* Four buffers' worth in a row go to four different streams. */
	for (int k = 0; k < 3; k++) {
		bool seen[4] = { false };

		for (int i = 0; i < 4; i++) {
			CHECK(rx_get(&p));
			CHECK_EQ(p.h.op, VSOCK_OP_RW);
			CHECK_EQ(p.len, 4096);
			for (int j = 0; j < 4; j++)
				if (p.h.src_port == hp[j]) {
					CHECK(!seen[j]);
					seen[j] = true;
				}
		}
	}
	CHECK(rx_none());
	for (int i = 0; i < 4; i++)
		close(hs[i]);
	teardown();
}

CHECK_MAIN(
	TEST_ENTRY(config_and_setup),
	TEST_ENTRY(header_checks),
	TEST_ENTRY(guest_stream_both_ways),
	TEST_ENTRY(guest_connect_refused),
	TEST_ENTRY(host_stream_both_ways),
	TEST_ENTRY(host_connect_refused_by_guest),
	TEST_ENTRY(handshake_refusals),
	TEST_ENTRY(deadlines),
	TEST_ENTRY(handshake_limit),
	TEST_ENTRY(table_full),
	TEST_ENTRY(credit_host_to_guest),
	TEST_ENTRY(credit_guest_to_host),
	TEST_ENTRY(guest_to_host_through_a_slow_reader),
	TEST_ENTRY(guest_close_waits_for_its_data),
	TEST_ENTRY(host_shuts_first),
	TEST_ENTRY(guest_will_not_read),
	TEST_ENTRY(host_hangs_up),
	TEST_ENTRY(guest_reset),
	TEST_ENTRY(malformed_packets_are_dropped),
	TEST_ENTRY(resets_for_unknown_streams_are_bounded),
	TEST_ENTRY(device_reset_frees_streams),
	TEST_ENTRY(broken_rings_stop_the_device),
	TEST_ENTRY(split_buffers),
	TEST_ENTRY(streams_take_turns),
)
