/* The vsock broker: the one party that opens host sockets for streams a
 * guest starts (a guest connect() to CID 2, port P). The VMM never connects
 * anywhere itself: it asks the broker over a SOCK_SEQPACKET socketpair and
 * gets back a connected socket, or a refusal. The broker opens only ports
 * it was told to, only Unix sockets, through lib/unixsock.h's safe connect.
 * So a hijacked VMM can reach at most the named ports' sockets. */
#ifndef AIRLOCK_LIB_VSOCK_BROKER_H
#define AIRLOCK_LIB_VSOCK_BROKER_H

#include <stdint.h>

#define VSOCK_BROKER_MAGIC 0x61766272u	/* "avbr" */
#define VSOCK_BROKER_MAX_PORTS 16

/* VMM to broker: open a stream to host port `port`; id comes back. */
struct vsock_broker_req {
	uint32_t magic;
	uint32_t port;
	uint64_t id;
};

/* Broker to VMM: err 0 with one descriptor attached (a connected,
 * non-blocking Unix stream socket), or a positive errno and none. */
struct vsock_broker_rep {
	uint32_t magic;
	int32_t err;
	uint64_t id;
};

struct vsock_broker {
	int dirfd;		/* where the sockets are */
	char prefix[96];	/* socket name = prefix + decimal port */
	uint32_t ports[VSOCK_BROKER_MAX_PORTS];
	unsigned int nports;
};

/* Answers one request on sock: 0, 1 at EOF, or -errno (-EAGAIN on a
 * non-blocking socket with nothing to read; -EPROTO for a malformed
 * request, after which the VMM is not to be served any more). */
int vsock_broker_answer(const struct vsock_broker *b, int sock);

/* Answers requests on sock until it reaches EOF (returns 0) or fails
 * (-errno). A request for a port not in b->ports, or a socket that cannot
 * be opened safely, is refused with its errno. */
int vsock_broker_serve(const struct vsock_broker *b, int sock);

/* Starts the broker in a child process of its own (for airlock-vmm run by
 * hand): returns the VMM's end of the socketpair, or -errno. The child
 * keeps only its end and dirfd, installs its own seccomp filter, and ends
 * when the VMM's end closes (or the VMM dies). */
int vsock_broker_spawn(const struct vsock_broker *b);

#endif
