/* The control socket's client side: see control.h. */
#include "tools/airlock/control.h"
#include "lib/clock.h"
#include "lib/unixsock.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int connect_control(const struct sandbox *sb, pid_t *peer)
{
	char path[PATH_MAX];
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/control.sock", sb->dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = unix_connect(path);
	if (fd < 0)
		return fd;
	/* Who answers is the kernel's word, not the answer's. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*peer = cred.pid;
	return fd;
}

/* Reads one line (up to '\n' or EOF) within the deadline. Returns its
 * length, -ETIMEDOUT, or -errno; 0 bytes at EOF means none. */
static int read_line(int fd, char *buf, size_t size, int64_t deadline)
{
	size_t n = 0;

	while (n < size - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - clock_ms();
		ssize_t k;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left)) < 0 && errno != EINTR)
			return -errno;
		if (!p.revents)
			continue;
		k = read(fd, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0 || buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return (int)n;
}

static int request(int fd, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	size_t len;
	int r = 0;

	json_decref(req);
	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len] = '\n';
	if (send(fd, s, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1))
		r = -EPIPE;
	free(s);
	return r;
}

static void copy_str(json_t *j, const char *key, char *out, size_t size)
{
	json_t *v = json_object_get(j, key);

	snprintf(out, size, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int control_status(const struct sandbox *sb, int timeout_ms, struct control_status *st)
{
	int64_t deadline = clock_ms() + timeout_ms;
	char line[CONTROL_LINE_MAX];
	pid_t peer = 0;
	json_t *j;
	int fd, r;

	memset(st, 0, sizeof(*st));
	fd = connect_control(sb, &peer);
	if (fd < 0)
		return fd;
	r = request(fd, json_pack("{s:s}", "op", "status"));
	if (r == 0)
		r = read_line(fd, line, sizeof(line), deadline);
	close(fd);
	if (r <= 0)
		return r < 0 ? r : -EPROTO;
	j = json_loads(line, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return -EPROTO;
	}
	copy_str(j, "state", st->state, sizeof(st->state));
	copy_str(j, "vsock", st->vsock, sizeof(st->vsock));
	st->vmm_pid = (pid_t)json_integer_value(json_object_get(j, "vmm_pid"));
	st->started = json_integer_value(json_object_get(j, "started"));
	st->pid = peer;
	json_decref(j);
	return st->state[0] ? 0 : -EPROTO;
}

int control_stop(const struct sandbox *sb, int answer_ms, int grace_ms, int timeout_ms,
		 pid_t *pid)
{
	char line[CONTROL_LINE_MAX];
	int fd, r;

	fd = connect_control(sb, pid);
	if (fd < 0)
		return fd;
	r = request(fd, json_pack("{s:s, s:i}", "op", "stop", "grace_ms", grace_ms));
	/* A supervisor answers at once; one that does not is stuck. */
	if (r == 0)
		r = read_line(fd, line, sizeof(line), clock_ms() + answer_ms);
	if (r == 0)
		r = -EPROTO;	/* it closed without a word */
	/* Then EOF when the supervisor is gone. */
	while (r > 0)
		r = read_line(fd, line, sizeof(line), clock_ms() + timeout_ms);
	close(fd);
	return r;
}
