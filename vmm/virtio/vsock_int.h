/* virtio-vsock's parts, inside the device only (vsock.h is the outside):
 * vsock.c the device (queues, packets to and from the guest, set-up),
 * vsock_conn.c the streams (the table, their state, credit), vsock_host.c
 * the host side (accepted Unix sockets and their CONNECT line, the broker
 * for guest-initiated streams, host socket I/O). All of it runs under the
 * device lock, on the I/O loop. */
#ifndef AIRLOCK_VMM_VIRTIO_VSOCK_INT_H
#define AIRLOCK_VMM_VIRTIO_VSOCK_INT_H

#include "vmm/virtio/vsock.h"

#include <sys/epoll.h>

#define VIRTIO_ID_VSOCK 19
enum { Q_RX = 0, Q_TX = 1, Q_EVENT = 2 };
#define HDR_LEN sizeof(struct vsock_hdr)
#define FIRST_HOST_PORT (1u << 30)	/* ports we pick for host-initiated streams */
#define MAX_LOGGED_DROPS 10
#define SOCK_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)
#define BUFS_SIZE ((size_t)VSOCK_MAX_CONNS * VSOCK_BUF_ALLOC)

/* vsock_conn.c: the streams. */
struct vsock_conn *vsock_find(struct virtio_vsock *v, uint32_t host_port,
			     uint32_t guest_port);
/* A slot as it is when free. Its event stays callable: an epoll event
 * fetched before its socket was closed may still be dispatched to it. */
void vsock_conn_clear(struct virtio_vsock *v, struct vsock_conn *c);
struct vsock_conn *vsock_conn_alloc(struct virtio_vsock *v, int fd);
int vsock_watch(struct virtio_vsock *v, struct vsock_conn *c);
void vsock_conn_free(struct vsock_conn *c);
/* The stream is over: close the host socket and tell the guest with a
 * reset; the slot is free once that is sent (or the guest resets too). */
void vsock_conn_reset(struct vsock_conn *c);
/* Answer a packet that belongs to no stream with a reset. */
void vsock_queue_rst(struct virtio_vsock *v, const struct vsock_hdr *h);
/* What the guest can still take: buf_alloc - (rx_cnt - fwd_cnt) (§5.10.6.3). */
uint32_t vsock_peer_credit(const struct vsock_conn *c);
/* The guest gets a credit update once a quarter of its window has reached
 * the host since the last one, so a sender never stalls on stale credit;
 * one that will send no more needs none. */
void vsock_maybe_credit(struct vsock_conn *c);
/* Pass the host the guest's EOF once all the guest's data is through, and
 * end the stream once both directions are done. */
void vsock_conn_progress(struct vsock_conn *c);
/* The driver reset the device: every stream the guest was part of is
 * gone. Host sockets still handshaking, or waiting to be offered to the
 * guest, stay: the new driver gets their requests. */
void vsock_cleanup_after_reset(struct virtio_vsock *v);
uint32_t vsock_pick_port(struct virtio_vsock *v);

/* vsock_host.c: the host side. */
/* Host data for the guest, read into ch after the header: 1 with *len
 * set, 0 if there is nothing to send now, -1 if the stream changed (EOF,
 * error, no credit) and owes a control packet instead. */
int vsock_read_host(struct virtio_vsock *v, struct vsock_conn *c,
		    const struct virtq_chain *ch, uint32_t *len);
/* A guest stream to host port P: only to a named port, through the
 * broker, which answers (vsock_on_broker) with a socket or a refusal. */
void vsock_guest_connect(struct virtio_vsock *v, const struct vsock_hdr *h);
void vsock_on_conn(struct vm_event *ev, uint32_t events);
void vsock_on_broker(struct vm_event *ev, uint32_t events);
void vsock_on_listen(struct vm_event *ev, uint32_t events);

/* vsock.c: the device. */
/* Every entry from the I/O loop ends here: answers, data, the timer. */
void vsock_settle(struct virtio_vsock *v);

#endif
