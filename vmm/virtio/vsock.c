/* virtio-vsock device: see vsock.h. Everything runs on the I/O loop under
 * the device lock: queue kicks, host socket events, accepted connections.
 * The guest's packets are checked (type, CIDs, length, op, credit) before
 * anything is done for them; a bad one is dropped with a log line and, if
 * it names a connection, answered with a reset. */
#include "vmm/virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define VIRTIO_ID_VSOCK 19
enum { Q_RX = 0, Q_TX = 1, Q_EVENT = 2 };
#define HDR_LEN sizeof(struct vsock_hdr)
#define FIRST_HOST_PORT (1u << 30)	/* ports we pick for host-initiated streams */
#define MAX_LOGGED_DROPS 10

_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr layout");

static void drop(struct virtio_vsock *v, const char *why)
{
	if (v->dropped < MAX_LOGGED_DROPS)
		fprintf(stderr, "airlock-vmm: virtio-vsock: dropped a guest packet: %s\n", why);
	else if (v->dropped == MAX_LOGGED_DROPS)
		fprintf(stderr, "airlock-vmm: virtio-vsock: further dropped packets not reported\n");
	v->dropped++;
}

int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid,
		    uint64_t payload_len, const char **why)
{
	if (h->type != VSOCK_TYPE_STREAM)
		*why = "not a stream packet";
	else if (h->src_cid != guest_cid)
		*why = "wrong source CID";
	else if (h->dst_cid != VSOCK_HOST_CID)
		*why = "not addressed to the host";
	else if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		*why = "unknown operation";
	else if (h->len > VSOCK_MAX_PKT)
		*why = "payload larger than 64 KiB";
	else if (h->len != payload_len)
		*why = "length field does not match the payload";
	else if (h->op != VSOCK_OP_RW && h->len)
		*why = "payload on a control packet";
	else
		return 0;
	return -EINVAL;
}

static struct vsock_conn *find(struct virtio_vsock *v, uint32_t host_port,
			       uint32_t guest_port)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];

		if (c->state != CONN_FREE && c->state != CONN_HANDSHAKE &&
		    c->host_port == host_port && c->guest_port == guest_port)
			return c;
	}
	return NULL;
}

static struct vsock_conn *conn_alloc(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];

		if (c->state == CONN_FREE) {
			memset(c, 0, sizeof(*c));
			c->dev = v;
			c->ev.fd = -1;
			return c;
		}
	}
	return NULL;
}

static void conn_free(struct vsock_conn *c)
{
	if (c->ev.fd >= 0) {
		if (c->dev->vm)
			vm_event_del(c->dev->vm, &c->ev);
		close(c->ev.fd);
	}
	free(c->txbuf);
	memset(c, 0, sizeof(*c));
	c->ev.fd = -1;
}

static void conn_reset(struct vsock_conn *c)
{
	/* Tell the guest, then forget the connection once that is sent. */
	c->state = CONN_CLOSING;
	c->want = WANT_RST;
	if (c->ev.fd >= 0) {
		if (c->dev->vm)
			vm_event_del(c->dev->vm, &c->ev);
		close(c->ev.fd);
		c->ev.fd = -1;
	}
}

/* Answer a packet that belongs to no connection with a reset. */
static void queue_rst(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	if (h->op == VSOCK_OP_RST || v->nrst >= VSOCK_PENDING_RST)
		return;
	v->rst[v->nrst].host_port = h->dst_port;
	v->rst[v->nrst].guest_port = h->src_port;
	v->nrst++;
}

static uint32_t peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void hdr_for(const struct virtio_vsock *v, struct vsock_conn *c,
		    struct vsock_hdr *h, enum vsock_op op, uint32_t len,
		    uint32_t flags)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = v->guest_cid,
		.src_port = c->host_port,
		.dst_port = c->guest_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = (uint16_t)op,
		.flags = flags,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_sent = c->fwd_cnt;	/* every packet carries our credit */
}

/* The guest gets a credit update once it has used a quarter of its window
 * since the last one, so a sender never stalls on stale credit. */
static void maybe_credit(struct vsock_conn *c)
{
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 4)
		c->want |= WANT_CREDIT;
}

/* Write a packet for the guest into rx chain ch. Returns its length, or 0
 * if nothing is owed right now. */
static uint32_t fill_rx(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;

	if (v->nrst) {
		struct vsock_conn tmp = { .host_port = v->rst[0].host_port,
					  .guest_port = v->rst[0].guest_port };

		hdr_for(v, &tmp, &h, VSOCK_OP_RST, 0, 0);
		memmove(&v->rst[0], &v->rst[1], --v->nrst * sizeof(v->rst[0]));
		virtq_write(ch, 0, &h, HDR_LEN);
		return HDR_LEN;
	}
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];
		uint64_t room;
		ssize_t n;
		int k;

		if (c->state == CONN_FREE || c->state == CONN_HANDSHAKE)
			continue;
		if (c->want & WANT_RST) {
			hdr_for(v, c, &h, VSOCK_OP_RST, 0, 0);
			conn_free(c);
		} else if (c->want & WANT_REQUEST) {
			c->want &= ~WANT_REQUEST;
			hdr_for(v, c, &h, VSOCK_OP_REQUEST, 0, 0);
		} else if (c->want & WANT_RESPONSE) {
			c->want &= ~WANT_RESPONSE;
			hdr_for(v, c, &h, VSOCK_OP_RESPONSE, 0, 0);
		} else if (c->want & WANT_SHUTDOWN) {
			c->want &= ~WANT_SHUTDOWN;
			hdr_for(v, c, &h, VSOCK_OP_SHUTDOWN, 0, c->shutdown_flags);
		} else if (c->want & WANT_CREDIT) {
			c->want &= ~WANT_CREDIT;
			hdr_for(v, c, &h, VSOCK_OP_CREDIT_UPDATE, 0, 0);
		} else if (c->state == CONN_ESTABLISHED && c->readable &&
			   !c->host_eof && !c->guest_no_rcv && peer_credit(c) > 0) {
			room = ch->w_len - HDR_LEN;
			if (room > peer_credit(c))
				room = peer_credit(c);
			if (room > VSOCK_MAX_PKT)
				room = VSOCK_MAX_PKT;
			k = virtq_slice(ch->w, ch->nw, HDR_LEN, room, v->iov, VIRTQ_MAX_CHAIN);
			if (k <= 0)
				continue;
			n = readv(c->ev.fd, v->iov, k);
			if (n > 0) {
				hdr_for(v, c, &h, VSOCK_OP_RW, (uint32_t)n, 0);
				c->rx_cnt += (uint32_t)n;
				virtq_write(ch, 0, &h, HDR_LEN);
				return HDR_LEN + (uint32_t)n;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				c->readable = false;
				continue;
			}
			if (n < 0 || c->host_gone) {
				conn_reset(c);	/* error, or the host side is gone */
			} else {
				/* EOF: the host will send no more; it may still read. */
				c->host_eof = true;
				c->want |= WANT_SHUTDOWN;
				c->shutdown_flags = VSOCK_SHUTDOWN_SEND;
			}
			i--;	/* this connection now owes a control packet */
			continue;
		} else {
			continue;
		}
		virtq_write(ch, 0, &h, HDR_LEN);
		return HDR_LEN;
	}
	return 0;
}

static void cleanup_after_reset(struct virtio_vsock *v)
{
	if (!v->reset_pending)
		return;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (v->conn[i].state != CONN_FREE)
			conn_free(&v->conn[i]);
	v->nrst = 0;
	v->reset_pending = false;
}

static bool live(const struct virtio_vsock *v)
{
	return (v->mmio.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(v->mmio.status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Send the guest whatever is owed, as long as it gives us buffers. When
 * they run out, avail_event asks the driver to kick us as it adds more. */
static void process_rx(struct virtio_vsock *v)
{
	struct virtq *q = &v->mmio.q[Q_RX];
	bool pushed = false;
	uint32_t len;
	int r;

	if (!live(v) || !q->ready)
		return;
	for (;;) {
		r = virtq_pop(q, &v->chain);
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;	/* more arrived meanwhile */
			break;
		}
		if (r < 0) {
			virtio_mmio_fail(&v->mmio, "a malformed rx descriptor chain");
			return;
		}
		if (v->chain.nr || v->chain.w_len < HDR_LEN) {
			virtio_mmio_fail(&v->mmio, "an rx buffer too small for a packet header");
			return;
		}
		len = fill_rx(v, &v->chain);
		if (len == 0) {
			virtq_unpop(q);	/* nothing to say: keep the buffer */
			break;
		}
		virtq_push(q, v->chain.head, len);
		pushed = true;
	}
	if (pushed)
		virtio_mmio_notify_used(&v->mmio, Q_RX);
}

static void flush_tx(struct vsock_conn *c)
{
	while (c->txlen) {
		ssize_t n = send(c->ev.fd, c->txbuf, c->txlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_reset(c);
			return;
		}
		memmove(c->txbuf, c->txbuf + n, c->txlen - (size_t)n);
		c->txlen -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	maybe_credit(c);
	if (c->guest_no_send)
		shutdown(c->ev.fd, SHUT_WR);
}

/* Guest data for the host socket: straight through if it takes it, the
 * rest kept (the guest's credit bounds how much that can be). */
static void deliver(struct virtio_vsock *v, struct vsock_conn *c,
		    const struct virtq_chain *ch, uint32_t len)
{
	ssize_t n = 0;
	int k;

	if (c->txlen == 0) {
		k = virtq_slice(ch->r, ch->nr, HDR_LEN, len, v->iov, VIRTQ_MAX_CHAIN);
		if (k > 0) {
			struct msghdr mh = { .msg_iov = v->iov, .msg_iovlen = (size_t)k };

			n = sendmsg(c->ev.fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				n = 0;
			if (n < 0) {
				conn_reset(c);
				return;
			}
			c->fwd_cnt += (uint32_t)n;
		}
	}
	if ((uint32_t)n < len) {
		if (!c->txbuf && !(c->txbuf = malloc(VSOCK_BUF_ALLOC))) {
			conn_reset(c);
			return;
		}
		virtq_read(ch, HDR_LEN + (uint64_t)n, c->txbuf + c->txlen, len - (uint32_t)n);
		c->txlen += len - (uint32_t)n;
	}
	maybe_credit(c);
}

static void on_conn(struct vm_event *ev, uint32_t events);

/* A guest stream to host port P: connect to "PATH_P". */
static void guest_connect(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c = conn_alloc(v);
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path.sun_path,
		     h->dst_port);
	if (!c || n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		queue_rst(v, h);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		queue_rst(v, h);	/* nobody listens there: refused */
		return;
	}
	c->state = CONN_ESTABLISHED;
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->want = WANT_RESPONSE;
	c->ev = (struct vm_event){ fd, on_conn, c };
	if (v->vm && vm_event_add(v->vm, &c->ev,
				  EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
		conn_reset(c);
		return;
	}
	c->readable = true;
}

static void tx_packet(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	struct vsock_conn *c;
	const char *why;
	char ok[32];
	int n;

	if (ch->r_len < HDR_LEN || virtq_read(ch, 0, &h, HDR_LEN) != HDR_LEN) {
		drop(v, "shorter than a header");
		return;
	}
	if (vsock_hdr_check(&h, v->guest_cid, ch->r_len - HDR_LEN, &why)) {
		drop(v, why);
		if (h.type == VSOCK_TYPE_STREAM && h.src_cid == v->guest_cid &&
		    h.dst_cid == VSOCK_HOST_CID)
			queue_rst(v, &h);	/* one of ours: make it go away */
		return;
	}
	c = find(v, h.dst_port, h.src_port);
	if (c) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
	}
	if (h.op == VSOCK_OP_REQUEST) {
		if (c) {
			drop(v, "connection request for a live connection");
			conn_reset(c);
			return;
		}
		guest_connect(v, &h);
		return;
	}
	if (c && c->state == CONN_CLOSING) {
		if (h.op == VSOCK_OP_RST)
			conn_free(c);	/* both sides reset: nothing more owed */
		return;
	}
	if (!c) {
		queue_rst(v, &h);
		return;
	}
	switch (h.op) {
	case VSOCK_OP_RESPONSE:
		if (c->state != CONN_CONNECTING) {
			drop(v, "response for a connection not being made");
			conn_reset(c);
			break;
		}
		c->state = CONN_ESTABLISHED;
		n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
		if (send(c->ev.fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
			conn_reset(c);
		c->readable = true;	/* data may have followed CONNECT */
		break;
	case VSOCK_OP_RW:
		if (c->state != CONN_ESTABLISHED || c->guest_no_send) {
			drop(v, "data on a connection that is not open for it");
			conn_reset(c);
		} else if ((uint64_t)c->txlen + h.len > VSOCK_BUF_ALLOC) {
			drop(v, "data beyond the credit we gave");
			conn_reset(c);
		} else {
			deliver(v, c, ch, h.len);
		}
		break;
	case VSOCK_OP_SHUTDOWN:
		if (h.flags & VSOCK_SHUTDOWN_RCV)
			c->guest_no_rcv = true;
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_no_send = true;
		if (c->guest_no_rcv && c->guest_no_send) {
			flush_tx(c);	/* best effort: the guest closed */
			if (c->state != CONN_CLOSING)
				conn_reset(c);
		} else if (c->guest_no_send && c->txlen == 0) {
			shutdown(c->ev.fd, SHUT_WR);
		}
		break;
	case VSOCK_OP_RST:
		conn_free(c);
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->want |= WANT_CREDIT;
		break;
	default:	/* CREDIT_UPDATE: already taken from the header */
		break;
	}
}

static void process_tx(struct virtio_vsock *v)
{
	struct virtq *q = &v->mmio.q[Q_TX];
	bool pushed = false;
	int r;

	do {
		while ((r = virtq_pop(q, &v->chain)) == 1) {
			tx_packet(v, &v->chain);
			virtq_push(q, v->chain.head, 0);
			pushed = true;
		}
		if (r < 0) {
			virtio_mmio_fail(&v->mmio, "a malformed tx descriptor chain");
			return;
		}
	} while (virtq_enable_notify(q));
	if (pushed)
		virtio_mmio_notify_used(&v->mmio, Q_TX);
	process_rx(v);	/* answers, credit updates, resets */
}

static void vsock_queue_notify(void *dev, unsigned int q)
{
	struct virtio_vsock *v = dev;

	cleanup_after_reset(v);
	if (q == Q_TX)
		process_tx(v);
	else if (q == Q_RX)
		process_rx(v);	/* new buffers: maybe we were waiting for some */
	/* Q_EVENT: we never send transport events. */
}

/* The driver reset the device (on a vCPU thread, lock held): every stream
 * is gone. Closing sockets is the I/O loop's job, so a vCPU thread never
 * needs close() or epoll_ctl(): mark, wake it, and let it clean up before
 * it touches a queue again. */
static void vsock_reset(void *dev)
{
	struct virtio_vsock *v = dev;
	uint64_t one = 1;

	v->reset_pending = true;
	if (v->reset_efd >= 0 && write(v->reset_efd, &one, sizeof(one)) < 0) {
		/* overflow only: a wake-up is pending already */
	}
}

static void vsock_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	struct virtio_vsock *v = dev;
	uint64_t cid = v->guest_cid;

	memcpy(data, (uint8_t *)&cid + off, len);
}

static const struct virtio_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.features = VIRTIO_F_VERSION_1 | VIRTIO_F_RING_EVENT_IDX |
		    VIRTIO_F_RING_INDIRECT_DESC,
	.nqueues = 3,
	.config_size = sizeof(uint64_t),
	.config_read = vsock_config_read,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
};

static uint32_t pick_port(struct virtio_vsock *v)
{
	for (;;) {
		uint32_t p = v->next_port++;
		bool used = false;

		if (v->next_port < FIRST_HOST_PORT)
			v->next_port = FIRST_HOST_PORT;
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !used; i++)
			used = v->conn[i].state != CONN_FREE && v->conn[i].host_port == p;
		if (!used)
			return p;
	}
}

/* The host program's "CONNECT <port>\n", read a byte at a time so that
 * nothing after the line is taken from the stream. */
static void handshake(struct virtio_vsock *v, struct vsock_conn *c)
{
	unsigned long port;
	char *end;

	for (;;) {
		char ch;
		ssize_t n = read(c->ev.fd, &ch, 1);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		if (ch == '\n')
			break;
		if (c->line_len >= sizeof(c->line) - 1) {
			conn_free(c);	/* no handshake line is this long */
			return;
		}
		c->line[c->line_len++] = ch;
	}
	c->line[c->line_len] = '\0';
	if (strncmp(c->line, "CONNECT ", 8) != 0 || c->line[8] < '0' || c->line[8] > '9') {
		conn_free(c);
		return;
	}
	errno = 0;
	port = strtoul(c->line + 8, &end, 10);
	if (errno || port > UINT32_MAX || (*end && strcmp(end, "\r"))) {
		conn_free(c);
		return;
	}
	c->guest_port = (uint32_t)port;
	c->host_port = pick_port(v);
	c->state = CONN_CONNECTING;
	c->want = WANT_REQUEST;
	/* The guest has not said how much it can take: until it does,
	 * nothing is sent (peer_buf_alloc 0). */
}

static void on_conn(struct vm_event *ev, uint32_t events)
{
	struct vsock_conn *c = ev->opaque;
	struct virtio_vsock *v = c->dev;

	pthread_mutex_lock(&v->mmio.lock);
	cleanup_after_reset(v);
	if (c->state == CONN_HANDSHAKE) {
		handshake(v, c);
	} else if (c->state == CONN_CONNECTING || c->state == CONN_ESTABLISHED) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->readable = true;
		if (events & (EPOLLHUP | EPOLLERR))
			c->host_gone = true;
		if (c->state == CONN_CONNECTING && c->host_gone)
			conn_reset(c);	/* gave up before the guest answered */
		else if ((events & EPOLLOUT) && c->txlen)
			flush_tx(c);
	}
	process_rx(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

static void on_listen(struct vm_event *ev, uint32_t events)
{
	struct virtio_vsock *v = ev->opaque;

	(void)events;
	pthread_mutex_lock(&v->mmio.lock);
	cleanup_after_reset(v);
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0)
			break;
		c = conn_alloc(v);
		if (!c) {
			close(fd);	/* too many streams */
			continue;
		}
		c->state = CONN_HANDSHAKE;
		c->ev = (struct vm_event){ fd, on_conn, c };
		if (vm_event_add(v->vm, &c->ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)) {
			conn_free(c);
			continue;
		}
		handshake(v, c);
	}
	process_rx(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

static int vsock_state(struct virtio_vsock *v, uint64_t cid, const char *path)
{
	memset(v, 0, sizeof(*v));
	v->guest_cid = cid;
	v->listen_fd = v->reset_efd = -1;
	v->next_port = FIRST_HOST_PORT;
	v->path.sun_family = AF_UNIX;
	/* Room for "_4294967295" after it, for guest-initiated streams. */
	if (cid < 3 || cid > UINT32_MAX ||
	    strlen(path) + 12 > sizeof(v->path.sun_path))
		return -EINVAL;
	strcpy(v->path.sun_path, path);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		v->conn[i].ev.fd = -1;
	return 0;
}

int virtio_vsock_setup(struct virtio_vsock *v, const struct guest_mem *gm,
		       uint64_t cid, const char *path)
{
	int r = vsock_state(v, cid, path);

	return r ? r : virtio_mmio_setup(&v->mmio, gm, 0, 0, &vsock_ops, v);
}

static void on_reset(struct vm_event *ev, uint32_t events)
{
	struct virtio_vsock *v = ev->opaque;
	uint64_t n;

	(void)events;
	if (read(ev->fd, &n, sizeof(n)) < 0) {
		/* drained already */
	}
	pthread_mutex_lock(&v->mmio.lock);
	cleanup_after_reset(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

int virtio_vsock_init(struct virtio_vsock *v, struct vm *vm, uint64_t base,
		      uint32_t irq, uint64_t cid, const char *path)
{
	struct stat st;
	int r = vsock_state(v, cid, path);

	if (r)
		return r;
	v->vm = vm;
	/* A socket left by an earlier run is replaced; anything else is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	v->reset_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->listen_fd < 0 || v->reset_efd < 0)
		return -errno;
	if (bind(v->listen_fd, (struct sockaddr *)&v->path, sizeof(v->path)) < 0 ||
	    listen(v->listen_fd, 64) < 0)
		return -errno;
	r = virtio_mmio_init(&v->mmio, vm, base, irq, &vsock_ops, v);
	if (r)
		return r;
	v->listen_ev = (struct vm_event){ v->listen_fd, on_listen, v };
	v->reset_ev = (struct vm_event){ v->reset_efd, on_reset, v };
	r = vm_event_add(vm, &v->listen_ev, EPOLLIN);
	return r ? r : vm_event_add(vm, &v->reset_ev, EPOLLIN);
}
