/* virtio-net over a TAP (virtio 1.2 §5.1): see net.h.
 *
 * Receive: chains the guest posts are popped and held (their buffers in
 * one iovec array) until they can take the largest packet, then one
 * readv() puts the next frame, header first, straight into them; the
 * chains it filled go back with num_buffers saying how many. Without
 * buffers the TAP is not read at all (its EPOLLIN interest is dropped)
 * until the guest posts more. Transmit: the header is copied out and
 * checked, then one writev() hands header and frame to the TAP.
 *
 * A malformed chain (a readable receive buffer, a writable transmit
 * buffer, one shorter than the header, one outside RAM) stops the device
 * until the guest resets it; a bad packet is dropped and logged (a few
 * lines per device); a TAP that is gone takes the link down. */
#include "vmm/virtio/net.h"
#include "lib/tap.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VIRTIO_ID_NET 1
#define MAX_LOGGED 8		/* lines per kind per device */

_Static_assert(sizeof(struct vnet_hdr) == NET_HDR_SIZE, "virtio_net_hdr layout");

/* struct virtio_net_config up to max_virtqueue_pairs. */
struct net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
} __attribute__((packed));

/* --- logging ----------------------------------------------------------- */

static void drop_note(struct virtio_net *n, const char *dir, const char *why)
{
	bool last;

	if (ratelog_take(&n->drops, &last))
		fprintf(stderr, "airlock-vmm: virtio-net: %s packet dropped: %s%s\n", dir,
			why, last ? " (further drops are not reported)" : "");
}

static void tap_note(struct virtio_net *n, const char *what, int err)
{
	bool last;

	if (ratelog_take(&n->tap_errors, &last))
		fprintf(stderr, "airlock-vmm: virtio-net: the TAP: %s: %s%s\n", what,
			strerror(err), last ? " (further TAP errors are not reported)" : "");
}

/* --- the TAP's side ---------------------------------------------------- */

/* EPOLLIN on the TAP while there are buffers to read into, off while
 * there are none: no packet is read that could not be delivered, and a
 * full TAP does not spin the I/O loop. */
static void rx_watch(struct virtio_net *n, bool on)
{
	if (on == n->tap_watched || n->tap_dead)
		return;
	n->tap_watched = on;
	if (n->vm && vm_event_mod(n->vm, &n->tap_ev, on ? EPOLLIN : 0))
		n->tap_watched = !on;	/* epoll_ctl on a registered fd: cannot fail */
}

/* The TAP is gone (its interface deleted, its namespace ended) or broke:
 * stop reading it, tell the guest the link is down. Its transmissions
 * are dropped from now on. */
static void tap_dies(struct virtio_net *n, const char *what, int err)
{
	if (n->tap_dead)
		return;
	/* Once per device: the TAP never comes back. */
	if (err == EBADFD)
		fprintf(stderr, "airlock-vmm: virtio-net: the TAP's interface is gone; "
			"the guest's link is down from now on\n");
	else
		fprintf(stderr, "airlock-vmm: virtio-net: the TAP failed (%s: %s); the "
			"guest's link is down from now on\n", what, strerror(err));
	if (n->vm)
		vm_event_del(n->vm, &n->tap_ev);
	n->tap_dead = true;
	n->link = 0;
	virtio_mmio_config_changed(&n->mmio);
}

/* TUN_F_* for the features the guest accepted: what the TAP may hand us. */
static unsigned int offload_for(uint64_t feat)
{
	unsigned int f = 0;

	/* Segmentation needs checksum offload too (§5.1.3.1). */
	if (feat & VIRTIO_NET_F_GUEST_CSUM) {
		f |= TUN_F_CSUM;
		if (feat & VIRTIO_NET_F_GUEST_TSO4)
			f |= TUN_F_TSO4;
		if (feat & VIRTIO_NET_F_GUEST_TSO6)
			f |= TUN_F_TSO6;
	}
	return f;
}

/* Features are fixed once the driver is live; the TAP learns them before
 * the first read after that. Frames it queued under earlier settings are
 * caught by rx_fix_hdr. */
static void sync_offload(struct virtio_net *n)
{
	unsigned int want = offload_for(n->mmio.drv_features);

	if (n->offload_synced)
		return;
	n->offload_synced = true;
	if (want == n->offload)
		return;
	if (n->tap_ioctls && ioctl(n->tap, TUNSETOFFLOAD, (unsigned long)want) < 0) {
		tap_note(n, "setting its offloads", errno);
		return;
	}
	n->offload = want;
}

/* --- receive ----------------------------------------------------------- */

static bool mrg(const struct virtio_net *n)
{
	return n->mmio.drv_features & VIRTIO_NET_F_MRG_RXBUF;
}

static unsigned int held_count(const struct virtio_net *n)
{
	return n->held_end - n->held_start;
}

/* Forget the held chains: the driver reset the device or the queue. */
static void rx_forget(struct virtio_net *n)
{
	n->held_start = n->held_end = 0;
	n->iov_start = n->iov_end = 0;
	n->held_bytes = 0;
	n->rx_full = false;
}

/* Keep c. False if there is no room for it (the caller gives it back). */
static bool rx_hold(struct virtio_net *n, const struct virtq_chain *c)
{
	struct net_rx_buf *b;

	if (n->held_end == VIRTQ_MAX_SIZE || n->iov_end + c->nw > NET_RX_MAX_IOV) {
		/* Move what is held to the front; still no room means the
		 * guest's buffers are so small that NET_RX_MAX_IOV of them
		 * fall short of a packet. */
		unsigned int nh = held_count(n), ni = n->iov_end - n->iov_start;

		if (nh == VIRTQ_MAX_SIZE || ni + c->nw > NET_RX_MAX_IOV)
			return false;
		memmove(n->held, n->held + n->held_start, nh * sizeof(n->held[0]));
		memmove(n->rx_iov, n->rx_iov + n->iov_start, ni * sizeof(n->rx_iov[0]));
		for (unsigned int i = 0; i < nh; i++)
			n->held[i].iov -= n->iov_start;
		n->held_start = n->iov_start = 0;
		n->held_end = nh;
		n->iov_end = ni;
	}
	b = &n->held[n->held_end++];
	*b = (struct net_rx_buf){ c->head, c->gen, c->w_len, n->iov_end, c->nw };
	memcpy(n->rx_iov + n->iov_end, c->w, c->nw * sizeof(c->w[0]));
	n->iov_end += c->nw;
	n->held_bytes += c->w_len;
	return true;
}

/* Can we read a packet into what is held? With mergeable buffers: once
 * they hold the largest packet, or can grow no further (the ring is all
 * ours, or they fill rx_iov); a frame that then does not fit is dropped.
 * Without: one chain per packet, whatever its size. */
static bool rx_enough(const struct virtio_net *n, const struct virtq *q)
{
	if (held_count(n) == 0)
		return false;
	if (!mrg(n))
		return true;
	return n->held_bytes >= NET_MAX_PACKET || n->rx_full || held_count(n) >= q->num;
}

/* Hold chains until a packet fits. 1: it does; 0: not yet (the driver
 * will kick when it posts more); -1: the device failed. */
static int rx_gather(struct virtio_net *n, struct virtq *q)
{
	for (;;) {
		while (!rx_enough(n, q)) {
			int r = virtq_pop(q, &n->chain);

			if (r == 0)
				break;
			if (r < 0) {
				virtio_mmio_fail(&n->mmio, r == -EFAULT
						 ? "an rx buffer outside guest memory"
						 : "a malformed rx descriptor chain");
				return -1;
			}
			if (n->chain.nr) {
				virtio_mmio_fail(&n->mmio, "an rx buffer the device cannot write");
				return -1;
			}
			if (n->chain.w_len < NET_HDR_SIZE) {
				virtio_mmio_fail(&n->mmio, "an rx buffer shorter than the 12-byte header");
				return -1;
			}
			if (!rx_hold(n, &n->chain)) {
				virtq_unpop(q, &n->chain);
				n->rx_full = true;
			}
		}
		if (rx_enough(n, q))
			return 1;
		/* With EVENT_IDX: kick us at the next buffer posted. */
		if (!virtq_enable_notify(q))
			return 0;
	}
}

/* Copy between a local header and the first NET_HDR_SIZE bytes of iov. */
static void hdr_io(struct iovec *iov, unsigned int niov, struct vnet_hdr *h,
		   bool to_guest)
{
	struct iovec part[NET_HDR_SIZE];
	int k = virtq_slice(iov, niov, 0, NET_HDR_SIZE, part, NET_HDR_SIZE);
	uint8_t *p = (uint8_t *)h;

	for (int i = 0; i < k; i++) {
		if (to_guest)
			memcpy(part[i].iov_base, p, part[i].iov_len);
		else
			memcpy(p, part[i].iov_base, part[i].iov_len);
		p += part[i].iov_len;
	}
}

/* The TAP's header for a received frame, made right for this guest:
 * NULL, or why the frame cannot go to it (offloads it did not accept:
 * frames the TAP queued before its offloads were set for this driver). */
static const char *rx_fix_hdr(struct vnet_hdr *h, uint64_t feat, uint16_t nbufs)
{
	if (!(feat & VIRTIO_NET_F_GUEST_CSUM)) {
		if (h->flags & VNET_HDR_F_NEEDS_CSUM)
			return "a partial checksum the guest did not accept";
		h->flags = 0;	/* §5.1.6.4.1: flags zero without GUEST_CSUM */
	}
	h->flags &= VNET_HDR_F_NEEDS_CSUM | VNET_HDR_F_DATA_VALID;
	switch (h->gso_type) {
	case VNET_GSO_NONE:
		break;
	case VNET_GSO_TCPV4:
		if (!(feat & VIRTIO_NET_F_GUEST_TSO4) || !(feat & VIRTIO_NET_F_GUEST_CSUM))
			return "a TCPv4 segment offload the guest did not accept";
		break;
	case VNET_GSO_TCPV6:
		if (!(feat & VIRTIO_NET_F_GUEST_TSO6) || !(feat & VIRTIO_NET_F_GUEST_CSUM))
			return "a TCPv6 segment offload the guest did not accept";
		break;
	default:
		return "a segment offload the guest did not accept";
	}
	h->num_buffers = nbufs;
	return NULL;
}

/* Give held chain b back with len bytes: the scratch chain carries its
 * head and generation (a chain from rings since reset is not written). */
static void rx_push(struct virtio_net *n, struct virtq *q, const struct net_rx_buf *b,
		    uint32_t len)
{
	n->chain.head = b->head;
	n->chain.gen = b->gen;
	virtq_push(q, &n->chain, len);
}

/* Read one frame into the held chains. 1: delivered; 2: dropped (the
 * chains stay held); 0: the TAP has nothing; -1: the TAP is gone. */
static int rx_one(struct virtio_net *n, struct virtq *q, struct virtq_budget *budget)
{
	const struct net_rx_buf *first = &n->held[n->held_start];
	struct iovec *iov = n->rx_iov + first->iov;
	unsigned int niov = mrg(n) ? n->iov_end - first->iov : first->niov;
	uint64_t room = mrg(n) ? n->held_bytes : first->len, left;
	struct vnet_hdr h;
	const char *why;
	unsigned int used = 0;
	ssize_t got;

	do
		got = readv(n->tap, iov, (int)niov);
	while (got < 0 && errno == EINTR);
	if (got < 0) {
		if (errno == EAGAIN)
			return 0;
		/* EBADFD: the interface is gone. Anything else would come
		 * back at every wake-up, so it ends reading too. */
		tap_dies(n, "reading", errno);
		return -1;
	}
	/* The TAP reports a frame's full length even when it had to cut
	 * it to fit: longer than the buffers means cut. */
	if ((uint64_t)got > room) {
		why = "larger than the guest's receive buffers";
		goto drop;
	}
	if ((uint64_t)got < NET_HDR_SIZE + NET_ETH_HLEN) {
		why = "shorter than a header and an Ethernet header";
		goto drop;
	}
	for (left = (uint64_t)got; left > 0; used++)
		left -= left < n->held[n->held_start + used].len
			? left : n->held[n->held_start + used].len;
	hdr_io(iov, niov, &h, false);
	why = rx_fix_hdr(&h, n->mmio.drv_features, (uint16_t)used);
	if (why)
		goto drop;
	hdr_io(iov, niov, &h, true);
	n->stats.rx_packets++;
	/* Every chain but the last is full (§5.1.6.4.2). */
	left = (uint64_t)got;
	for (unsigned int i = 0; i < used; i++) {
		const struct net_rx_buf *b = &n->held[n->held_start++];
		uint64_t len = left < b->len ? left : b->len;

		rx_push(n, q, b, (uint32_t)len);
		left -= len;
		n->held_bytes -= b->len;
		n->iov_start = b->iov + b->niov;
	}
	n->rx_full = false;
	if (held_count(n) == 0)
		rx_forget(n);
	budget->chains = used < budget->chains ? budget->chains - used : 0;
	virtq_budget_spend(budget, (uint64_t)got);
	return 1;
drop:
	n->stats.rx_dropped++;
	drop_note(n, "received", why);
	/* A dropped frame counts as a chain: even empty ones end a batch. */
	if (budget->chains)
		budget->chains--;
	virtq_budget_spend(budget, (uint64_t)got);
	return 2;
}

static void process_rx(struct virtio_net *n, struct virtq_budget *budget)
{
	struct virtq *q = &n->mmio.q[NET_RXQ];
	bool pushed = false;

	if (n->tap_dead)
		return;
	if (!virtio_mmio_live(&n->mmio) || !q->ready) {
		/* Nothing to read into until the driver sets up (again);
		 * its rx kick brings us back. */
		rx_watch(n, false);
		return;
	}
	/* Chains held from rings the driver has since set up again. */
	if (held_count(n) && n->held[n->held_start].gen != q->gen)
		rx_forget(n);
	sync_offload(n);
	while (virtq_budget_left(budget)) {
		int r = rx_gather(n, q);

		if (r < 0)
			return;
		rx_watch(n, r == 1);
		if (r == 0)
			break;
		r = rx_one(n, q, budget);
		if (r <= 0)
			break;
		pushed |= r == 1;
	}
	/* Out of budget with frames waiting: EPOLLIN is level-triggered,
	 * so the loop comes back after its other work. */
	if (pushed)
		virtio_mmio_notify_used(&n->mmio, NET_RXQ);
}

/* --- transmit ---------------------------------------------------------- */

int virtio_net_tx_check(const struct vnet_hdr *h, uint64_t frame_len,
			uint64_t features, const char **why)
{
	*why = NULL;
	if (frame_len < NET_ETH_HLEN)
		*why = "a frame shorter than an Ethernet header";
	else if (frame_len > NET_MAX_FRAME)
		*why = "a frame larger than 64 KiB";
	else if (h->flags & ~VNET_HDR_F_NEEDS_CSUM)
		*why = "header flags other than NEEDS_CSUM";
	else if ((h->flags & VNET_HDR_F_NEEDS_CSUM) && !(features & VIRTIO_NET_F_CSUM))
		*why = "a checksum offload it did not negotiate";
	else if ((h->flags & VNET_HDR_F_NEEDS_CSUM) &&
		 (uint32_t)h->csum_start + h->csum_offset + 2 > frame_len)
		*why = "a checksum position past the frame";
	else if (h->gso_type == VNET_GSO_TCPV4 &&
		 (features & (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4)) !=
			 (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4))
		*why = "a TCPv4 segment offload it did not negotiate";
	else if (h->gso_type == VNET_GSO_TCPV6 &&
		 (features & (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO6)) !=
			 (VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO6))
		*why = "a TCPv6 segment offload it did not negotiate";
	else if (h->gso_type != VNET_GSO_NONE && h->gso_type != VNET_GSO_TCPV4 &&
		 h->gso_type != VNET_GSO_TCPV6)
		*why = "a segment offload type it did not negotiate";
	else if (h->gso_type != VNET_GSO_NONE && h->gso_size == 0)
		*why = "a segment offload with segments of 0 bytes";
	return *why ? -EINVAL : 0;
}

/* One transmit chain (virtio_mmio_drain): its frame goes to the TAP, or
 * is dropped; nothing is written into the chain. The header is read once
 * into h and only h goes to the TAP: the guest cannot change it between
 * the check and the kernel's parse. */
static int64_t tx_chain(void *dev, struct virtq_chain *c, bool resume,
			struct virtq_budget *budget, const char **why)
{
	struct virtio_net *n = dev;
	uint64_t frame_len;
	struct vnet_hdr h;
	const char *bad;
	ssize_t r;
	int k;

	(void)resume;	/* never: a frame is sent whole or not at all */
	if (c->nw) {
		*why = "a tx buffer the device would have to write";
		return -EINVAL;
	}
	if (c->r_len < NET_HDR_SIZE) {
		*why = "a tx packet shorter than the 12-byte header";
		return -EINVAL;
	}
	frame_len = c->r_len - NET_HDR_SIZE;
	virtq_read(c, 0, &h, sizeof(h));
	if (virtio_net_tx_check(&h, frame_len, n->mmio.drv_features, &bad)) {
		n->stats.tx_dropped++;
		drop_note(n, "sent", bad);
		return 0;
	}
	virtq_budget_spend(budget, frame_len);
	if (n->tap_dead) {
		n->stats.tx_dropped++;
		return 0;
	}
	n->tx_iov[0] = (struct iovec){ &h, sizeof(h) };
	/* A chain has at most VIRTQ_MAX_CHAIN buffers, so this fits. */
	k = virtq_slice(c->r, c->nr, NET_HDR_SIZE, frame_len, n->tx_iov + 1, VIRTQ_MAX_CHAIN);
	if (k < 0)
		k = 0;
	do
		r = writev(n->tap, n->tx_iov, k + 1);
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)(NET_HDR_SIZE + frame_len)) {
		n->stats.tx_packets++;
		return 0;
	}
	n->stats.tx_dropped++;
	if (r < 0 && errno == EBADFD)
		tap_dies(n, "writing", errno);
	else	/* a down interface (EIO), a frame it rejects (EINVAL): this one only */
		tap_note(n, "writing", r < 0 ? errno : EMSGSIZE);
	return 0;
}

/* --- the device -------------------------------------------------------- */

static bool net_queue_notify(void *dev, unsigned int q, struct virtq_budget *budget)
{
	struct virtio_net *n = dev;
	bool more = false;

	if (q == NET_TXQ)
		more = virtio_mmio_drain(&n->mmio, NET_TXQ, budget, &n->chain, tx_chain);
	/* A stalled receive waits for buffers, or for the driver to come
	 * up (its first transmission says it has): either way, try it. An
	 * unstalled one hears from the TAP itself, which stays readable
	 * while frames are left. */
	if (!n->tap_watched)
		process_rx(n, budget);
	return more;
}

/* The driver reset the device (on a vCPU thread, lock held): forget its
 * buffers; the TAP's offloads are set again for its next features. No
 * system call here: the I/O loop does those. */
static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	rx_forget(n);
	n->offload_synced = false;
}

static void net_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	struct virtio_net *n = dev;
	struct net_config c = { .status = n->link, .max_virtqueue_pairs = 1 };

	memcpy(c.mac, n->mac, sizeof(c.mac));
	memcpy(data, (uint8_t *)&c + off, len);
}

static const struct virtio_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX |
		    VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_NET_F_MAC |
		    VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF |
		    VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM |
		    VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 |
		    VIRTIO_NET_F_GUEST_TSO4 | VIRTIO_NET_F_GUEST_TSO6,
	.nqueues = 2,
	.config_size = sizeof(struct net_config),
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

void virtio_net_poll(struct virtio_net *n)
{
	pthread_mutex_lock(&n->mmio.lock);
	struct virtq_budget b = virtio_mmio_budget(&n->mmio);

	process_rx(n, &b);
	pthread_mutex_unlock(&n->mmio.lock);
}

static void on_tap(struct vm_event *ev, uint32_t events)
{
	struct virtio_net *n = ev->opaque;

	/* A TAP polls EPOLLERR only once its interface is gone (reads
	 * then fail with EBADFD), and epoll reports it whatever we ask
	 * for: take the TAP out of the loop, or it spins. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		pthread_mutex_lock(&n->mmio.lock);
		tap_dies(n, "polling", EBADFD);
		pthread_mutex_unlock(&n->mmio.lock);
		return;
	}
	virtio_net_poll(n);
}

static int net_state(struct virtio_net *n, int fd, const uint8_t mac[6])
{
	int fl = fcntl(fd, F_GETFL);

	memset(n, 0, sizeof(*n));
	n->tap = fd;
	n->link = VIRTIO_NET_S_LINK_UP;
	n->tap_watched = true;	/* from the start: see rx_watch */
	memcpy(n->mac, mac, sizeof(n->mac));
	n->tap_errors = (struct ratelog)RATELOG_INIT(MAX_LOGGED);
	n->drops = (struct ratelog)RATELOG_INIT(MAX_LOGGED);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int virtio_net_setup(struct virtio_net *n, const struct guest_mem *gm,
		     int fd, const uint8_t mac[6])
{
	int r = net_state(n, fd, mac);

	return r ? r : virtio_mmio_setup(&n->mmio, gm, 0, 0, &net_ops, n);
}

int virtio_net_init(struct virtio_net *n, struct vm *vm, uint64_t base,
		    uint32_t irq, int tap, const uint8_t mac[6])
{
	int hdr = NET_HDR_SIZE, r;

	if ((r = tap_check(tap, NULL)))
		return r;
	if ((r = net_state(n, tap, mac)))
		return r;
	/* The header with num_buffers, both ways; no offloads until a guest
	 * accepts them (whatever the opener left set). */
	if (ioctl(tap, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(tap, TUNSETOFFLOAD, 0ul) < 0)
		return -errno;
	n->tap_ioctls = true;
	n->vm = vm;
	r = virtio_mmio_init(&n->mmio, vm, base, irq, &net_ops, n);
	if (r)
		return r;
	n->tap_ev = (struct vm_event){ tap, on_tap, n };
	return vm_event_add(vm, &n->tap_ev, EPOLLIN);
}

void virtio_net_exit(struct virtio_net *n)
{
	if (!n->mmio.ops)
		return;		/* never set up: its fds are not ours */
	close(n->mmio.irq_fd);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (n->mmio.kick_fd[i] >= 0)
			close(n->mmio.kick_fd[i]);
	pthread_mutex_destroy(&n->mmio.lock);
	n->mmio.ops = NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);

		if (lo < 0 || s[2] != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		s += 3;
	}
	if (m[0] & 1)
		return -EINVAL;	/* the group bit: a multicast address */
	memcpy(mac, m, sizeof(m));
	return 0;
}
