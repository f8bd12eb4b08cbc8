/* Serve mode's loop: a vsock listener per service (services.c), a
 * signalfd for SIGCHLD, and every descriptor the services register on one
 * epoll. PID 1 reaps every process that ends, whether a service's command
 * or an orphan. POWEROFF ends the VM as a one-shot command's end does
 * (init_exit). */
#include "guest/peer.h"
#include "guest/serve.h"
#include "lib/clock.h"
#include "proto/ports.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Connections refused for not coming from the host: logged once a boot. */
#define MAX_STRANGER_LOGS 1
/* The vsock device is probed before init runs; a moment's grace anyway. */
#define VSOCK_WAIT_MS 1000
/* On POWEROFF: how long the processes get to end after SIGHUP. */
#define POWEROFF_GRACE_MS 1000

static int watch_fd(struct agent *a, int fd, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int serve_watch(struct agent *a, int fd, struct watch *w)
{
	return watch_fd(a, fd, w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
}

int serve_watch_in(struct agent *a, int fd, struct watch *w)
{
	return watch_fd(a, fd, w, EPOLLIN);
}

void serve_close(struct agent *a, int fd)
{
	if (fd < 0)
		return;
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
}

/* Without a vsock device nobody could ever reach us: say so and end the
 * VM rather than wait forever. */
static int wait_for_vsock(struct init_ctx *ctx)
{
	unsigned int cid = VMADDR_CID_ANY;

	for (int waited = 0; waited <= VSOCK_WAIT_MS; waited += 10) {
		int fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
				cid = VMADDR_CID_ANY;
			close(fd);
		}
		if (cid != VMADDR_CID_ANY)
			return 0;
		clock_sleep_ms(10);
	}
	init_log(ctx, "no vsock device: without %s on the kernel command line "
		 "airlock-init serves commands over vsock, so the VMM needs "
		 "--vsock", "airlock.cmd=");
	return -ENODEV;
}

static int listen_vsock(struct init_ctx *ctx, unsigned int port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK,
				  .svm_cid = VMADDR_CID_ANY, .svm_port = port };
	int fd;

	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 32) < 0) {
		int err = errno;

		init_log(ctx, "cannot listen on vsock port %u: %s", port,
			 strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	return fd;
}

/* The next connection waiting on listener lfd that comes from the host,
 * or -1. Any other peer is closed unanswered (peer.h says why). */
static int accept_host(struct agent *a, int lfd, unsigned int port)
{
	for (;;) {
		struct sockaddr_vm peer = { 0 };
		socklen_t len = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		bool last;

		if (fd < 0 || vsock_peer_is_host(&peer, len))
			return fd;
		close(fd);
		if (ratelog_take(&a->strangers, &last))
			init_log(a->ctx, "refused a connection to vsock port %u from "
				 "CID %u: only the host may connect%s", port,
				 peer.svm_cid, last ? " (further ones are not reported)" : "");
	}
}

/* ---- children ---- */

static void reap(struct watch *w, uint32_t events)
{
	struct agent *a = w->owner;
	struct serve_slot *services = a->slots;
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	(void)events;
	while (read(a->sigfd, &si, sizeof(si)) > 0)
		;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < a->nslots; i++) {
			const struct service *svc = services[i].svc;

			if (svc->child_exited &&
			    svc->child_exited(services[i].state, pid, st))
				break;
		}
		/* Anything else was an orphan: reaped, nothing more. */
	}
}

/* ---- connections ---- */

/* Every service serves the host alone: a connection from anywhere else
 * (the guest itself, through the loopback CID) is closed unread. */
static void accept_conn(struct watch *w, uint32_t events)
{
	struct serve_slot *l = w->owner;

	(void)events;
	for (;;) {
		int fd = accept_host(l->agent, l->fd, l->svc->port);

		if (fd < 0)
			return;
		l->svc->accept(l->state, fd);
	}
}

/* ---- the end ---- */

__attribute__((noreturn)) static void poweroff(struct agent *a)
{
	int64_t deadline = clock_ms() + POWEROFF_GRACE_MS;
	bool host_closed = false, children_gone = false;
	char scratch[64];

	for (int i = 0; i < a->nslots; i++)
		if (a->slots[i].fd >= 0)
			close(a->slots[i].fd);
	/* As a system shutdown does: a hang-up first, a moment to save what
	 * is worth saving, then init_exit()'s SIGKILL for what is left. */
	kill(-1, SIGHUP);
	kill(-1, SIGCONT);
	while (clock_ms() < deadline && !(host_closed && children_gone)) {
		pid_t pid;
		ssize_t n;

		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		children_gone = pid < 0 && errno == ECHILD;
		/* The host closes once it has read ACK: then it has it. */
		n = recv(a->poweroff_fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		host_closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
		if (!(host_closed && children_gone))
			clock_sleep_ms(10);
	}
	for (int i = 0; i < a->nslots; i++)
		if (a->slots[i].svc->stop)
			a->slots[i].svc->stop(a->slots[i].state);
	close(a->poweroff_fd);
	init_exit(a->ctx, 0);
}

/* ---- the loop ---- */

static int next_timeout(struct agent *a, bool more)
{
	int64_t now = clock_ms(), best = -1;

	if (more)
		return 0;
	for (int i = 0; i < a->nslots; i++) {
		const struct service *svc = a->slots[i].svc;
		int64_t d;

		if (!svc->deadline || (d = svc->deadline(a->slots[i].state)) < 0)
			continue;
		d = d > now ? d - now : 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best > 1000000 ? 1000000 : (int)best;
}

/* Each service's state, and its listener if it has a port. */
static void start_services(struct agent *a)
{
	int ret;

	for (const struct service *const *sp = serve_services; *sp; sp++) {
		struct serve_slot *l = &a->slots[a->nslots];

		if (a->nslots == SERVE_MAX_SERVICES) {
			init_log(a->ctx, "more than %d services", SERVE_MAX_SERVICES);
			init_fail(a->ctx, E2BIG);
		}
		*l = (struct serve_slot){ .fd = -1, .svc = *sp };
		a->nslots++;
		if ((*sp)->init && (ret = (*sp)->init(a, &l->state)) < 0) {
			init_log(a->ctx, "cannot start the %s service: %s",
				 (*sp)->name, strerror(-ret));
			init_fail(a->ctx, -ret);
		}
		if (!(*sp)->port)
			continue;
		l->fd = listen_vsock(a->ctx, (*sp)->port);
		if (l->fd < 0)
			init_fail(a->ctx, -l->fd);
		l->agent = a;
		l->w = (struct watch){ .event = accept_conn, .owner = l };
		if ((ret = serve_watch_in(a, l->fd, &l->w)) < 0) {
			init_log(a->ctx, "cannot set up the event loop: %s", strerror(-ret));
			init_fail(a->ctx, -ret);
		}
	}
}

void init_serve(struct init_ctx *ctx, const struct init_params *p,
		const struct init_user *u, int ack_fd)
{
	static struct agent agent;
	struct agent *a = &agent;
	struct epoll_event evs[64];
	sigset_t chld;
	bool more = false;
	int ret;

	*a = (struct agent){ .ctx = ctx, .params = p, .user = u, .epfd = -1,
			     .sigfd = -1, .poweroff_fd = -1,
			     .strangers = RATELOG_INIT(MAX_STRANGER_LOGS) };
	ret = wait_for_vsock(ctx);
	if (ret < 0)
		init_fail(ctx, -ret);
	/* SIGCHLD through a signalfd: blocked, so it is only ever read. The
	 * children unblock it before exec (spawn.c). */
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	a->epfd = epoll_create1(EPOLL_CLOEXEC);
	a->sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->epfd < 0 || a->sigfd < 0) {
		ret = errno;
		init_log(ctx, "cannot set up the event loop: %s", strerror(ret));
		init_fail(ctx, ret);
	}
	a->w_sig = (struct watch){ .event = reap, .owner = a };
	if ((ret = serve_watch_in(a, a->sigfd, &a->w_sig)) < 0) {
		init_log(ctx, "cannot set up the event loop: %s", strerror(-ret));
		init_fail(ctx, -ret);
	}
	start_services(a);
	init_snapshot_ack(ctx, ack_fd);
	/* Children that ended before the signalfd existed. */
	reap(&a->w_sig, 0);

	for (;;) {
		int n = epoll_wait(a->epfd, evs, 64, next_timeout(a, more));

		if (n < 0 && errno != EINTR) {
			ret = errno;
			init_log(ctx, "epoll_wait: %s", strerror(ret));
			init_fail(ctx, ret);
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			w->event(w, evs[i].events);
		}
		more = false;
		for (int i = 0; i < a->nslots; i++)
			if (a->slots[i].svc->pump)
				more |= a->slots[i].svc->pump(a->slots[i].state);
		if (a->poweroff)
			poweroff(a);
	}
}
