/* Host side of an exec stream and of the control port: see exec.h. One poll
 * loop over the stream, this process's stdio and a signalfd. Every buffer is
 * bounded: stdin is read only while the frames for the guest fit, the stream
 * only while stdout and stderr have taken what came before, so a slow reader
 * on either side slows the other down instead of filling memory. What goes
 * to a terminal passes the terminal filter (lib/termfilter.h), and the
 * terminal is given back as it was however the session ends. */
#include "tools/airlock/exec.h"
#include "tools/airlock/localtty.h"
#include "tools/airlock/tilde.h"
#include "lib/clock.h"
#include "lib/vsock_client.h"
#include "lib/termfilter.h"

#include "proto/control.h"
#include "proto/exec.h"
#include "proto/frame.h"
#include "proto/ports.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Frames for the guest: the request (one frame) and room to read stdin. */
#define SOCKOUT_SIZE (4u * FRAME_MAX_SIZE)
/* Output decoded but not yet written: the stream is not read past this.
 * A frame's payload can grow 3x through the terminal filter. */
#define OUT_HIGH (256u * 1024)
#define OUT_SIZE (OUT_HIGH + TERMFILTER_OUT_MAX(FRAME_MAX_PAYLOAD) + TILDE_HELP_MAX)
/* A write to a terminal after POLLOUT that never blocks for long. */
#define TTY_CHUNK 4096u
/* A second SIGINT or SIGTERM this soon after the first ends the session
 * here instead of being forwarded. */
#define SECOND_SIGNAL_MS 3000
/* Exit status after ~. (as ssh). */
#define STATUS_TILDE 255
/* Between RESUME attempts a restored guest refused (see exec_resume). */
#define RESUME_RETRY_MS 10

static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

struct buf {
	uint8_t *p;
	size_t off, len, cap;
};

struct run {
	const struct exec_opts *o;
	bool tty;		/* the command runs on a PTY */
	int sock;
	int sigfd;
	sigset_t oldmask;
	struct sigaction oldpipe;
	bool sigs_set;
	struct localtty lt;	/* the user's terminal */
	int oldfl[3];		/* fd flags to restore, -1: untouched */

	struct frame_decoder *dec;
	struct exec_seq seq;
	uint8_t *rbuf;
	size_t r_off, r_len;
	struct buf sockout;
	struct buf out[2];	/* stdout, stderr */
	bool out_dead[2];	/* EPIPE: discarded from then on */
	bool out_cut[2];	/* output dropped, maybe inside a sequence */
	bool stdin_open;
	uint64_t pending_sigs;	/* bit N-1: SIGNAL N to send */
	bool pending_winsize;

	bool tilde_on;		/* ~. works: a TTY session on a raw terminal */
	struct tilde tilde;
	uint8_t *inbuf;		/* keys read, before the ~ escape */
	int64_t first_sig_ms;	/* the last SIGINT/SIGTERM forwarded, or 0 */
	int local_end;		/* 0, or the signal or '~' that ended it here */

	bool ended;
	int status;
	int err;		/* -errno of a failure, with msg */
	char msg[600];
};

/* The first failure wins; printed once the terminal is restored. */
static int failed(struct run *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int failed(struct run *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->err)
		return r->err;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->err = err;
	return err;
}

/* ---- the request ---- */

static bool all_digits(const char *s)
{
	if (!*s || strlen(s) > 10)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static void get_winsize(struct exec_winsize *w)
{
	struct winsize ws;

	*w = (struct exec_winsize){ 0 };
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 || ioctl(1, TIOCGWINSZ, &ws) == 0)
		*w = (struct exec_winsize){ ws.ws_row, ws.ws_col, ws.ws_xpixel,
					    ws.ws_ypixel };
}

/* Encodes the request into r->sockout, saying what is wrong if it cannot. */
static int build_request(struct run *r, const struct exec_opts *o)
{
	static char *const login[] = { "/bin/sh", "-c", "exec \"$SHELL\" -l", NULL };
	static char term[256];
	char *const *argv = o->argv && o->argv[0] ? o->argv : login;
	struct exec_request *req;
	bool have_term = false;
	const char *t;
	int n, ret = 0;

	req = calloc(1, sizeof(*req));
	if (!req)
		return failed(r, -ENOMEM, "out of memory");
	req->cwd = o->cwd ? o->cwd : "";
	req->user = "";
	if (o->user && all_digits(o->user) && strtoul(o->user, NULL, 10) < UINT32_MAX) {
		req->flags |= EXEC_REQ_UID;
		req->uid = (uint32_t)strtoul(o->user, NULL, 10);
	} else if (o->user) {
		req->user = o->user;
	}
	if (r->tty) {
		req->flags |= EXEC_REQ_TTY;
		get_winsize(&req->winsize);
	}
	for (; argv[req->argc]; req->argc++) {
		if (req->argc == EXEC_MAX_ARGS) {
			ret = failed(r, -E2BIG, "more than %u arguments",
				     EXEC_MAX_ARGS);
			goto out;
		}
		req->argv[req->argc] = argv[req->argc];
	}
	if (!argv[0][0]) {
		ret = failed(r, -EINVAL, "the command name is empty");
		goto out;
	}
	for (size_t i = 0; o->env && o->env[i]; i++) {
		const char *eq = strchr(o->env[i], '=');

		if (!eq || eq == o->env[i]) {
			ret = failed(r, -EINVAL, "bad environment entry '%s': "
				     "want NAME=VALUE", o->env[i]);
			goto out;
		}
		if (req->envc == EXEC_MAX_ENV) {
			ret = failed(r, -E2BIG, "more than %u environment "
				     "entries", EXEC_MAX_ENV);
			goto out;
		}
		have_term |= strncmp(o->env[i], "TERM=", 5) == 0;
		req->envp[req->envc++] = o->env[i];
	}
	/* The one thing a TTY brings from the host: how to talk to it. */
	t = getenv("TERM");
	if (r->tty && !have_term && t && *t && req->envc < EXEC_MAX_ENV &&
	    snprintf(term, sizeof(term), "TERM=%s", t) < (int)sizeof(term))
		req->envp[req->envc++] = term;
	if (req->cwd[0] && req->cwd[0] != '/') {
		ret = failed(r, -EINVAL, "the working directory '%s' is not "
			     "an absolute path", req->cwd);
		goto out;
	}
	n = exec_request_encode(r->sockout.p, r->sockout.cap, req);
	if (n == -E2BIG)
		ret = failed(r, -E2BIG, "the command, its environment and "
			     "working directory do not fit in one request "
			     "(%u bytes): pass long input on stdin instead",
			     FRAME_MAX_PAYLOAD);
	else if (n < 0 && req->user[0])
		ret = failed(r, n, "bad user name '%s': want up to %u of "
			     "[A-Za-z0-9._-], not starting with '-'", req->user,
			     EXEC_MAX_USER);
	else if (n < 0)
		ret = failed(r, n, "cannot encode the request: %s", strerror(-n));
	else
		r->sockout.len = (size_t)n;
out:
	free(req);
	return ret;
}

/* ---- this process's side ---- */

static int setup_signals(struct run *r)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, SIGCONT);
	if (sigprocmask(SIG_BLOCK, &set, &r->oldmask) < 0)
		return -errno;
	r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r->sigfd < 0) {
		int err = -errno;

		sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
		return err;
	}
	/* A closed stdout is an EPIPE to handle, not a death. */
	sigaction(SIGPIPE, &ign, &r->oldpipe);
	r->sigs_set = true;
	return 0;
}

static void restore_signals(struct run *r)
{
	struct signalfd_siginfo si;

	if (!r->sigs_set)
		return;
	/* Signals taken while we ran were handled (forwarded): drained,
	 * so that unblocking them does not deliver them again. */
	while (read(r->sigfd, &si, sizeof(si)) > 0)
		;
	close(r->sigfd);
	sigaction(SIGPIPE, &r->oldpipe, NULL);
	sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
	r->sigs_set = false;
}

/* The session ends here, not in the guest: by ~. or a second signal.
 * Output not yet written is dropped (the user asked to get out; the
 * terminal may be what is stuck). */
static void end_locally(struct run *r, int how)
{
	if (r->local_end)
		return;
	r->local_end = how;
	for (int i = 0; i < 2; i++) {
		r->out_cut[i] |= r->out[i].len > 0;
		r->out[i].off = r->out[i].len = 0;
	}
	if (r->ended)
		return;		/* the command's own status stands */
	r->ended = true;
	r->status = how == '~' ? STATUS_TILDE : 128 + how;
	snprintf(r->msg, sizeof(r->msg), "session ended by %s; the command "
		 "in the sandbox is hung up", how == '~' ? "~." :
		 how == SIGINT ? "a second SIGINT within 3 s" :
		 "a second SIGTERM within 3 s");
}

/* Pipes and files are made non-blocking (terminals are shared with the
 * shell and stay as they are: poll, then a write that fits). */
static void set_nonblocking_stdio(struct run *r)
{
	for (int fd = 0; fd < 3; fd++) {
		int fl;

		r->oldfl[fd] = -1;
		if (isatty(fd) || (fl = fcntl(fd, F_GETFL)) < 0)
			continue;
		if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
			r->oldfl[fd] = fl;
	}
}

static void restore_stdio(struct run *r)
{
	for (int fd = 0; fd < 3; fd++)
		if (r->oldfl[fd] >= 0)
			fcntl(fd, F_SETFL, r->oldfl[fd]);
}

/* ---- frames ---- */

static size_t sockout_room(struct run *r)
{
	struct buf *b = &r->sockout;

	if (b->off && b->cap - b->off - b->len < FRAME_MAX_SIZE) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	return b->cap - b->off - b->len;
}

static uint8_t *sockout_tail(struct run *r)
{
	return r->sockout.p + r->sockout.off + r->sockout.len;
}

/* Signals and the window size go out as soon as there is room. */
static void queue_control(struct run *r)
{
	while (!r->ended && (r->pending_sigs || r->pending_winsize) &&
	       sockout_room(r) >= 64) {
		int n;

		if (r->pending_sigs) {
			int sig = __builtin_ctzll(r->pending_sigs) + 1;

			r->pending_sigs &= ~(1ull << (sig - 1));
			n = exec_signal_encode(sockout_tail(r), sockout_room(r),
					       (uint32_t)sig);
		} else {
			struct exec_winsize ws;

			r->pending_winsize = false;
			get_winsize(&ws);
			n = exec_winsize_encode(sockout_tail(r), sockout_room(r), &ws);
		}
		if (n > 0)
			r->sockout.len += (size_t)n;
	}
}

/* Text of ours for the terminal, after the guest's output (which ends
 * between sequences: the filter holds a partial one back). */
static void say_on_tty(struct run *r, const char *text)
{
	struct buf *b = &r->out[0];
	size_t len = strlen(text);

	if (!r->lt.out_tty[0] || r->out_dead[0] || b->cap - b->off - b->len < len)
		return;
	memcpy(b->p + b->off + b->len, text, len);
	b->len += len;
}

/* Keys typed while the guest has not taken the last 256 KiB of them: with
 * the ~ escape, still read, so that ~. works whatever the guest does, and
 * dropped, as a full terminal input queue drops them. */
static void scan_keys_only(struct run *r)
{
	uint8_t in[1024], out[sizeof(in) + 1];
	unsigned int act;
	ssize_t n = read(0, in, sizeof(in));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* The terminal went away. Its end would be STDIN_EOF, which
		 * the guest ignores on a TTY: no more reading. */
		r->stdin_open = false;
		return;
	}
	tilde_scan(&r->tilde, in, (size_t)n, out, &act);
	if (act & TILDE_HELP)
		say_on_tty(r, tilde_help);
	if (act & TILDE_END)
		end_locally(r, '~');
}

static void read_stdin(struct run *r)
{
	size_t room = sockout_room(r), max;
	uint8_t *dst;
	ssize_t n;

	if (room < FRAME_HEADER_SIZE + 64 + 2) {
		if (r->tilde_on)
			scan_keys_only(r);
		return;
	}
	max = room - FRAME_HEADER_SIZE - 64;	/* 64: kept for SIGNAL */
	if (max > FRAME_MAX_PAYLOAD)
		max = FRAME_MAX_PAYLOAD;
	dst = sockout_tail(r) + FRAME_HEADER_SIZE;
	/* With the ~ escape, keys are read beside and what is not an
	 * escape copied in: one ~ held from before may come out too. */
	n = r->tilde_on ? read(0, r->inbuf, max - 1) : read(0, dst, max);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && r->tilde_on) {
		unsigned int act;

		n = (ssize_t)tilde_scan(&r->tilde, r->inbuf, (size_t)n, dst, &act);
		if (act & TILDE_HELP)
			say_on_tty(r, tilde_help);
		if (act & TILDE_END) {
			end_locally(r, '~');
			return;
		}
		if (n == 0)
			return;
	}
	if (n > 0) {
		n = exec_data_encode(sockout_tail(r), room, EXEC_MSG_STDIN_DATA,
				     dst, (size_t)n);
		if (n > 0)
			r->sockout.len += (size_t)n;
		return;
	}
	/* End of input (or a terminal that went away: EIO). On a TTY the
	 * guest ignores STDIN_EOF; ^D is what ends input there. */
	r->stdin_open = false;
	n = exec_stdin_eof_encode(sockout_tail(r), room);
	if (n > 0)
		r->sockout.len += (size_t)n;
}

static void write_out(struct run *r, int i)
{
	struct buf *b = &r->out[i];
	size_t len = b->len;
	ssize_t n;

	if (r->lt.out_tty[i] && len > TTY_CHUNK)
		len = TTY_CHUNK;
	n = write(i + 1, b->p + b->off, len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* Nobody reads it any more. As a local command would get
		 * SIGPIPE, the guest's gets it, and its output goes nowhere. */
		if (n < 0 && errno != EPIPE)
			failed(r, -errno, "cannot write to %s: %s",
			       i ? "stderr" : "stdout", strerror(errno));
		r->out_dead[i] = true;
		b->off = b->len = 0;
		if (i == 0)
			r->pending_sigs |= 1ull << (SIGPIPE - 1);
		return;
	}
	b->off += (size_t)n;
	b->len -= (size_t)n;
	if (!b->len)
		b->off = 0;
}

static void append_out(struct run *r, int i, const uint8_t *p, size_t len)
{
	struct buf *b = &r->out[i];
	size_t need = r->lt.filt[i] ? TERMFILTER_OUT_MAX(len) : len;

	if (r->out_dead[i])
		return;
	if (b->off && b->cap - b->off - b->len < need) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	/* Cannot overflow: decoding stops at OUT_HIGH, a frame adds 64 KiB,
	 * 3x that through the filter. */
	if (r->lt.filt[i]) {
		b->len += termfilter_feed(r->lt.filt[i], p, len, b->p + b->off + b->len);
		return;
	}
	memcpy(b->p + b->off + b->len, p, len);
	b->len += len;
}

static int exit_status_of_error(uint16_t code)
{
	switch (code) {
	case EXEC_ERR_NOT_FOUND:
		return 127;
	case EXEC_ERR_NOT_EXEC:
		return 126;
	default:
		return 125;
	}
}

static int handle_frame(struct run *r, const struct frame *f)
{
	static struct exec_msg m;
	int ret = exec_msg_decode(f->type, f->payload, f->len, &m);

	if (ret < 0)
		return failed(r, -EPROTO, "airlock-init sent a malformed message "
			      "(type 0x%02x: %s)", f->type, strerror(-ret));
	if (exec_seq_to_host(&r->seq, &m) < 0)
		return failed(r, -EPROTO, "airlock-init sent a message out of "
			      "order (type 0x%02x)", f->type);
	switch (m.type) {
	case EXEC_MSG_STDOUT_DATA:
		append_out(r, 0, m.u.data.data, m.u.data.len);
		break;
	case EXEC_MSG_STDERR_DATA:
		append_out(r, 1, m.u.data.data, m.u.data.len);
		break;
	case EXEC_MSG_EXIT:
		r->ended = true;
		r->status = exec_exit_status(&m.u.exit);
		break;
	case EXEC_MSG_ERROR:
		r->ended = true;
		r->status = exit_status_of_error(m.u.error.code);
		/* Checked by the decoder: UTF-8 without control characters. */
		snprintf(r->msg, sizeof(r->msg), "%s", m.u.error.msg[0]
			 ? m.u.error.msg : exec_error_name(m.u.error.code));
		break;
	default:	/* STARTED */
		if (r->o->started)
			r->o->started(r->o->started_arg);
		break;
	}
	return 0;
}

static int read_sock(struct run *r)
{
	int reads = 0;

	while (!r->ended && r->out[0].len < OUT_HIGH && r->out[1].len < OUT_HIGH) {
		const uint8_t *p;
		size_t left;
		struct frame f;
		int ret;

		if (r->r_len == 0) {
			ssize_t n;

			if (reads++)
				return 0;	/* one read per poll round */
			n = recv(r->sock, r->rbuf, FRAME_MAX_SIZE, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n <= 0)
				return failed(r, -ECONNRESET, "the connection to "
					      "the sandbox ended before the "
					      "command did (did the VM stop?)");
			r->r_off = 0;
			r->r_len = (size_t)n;
		}
		p = r->rbuf + r->r_off;
		left = r->r_len;
		ret = frame_decoder_next(r->dec, &p, &left, &f);
		r->r_off += r->r_len - left;
		r->r_len = left;
		if (ret == -EPROTONOSUPPORT)
			return failed(r, ret, "airlock-init speaks framing "
				      "version %u, this airlock %u: the CLI and "
				      "the initramfs are from different builds",
				      r->dec->peer_version, FRAME_VERSION);
		if (ret < 0)
			return failed(r, -EPROTO, "airlock-init sent malformed "
				      "data (%s)", strerror(-ret));
		if (ret > 0 && (ret = handle_frame(r, &f)) < 0)
			return ret;
	}
	return 0;
}

static int write_sock(struct run *r)
{
	struct buf *b = &r->sockout;
	ssize_t n = send(r->sock, b->p + b->off, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0)
		return failed(r, -ECONNRESET, "the connection to the sandbox "
			      "was lost (%s)", strerror(errno));
	b->off += (size_t)n;
	b->len -= (size_t)n;
	if (!b->len)
		b->off = 0;
	return 0;
}

static void read_signals(struct run *r)
{
	struct signalfd_siginfo si;

	while (read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		int sig = (int)si.ssi_signo;

		if (sig == SIGWINCH) {
			r->pending_winsize = r->tty;
		} else if (sig == SIGCONT) {
			/* Back from a stop: the shell may have reset the
			 * terminal meanwhile. */
			localtty_raw_again(&r->lt);
			r->pending_winsize = r->tty;
		} else if (sig == SIGINT || sig == SIGTERM) {
			/* The first is the command's; a second within 3 s
			 * means the user wants out, whatever the guest does. */
			int64_t now = clock_ms();

			if (r->first_sig_ms && now - r->first_sig_ms <= SECOND_SIGNAL_MS) {
				end_locally(r, sig);
				return;
			}
			r->first_sig_ms = now;
			r->pending_sigs |= 1ull << (sig - 1);
		} else if (sig >= 1 && sig <= 64) {
			r->pending_sigs |= 1ull << (sig - 1);
		}
	}
}

static int loop(struct run *r)
{
	for (;;) {
		struct pollfd pfd[5];
		int np = 0, isock = -1, iin = -1, iout[2] = { -1, -1 }, ret;
		bool out_pending = false;

		queue_control(r);
		for (int i = 0; i < 2; i++)
			out_pending |= r->out[i].len > 0;
		if (r->ended && !out_pending)
			return 0;

		pfd[np] = (struct pollfd){ .fd = r->sigfd, .events = POLLIN };
		np++;
		if (!r->ended) {
			short ev = 0;

			if (r->out[0].len < OUT_HIGH && r->out[1].len < OUT_HIGH)
				ev |= POLLIN;
			if (r->sockout.len)
				ev |= POLLOUT;
			isock = np;
			pfd[np++] = (struct pollfd){ .fd = r->sock, .events = ev };
			if (r->stdin_open && (r->tilde_on ||
					      sockout_room(r) >= FRAME_MAX_SIZE)) {
				iin = np;
				pfd[np++] = (struct pollfd){ .fd = 0, .events = POLLIN };
			}
		}
		for (int i = 0; i < 2; i++) {
			if (!r->out[i].len)
				continue;
			iout[i] = np;
			pfd[np++] = (struct pollfd){ .fd = i + 1, .events = POLLOUT };
		}
		/* Data already read from the stream is decoded first, once
		 * there is room for what it holds. */
		ret = poll(pfd, (nfds_t)np, r->r_len && !r->ended &&
			   r->out[0].len < OUT_HIGH && r->out[1].len < OUT_HIGH
			   ? 0 : -1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return failed(r, -errno, "poll: %s", strerror(errno));

		/* Before this round's stdin: a resize made before a key was
		 * typed reaches the guest before that key. */
		if (pfd[0].revents) {
			read_signals(r);
			queue_control(r);
		}
		for (int i = 0; i < 2; i++)
			if (iout[i] >= 0 && pfd[iout[i]].revents)
				write_out(r, i);
		if (isock >= 0 && (pfd[isock].revents & POLLOUT) &&
		    (ret = write_sock(r)) < 0)
			return ret;
		if (isock >= 0 && ((pfd[isock].revents & ~POLLOUT) || r->r_len) &&
		    (ret = read_sock(r)) < 0)
			return ret;
		if (iin >= 0 && pfd[iin].revents && !r->ended)
			read_stdin(r);
	}
}

int exec_run(const char *vsock_path, const struct exec_opts *o, int timeout_ms,
	     bool (*alive)(void *arg), void *arg)
{
	struct run *r = calloc(1, sizeof(*r));
	int ret;

	if (!r) {
		fprintf(stderr, "airlock: out of memory\n");
		return -ENOMEM;
	}
	r->o = o;
	r->sock = r->sigfd = -1;
	r->oldfl[0] = r->oldfl[1] = r->oldfl[2] = -1;
	r->stdin_open = true;
	r->tty = o->tty < 0 ? isatty(0) && isatty(1) : o->tty > 0;
	localtty_init(&r->lt);
	r->sockout = (struct buf){ .p = malloc(SOCKOUT_SIZE), .cap = SOCKOUT_SIZE };
	r->out[0] = (struct buf){ .p = malloc(OUT_SIZE), .cap = OUT_SIZE };
	r->out[1] = (struct buf){ .p = malloc(OUT_SIZE), .cap = OUT_SIZE };
	r->rbuf = malloc(FRAME_MAX_SIZE);
	r->inbuf = malloc(FRAME_MAX_PAYLOAD);
	r->dec = malloc(sizeof(*r->dec));
	if (!r->sockout.p || !r->out[0].p || !r->out[1].p || !r->rbuf ||
	    !r->inbuf || !r->dec) {
		ret = failed(r, -ENOMEM, "out of memory");
		goto out;
	}
	frame_decoder_init(r->dec, exec_type_to_host);
	exec_seq_init(&r->seq);
	{
		/* The host's own request decides what the guest may send. */
		struct exec_msg req = { .type = EXEC_MSG_REQUEST };

		req.u.req.flags = r->tty ? EXEC_REQ_TTY : 0;
		exec_seq_to_guest(&r->seq, &req);
	}
	ret = build_request(r, o);
	if (ret < 0)
		goto out;

	r->sock = vsock_connect(vsock_path, AIRLOCK_VSOCK_PORT_EXEC, timeout_ms,
				alive, arg);
	if (r->sock == -ESRCH) {
		ret = failed(r, -ESRCH, "the sandbox VM ended before its exec "
			     "service was ready (see its console log)");
		goto out;
	}
	if (r->sock < 0) {
		ret = failed(r, r->sock, "cannot reach the sandbox's exec service "
			     "through %s within %d ms: %s", vsock_path,
			     timeout_ms, strerror(-r->sock));
		goto out;
	}
	ret = setup_signals(r);
	if (ret < 0) {
		failed(r, ret, "cannot set up signal handling: %s", strerror(-ret));
		goto out;
	}
	if (r->tty)
		localtty_raw(&r->lt);
	ret = localtty_filters(&r->lt, r->tty);
	/* ~. works in a TTY session on a raw terminal. */
	r->tilde_on = r->tty && r->lt.raw;
	tilde_init(&r->tilde);
	if (ret < 0) {
		failed(r, ret, "out of memory");
		goto out;
	}
	set_nonblocking_stdio(r);
	ret = loop(r);
	if (ret == 0)
		ret = r->status;
out:
	restore_stdio(r);
	{
		bool cut[2] = { r->out[0].len || r->out_cut[0], r->out[1].len || r->out_cut[1] };

		localtty_restore(&r->lt, cut, r->out_dead);
	}
	restore_signals(r);
	if (o->ended_locally)
		*o->ended_locally = r->local_end != 0;
	if (r->sock >= 0)
		close(r->sock);
	/* After the terminal is itself again, so the message reads right. */
	if (r->msg[0])
		fprintf(stderr, "airlock: %s\n", r->msg);
	free(r->sockout.p);
	free(r->out[0].p);
	free(r->out[1].p);
	free(r->rbuf);
	free(r->inbuf);
	free(r->dec);
	localtty_free(&r->lt);
	free(r);
	return ret;
}

/* One request on the control port, answered with ACK. */
static int control_request(const char *vsock_path, const struct control_msg *req,
			   int timeout_ms, bool (*alive)(void *arg), void *arg)
{
	struct control_msg m;
	static struct frame_decoder dec;
	int64_t deadline = clock_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	uint8_t buf[FRAME_HEADER_SIZE + CONTROL_RESUME_LEN];
	ssize_t sent;
	int fd, n, ret = -ECONNRESET;

	fd = vsock_connect(vsock_path, AIRLOCK_VSOCK_PORT_CONTROL, timeout_ms,
			   alive, arg);
	if (fd < 0)
		return fd;
	n = control_msg_encode(buf, sizeof(buf), req);
	sent = n < 0 ? -1 : send(fd, buf, (size_t)n, MSG_NOSIGNAL);
	/* RESUME's seed is the guest's secret: no copy stays here. */
	explicit_bzero(buf, sizeof(buf));
	if (n < 0 || sent != n) {
		close(fd);
		return n < 0 ? n : -ECONNRESET;
	}
	frame_decoder_init(&dec, control_type_to_host);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - clock_ms();
		const uint8_t *p = buf;
		size_t len;
		struct frame f;
		ssize_t k;
		int r;

		if (left <= 0) {
			ret = -ETIMEDOUT;
			break;
		}
		if (poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left)) <= 0)
			continue;
		k = recv(fd, buf, sizeof(buf), 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;		/* -ECONNRESET */
		len = (size_t)k;
		r = frame_decoder_next(&dec, &p, &len, &f);
		if (r < 0 || (r > 0 && (control_msg_decode(f.type, f.payload,
							   f.len, &m) < 0 ||
					m.type != CONTROL_MSG_ACK))) {
			ret = -EPROTO;
			break;
		}
		if (r > 0) {
			ret = 0;
			break;
		}
	}
	/* Closing tells airlock-init the ACK arrived. */
	close(fd);
	return ret;
}

int exec_poweroff(const char *vsock_path, int timeout_ms, bool (*alive)(void *arg),
		  void *arg)
{
	struct control_msg m = { .type = CONTROL_MSG_POWEROFF };

	return control_request(vsock_path, &m, timeout_ms, alive, arg);
}

int exec_resume(const char *vsock_path, uint64_t upper_size, int timeout_ms,
		bool (*alive)(void *arg), void *arg)
{
	struct control_msg m = { .type = CONTROL_MSG_RESUME, .upper_size = upper_size };
	int64_t deadline = clock_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct timespec now;
	int r;

	if (getrandom(m.seed, sizeof(m.seed), 0) != (ssize_t)sizeof(m.seed))
		return -EIO;
	/* The VMM tells a restored guest its vsock transport was reset; a
	 * stream the guest accepted before it handled that is reset by it.
	 * airlock-init then waits for the next RESUME: send it again. */
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &now);
		m.realtime_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
		r = control_request(vsock_path, &m, (int)(deadline - clock_ms()), alive, arg);
		if (r != -ECONNRESET || clock_ms() + RESUME_RETRY_MS >= deadline)
			break;
		clock_sleep_ms(RESUME_RETRY_MS);
	}
	explicit_bzero(m.seed, sizeof(m.seed));
	return r;
}
