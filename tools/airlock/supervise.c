/* The supervisor of a running sandbox: see supervise.h. */
#include "tools/airlock/supervise.h"
#include "tools/airlock/exec.h"
#include "tools/airlock/msg.h"
#include "tools/airlock/snapshot.h"
#include "tools/airlock/vmm_proc.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/unixsock.h"
#include "proto/guestparams.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POWEROFF_WAIT_MS 30000	/* airlock-init flushes the disk first */
#define TERM_WAIT_MS 5000
#define STOP_POWEROFF_MS 5000	/* airlock stop: the control port's answer */
#define STOP_GONE_MS 10000	/* then the VM's end */

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

static int start_vmm(struct supervisor *sv)
{
	const struct sandbox *sb = sv->sb;
	const struct airlock_paths *p = sv->paths;
	char image[PATH_MAX], disk[PATH_MAX], console[PATH_MAX], log[PATH_MAX];
	char cmdline[160];
	struct vmm_files f = VMM_FILES_NONE;
	pid_t pid;
	int done, r;

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
		r = snapshot_start(sb, p, sv->start_mode, sv->fresh, &f, cmdline, &sv->vmm);
		if (r <= 0)
			goto out;
	}
	if ((f.kernel = open_for_vmm("the guest kernel", p->kernel, O_RDONLY, NULL)) < 0 ||
	    (f.initrd = open_for_vmm("the initramfs", p->initrd, O_RDONLY, NULL)) < 0) {
		r = -EINVAL;
		goto out;
	}
	pid = vmm_spawn(p, &f, sb->set.cpus, sb->set.mem_mib, cmdline, &done);
	r = pid < 0 ? (int)pid : 0;
	if (r == 0)
		vmm_proc_adopt(&sv->vmm, pid, done);
out:
	if (r == 0 && sv->net)
		sandbox_net_tap_handed(sv->net);	/* the VMM's alone now */
	f.tap = -1;
	vmm_files_close(&f);
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
	if (vmm_proc_ended_within(&sv->vmm, grace_ms))
		return NULL;
	if (exec_poweroff(sv->sb->sock, STOP_POWEROFF_MS, NULL, NULL) == 0 &&
	    vmm_proc_ended_within(&sv->vmm, STOP_GONE_MS))
		return NULL;
	vmm_proc_kill(&sv->vmm);
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
				    state_name(atomic_load(&sv->state)), "vmm_pid", (int)sv->vmm.pid,
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
	sv->vmm = (struct vmm_proc)VMM_PROC_NONE;
	sv->control_fd = sv->wake[0] = sv->wake[1] = -1;
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
	if (vmm_proc_alive(&sv->vmm)) {
		/* Refused (not timed out): the guest may be powering off
		 * already, for `airlock stop`; give it the same time. */
		int ms = sv->poweroff_wait_ms ? sv->poweroff_wait_ms : POWEROFF_WAIT_MS;
		int r = exec_poweroff(sv->sb->sock, ms, vmm_proc_alive, &sv->vmm);

		if (r == -ETIMEDOUT || !vmm_proc_gone_within(&sv->vmm, ms)) {
			say("sandbox '%s' did not stop by itself; stopping its VM", sv->sb->name);
			vmm_proc_kill(&sv->vmm);
			vmm_proc_gone_within(&sv->vmm, TERM_WAIT_MS);
			return -ETIMEDOUT;
		}
	}
	if (!sv->vmm.ended)
		return 0;
	st = sv->vmm.status;
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
	if (vmm_proc_alive(&sv->vmm)) {
		vmm_proc_kill(&sv->vmm);
		/* Once killed, nothing of it runs any more; freeing the VM
		 * takes the kernel a while (RCU waits: 0.1 s in a test host).
		 * A sandbox about to be removed does not wait for that: its
		 * files go, and our exit hands the zombie to init. */
		if (!sv->discard)
			vmm_proc_gone_within(&sv->vmm, TERM_WAIT_MS);
	}
	vmm_proc_forget(&sv->vmm);
	stop_net(sv);
}
