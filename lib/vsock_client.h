/* The host side of a hybrid-vsock connection (Firecracker's style): connect
 * to the VMM's Unix socket, write "CONNECT <port>\n", read "OK <n>\n"; the
 * socket is then the stream to the guest's listener on that port. */
#ifndef AIRLOCK_LIB_VSOCK_CLIENT_H
#define AIRLOCK_LIB_VSOCK_CLIENT_H

#include <stdbool.h>

/* A stream to guest port `port` through the VMM's socket at path,
 * retrying every 10 ms while the VMM or the guest's listener is not there
 * yet, for up to timeout_ms, and giving up early once alive(arg) returns
 * false (alive may be NULL). Returns the fd (blocking, close-on-exec) or
 * -errno: -ETIMEDOUT, -ESRCH (alive() said no), -EPROTO (a bad answer),
 * -ENAMETOOLONG. Nothing after the OK line is read. */
int vsock_connect(const char *path, unsigned int port, int timeout_ms,
		  bool (*alive)(void *arg), void *arg);

#endif
