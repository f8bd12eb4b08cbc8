/* Exec protocol codecs and message order: see exec.h and docs/protocol.md.
 * Every check lives in one helper used by both the decoder and the encoder,
 * so the two cannot drift apart. */
#include "proto/exec.h"
#include "proto/text.h"

#include <errno.h>
#include <string.h>

/* Fixed part of EXEC_REQUEST: version, flags, rows, cols, xpixel, ypixel,
 * uid (u32), argc, envc. Strings follow. */
#define REQ_FIXED 20u
#define WINSIZE_SIZE 8u
#define SIGNAL_SIZE 4u
#define STARTED_SIZE 4u
#define EXIT_SIZE 8u
#define ERROR_FIXED 2u

#define EXIT_KIND_EXITED 0u
#define EXIT_KIND_SIGNALED 1u
#define EXIT_FLAG_CORE 0x1u

bool exec_type_to_guest(uint8_t type)
{
	return type >= EXEC_MSG_REQUEST && type <= EXEC_MSG_SIGNAL;
}

bool exec_type_to_host(uint8_t type)
{
	return type >= EXEC_MSG_STARTED && type <= EXEC_MSG_ERROR;
}

/* ---- checks shared by decoders and encoders ---- */

static int check_env(const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);

	/* The key is everything before the first '=', so it cannot hold one. */
	return eq == NULL || eq == s ? -EINVAL : 0;
}

static int check_cwd(const char *s, size_t len)
{
	if (len > EXEC_MAX_CWD)
		return -E2BIG;
	return len == 0 || s[0] == '/' ? 0 : -EINVAL;
}

/* Portable user names (POSIX's portable filename set), at most useradd's
 * 32 bytes; no leading '-' so a name never reads as an option. */
static int check_user(const char *s, size_t len)
{
	if (len > EXEC_MAX_USER)
		return -E2BIG;
	if (len > 0 && s[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* The fixed fields of a request, and how they constrain each other. */
static int check_request_fixed(uint16_t flags, const struct exec_winsize *ws,
			       uint32_t uid, uint32_t argc, uint32_t envc)
{
	if (flags & ~EXEC_REQ_FLAGS)
		return -EINVAL;
	if (!(flags & EXEC_REQ_TTY) &&
	    (ws->rows || ws->cols || ws->xpixel || ws->ypixel))
		return -EINVAL;
	if (flags & EXEC_REQ_UID) {
		/* (uid_t)-1 means "unchanged" to setresuid(). */
		if (uid == UINT32_MAX)
			return -EINVAL;
	} else if (uid != 0) {
		return -EINVAL;
	}
	if (argc == 0)
		return -EINVAL;
	if (argc > EXEC_MAX_ARGS || envc > EXEC_MAX_ENV)
		return -E2BIG;
	return 0;
}

static int check_user_for(uint16_t flags, const char *user, size_t len)
{
	/* One way to name the user: a uid leaves the name empty. */
	if ((flags & EXEC_REQ_UID) && len > 0)
		return -EINVAL;
	return check_user(user, len);
}

static int check_signal(uint32_t signo)
{
	return signo >= 1 && signo <= EXEC_MAX_SIGNAL ? 0 : -EINVAL;
}

static int check_pid(uint32_t pid)
{
	return pid >= 1 && pid <= EXEC_MAX_PID ? 0 : -EINVAL;
}

static int check_exit(const struct exec_exit *e)
{
	if (e->signaled)
		return check_signal(e->value);
	if (e->core_dumped)
		return -EINVAL;
	return e->value <= 255 ? 0 : -EINVAL;
}

static int check_data(uint8_t type, size_t len)
{
	if (type != EXEC_MSG_STDIN_DATA && type != EXEC_MSG_STDOUT_DATA &&
	    type != EXEC_MSG_STDERR_DATA)
		return -EINVAL;
	if (len == 0)
		return -EINVAL;
	return len <= FRAME_MAX_PAYLOAD ? 0 : -E2BIG;
}

/* ---- decoders ---- */

/* Take the NUL-terminated string at p[*off], within p[0..len). */
static int take_string(const uint8_t *p, size_t len, size_t *off,
		       const char **s, size_t *slen)
{
	const uint8_t *nul = memchr(p + *off, 0, len - *off);

	if (!nul)
		return -EPROTO;
	*s = (const char *)(p + *off);
	*slen = (size_t)(nul - (p + *off));
	*off += *slen + 1;
	return 0;
}

int exec_request_decode(const uint8_t *p, size_t len, struct exec_request *req)
{
	size_t off = REQ_FIXED, slen;
	int r;

	/* The version comes first and stays first in every version, so that
	 * any guest can tell any host what it speaks. */
	if (len < 2)
		return -EPROTO;
	req->version = frame_get_u16(p);
	if (req->version != EXEC_PROTO_VERSION)
		return -EPROTONOSUPPORT;
	if (len < REQ_FIXED)
		return -EPROTO;
	req->flags = frame_get_u16(p + 2);
	req->winsize.rows = frame_get_u16(p + 4);
	req->winsize.cols = frame_get_u16(p + 6);
	req->winsize.xpixel = frame_get_u16(p + 8);
	req->winsize.ypixel = frame_get_u16(p + 10);
	req->uid = frame_get_u32(p + 12);
	req->argc = frame_get_u16(p + 16);
	req->envc = frame_get_u16(p + 18);
	r = check_request_fixed(req->flags, &req->winsize, req->uid, req->argc,
				req->envc);
	if (r < 0)
		return r;

	for (uint32_t i = 0; i < req->argc; i++) {
		r = take_string(p, len, &off, &req->argv[i], &slen);
		if (r < 0)
			return r;
		if (i == 0 && slen == 0)
			return -EINVAL;
	}
	req->argv[req->argc] = NULL;
	for (uint32_t i = 0; i < req->envc; i++) {
		r = take_string(p, len, &off, &req->envp[i], &slen);
		if (r < 0)
			return r;
		r = check_env(req->envp[i], slen);
		if (r < 0)
			return r;
	}
	req->envp[req->envc] = NULL;
	r = take_string(p, len, &off, &req->cwd, &slen);
	if (r < 0)
		return r;
	r = check_cwd(req->cwd, slen);
	if (r < 0)
		return r;
	r = take_string(p, len, &off, &req->user, &slen);
	if (r < 0)
		return r;
	r = check_user_for(req->flags, req->user, slen);
	if (r < 0)
		return r;
	return off == len ? 0 : -EPROTO;
}

int exec_winsize_decode(const uint8_t *p, size_t len, struct exec_winsize *ws)
{
	if (len != WINSIZE_SIZE)
		return -EPROTO;
	ws->rows = frame_get_u16(p);
	ws->cols = frame_get_u16(p + 2);
	ws->xpixel = frame_get_u16(p + 4);
	ws->ypixel = frame_get_u16(p + 6);
	return 0;
}

int exec_signal_decode(const uint8_t *p, size_t len, uint32_t *signo)
{
	if (len != SIGNAL_SIZE)
		return -EPROTO;
	*signo = frame_get_u32(p);
	return check_signal(*signo);
}

int exec_started_decode(const uint8_t *p, size_t len, uint32_t *pid)
{
	if (len != STARTED_SIZE)
		return -EPROTO;
	*pid = frame_get_u32(p);
	return check_pid(*pid);
}

int exec_exit_decode(const uint8_t *p, size_t len, struct exec_exit *e)
{
	if (len != EXIT_SIZE)
		return -EPROTO;
	if (frame_get_u16(p + 2) != 0)
		return -EPROTO;
	if (p[0] != EXIT_KIND_EXITED && p[0] != EXIT_KIND_SIGNALED)
		return -EINVAL;
	if (p[1] & ~EXIT_FLAG_CORE)
		return -EINVAL;
	e->signaled = p[0] == EXIT_KIND_SIGNALED;
	e->core_dumped = p[1] & EXIT_FLAG_CORE;
	e->value = frame_get_u32(p + 4);
	return check_exit(e);
}

int exec_error_decode(const uint8_t *p, size_t len, struct exec_error *e)
{
	size_t off = ERROR_FIXED, slen;
	int r;

	if (len < ERROR_FIXED)
		return -EPROTO;
	e->code = frame_get_u16(p);
	if (e->code == 0)
		return -EINVAL;
	r = take_string(p, len, &off, &e->msg, &slen);
	if (r < 0)
		return r;
	if (off != len)
		return -EPROTO;
	return check_text(e->msg, slen, EXEC_MAX_ERROR_MSG);
}

int exec_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		    struct exec_msg *m)
{
	int r;

	m->type = type;
	switch (type) {
	case EXEC_MSG_REQUEST:
		return exec_request_decode(p, len, &m->u.req);
	case EXEC_MSG_STDIN_DATA:
	case EXEC_MSG_STDOUT_DATA:
	case EXEC_MSG_STDERR_DATA:
		r = check_data(type, len);
		if (r == -E2BIG)
			return -EPROTO;	/* more than a frame can carry */
		m->u.data.data = p;
		m->u.data.len = (uint32_t)len;
		return r;
	case EXEC_MSG_STDIN_EOF:
		return len == 0 ? 0 : -EPROTO;
	case EXEC_MSG_WINDOW_SIZE:
		return exec_winsize_decode(p, len, &m->u.winsize);
	case EXEC_MSG_SIGNAL:
		return exec_signal_decode(p, len, &m->u.signo);
	case EXEC_MSG_STARTED:
		return exec_started_decode(p, len, &m->u.pid);
	case EXEC_MSG_EXIT:
		return exec_exit_decode(p, len, &m->u.exit);
	case EXEC_MSG_ERROR:
		return exec_error_decode(p, len, &m->u.error);
	default:
		return -EPROTO;
	}
}

/* ---- encoders ---- */

/* Room for a header plus a payload of len bytes: -E2BIG if no frame can
 * carry it, -ENOSPC if buf cannot. */
static int room(size_t size, size_t len)
{
	if (len > FRAME_MAX_PAYLOAD)
		return -E2BIG;
	if (size < FRAME_HEADER_SIZE || size - FRAME_HEADER_SIZE < len)
		return -ENOSPC;
	return 0;
}

static void put_header(uint8_t *buf, uint8_t type, size_t len)
{
	buf[0] = FRAME_MAGIC;
	buf[1] = FRAME_VERSION;
	buf[2] = type;
	buf[3] = 0;
	frame_put_u32(buf + 4, (uint32_t)len);
}

/* Append a string with its NUL at buf[*off]; room was checked before. */
static void put_string(uint8_t *buf, size_t *off, const char *s, size_t slen)
{
	memcpy(buf + *off, s, slen + 1);
	*off += slen + 1;
}

int exec_request_encode(uint8_t *buf, size_t size, const struct exec_request *req)
{
	uint8_t *p = buf + FRAME_HEADER_SIZE;
	size_t len = REQ_FIXED, off, slen;
	int r;

	/* First pass: check everything and add up the payload, so that a
	 * refused value is reported as such whatever the buffer size. */
	r = check_request_fixed(req->flags, &req->winsize, req->uid, req->argc,
				req->envc);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < req->argc; i++) {
		slen = strlen(req->argv[i]);
		if (i == 0 && slen == 0)
			return -EINVAL;
		len += slen + 1;
	}
	for (uint32_t i = 0; i < req->envc; i++) {
		slen = strlen(req->envp[i]);
		if ((r = check_env(req->envp[i], slen)) < 0)
			return r;
		len += slen + 1;
	}
	slen = strlen(req->cwd);
	if ((r = check_cwd(req->cwd, slen)) < 0)
		return r;
	len += slen + 1;
	slen = strlen(req->user);
	if ((r = check_user_for(req->flags, req->user, slen)) < 0)
		return r;
	len += slen + 1;
	/* Counts are bounded (2048 strings) but each string is not: the sum
	 * may be anything up to the caller's memory, and is only compared. */
	if ((r = room(size, len)) < 0)
		return r;

	frame_put_u16(p, EXEC_PROTO_VERSION);
	frame_put_u16(p + 2, req->flags);
	frame_put_u16(p + 4, req->winsize.rows);
	frame_put_u16(p + 6, req->winsize.cols);
	frame_put_u16(p + 8, req->winsize.xpixel);
	frame_put_u16(p + 10, req->winsize.ypixel);
	frame_put_u32(p + 12, req->uid);
	frame_put_u16(p + 16, (uint16_t)req->argc);
	frame_put_u16(p + 18, (uint16_t)req->envc);
	off = FRAME_HEADER_SIZE + REQ_FIXED;
	for (uint32_t i = 0; i < req->argc; i++)
		put_string(buf, &off, req->argv[i], strlen(req->argv[i]));
	for (uint32_t i = 0; i < req->envc; i++)
		put_string(buf, &off, req->envp[i], strlen(req->envp[i]));
	put_string(buf, &off, req->cwd, strlen(req->cwd));
	put_string(buf, &off, req->user, strlen(req->user));
	put_header(buf, EXEC_MSG_REQUEST, len);
	return (int)(FRAME_HEADER_SIZE + len);
}

int exec_data_encode(uint8_t *buf, size_t size, uint8_t type,
		     const void *data, size_t len)
{
	int r = check_data(type, len);

	if (r < 0)
		return r;
	return frame_encode(buf, size, type, data, len);
}

int exec_stdin_eof_encode(uint8_t *buf, size_t size)
{
	return frame_encode(buf, size, EXEC_MSG_STDIN_EOF, NULL, 0);
}

int exec_winsize_encode(uint8_t *buf, size_t size, const struct exec_winsize *ws)
{
	if (room(size, WINSIZE_SIZE) < 0)
		return -ENOSPC;
	frame_put_u16(buf + FRAME_HEADER_SIZE, ws->rows);
	frame_put_u16(buf + FRAME_HEADER_SIZE + 2, ws->cols);
	frame_put_u16(buf + FRAME_HEADER_SIZE + 4, ws->xpixel);
	frame_put_u16(buf + FRAME_HEADER_SIZE + 6, ws->ypixel);
	put_header(buf, EXEC_MSG_WINDOW_SIZE, WINSIZE_SIZE);
	return FRAME_HEADER_SIZE + WINSIZE_SIZE;
}

int exec_signal_encode(uint8_t *buf, size_t size, uint32_t signo)
{
	int r = check_signal(signo);

	if (r < 0)
		return r;
	if (room(size, SIGNAL_SIZE) < 0)
		return -ENOSPC;
	frame_put_u32(buf + FRAME_HEADER_SIZE, signo);
	put_header(buf, EXEC_MSG_SIGNAL, SIGNAL_SIZE);
	return FRAME_HEADER_SIZE + SIGNAL_SIZE;
}

int exec_started_encode(uint8_t *buf, size_t size, uint32_t pid)
{
	int r = check_pid(pid);

	if (r < 0)
		return r;
	if (room(size, STARTED_SIZE) < 0)
		return -ENOSPC;
	frame_put_u32(buf + FRAME_HEADER_SIZE, pid);
	put_header(buf, EXEC_MSG_STARTED, STARTED_SIZE);
	return FRAME_HEADER_SIZE + STARTED_SIZE;
}

int exec_exit_encode(uint8_t *buf, size_t size, const struct exec_exit *e)
{
	uint8_t *p = buf + FRAME_HEADER_SIZE;
	int r = check_exit(e);

	if (r < 0)
		return r;
	if (room(size, EXIT_SIZE) < 0)
		return -ENOSPC;
	p[0] = e->signaled ? EXIT_KIND_SIGNALED : EXIT_KIND_EXITED;
	p[1] = e->core_dumped ? EXIT_FLAG_CORE : 0;
	frame_put_u16(p + 2, 0);
	frame_put_u32(p + 4, e->value);
	put_header(buf, EXEC_MSG_EXIT, EXIT_SIZE);
	return FRAME_HEADER_SIZE + EXIT_SIZE;
}

int exec_error_encode(uint8_t *buf, size_t size, uint16_t code, const char *msg)
{
	size_t slen = strlen(msg);
	size_t len = ERROR_FIXED + slen + 1;
	int r;

	if (code == 0)
		return -EINVAL;
	r = check_text(msg, slen, EXEC_MAX_ERROR_MSG);
	if (r < 0)
		return r;
	if (room(size, len) < 0)
		return -ENOSPC;
	frame_put_u16(buf + FRAME_HEADER_SIZE, code);
	memcpy(buf + FRAME_HEADER_SIZE + ERROR_FIXED, msg, slen + 1);
	put_header(buf, EXEC_MSG_ERROR, len);
	return (int)(FRAME_HEADER_SIZE + len);
}

int exec_msg_encode(uint8_t *buf, size_t size, const struct exec_msg *m)
{
	switch (m->type) {
	case EXEC_MSG_REQUEST:
		return exec_request_encode(buf, size, &m->u.req);
	case EXEC_MSG_STDIN_DATA:
	case EXEC_MSG_STDOUT_DATA:
	case EXEC_MSG_STDERR_DATA:
		return exec_data_encode(buf, size, m->type, m->u.data.data,
					m->u.data.len);
	case EXEC_MSG_STDIN_EOF:
		return exec_stdin_eof_encode(buf, size);
	case EXEC_MSG_WINDOW_SIZE:
		return exec_winsize_encode(buf, size, &m->u.winsize);
	case EXEC_MSG_SIGNAL:
		return exec_signal_encode(buf, size, m->u.signo);
	case EXEC_MSG_STARTED:
		return exec_started_encode(buf, size, m->u.pid);
	case EXEC_MSG_EXIT:
		return exec_exit_encode(buf, size, &m->u.exit);
	case EXEC_MSG_ERROR:
		return exec_error_encode(buf, size, m->u.error.code,
					 m->u.error.msg);
	default:
		return -EINVAL;
	}
}

/* ---- helpers for the two ends ---- */

int exec_exit_status(const struct exec_exit *e)
{
	return e->signaled ? 128 + (int)e->value : (int)e->value;
}

const char *exec_error_name(uint16_t code)
{
	switch (code) {
	case EXEC_ERR_VERSION:
		return "protocol version not supported";
	case EXEC_ERR_REQUEST:
		return "request refused";
	case EXEC_ERR_NOT_FOUND:
		return "command not found";
	case EXEC_ERR_NOT_EXEC:
		return "command cannot be executed";
	case EXEC_ERR_USER:
		return "no such user";
	case EXEC_ERR_CWD:
		return "cannot change to the working directory";
	case EXEC_ERR_PTY:
		return "cannot set up the terminal or pipes";
	case EXEC_ERR_RESOURCES:
		return "out of resources";
	case EXEC_ERR_PROTOCOL:
		return "protocol error";
	case EXEC_ERR_INTERNAL:
		return "internal error in airlock-init";
	default:
		return "unknown error";
	}
}

/* ---- message order ---- */

void exec_seq_init(struct exec_seq *s)
{
	memset(s, 0, sizeof(*s));
}

int exec_seq_to_guest(struct exec_seq *s, const struct exec_msg *m)
{
	switch (m->type) {
	case EXEC_MSG_REQUEST:
		if (s->requested)
			return -EPROTO;
		s->requested = true;
		s->tty = m->u.req.flags & EXEC_REQ_TTY;
		return 0;
	case EXEC_MSG_STDIN_DATA:
		return s->requested && !s->stdin_eof ? 0 : -EPROTO;
	case EXEC_MSG_STDIN_EOF:
		if (!s->requested || s->stdin_eof)
			return -EPROTO;
		s->stdin_eof = true;
		return 0;
	case EXEC_MSG_WINDOW_SIZE:
		return s->requested && s->tty ? 0 : -EPROTO;
	case EXEC_MSG_SIGNAL:
		return s->requested ? 0 : -EPROTO;
	default:
		return -EPROTO;
	}
}

int exec_seq_to_host(struct exec_seq *s, const struct exec_msg *m)
{
	if (s->ended)
		return -EPROTO;
	switch (m->type) {
	case EXEC_MSG_STARTED:
		if (!s->requested || s->started)
			return -EPROTO;
		s->started = true;
		return 0;
	case EXEC_MSG_STDOUT_DATA:
		return s->started ? 0 : -EPROTO;
	case EXEC_MSG_STDERR_DATA:
		return s->started && !s->tty ? 0 : -EPROTO;
	case EXEC_MSG_EXIT:
		if (!s->started)
			return -EPROTO;
		s->ended = true;
		return 0;
	case EXEC_MSG_ERROR:
		/* Allowed before the request too: a guest that cannot read
		 * the request (another version) says so and closes. */
		s->ended = true;
		return 0;
	default:
		return -EPROTO;
	}
}
