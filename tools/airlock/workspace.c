/* The workspace: see workspace.h. airlock-sync gets exactly its four
 * descriptors (the project, the state folder, the guest stream, a
 * socketpair to us) and an empty environment; everything it reports comes
 * back as lines on the socketpair (tools/sync/ctl.c). The supervisor (the
 * `airlock run` process) starts it here, through lib/spawn.h. */
#include "tools/airlock/workspace.h"
#include "tools/airlock/account.h"
#include "tools/airlock/args.h"
#include "tools/airlock/exec.h"
#include "tools/airlock/msg.h"
#include "proto/ports.h"
#include "proto/sync.h"
#include "lib/clock.h"
#include "lib/size.h"
#include "lib/spawn.h"
#include "lib/vsock_client.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AIRLOCK_BUILD_SYNC
#error "AIRLOCK_BUILD_SYNC: the build's airlock-sync, set by meson"
#endif

#define PROGRESS_AFTER_MS 1000
/* The last changes of a busy guest can take a while to come back. */
#define FINISH_TIMEOUT_MS (10 * 60 * 1000)
#define CLOSE_WAIT_MS 2000	/* airlock-sync's end once its socketpair closes */
#define PROTECTED_MAX (1u << 20)

int workspace_opt(struct workspace_opts *o, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case WORKSPACE_OPT_BASE:
		o->path = arg;
		return 1;
	case WORKSPACE_OPT_BASE + 1:
		o->none = true;
		return 1;
	case WORKSPACE_OPT_BASE + 2:
		if (o->nexclude == WORKSPACE_MAX_EXCLUDES) {
			say("--exclude: at most %d patterns (.airlockignore takes more)",
			    WORKSPACE_MAX_EXCLUDES);
			return -1;
		}
		if (!*arg || strlen(arg) > SYNC_MAX_PATTERN ||
		    sync_path_printable(arg, strlen(arg))) {
			say("--exclude '%s': a pattern of 1 to %u printable bytes", arg,
			    SYNC_MAX_PATTERN);
			return -1;
		}
		o->exclude[o->nexclude++] = arg;
		return 1;
	case WORKSPACE_OPT_BASE + 3:
	case WORKSPACE_OPT_BASE + 4:
	case WORKSPACE_OPT_BASE + 5:
		if (size_parse(arg, 1, 1ull << 50, &v) < 0 || v == 0) {
			say("--%s '%s': expected %s", opt == WORKSPACE_OPT_BASE + 5 ?
			    "sync-max-files" : opt == WORKSPACE_OPT_BASE + 3 ? "sync-max-file" :
			    "sync-max-total", arg, opt == WORKSPACE_OPT_BASE + 5 ?
			    "a number" : "a size like 100M or 2G");
			return -1;
		}
		*(opt == WORKSPACE_OPT_BASE + 3 ? &o->max_file : opt == WORKSPACE_OPT_BASE + 4 ?
		  &o->max_total : &o->max_files) = arg;
		return 1;
	}
	return 0;
}

static bool is_home(const char *root)
{
	static struct account acct;
	const char *h = getenv("HOME");
	char real[PATH_MAX];

	if (h && *h == '/' && realpath(h, real) && strcmp(real, root) == 0)
		return true;
	return account_find(NULL, getuid(), &acct) == 0 && realpath(acct.home, real) &&
	       strcmp(real, root) == 0;
}

int workspace_prepare(struct workspace *w, const struct workspace_opts *o)
{
	char cwd[PATH_MAX];
	const char *path = o->path;
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->ctl = -1;
	if (o->none)
		return 0;
	if (!path) {
		if (!getcwd(cwd, sizeof(cwd))) {
			say("cannot tell the current folder: %s", strerror(errno));
			return -errno;
		}
		path = cwd;
	}
	if (!realpath(path, w->root) || stat(w->root, &st) < 0) {
		say("--workspace '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		say("--workspace '%s': not a folder", path);
		return -ENOTDIR;
	}
	if (strcmp(w->root, "/") == 0 || is_home(w->root)) {
		say("not copying %s into a sandbox: that is %s (your keys and all). Run "
		    "airlock in a project folder, or name one with --workspace PATH, or "
		    "use --no-workspace", w->root, strcmp(w->root, "/") ? "your home folder" :
		    "the whole system");
		return -EPERM;
	}
	if (strlen(w->root) > SYNC_MAX_PATH || sync_path_check(w->root + 1, strlen(w->root) - 1) ||
	    sync_path_printable(w->root, strlen(w->root))) {
		say("the folder %s cannot be a workspace: its path is too long or has a "
		    "control character", w->root);
		return -EINVAL;
	}
	w->on = true;
	return 0;
}

/* The per-project addition to protected.list, kept where the guest cannot
 * write: $AIRLOCK_HOME/projects/<project>/protected.list, copied into the
 * state folder for airlock-sync (which opens nothing outside its fds). */
static void copy_protected(const struct workspace *w, const struct airlock_paths *p,
			   int state)
{
	char name[SANDBOX_NAME_MAX + 1], path[PATH_MAX + 64], *buf;
	ssize_t n;
	int in, out;

	unlinkat(state, "protected.local", 0);
	sandbox_name_for_dir(w->root, name, sizeof(name));
	if (snprintf(path, sizeof(path), "%s/projects/%s/protected.list", p->home, name) >=
	    (int)sizeof(path))
		return;
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return;
	buf = malloc(PROTECTED_MAX);
	n = buf ? read(in, buf, PROTECTED_MAX) : -1;
	close(in);
	out = n > 0 ? openat(state, "protected.local", O_WRONLY | O_CREAT | O_TRUNC |
			     O_NOFOLLOW | O_CLOEXEC, 0600) : -1;
	if (out >= 0) {
		if (write(out, buf, (size_t)n) != n)
			say("cannot copy %s for the sync", path);
		close(out);
	}
	free(buf);
}

static const char *sync_binary(void)
{
	const char *v = getenv("AIRLOCK_SYNC");

	return v && *v ? v : AIRLOCK_BUILD_SYNC;
}

/* Starts airlock-sync (lib/spawn.h) with fds 3..6 = project, state,
 * guest, control, /dev/null for 0 and 1, errfd for 2, and nothing else; in
 * a process group of its own (a ^C is the command's), gone with us. */
static pid_t spawn_sync(const struct workspace *w, const struct workspace_opts *o,
			const int fds[4], int errfd)
{
	const char *argv[16 + 2 * WORKSPACE_MAX_EXCLUDES];
	struct spawn_fd sf[7];
	struct spawn_opts so = { 0 };
	int argc = 0, devnull;
	pid_t pid;

	argv[argc++] = "airlock-sync";
	argv[argc++] = "--project-fd";
	argv[argc++] = "3";
	argv[argc++] = "--state-fd";
	argv[argc++] = "4";
	argv[argc++] = "--guest-fd";
	argv[argc++] = "5";
	argv[argc++] = "--control-fd";
	argv[argc++] = "6";
	argv[argc++] = "--root";
	argv[argc++] = w->root;
	for (unsigned int i = 0; i < o->nexclude; i++) {
		argv[argc++] = "--exclude";
		argv[argc++] = o->exclude[i];
	}
	if (o->max_file) {
		argv[argc++] = "--max-file";
		argv[argc++] = o->max_file;
	}
	if (o->max_total) {
		argv[argc++] = "--max-total";
		argv[argc++] = o->max_total;
	}
	if (o->max_files) {
		argv[argc++] = "--max-files";
		argv[argc++] = o->max_files;
	}
	argv[argc] = NULL;

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0)
		return -errno;
	sf[0] = (struct spawn_fd){ devnull, 0 };
	sf[1] = (struct spawn_fd){ devnull, 1 };
	sf[2] = (struct spawn_fd){ errfd, 2 };
	for (int i = 0; i < 4; i++)
		sf[3 + i] = (struct spawn_fd){ fds[i], 3 + i };
	so.path = sync_binary();
	so.argv = (char *const *)argv;
	so.fds = sf;
	so.nfds = 7;
	so.death_sig = SIGTERM;
	so.new_pgrp = true;
	pid = spawn(&so);
	close(devnull);
	return pid;
}

/* ---- what airlock-sync says ---- */

static void progress(struct workspace *w, const char *line, int64_t started, bool *shown)
{
	unsigned long long done, total;

	if (sscanf(line, "progress %llu %llu", &done, &total) != 2)
		return;
	if (!isatty(2) || clock_ms() < started + PROGRESS_AFTER_MS)
		return;
	fprintf(stderr, "\rairlock: copying %s into the sandbox: %llu of %llu", w->root,
		done, total);
	*shown = true;
}

/* Handles one line; true once the sync said ready (or summary). */
static void line(struct workspace *w, const char *l, int64_t started, bool *shown)
{
	struct workspace_counts *c = &w->count;

	if (strncmp(l, "progress ", 9) == 0) {
		progress(w, l, started, shown);
	} else if (strncmp(l, "left-out ", 9) == 0) {
		unsigned long long n = 0;
		int off = 0;

		if (*shown) {
			fputs("\r\033[K", stderr);
			*shown = false;
		}
		if (sscanf(l, "left-out %llu%n", &n, &off) >= 1)
			say("left out of the sandbox: %llu path%s (.airlockignore, --exclude, or "
			    "names that cannot be synced)%s%s", n, n == 1 ? "" : "s",
			    l[off] ? ", e.g." : "", l + off);
	} else if (strncmp(l, "ready", 5) == 0) {
		w->ready = true;
	} else if (strncmp(l, "summary ", 8) == 0) {
		sscanf(l, "summary in=%llu back=%llu held=%llu conflicts=%llu refused=%llu "
		       "stripped=%llu", &c->in, &c->back, &c->held, &c->conflicts,
		       &c->refused, &c->stripped);
		w->summarised = true;
	} else if (strncmp(l, "error ", 6) == 0 && !w->error[0]) {
		snprintf(w->error, sizeof(w->error), "%s", l + 6);
	}
}

/* Reads what is there; false once the socket is closed. */
static bool read_lines(struct workspace *w, int64_t started, bool *shown)
{
	ssize_t n = recv(w->ctl, w->line + w->nline, sizeof(w->line) - 1 - w->nline,
			 MSG_DONTWAIT);
	char *nl;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	w->nline += (size_t)n;
	w->line[w->nline] = 0;
	while ((nl = memchr(w->line, '\n', w->nline))) {
		*nl = 0;
		line(w, w->line, started, shown);
		w->nline -= (size_t)(nl + 1 - w->line);
		memmove(w->line, nl + 1, w->nline);
		w->line[w->nline] = 0;
	}
	if (w->nline == sizeof(w->line) - 1)
		w->nline = 0;	/* one over-long line: dropped */
	return true;
}

/* A signal that ends the run (^C, `airlock stop`, a hang-up), blocked by
 * the caller while the project goes in: taken, and its number, or 0. */
static int ending_signal(void)
{
	static const struct timespec now = { 0, 0 };
	sigset_t ends;
	int sig;

	sigemptyset(&ends);
	sigaddset(&ends, SIGINT);
	sigaddset(&ends, SIGTERM);
	sigaddset(&ends, SIGHUP);
	sig = sigtimedwait(&ends, NULL, &now);
	return sig > 0 ? sig : 0;
}

/* Reads what airlock-sync says until done(w), the sync ends, the VM ends
 * or timeout_ms pass; with stoppable, an ending signal stops the wait
 * (-EINTR, w->signal). */
static int wait_for(struct workspace *w, struct supervisor *sv, bool (*done)(const struct workspace *),
		    int timeout_ms, bool stoppable)
{
	int64_t started = clock_ms(), deadline = started + timeout_ms;
	bool shown = false, open = true;
	int r = 0;

	while (!done(w)) {
		struct pollfd pfd = { .fd = w->ctl, .events = POLLIN };

		if (stoppable && (w->signal = ending_signal())) {
			r = -EINTR;
			break;
		}
		if (!open) {
			r = -EPIPE;
			break;
		}
		if (clock_ms() > deadline) {
			r = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, 100) > 0)
			open = read_lines(w, started, &shown);
		if (!vmm_proc_alive(&sv->vmm) && !done(w)) {
			/* What it says about the end is still worth reading. */
			for (int i = 0; i < 20 && open && !done(w); i++)
				if (poll(&pfd, 1, 50) > 0)
					open = read_lines(w, started, &shown);
			if (!done(w)) {
				r = -ESRCH;
				break;
			}
		}
	}
	if (shown)
		fputs("\r\033[K", stderr);
	return r;
}

static bool is_ready(const struct workspace *w)
{
	return w->ready || w->error[0];
}

static bool is_summarised(const struct workspace *w)
{
	return w->summarised;
}

static void print_err_file(const struct workspace *w)
{
	char path[PATH_MAX + 16], buf[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/sync.err", w->state);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f))
		fprintf(stderr, "  %s", buf);
	fclose(f);
}

int workspace_start(struct workspace *w, struct supervisor *sv, const struct airlock_paths *p,
		    const struct workspace_opts *o, int timeout_ms)
{
	int fds[4] = { -1, -1, -1, -1 }, pair[2] = { -1, -1 }, errfd = -1, r;

	if (!w->on)
		return 0;
	if (snprintf(w->state, sizeof(w->state), "%s/sync", sv->sb->dir) >= (int)sizeof(w->state))
		return -ENAMETOOLONG;
	if (mkdir(w->state, 0700) < 0 && errno != EEXIST) {
		say("cannot create %s: %s", w->state, strerror(errno));
		return -errno;
	}
	fds[0] = open(w->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds[1] = open(w->state, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fds[0] < 0 || fds[1] < 0) {
		r = -errno;
		say("cannot open %s: %s", fds[0] < 0 ? w->root : w->state, strerror(-r));
		goto out;
	}
	copy_protected(w, p, fds[1]);
	errfd = openat(fds[1], "sync.err", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		       O_CLOEXEC, 0600);
	fds[2] = vsock_connect(sv->sb->sock, AIRLOCK_VSOCK_PORT_SYNC, timeout_ms,
				    vmm_proc_alive, &sv->vmm);
	if (fds[2] < 0) {
		r = fds[2];
		say(r == -ESRCH ? "the sandbox's VM stopped before the command could run:" :
		    "cannot reach the sandbox's sync service: %s", strerror(-r));
		if (r == -ESRCH)
			supervisor_print_log(sv);
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		r = -errno;
		say("cannot make a socketpair: %s", strerror(-r));
		goto out;
	}
	fds[3] = pair[1];
	w->ctl = pair[0];
	w->pid = spawn_sync(w, o, fds, errfd >= 0 ? errfd : 2);
	if (w->pid < 0) {
		r = w->pid;
		say("cannot start airlock-sync: %s", strerror(-r));
		w->pid = 0;
		goto out;
	}
	/* Its descriptors are its alone now: its end of the socketpair
	 * closes when it ends. */
	for (int i = 0; i < 4; i++) {
		close(fds[i]);
		fds[i] = -1;
	}
	r = wait_for(w, sv, is_ready, 24 * 60 * 60 * 1000, true);
	if (r == 0 && !w->ready)
		r = -EIO;
	if (r < 0) {
		if (r == -EINTR)
			say("stopped by SIG%s while the project was copied in: the command "
			    "did not run", sigabbrev_np(w->signal));
		else if (w->error[0])
			say("the project could not be copied into the sandbox: %s", w->error);
		else if (r == -ESRCH)
			say("the sandbox's VM stopped while the project was copied in");
		else
			say("the project could not be copied into the sandbox: airlock-sync "
			    "ended (%s/sync.log has details)", w->state);
		if (r != -EINTR)
			print_err_file(w);
	}
out:
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (errfd >= 0)
		close(errfd);
	if (r < 0)
		workspace_close(w);
	return r;
}

int workspace_finish(struct workspace *w, struct supervisor *sv, int timeout_ms)
{
	const struct workspace_counts *c = &w->count;
	char refused[PATH_MAX + 64] = "";
	int r;

	if (!w->on || w->ctl < 0)
		return 0;
	if (send(w->ctl, "finish\n", 7, MSG_NOSIGNAL) < 0)
		r = -EPIPE;
	else
		r = wait_for(w, sv, is_summarised, timeout_ms < 0 ? FINISH_TIMEOUT_MS : timeout_ms,
			     false);
	if (c->refused)
		snprintf(refused, sizeof(refused), "; %llu refused (%s/sync.log says why)",
			 c->refused, w->state);
	if (w->error[0] || r < 0 || !w->summarised) {
		say("the workspace sync stopped early%s%s: what the sandbox changed since "
		    "may not be here yet; the next run of this sandbox picks it up",
		    w->error[0] ? ": " : "", w->error);
		print_err_file(w);
		r = r < 0 ? r : -EIO;
	}
	/* Nothing moved at all (an empty folder, nothing changed): nothing
	 * to say. */
	if (r == 0 && !c->in && !c->back && !c->held && !c->conflicts && !c->refused) {
		workspace_close(w);
		return 0;
	}
	say("%llu file%s in; synced %llu change%s back; %llu held for review%s; %llu "
	    "conflict%s%s", c->in, c->in == 1 ? "" : "s", c->back, c->back == 1 ? "" : "s",
	    c->held, c->held ? " (airlock diff)" : "", c->conflicts,
	    c->conflicts == 1 ? "" : "s", refused);
	workspace_close(w);
	return r;
}

void workspace_close(struct workspace *w)
{
	if (w->ctl >= 0)
		close(w->ctl);
	w->ctl = -1;
	/* It saves its state and ends once its socketpair closes; a moment
	 * for that, then it is stopped. Its end takes the kernel a while
	 * (its inotify group goes after an SRCU grace period): a sandbox
	 * about to be removed, whose state goes too, does not wait once the
	 * sync has said its last (it writes nothing after), and our exit
	 * hands it to init. */
	if (w->pid > 0 && !(w->discard && w->summarised) &&
	    !spawn_reaped_within(w->pid, CLOSE_WAIT_MS, NULL)) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
	}
	w->pid = 0;
}
