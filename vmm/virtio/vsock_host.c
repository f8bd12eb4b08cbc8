/* virtio-vsock's host side: programs that connect to the VM's socket and
 * send their CONNECT line, the broker that opens sockets for streams the
 * guest starts (named ports only), and the I/O on those host sockets. See
 * vsock_int.h. */
#include "vmm/virtio/vsock_int.h"
#include "lib/clock.h"
#include "lib/unixsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- host to guest ---------------------------------------------------- */

/* Host data for the guest, read into ch after the header: 1 with *len
 * set, 0 if there is nothing to send now, -1 if the stream changed (EOF,
 * error, no credit) and owes a control packet instead. */
int vsock_read_host(struct virtio_vsock *v, struct vsock_conn *c,
		     const struct virtq_chain *ch, uint32_t *len)
{
	uint64_t room = ch->w_len - HDR_LEN;
	uint32_t credit = vsock_peer_credit(c);
	ssize_t n;
	int k;

	if (c->state != CONN_ESTABLISHED || !c->readable || c->host_eof || c->guest_no_rcv)
		return 0;
	if (credit == 0) {
		if (c->credit_requested)
			return 0;
		c->credit_requested = true;	/* once, until the guest speaks */
		c->want |= WANT_CREDIT_REQUEST;
		return -1;
	}
	if (room > credit)
		room = credit;
	if (room > VSOCK_MAX_PKT)
		room = VSOCK_MAX_PKT;
	k = virtq_slice(ch->w, ch->nw, HDR_LEN, room, v->iov, VIRTQ_MAX_CHAIN);
	if (k <= 0)
		return 0;	/* a buffer with room for a header only */
	do
		n = readv(c->ev.fd, v->iov, k);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		*len = (uint32_t)n;
		c->rx_cnt += (uint32_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->readable = false;
		return 0;
	}
	if (n < 0) {
		vsock_conn_reset(c);
		return -1;
	}
	/* EOF: the host will send no more; it may still read. */
	c->host_eof = true;
	c->want |= WANT_SHUTDOWN;
	vsock_conn_progress(c);
	return -1;
}

/* --- guest to host ---------------------------------------------------- */

static void flush_tx(struct vsock_conn *c)
{
	while (c->txlen) {
		ssize_t n = send(c->ev.fd, c->txbuf, c->txlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			vsock_conn_reset(c);	/* the host will not read any more */
			return;
		}
		memmove(c->txbuf, c->txbuf + n, c->txlen - (size_t)n);
		c->txlen -= (uint32_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	vsock_maybe_credit(c);
	vsock_conn_progress(c);
}

static bool port_named(const struct virtio_vsock *v, uint32_t port)
{
	for (unsigned int i = 0; i < v->nports; i++)
		if (v->ports[i] == port)
			return true;
	return false;
}

/* A guest stream to host port P: only to a named port, through the
 * broker, which answers (vsock_on_broker) with a socket or a refusal. */
void vsock_guest_connect(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	struct vsock_broker_req req = { .magic = VSOCK_BROKER_MAGIC, .port = h->dst_port };
	struct vsock_conn *c;

	if (v->broker_fd < 0 || !port_named(v, h->dst_port)) {
		vsock_queue_rst(v, h);	/* refused: nobody may be reached there */
		return;
	}
	c = vsock_conn_alloc(v, -1);
	if (!c) {
		if (!v->full_logged)
			fprintf(stderr, "airlock-vmm: virtio-vsock: all %u streams in use; "
				"refusing guest connections until one closes\n",
				(unsigned int)VSOCK_MAX_CONNS);
		v->full_logged = true;
		vsock_queue_rst(v, h);
		return;
	}
	req.id = (uint64_t)(c - v->conn) | ++v->broker_gen << 8;
	if (send(v->broker_fd, &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(req)) {
		vsock_queue_rst(v, h);	/* the broker is gone or swamped */
		return;			/* the slot was never used: still free */
	}
	c->state = CONN_BROKER;
	c->broker_id = req.id;
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->deadline = clock_ns() + VSOCK_CONNECT_TIMEOUT_NS;
}

/* The broker's answer for a guest stream: a socket (the stream is open:
 * RESPONSE) or a refusal (RST). An answer for a stream that is gone
 * meanwhile (the guest reset it, it expired) is dropped. */
static void broker_answer(struct virtio_vsock *v, const struct vsock_broker_rep *rep,
			  int fd)
{
	uint64_t slot = rep->id & 0xff;
	struct vsock_conn *c = slot < VSOCK_MAX_CONNS ? &v->conn[slot] : NULL;

	if (!c || c->state != CONN_BROKER || c->broker_id != rep->id ||
	    rep->magic != VSOCK_BROKER_MAGIC) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (rep->err || fd < 0) {
		if (fd >= 0)
			close(fd);
		vsock_conn_reset(c);
		return;
	}
	c->ev.fd = fd;
	c->state = CONN_ESTABLISHED;
	c->deadline = 0;
	c->want = WANT_RESPONSE;
	c->readable = true;
	if (vsock_watch(v, c))
		vsock_conn_reset(c);
}

static void broker_poll(struct virtio_vsock *v)
{
	for (;;) {
		struct vsock_broker_rep rep;
		unsigned int nfd = 0;
		int fd = -1;
		ssize_t n;

		if (v->broker_fd < 0)
			return;
		n = fd_recv(v->broker_fd, &rep, sizeof(rep), &fd, 1, &nfd);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n == (ssize_t)sizeof(rep)) {
			broker_answer(v, &rep, nfd ? fd : -1);
			continue;
		}
		if (nfd)
			close(fd);
		/* The broker hung up or spoke garbage: no more guest streams. */
		if (v->vm)
			vm_event_del(v->vm, &v->broker_ev);
		close(v->broker_fd);
		v->broker_fd = -1;
		return;
	}
}

/* The host program's "CONNECT <port>\n", read a byte at a time so that
 * nothing after the line is taken from the stream. Anything else closes
 * the socket, which is the refusal the program sees. */
static void handshake(struct virtio_vsock *v, struct vsock_conn *c)
{
	unsigned long port;
	char *end;

	for (;;) {
		char ch;
		ssize_t n = read(c->ev.fd, &ch, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			vsock_conn_free(c);	/* hung up, or an error */
			return;
		}
		if (ch == '\n')
			break;
		if (c->line_len >= sizeof(c->line) - 1) {
			vsock_conn_free(c);	/* no handshake line is this long */
			return;
		}
		c->line[c->line_len++] = ch;
	}
	c->line[c->line_len] = '\0';
	if (strncmp(c->line, "CONNECT ", 8) != 0 || c->line[8] < '0' || c->line[8] > '9') {
		vsock_conn_free(c);
		return;
	}
	errno = 0;
	port = strtoul(c->line + 8, &end, 10);
	if (errno || port > UINT32_MAX || (*end && strcmp(end, "\r"))) {
		vsock_conn_free(c);
		return;
	}
	c->guest_port = (uint32_t)port;
	c->host_port = vsock_pick_port(v);
	c->state = CONN_CONNECTING;
	c->want = WANT_REQUEST;
	c->deadline = clock_ns() + VSOCK_CONNECT_TIMEOUT_NS;
	/* The guest has not said how much it can take: until it does,
	 * nothing is sent (peer_buf_alloc 0). */
}

static void host_conn(struct virtio_vsock *v, int fd)
{
	unsigned int shaking = 0;
	struct vsock_conn *c = NULL;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		shaking += v->conn[i].state == CONN_HANDSHAKE;
	/* Silent host sockets may hold only some of the slots, so that the
	 * guest can still open streams of its own meanwhile. */
	if (shaking < VSOCK_MAX_HANDSHAKES)
		c = vsock_conn_alloc(v, fd);
	if (!c) {
		close(fd);
		return;
	}
	c->state = CONN_HANDSHAKE;
	c->deadline = clock_ns() + VSOCK_CONNECT_TIMEOUT_NS;
	if (vsock_watch(v, c)) {
		vsock_conn_free(c);
		return;
	}
	handshake(v, c);
}

/* One host socket signalled (or may have): see what it has for us. */
static void conn_poll(struct vsock_conn *c, uint32_t events)
{
	if (c->state == CONN_HANDSHAKE) {
		handshake(c->dev, c);
	} else if (c->state == CONN_ESTABLISHED) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			c->readable = true;
		if (c->txlen)
			flush_tx(c);
	}
	/* CONNECTING: the guest has not answered; nothing to read yet. */
}

void vsock_on_conn(struct vm_event *ev, uint32_t events)
{
	struct vsock_conn *c = ev->opaque;
	struct virtio_vsock *v = c->dev;

	pthread_mutex_lock(&v->mmio.lock);
	vsock_cleanup_after_reset(v);
	conn_poll(c, events);
	vsock_settle(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

void virtio_vsock_poll(struct virtio_vsock *v)
{
	pthread_mutex_lock(&v->mmio.lock);
	vsock_cleanup_after_reset(v);
	broker_poll(v);
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		conn_poll(&v->conn[i], ~0u);
	vsock_settle(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

void virtio_vsock_accept(struct virtio_vsock *v, int fd)
{
	pthread_mutex_lock(&v->mmio.lock);
	vsock_cleanup_after_reset(v);
	host_conn(v, fd);
	vsock_settle(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

void vsock_on_broker(struct vm_event *ev, uint32_t events)
{
	struct virtio_vsock *v = ev->opaque;

	(void)events;
	pthread_mutex_lock(&v->mmio.lock);
	vsock_cleanup_after_reset(v);
	broker_poll(v);
	vsock_settle(v);
	pthread_mutex_unlock(&v->mmio.lock);
}

void vsock_on_listen(struct vm_event *ev, uint32_t events)
{
	struct virtio_vsock *v = ev->opaque;
	int fd;

	(void)events;
	pthread_mutex_lock(&v->mmio.lock);
	vsock_cleanup_after_reset(v);
	/* Edge-triggered: drain. Out of fds, the rest wait for the next
	 * connection's edge instead of spinning the loop. */
	while ((fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0 ||
	       errno == EINTR || errno == ECONNABORTED)
		if (fd >= 0)
			host_conn(v, fd);
	vsock_settle(v);
	pthread_mutex_unlock(&v->mmio.lock);
}
