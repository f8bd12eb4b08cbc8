/* One exec stream (docs/protocol.md): the request, the command it starts,
 * and the relay between the stream and the command's PTY or pipes until
 * EXIT. Flow control both ways: the command's output is read only while the
 * frames for the host fit in a bounded buffer (so a host that stops reading
 * stops the command's writes), and the stream is read only while the
 * command has taken the last STDIN_DATA (so a command that stops reading
 * stops the host). Whatever the host sends, the worst outcome is an ERROR
 * and this stream closed. */
#include "guest/serve.h"
#include "lib/clock.h"
#include "lib/sendq.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* Room kept free in the output buffer for STARTED, EXIT and ERROR, so the
 * command's output can never crowd out the end of the stream. */
#define OBUF_RESERVE 1024u
/* Two whole data frames, so one can be read while the other is sent. */
#define OBUF_SIZE (2u * FRAME_MAX_SIZE + OBUF_RESERVE)
#define RBUF_SIZE 65536u
/* When the command's own process has ended but something (a background
 * process) still holds its output open: wait this long, then relay what is
 * already buffered and send EXIT. */
#define EXIT_GRACE_MS 250
/* After EXIT or ERROR, how long to wait for the host to close first: a
 * full close with data still queued in the VMM could lose that data. */
#define LINGER_MS 5000
/* Work done per session_pump() call before the others get their turn. */
#define PUMP_ROUNDS 32

enum state {
	S_REQUEST,	/* waiting for EXEC_REQUEST */
	S_SPAWNING,	/* forked: waiting for the child's report */
	S_RUNNING,	/* relaying */
	S_CLOSING,	/* EXIT or ERROR queued: sending what is left */
	S_LINGER,	/* all sent: waiting for the host to close */
	S_DONE,
};

/* Which of its descriptors a watch is (struct watch's tag). */
enum {
	W_SOCK,		/* the vsock stream */
	W_REPORT,	/* the child's setup report pipe */
	W_OUT0,		/* stdout pipe, or the PTY master (also stdin) */
	W_OUT1,		/* stderr pipe */
	W_IN,		/* stdin pipe */
};

struct session {
	struct agent *a;
	enum state state;
	struct watch w_sock, w_report, w_out[2], w_in;
	struct exec_seq seq;
	bool tty;

	int sock;
	bool sock_rd, sock_wr;

	pid_t pid;		/* > 0 once forked */
	bool reaped;
	int wstatus;
	int64_t exit_deadline;	/* reaped: grace for outputs held open */
	bool draining;		/* past it: only what is buffered */
	int64_t linger_deadline;
	int report;

	/* Outputs: [0] stdout or the PTY master, [1] stderr (pipes only). */
	int out[2];
	bool out_rd[2], out_eof[2];
	int drain_left[2];
	/* stdin: the pipe, or the PTY master (then == out[0], not owned). */
	int in;
	bool in_wr, in_dead, in_eof_pending;
	uint8_t *ibuf;		/* STDIN_DATA the command has not taken yet */
	size_t i_off, i_len;

	uint8_t rbuf[RBUF_SIZE];	/* bytes from the host, not yet decoded */
	size_t r_off, r_len;
	uint8_t obuf[OBUF_SIZE];	/* frames for the host */
	size_t o_off, o_len;
	struct frame_decoder dec;
};

/* Decoded messages are large (a request holds 2 x 1025 pointers); one at a
 * time is ever alive, so it is shared. */
static struct exec_msg msg;

/* Every fd of a session is registered with the loop (or -1). */
static void close_fd(struct session *s, int *fd)
{
	if (*fd >= 0)
		serve_close(s->a, *fd);
	*fd = -1;
}

static void session_event(struct watch *w, uint32_t events);

static int session_watch(struct session *s, int fd, struct watch *w, int tag)
{
	w->event = session_event;
	w->owner = s;
	w->tag = tag;
	return serve_watch(s->a, fd, w);
}

struct session *session_new(struct agent *a, int sock)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->a = a;
	s->state = S_REQUEST;
	s->sock = sock;
	s->report = s->in = s->out[0] = s->out[1] = -1;
	s->out_eof[0] = s->out_eof[1] = true;
	s->in_dead = true;
	exec_seq_init(&s->seq);
	frame_decoder_init(&s->dec, exec_type_to_guest);
	if (session_watch(s, sock, &s->w_sock, W_SOCK) < 0) {
		free(s);
		return NULL;
	}
	/* The host may already have written: look before the first event. */
	s->sock_rd = s->sock_wr = true;
	return s;
}

/* An epoll event for one of the session's descriptors. */
static void session_event(struct watch *w, uint32_t events)
{
	struct session *s = w->owner;
	bool in = events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP);
	bool out = events & (EPOLLOUT | EPOLLHUP | EPOLLERR);

	switch (w->tag) {
	case W_SOCK:
		s->sock_rd |= in;
		s->sock_wr |= out;
		break;
	case W_OUT0:
		s->out_rd[0] |= in;
		if (s->tty)
			s->in_wr |= out;
		break;
	case W_OUT1:
		s->out_rd[1] |= in;
		break;
	case W_IN:
		s->in_wr |= out;
		break;
	default:	/* W_REPORT: read whenever pumped in S_SPAWNING */
		break;
	}
}

pid_t session_pid(const struct session *s)
{
	return s->pid > 0 && !s->reaped ? s->pid : 0;
}

void session_child_exited(struct session *s, int wstatus)
{
	s->reaped = true;
	s->wstatus = wstatus;
	s->exit_deadline = clock_ms() + EXIT_GRACE_MS;
}

int64_t session_deadline(const struct session *s)
{
	if (s->state == S_LINGER)
		return s->linger_deadline;
	if (s->state == S_RUNNING && s->reaped && !s->draining)
		return s->exit_deadline;
	return -1;
}

/* SIGHUP to the command's process group, as a terminal hang-up does, and
 * SIGCONT so that a stopped job sees it. To the child itself too: before
 * its setsid() the group does not exist yet. */
static void hang_up(struct session *s)
{
	if (s->pid <= 0)
		return;
	kill(-s->pid, SIGHUP);
	kill(-s->pid, SIGCONT);
	if (!s->reaped)
		kill(s->pid, SIGHUP);
}

void session_free(struct session *s, bool hang)
{
	if (hang && (s->state == S_SPAWNING || s->state == S_RUNNING))
		hang_up(s);
	close_fd(s, &s->sock);
	close_fd(s, &s->report);
	if (s->in == s->out[0])
		s->in = -1;
	close_fd(s, &s->in);
	close_fd(s, &s->out[0]);
	close_fd(s, &s->out[1]);
	free(s->ibuf);
	free(s);
}

/* ---- frames for the host ---- */

/* Room at the end of obuf for need bytes, moving what is queued to the
 * front if that makes it fit. */
static bool obuf_room(struct session *s, size_t need)
{
	if (OBUF_SIZE - s->o_off - s->o_len >= need)
		return true;
	if (s->o_off) {
		memmove(s->obuf, s->obuf + s->o_off, s->o_len);
		s->o_off = 0;
	}
	return OBUF_SIZE - s->o_len >= need;
}

static uint8_t *obuf_tail(struct session *s)
{
	return s->obuf + s->o_off + s->o_len;
}

static void queue(struct session *s, int n)
{
	if (n > 0)
		s->o_len += (size_t)n;
}

/* Text for an ERROR frame: the decoder on the host refuses control bytes
 * and invalid UTF-8; paths and names from the request may hold anything.
 * Retried with every byte outside printable ASCII replaced. */
static void queue_error(struct session *s, uint16_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void queue_error(struct session *s, uint16_t code, const char *fmt, ...)
{
	char text[EXEC_MAX_ERROR_MSG + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!obuf_room(s, FRAME_HEADER_SIZE + 2 + sizeof(text)))
		return;		/* cannot happen: OBUF_RESERVE keeps it */
	n = exec_error_encode(obuf_tail(s), OBUF_SIZE - s->o_off - s->o_len,
			      code, text);
	if (n == -EINVAL) {
		for (char *c = text; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		n = exec_error_encode(obuf_tail(s),
				      OBUF_SIZE - s->o_off - s->o_len, code, text);
	}
	queue(s, n);
}

/* Ends the stream with ERROR. A command already started loses its host, as
 * on a hang-up. */
static void fail(struct session *s, uint16_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct session *s, uint16_t code, const char *fmt, ...)
{
	char text[EXEC_MAX_ERROR_MSG + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	queue_error(s, code, "%s", text);
	if (s->state == S_SPAWNING || s->state == S_RUNNING)
		hang_up(s);
	s->state = S_CLOSING;
}

/* ---- starting the command ---- */

static void start(struct session *s, const struct exec_request *req)
{
	char why[EXEC_MAX_ERROR_MSG + 1];
	struct spawn sp;
	int code;

	s->tty = req->flags & EXEC_REQ_TTY;
	s->a->commands_started = true;
	code = spawn_command(s->a, req, &sp, why, sizeof(why));
	if (code) {
		fail(s, (uint16_t)code, "%s", why);
		return;
	}
	s->pid = sp.pid;
	s->report = sp.report;
	s->state = S_SPAWNING;
	if (s->tty) {
		s->out[0] = s->in = sp.master;
		s->out_eof[0] = false;
	} else {
		s->in = sp.in;
		s->out[0] = sp.out;
		s->out[1] = sp.err;
		s->out_eof[0] = s->out_eof[1] = false;
	}
	s->in_dead = false;
	/* Registered now, events remembered until S_RUNNING reads them. */
	if (session_watch(s, s->report, &s->w_report, W_REPORT) < 0 ||
	    session_watch(s, s->out[0], &s->w_out[0], W_OUT0) < 0 ||
	    (!s->tty && (session_watch(s, s->out[1], &s->w_out[1], W_OUT1) < 0 ||
			 session_watch(s, s->in, &s->w_in, W_IN) < 0)))
		fail(s, EXEC_ERR_RESOURCES, "cannot watch the command's "
		     "descriptors: %s", strerror(errno));
	s->out_rd[0] = s->out_rd[1] = s->in_wr = true;
}

static bool check_started(struct session *s)
{
	char why[EXEC_MAX_ERROR_MSG + 1];
	int r = spawn_result(s->report, why, sizeof(why));

	if (r == -EAGAIN)
		return false;
	close_fd(s, &s->report);
	if (r > 0) {
		/* The child exits by itself; PID 1 reaps it. */
		queue_error(s, (uint16_t)r, "%s", why);
		s->state = S_CLOSING;
		return true;
	}
	obuf_room(s, FRAME_HEADER_SIZE + 8);	/* kept free by OBUF_RESERVE */
	queue(s, exec_started_encode(obuf_tail(s), OBUF_SIZE - s->o_off - s->o_len,
				     (uint32_t)s->pid));
	init_report(s->a->ctx, PVPORT_EV_CMD_STARTED, 0);
	s->state = S_RUNNING;
	return true;
}

/* ---- the command's side ---- */

static void stdin_close(struct session *s)
{
	if (s->in != s->out[0])
		close_fd(s, &s->in);
	s->in_dead = true;
	s->i_len = 0;
}

/* Data for the command's stdin: written now as far as it goes, the rest
 * kept (one frame at most: no more is decoded until it is taken). */
static void stdin_data(struct session *s, const uint8_t *p, size_t len)
{
	ssize_t n = 0;

	if (s->in_dead)
		return;		/* it closed its stdin: the data has nowhere to go */
	if (s->in_wr) {
		n = write(s->in, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			s->in_wr = errno == EINTR;
			n = 0;
		} else if (n < 0) {
			stdin_close(s);	/* EPIPE, or EIO from a hung-up PTY */
			return;
		}
	}
	if ((size_t)n == len)
		return;
	if (!s->ibuf && !(s->ibuf = malloc(FRAME_MAX_PAYLOAD))) {
		stdin_close(s);
		return;
	}
	memcpy(s->ibuf, p + n, len - (size_t)n);
	s->i_off = 0;
	s->i_len = len - (size_t)n;
}

static bool stdin_flush(struct session *s)
{
	bool progress = false;

	while (s->i_len && s->in_wr && !s->in_dead) {
		ssize_t n = write(s->in, s->ibuf + s->i_off, s->i_len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->in_wr = false;
			break;
		}
		if (n < 0) {
			stdin_close(s);
			return true;
		}
		s->i_off += (size_t)n;
		s->i_len -= (size_t)n;
		progress = true;
	}
	if (!s->i_len && s->in_eof_pending && !s->in_dead) {
		stdin_close(s);		/* pipes only: the command sees EOF */
		progress = true;
	}
	return progress;
}

static void output_eof(struct session *s, int i)
{
	s->out_eof[i] = true;
	/* The PTY master is also stdin: kept until the session ends. */
	if (!s->tty)
		close_fd(s, &s->out[i]);
}

/* One read from each output that has something, as a data frame. */
static bool outputs_read(struct session *s)
{
	static const uint8_t type[2] = { EXEC_MSG_STDOUT_DATA, EXEC_MSG_STDERR_DATA };
	bool progress = false;

	for (int i = 0; i < 2; i++) {
		size_t max;
		ssize_t n;

		if (s->out_eof[i] || !s->out_rd[i])
			continue;
		if (!obuf_room(s, OBUF_RESERVE + FRAME_HEADER_SIZE + 1))
			continue;	/* the host is behind: leave it in the pipe */
		max = OBUF_SIZE - s->o_off - s->o_len - OBUF_RESERVE - FRAME_HEADER_SIZE;
		if (max > FRAME_MAX_PAYLOAD)
			max = FRAME_MAX_PAYLOAD;
		if (s->draining && max > (size_t)s->drain_left[i])
			max = (size_t)s->drain_left[i];
		n = max ? read(s->out[i], obuf_tail(s) + FRAME_HEADER_SIZE, max) : 0;
		if (n > 0) {
			queue(s, exec_data_encode(obuf_tail(s),
						  OBUF_SIZE - s->o_off - s->o_len,
						  type[i], obuf_tail(s) + FRAME_HEADER_SIZE,
						  (size_t)n));
			if (s->draining)
				s->drain_left[i] -= (int)n;
			progress = true;
		} else if (n < 0 && errno == EAGAIN) {
			s->out_rd[i] = false;
		} else if (n < 0 && errno == EINTR) {
			progress = true;
		} else {
			/* 0: EOF, or the drain budget spent; EIO: a PTY whose
			 * every slave is closed, after its last byte. */
			output_eof(s, i);
			progress = true;
		}
	}
	return progress;
}

/* EXIT once the command's process has ended and its outputs are drained. */
static bool maybe_exit(struct session *s)
{
	struct exec_exit e = { 0 };

	if (!s->reaped)
		return false;
	if (!s->out_eof[0] || !s->out_eof[1]) {
		if (s->draining || clock_ms() < s->exit_deadline)
			return false;
		/* Held open by something else: relay only what is there. */
		s->draining = true;
		for (int i = 0; i < 2; i++) {
			int avail = 0;

			if (s->out_eof[i])
				continue;
			if (ioctl(s->out[i], FIONREAD, &avail) < 0 || avail <= 0)
				output_eof(s, i);
			else
				s->drain_left[i] = avail;
		}
		return true;
	}
	if (WIFSIGNALED(s->wstatus)) {
		e.signaled = true;
		e.core_dumped = WCOREDUMP(s->wstatus);
		e.value = (uint32_t)WTERMSIG(s->wstatus);
	} else {
		e.value = (uint32_t)WEXITSTATUS(s->wstatus);
	}
	obuf_room(s, FRAME_HEADER_SIZE + 8);	/* kept free by OBUF_RESERVE */
	queue(s, exec_exit_encode(obuf_tail(s), OBUF_SIZE - s->o_off - s->o_len, &e));
	s->state = S_CLOSING;
	return true;
}

/* ---- the host's side ---- */

static void host_gone(struct session *s)
{
	if (s->state == S_SPAWNING || s->state == S_RUNNING)
		hang_up(s);
	s->state = S_DONE;
}

static bool sock_flush(struct session *s)
{
	int r = sendq_flush(s->sock, s->obuf, &s->o_off, &s->o_len, &s->sock_wr);

	if (r < 0)
		host_gone(s);
	return r != 0;
}

static void handle(struct session *s, const struct frame *f)
{
	int r = exec_msg_decode(f->type, f->payload, f->len, &msg);

	if (r < 0) {
		if (f->type != EXEC_MSG_REQUEST)
			fail(s, EXEC_ERR_PROTOCOL, "malformed message of type "
			     "0x%02x: %s", f->type, strerror(-r));
		else if (r == -EPROTONOSUPPORT)
			fail(s, EXEC_ERR_VERSION, "airlock-init speaks exec "
			     "protocol %u, the request is version %u",
			     EXEC_PROTO_VERSION, msg.u.req.version);
		else
			fail(s, EXEC_ERR_REQUEST, "the request was refused: %s",
			     strerror(-r));
		return;
	}
	if (exec_seq_to_guest(&s->seq, &msg) < 0) {
		fail(s, EXEC_ERR_PROTOCOL, "message of type 0x%02x out of "
		     "order", f->type);
		return;
	}
	switch (msg.type) {
	case EXEC_MSG_REQUEST:
		start(s, &msg.u.req);
		break;
	case EXEC_MSG_STDIN_DATA:
		stdin_data(s, msg.u.data.data, msg.u.data.len);
		break;
	case EXEC_MSG_STDIN_EOF:
		/* On a PTY the user's ^D is the end of input, as data. */
		if (!s->tty)
			s->in_eof_pending = true;
		break;
	case EXEC_MSG_WINDOW_SIZE: {
		struct winsize ws = {
			.ws_row = msg.u.winsize.rows, .ws_col = msg.u.winsize.cols,
			.ws_xpixel = msg.u.winsize.xpixel,
			.ws_ypixel = msg.u.winsize.ypixel,
		};

		/* The kernel sends SIGWINCH to the foreground job. */
		if (s->out[0] >= 0)
			ioctl(s->out[0], TIOCSWINSZ, &ws);
		break;
	}
	case EXEC_MSG_SIGNAL:
		if (s->pid > 0)
			kill(-s->pid, (int)msg.u.signo);
		break;
	default:
		break;
	}
}

/* Reads and decodes while the command can take what comes; a few reads at
 * most per call, so one busy host does not starve the others. */
static bool sock_read(struct session *s)
{
	bool progress = false;
	int reads = 0;

	while (s->state <= S_RUNNING && s->i_len == 0) {
		const uint8_t *p;
		size_t left;
		struct frame f;
		int r;

		if (s->r_len == 0) {
			ssize_t n;

			if (!s->sock_rd || reads++ == 4)
				break;
			n = recv(s->sock, s->rbuf, sizeof(s->rbuf), MSG_DONTWAIT);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				s->sock_rd = false;
				break;
			}
			if (n <= 0) {
				/* The connection ended before EXIT. */
				host_gone(s);
				return true;
			}
			s->r_off = 0;
			s->r_len = (size_t)n;
		}
		p = s->rbuf + s->r_off;
		left = s->r_len;
		r = frame_decoder_next(&s->dec, &p, &left, &f);
		s->r_off += s->r_len - left;
		s->r_len = left;
		progress = true;
		if (r == -EPROTONOSUPPORT) {
			fail(s, EXEC_ERR_VERSION, "airlock-init speaks framing "
			     "version %u, the host %u: the CLI and the "
			     "initramfs are from different builds",
			     FRAME_VERSION, s->dec.peer_version);
		} else if (r < 0) {
			fail(s, EXEC_ERR_PROTOCOL, "malformed frame: %s",
			     strerror(-r));
		} else if (r > 0) {
			handle(s, &f);
		}
	}
	return progress;
}

/* After the end was sent: the host closes, or we do after a while. */
static bool linger(struct session *s)
{
	uint8_t scratch[4096];

	while (s->sock_rd) {
		ssize_t n = recv(s->sock, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->sock_rd = false;
			break;
		}
		if (n <= 0) {
			s->state = S_DONE;
			return true;
		}
		/* What the host still sends after EXIT is ignored. */
	}
	if (clock_ms() >= s->linger_deadline) {
		s->state = S_DONE;
		return true;
	}
	return false;
}

int session_pump(struct session *s, bool *more)
{
	bool progress = true;
	int rounds = 0;

	*more = false;
	while (progress && s->state != S_DONE) {
		if (rounds++ == PUMP_ROUNDS) {
			*more = true;
			break;
		}
		progress = sock_flush(s);
		if (s->state == S_SPAWNING)
			progress |= check_started(s);
		if (s->state == S_RUNNING) {
			progress |= stdin_flush(s);
			progress |= outputs_read(s);
			progress |= maybe_exit(s);
		}
		if (s->state <= S_RUNNING)
			progress |= sock_read(s);
		if (s->state == S_CLOSING && s->o_len == 0) {
			/* The host reads EOF after the last frame. */
			shutdown(s->sock, SHUT_WR);
			s->state = S_LINGER;
			s->linger_deadline = clock_ms() + LINGER_MS;
			progress = true;
		}
		if (s->state == S_LINGER)
			progress |= linger(s);
	}
	return s->state == S_DONE;
}
