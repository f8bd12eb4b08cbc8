/* The command: read from "airlock.cmd=" in /proc/cmdline (proto/cmdline.h),
 * started in its own session with a fixed small environment, and waited for
 * while PID 1 reaps every orphan that ends meanwhile. */
#include "guest/init.h"
#include "proto/cmdline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/wait.h>
#include <unistd.h>

/* Nothing from the host's environment: only what a shell needs. */
static char *command_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"TERM=linux",
	"LANG=C.UTF-8",
	NULL,
};

static int read_file(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n < size - 1) {
		ssize_t r = read(fd, buf + n, size - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == size - 1)
		ret = -E2BIG;
	buf[n] = '\0';
out:
	close(fd);
	return ret;
}

int init_command_read(const struct init_ctx *ctx, char *buf, size_t size,
		      char *argv[], int max_args)
{
	char cmdline[INIT_CMDLINE_MAX];
	const char *tok;
	size_t len;
	int ret;

	ret = read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (ret < 0) {
		init_log(ctx, "cannot read /proc/cmdline: %s", strerror(-ret));
		return ret;
	}
	tok = cmdline_find(cmdline, CMDLINE_CMD_KEY, &len);
	if (!tok) {
		init_log(ctx, "no command: the kernel command line has no %s "
			 "parameter", CMDLINE_CMD_KEY);
		return -EINVAL;
	}
	ret = cmdline_decode_argv(tok, len, buf, size, argv, max_args);
	if (ret == -E2BIG) {
		init_log(ctx, "%s holds too many arguments (at most %d)",
			 CMDLINE_CMD_KEY, max_args);
		return ret;
	}
	if (ret < 0) {
		init_log(ctx, "malformed %s: a bad %%-escape or a byte that "
			 "should have been escaped", CMDLINE_CMD_KEY);
		return ret;
	}
	if (argv[0][0] == '\0') {
		init_log(ctx, "empty command in %s", CMDLINE_CMD_KEY);
		return -EINVAL;
	}
	return ret;
}

__attribute__((noreturn)) static void exec_child(const struct init_ctx *ctx,
						 char *const argv[])
{
	extern char **environ;
	int err;

	/* Its own session: a signal to init's process group is not the
	 * command's, and a shell in it may take a terminal later. */
	setsid();
	if (dup2(ctx->null, 0) < 0 || dup2(ctx->out, 1) < 0 ||
	    dup2(ctx->out, 2) < 0) {
		init_log(ctx, "cannot set up stdio for '%s': %s", argv[0],
			 strerror(errno));
		_exit(126);
	}
	/* ioperm() is inherited across fork and kept across exec: the
	 * command gets no access to the status port. */
	if (ctx->pvport && ioperm(PVPORT_BASE, PVPORT_SIZE, 0) < 0) {
		init_log(ctx, "cannot drop access to the status port for '%s': "
			 "%s", argv[0], strerror(errno));
		_exit(126);
	}
	if (chdir("/") < 0) {
		/* Cannot really fail; the command still runs. */
	}
	/* execvp searches the PATH of environ, not of an envp argument. */
	environ = command_env;
	execvp(argv[0], argv);
	err = errno;
	dprintf(2, "airlock-init: cannot run '%s': %s\n", argv[0],
		strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

int init_command_run(struct init_ctx *ctx, char *const argv[])
{
	pid_t child, pid;
	int st, ret;

	init_report(ctx, PVPORT_EV_CMD_STARTED, 0);
	child = fork();
	if (child < 0) {
		ret = -errno;
		init_log(ctx, "cannot fork for '%s': %s", argv[0],
			 strerror(errno));
		return ret;
	}
	if (child == 0)
		exec_child(ctx, argv);

	/* Orphans of the command become ours: reap them too, or they stay
	 * zombies. The command's own end is what we wait for. */
	for (;;) {
		pid = waitpid(-1, &st, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			init_log(ctx, "waiting for '%s': %s", argv[0],
				 strerror(errno));
			return ret;
		}
		if (pid != child)
			continue;
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		if (WIFSIGNALED(st))
			return 128 + WTERMSIG(st);
	}
}
