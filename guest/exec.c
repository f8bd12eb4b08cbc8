/* The exec service (port 1000): one session (session.c) per stream, at
 * most SERVE_MAX_SESSIONS at once; a further stream is answered with ERROR
 * EXEC_ERR_RESOURCES. Sessions are pumped after every round of events and
 * told when their command's process ends. */
#include "guest/serve.h"
#include "proto/ports.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct exec_service {
	struct agent *a;
	struct session *sessions[SERVE_MAX_SESSIONS];
};

static int exec_init(struct agent *a, void **state)
{
	struct exec_service *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	x->a = a;
	*state = x;
	return 0;
}

/* One small frame on a fresh connection, then closed: it fits in the
 * socket buffer, so it is sent before the close. */
static void refuse(int fd, uint16_t code, const char *text)
{
	uint8_t buf[FRAME_HEADER_SIZE + 2 + EXEC_MAX_ERROR_MSG + 1];
	int n = exec_error_encode(buf, sizeof(buf), code, text);

	if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* The host went away already. */
	}
	close(fd);
}

static void exec_accept(void *state, int fd)
{
	struct exec_service *x = state;
	int slot = -1;

	for (int i = 0; i < SERVE_MAX_SESSIONS && slot < 0; i++)
		if (!x->sessions[i])
			slot = i;
	if (slot < 0) {
		refuse(fd, EXEC_ERR_RESOURCES, "too many commands running "
		       "in this sandbox at once");
		return;
	}
	x->sessions[slot] = session_new(x->a, fd);
	if (!x->sessions[slot])
		refuse(fd, EXEC_ERR_RESOURCES, "out of memory for one more command");
}

static bool exec_pump(void *state)
{
	struct exec_service *x = state;
	bool more = false;

	for (int i = 0; i < SERVE_MAX_SESSIONS; i++) {
		bool m;

		if (!x->sessions[i])
			continue;
		if (session_pump(x->sessions[i], &m)) {
			session_free(x->sessions[i], false);
			x->sessions[i] = NULL;
		}
		more |= m;
	}
	return more;
}

static int64_t exec_deadline(void *state)
{
	struct exec_service *x = state;
	int64_t best = -1;

	for (int i = 0; i < SERVE_MAX_SESSIONS; i++) {
		int64_t d;

		if (!x->sessions[i] || (d = session_deadline(x->sessions[i])) < 0)
			continue;
		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

static bool exec_child_exited(void *state, pid_t pid, int wstatus)
{
	struct exec_service *x = state;

	for (int i = 0; i < SERVE_MAX_SESSIONS; i++) {
		if (x->sessions[i] && session_pid(x->sessions[i]) == pid) {
			session_child_exited(x->sessions[i], wstatus);
			return true;
		}
	}
	return false;
}

static void exec_stop(void *state)
{
	struct exec_service *x = state;

	for (int i = 0; i < SERVE_MAX_SESSIONS; i++) {
		if (x->sessions[i])
			session_free(x->sessions[i], false);
		x->sessions[i] = NULL;
	}
}

const struct service exec_service = {
	.name = "exec",
	.port = AIRLOCK_VSOCK_PORT_EXEC,
	.init = exec_init,
	.accept = exec_accept,
	.pump = exec_pump,
	.deadline = exec_deadline,
	.child_exited = exec_child_exited,
	.stop = exec_stop,
};
