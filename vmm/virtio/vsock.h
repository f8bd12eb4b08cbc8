/* virtio-vsock (virtio 1.2 §5.10) in userspace, with the host side as Unix
 * sockets in the Firecracker "hybrid" style:
 *   - a host program connects to the VM's socket PATH and writes
 *     "CONNECT <port>\n"; once a guest listener on <port> accepts, it reads
 *     "OK <host port>\n" and the socket is the stream;
 *   - a guest connecting to the host (CID 2) port P gets a stream only if
 *     P was named and the broker (lib/vsock_broker.h), a process of its
 *     own, opens a socket for it; a reset otherwise. The device itself
 *     never connects anywhere.
 * Stream sockets only, with the full connection state machine and
 * credit-based flow control both ways. The process must ignore SIGPIPE (a
 * host socket that went away is an EPIPE). Malformed packets are dropped and
 * logged; they never stop the device. */
#ifndef AIRLOCK_VMM_VIRTIO_VSOCK_H
#define AIRLOCK_VMM_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/vsock_broker.h"

#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"

#define VSOCK_HOST_CID 2
#define VSOCK_MAX_CONNS 64
#define VSOCK_MAX_HANDSHAKES 16	/* host sockets still owing their CONNECT line */
#define VSOCK_BUF_ALLOC (256u * 1024)	/* what we let the guest have in flight */
#define VSOCK_MAX_PKT (64u * 1024)	/* largest payload in either direction */
#define VSOCK_PENDING_RST 32
/* A host socket has this long to send its CONNECT line, and then the
 * guest this long to accept; otherwise the host socket is closed. */
#define VSOCK_CONNECT_TIMEOUT_NS (10ull * 1000000000)

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

enum vsock_op {
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_TYPE_STREAM 1
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2

/* Control packets a connection owes the guest. */
enum {
	WANT_REQUEST = 1,
	WANT_RESPONSE = 2,
	WANT_RST = 4,
	WANT_CREDIT = 8,		/* CREDIT_UPDATE */
	WANT_CREDIT_REQUEST = 16,
	WANT_SHUTDOWN = 32,		/* SHUTDOWN(SEND): the host sent EOF */
};

enum vsock_state {
	CONN_FREE = 0,
	CONN_HANDSHAKE,		/* host socket accepted, reading "CONNECT n" */
	CONN_CONNECTING,	/* REQUEST owed or sent to the guest, awaiting RESPONSE */
	CONN_BROKER,		/* a guest REQUEST, the broker asked for a host socket */
	CONN_ESTABLISHED,
	CONN_CLOSING,		/* host socket closed, RST owed to the guest, then free */
};

struct vsock_conn {
	enum vsock_state state;
	struct vm_event ev;		/* the host socket; fd -1 when none */
	struct virtio_vsock *dev;
	uint32_t host_port, guest_port;
	unsigned int want;		/* WANT_* */
	uint64_t deadline;		/* CLOCK_MONOTONIC ns; 0: none */
	uint64_t broker_id;		/* CONN_BROKER: the request's id */
	bool readable;			/* the host socket may have data */
	bool host_eof;			/* read() saw 0: no more from the host */
	bool guest_no_rcv, guest_no_send;	/* the guest's SHUTDOWN flags */
	bool credit_requested;		/* CREDIT_REQUEST sent, no packet since */
	/* Credit, host to guest: what the guest told us, what we sent. */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt;		/* payload bytes sent to the guest */
	/* Credit, guest to host. */
	uint32_t tx_cnt;		/* payload bytes received from the guest */
	uint32_t fwd_cnt;		/* of those, written to the host socket */
	uint32_t fwd_cnt_sent;		/* fwd_cnt as last told to the guest */
	uint8_t *txbuf;			/* VSOCK_BUF_ALLOC bytes: guest data the */
	uint32_t txlen;			/* host socket could not take yet */
	char line[32];			/* the CONNECT line, in handshake */
	unsigned int line_len;
};

struct virtio_vsock {
	struct virtio_mmio mmio;
	struct vm *vm;			/* NULL in tests: no event registration */
	uint64_t guest_cid;
	int listen_fd;
	int broker_fd;			/* -1: guest-initiated streams are refused */
	struct vm_event broker_ev;
	uint32_t ports[VSOCK_BROKER_MAX_PORTS];	/* host ports the guest may reach */
	unsigned int nports;
	uint64_t broker_gen;		/* request ids: slot | generation << 8 */
	struct vm_event listen_ev;
	int reset_efd;			/* a vCPU thread asks the I/O loop to clean up */
	struct vm_event reset_ev;
	int timer_fd;			/* ticks while a connection has a deadline */
	struct vm_event timer_ev;
	bool timer_armed;
	bool reset_pending;
	/* Restored from a snapshot: the guest has been told its transport was
	 * reset and has not yet handled it (it refills the event queue when
	 * it has). A stream it accepted before would be reset by it, so host
	 * connections wait (until hold_until at the latest: CLOCK_MONOTONIC). */
	bool hold_host;
	uint16_t hold_avail;		/* the event queue's avail idx at the reset */
	uint64_t hold_until;
	uint32_t next_port;		/* host-side ports for host-initiated streams */
	unsigned int rr;		/* where the next rx scan starts: fairness */
	struct vsock_conn conn[VSOCK_MAX_CONNS];
	uint8_t *bufs;			/* the conns' txbufs, allocated at setup */
	struct { uint32_t host_port, guest_port; } rst[VSOCK_PENDING_RST];
	unsigned int nrst;
	struct ratelog dropped;		/* malformed packets: the first few logged */
	bool full_logged;
	struct virtq_chain chain;	/* scratch, under mmio.lock */
	struct iovec iov[VIRTQ_MAX_CHAIN];
};

/* Where guest-initiated streams may go: the broker's socket (or -1: none
 * may) and the host ports the guest may name (the broker checks too). */
struct vsock_host_ports {
	int broker_fd;
	const uint32_t *ports;
	unsigned int nports;
};

/* Create the device: listen_fd is the hybrid listener (a listening,
 * non-blocking Unix stream socket, now owned by the device), MMIO window
 * base, interrupt irq, guest CID cid. -errno on failure. */
int virtio_vsock_init(struct virtio_vsock *v, struct vm *vm, uint64_t base,
		      uint32_t irq, uint64_t cid, int listen_fd,
		      const struct vsock_host_ports *hp);

/* Without KVM, for unit tests and fuzzing: no listener, no event loop;
 * the caller answers the broker and calls virtio_vsock_poll(). */
int virtio_vsock_setup(struct virtio_vsock *v, const struct guest_mem *gm,
		       uint64_t cid, const struct vsock_host_ports *hp);

/* Release every socket, fd and buffer the device holds. */
void virtio_vsock_exit(struct virtio_vsock *v);

/* Closes the hybrid listener, once the VM has ended: the socket's path is
 * free for the sandbox's next VM while this one is still being freed. */
void virtio_vsock_unlisten(struct virtio_vsock *v);

/* A host program connected: fd (non-blocking) is its accepted socket,
 * now owned by the device. What the listener does for each accept; unit
 * tests and fuzzers hand in one end of a socketpair. */
void virtio_vsock_accept(struct virtio_vsock *v, int fd);

/* What the I/O loop does when host sockets signal: take the broker's
 * answers, read handshakes, flush buffered guest data, forward host data
 * to the guest. Tests call it in place of the event loop. */
void virtio_vsock_poll(struct virtio_vsock *v);

/* Close host connections whose handshake or connect is past its deadline
 * (now: CLOCK_MONOTONIC ns). The timer calls it once a second. */
void virtio_vsock_expire(struct virtio_vsock *v, uint64_t now);

/* Check a packet header read from the guest: 0, or -EINVAL naming the
 * problem in *why. payload_len is what the chain carries after it. */
int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid,
		    uint64_t payload_len, const char **why);

#endif
