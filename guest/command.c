/* The command: started in its own session as the chosen user with a fixed
 * small environment, and waited for while PID 1 reaps every orphan that
 * ends meanwhile; at the end, every process left is killed. */
#include "guest/init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How the command's process tells init it could not become the command:
 * one record on a close-on-exec pipe, written before exec; a successful
 * exec closes the pipe with nothing written. Below PIPE_BUF: one write. */
struct child_failure {
	int err;
	char what[256];
};

__attribute__((noreturn)) static void child_fail(int fd, int err,
						 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void child_fail(int fd, int err, const char *fmt, ...)
{
	struct child_failure f = { .err = err };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f.what, sizeof(f.what), fmt, ap);
	va_end(ap);
	if (write(fd, &f, sizeof(f)) < 0) {
		/* init then sees the exit status 126 alone. */
	}
	_exit(126);
}

__attribute__((noreturn)) static void exec_child(const struct init_ctx *ctx,
						 const struct init_params *p,
						 const struct init_user *u,
						 int report)
{
	extern char **environ;
	char *const *argv = p->argv;
	const char *what;
	int err;

	/* Its own session: a signal to init's process group is not the
	 * command's, and a shell in it may take a terminal later. */
	setsid();
	if (dup2(ctx->null, 0) < 0 || dup2(ctx->out, 1) < 0 ||
	    dup2(ctx->out, 2) < 0)
		child_fail(report, errno, "set up stdio");
	/* ioperm() is inherited across fork and kept across exec: the
	 * command gets no access to the status port. */
	if (ctx->pvport && ioperm(PVPORT_BASE, PVPORT_SIZE, 0) < 0)
		child_fail(report, errno, "drop access to the status port");
	/* The user's terminal, as login(1) makes it: so that reopening it
	 * (/dev/stdout, /dev/stderr) works, not only the inherited fds. */
	if (fchown(ctx->out, u->pw.uid, u->pw.gid) < 0)
		child_fail(report, errno, "give %s to user %s", ctx->out_name,
			   u->pw.name);
	umask(022);
	err = init_pids_enter(p->pids_max, &what);
	if (err < 0)
		child_fail(report, -err, "%s (the pids limit)", what);
	err = init_user_become(&u->pw, &what);
	if (err < 0)
		child_fail(report, -err, "%s to user %s (uid %u, gid %u)", what,
			   u->pw.name, (unsigned)u->pw.uid, (unsigned)u->pw.gid);
	/* As the user, so its own permissions decide. */
	if (p->cwd[0]) {
		if (chdir(p->cwd) < 0)
			child_fail(report, errno, "enter the working directory "
				   "%s as %s", p->cwd, u->pw.name);
	} else if (chdir(u->pw.home) < 0) {
		/* As login(1) does: a missing home is no reason not to run. */
		init_log(ctx, "cannot enter %s's home %s: %s; starting in /",
			 u->pw.name, u->pw.home, strerror(errno));
		if (chdir("/") < 0)
			child_fail(report, errno, "enter /");
	}
	/* execvp searches the PATH of environ, not of an envp argument. */
	environ = (char **)u->envp;
	execvp(argv[0], argv);
	err = errno;
	dprintf(2, "airlock-init: cannot run '%s': %s\n", argv[0],
		strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* Returns 0 once the child has exec'd (or failed exec itself, which its
 * exit status tells), or -errno of the step it could not take. */
static int child_setup_result(struct init_ctx *ctx, int fd, pid_t child,
			      const char *name)
{
	struct child_failure f;
	ssize_t n;

	do
		n = read(fd, &f, sizeof(f));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(f))
		return 0;
	f.what[sizeof(f.what) - 1] = '\0';
	init_log(ctx, "cannot %s for '%s': %s", f.what, name, strerror(f.err));
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return f.err > 0 ? -f.err : -EPERM;
}

int init_command_run(struct init_ctx *ctx, const struct init_params *p,
		     const struct init_user *u)
{
	char *const *argv = p->argv;
	int st, ret, report[2];
	pid_t child, pid;

	if (pipe2(report, O_CLOEXEC) < 0) {
		ret = -errno;
		init_log(ctx, "cannot make a pipe for '%s': %s", argv[0],
			 strerror(errno));
		return ret;
	}
	init_report(ctx, PVPORT_EV_CMD_STARTED, 0);
	child = fork();
	if (child < 0) {
		ret = -errno;
		init_log(ctx, "cannot fork for '%s': %s", argv[0],
			 strerror(errno));
		close(report[0]);
		close(report[1]);
		return ret;
	}
	if (child == 0) {
		close(report[0]);
		exec_child(ctx, p, u, report[1]);
	}
	close(report[1]);
	ret = child_setup_result(ctx, report[0], child, argv[0]);
	close(report[0]);
	if (ret < 0)
		return ret;

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

void init_command_kill_rest(struct init_ctx *ctx)
{
	const struct timespec step = { 0, 10L * 1000 * 1000 };
	int waits = 0;
	pid_t pid;

	/* Everything but PID 1: no process may still be writing when the
	 * sandbox disk is made read-only. */
	if (kill(-1, SIGKILL) < 0 && errno != ESRCH)
		init_log(ctx, "cannot kill the remaining processes: %s",
			 strerror(errno));
	/* Polled, with a limit: one stuck in the kernel must not keep the
	 * VM from ending. */
	while (waits < 200) {
		pid = waitpid(-1, NULL, WNOHANG);
		if (pid < 0 && errno == ECHILD)
			return;
		if (pid > 0)
			continue;
		if (pid < 0 && errno != EINTR) {
			init_log(ctx, "reaping: %s", strerror(errno));
			return;
		}
		nanosleep(&step, NULL);
		waits++;
	}
	init_log(ctx, "processes still alive 2 s after SIGKILL; ending anyway");
}
