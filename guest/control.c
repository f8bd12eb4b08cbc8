/* The control service (port 1002): requests about the VM as a whole
 * (proto/control.h). POWEROFF is the only one: it is acknowledged, and the
 * loop ends the VM once it is back at the top (agent.c). At most
 * SERVE_MAX_CONTROL connections at once; a malformed one is closed. */
#include "guest/serve.h"
#include "proto/control.h"
#include "proto/ports.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

struct control_conn {
	struct watch w;
	struct control_service *svc;
	int fd;
	struct frame_decoder dec;
};

struct control_service {
	struct agent *a;
	struct control_conn *conn[SERVE_MAX_CONTROL];
};

static int control_init(struct agent *a, void **state)
{
	struct control_service *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->a = a;
	*state = c;
	return 0;
}

static void control_close(struct control_conn *c)
{
	for (int i = 0; i < SERVE_MAX_CONTROL; i++)
		if (c->svc->conn[i] == c)
			c->svc->conn[i] = NULL;
	if (c->fd >= 0)
		serve_close(c->svc->a, c->fd);
	free(c);
}

static void control_read(struct watch *w, uint32_t events)
{
	struct control_conn *c = w->owner;
	struct agent *a = c->svc->a;
	uint8_t buf[512], ack[FRAME_HEADER_SIZE];
	struct control_msg m = { .type = CONTROL_MSG_ACK };

	(void)events;
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
	control_close(c);
	return;
bad:
	init_log(a->ctx, "closing a malformed control connection");
	control_close(c);
}

static void control_accept(void *state, int fd)
{
	struct control_service *svc = state;
	struct control_conn *c;
	int slot = -1;

	for (int i = 0; i < SERVE_MAX_CONTROL && slot < 0; i++)
		if (!svc->conn[i])
			slot = i;
	c = slot < 0 ? NULL : malloc(sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->svc = svc;
	c->fd = fd;
	c->w = (struct watch){ .event = control_read, .owner = c };
	frame_decoder_init(&c->dec, control_type_to_guest);
	if (serve_watch(svc->a, fd, &c->w) < 0) {
		close(fd);
		free(c);
		return;
	}
	svc->conn[slot] = c;
}

static void control_stop(void *state)
{
	struct control_service *svc = state;

	for (int i = 0; i < SERVE_MAX_CONTROL; i++)
		if (svc->conn[i])
			control_close(svc->conn[i]);
}

const struct service control_service = {
	.name = "control",
	.port = AIRLOCK_VSOCK_PORT_CONTROL,
	.init = control_init,
	.accept = control_accept,
	.stop = control_stop,
};
