/* The exec protocol: the messages on one control stream between the host
 * (airlock CLI) and airlock-init, one stream per command run. Each message
 * is one frame (proto/frame.h). Decoders turn a frame's payload into a
 * validated struct; encoders write a whole frame (header included) into a
 * caller's buffer. Pure code, no I/O. Layouts, limits and the order of
 * messages: docs/protocol.md. */
#ifndef AIRLOCK_PROTO_EXEC_H
#define AIRLOCK_PROTO_EXEC_H

#include "proto/frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Version of the message set, carried first in EXEC_REQUEST. Bumped on any
 * change a peer of the previous version would misread. */
#define EXEC_PROTO_VERSION 1u

/* Frame types. The high bit says the direction: clear host -> guest, set
 * guest -> host; each side's decoder refuses the other side's types. */
enum exec_msg_type {
	EXEC_MSG_REQUEST = 0x01,
	EXEC_MSG_STDIN_DATA = 0x02,
	EXEC_MSG_STDIN_EOF = 0x03,
	EXEC_MSG_WINDOW_SIZE = 0x04,
	EXEC_MSG_SIGNAL = 0x05,

	EXEC_MSG_STARTED = 0x81,
	EXEC_MSG_STDOUT_DATA = 0x82,
	EXEC_MSG_STDERR_DATA = 0x83,
	EXEC_MSG_EXIT = 0x84,
	EXEC_MSG_ERROR = 0x85,
};

/* Type filters for frame_decoder_init(): the guest decodes what the host
 * sends (to_guest), the host what the guest sends (to_host). */
bool exec_type_to_guest(uint8_t type);
bool exec_type_to_host(uint8_t type);

/* Limits. Every string is also bounded by FRAME_MAX_PAYLOAD: an EXEC_REQUEST
 * is one frame, so argv, env, cwd and user together fit in 64 KiB. */
#define EXEC_MAX_ARGS 1024u	/* argv entries, at least 1 */
#define EXEC_MAX_ENV 1024u	/* env entries */
#define EXEC_MAX_CWD 4095u	/* bytes without the NUL: PATH_MAX - 1 */
#define EXEC_MAX_USER 32u	/* user name bytes (useradd's limit) */
#define EXEC_MAX_ERROR_MSG 512u	/* ERROR text bytes */
#define EXEC_MAX_SIGNAL 64u	/* SIGRTMAX on Linux x86-64 and arm64 */
#define EXEC_MAX_PID 4194304u	/* PID_MAX_LIMIT on 64-bit Linux */

/* EXEC_REQUEST flags. */
#define EXEC_REQ_TTY 0x1u	/* run on a PTY (else three pipes) */
#define EXEC_REQ_UID 0x2u	/* run as uid (else as user, by name) */
#define EXEC_REQ_FLAGS (EXEC_REQ_TTY | EXEC_REQ_UID)

struct exec_winsize {
	uint16_t rows, cols;
	uint16_t xpixel, ypixel;	/* 0 if unknown, as in struct winsize */
};

/* A decoded request. Strings point into the frame payload it was decoded
 * from (on the wire each carries its NUL) and live as long as it does.
 * argv[argc] and envp[envc] are NULL, ready for execve(). */
struct exec_request {
	uint16_t version;	/* decoded; encoders write EXEC_PROTO_VERSION */
	uint16_t flags;		/* EXEC_REQ_* */
	struct exec_winsize winsize;	/* with EXEC_REQ_TTY; all 0 without */
	uint32_t uid;		/* with EXEC_REQ_UID, not (uint32_t)-1; 0 without */
	const char *user;	/* "" = the guest's default user; "" with UID */
	const char *cwd;	/* "" = the guest's default; else absolute */
	uint32_t argc;		/* 1..EXEC_MAX_ARGS; argv[0] not empty */
	uint32_t envc;		/* 0..EXEC_MAX_ENV; "KEY=VALUE", KEY not empty */
	const char *argv[EXEC_MAX_ARGS + 1];
	const char *envp[EXEC_MAX_ENV + 1];
};

struct exec_exit {
	bool signaled;		/* killed by a signal, else exited */
	bool core_dumped;	/* only when signaled */
	uint32_t value;		/* exit code 0..255, or signal 1..EXEC_MAX_SIGNAL */
};

/* ERROR codes. Unknown nonzero codes are accepted (a newer guest may add
 * some); exec_error_name() calls them "unknown error". */
enum exec_error_code {
	EXEC_ERR_VERSION = 1,	 /* request version not spoken: see its text */
	EXEC_ERR_REQUEST = 2,	 /* request refused (decoder said why) */
	EXEC_ERR_NOT_FOUND = 3,	 /* argv[0] not found (a shell's 127) */
	EXEC_ERR_NOT_EXEC = 4,	 /* found but cannot be executed (126) */
	EXEC_ERR_USER = 5,	 /* no such user or uid */
	EXEC_ERR_CWD = 6,	 /* cannot change to cwd */
	EXEC_ERR_PTY = 7,	 /* cannot set up the PTY or pipes */
	EXEC_ERR_RESOURCES = 8,	 /* fork, memory or fd limits */
	EXEC_ERR_PROTOCOL = 9,	 /* the host sent a bad frame or bad order */
	EXEC_ERR_INTERNAL = 10,	 /* anything else inside airlock-init */
};

struct exec_error {
	uint16_t code;		/* nonzero */
	const char *msg;	/* UTF-8, no control characters, may be "" */
};

const char *exec_error_name(uint16_t code);

/* One decoded message of any type. Pointers (data, request strings, error
 * text) point into the payload it was decoded from. */
struct exec_msg {
	uint8_t type;		/* enum exec_msg_type */
	union {
		struct exec_request req;	/* REQUEST */
		struct {
			const uint8_t *data;	/* STDIN/STDOUT/STDERR_DATA */
			uint32_t len;		/* 1..FRAME_MAX_PAYLOAD */
		} data;
		struct exec_winsize winsize;	/* WINDOW_SIZE */
		uint32_t signo;			/* SIGNAL: 1..EXEC_MAX_SIGNAL */
		uint32_t pid;			/* STARTED: 1..EXEC_MAX_PID */
		struct exec_exit exit;		/* EXIT */
		struct exec_error error;	/* ERROR */
	} u;				/* STDIN_EOF: nothing */
};

/* Decoders. Return 0, or
 *   -EPROTO           payload too short, too long, a string without its
 *                     NUL, a reserved field not 0: the peer is broken
 *   -EPROTONOSUPPORT  EXEC_REQUEST of another version (req->version set)
 *   -EINVAL           a value out of range (empty argv[0], env entry without
 *                     '=' or with an empty key, signal 0 or > 64, exit code
 *                     > 255, unknown flag, bad user name, relative cwd,
 *                     invalid UTF-8 or control character in ERROR text)
 *   -E2BIG            over a count or length limit above
 * The output is only meaningful when 0 is returned. */
int exec_request_decode(const uint8_t *p, size_t len, struct exec_request *req);
int exec_winsize_decode(const uint8_t *p, size_t len, struct exec_winsize *ws);
int exec_signal_decode(const uint8_t *p, size_t len, uint32_t *signo);
int exec_started_decode(const uint8_t *p, size_t len, uint32_t *pid);
int exec_exit_decode(const uint8_t *p, size_t len, struct exec_exit *e);
int exec_error_decode(const uint8_t *p, size_t len, struct exec_error *e);
/* Any type: dispatches on type (an unknown one is -EPROTO). */
int exec_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		    struct exec_msg *m);

/* Encoders write a whole frame into buf and return its size, -ENOSPC if buf
 * is too small, or the decoder's error for what it would refuse: nothing
 * goes on the wire that the other side's decoder rejects. */
int exec_request_encode(uint8_t *buf, size_t size, const struct exec_request *req);
/* type: EXEC_MSG_STDIN_DATA, STDOUT_DATA or STDERR_DATA; len 1..64 KiB.
 * data may already sit at buf + FRAME_HEADER_SIZE. */
int exec_data_encode(uint8_t *buf, size_t size, uint8_t type,
		     const void *data, size_t len);
int exec_stdin_eof_encode(uint8_t *buf, size_t size);
int exec_winsize_encode(uint8_t *buf, size_t size, const struct exec_winsize *ws);
int exec_signal_encode(uint8_t *buf, size_t size, uint32_t signo);
int exec_started_encode(uint8_t *buf, size_t size, uint32_t pid);
int exec_exit_encode(uint8_t *buf, size_t size, const struct exec_exit *e);
int exec_error_encode(uint8_t *buf, size_t size, uint16_t code, const char *msg);
int exec_msg_encode(uint8_t *buf, size_t size, const struct exec_msg *m);

/* The status `airlock run` exits with, as a shell reports it: the exit
 * code, or 128 + the signal number. */
int exec_exit_status(const struct exec_exit *e);

/* The order of messages on one stream (docs/protocol.md). Both sides keep
 * one and feed it every message received; the host also feeds it its own
 * REQUEST, whose TTY flag decides what the guest may send. Rules:
 *   host -> guest: REQUEST first and once; then STDIN_DATA until STDIN_EOF,
 *     at most one STDIN_EOF, WINDOW_SIZE only on a TTY, SIGNAL any time.
 *   guest -> host: STARTED or ERROR first; after STARTED, STDOUT_DATA,
 *     STDERR_DATA (not on a TTY: a PTY has one output), then EXIT or ERROR,
 *     after which nothing.
 * The two directions are checked independently, except that the guest's
 * messages need the REQUEST (its TTY flag) to have been seen. */
struct exec_seq {
	bool requested;		/* REQUEST seen */
	bool tty;		/* its EXEC_REQ_TTY */
	bool stdin_eof;		/* STDIN_EOF seen */
	bool started;		/* STARTED seen */
	bool ended;		/* EXIT or ERROR seen */
};

void exec_seq_init(struct exec_seq *s);
/* Return 0 if m may come next in its direction (and record it), else
 * -EPROTO; a message of the other direction is -EPROTO too. */
int exec_seq_to_guest(struct exec_seq *s, const struct exec_msg *m);
int exec_seq_to_host(struct exec_seq *s, const struct exec_msg *m);

#endif
