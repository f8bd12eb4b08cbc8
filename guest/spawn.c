/* The command of one exec request: its user looked up, a PTY or three pipes
 * made, then a child that becomes the command in its own session. As in
 * command.c, the child reports a failure before exec on a close-on-exec
 * pipe, so init can answer the host with ERROR instead of a bare status;
 * an exec that works closes the pipe with nothing written. */
#include "guest/env.h"
#include "guest/serve.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* The login environment (user.c) has 7 entries. */
#define ENV_MAX (8 + EXEC_MAX_ENV + 1)

/* One record, below PIPE_BUF so that it is written and read whole. */
struct report {
	int code;		/* EXEC_ERR_* */
	char what[500];		/* the whole message, reason included */
};

struct child_plan {
	const struct agent *a;
	const struct exec_request *req;
	const struct init_user *u;
	const char **envp;
	bool tty;
	int slave;		/* TTY */
	int in, out, err;	/* pipes: the command's ends */
	int report;
};

__attribute__((noreturn, format(printf, 3, 4)))
static void child_fail(int fd, int code, const char *fmt, ...)
{
	struct report r = { .code = code };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r.what, sizeof(r.what), fmt, ap);
	va_end(ap);
	if (write(fd, &r, sizeof(r)) < 0) {
		/* init then sees only the pipe close: treated as an exec. */
	}
	_exit(126);
}

/* Signal state as a fresh process has it: init blocks SIGCHLD (for its
 * signalfd), and a blocked or ignored signal survives exec. */
static void reset_signals(void)
{
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);	/* fails harmlessly for KILL, STOP */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void enter_cwd(const struct child_plan *c)
{
	const char *dir = c->req->cwd[0] ? c->req->cwd : c->a->params->cwd;

	if (dir[0]) {
		if (chdir(dir) < 0)
			child_fail(c->report, EXEC_ERR_CWD, "cannot enter the "
				   "working directory %s as %s: %s", dir,
				   c->u->pw.name, strerror(errno));
		return;
	}
	/* As login(1) does: a missing home is no reason not to run. */
	if (chdir(c->u->pw.home) < 0 && chdir("/") < 0)
		child_fail(c->report, EXEC_ERR_CWD, "cannot enter / as %s: %s",
			   c->u->pw.name, strerror(errno));
}

__attribute__((noreturn)) static void become_command(const struct child_plan *c)
{
	extern char **environ;
	const char *what;
	int err;

	reset_signals();
	/* Its own session and process group: SIGNAL and a hang-up reach the
	 * command and its children, never init. */
	if (setsid() < 0)
		child_fail(c->report, EXEC_ERR_INTERNAL, "setsid: %s",
			   strerror(errno));
	if (c->tty) {
		/* The PTY becomes its controlling terminal: job control,
		 * ^C and SIGWINCH work as on any terminal. */
		if (ioctl(c->slave, TIOCSCTTY, 0) < 0)
			child_fail(c->report, EXEC_ERR_PTY, "cannot make the "
				   "PTY the controlling terminal: %s",
				   strerror(errno));
		if (dup2(c->slave, 0) < 0 || dup2(c->slave, 1) < 0 ||
		    dup2(c->slave, 2) < 0)
			child_fail(c->report, EXEC_ERR_PTY, "cannot set up the "
				   "PTY as stdio: %s", strerror(errno));
	} else if (dup2(c->in, 0) < 0 || dup2(c->out, 1) < 0 ||
		   dup2(c->err, 2) < 0) {
		child_fail(c->report, EXEC_ERR_PTY, "cannot set up the pipes "
			   "as stdio: %s", strerror(errno));
	}
	/* ioperm() is inherited across fork and kept across exec. */
	if (c->a->ctx->pvport && ioperm(PVPORT_BASE, PVPORT_SIZE, 0) < 0)
		child_fail(c->report, EXEC_ERR_INTERNAL, "cannot drop access "
			   "to the status port: %s", strerror(errno));
	umask(022);
	/* As root still: the cgroup files are root's. */
	err = init_pids_enter(c->a->params->pids_max, &what);
	if (err < 0)
		child_fail(c->report, EXEC_ERR_INTERNAL, "cannot apply the pids "
			   "limit (%s): %s", what, strerror(-err));
	err = init_user_become(&c->u->pw, &what);
	if (err < 0)
		child_fail(c->report, EXEC_ERR_INTERNAL, "cannot %s to user %s "
			   "(uid %u, gid %u): %s", what, c->u->pw.name,
			   (unsigned)c->u->pw.uid, (unsigned)c->u->pw.gid,
			   strerror(-err));
	/* As the user, so that its own permissions decide. */
	enter_cwd(c);
	/* execvp searches the PATH of environ, not of an envp argument. */
	environ = (char **)c->envp;
	execvp(c->req->argv[0], (char *const *)c->req->argv);
	err = errno;
	child_fail(c->report, err == ENOENT ? EXEC_ERR_NOT_FOUND
					    : EXEC_ERR_NOT_EXEC,
		   "cannot run '%s': %s", c->req->argv[0], strerror(err));
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int errno_code(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM || err == EAGAIN
	       ? EXEC_ERR_RESOURCES : EXEC_ERR_PTY;
}

/* A PTY whose slave belongs to the user, as login(1) leaves it. The slave
 * is opened through the master (TIOCGPTPEER), not by path. */
static int open_pty(const struct exec_request *req, const struct init_user *u,
		    struct spawn *sp, int *slave, char *why, size_t size)
{
	struct winsize ws = {
		.ws_row = req->winsize.rows, .ws_col = req->winsize.cols,
		.ws_xpixel = req->winsize.xpixel, .ws_ypixel = req->winsize.ypixel,
	};
	int unlock = 0, err;

	sp->master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (sp->master < 0) {
		err = errno;
		snprintf(why, size, "cannot open a PTY (/dev/ptmx): %s",
			 strerror(err));
		return errno_code(err);
	}
	if (ioctl(sp->master, TIOCSPTLCK, &unlock) < 0 ||
	    ioctl(sp->master, TIOCSWINSZ, &ws) < 0 ||
	    (*slave = ioctl(sp->master, TIOCGPTPEER,
			    O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		err = errno;
		snprintf(why, size, "cannot set up a PTY: %s", strerror(err));
		close_fd(&sp->master);
		return errno_code(err);
	}
	if (fchown(*slave, u->pw.uid, u->pw.gid) < 0 || fchmod(*slave, 0620) < 0) {
		err = errno;
		snprintf(why, size, "cannot give the PTY to user %s: %s",
			 u->pw.name, strerror(err));
		close_fd(slave);
		close_fd(&sp->master);
		return EXEC_ERR_PTY;
	}
	return 0;
}

/* Three pipes; init's ends non-blocking, the command's blocking. */
static int open_pipes(struct spawn *sp, int cmd[3], char *why, size_t size)
{
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } }, err;

	for (int i = 0; i < 3; i++) {
		if (pipe2(p[i], O_CLOEXEC) < 0)
			goto fail;
	}
	sp->in = p[0][1];
	cmd[0] = p[0][0];
	sp->out = p[1][0];
	cmd[1] = p[1][1];
	sp->err = p[2][0];
	cmd[2] = p[2][1];
	if (set_nonblock(sp->in) < 0 || set_nonblock(sp->out) < 0 ||
	    set_nonblock(sp->err) < 0)
		goto fail;
	return 0;
fail:
	err = errno;
	for (int i = 0; i < 3; i++) {
		close_fd(&p[i][0]);
		close_fd(&p[i][1]);
	}
	sp->in = sp->out = sp->err = -1;
	cmd[0] = cmd[1] = cmd[2] = -1;
	snprintf(why, size, "cannot make pipes for the command's stdio: %s",
		 strerror(err));
	return errno_code(err);
}

static const struct init_user *request_user(const struct agent *a,
					 const struct exec_request *req,
					 struct init_user **owned, int *code,
					 char *why, size_t size)
{
	int r;

	*owned = NULL;
	if (!(req->flags & EXEC_REQ_UID) && !req->user[0])
		return a->user;
	*owned = malloc(sizeof(**owned));
	if (!*owned) {
		snprintf(why, size, "out of memory");
		*code = EXEC_ERR_RESOURCES;
		return NULL;
	}
	if (req->flags & EXEC_REQ_UID)
		r = init_user_find(NULL, (uid_t)req->uid, *owned, why, size);
	else
		r = init_user_find(req->user, 0, *owned, why, size);
	if (r < 0) {
		free(*owned);
		*owned = NULL;
		*code = r == -ENOMEM ? EXEC_ERR_RESOURCES : EXEC_ERR_USER;
		return NULL;
	}
	return *owned;
}

int spawn_command(const struct agent *a, const struct exec_request *req,
		  struct spawn *sp, char *why, size_t size)
{
	struct child_plan c = { .a = a, .req = req, .tty = req->flags & EXEC_REQ_TTY,
				.slave = -1, .in = -1, .out = -1, .err = -1 };
	struct init_user *owned = NULL;
	int cmd[3] = { -1, -1, -1 }, rep[2] = { -1, -1 }, code = 0, err;

	*sp = (struct spawn){ .pid = -1, .report = -1, .master = -1,
			      .in = -1, .out = -1, .err = -1 };
	c.u = request_user(a, req, &owned, &code, why, size);
	if (!c.u)
		return code;
	c.envp = calloc(ENV_MAX, sizeof(*c.envp));
	if (!c.envp) {
		snprintf(why, size, "out of memory");
		code = EXEC_ERR_RESOURCES;
		goto out;
	}
	if (env_merge((const char *const *)c.u->envp, req->envp, c.envp,
		      ENV_MAX) < 0) {
		snprintf(why, size, "too many environment entries");
		code = EXEC_ERR_REQUEST;
		goto out;
	}
	code = c.tty ? open_pty(req, c.u, sp, &c.slave, why, size)
		     : open_pipes(sp, cmd, why, size);
	if (code)
		goto out;
	c.in = cmd[0];
	c.out = cmd[1];
	c.err = cmd[2];
	if (pipe2(rep, O_CLOEXEC) < 0 || set_nonblock(rep[0]) < 0) {
		err = errno;
		snprintf(why, size, "cannot make a pipe: %s", strerror(err));
		code = errno_code(err);
		goto out;
	}
	c.report = rep[1];
	sp->pid = fork();
	if (sp->pid < 0) {
		err = errno;
		snprintf(why, size, "cannot fork: %s", strerror(err));
		code = EXEC_ERR_RESOURCES;
		goto out;
	}
	if (sp->pid == 0)
		become_command(&c);
	sp->report = rep[0];
	rep[0] = -1;
out:
	close_fd(&rep[0]);
	close_fd(&rep[1]);
	close_fd(&c.slave);
	for (int i = 0; i < 3; i++)
		close_fd(&cmd[i]);
	if (code) {
		close_fd(&sp->master);
		close_fd(&sp->in);
		close_fd(&sp->out);
		close_fd(&sp->err);
		sp->pid = -1;
	}
	free(c.envp);
	free(owned);
	return code;
}

int spawn_result(int report, char *why, size_t size)
{
	struct report r;
	ssize_t n;

	do
		n = read(report, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return -EAGAIN;
	if (n != (ssize_t)sizeof(r))
		return 0;	/* closed by exec (or a short record: it ran) */
	r.what[sizeof(r.what) - 1] = '\0';
	snprintf(why, size, "%s", r.what);
	return r.code > 0 && r.code <= 0xffff ? r.code : EXEC_ERR_INTERNAL;
}
