/* The sync service: its connection, reading and checking what the host
 * sends (frames, messages, order), and the service callbacks. See sync.h;
 * the output queue and the index are sync_conn.c's. */
#include "guest/sync.h"
#include "lib/clock.h"
#include "proto/ports.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF_SIZE 65536u
/* Reads per pump before the other services get their turn. */
#define READS_PER_PUMP 16

/* ---- the host's messages ---- */

static void hello(struct gconn *c, const struct sync_msg *m)
{
	snprintf(c->root_path, sizeof(c->root_path), "%s", m->text);
	memcpy(c->key, m->key, sizeof(c->key));
	c->state = G_IGNORES;
}

static void start(struct gconn *c)
{
	char why[SYNC_MAX_TEXT + 1];
	int r = gsync_ws_open(c, why, sizeof(why));

	if (r < 0) {
		gsync_fail(c, -r, "%s", why);
		return;
	}
	r = gsync_list(c);
	if (r < 0) {
		gsync_fail(c, -r, "cannot list the workspace %s: %s", c->root_path,
			   strerror(-r));
		return;
	}
	c->state = G_RUN;
}

static void handle(struct gconn *c, const struct frame *f)
{
	struct sync_msg *m = &c->msg;
	int r = sync_msg_decode(f->type, f->payload, f->len, m);

	if (r == -EPROTONOSUPPORT) {
		gsync_fail(c, EPROTONOSUPPORT, "airlock-init speaks sync protocol %u, "
			   "the host %u: the CLI and the initramfs are from different "
			   "builds", SYNC_PROTO_VERSION, m->version);
		return;
	}
	if (r < 0 || sync_seq_to_guest(&c->seq_in, m) < 0) {
		gsync_fail(c, EPROTO, "malformed or out-of-order sync message of "
			   "type 0x%02x", f->type);
		return;
	}
	switch (m->type) {
	case SYNC_MSG_HELLO:
		hello(c, m);
		break;
	case SYNC_MSG_IGNORE:
		if (!m->bad && pathmatch_add(&c->ignore, m->text, strlen(m->text)) < 0)
			gsync_fail(c, ENOMEM, "out of memory for ignore patterns");
		break;
	case SYNC_MSG_START:
		start(c);
		break;
	default:
		gsync_apply(c, m);
		break;
	}
}

static bool conn_read(struct gconn *c)
{
	bool progress = false;

	for (int reads = 0; !c->dead && c->rd && reads < READS_PER_PUMP; reads++) {
		ssize_t n;

		/* A host that stops reading stops being read. Nor while a
		 * file's content is being sent: an answer (APPLIED) must not
		 * come between its DATA frames. */
		if (c->o_len > 2 * SYNC_OUT_HIGH || c->src >= 0)
			break;
		if (c->r_len == 0) {
			n = recv(c->fd, c->rbuf, RBUF_SIZE, MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				c->rd = false;
				break;
			}
			if (n <= 0) {
				c->dead = true;	/* the host closed or went away */
				return true;
			}
			c->r_off = 0;
			c->r_len = (size_t)n;
		}
		while (c->r_len && !c->dead) {
			const uint8_t *p = c->rbuf + c->r_off;
			size_t left = c->r_len;
			struct frame f;
			int r = frame_decoder_next(&c->dec, &p, &left, &f);

			c->r_off += c->r_len - left;
			c->r_len = left;
			if (r < 0) {
				gsync_fail(c, EPROTO, "malformed sync frame: %s", strerror(-r));
				break;
			}
			if (r == 0)
				break;
			handle(c, &f);
			if (c->o_len > 2 * SYNC_OUT_HIGH || c->src >= 0)
				break;
		}
		progress = true;
	}
	return progress;
}

/* ---- the connection ---- */

static void conn_event(struct watch *w, uint32_t events)
{
	struct gconn *c = w->owner;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		c->rd = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->wr = true;
}

static void conn_free(struct gconn *c)
{
	gsync_apply_close(c);
	gsync_send_close(c);
	if (c->watching) {
		/* Unregistered first (serve_close says why); fswatch_close
		 * then closes it. */
		epoll_ctl(c->svc->a->epfd, EPOLL_CTL_DEL, c->fw.ifd, NULL);
		fswatch_close(&c->fw);
	}
	{
		size_t n;
		struct pathmap_node **l = pathmap_list(&c->index, &n, false);

		for (size_t i = 0; i < n; i++) {
			free(l[i]->path);
			free(l[i]);
		}
		free(l);
	}
	pathmap_free(&c->index);
	pathmatch_free(&c->ignore);
	if (c->root >= 0)
		close(c->root);
	if (c->store >= 0)
		close(c->store);
	serve_close(c->svc->a, c->fd);
	free(c->rbuf);
	free(c->obuf);
	c->svc->conn = NULL;
	free(c);
}

static void sync_accept(void *state, int fd)
{
	struct gsync *s = state;
	struct gconn *c;

	/* One host end per workspace: a second connection while one runs
	 * is not ours to serve. */
	if (s->conn) {
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->rbuf = malloc(RBUF_SIZE))) {
		free(c);
		close(fd);
		return;
	}
	c->svc = s;
	c->fd = fd;
	c->root = c->store = c->src = -1;
	c->put_tmp.fd = c->put_tmp.dirfd = -1;
	c->w = (struct watch){ .event = conn_event, .owner = c };
	frame_decoder_init(&c->dec, sync_type_to_guest);
	sync_seq_init(&c->seq_in);
	pathmatch_init(&c->ignore);
	pathmap_init(&c->index);
	pathmap_init(&c->dirty);
	if (serve_watch(s->a, fd, &c->w) < 0) {
		free(c->rbuf);
		free(c);
		close(fd);
		return;
	}
	c->rd = c->wr = true;
	s->conn = c;
}

static bool sync_pump(void *state)
{
	struct gsync *s = state;
	struct gconn *c = s->conn;
	bool progress = true;

	if (!c)
		return false;
	for (int round = 0; progress && round < 8 && !c->dead; round++) {
		progress = gsync_flush(c);
		progress |= conn_read(c);
		if (c->state == G_RUN)
			progress |= gsync_send_pump(c);
		progress |= gsync_flush(c);
	}
	if (c->dead) {
		/* What FAIL said goes out if it can; then the connection ends. */
		c->dead = false;
		gsync_flush(c);
		conn_free(c);
		return false;
	}
	/* Still going after the last round: come back without waiting. */
	return progress;
}

static int64_t sync_deadline(void *state)
{
	struct gsync *s = state;

	return s->conn && s->conn->state == G_RUN ? gsync_send_deadline(s->conn) : -1;
}

static void sync_stop(void *state)
{
	struct gsync *s = state;

	if (s->conn)
		conn_free(s->conn);
}

static int sync_init(struct agent *a, void **state)
{
	static const struct {
		const char *path, *value;
	} knobs[] = {
		/* One watch per directory of the workspace; the default
		 * (8192 or so) is less than many projects have. */
		{ "/proc/sys/fs/inotify/max_user_watches", "1048576" },
		/* Room for a burst (a git checkout) before events are lost
		 * and everything must be looked at again. */
		{ "/proc/sys/fs/inotify/max_queued_events", "262144" },
	};
	struct gsync *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->a = a;
	s->uid = a->user->pw.uid;
	s->gid = a->user->pw.gid;
	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		int fd = open(knobs[i].path, O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, knobs[i].value, strlen(knobs[i].value)) < 0)
			init_log(a->ctx, "sync: cannot set %s: %s", knobs[i].path,
				 strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	*state = s;
	return 0;
}

const struct service sync_service = {
	.name = "sync",
	.port = AIRLOCK_VSOCK_PORT_SYNC,
	.init = sync_init,
	.accept = sync_accept,
	.pump = sync_pump,
	.deadline = sync_deadline,
	.stop = sync_stop,
};
