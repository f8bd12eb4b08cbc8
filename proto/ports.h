/* vsock ports of the agent channel (DESIGN.md §4). airlock-init listens on
 * them inside the guest; the host connects through the VMM's Unix socket
 * with "CONNECT <port>\n" (Firecracker's hybrid vsock). Shared by both. */
#ifndef AIRLOCK_PROTO_PORTS_H
#define AIRLOCK_PROTO_PORTS_H

/* Below 1024 on purpose: Linux lets only CAP_NET_BIND_SERVICE bind a vsock
 * port under 1024, so the unprivileged `agent` user in the guest can never
 * listen on one and pose as airlock-init to the next `airlock exec`. */
#define AIRLOCK_VSOCK_PORT_EXEC 1000u	/* one exec control stream per connection */
#define AIRLOCK_VSOCK_PORT_SYNC 1001u	/* file sync stream (not yet built) */
/* Requests to the VM as a whole, e.g. power off (proto/control.h). */
#define AIRLOCK_VSOCK_PORT_CONTROL 1002u

#endif
