/* The supervisor of a running sandbox: see supervise.h. */
#include "tools/airlock/supervise.h"
#include "tools/airlock/account.h"
#include "tools/airlock/exec.h"
#include "tools/airlock/msg.h"
#include "tools/airlock/snapshot.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/spawn.h"
#include "lib/unixsock.h"
#include "proto/guestparams.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POWEROFF_WAIT_MS 30000	/* airlock-init flushes the disk first */
#define TERM_WAIT_MS 5000
#define STOP_POWEROFF_MS 5000	/* airlock stop: the control port's answer */
#define STOP_GONE_MS 10000	/* then the VM's end */
/* Started as root, each VMM runs as this system user (made on first use). */
#define VMM_USER "airlock-vmm"

/* --- the VMM's identity ---------------------------------------------- */

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

/* --- starting the VMM ------------------------------------------------- */

static int path_of(char *dst, size_t size, const char *dir, const char *name)
{
	int n = snprintf(dst, size, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Opens path for the VMM; says what is wrong if it cannot. */
static int open_for_vmm(const char *what, const char *path, int flags, const char *hint)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY, 0600);

	if (fd < 0)
		say("cannot open %s %s: %s%s%s", what, path, strerror(errno),
		    hint ? ": " : "", hint ? hint : "");
	return fd < 0 ? -errno : fd;
}

static void close_files(struct vmm_files *f)
{
	int *all[] = { &f->kernel, &f->initrd, &f->template_img, &f->disk, &f->vsock,
		       &f->console, &f->kvm, &f->log, &f->snap_state, &f->snap_mem };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (*all[i] >= 0)
			close(*all[i]);
		*all[i] = -1;
	}
}

pid_t supervisor_spawn_vmm(const struct airlock_paths *p, const struct vmm_files *f,
			   unsigned int cpus, uint64_t mem_mib, const char *cmdline)
{
	/* Each file at 3, 4, ... in this order, named fd:N on the command line. */
	const struct { int fd; const char *opt; const char *suffix; } files[] = {
		{ f->kernel, "--kernel", "" }, { f->initrd, "--initrd", "" },
		{ f->template_img, "--disk", ",ro" }, { f->disk, "--disk", "" },
		{ f->vsock, "--vsock", "" }, { f->console, "--console", "" },
		{ f->kvm, "--kvm", "" }, { f->tap, "--net", "" },
		{ f->snap_state, f->snap_out ? "--snapshot-out" : "--restore", "" },
		{ f->snap_mem, "--snapshot-mem", "" },
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
		if (r)
			return r;
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

		if (null < 0)
			return -errno;
		map[0].fd = map[1].fd = null;
		pid = spawn(&(struct spawn_opts){
			.path = p->vmm, .argv = (char *const *)argv, .fds = map,
			.nfds = nmap, .ns = ns,
			/* If we die, it goes too; ^C on the user's terminal is
			 * the guest command's to get (forwarded), not the VMM's. */
			.death_sig = SIGKILL, .new_pgrp = true });
		close(null);
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

void supervisor_adopt_vmm(struct supervisor *sv, pid_t pid)
{
	if (sv->vmm_pidfd >= 0)
		close(sv->vmm_pidfd);
	sv->vmm = pid;
	sv->vmm_reaped = false;
	sv->vmm_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
}

static int start_vmm(struct supervisor *sv)
{
	const struct sandbox *sb = sv->sb;
	const struct airlock_paths *p = sv->paths;
	char image[PATH_MAX], disk[PATH_MAX], console[PATH_MAX], log[PATH_MAX];
	char cmdline[160];
	struct vmm_files f = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, false, NULL };
	pid_t pid;
	int r;

	r = paths_check(p);
	if (r)
		return r;
	if (path_of(image, sizeof(image), sb->set.template_dir, "rootfs.ext4") ||
	    path_of(disk, sizeof(disk), sb->dir, "disk.ext4") ||
	    path_of(console, sizeof(console), sb->dir, "console.log") ||
	    path_of(log, sizeof(log), sb->dir, "vmm.log"))
		return -ENAMETOOLONG;
	unlink(console);	/* this boot's console only */
	r = -EINVAL;
	if ((f.template_img = open_for_vmm("the template image", image, O_RDONLY,
					   "rebuild the template or remove the sandbox")) < 0 ||
	    (f.disk = open_for_vmm("the sandbox disk", disk, O_RDWR, NULL)) < 0 ||
	    (f.console = open_for_vmm("the console log", console,
				      O_WRONLY | O_CREAT | O_APPEND, NULL)) < 0 ||
	    (f.log = open_for_vmm("the VMM log", log, O_WRONLY | O_CREAT | O_TRUNC,
				  NULL)) < 0 ||
	    (f.kvm = open_for_vmm("", "/dev/kvm", O_RDWR,
				  "airlock needs KVM: add this user to the group owning "
				  "/dev/kvm (usually 'kvm')")) < 0)
		goto out;
	f.vsock = unix_listen(sb->sock, 64);
	if (f.vsock < 0) {
		say("cannot listen on %s: %s", sb->sock, strerror(-f.vsock));
		goto out;
	}
	if (sv->net)
		f.tap = sv->net->ns.tap;	/* closed by the network's end */
	/* airlock-init learns its address from airlock.net=, each command's
	 * process limit from airlock.pids= (both part of a snapshot's key). */
	snprintf(cmdline, sizeof(cmdline), SANDBOX_CMDLINE "%s%s", sv->net ? " " : "",
		 sv->net ? sv->net->param : "");
	if (sb->set.pids_max)
		snprintf(cmdline + strlen(cmdline), sizeof(cmdline) - strlen(cmdline),
			 " " GUESTPARAM_PIDS "%u", sb->set.pids_max);
	/* From the template's snapshot, unless that is not wanted or cannot
	 * be (then it has said why, once). */
	if (sv->start_mode != SNAPSHOT_COLD) {
		r = snapshot_start(sv, &f, cmdline);
		if (r <= 0)
			goto out;
	}
	if ((f.kernel = open_for_vmm("the guest kernel", p->kernel, O_RDONLY, NULL)) < 0 ||
	    (f.initrd = open_for_vmm("the initramfs", p->initrd, O_RDONLY, NULL)) < 0) {
		r = -EINVAL;
		goto out;
	}
	pid = supervisor_spawn_vmm(p, &f, sb->set.cpus, sb->set.mem_mib, cmdline);
	r = pid < 0 ? (int)pid : 0;
	if (r == 0)
		supervisor_adopt_vmm(sv, pid);
out:
	if (r == 0 && sv->net)
		sandbox_net_tap_handed(sv->net);	/* the VMM's alone now */
	f.tap = -1;
	close_files(&f);
	return r;
}

/* --- the control socket ----------------------------------------------- */

static const char *state_name(int s)
{
	return s == SV_RUNNING ? "running" : s == SV_STOPPING ? "stopping" : "booting";
}

static void reply(int fd, json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (!s)
		return;
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		/* the asker left: nothing to tell */
	}
	free(s);
}

/* Waits up to ms for the VMM to end (without reaping it). */
static bool vmm_gone_within(struct supervisor *sv, int ms)
{
	struct pollfd p = { .fd = sv->vmm_pidfd, .events = POLLIN };
	int64_t end = clock_ms() + ms;

	if (sv->vmm_pidfd < 0)
		return kill(sv->vmm, 0) < 0;
	for (;;) {
		int64_t left = end - clock_ms();

		if (poll(&p, 1, left > 0 ? (int)left : 0) > 0)
			return true;
		if (left <= 0)
			return false;
	}
}

struct stop_req {
	struct supervisor *sv;
	int grace_ms;
};

/* `airlock stop`: as `docker stop` does. SIGTERM reaches the command
 * through the exec relay (it forwards what this process gets); then the
 * guest is powered off; then the VMM is killed. Our main thread ends the
 * run as the VM goes. A thread of its own, so status requests are still
 * answered meanwhile. */
static void *stopper(void *arg)
{
	struct stop_req *req = arg;
	struct supervisor *sv = req->sv;
	int grace_ms = req->grace_ms;
	sigset_t all;

	free(req);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	kill(getpid(), SIGTERM);
	if (vmm_gone_within(sv, grace_ms))
		return NULL;
	if (exec_poweroff(sv->sb->sock, STOP_POWEROFF_MS, NULL, NULL) == 0 &&
	    vmm_gone_within(sv, STOP_GONE_MS))
		return NULL;
	kill(sv->vmm, SIGKILL);
	return NULL;
}

static void stop(struct supervisor *sv, int grace_ms)
{
	struct stop_req *req;
	pthread_t t;
	int was = atomic_exchange(&sv->state, SV_STOPPING);

	if (was == SV_STOPPING || !(req = malloc(sizeof(*req))))
		return;		/* under way already */
	*req = (struct stop_req){ sv, grace_ms };
	if (pthread_create(&t, NULL, stopper, req) == 0)
		pthread_detach(t);
	else
		free(req);
}

static void serve_one(struct supervisor *sv, int fd)
{
	char line[1024];
	size_t n = 0;
	json_t *req, *op;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	/* One short line; a client that says nothing for a second is gone. */
	while (n < sizeof(line) - 1 && poll(&p, 1, 1000) > 0) {
		ssize_t k = read(fd, line + n, 1);

		if (k <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	req = json_loads(line, 0, NULL);
	op = json_object_get(req, "op");
	if (json_is_string(op) && !strcmp(json_string_value(op), "status")) {
		reply(fd, json_pack("{s:s, s:i, s:I, s:s}", "state",
				    state_name(atomic_load(&sv->state)), "vmm_pid", (int)sv->vmm,
				    "started", (json_int_t)sv->started, "vsock", sv->sb->sock));
	} else if (json_is_string(op) && !strcmp(json_string_value(op), "stop")) {
		json_t *g = json_object_get(req, "grace_ms");
		json_int_t grace = json_is_integer(g) ? json_integer_value(g) : 10000;

		reply(fd, json_pack("{s:s}", "state", "stopping"));
		/* The asker keeps this connection until we are gone. */
		stop(sv, grace < 0 ? 0 : grace > 3600000 ? 3600000 : (int)grace);
		json_decref(req);
		return;		/* fd stays open until the process ends */
	} else {
		reply(fd, json_pack("{s:s}", "error", "unknown request"));
	}
	json_decref(req);
	close(fd);
}

static void *control_thread(void *arg)
{
	struct supervisor *sv = arg;
	sigset_t all;

	/* Signals are the main thread's (the exec relay forwards them). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct pollfd p[2] = { { sv->control_fd, POLLIN, 0 }, { sv->wake[0], POLLIN, 0 } };
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		fd = accept4(sv->control_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve_one(sv, fd);
	}
	return NULL;
}

static int start_control(struct supervisor *sv)
{
	char path[PATH_MAX];
	int r;

	if (path_of(path, sizeof(path), sv->sb->dir, "control.sock"))
		return -ENAMETOOLONG;
	sv->control_fd = unix_listen(path, 16);
	if (sv->control_fd < 0) {
		say("cannot listen on %s: %s", path, strerror(-sv->control_fd));
		return sv->control_fd;
	}
	if (pipe2(sv->wake, O_CLOEXEC) < 0)
		return -errno;
	r = pthread_create(&sv->control, NULL, control_thread, sv);
	if (r) {
		say("cannot start the control thread: %s", strerror(r));
		return -r;
	}
	sv->control_running = true;
	return 0;
}

/* --- the supervisor --------------------------------------------------- */

int supervisor_start(struct supervisor *sv, struct sandbox *sb,
		     const struct airlock_paths *p)
{
	int r;

	const struct net_opts *net_opts = sv->net_opts;
	int start_mode = sv->start_mode;
	bool fresh = sv->fresh;

	memset(sv, 0, sizeof(*sv));
	sv->net_opts = net_opts;
	sv->start_mode = start_mode;
	sv->fresh = fresh;
	sv->sb = sb;
	sv->paths = p;
	sv->vmm_pidfd = sv->control_fd = sv->wake[0] = sv->wake[1] = -1;
	sv->started = (int64_t)time(NULL);
	atomic_store(&sv->state, SV_BOOTING);
	if (sv->net_opts && !(sv->net_opts->network &&
			      strcmp(sv->net_opts->network, "none") == 0)) {
		sv->net = calloc(1, sizeof(*sv->net));
		r = sv->net ? sandbox_net_start(sv->net, sb, p, sv->net_opts) : -ENOMEM;
		if (r) {
			free(sv->net);
			sv->net = NULL;
			return r;
		}
	}
	/* The gateway starts while the VM does. */
	r = start_vmm(sv);
	if (r == 0 && sv->net)
		r = sandbox_net_ready(sv->net, sb, p, sv->net_opts);
	if (r == 0)
		r = start_control(sv);
	return r;
}

void supervisor_running(void *arg)
{
	struct supervisor *sv = arg;
	int booting = SV_BOOTING;

	atomic_compare_exchange_strong(&sv->state, &booting, SV_RUNNING);
}

bool supervisor_vmm_alive(void *arg)
{
	struct supervisor *sv = arg;
	pid_t r;

	if (sv->vmm <= 0 || sv->vmm_reaped)
		return false;
	r = waitpid(sv->vmm, &sv->vmm_status, WNOHANG);
	if (r == sv->vmm || (r < 0 && errno == ECHILD)) {
		sv->vmm_reaped = true;
		return false;
	}
	return true;
}

/* Waits up to ms for the VMM to end and reaps it; true if it did. */
bool supervisor_vmm_gone_within(struct supervisor *sv, int ms)
{
	/* On its pidfd: at once when it ends, not at the next 5 ms. */
	if (sv->vmm_pidfd >= 0 && supervisor_vmm_alive(sv)) {
		vmm_gone_within(sv, ms);
		return !supervisor_vmm_alive(sv);
	}
	for (int waited = 0; supervisor_vmm_alive(sv); waited += 5) {
		if (waited >= ms)
			return false;
		clock_sleep_ms(5);
	}
	return true;
}

void supervisor_print_log(const struct supervisor *sv)
{
	char path[PATH_MAX], line[1024], shown[1024];
	FILE *f;

	if (path_of(path, sizeof(path), sv->sb->dir, "vmm.log") || !(f = fopen(path, "re")))
		return;
	/* The VMM quotes the guest: escaped, so that it cannot talk to the
	 * terminal. */
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			n--;
		escape_text(shown, sizeof(shown), line, n);
		fprintf(stderr, "  %s\n", shown);
	}
	fclose(f);
}

/* Ends the network; says so if it went away during the run. */
static int stop_net(struct supervisor *sv)
{
	int r = 0;

	if (sv->net) {
		r = sandbox_net_stop(sv->net, sv->sb, sv->discard);
		free(sv->net);
		sv->net = NULL;
	}
	return r;
}

static int stop_vm(struct supervisor *sv);

int supervisor_shutdown(struct supervisor *sv)
{
	int r = stop_vm(sv), rn = stop_net(sv);

	return r ? r : rn;
}

static int stop_vm(struct supervisor *sv)
{
	int st;

	atomic_store(&sv->state, SV_STOPPING);
	if (supervisor_vmm_alive(sv)) {
		/* Refused (not timed out): the guest may be powering off
		 * already, for `airlock stop`; give it the same time. */
		int ms = sv->poweroff_wait_ms ? sv->poweroff_wait_ms : POWEROFF_WAIT_MS;
		int r = exec_poweroff(sv->sb->sock, ms, supervisor_vmm_alive, sv);

		if (r == -ETIMEDOUT || !supervisor_vmm_gone_within(sv, ms)) {
			say("sandbox '%s' did not stop by itself; stopping its VM", sv->sb->name);
			kill(sv->vmm, SIGKILL);
			supervisor_vmm_gone_within(sv, TERM_WAIT_MS);
			return -ETIMEDOUT;
		}
	}
	if (!sv->vmm_reaped)
		return 0;
	st = sv->vmm_status;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		say("the VM of sandbox '%s' ended with status %d:", sv->sb->name, WEXITSTATUS(st));
	else
		say("the VM of sandbox '%s' was killed by signal %d:", sv->sb->name, WTERMSIG(st));
	supervisor_print_log(sv);
	return -EIO;
}

void supervisor_close(struct supervisor *sv)
{
	char path[PATH_MAX];

	if (!sv->sb)
		return;		/* never started */
	if (sv->control_running) {
		if (write(sv->wake[1], "x", 1) < 0) {
			/* the thread is gone already */
		}
		pthread_join(sv->control, NULL);
		sv->control_running = false;
	}
	if (sv->control_fd >= 0) {
		close(sv->control_fd);
		if (path_of(path, sizeof(path), sv->sb->dir, "control.sock") == 0)
			unlink(path);
	}
	sv->control_fd = -1;
	for (int i = 0; i < 2; i++)
		if (sv->wake[i] >= 0)
			close(sv->wake[i]);
	sv->wake[0] = sv->wake[1] = -1;
	if (sv->vmm > 0 && supervisor_vmm_alive(sv)) {
		kill(sv->vmm, SIGKILL);
		/* Once killed, nothing of it runs any more; freeing the VM
		 * takes the kernel a while (RCU waits: 0.1 s in a test host).
		 * A sandbox about to be removed does not wait for that: its
		 * files go, and our exit hands the zombie to init. */
		if (!sv->discard)
			supervisor_vmm_gone_within(sv, TERM_WAIT_MS);
	}
	if (sv->vmm_pidfd >= 0)
		close(sv->vmm_pidfd);
	sv->vmm_pidfd = -1;
	sv->vmm = 0;
	stop_net(sv);
}
