/* The drain of an output queue: see sendq.h. */
#include "lib/sendq.h"

#include <errno.h>
#include <sys/socket.h>

int sendq_flush(int fd, const uint8_t *buf, size_t *off, size_t *len, bool *writable)
{
	int sent = 0;

	while (*len && *writable) {
		ssize_t n = send(fd, buf + *off, *len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*writable = false;
			break;
		}
		if (n <= 0) {
			int err = n < 0 ? errno : EPIPE;

			*off = *len = 0;
			return -err;
		}
		*off += (size_t)n;
		*len -= (size_t)n;
		sent = 1;
	}
	if (!*len)
		*off = 0;
	return sent;
}
