/* TAP devices for the sandbox network: opening one (the supervisor, the
 * network plumbing, tests) and checking one handed over as a file
 * descriptor (the VMM). A sandbox TAP is always IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR: Ethernet frames, no packet-information prefix, each frame
 * behind a virtio-net header. */
#ifndef AIRLOCK_LIB_TAP_H
#define AIRLOCK_LIB_TAP_H

#include <net/if.h>

/* Open /dev/net/tun and attach to (or create) the TAP called name, in the
 * calling thread's network namespace; NULL or "" lets the kernel pick
 * ("tapN"). ifname, if not NULL, receives the name. Returns the fd
 * (O_CLOEXEC, blocking) or -errno: -EINVAL for a name of IFNAMSIZ bytes
 * or more, -EPERM without CAP_NET_ADMIN there, -EBUSY if name exists and
 * is not such a TAP. */
int tap_open(const char *name, char ifname[IFNAMSIZ]);

/* Is fd a TAP attached to an interface, opened with IFF_TAP, IFF_NO_PI
 * and IFF_VNET_HDR? 0 (ifname, if not NULL, receives its name), -ENOTTY
 * if it is not a tun/tap fd at all (or is one not attached to any
 * interface: -EBADFD), -EINVAL if its flags differ, -EBADF if fd is not
 * open. */
int tap_check(int fd, char ifname[IFNAMSIZ]);

#endif
