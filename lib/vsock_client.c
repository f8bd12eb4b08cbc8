/* The host side of a hybrid-vsock connection: see vsock_client.h. */
#include "lib/vsock_client.h"
#include "lib/clock.h"
#include "lib/unixsock.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RETRY_MS 10

/* Reads the handshake's answer a byte at a time (nothing after it is
 * taken): 1 for "OK ...", 0 if the VMM closed (no listener on the port
 * yet), -ETIMEDOUT or -errno. */
static int read_ok(int fd, int64_t deadline)
{
	char line[32];
	size_t n = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - clock_ms();
		ssize_t k;
		char c;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!pfd.revents)
			continue;
		k = recv(fd, &c, 1, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == ECONNRESET)
			return 0;
		if (k < 0)
			return -errno;
		if (k == 0)
			return 0;
		if (c == '\n')
			break;
		if (n == sizeof(line) - 1)
			return -EPROTO;
		line[n++] = c;
	}
	line[n] = '\0';
	return strncmp(line, "OK ", 3) == 0 ? 1 : -EPROTO;
}

int vsock_connect(const char *path, unsigned int port, int timeout_ms,
		  bool (*alive)(void *), void *arg)
{
	int64_t deadline = clock_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	char hello[32];
	int n = snprintf(hello, sizeof(hello), "CONNECT %u\n", port);

	for (;;) {
		int fd = unix_connect(path), r;

		if (fd >= 0) {
			if (send(fd, hello, (size_t)n, MSG_NOSIGNAL) == n) {
				r = read_ok(fd, deadline);
				if (r == 1)
					return fd;
				if (r < 0 && r != -ECONNRESET && r != -EPIPE) {
					close(fd);
					return r;
				}
			}
			close(fd);
		} else if (fd != -ENOENT && fd != -ECONNREFUSED && fd != -EAGAIN) {
			return fd;
		}
		/* The VMM is not listening yet, or the guest is not. */
		if (alive && !alive(arg))
			return -ESRCH;
		if (clock_ms() + RETRY_MS > deadline)
			return -ETIMEDOUT;
		clock_sleep_ms(RETRY_MS);
	}
}

