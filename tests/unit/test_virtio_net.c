/* vmm/virtio/net: the device driven as Linux's virtio-net driver drives
 * it, through the MMIO transport over a fake guest, with a SOCK_SEQPACKET
 * socketpair standing in for the TAP (packet boundaries kept). readv is
 * wrapped (-Wl,--wrap=readv) so that the stand-in, like a TAP, reports a
 * frame's whole length when it had to cut it, and so that a test can make
 * the TAP fail. The I/O loop is virtio_net_poll() and virtio_mmio_kick(). */
#include "vmm/virtio/net.h"
#include "vmm/opts.h"
#include "tests/unit/capture.h"
#include "tests/unit/check.h"
#include "tests/unit/virtq_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT
#define IND VIRTQ_DESC_F_INDIRECT
#define STATUS 0x070
#define LIVE 0xf
#define HDR NET_HDR_SIZE

/* Rings, then buffers. Receive buffer i is RXBUF + i * RXLEN unless a
 * test says otherwise. */
#define RX_DESC 0x1000ull
#define RX_AVAIL 0x2000ull
#define RX_USED 0x3000ull
#define TX_DESC 0x4000ull
#define TX_AVAIL 0x5000ull
#define TX_USED 0x6000ull
#define INDIRECT 0x7000ull
#define TXBUF 0x10000ull	/* up to 64 KiB + a little */
#define RXBUF 0x40000ull
#define RXLEN 1536u		/* what Linux posts, about */
#define RXEND (RXBUF + 256ull * RXLEN)	/* 0xa0000: a guard area follows */

/* Features a Linux 6.1 driver accepts of ours. */
#define F_ALL (VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX | VIRTIO_F_RING_INDIRECT_DESC | \
	       VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF | \
	       VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_HOST_TSO4 | \
	       VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6)
#define F_MIN VIRTIO_F_VERSION_1

static struct fake_guest g;
static struct drv_q rxq, txq;
static struct virtio_net n;
static int sv[2] = { -1, -1 };	/* [0] the device's "TAP", [1] the far side */
static uint16_t rx_seen, tx_seen;	/* used entries consumed */
static int fail_readv;		/* errno the "TAP" fails reads with; 0: none */

/* --- the TAP stand-in ---------------------------------------------------- */

ssize_t __real_readv(int fd, const struct iovec *iov, int cnt);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt);

ssize_t __wrap_readv(int fd, const struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt };

	if (fd != sv[0])
		return __real_readv(fd, iov, cnt);
	if (fail_readv) {
		errno = fail_readv;
		return -1;
	}
	/* MSG_TRUNC: a cut datagram's whole length, as tun_put_user()
	 * returns a cut frame's. */
	return recvmsg(fd, &m, MSG_TRUNC);
}

/* --- helpers ------------------------------------------------------------- */

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 13 + i / 253 + 5);
}

static void reg_w(uint32_t off, uint32_t val)
{
	virtio_mmio_access(&n.mmio, off, (uint8_t *)&val, 4, true);
}

static uint32_t reg_r(uint32_t off)
{
	uint32_t x = 0;

	virtio_mmio_access(&n.mmio, off, (uint8_t *)&x, 4, false);
	return x;
}

static void queue_up(unsigned int q, const struct drv_q *d)
{
	reg_w(0x030, q);
	reg_w(0x038, d->num);
	reg_w(0x080, (uint32_t)d->desc);
	reg_w(0x084, 0);
	reg_w(0x090, (uint32_t)d->avail);
	reg_w(0x094, 0);
	reg_w(0x0a0, (uint32_t)d->used);
	reg_w(0x0a4, 0);
	reg_w(0x044, 1);
}

/* Reset, then negotiate feat and set both queues up (rxn, txn entries). */
static void up(uint64_t feat, uint16_t rxn, uint16_t txn)
{
	reg_w(STATUS, 0);
	memset(fg_host(&g, RX_DESC), 0, TX_USED + 0x1000 - RX_DESC);
	drv_init(&rxq, &g, rxn, RX_DESC, RX_AVAIL, RX_USED);
	drv_init(&txq, &g, txn, TX_DESC, TX_AVAIL, TX_USED);
	rx_seen = tx_seen = 0;
	reg_w(STATUS, 1);
	reg_w(STATUS, 3);
	reg_w(0x024, 0);
	reg_w(0x020, (uint32_t)feat);
	reg_w(0x024, 1);
	reg_w(0x020, (uint32_t)(feat >> 32));
	reg_w(STATUS, 0xb);
	CHECK_EQ(reg_r(STATUS), 0xb);
	queue_up(NET_RXQ, &rxq);
	queue_up(NET_TXQ, &txq);
	reg_w(STATUS, LIVE);
	CHECK_EQ(reg_r(STATUS), LIVE);
}

static void setup_mac(const uint8_t mac[6])
{
	CHECK_EQ(fg_init(&g), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	/* Room for a few 64 KiB frames each way. */
	int sz = 1 << 20;

	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	CHECK_EQ(virtio_net_setup(&n, &g.gm, sv[0], mac), 0);
	fail_readv = 0;
}

static void setup(void)
{
	static const uint8_t mac[6] = VIRTIO_NET_DEFAULT_MAC;

	setup_mac(mac);
}

static void teardown(void)
{
	virtio_net_exit(&n);
	close(sv[0]);
	close(sv[1]);
	fg_free(&g);
}

/* The far side sends a header and len pattern bytes (from seed). */
static void peer_send(const struct vnet_hdr *h, size_t len, uint64_t seed)
{
	static uint8_t buf[HDR + 70000];

	memcpy(buf, h, HDR);
	for (size_t i = 0; i < len; i++)
		buf[HDR + i] = pattern(seed + i);
	CHECK_EQ(send(sv[1], buf, HDR + len, 0), (ssize_t)(HDR + len));
}

static void peer_send_plain(size_t len, uint64_t seed)
{
	struct vnet_hdr h = { 0 };

	peer_send(&h, len, seed);
}

/* What the far side got next: its length, -1 if nothing. */
static ssize_t peer_recv(uint8_t *buf, size_t max)
{
	return recv(sv[1], buf, max, MSG_DONTWAIT);
}

/* Is a datagram waiting for the device (unread)? */
static bool tap_has_packet(void)
{
	uint8_t b;

	return recv(sv[0], &b, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

static void rx_post(uint16_t i, uint64_t gpa, uint32_t len)
{
	drv_desc(&rxq, i, gpa, len, W, 0);
	drv_publish(&rxq, i);
}

/* Post count buffers of RXLEN from descriptor first on. */
static void rx_post_many(uint16_t first, unsigned int count)
{
	for (unsigned int i = 0; i < count; i++)
		rx_post((uint16_t)(first + i), RXBUF + (uint64_t)(first + i) * RXLEN, RXLEN);
}

/* The next rx used element: false if there is none. */
static bool rx_next(uint32_t *id, uint32_t *len)
{
	if (drv_used_idx(&rxq) == rx_seen)
		return false;
	drv_used_elem(&rxq, rx_seen++, id, len);
	return true;
}

static bool tx_next(uint32_t *id, uint32_t *len)
{
	if (drv_used_idx(&txq) == tx_seen)
		return false;
	drv_used_elem(&txq, tx_seen++, id, len);
	return true;
}

static bool is_pattern(const uint8_t *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(seed + i))
			return false;
	return true;
}

static struct vnet_hdr rx_hdr_at(uint64_t gpa)
{
	struct vnet_hdr h;

	memcpy(&h, fg_host(&g, gpa), HDR);
	return h;
}

/* A frame of len pattern bytes (seed) behind header h at TXBUF. */
static void tx_put(const struct vnet_hdr *h, size_t len, uint64_t seed)
{
	memcpy(fg_host(&g, TXBUF), h, HDR);
	for (size_t i = 0; i < len; i++)
		*fg_host(&g, TXBUF + HDR + i) = pattern(seed + i);
}

static bool needs_reset(void)
{
	return reg_r(STATUS) & VIRTIO_STATUS_NEEDS_RESET;
}

/* --- features and config space -------------------------------------------- */

TEST(features_offered)
{
	uint64_t f;

	setup();
	reg_w(0x014, 0);
	f = reg_r(0x010);
	reg_w(0x014, 1);
	f |= (uint64_t)reg_r(0x010) << 32;
	CHECK_EQ(f, F_ALL);
	CHECK_EQ(reg_r(0x008), 1);	/* device ID: network card */
	/* A driver taking them all gets FEATURES_OK; one wanting more (a
	 * control queue, bit 17) does not. */
	up(F_ALL, 16, 16);
	reg_w(STATUS, 0);
	reg_w(STATUS, 3);
	reg_w(0x024, 0);
	reg_w(0x020, (uint32_t)(F_ALL | (1u << 17)));
	reg_w(0x024, 1);
	reg_w(0x020, 1);
	reg_w(STATUS, 0xb);
	CHECK_EQ(reg_r(STATUS), 3);
	teardown();
}

TEST(config_space)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	uint8_t c[16];
	uint16_t st;

	setup_mac(mac);
	for (unsigned int i = 0; i < sizeof(c); i++)
		virtio_mmio_access(&n.mmio, 0x100 + i, &c[i], 1, false);
	CHECK(memcmp(c, mac, 6) == 0);
	memcpy(&st, c + 6, 2);
	CHECK_EQ(st, VIRTIO_NET_S_LINK_UP);
	CHECK_EQ(c[8], 1);	/* max_virtqueue_pairs */
	CHECK_EQ(c[9], 0);
	for (unsigned int i = 10; i < sizeof(c); i++)
		CHECK_EQ(c[i], 0);	/* past the config: zeros */
	/* A wide read across the MAC and status. */
	uint64_t wide = 0;

	virtio_mmio_access(&n.mmio, 0x104, (uint8_t *)&wide, 4, false);
	CHECK_EQ(wide, 0x00015544u);
	teardown();
}

TEST(parse_mac_and_option)
{
	static const uint8_t def[6] = VIRTIO_NET_DEFAULT_MAC;
	static const char *bad_mac[] = {
		"", "02:00:00:00:00", "02:00:00:00:00:00:", "02:00:00:00:00:0g",
		"2:00:00:00:00:00", "02-00-00-00-00-00", "01:00:00:00:00:00",
		"ff:ff:ff:ff:ff:ff", "02:00:00:00:00:000",
	};
	static const char *bad_opt[] = {
		"", "fd:", "fd:-1", "fd:x", "3", "path", "fd:3,", "fd:3,mac=",
		"fd:3,mac=03:00:00:00:00:00", "fd:3,ro", "fd:99999999999", "fd:3 ",
		"fd:+3", "fd:2", "fd:1024",
	};
	struct vmm_opts o;
	uint8_t mac[6];

	CHECK_EQ(virtio_net_parse_mac("02:aB:cd:EF:01:9f", mac), 0);
	CHECK(memcmp(mac, "\x02\xab\xcd\xef\x01\x9f", 6) == 0);
	for (size_t i = 0; i < sizeof(bad_mac) / sizeof(bad_mac[0]); i++)
		CHECK_EQ(virtio_net_parse_mac(bad_mac[i], mac), -EINVAL);

	/* airlock-vmm --net fd:N[,mac=M] (vmm/opts.c). */
	CHECK_EQ(vmm_opts_parse(3, (char *[]){ "vmm", "--kernel=k", "--net=fd:5", NULL }, &o), 0);
	CHECK_EQ(o.net_fd, 5);
	CHECK(memcmp(o.mac, def, 6) == 0);
	CHECK_EQ(vmm_opts_parse(2, (char *[]){ "vmm", "--kernel=k", NULL }, &o), 0);
	CHECK_EQ(o.net_fd, -1);
	CHECK_EQ(vmm_opts_parse(3, (char *[]){ "vmm", "--kernel=k",
					      "--net=fd:9,mac=52:54:00:12:34:56", NULL }, &o), 0);
	CHECK_EQ(o.net_fd, 9);
	CHECK(memcmp(o.mac, "\x52\x54\x00\x12\x34\x56", 6) == 0);
	for (size_t i = 0; i < sizeof(bad_opt) / sizeof(bad_opt[0]); i++) {
		char arg[64];
		struct capture cap;
		char log[512];

		snprintf(arg, sizeof(arg), "--net=%s", bad_opt[i]);
		CHECK_EQ(capture_start(&cap), 0);
		CHECK_EQ(vmm_opts_parse(3, (char *[]){ "vmm", "--kernel=k", arg, NULL }, &o),
			 -EINVAL);
		CHECK_EQ(capture_end(&cap, log, sizeof(log)), 1);
		CHECK(strstr(log, "--net '") != NULL);
	}
}

/* --- transmit -------------------------------------------------------------- */

TEST(tx_single_descriptor)
{
	struct vnet_hdr h = { 0 };
	uint8_t got[2048];
	uint32_t id, len;

	setup();
	up(F_ALL, 16, 16);
	tx_put(&h, 60, 1);
	drv_desc(&txq, 3, TXBUF, HDR + 60, 0, 0);
	drv_publish(&txq, 3);
	virtio_mmio_kick(&n.mmio, NET_TXQ);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 60);
	CHECK(memcmp(got, &h, HDR) == 0);
	CHECK(is_pattern(got + HDR, 60, 1));
	CHECK(tx_next(&id, &len));
	CHECK_EQ(id, 3);
	CHECK_EQ(len, 0);
	CHECK_EQ(n.stats.tx_packets, 1);
	CHECK_EQ(peer_recv(got, sizeof(got)), -1);
	CHECK(!needs_reset());
	teardown();
}

TEST(tx_multi_descriptor_and_indirect)
{
	struct vnet_hdr h = { .flags = VNET_HDR_F_NEEDS_CSUM, .csum_start = 34,
			      .csum_offset = 16 };
	static uint8_t got[70000];
	uint32_t id, len;

	setup();
	up(F_ALL, 16, 16);
	/* Header alone, then the frame in three pieces. */
	tx_put(&h, 3000, 7);
	drv_desc(&txq, 0, TXBUF, HDR, N, 1);
	drv_desc(&txq, 1, TXBUF + HDR, 1000, N, 2);
	drv_desc(&txq, 2, TXBUF + HDR + 1000, 1, N, 3);
	drv_desc(&txq, 3, TXBUF + HDR + 1001, 1999, 0, 0);
	drv_publish(&txq, 0);
	virtio_mmio_kick(&n.mmio, NET_TXQ);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 3000);
	CHECK(memcmp(got, &h, HDR) == 0);
	CHECK(is_pattern(got + HDR, 3000, 7));

	/* A TSO frame of 64 KiB through an indirect table, the header
	 * split across two entries. */
	h = (struct vnet_hdr){ .flags = VNET_HDR_F_NEEDS_CSUM, .gso_type = VNET_GSO_TCPV4,
			       .hdr_len = 54, .gso_size = 1448, .csum_start = 34,
			       .csum_offset = 16 };
	tx_put(&h, NET_MAX_FRAME, 9);
	drv_desc_at(&g, INDIRECT, 0, TXBUF, 5, N, 1);
	drv_desc_at(&g, INDIRECT, 1, TXBUF + 5, 7 + 30000, N, 2);
	drv_desc_at(&g, INDIRECT, 2, TXBUF + HDR + 30000, NET_MAX_FRAME - 30000, 0, 0);
	drv_desc(&txq, 5, INDIRECT, 3 * 16, IND, 0);
	drv_publish(&txq, 5);
	virtio_mmio_kick(&n.mmio, NET_TXQ);
	CHECK_EQ(peer_recv(got, sizeof(got)), NET_MAX_PACKET);
	CHECK(memcmp(got, &h, HDR) == 0);
	CHECK(is_pattern(got + HDR, NET_MAX_FRAME, 9));
	CHECK(tx_next(&id, &len));
	CHECK_EQ(id, 0);
	CHECK(tx_next(&id, &len));
	CHECK_EQ(id, 5);
	CHECK_EQ(n.stats.tx_packets, 2);
	CHECK(!needs_reset());
	teardown();
}

/* The header check, case by case. */
TEST(tx_header_check)
{
	static const struct {
		struct vnet_hdr h;
		uint64_t frame_len, feat;
		bool ok;
	} cases[] = {
		{ { 0 }, 60, F_MIN, true },
		{ { 0 }, 14, F_MIN, true },
		{ { 0 }, 13, F_ALL, false },		/* no Ethernet header */
		{ { 0 }, NET_MAX_FRAME, F_MIN, true },
		{ { 0 }, NET_MAX_FRAME + 1, F_ALL, false },
		{ { .flags = VNET_HDR_F_DATA_VALID }, 60, F_ALL, false },	/* rx-only flag */
		{ { .flags = 4 }, 60, F_ALL, false },
		{ { .flags = VNET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 6 }, 60, F_MIN, false },
		{ { .flags = VNET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 6 }, 60,
		  F_MIN | VIRTIO_NET_F_CSUM, true },
		{ { .flags = VNET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 24 }, 60,
		  F_ALL, true },			/* 34 + 24 + 2 == 60 */
		{ { .flags = VNET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 25 }, 60,
		  F_ALL, false },
		{ { .flags = VNET_HDR_F_NEEDS_CSUM, .csum_start = 0xffff, .csum_offset = 0xffff },
		  NET_MAX_FRAME, F_ALL, false },
		{ { .flags = 1, .gso_type = VNET_GSO_TCPV4, .gso_size = 1448, .csum_start = 34,
		    .csum_offset = 16 }, 9000, F_ALL, true },
		{ { .flags = 1, .gso_type = VNET_GSO_TCPV4, .gso_size = 1448, .csum_start = 34,
		    .csum_offset = 16 }, 9000, F_ALL & ~VIRTIO_NET_F_HOST_TSO4, false },
		{ { .flags = 1, .gso_type = VNET_GSO_TCPV4, .gso_size = 1448, .csum_start = 34,
		    .csum_offset = 16 }, 9000, F_ALL & ~VIRTIO_NET_F_CSUM, false },
		{ { .flags = 1, .gso_type = VNET_GSO_TCPV6, .gso_size = 1428, .csum_start = 54,
		    .csum_offset = 16 }, 9000, F_ALL, true },
		{ { .flags = 1, .gso_type = VNET_GSO_TCPV6, .gso_size = 1428, .csum_start = 54,
		    .csum_offset = 16 }, 9000, F_ALL & ~VIRTIO_NET_F_HOST_TSO6, false },
		{ { .flags = 1, .gso_type = VNET_GSO_TCPV4, .gso_size = 0, .csum_start = 34,
		    .csum_offset = 16 }, 9000, F_ALL, false },
		{ { .gso_type = 3, .gso_size = 1000 }, 9000, F_ALL, false },		/* UFO */
		{ { .gso_type = 5, .gso_size = 1000 }, 9000, F_ALL, false },		/* USO */
		{ { .gso_type = 0x81, .gso_size = 1000 }, 9000, F_ALL, false },	/* ECN */
	};
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = virtio_net_tx_check(&cases[i].h, cases[i].frame_len, cases[i].feat, &why);

		if ((r == 0) != cases[i].ok)
			fprintf(stderr, "case %zu: %d (%s)\n", i, r, why ? why : "ok");
		CHECK_EQ(r == 0, cases[i].ok);
		CHECK_EQ(why == NULL, cases[i].ok);
	}
}

TEST(tx_bad_packets_dropped_device_goes_on)
{
	struct vnet_hdr bad = { .gso_type = VNET_GSO_TCPV4, .gso_size = 1000 };
	struct vnet_hdr good = { 0 };
	uint8_t got[256];
	uint32_t id, len;
	struct capture cap;
	char log[4096];

	setup();
	/* Without HOST_TSO4, a TSO frame; a runt; then a good one. */
	up(F_MIN | VIRTIO_NET_F_MRG_RXBUF, 16, 16);
	CHECK_EQ(capture_start(&cap), 0);
	tx_put(&bad, 100, 0);
	drv_desc(&txq, 0, TXBUF, HDR + 100, 0, 0);
	drv_publish(&txq, 0);
	memcpy(fg_host(&g, TXBUF + 0x1000), &good, HDR);
	drv_desc(&txq, 1, TXBUF + 0x1000, HDR + 10, 0, 0);
	drv_publish(&txq, 1);
	memcpy(fg_host(&g, TXBUF + 0x2000), &good, HDR);
	drv_desc(&txq, 2, TXBUF + 0x2000, HDR + 64, 0, 0);
	drv_publish(&txq, 2);
	virtio_mmio_kick(&n.mmio, NET_TXQ);
	CHECK_EQ(capture_end(&cap, log, sizeof(log)), 2);
	CHECK(strstr(log, "TCPv4 segment offload it did not negotiate") != NULL);
	CHECK(strstr(log, "shorter than an Ethernet header") != NULL);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 64);
	CHECK_EQ(peer_recv(got, sizeof(got)), -1);
	for (uint32_t i = 0; i < 3; i++) {
		CHECK(tx_next(&id, &len));
		CHECK_EQ(id, i);
	}
	CHECK_EQ(n.stats.tx_dropped, 2);
	CHECK_EQ(n.stats.tx_packets, 1);
	CHECK(!needs_reset());
	teardown();
}

TEST(tx_drops_logged_a_bounded_number_of_times)
{
	struct vnet_hdr bad = { .flags = VNET_HDR_F_DATA_VALID };
	struct capture cap;
	char log[8192];

	setup();
	up(F_ALL, 16, 16);
	tx_put(&bad, 100, 0);
	CHECK_EQ(capture_start(&cap), 0);
	for (int round = 0; round < 50; round++) {
		drv_desc(&txq, (uint16_t)(round % 16), TXBUF, HDR + 100, 0, 0);
		drv_publish(&txq, (uint16_t)(round % 16));
		virtio_mmio_kick(&n.mmio, NET_TXQ);
	}
	CHECK_EQ(capture_end(&cap, log, sizeof(log)), 8);
	CHECK(strstr(log, "further drops are not reported") != NULL);
	CHECK_EQ(n.stats.tx_dropped, 50);
	teardown();
}

/* Malformed transmit chains stop the device until a reset. */
TEST(tx_malformed_chains_need_reset)
{
	struct vnet_hdr h = { 0 };
	uint8_t got[256];

	for (int kind = 0; kind < 4; kind++) {
		struct capture cap;
		char log[1024];

		setup();
		up(F_ALL, 16, 16);
		tx_put(&h, 60, 0);
		switch (kind) {
		case 0:		/* a writable buffer after the frame */
			drv_desc(&txq, 0, TXBUF, HDR + 60, N, 1);
			drv_desc(&txq, 1, TXBUF + 0x1000, 16, W, 0);
			break;
		case 1:		/* shorter than the header */
			drv_desc(&txq, 0, TXBUF, HDR - 1, 0, 0);
			break;
		case 2:		/* past the end of RAM */
			drv_desc(&txq, 0, FG_RAM2_GPA + FG_RAM2_SIZE - 8, HDR + 60, 0, 0);
			break;
		case 3:		/* a loop */
			drv_desc(&txq, 0, TXBUF, HDR, N, 1);
			drv_desc(&txq, 1, TXBUF + HDR, 60, N, 0);
			break;
		}
		drv_publish(&txq, 0);
		CHECK_EQ(capture_start(&cap), 0);
		virtio_mmio_kick(&n.mmio, NET_TXQ);
		CHECK_EQ(capture_end(&cap, log, sizeof(log)), 1);
		CHECK(needs_reset());
		CHECK(strstr(log, "virtio-net") != NULL);
		CHECK_EQ(peer_recv(got, sizeof(got)), -1);
		/* A reset and a new start: the device works again. */
		up(F_ALL, 16, 16);
		drv_desc(&txq, 0, TXBUF, HDR + 60, 0, 0);
		drv_publish(&txq, 0);
		virtio_mmio_kick(&n.mmio, NET_TXQ);
		CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 60);
		CHECK(!needs_reset());
		teardown();
	}
}

TEST(tx_bounded_work_per_kick)
{
	struct vnet_hdr h = { 0 };
	uint8_t got[256];
	uint64_t kicks;
	int sent = 0;

	setup();
	up(F_ALL, 16, 128);
	tx_put(&h, 60, 0);
	for (uint16_t i = 0; i < 100; i++) {
		drv_desc(&txq, i, TXBUF, HDR + 60, 0, 0);
		drv_publish(&txq, i);
	}
	virtio_mmio_kick(&n.mmio, NET_TXQ);
	while (peer_recv(got, sizeof(got)) == HDR + 60)
		sent++;
	CHECK_EQ(sent, VIRTIO_BATCH_CHAINS);
	CHECK_EQ(drv_used_idx(&txq), VIRTIO_BATCH_CHAINS);
	/* It asked the loop to come back, and then does the rest. */
	CHECK_EQ(read(n.mmio.kick_fd[NET_TXQ], &kicks, sizeof(kicks)), (ssize_t)sizeof(kicks));
	virtio_mmio_kick(&n.mmio, NET_TXQ);
	while (peer_recv(got, sizeof(got)) == HDR + 60)
		sent++;
	CHECK_EQ(sent, 100);
	CHECK_EQ(drv_used_idx(&txq), 100);
	teardown();
}

/* --- receive --------------------------------------------------------------- */

TEST(rx_into_one_buffer)
{
	struct vnet_hdr h;
	uint32_t id, len;

	setup();
	up(F_ALL, 16, 16);
	rx_post(2, RXBUF, 70000);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send_plain(100, 3);
	virtio_net_poll(&n);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 2);
	CHECK_EQ(len, HDR + 100);
	h = rx_hdr_at(RXBUF);
	CHECK_EQ(h.num_buffers, 1);
	CHECK_EQ(h.flags, 0);
	CHECK_EQ(h.gso_type, VNET_GSO_NONE);
	CHECK(is_pattern(fg_host(&g, RXBUF + HDR), 100, 3));
	CHECK(!rx_next(&id, &len));
	CHECK_EQ(n.stats.rx_packets, 1);
	teardown();
}

TEST(rx_merged_across_buffers)
{
	struct vnet_hdr h;
	uint32_t id, len;

	setup();
	up(F_ALL, 64, 16);
	rx_post_many(0, 48);	/* 48 * 1536 = 73728: room for the largest */
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	/* 4000 bytes with the header: 1536 + 1536 + 928. */
	peer_send_plain(4000 - HDR, 11);
	peer_send_plain(100, 12);
	virtio_net_poll(&n);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 0);
	CHECK_EQ(len, RXLEN);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 1);
	CHECK_EQ(len, RXLEN);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 4000 - 2 * RXLEN);
	h = rx_hdr_at(RXBUF);
	CHECK_EQ(h.num_buffers, 3);
	/* The buffers are contiguous here, so the frame reads straight. */
	CHECK(is_pattern(fg_host(&g, RXBUF + HDR), 4000 - HDR, 11));
	/* The next frame starts in the next chain. */
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 3);
	CHECK_EQ(len, HDR + 100);
	CHECK_EQ(rx_hdr_at(RXBUF + 3 * RXLEN).num_buffers, 1);
	CHECK(is_pattern(fg_host(&g, RXBUF + 3 * RXLEN + HDR), 100, 12));
	CHECK(!rx_next(&id, &len));
	CHECK_EQ(n.stats.rx_packets, 2);
	teardown();
}

TEST(rx_header_across_descriptors)
{
	struct vnet_hdr h;
	uint32_t id, len;

	setup();
	up(F_ALL, 16, 16);
	/* One chain: 5 bytes, 7 bytes, then 70000: the header spans two. */
	drv_desc(&rxq, 0, RXBUF, 5, W | N, 1);
	drv_desc(&rxq, 1, RXBUF + 0x100, 7, W | N, 2);
	drv_desc(&rxq, 2, RXBUF + 0x200, 70000, W, 0);
	drv_publish(&rxq, 0);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send_plain(64, 0);
	virtio_net_poll(&n);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(len, HDR + 64);
	memcpy(&h, fg_host(&g, RXBUF), 5);
	memcpy((uint8_t *)&h + 5, fg_host(&g, RXBUF + 0x100), 7);
	CHECK_EQ(h.num_buffers, 1);
	CHECK(is_pattern(fg_host(&g, RXBUF + 0x200), 64, 0));
	teardown();
}

TEST(rx_stops_without_buffers_and_resumes)
{
	uint32_t id, len;

	setup();
	up(F_ALL, 64, 16);
	/* No buffers: the frame stays in the TAP, which is not watched. */
	peer_send_plain(200, 5);
	virtio_net_poll(&n);
	CHECK(tap_has_packet());
	CHECK(!n.tap_watched);
	CHECK(!rx_next(&id, &len));
	/* With EVENT_IDX the driver is asked to kick at its next buffer. */
	CHECK_EQ(drv_avail_event(&rxq), 0);
	/* Too few to hold the largest packet: still not read. */
	rx_post_many(0, 8);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	CHECK(tap_has_packet());
	CHECK(!n.tap_watched);
	CHECK_EQ(drv_avail_event(&rxq), 8);
	/* Enough: the kick alone delivers it and the TAP is watched again. */
	rx_post_many(8, 40);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	CHECK(!tap_has_packet());
	CHECK(n.tap_watched);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 0);
	CHECK_EQ(len, HDR + 200);
	CHECK(is_pattern(fg_host(&g, RXBUF + HDR), 200, 5));
	teardown();
}

/* A ring smaller than the largest packet: once all of it is posted, the
 * device reads anyway; a frame larger than all of it is dropped, nothing
 * is written past the buffers, and the next frame arrives. */
TEST(rx_packet_larger_than_all_buffers)
{
	uint32_t id, len;
	struct capture cap;
	char log[1024];

	setup();
	up(F_ALL, 16, 16);
	memset(fg_host(&g, RXBUF + 16 * RXLEN), 0xa5, 4096);	/* a guard */
	rx_post_many(0, 15);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send_plain(100, 1);
	virtio_net_poll(&n);
	CHECK(tap_has_packet());	/* 15 of 16: more may come */
	rx_post_many(15, 1);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(len, HDR + 100);
	CHECK(is_pattern(fg_host(&g, RXBUF + HDR), 100, 1));
	/* The driver gives its buffer back: 16 * 1536 = 24576 bytes in all,
	 * and 30000 do not fit. */
	rx_post(0, RXBUF, RXLEN);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send_plain(30000, 2);
	peer_send_plain(50, 3);
	CHECK_EQ(capture_start(&cap), 0);
	virtio_net_poll(&n);
	CHECK_EQ(capture_end(&cap, log, sizeof(log)), 1);
	CHECK(strstr(log, "larger than the guest's receive buffers") != NULL);
	CHECK_EQ(n.stats.rx_dropped, 1);
	for (unsigned int i = 0; i < 4096; i++)
		CHECK_EQ(*fg_host(&g, RXBUF + 16 * RXLEN + i), 0xa5);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 1);	/* the dropped frame used nothing */
	CHECK_EQ(len, HDR + 50);
	CHECK(is_pattern(fg_host(&g, RXBUF + RXLEN + HDR), 50, 3));
	CHECK(!rx_next(&id, &len));
	CHECK(!needs_reset());
	teardown();
}

TEST(rx_without_mergeable_buffers)
{
	uint32_t id, len;

	setup();
	up(F_MIN, 16, 16);
	rx_post(0, RXBUF, 2048);
	rx_post(1, RXBUF + 0x1000, 2048);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send_plain(3000, 0);	/* larger than one chain: dropped */
	peer_send_plain(1500, 1);
	virtio_net_poll(&n);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 0);
	CHECK_EQ(len, HDR + 1500);
	CHECK_EQ(rx_hdr_at(RXBUF).num_buffers, 1);
	CHECK(is_pattern(fg_host(&g, RXBUF + HDR), 1500, 1));
	CHECK(!rx_next(&id, &len));
	CHECK_EQ(n.stats.rx_dropped, 1);
	teardown();
}

/* What the TAP says about checksums and segments reaches only a guest
 * that accepted those offloads; the TAP is told what it may send. */
TEST(rx_offloads_follow_the_features)
{
	struct vnet_hdr partial = { .flags = VNET_HDR_F_NEEDS_CSUM, .csum_start = 34,
				    .csum_offset = 16 };
	struct vnet_hdr valid = { .flags = VNET_HDR_F_DATA_VALID };
	struct vnet_hdr tso4 = { .flags = VNET_HDR_F_NEEDS_CSUM, .gso_type = VNET_GSO_TCPV4,
				 .hdr_len = 54, .gso_size = 1448, .csum_start = 34,
				 .csum_offset = 16 };
	struct vnet_hdr h;
	uint32_t id, len;

	setup();
	/* No offloads accepted. */
	up(F_MIN | VIRTIO_NET_F_MRG_RXBUF, 64, 16);
	rx_post_many(0, 48);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send(&partial, 100, 0);
	peer_send(&tso4, 3000, 0);
	peer_send(&valid, 100, 0);
	virtio_net_poll(&n);
	CHECK_EQ(n.offload, 0);
	CHECK_EQ(n.stats.rx_dropped, 2);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(len, HDR + 100);
	h = rx_hdr_at(RXBUF);
	CHECK_EQ(h.flags, 0);	/* DATA_VALID too: flags are zero */
	CHECK(!rx_next(&id, &len));

	/* Checksums and TSO4 accepted, TSO6 not. */
	up(F_MIN | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_CSUM |
	   VIRTIO_NET_F_GUEST_TSO4, 64, 16);
	CHECK_EQ(n.offload, 0);		/* not before the first read */
	rx_post_many(0, 48);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send(&tso4, 3000, 0);
	tso4.gso_type = VNET_GSO_TCPV6;
	peer_send(&tso4, 3000, 0);
	peer_send(&valid, 100, 0);
	virtio_net_poll(&n);
	CHECK_EQ(n.offload, TUN_F_CSUM | TUN_F_TSO4);
	CHECK(rx_next(&id, &len));
	CHECK(rx_next(&id, &len));
	CHECK(rx_next(&id, &len));
	h = rx_hdr_at(RXBUF);
	CHECK_EQ(h.gso_type, VNET_GSO_TCPV4);
	CHECK_EQ(h.gso_size, 1448);
	CHECK_EQ(h.flags, VNET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(h.num_buffers, 2);
	h = rx_hdr_at(RXBUF + 2 * RXLEN);
	CHECK_EQ(h.flags, VNET_HDR_F_DATA_VALID);
	CHECK(!rx_next(&id, &len));
	CHECK_EQ(n.stats.rx_dropped, 3);

	/* Checksums and TSO6: a TSO4 segment cannot go in. */
	up(F_MIN | VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_GUEST_CSUM |
	   VIRTIO_NET_F_GUEST_TSO6, 64, 16);
	rx_post_many(0, 48);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	tso4.gso_type = VNET_GSO_TCPV4;
	peer_send(&tso4, 3000, 0);
	peer_send(&partial, 100, 0);
	virtio_net_poll(&n);
	CHECK_EQ(n.offload, TUN_F_CSUM | TUN_F_TSO6);
	CHECK_EQ(n.stats.rx_dropped, 4);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(len, HDR + 100);
	CHECK_EQ(rx_hdr_at(RXBUF).flags, VNET_HDR_F_NEEDS_CSUM);
	CHECK(!rx_next(&id, &len));
	teardown();
}

TEST(rx_malformed_chains_need_reset)
{
	for (int kind = 0; kind < 4; kind++) {
		struct capture cap;
		char log[1024];

		setup();
		up(F_ALL, 16, 16);
		switch (kind) {
		case 0:		/* a readable buffer */
			drv_desc(&rxq, 0, RXBUF, 4096, N, 1);
			drv_desc(&rxq, 1, RXBUF + 4096, 4096, W, 0);
			break;
		case 1:		/* shorter than the header */
			drv_desc(&rxq, 0, RXBUF, HDR - 1, W, 0);
			break;
		case 2:		/* outside RAM */
			drv_desc(&rxq, 0, FG_RAM2_GPA + FG_RAM2_SIZE, 4096, W, 0);
			break;
		case 3:		/* straddling the two RAM regions */
			drv_desc(&rxq, 0, FG_RAM2_GPA - 8, 4096, W, 0);
			break;
		}
		drv_publish(&rxq, 0);
		peer_send_plain(60, 0);
		CHECK_EQ(capture_start(&cap), 0);
		virtio_mmio_kick(&n.mmio, NET_RXQ);
		virtio_net_poll(&n);
		CHECK_EQ(capture_end(&cap, log, sizeof(log)), 1);
		CHECK(needs_reset());
		CHECK(tap_has_packet());	/* never read */
		CHECK_EQ(drv_used_idx(&rxq), 0);
		teardown();
	}
}

TEST(rx_bounded_work_per_poll)
{
	uint32_t id, len;
	unsigned int got = 0;

	setup();
	up(F_ALL, 256, 16);
	rx_post_many(0, 256);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	for (int i = 0; i < 100; i++)
		peer_send_plain(60, (uint64_t)i);
	virtio_net_poll(&n);
	while (rx_next(&id, &len))
		got++;
	CHECK_EQ(got, VIRTIO_BATCH_CHAINS);
	CHECK(tap_has_packet());
	virtio_net_poll(&n);
	while (rx_next(&id, &len)) {
		CHECK(is_pattern(fg_host(&g, RXBUF + (uint64_t)id * RXLEN + HDR), 60, got));
		got++;
	}
	CHECK_EQ(got, 100);
	/* Frames that are dropped count too, even empty ones. */
	for (int i = 0; i < 100; i++)
		CHECK_EQ(send(sv[1], "", 0, 0), 0);
	virtio_net_poll(&n);
	CHECK_EQ(n.stats.rx_dropped, VIRTIO_BATCH_CHAINS);
	virtio_net_poll(&n);
	CHECK_EQ(n.stats.rx_dropped, 100);
	CHECK(!rx_next(&id, &len));
	teardown();
}

/* A reset forgets the chains held; the next driver's buffers are used. */
TEST(rx_reset_forgets_held_buffers)
{
	uint32_t id, len;

	setup();
	up(F_ALL, 64, 16);
	rx_post_many(0, 48);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	virtio_net_poll(&n);	/* holds them, reads nothing */
	CHECK(n.held_end > n.held_start);
	up(F_ALL, 64, 16);
	CHECK_EQ(n.held_end, n.held_start);
	/* The new driver posts its buffers elsewhere (ids from 10). */
	for (uint16_t i = 0; i < 48; i++)
		rx_post((uint16_t)(10 + i), RXBUF + 0x20000ull + (uint64_t)i * RXLEN, RXLEN);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	peer_send_plain(80, 4);
	virtio_net_poll(&n);
	CHECK(rx_next(&id, &len));
	CHECK_EQ(id, 10);
	CHECK(is_pattern(fg_host(&g, RXBUF + 0x20000 + HDR), 80, 4));
	teardown();
}

/* The TAP fails for good: one line, the link goes down with a config
 * interrupt, nothing more is read, transmissions are dropped. */
TEST(tap_failure_takes_the_link_down)
{
	struct vnet_hdr h = { 0 };
	uint32_t gen, id, len;
	uint16_t st = 0xffff;
	struct capture cap;
	char log[1024];
	uint8_t got[256];

	setup();
	up(F_ALL, 64, 16);
	rx_post_many(0, 48);
	virtio_mmio_kick(&n.mmio, NET_RXQ);
	gen = reg_r(0x0fc);
	fail_readv = EBADFD;
	peer_send_plain(60, 0);
	CHECK_EQ(capture_start(&cap), 0);
	virtio_net_poll(&n);
	virtio_net_poll(&n);
	tx_put(&h, 60, 0);
	drv_desc(&txq, 0, TXBUF, HDR + 60, 0, 0);
	drv_publish(&txq, 0);
	virtio_mmio_kick(&n.mmio, NET_TXQ);
	CHECK_EQ(capture_end(&cap, log, sizeof(log)), 1);
	CHECK(strstr(log, "link is down") != NULL);
	CHECK(n.tap_dead);
	CHECK(reg_r(0x0fc) != gen);
	CHECK(reg_r(0x060) & 2);	/* config interrupt */
	virtio_mmio_access(&n.mmio, 0x106, (uint8_t *)&st, 2, false);
	CHECK_EQ(st, 0);
	CHECK(!rx_next(&id, &len));
	CHECK(tx_next(&id, &len));	/* given back, not sent */
	CHECK_EQ(peer_recv(got, sizeof(got)), -1);
	CHECK_EQ(n.stats.tx_dropped, 1);
	CHECK(!needs_reset());
	teardown();
}

CHECK_MAIN(TEST_ENTRY(features_offered), TEST_ENTRY(config_space),
	   TEST_ENTRY(parse_mac_and_option), TEST_ENTRY(tx_single_descriptor),
	   TEST_ENTRY(tx_multi_descriptor_and_indirect), TEST_ENTRY(tx_header_check),
	   TEST_ENTRY(tx_bad_packets_dropped_device_goes_on),
	   TEST_ENTRY(tx_drops_logged_a_bounded_number_of_times),
	   TEST_ENTRY(tx_malformed_chains_need_reset), TEST_ENTRY(tx_bounded_work_per_kick),
	   TEST_ENTRY(rx_into_one_buffer), TEST_ENTRY(rx_merged_across_buffers),
	   TEST_ENTRY(rx_header_across_descriptors),
	   TEST_ENTRY(rx_stops_without_buffers_and_resumes),
	   TEST_ENTRY(rx_packet_larger_than_all_buffers),
	   TEST_ENTRY(rx_without_mergeable_buffers), TEST_ENTRY(rx_offloads_follow_the_features),
	   TEST_ENTRY(rx_malformed_chains_need_reset), TEST_ENTRY(rx_bounded_work_per_poll),
	   TEST_ENTRY(rx_reset_forgets_held_buffers),
	   TEST_ENTRY(tap_failure_takes_the_link_down))
