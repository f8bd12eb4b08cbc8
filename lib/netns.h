/* A network namespace of its own for one sandbox: its TAP (for the VMM's
 * virtio-net), the gateway's address on it, an AnyIP local route so that
 * any TCP connection the guest makes is accepted there, and the listening
 * sockets the gateway serves: DNS on UDP and TCP port 53, and TCP on the
 * ports the policy names. Nothing in it routes anywhere. The caller's own
 * namespaces never change: a child process does the work (through a user
 * namespace when not root) and sends the descriptors back. Sockets keep
 * their namespace alive, so nothing has to stay in it; a small "opener"
 * does, to make listeners for ports a policy adds while the sandbox runs. */
#ifndef AIRLOCK_LIB_NETNS_H
#define AIRLOCK_LIB_NETNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NETNS_MAX_PORTS 64
#define NETNS_TAP_NAME "tap0"

struct netns_config {
	struct in_addr link;	/* the namespace's side: gateway and resolver */
	struct in_addr guest;	/* the guest's address */
	unsigned int prefix;	/* of the link (e.g. 30) */
	const uint16_t *ports;	/* TCP ports to listen on (not 53) */
	size_t nports;
};

struct netns {
	int tap;		/* IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, for the VMM */
	int dns_udp, dns_tcp;	/* 0.0.0.0:53, IP_PKTINFO on the UDP one */
	int tcp[NETNS_MAX_PORTS];	/* 0.0.0.0:port, listening */
	size_t ntcp;
	int opener;		/* SOCK_SEQPACKET: netns_open_port() speaks it */
	pid_t pid;		/* the opener process */
};

/* Makes the namespace. Every descriptor is O_CLOEXEC; the sockets are
 * non-blocking, the TAP (lib/tap.h) is left to its user to set.
 * -errno with why[] saying what is missing and how to fix it. */
int netns_create(const struct netns_config *cfg, struct netns *ns, char *why,
		 size_t size);

/* Asks the opener for a listener on port: a non-blocking listening
 * socket's fd, or -errno. (The gateway speaks the same protocol on its
 * copy of ns->opener: 2 bytes of port, answered by a 4-byte error and
 * the descriptor.) */
int netns_open_port(int opener, uint16_t port);

/* Closes whatever descriptors are still >= 0 (and sets them to -1). */
void netns_close_fds(struct netns *ns);
/* The same, and ends the opener. */
void netns_close(struct netns *ns);

#endif
