/* Starting a host process with exactly its descriptors: see spawn.h. The
 * child is a clone3() copy of us (no shared memory); between the clone and
 * the exec it makes only async-signal-safe calls. A pipe reports an exec
 * failure (its errno), or closes on success; another holds the child back
 * until its user namespace is mapped. */
#include "lib/spawn.h"
#include "lib/userns.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where descriptors wait while they are moved to their numbers. */
#define SPAWN_TMP_FD 600

/* In the child: report errno and die. */
__attribute__((noreturn)) static void child_fail(int report)
{
	int e = errno ? errno : EINVAL;

	if (write(report, &e, sizeof(e)) < 0) {
		/* the parent sees a short read: an unknown failure */
	}
	_exit(127);
}

__attribute__((noreturn)) static void child(const struct spawn_opts *o, int report,
					    int go, pid_t parent)
{
	int tmp[SPAWN_MAX_FDS], keep[SPAWN_MAX_FDS + 1];
	unsigned int nkeep = 0;
	sigset_t none;
	char c;
	int next;

	/* Out of the way of the numbers the fds are moved to. */
	report = fcntl(report, F_DUPFD_CLOEXEC, SPAWN_TMP_FD);
	if (report < 0)
		_exit(127);
	if (go >= 0) {
		/* Until the parent has written our uid and gid maps. */
		if (read(go, &c, 1) != 1)
			child_fail(report);
		close(go);
	}
	if (o->new_pgrp && setpgid(0, 0) < 0)
		child_fail(report);
	if (o->death_sig) {
		if (prctl(PR_SET_PDEATHSIG, o->death_sig) < 0)
			child_fail(report);
		/* The parent may have died before that took effect (in a new
		 * PID namespace our parent is outside it: getppid() says 0). */
		if (!(o->ns & CLONE_NEWPID) && getppid() != parent)
			_exit(127);
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Two steps, so that moving one fd never clobbers another. */
	for (unsigned int i = 0; i < o->nfds; i++) {
		tmp[i] = fcntl(o->fds[i].fd, F_DUPFD_CLOEXEC, SPAWN_TMP_FD);
		if (tmp[i] < 0)
			child_fail(report);
	}
	for (unsigned int i = 0; i < o->nfds; i++)
		if (dup2(tmp[i], o->fds[i].as) < 0)
			child_fail(report);
	/* Close every other fd (the report pipe last, at exec). */
	for (unsigned int i = 0; i < o->nfds; i++)
		keep[nkeep++] = o->fds[i].as;
	keep[nkeep++] = report;
	for (unsigned int i = 1; i < nkeep; i++)
		for (unsigned int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	next = 0;
	for (unsigned int i = 0; i < nkeep; i++) {
		if (keep[i] > next)
			close_range((unsigned int)next, (unsigned int)keep[i] - 1, 0);
		if (keep[i] + 1 > next)
			next = keep[i] + 1;
	}
	close_range((unsigned int)next, ~0u, 0);
	execve(o->path, o->argv, o->envp ? o->envp : (char *const[]){ NULL });
	child_fail(report);
}

pid_t spawn(const struct spawn_opts *o)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	int report[2], go[2] = { -1, -1 }, e = 0, st;
	pid_t parent = getpid(), pid = -1;
	ssize_t n;

	if (o->nfds > SPAWN_MAX_FDS)
		return -EINVAL;
	for (unsigned int i = 0; i < o->nfds; i++)
		if (o->fds[i].as < 0 || o->fds[i].as >= SPAWN_TMP_FD || o->fds[i].fd < 0)
			return -EBADF;
	if (pipe2(report, O_CLOEXEC) < 0)
		return -errno;
	if ((o->ns & CLONE_NEWUSER) && pipe2(go, O_CLOEXEC) < 0) {
		e = -errno;
		goto out;
	}
	/* Handlers reset to default in the child: ours are not its. */
	args.flags = o->ns | CLONE_CLEAR_SIGHAND;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0) {
		e = -errno;
		goto out;
	}
	if (pid == 0) {
		close(report[0]);
		if (go[1] >= 0)
			close(go[1]);
		child(o, report[1], go[0], parent);
	}
	close(report[1]);
	report[1] = -1;
	if (go[0] >= 0) {
		close(go[0]);
		go[0] = -1;
		e = userns_map_root(pid, geteuid(), getegid());
		if (e == 0 && write(go[1], "g", 1) != 1)
			e = -EIO;
		close(go[1]);
		go[1] = -1;
		if (e) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			goto out;
		}
	}
	do
		n = read(report[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		e = 0;		/* closed by exec: it runs */
	} else {
		e = n == (ssize_t)sizeof(e) ? -e : -EIO;
		waitpid(pid, &st, 0);
	}
out:
	close(report[0]);
	if (report[1] >= 0)
		close(report[1]);
	if (go[0] >= 0)
		close(go[0]);
	if (go[1] >= 0)
		close(go[1]);
	return e ? e : pid;
}

bool spawn_reaped_within(pid_t pid, int ms, int *status)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int st;
	pid_t r;

	if (fd >= 0) {
		while (poll(&p, 1, ms) < 0 && errno == EINTR) {
			/* again: a signal is no answer */
		}
		close(fd);
	}
	/* Ended or not, a pidfd says; waitpid tells (and reaps). */
	while ((r = waitpid(pid, &st, WNOHANG)) < 0 && errno == EINTR) {
	}
	if (r != pid)
		return false;
	if (status)
		*status = st;
	return true;
}
