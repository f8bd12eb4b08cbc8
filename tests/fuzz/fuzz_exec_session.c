/* libFuzzer target for airlock-init's exec sessions (guest/session.c), the
 * code that acts on what a hostile host sends on an exec stream. The real
 * session code runs over a socketpair, with the command replaced by pipes
 * this target holds (spawn_command() and spawn_result() are stubbed, kill()
 * is wrapped away at link time). The first input byte picks how the command
 * behaves and how the stream starts (bit 0: the command cannot start;
 * 1: the stream begins with a well-formed request for it, 4: on a TTY;
 * 2: the host shuts its side at the end of the input; 3: the command reads
 * its stdin; 5-6: when it ends; 7: killed rather than exit 3); the rest is
 * the host's byte stream, fed in chunks between pumps.
 *
 * Besides ASan/UBSan finding nothing, everything the session sends back
 * must decode with the host's decoder and follow the order the host
 * checks (exec_seq_to_host()), whatever the host sent. */
#include "guest/serve.h"
#include "lib/clock.h"
#include "proto/exec.h"
#include "proto/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int __wrap_kill(pid_t pid, int sig);

#define MAX_WATCHES 8
#define FAKE_PID 4242

static struct {
	uint8_t mode;
	int cmd_in, cmd_out, cmd_err;	/* the "command's" ends */
	bool spawned;
	struct watch *watches[MAX_WATCHES];
	int nwatches;
} fx;

/* The host's decoder and order check. */
static struct frame_decoder dec;
static struct exec_seq seq;
static struct exec_msg msg;

/* ---- stubs for what the session calls outside session.c ---- */

int __wrap_kill(pid_t pid, int sig)
{
	(void)pid;
	(void)sig;
	return 0;	/* nothing to signal: the command is pretend */
}

int64_t clock_ms(void)
{
	static int64_t t;

	return t += 100;	/* time flies: every deadline comes */
}

void serve_close(struct agent *a, int fd)
{
	(void)a;
	if (fd >= 0)
		close(fd);
}

int serve_watch(struct agent *a, int fd, struct watch *w)
{
	(void)a;
	(void)fd;
	if (fx.nwatches < MAX_WATCHES)
		fx.watches[fx.nwatches++] = w;
	return 0;
}

void init_report(const struct init_ctx *ctx, enum pvport_event ev, uint32_t arg)
{
	(void)ctx;
	(void)ev;
	(void)arg;
}

static int nonblocking_pipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

int spawn_command(const struct agent *a, const struct exec_request *req,
		  struct spawn *sp, char *why, size_t size)
{
	struct exec_msg m = { .type = EXEC_MSG_REQUEST };
	int in[2], out[2], err[2], rep[2];

	(void)a;
	*sp = (struct spawn){ .pid = -1, .report = -1, .master = -1,
			      .in = -1, .out = -1, .err = -1 };
	/* From now on the host's order check knows what was asked for. */
	m.u.req.flags = req->flags;
	if (exec_seq_to_guest(&seq, &m) != 0)
		abort();	/* a second command on one stream */
	if (fx.mode & 1) {
		/* Text a host must not print as it is: the session fixes it. */
		snprintf(why, size, "cannot run 'x': \xff not UTF-8 \x1b[31m");
		return EXEC_ERR_NOT_FOUND;
	}
	if (nonblocking_pipe(in) || nonblocking_pipe(out) || nonblocking_pipe(err) ||
	    nonblocking_pipe(rep))
		abort();
	close(rep[1]);		/* "exec'd": the report pipe reads EOF */
	sp->pid = FAKE_PID;
	sp->report = rep[0];
	if (req->flags & EXEC_REQ_TTY) {
		/* One descriptor both ways, as a PTY master is. */
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			       0, sv) < 0)
			abort();
		sp->master = sv[0];
		fx.cmd_in = fx.cmd_out = sv[1];
		for (int i = 0; i < 2; i++) {
			close(in[i]);
			close(out[i]);
			close(err[i]);
		}
	} else {
		sp->in = in[1];
		sp->out = out[0];
		sp->err = err[0];
		fx.cmd_in = in[0];
		fx.cmd_out = out[1];
		fx.cmd_err = err[1];
	}
	fx.spawned = true;
	return 0;
}

int spawn_result(int report, char *why, size_t size)
{
	char c;

	(void)why;
	(void)size;
	return read(report, &c, 1) < 0 && errno == EAGAIN ? -EAGAIN : 0;
}

/* ---- the host's side ---- */

static void host_read(int fd)
{
	uint8_t buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		const uint8_t *p = buf;
		size_t left = (size_t)n;
		struct frame f;
		int r;

		while ((r = frame_decoder_next(&dec, &p, &left, &f)) > 0) {
			if (exec_msg_decode(f.type, f.payload, f.len, &msg) != 0 ||
			    exec_seq_to_host(&seq, &msg) != 0)
				abort();	/* the guest broke the protocol */
		}
		if (r < 0)
			abort();
	}
}

static void events(void)
{
	for (int i = 0; i < fx.nwatches; i++)
		fx.watches[i]->event(fx.watches[i], 0x1 /* EPOLLIN */ | 0x4 /* EPOLLOUT */);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct init_ctx ctx = { .con = -1, .null = -1, .out = -1, .upper_fd = -1 };
	static struct init_params params;
	static struct init_user user;
	static struct agent agent;
	struct session *s;
	size_t pos = 1;
	bool done = false, more;
	int sv[2], round = 0;

	if (size < 1)
		return 0;
	memset(&fx, 0, sizeof(fx));
	fx.cmd_in = fx.cmd_out = fx.cmd_err = -1;
	fx.mode = data[0];
	agent = (struct agent){ .ctx = &ctx, .params = &params, .user = &user };
	frame_decoder_init(&dec, exec_type_to_host);
	exec_seq_init(&seq);	/* the request is fed in when it is acted on */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	s = session_new(&agent, sv[0]);
	if (!s)
		abort();
	if (fx.mode & 2) {
		/* Past the request, so the fuzzer works on what follows it. */
		static struct exec_request r;
		static const char *const argv[] = { "cat", NULL };
		uint8_t buf[256];
		int n;

		r.flags = fx.mode & 0x10 ? EXEC_REQ_TTY : 0;
		r.winsize = (struct exec_winsize){ fx.mode & 0x10 ? 24 : 0,
						   fx.mode & 0x10 ? 80 : 0, 0, 0 };
		r.argc = 1;
		r.argv[0] = argv[0];
		r.cwd = "";
		r.user = "";
		n = exec_request_encode(buf, sizeof(buf), &r);
		if (n < 0 || write(sv[1], buf, (size_t)n) != n)
			abort();
	}
	while (!done && round++ < 256) {
		size_t chunk = size - pos < 97 ? size - pos : 97;

		if (chunk && write(sv[1], data + pos, chunk) > 0)
			pos += chunk;
		else if (pos == size && (fx.mode & 4))
			shutdown(sv[1], SHUT_WR);	/* the host goes away */
		if (fx.spawned) {
			/* The command writes a little and maybe reads (on a
			 * TTY, even after it "ended": a background process). */
			if (fx.cmd_out >= 0 && write(fx.cmd_out, "out", 3) < 0) {
				/* full: the session is behind */
			}
			if (fx.cmd_err >= 0 && write(fx.cmd_err, "err", 3) < 0) {
				/* likewise */
			}
			if (fx.mode & 8) {
				char scratch[4096];

				while (read(fx.cmd_in, scratch, sizeof(scratch)) > 0)
					;
			}
			if (round == 8 + ((fx.mode >> 5) & 3) * 8) {
				session_child_exited(s, fx.mode & 0x80 ? 9 : 3 << 8);
				if (fx.cmd_err >= 0)
					close(fx.cmd_err);
				if (fx.cmd_out != fx.cmd_in) {
					close(fx.cmd_out);
					fx.cmd_out = -1;
				}
				fx.cmd_err = -1;
			}
		}
		events();
		done = session_pump(s, &more);
		host_read(sv[1]);
		if (pos == size && !more && round > 64)
			shutdown(sv[1], SHUT_WR);
	}
	session_free(s, true);
	close(sv[1]);
	if (fx.cmd_in >= 0)
		close(fx.cmd_in);
	if (fx.cmd_out >= 0 && fx.cmd_out != fx.cmd_in)
		close(fx.cmd_out);
	if (fx.cmd_err >= 0)
		close(fx.cmd_err);
	return 0;
}
