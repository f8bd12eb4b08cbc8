/* An airlock-vmm process: see vmm_proc.h. */
#include "tools/airlock/vmm_proc.h"
#include "tools/airlock/account.h"
#include "tools/airlock/msg.h"
#include "lib/clock.h"
#include "lib/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Started as root, each VMM runs as this system user (made on first use). */
#define VMM_USER "airlock-vmm"

/* --- starting it ------------------------------------------------------ */

static const char *find_useradd(void)
{
	static const char *const where[] = { "/usr/sbin/useradd", "/sbin/useradd" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* Started as root: the uid and gid of VMM_USER, a system account that
 * owns nothing and can log in nowhere, made now if it does not exist. */
static int vmm_identity(uid_t *uid, gid_t *gid)
{
	static struct account acct;
	const char *useradd;
	int st, r = account_find(VMM_USER, 0, &acct);
	pid_t pid;

	if (r && r != -ENOENT) {
		say("cannot read %s for the system user '%s': %s", ACCOUNT_FILE, VMM_USER,
		    strerror(-r));
		return r;
	}
	if (r) {
		useradd = find_useradd();
		if (!useradd) {
			say("the system user '%s', which runs sandboxes' VMMs when airlock runs "
			    "as root, does not exist and useradd is missing to make it", VMM_USER);
			return -ENOENT;
		}
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);

			dup2(null, 0);
			dup2(null, 1);
			execl(useradd, "useradd", "--system", "--user-group", "--no-create-home",
			      "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
			      "--comment", "airlock sandbox VMMs", VMM_USER, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 9 /* exists already */) ||
		    account_find(VMM_USER, 0, &acct) < 0) {
			say("cannot make the system user '%s' that runs sandboxes' VMMs "
			    "(useradd --system %s failed)", VMM_USER, VMM_USER);
			return -EIO;
		}
		say("made the system user '%s': each sandbox's VMM runs as it, with no "
		    "capabilities, in namespaces of its own", VMM_USER);
	}
	if (acct.uid == 0 || acct.gid == 0) {
		say("the user '%s' is root: it must be an unprivileged account", VMM_USER);
		return -EPERM;
	}
	*uid = acct.uid;
	*gid = acct.gid;
	return 0;
}

void vmm_files_close(struct vmm_files *f)
{
	int *all[] = { &f->kernel, &f->initrd, &f->template_img, &f->disk, &f->vsock,
		       &f->console, &f->kvm, &f->log, &f->snap_state, &f->snap_mem };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
}

pid_t vmm_spawn(const struct airlock_paths *p, const struct vmm_files *f, unsigned int cpus,
		uint64_t mem_mib, const char *cmdline, int *done)
{
	int pipefd[2] = { -1, -1 };

	if (done && pipe2(pipefd, O_CLOEXEC) < 0) {
		say("cannot make a pipe for the VMM: %s", strerror(errno));
		return -errno;
	}
	/* Each file at 3, 4, ... in this order, named fd:N on the command line. */
	const struct { int fd; const char *opt; const char *suffix; } files[] = {
		{ f->kernel, "--kernel", "" }, { f->initrd, "--initrd", "" },
		{ f->template_img, "--disk", ",ro" }, { f->disk, "--disk", "" },
		{ f->vsock, "--vsock", "" }, { f->console, "--console", "" },
		{ f->kvm, "--kvm", "" }, { f->tap, "--net", "" },
		{ f->snap_state, f->snap_out ? "--snapshot-out" : "--restore", "" },
		{ f->snap_mem, "--snapshot-mem", "" }, { pipefd[1], "--done", "" },
	};
	enum { NFILES = sizeof(files) / sizeof(files[0]) };
	char mem[24], ncpus[16], jail[48], num[NFILES][24];
	const char *argv[48];
	struct spawn_fd map[NFILES + 3];
	unsigned int n = 0, nmap = 0;
	unsigned long ns = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |
			   CLONE_NEWUTS;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int r;

	if (geteuid() == 0) {
		r = vmm_identity(&uid, &gid);
		if (r) {
			if (done) {
				close(pipefd[0]);
				close(pipefd[1]);
			}
			return r;
		}
		snprintf(jail, sizeof(jail), "--jail=%u:%u", (unsigned int)uid, (unsigned int)gid);
	} else {
		/* An ordinary user: the VMM's namespaces belong to a user
		 * namespace of its own, where it sheds every capability. */
		ns |= CLONE_NEWUSER;
		snprintf(jail, sizeof(jail), "--jail");
	}
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)mem_mib);
	snprintf(ncpus, sizeof(ncpus), "%u", cpus);
	/* stdio: nothing in, the command's COM2 output unused in serve mode,
	 * messages to the log. */
	map[nmap++] = (struct spawn_fd){ -1, 0 };
	map[nmap++] = (struct spawn_fd){ -1, 1 };
	map[nmap++] = (struct spawn_fd){ f->log, 2 };
	argv[n++] = "airlock-vmm";
	for (unsigned int i = 0; i < NFILES; i++) {
		if (files[i].fd < 0)
			continue;
		map[nmap] = (struct spawn_fd){ files[i].fd, (int)nmap };
		snprintf(num[i], sizeof(num[i]), "fd:%u%s", nmap, files[i].suffix);
		nmap++;
		argv[n++] = files[i].opt;
		argv[n++] = num[i];
	}
	argv[n++] = "--cpus";
	argv[n++] = ncpus;
	argv[n++] = "--memory";
	argv[n++] = mem;
	if (f->snap_state < 0 || f->snap_out) {
		argv[n++] = "--cmdline";
		argv[n++] = cmdline;
	}
	if (f->snap_key) {
		argv[n++] = "--snapshot-key";
		argv[n++] = f->snap_key;
	}
	argv[n++] = jail;
	argv[n] = NULL;
	/* stdin and stdout: /dev/null. */
	{
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null < 0) {
			pid = -errno;
		} else {
			map[0].fd = map[1].fd = null;
			pid = spawn(&(struct spawn_opts){
				.path = p->vmm, .argv = (char *const *)argv, .fds = map,
				.nfds = nmap, .ns = ns,
				/* If we die, it goes too; ^C on the user's terminal
				 * is the guest command's to get (forwarded), not the
				 * VMM's. */
				.death_sig = SIGKILL, .new_pgrp = true });
			close(null);
		}
	}
	if (done) {
		/* Its end is the VMM's alone; ours reads its status. */
		close(pipefd[1]);
		if (pid < 0)
			close(pipefd[0]);
		*done = pid < 0 ? -1 : pipefd[0];
	}
	if (pid == -EPERM || pid == -EINVAL) {
		say("cannot start the VMM in namespaces of its own: %s (%s)", strerror(-pid),
		    ns & CLONE_NEWUSER ? "this kernel must let ordinary users make user "
		    "namespaces (sysctl kernel.unprivileged_userns_clone=1)" :
		    "this kernel must support mount, PID, network, IPC and UTS namespaces");
		return pid;
	}
	if (pid < 0)
		say("cannot run %s: %s", p->vmm, strerror(-pid));
	return pid;
}

/* --- watching it ------------------------------------------------------ */

void vmm_proc_adopt(struct vmm_proc *v, pid_t pid, int done)
{
	vmm_proc_forget(v);
	v->pid = pid;
	v->done_fd = done;
	v->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Its --done byte, if it has come: the VM has ended, with that status. An
 * end of file without one: nothing more to learn there (its exit says). */
static void take_done(struct vmm_proc *v)
{
	struct pollfd p = { .fd = v->done_fd, .events = POLLIN };
	uint8_t b;
	ssize_t n;

	if (v->done_fd < 0 || poll(&p, 1, 0) <= 0)
		return;
	n = read(v->done_fd, &b, 1);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n == 1) {
		v->ended = true;
		v->status = W_EXITCODE(b, 0);
	}
	close(v->done_fd);
	v->done_fd = -1;
}

bool vmm_proc_alive(void *arg)
{
	struct vmm_proc *v = arg;
	pid_t r;

	if (v->pid <= 0 || v->ended)
		return false;
	take_done(v);
	if (v->ended)
		return false;
	r = waitpid(v->pid, &v->status, WNOHANG);
	if (r == v->pid || (r < 0 && errno == ECHILD)) {
		v->reaped = v->ended = true;
		return false;
	}
	return true;
}

bool vmm_proc_ended_within(const struct vmm_proc *v, int ms)
{
	struct pollfd p[2] = { { .fd = v->pidfd, .events = POLLIN },
			       { .fd = v->done_fd, .events = POLLIN } };
	int64_t end = clock_ms() + ms;

	if (v->pidfd < 0)
		return kill(v->pid, 0) < 0;
	for (;;) {
		int64_t left = end - clock_ms();

		/* Only looked at (another thread reads it): a byte there says
		 * it ended; at its end of file without one, the pidfd tells. */
		if (poll(p, 2, left > 0 ? (int)left : 0) > 0) {
			int avail = 0;

			if (p[0].revents)
				return true;
			if (p[1].revents && ioctl(p[1].fd, FIONREAD, &avail) == 0 && avail > 0)
				return true;
			if (p[1].revents)
				p[1].fd = -1;
		}
		if (left <= 0)
			return false;
	}
}
bool vmm_proc_gone_within(struct vmm_proc *v, int ms)
{
	/* On its pidfd: at once when it ends, not at the next 5 ms. */
	if (v->pidfd >= 0 && vmm_proc_alive(v)) {
		vmm_proc_ended_within(v, ms);
		return !vmm_proc_alive(v);
	}
	for (int waited = 0; vmm_proc_alive(v); waited += 5) {
		if (waited >= ms)
			return false;
		clock_sleep_ms(5);
	}
	return true;
}

void vmm_proc_kill(const struct vmm_proc *v)
{
	if (v->pid > 0 && !v->reaped)
		kill(v->pid, SIGKILL);
}

void vmm_proc_forget(struct vmm_proc *v)
{
	if (v->pidfd >= 0)
		close(v->pidfd);
	if (v->done_fd >= 0)
		close(v->done_fd);
	*v = (struct vmm_proc)VMM_PROC_NONE;
}
