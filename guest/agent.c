/* Serve mode's loop: the vsock listeners for exec streams (port 1000) and
 * control requests (port 1002), a signalfd for SIGCHLD, and every session's
 * descriptors on one epoll. PID 1 reaps every process that ends, whether a
 * session's command or an orphan. POWEROFF ends the VM as a one-shot
 * command's end does (init_exit). */
#include "guest/peer.h"
#include "guest/serve.h"
#include "lib/clock.h"
#include "proto/control.h"
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

struct control_conn {
	struct watch w;
	int fd;
	struct frame_decoder dec;
};

static int watch_fd(struct agent *a, int fd, struct watch *w,
		    enum watch_kind kind, void *owner, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->kind = kind;
	w->owner = owner;
	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int serve_watch(struct agent *a, int fd, struct watch *w, enum watch_kind kind,
		void *owner)
{
	return watch_fd(a, fd, w, kind, owner,
			EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
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

static void reap(struct agent *a)
{
	struct signalfd_siginfo si;
	int st;
	pid_t pid;

	while (read(a->sigfd, &si, sizeof(si)) > 0)
		;
	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (int i = 0; i < SERVE_MAX_SESSIONS; i++) {
			if (a->sessions[i] && session_pid(a->sessions[i]) == pid) {
				session_child_exited(a->sessions[i], st);
				break;
			}
		}
		/* Anything else was an orphan: reaped, nothing more. */
	}
}

/* ---- exec streams ---- */

/* One small frame on a fresh connection, then closed: it fits in the
 * socket buffer, so it is sent before the close. */
static void refuse(int fd, uint16_t code, const char *text)
{
	uint8_t buf[FRAME_HEADER_SIZE + 2 + EXEC_MAX_ERROR_MSG + 1];
	int n = exec_error_encode(buf, sizeof(buf), code, text);

	if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* The host went away already. */
	}
	close(fd);
}

static void accept_exec(struct agent *a)
{
	for (;;) {
		int fd = accept_host(a, a->exec_lfd, AIRLOCK_VSOCK_PORT_EXEC);
		int slot = -1;

		if (fd < 0)
			return;
		for (int i = 0; i < SERVE_MAX_SESSIONS && slot < 0; i++)
			if (!a->sessions[i])
				slot = i;
		if (slot < 0) {
			refuse(fd, EXEC_ERR_RESOURCES, "too many commands running "
			       "in this sandbox at once");
			continue;
		}
		a->sessions[slot] = session_new(a, fd);
		if (!a->sessions[slot])
			refuse(fd, EXEC_ERR_RESOURCES, "out of memory for one "
			       "more command");
	}
}

/* ---- control connections ---- */

static void control_close(struct agent *a, struct control_conn *c)
{
	for (int i = 0; i < SERVE_MAX_CONTROL; i++)
		if (a->ctl[i] == c)
			a->ctl[i] = NULL;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

static void accept_control(struct agent *a)
{
	for (;;) {
		int fd = accept_host(a, a->ctl_lfd, AIRLOCK_VSOCK_PORT_CONTROL);
		struct control_conn *c;
		int slot = -1;

		if (fd < 0)
			return;
		for (int i = 0; i < SERVE_MAX_CONTROL && slot < 0; i++)
			if (!a->ctl[i])
				slot = i;
		c = slot < 0 ? NULL : malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		frame_decoder_init(&c->dec, control_type_to_guest);
		if (serve_watch(a, fd, &c->w, W_CTL, c) < 0) {
			close(fd);
			free(c);
			continue;
		}
		a->ctl[slot] = c;
	}
}

static void control_read(struct agent *a, struct control_conn *c)
{
	uint8_t buf[512], ack[FRAME_HEADER_SIZE];
	struct control_msg m = { .type = CONTROL_MSG_ACK };

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		const uint8_t *p = buf;
		size_t left;
		struct frame f;
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;		/* closed, or a reset */
		left = (size_t)n;
		while ((r = frame_decoder_next(&c->dec, &p, &left, &f)) > 0) {
			struct control_msg req;

			/* RESUME belongs to a guest waiting at its snapshot
			 * point (snapshot.c), not to a running one. */
			if (control_msg_decode(f.type, f.payload, f.len, &req) < 0 ||
			    req.type != CONTROL_MSG_POWEROFF)
				goto bad;
			/* POWEROFF is the only request: accept, then act
			 * once the loop is back at the top. */
			if (control_msg_encode(ack, sizeof(ack), &m) < 0 ||
			    send(c->fd, ack, sizeof(ack), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
			a->poweroff = true;
			a->poweroff_fd = c->fd;
			c->fd = -1;
			break;
		}
		if (r < 0)
			goto bad;
		if (a->poweroff)
			break;
	}
	control_close(a, c);
	return;
bad:
	init_log(a->ctx, "closing a malformed control connection");
	control_close(a, c);
}

/* ---- the end ---- */

__attribute__((noreturn)) static void poweroff(struct agent *a)
{
	int64_t deadline = clock_ms() + POWEROFF_GRACE_MS;
	bool host_closed = false, children_gone = false;
	char scratch[64];

	close(a->exec_lfd);
	close(a->ctl_lfd);
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
	for (int i = 0; i < SERVE_MAX_SESSIONS; i++)
		if (a->sessions[i])
			session_free(a->sessions[i], false);
	for (int i = 0; i < SERVE_MAX_CONTROL; i++)
		if (a->ctl[i])
			control_close(a, a->ctl[i]);
	close(a->poweroff_fd);
	init_exit(a->ctx, 0);
}

/* ---- the loop ---- */

static int next_timeout(struct agent *a, bool more)
{
	int64_t now = clock_ms(), best = -1;

	if (more)
		return 0;
	for (int i = 0; i < SERVE_MAX_SESSIONS; i++) {
		int64_t d;

		if (!a->sessions[i] || (d = session_deadline(a->sessions[i])) < 0)
			continue;
		d = d > now ? d - now : 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best > 1000000 ? 1000000 : (int)best;
}

static void dispatch(struct agent *a, const struct epoll_event *ev)
{
	const struct watch *w = ev->data.ptr;

	switch (w->kind) {
	case W_SIGNAL:
		reap(a);
		break;
	case W_EXEC_LISTEN:
		accept_exec(a);
		break;
	case W_CTL_LISTEN:
		accept_control(a);
		break;
	case W_CTL:
		control_read(a, w->owner);
		break;
	default:
		session_event(w->owner, w, ev->events);
		break;
	}
}

void init_serve(struct init_ctx *ctx, const struct init_params *p,
		const struct init_user *u)
{
	static struct agent agent;
	struct agent *a = &agent;
	struct epoll_event evs[64];
	sigset_t chld;
	bool more = false;
	int ret;

	*a = (struct agent){ .ctx = ctx, .params = p, .user = u, .epfd = -1,
			     .sigfd = -1, .exec_lfd = -1, .ctl_lfd = -1,
			     .poweroff_fd = -1,
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
	a->exec_lfd = listen_vsock(ctx, AIRLOCK_VSOCK_PORT_EXEC);
	if (a->exec_lfd < 0)
		init_fail(ctx, -a->exec_lfd);
	a->ctl_lfd = listen_vsock(ctx, AIRLOCK_VSOCK_PORT_CONTROL);
	if (a->ctl_lfd < 0)
		init_fail(ctx, -a->ctl_lfd);
	if ((ret = watch_fd(a, a->sigfd, &a->w_sig, W_SIGNAL, NULL, EPOLLIN)) < 0 ||
	    (ret = watch_fd(a, a->exec_lfd, &a->w_exec, W_EXEC_LISTEN, NULL,
			    EPOLLIN)) < 0 ||
	    (ret = watch_fd(a, a->ctl_lfd, &a->w_ctl, W_CTL_LISTEN, NULL,
			    EPOLLIN)) < 0) {
		init_log(ctx, "cannot set up the event loop: %s", strerror(-ret));
		init_fail(ctx, -ret);
	}
	/* Children that ended before the signalfd existed. */
	reap(a);

	for (;;) {
		int n = epoll_wait(a->epfd, evs, 64, next_timeout(a, more));

		if (n < 0 && errno != EINTR) {
			ret = errno;
			init_log(ctx, "epoll_wait: %s", strerror(ret));
			init_fail(ctx, ret);
		}
		for (int i = 0; i < n; i++)
			dispatch(a, &evs[i]);
		more = false;
		for (int i = 0; i < SERVE_MAX_SESSIONS; i++) {
			bool m;

			if (!a->sessions[i])
				continue;
			if (session_pump(a->sessions[i], &m)) {
				session_free(a->sessions[i], false);
				a->sessions[i] = NULL;
			}
			more |= m;
		}
		if (a->poweroff)
			poweroff(a);
	}
}
