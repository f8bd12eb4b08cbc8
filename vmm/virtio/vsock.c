/* virtio-vsock device: see vsock.h. Everything runs on the I/O loop under
 * the device lock: queue kicks, host socket events, accepted connections,
 * the deadline timer. The guest's packets are checked (type, CIDs, length,
 * op, state, credit) before anything is done for them; a bad one is
 * dropped with a log line and, if it names a stream, answered with a reset.
 *
 * A stream closes cleanly (§5.10.6.6) once both directions are done: the
 * guest shut its sending side and all it sent reached the host socket, and
 * the host sent EOF or the guest will not read. Then the guest gets RST and
 * the host socket is closed. Host sockets' epoll events are only hints:
 * what happened is learnt from read() and send(), so an event that arrives
 * for a slot closed and reused meanwhile costs one EAGAIN. */
#include "vmm/virtio/vsock_int.h"
#include "lib/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr layout");

static void drop(struct virtio_vsock *v, const struct vsock_hdr *h, const char *why)
{
	bool last;

	if (!ratelog_take(&v->dropped, &last))
		return;
	if (h)
		fprintf(stderr, "airlock-vmm: virtio-vsock: dropped a guest packet (op %u, "
			"port %u to %u): %s%s\n", h->op, h->src_port, h->dst_port, why,
			last ? " (further dropped packets are not reported)" : "");
	else
		fprintf(stderr, "airlock-vmm: virtio-vsock: dropped a guest packet: %s%s\n",
			why, last ? " (further dropped packets are not reported)" : "");
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

/* A bad packet: log it, and reset the stream it names, if any. */
static void reject(struct virtio_vsock *v, struct vsock_conn *c,
		   const struct vsock_hdr *h, const char *why)
{
	drop(v, h, why);
	if (c && c->state != CONN_CLOSING)
		vsock_conn_reset(c);
	else if (!c && h->src_cid == v->guest_cid && h->dst_cid == VSOCK_HOST_CID)
		vsock_queue_rst(v, h);
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
	/* Every packet carries our credit: no separate update is owed. */
	c->fwd_cnt_sent = c->fwd_cnt;
	c->want &= ~(unsigned int)WANT_CREDIT;
}

/* The next packet connection c owes the guest, written into rx chain ch:
 * its length, or 0 if it owes nothing now. */
static uint32_t conn_rx(struct virtio_vsock *v, struct vsock_conn *c,
			const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	uint32_t len = 0;

	for (;;) {
		if (c->state == CONN_FREE || c->state == CONN_HANDSHAKE)
			return 0;
		if (c->want & WANT_RST) {
			hdr_for(v, c, &h, VSOCK_OP_RST, 0, 0);
			vsock_conn_free(c);
		} else if (c->want & WANT_REQUEST) {
			if (v->hold_host && clock_ns() < v->hold_until)
				return 0;	/* the guest has not handled its reset yet */
			v->hold_host = false;
			c->want &= ~(unsigned int)WANT_REQUEST;
			hdr_for(v, c, &h, VSOCK_OP_REQUEST, 0, 0);
		} else if (c->want & WANT_RESPONSE) {
			c->want &= ~(unsigned int)WANT_RESPONSE;
			hdr_for(v, c, &h, VSOCK_OP_RESPONSE, 0, 0);
		} else if (c->want & WANT_SHUTDOWN) {
			c->want &= ~(unsigned int)WANT_SHUTDOWN;
			hdr_for(v, c, &h, VSOCK_OP_SHUTDOWN, 0, VSOCK_SHUTDOWN_SEND);
		} else if (c->want & WANT_CREDIT_REQUEST) {
			c->want &= ~(unsigned int)WANT_CREDIT_REQUEST;
			hdr_for(v, c, &h, VSOCK_OP_CREDIT_REQUEST, 0, 0);
		} else if (c->want & WANT_CREDIT) {
			hdr_for(v, c, &h, VSOCK_OP_CREDIT_UPDATE, 0, 0);
		} else {
			int r = vsock_read_host(v, c, ch, &len);

			if (r == 0)
				return 0;
			if (r < 0)
				continue;	/* it owes a control packet now */
			hdr_for(v, c, &h, VSOCK_OP_RW, len, 0);
		}
		virtq_write(ch, 0, &h, HDR_LEN);
		return (uint32_t)HDR_LEN + len;
	}
}

/* Fill rx chain ch with the next packet owed: resets for unknown streams
 * first, then the connections in turn, starting after the last one served
 * so that one busy stream cannot starve the others. */
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
	for (unsigned int k = 0; k < VSOCK_MAX_CONNS; k++) {
		unsigned int i = (v->rr + k) % VSOCK_MAX_CONNS;
		uint32_t len = conn_rx(v, &v->conn[i], ch);

		if (len) {
			v->rr = i + 1;
			return len;
		}
	}
	return 0;
}

static bool live(const struct virtio_vsock *v)
{
	return (v->mmio.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(v->mmio.status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

/* Send the guest whatever is owed, as long as it gives us buffers and the
 * budget lasts. When buffers run out, avail_event asks the driver to kick
 * us as it adds more; when the budget does, returns true: come back later. */
static bool rx_batch(struct virtio_vsock *v, struct virtq_budget *budget)
{
	struct virtq *q = &v->mmio.q[Q_RX];
	bool pushed = false, more = false;

	if (!live(v) || !q->ready)
		return false;
	for (;;) {
		uint32_t len;
		int r;

		if (!virtq_budget_left(budget)) {
			more = true;
			break;
		}
		r = virtq_pop(q, &v->chain);
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;	/* more arrived meanwhile */
			break;
		}
		if (r < 0) {
			virtio_mmio_fail(&v->mmio, "a malformed rx descriptor chain");
			return false;
		}
		if (v->chain.nr || v->chain.w_len < HDR_LEN) {
			virtio_mmio_fail(&v->mmio, "an rx buffer too small for a packet header");
			return false;
		}
		len = fill_rx(v, &v->chain);
		if (len == 0) {
			virtq_unpop(q, &v->chain);	/* nothing to say: keep the buffer */
			break;
		}
		budget->chains--;
		virtq_budget_spend(budget, len);
		virtq_push(q, &v->chain, len);
		pushed = true;
	}
	if (pushed)
		virtio_mmio_notify_used(&v->mmio, Q_RX);
	return more;
}

/* One batch toward the guest, from wherever its work came (host sockets,
 * the timer, the tx queue); the rest on a later round of the I/O loop. */
static void process_rx(struct virtio_vsock *v)
{
	struct virtq_budget b = virtio_mmio_budget(&v->mmio);

	if (rx_batch(v, &b))
		virtio_mmio_rearm(&v->mmio, Q_RX);
}

/* Guest data for the host socket: straight from the guest's buffers if it
 * takes it, the rest kept; the credit check bounds that by VSOCK_BUF_ALLOC. */
static void deliver(struct virtio_vsock *v, struct vsock_conn *c,
		    const struct virtq_chain *ch, uint32_t len)
{
	ssize_t n = 0;

	if (c->txlen == 0 && len) {
		int k = virtq_slice(ch->r, ch->nr, HDR_LEN, len, v->iov, VIRTQ_MAX_CHAIN);
		if (k > 0) {
			/* writev, not sendmsg: the VMM has no call that can pass
			 * descriptors. The socket is non-blocking; SIGPIPE is
			 * ignored. */
			do
				n = writev(c->ev.fd, v->iov, k);
			while (n < 0 && errno == EINTR);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				vsock_conn_reset(c);
				return;
			}
			if (n < 0)
				n = 0;
			c->fwd_cnt += (uint32_t)n;
		}
	}
	if ((uint32_t)n < len) {
		virtq_read(ch, HDR_LEN + (uint64_t)n, c->txbuf + c->txlen, len - (uint32_t)n);
		c->txlen += len - (uint32_t)n;
	}
	c->tx_cnt += len;
	vsock_maybe_credit(c);
}

/* The guest accepted a host program's stream: tell the program. */
static void established(struct vsock_conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);

	c->state = CONN_ESTABLISHED;
	c->deadline = 0;
	c->readable = true;	/* data may have followed the CONNECT line */
	if (send(c->ev.fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		vsock_conn_reset(c);
}

/* One packet from the guest; returns the payload bytes it moved. */
static uint32_t tx_packet(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	struct vsock_hdr h;
	struct vsock_conn *c = NULL;
	const char *why;

	if (virtq_read(ch, 0, &h, HDR_LEN) != HDR_LEN) {
		drop(v, NULL, "shorter than a header");
		return 0;
	}
	if (h.src_cid == v->guest_cid && h.dst_cid == VSOCK_HOST_CID)
		c = vsock_find(v, h.dst_port, h.src_port);
	if (vsock_hdr_check(&h, v->guest_cid, ch->r_len - HDR_LEN, &why)) {
		reject(v, c, &h, why);
		return 0;
	}
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			vsock_guest_connect(v, &h);
		else
			vsock_queue_rst(v, &h);	/* no such stream (any more) */
		return 0;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	c->credit_requested = false;
	if (h.op == VSOCK_OP_RST) {
		vsock_conn_free(c);	/* no reset is owed to a guest that reset */
		return 0;
	}
	if (c->state == CONN_CLOSING)
		return 0;	/* it crossed our reset on the way */
	if (c->state == CONN_BROKER) {
		reject(v, c, &h, "a packet on a stream not yet open");
		return 0;
	}
	if (c->state == CONN_CONNECTING && h.op != VSOCK_OP_RESPONSE) {
		reject(v, c, &h, "a packet on a stream the guest has not accepted");
		return 0;
	}
	switch (h.op) {
	case VSOCK_OP_REQUEST:
		reject(v, c, &h, "connection request for a live stream");
		break;
	case VSOCK_OP_RESPONSE:
		if (c->state != CONN_CONNECTING || (c->want & WANT_REQUEST))
			reject(v, c, &h, "response to no request");
		else
			established(c);
		break;
	case VSOCK_OP_RW:
		/* Beyond the credit we advertised: the guest counted with a
		 * fwd_cnt no newer than fwd_cnt_sent, so an honest one never is. */
		if (c->guest_no_send)
			reject(v, c, &h, "data after the guest shut its sending side");
		else if ((uint64_t)(c->tx_cnt - c->fwd_cnt_sent) + h.len > VSOCK_BUF_ALLOC)
			reject(v, c, &h, "data beyond the credit we gave");
		else
			deliver(v, c, ch, h.len);
		return h.len;
	case VSOCK_OP_SHUTDOWN:
		if ((h.flags & VSOCK_SHUTDOWN_RCV) && !c->guest_no_rcv) {
			c->guest_no_rcv = true;
			shutdown(c->ev.fd, SHUT_RD);	/* host writes now fail */
		}
		if (h.flags & VSOCK_SHUTDOWN_SEND)
			c->guest_no_send = true;
		vsock_conn_progress(c);
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->want |= WANT_CREDIT;
		break;
	default:	/* CREDIT_UPDATE: taken from the header above */
		break;
	}
	return 0;
}

static int64_t tx_chain(void *dev, struct virtq_chain *ch, bool resume,
			struct virtq_budget *budget, const char **why)
{
	(void)resume;	/* never partial: a packet is at most 64 KiB */
	(void)why;	/* a bad packet is dropped, never fatal */
	virtq_budget_spend(budget, HDR_LEN + tx_packet(dev, ch));
	return 0;
}

static bool process_tx(struct virtio_vsock *v, struct virtq_budget *budget)
{
	bool more = virtio_mmio_drain(&v->mmio, Q_TX, budget, &v->chain, tx_chain);

	process_rx(v);	/* answers, credit updates, resets */
	return more;
}

/* Tick once a second while some connection has a deadline. */
static void arm_timer(struct virtio_vsock *v)
{
	struct itimerspec its = { 0 };
	bool need = false;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS && !need; i++)
		need = v->conn[i].deadline != 0;
	if (v->timer_fd < 0 || need == v->timer_armed)
		return;
	if (need)
		its.it_value.tv_sec = its.it_interval.tv_sec = 1;
	if (timerfd_settime(v->timer_fd, 0, &its, NULL) == 0)
		v->timer_armed = need;
}

/* Every entry from the I/O loop ends here: answers, data, the timer. */
void vsock_settle(struct virtio_vsock *v)
{
	process_rx(v);
	arm_timer(v);
}

void virtio_vsock_expire(struct virtio_vsock *v, uint64_t now)
{
	pthread_mutex_lock(&v->mmio.lock);
	vsock_cleanup_after_reset(v);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];

		if (!c->deadline || now < c->deadline)
			continue;
		if (c->state == CONN_HANDSHAKE || (c->want & WANT_REQUEST))
			vsock_conn_free(c);	/* the guest never heard of it */
		else
			vsock_conn_reset(c);
	}
	vsock_settle(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

static void on_timer(struct vm_event *ev, uint32_t events)
{
	uint64_t n;

	(void)events;
	if (read(ev->fd, &n, sizeof(n)) < 0) {
		/* spurious wake-up: nothing expired */
	}
	virtio_vsock_expire(ev->opaque, clock_ns());
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
	vsock_cleanup_after_reset(v);
	arm_timer(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

/* --- the device ------------------------------------------------------- */

static bool vsock_queue_notify(void *dev, unsigned int q, struct virtq_budget *budget)
{
	struct virtio_vsock *v = dev;
	bool more = false;

	vsock_cleanup_after_reset(v);
	if (q == Q_TX)
		more = process_tx(v, budget);
	else if (q == Q_RX)
		more = rx_batch(v, budget);	/* new buffers: maybe we were waiting */
	else if (q == Q_EVENT && v->hold_host &&
		 virtq_added_since(&v->mmio.q[Q_EVENT], v->hold_avail)) {
		/* The guest refilled the event queue after a restore's transport
		 * reset: it has handled it, streams can open now. (A notify
		 * without a new buffer, such as the restore's own look at every
		 * queue, says nothing.) */
		v->hold_host = false;
		process_rx(v);
	}
	arm_timer(v);
	return more;
}

/* The driver reset the device (on a vCPU thread, lock held). Closing
 * sockets is the I/O loop's job, so a vCPU thread never needs close() or
 * epoll_ctl(): mark, wake it, and let it clean up before it touches a
 * queue or a socket again. */
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

static int vsock_state(struct virtio_vsock *v, uint64_t cid,
		       const struct vsock_host_ports *hp)
{
	memset(v, 0, sizeof(*v));
	v->guest_cid = cid;
	v->listen_fd = v->reset_efd = v->timer_fd = v->broker_fd = -1;
	v->next_port = FIRST_HOST_PORT;
	v->dropped = (struct ratelog)RATELOG_INIT(MAX_LOGGED_DROPS);
	/* CIDs 0-2 and 0xffffffff are reserved. */
	if (cid < 3 || cid >= UINT32_MAX)
		return -EINVAL;
	if (hp) {
		if (hp->nports > VSOCK_BROKER_MAX_PORTS)
			return -EINVAL;
		v->broker_fd = hp->broker_fd;
		v->nports = hp->nports;
		/* Answers are taken as they come, from the I/O loop. */
		if (v->broker_fd >= 0 &&
		    fcntl(v->broker_fd, F_SETFL, fcntl(v->broker_fd, F_GETFL) | O_NONBLOCK) < 0)
			return -errno;
		if (hp->nports)
			memcpy(v->ports, hp->ports, hp->nports * sizeof(v->ports[0]));
	}
	/* Every stream's buffer, mapped now: no allocation once the sandbox
	 * is closed. A page costs memory only once a lagging host reader
	 * makes us keep guest data in it. */
	v->bufs = mmap(NULL, BUFS_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->bufs == MAP_FAILED) {
		v->bufs = NULL;
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		vsock_conn_clear(v, &v->conn[i]);
	return 0;
}

int virtio_vsock_setup(struct virtio_vsock *v, const struct guest_mem *gm,
		       uint64_t cid, const struct vsock_host_ports *hp)
{
	int r = vsock_state(v, cid, hp);

	if (r == 0)
		r = virtio_mmio_setup(&v->mmio, gm, 0, 0, &vsock_ops, v);
	if (r)
		virtio_vsock_exit(v);
	return r;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void virtio_vsock_unlisten(struct virtio_vsock *v)
{
	close_fd(&v->listen_fd);
}

void virtio_vsock_exit(struct virtio_vsock *v)
{
	if (v->bufs)
		for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
			if (v->conn[i].state != CONN_FREE)
				vsock_conn_free(&v->conn[i]);
	if (v->bufs)
		munmap(v->bufs, BUFS_SIZE);
	v->bufs = NULL;
	close_fd(&v->listen_fd);
	close_fd(&v->broker_fd);
	close_fd(&v->reset_efd);
	close_fd(&v->timer_fd);
	if (v->mmio.ops) {	/* else never set up: its fds are not ours */
		close_fd(&v->mmio.irq_fd);
		for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
			close_fd(&v->mmio.kick_fd[i]);
		pthread_mutex_destroy(&v->mmio.lock);
		v->mmio.ops = NULL;
	}
}

int virtio_vsock_init(struct virtio_vsock *v, struct vm *vm, uint64_t base,
		      uint32_t irq, uint64_t cid, int listen_fd,
		      const struct vsock_host_ports *hp)
{
	int r = vsock_state(v, cid, hp);

	v->listen_fd = listen_fd;	/* ours to close from here on */
	if (r)
		return r;
	v->vm = vm;
	v->reset_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->reset_efd < 0 || v->timer_fd < 0)
		return -errno;
	r = virtio_mmio_init(&v->mmio, vm, base, irq, &vsock_ops, v);
	if (r)
		return r;
	v->listen_ev = (struct vm_event){ v->listen_fd, vsock_on_listen, v };
	v->reset_ev = (struct vm_event){ v->reset_efd, on_reset, v };
	vm_vcpu_may_write(vm, v->reset_efd);	/* a driver reset, from a vCPU */
	v->timer_ev = (struct vm_event){ v->timer_fd, on_timer, v };
	v->broker_ev = (struct vm_event){ v->broker_fd, vsock_on_broker, v };
	if ((r = vm_event_add(vm, &v->listen_ev, EPOLLIN | EPOLLET)) ||
	    (r = vm_event_add(vm, &v->reset_ev, EPOLLIN)) ||
	    (v->broker_fd >= 0 && (r = vm_event_add(vm, &v->broker_ev, EPOLLIN))))
		return r;
	return vm_event_add(vm, &v->timer_ev, EPOLLIN);
}
