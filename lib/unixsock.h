/* Unix sockets as the host processes use them: a listener at a path that
 * replaces only a stale socket, a connect that follows no link, and
 * descriptors passed with SCM_RIGHTS. */
#ifndef AIRLOCK_LIB_UNIXSOCK_H
#define AIRLOCK_LIB_UNIXSOCK_H

#include <stddef.h>
#include <sys/types.h>

/* A listening SOCK_STREAM socket (non-blocking, close-on-exec) at path. A
 * socket left there by an earlier run is replaced; -EEXIST if something
 * else is there, -EADDRINUSE if a process listens on it, -ENAMETOOLONG,
 * or another -errno. */
int unix_listen(const char *path, int backlog);

/* Connects a SOCK_STREAM socket (close-on-exec, blocking) to the socket at
 * path. Returns the fd or -errno (-ENAMETOOLONG, -ENOENT, -ECONNREFUSED...).
 * For sockets in the user's own folders; unix_connect_at() for others. */
int unix_connect(const char *path);

/* Connects a SOCK_STREAM socket (with extra type flags such as
 * SOCK_NONBLOCK; close-on-exec always) to the socket called name in the
 * directory dirfd, safely: name is one component, it must be a socket (not a link)
 * when looked at, the directory must be writable by nobody but its owner
 * (us or root) so nobody can swap it meanwhile, and the listener must run
 * as us or root (SO_PEERCRED). Returns the fd or -errno: -EPERM for a
 * directory others can write or a foreign listener, -ELOOP for a link,
 * -ENOTSOCK, -ECONNREFUSED, -ENOENT, -EAGAIN (non-blocking, backlog full). */
int unix_connect_at(int dirfd, const char *name, int type_flags);

/* The most descriptors one message carries (a sandbox network's TAP, DNS
 * sockets and one listener per port). */
#define FD_PASS_MAX 96

/* sendmsg of len bytes with nfds descriptors attached (nfds may be 0).
 * Returns 0 or -errno (-EMSGSIZE if not all was sent). */
int fd_send(int sock, const void *buf, size_t len, const int *fds, unsigned int nfds);

/* recvmsg of up to len bytes and at most max_fds descriptors (made
 * close-on-exec); extra descriptors are closed. Returns the bytes read (0
 * at EOF) with *nfds set, or -errno. */
ssize_t fd_recv(int sock, void *buf, size_t len, int *fds, unsigned int max_fds,
		unsigned int *nfds);

#endif
