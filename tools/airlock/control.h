/* The control socket of a running sandbox (sandboxes/NAME/control.sock),
 * answered by its supervisor, the `airlock run` that started it: how
 * `airlock ls`, `exec` and `stop` learn whether it runs, who runs it and
 * how to end it, without scanning /proc. One request per connection, one
 * line of JSON each way:
 *   {"op":"status"}           -> {"state":"running","pid":P,"vmm_pid":V,
 *                                 "started":T,"vsock":PATH}
 *   {"op":"stop","grace_ms":N} -> {"state":"stopping"}; the connection then
 *                                 stays open until the supervisor is gone.
 * The socket is in the user's own sandbox folder (mode 0700). */
#ifndef AIRLOCK_TOOLS_CONTROL_H
#define AIRLOCK_TOOLS_CONTROL_H

#include <stdint.h>
#include <sys/types.h>

#include "tools/airlock/sandbox.h"

#define CONTROL_LINE_MAX 1024

struct control_status {
	char state[16];		/* booting, running, stopping */
	pid_t pid;		/* the supervisor (checked with SO_PEERCRED) */
	pid_t vmm_pid;
	int64_t started;	/* seconds since the epoch */
	char vsock[sizeof(((struct sandbox *)0)->sock)];
};

/* Asks sb's supervisor for its status: 0, or -ENOENT / -ECONNREFUSED when
 * no supervisor answers (the sandbox is stopped), -EPROTO for garbage, or
 * another -errno. Waits at most timeout_ms. */
int control_status(const struct sandbox *sb, int timeout_ms, struct control_status *st);

/* Asks sb's supervisor to stop the sandbox (SIGTERM to its command, then
 * power-off after grace_ms, then kill) and waits up to timeout_ms for the
 * supervisor to be gone. 0 once it is; -ETIMEDOUT if it did not answer
 * within answer_ms or is still there after timeout_ms (*pid then says which
 * process it is), -ENOENT / -ECONNREFUSED if it was not running. */
int control_stop(const struct sandbox *sb, int answer_ms, int grace_ms, int timeout_ms,
		 pid_t *pid);

#endif
