/* Who may open airlock-init's exec and control streams: the host, CID 2,
 * alone. A process inside the guest could otherwise reach them through a
 * loopback transport (VSOCKETS_LOOPBACK, off in our kernel today) and run
 * commands as any user. Header only: the rule is one comparison, kept
 * where a unit test can reach it (test_peer.c). */
#ifndef AIRLOCK_GUEST_PEER_H
#define AIRLOCK_GUEST_PEER_H

#include <stdbool.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

/* Is the peer accept4() gave (sa, len bytes of it) the host? */
static inline bool vsock_peer_is_host(const struct sockaddr_vm *sa, socklen_t len)
{
	return len >= sizeof(*sa) && sa->svm_family == AF_VSOCK &&
	       sa->svm_cid == VMADDR_CID_HOST;
}

#endif
