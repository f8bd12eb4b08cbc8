/* virtio-vsock's streams: the table of connections, their state, and the
 * credit each side has (virtio 1.2 §5.10.6.3). See vsock_int.h. */
#include "vmm/virtio/vsock_int.h"

#include <sys/socket.h>
#include <unistd.h>

/* --- connections ---------------------------------------------------- */

struct vsock_conn *vsock_find(struct virtio_vsock *v, uint32_t host_port,
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

/* A slot as it is when free. Its event stays callable: an epoll event
 * fetched before its socket was closed may still be dispatched to it. */
void vsock_conn_clear(struct virtio_vsock *v, struct vsock_conn *c)
{
	size_t i = (size_t)(c - v->conn);

	*c = (struct vsock_conn){ .dev = v, .ev = { -1, vsock_on_conn, c },
				  .txbuf = v->bufs + i * VSOCK_BUF_ALLOC };
}

struct vsock_conn *vsock_conn_alloc(struct virtio_vsock *v, int fd)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];

		if (c->state == CONN_FREE) {
			vsock_conn_clear(v, c);
			c->ev.fd = fd;
			return c;
		}
	}
	return NULL;
}

int vsock_watch(struct virtio_vsock *v, struct vsock_conn *c)
{
	return v->vm ? vm_event_add(v->vm, &c->ev, SOCK_EVENTS) : 0;
}

static void close_host(struct vsock_conn *c)
{
	if (c->ev.fd < 0)
		return;
	if (c->dev->vm)
		vm_event_del(c->dev->vm, &c->ev);
	close(c->ev.fd);
	c->ev.fd = -1;
}

void vsock_conn_free(struct vsock_conn *c)
{
	close_host(c);
	vsock_conn_clear(c->dev, c);
}

/* The stream is over: close the host socket and tell the guest with a
 * reset; the slot is free once that is sent (or the guest resets too). */
void vsock_conn_reset(struct vsock_conn *c)
{
	close_host(c);
	c->state = CONN_CLOSING;
	c->want = WANT_RST;
	c->deadline = 0;
}

/* Answer a packet that belongs to no stream with a reset. */
void vsock_queue_rst(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	if (h->op == VSOCK_OP_RST || v->nrst >= VSOCK_PENDING_RST)
		return;
	v->rst[v->nrst].host_port = h->dst_port;
	v->rst[v->nrst].guest_port = h->src_port;
	v->nrst++;
}

/* What the guest can still take: buf_alloc - (rx_cnt - fwd_cnt) (§5.10.6.3). */
uint32_t vsock_peer_credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* The guest gets a credit update once a quarter of its window has reached
 * the host since the last one, so a sender never stalls on stale credit;
 * one that will send no more needs none. */
void vsock_maybe_credit(struct vsock_conn *c)
{
	if (!c->guest_no_send && c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 4)
		c->want |= WANT_CREDIT;
}

/* Pass the host the guest's EOF once all the guest's data is through, and
 * end the stream once both directions are done. */
void vsock_conn_progress(struct vsock_conn *c)
{
	if (c->state != CONN_ESTABLISHED || !c->guest_no_send || c->txlen)
		return;
	shutdown(c->ev.fd, SHUT_WR);
	if (c->host_eof || c->guest_no_rcv)
		vsock_conn_reset(c);
}

/* --- host sockets, reset, timer -------------------------------------- */

/* The driver reset the device: every stream the guest was part of is
 * gone. Host sockets still handshaking, or waiting to be offered to the
 * guest, stay: the new driver gets their requests. */
void vsock_cleanup_after_reset(struct virtio_vsock *v)
{
	if (!v->reset_pending)
		return;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vsock_conn *c = &v->conn[i];

		if (c->state == CONN_FREE || c->state == CONN_HANDSHAKE ||
		    (c->state == CONN_CONNECTING && (c->want & WANT_REQUEST)))
			continue;
		vsock_conn_free(c);
	}
	v->nrst = 0;
	v->reset_pending = false;
}

uint32_t vsock_pick_port(struct virtio_vsock *v)
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
