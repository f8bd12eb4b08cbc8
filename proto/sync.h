/* The sync protocol: the one stream (vsock port 1001) between the host's
 * airlock-sync and airlock-init's sync service that carries the project in
 * and the agent's changes back. Each message is one frame (proto/frame.h);
 * file contents follow their header as DATA frames and one END. Decoders
 * turn a payload into a validated struct, the sequence checker enforces the
 * order, and path names are checked by one function both sides share. Pure
 * code, no I/O. Layouts and rules: docs/protocol.md, "The sync protocol". */
#ifndef AIRLOCK_PROTO_SYNC_H
#define AIRLOCK_PROTO_SYNC_H

#include "proto/frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Carried first in HELLO and WELCOME; bumped on any change a peer of the
 * previous version would misread. */
#define SYNC_PROTO_VERSION 1u

/* Frame types: high bit clear host -> guest, set guest -> host. */
enum sync_msg_type {
	SYNC_MSG_HELLO = 0x01,		/* the workspace: where, which store */
	SYNC_MSG_IGNORE = 0x02,		/* one exclusion pattern */
	SYNC_MSG_START = 0x03,		/* list the workspace, then sync */
	SYNC_MSG_PUT = 0x04,		/* make a path so (content follows) */
	SYNC_MSG_DEL = 0x05,		/* remove a path */
	SYNC_MSG_RESEND = 0x06,		/* send a path (subtree) as it is now */
	SYNC_MSG_FLUSH = 0x07,		/* send what changed, then FLUSHED */
	SYNC_MSG_EPOCH = 0x08,		/* the host's state id, to keep */
	SYNC_MSG_PUT_DATA = 0x09,
	SYNC_MSG_PUT_END = 0x0a,

	SYNC_MSG_WELCOME = 0x81,	/* the guest's version and kept epoch */
	SYNC_MSG_ENTRY = 0x82,		/* one path of the listing */
	SYNC_MSG_LIST_END = 0x83,
	SYNC_MSG_CHANGE = 0x84,		/* a path is now so (content follows) */
	SYNC_MSG_GONE = 0x85,		/* a path (subtree) was removed */
	SYNC_MSG_MOVE = 0x86,		/* a path was renamed */
	SYNC_MSG_BATCH = 0x87,		/* end of one debounced batch */
	SYNC_MSG_APPLIED = 0x88,	/* a PUT or DEL was done: the result */
	SYNC_MSG_REJECTED = 0x89,	/* a PUT or DEL was not done: why */
	SYNC_MSG_FLUSHED = 0x8a,
	SYNC_MSG_FAIL = 0x8b,		/* the guest cannot go on: why */
	SYNC_MSG_CHANGE_DATA = 0x8c,
	SYNC_MSG_CHANGE_END = 0x8d,
};

bool sync_type_to_guest(uint8_t type);
bool sync_type_to_host(uint8_t type);

/* Limits of the format (the host's own, lower limits are policy). */
#define SYNC_MAX_PATH 4095u		/* bytes of a relative path */
#define SYNC_MAX_DEPTH 256u		/* components of a path */
#define SYNC_MAX_NAME 255u		/* bytes of one component (NAME_MAX) */
#define SYNC_MAX_TARGET 4095u		/* bytes of a symlink's target */
#define SYNC_MAX_PATTERN 1024u		/* bytes of an IGNORE pattern */
#define SYNC_MAX_TEXT 512u		/* bytes of FAIL text */
#define SYNC_MAX_FILE (1ull << 50)	/* bytes of one file */
#define SYNC_KEY_LEN 16u		/* store key: lowercase hex digits */
#define SYNC_EPOCH_LEN 16u
/* Temporary files both sides make while writing start with this; a peer
 * never names one (sync_path_check refuses it). */
#define SYNC_TMP_PREFIX ".airlock-tmp-"

/* What a path is. The last four only describe what the guest found and
 * will not send (the host counts and logs them); PUT never carries them. */
enum sync_kind {
	SYNC_NONE = 0,		/* absent */
	SYNC_FILE = 1,
	SYNC_DIR = 2,
	SYNC_LINK = 3,		/* a symlink, carried as its target */
	SYNC_FIFO = 4,
	SYNC_SOCK = 5,
	SYNC_CHR = 6,
	SYNC_BLK = 7,
};

/* What both sides compare. mode is the permission bits (07777; the host
 * strips 07000 when it applies). size: FILE bytes, LINK target bytes, else
 * 0. mtime in ns since the epoch. NONE has every field 0. */
struct sync_meta {
	uint8_t kind;
	uint16_t mode;
	uint64_t size;
	int64_t mtime;
};

/* Why a path, link target or pattern is refused. The record it came in
 * still decodes (so the stream goes on and any content is skipped); the
 * receiver refuses that one record and says why (sync_bad_text). */
enum sync_bad {
	SYNC_BAD_NONE = 0,
	SYNC_BAD_EMPTY,		/* empty path or empty component ("a//b", "/a") */
	SYNC_BAD_LONG,		/* over SYNC_MAX_PATH bytes */
	SYNC_BAD_DEEP,		/* over SYNC_MAX_DEPTH components */
	SYNC_BAD_NAME_LONG,	/* a component over NAME_MAX bytes */
	SYNC_BAD_NUL,		/* a NUL byte */
	SYNC_BAD_DOT,		/* a "." or ".." component */
	SYNC_BAD_RESERVED,	/* a component starting with SYNC_TMP_PREFIX */
	SYNC_BAD_TARGET,	/* symlink target empty, too long, or a NUL */
	SYNC_BAD_PATTERN,	/* IGNORE pattern empty, too long, NUL, control */
	/* Not the format's: the host's rule (sync_path_printable). */
	SYNC_BAD_CONTROL,	/* a control character (C0 or DEL) */
};

const char *sync_bad_text(int bad);

/* Checks a relative path as the wire carries it: components joined by
 * single '/', none empty, ".", "..", over NAME_MAX bytes, holding a NUL, or
 * starting with SYNC_TMP_PREFIX. Returns an enum sync_bad (0: fine). */
int sync_path_check(const char *path, size_t len);
/* One component alone (also refuses '/'). */
int sync_name_check(const char *name, size_t len);
/* The host's own rule on top: no control character (C0 or DEL) in a name
 * or link target it writes, so that no listing of the project can carry
 * escape sequences to a terminal. SYNC_BAD_CONTROL or 0. A guest may have
 * such names and says so; the host refuses them, record by record. */
int sync_path_printable(const char *s, size_t len);

/* END status. */
#define SYNC_END_DONE 0u	/* all `size` bytes were sent */
#define SYNC_END_ABANDONED 1u	/* the source changed while it was read */

/* PUT and CHANGE flags. */
#define SYNC_F_META_ONLY 0x1u	/* a FILE's content is unchanged: mode and
				 * mtime only, no DATA follows */

/* One decoded message. Strings are NUL-terminated copies. */
struct sync_msg {
	uint8_t type;
	uint8_t flags;		/* PUT, CHANGE: SYNC_F_*; *_END: status */
	uint16_t version;	/* HELLO, WELCOME */
	uint16_t err;		/* REJECTED, FAIL: an errno value, not 0 */
	uint32_t seq;		/* FLUSH, FLUSHED; LIST_END: entries listed */
	uint8_t epoch[SYNC_EPOCH_LEN];	/* WELCOME (all 0: none), EPOCH */
	char key[SYNC_KEY_LEN + 1];	/* HELLO */
	/* PUT, CHANGE, ENTRY, MOVE (the entry as it is now), APPLIED (the
	 * result; NONE after a DEL). */
	struct sync_meta meta;
	struct sync_meta expect;	/* PUT, DEL: what the host believes the
					 * guest has there (NONE: nothing) */
	int bad;		/* enum sync_bad for path, to, target, text */
	/* PUT, DEL, RESEND, ENTRY, CHANGE, GONE, APPLIED, REJECTED; MOVE:
	 * from. */
	char path[SYNC_MAX_PATH + 1];
	char to[SYNC_MAX_PATH + 1];		/* MOVE */
	char target[SYNC_MAX_TARGET + 1];	/* LINK in PUT, CHANGE, ENTRY */
	/* HELLO: the workspace's absolute path; IGNORE: the pattern; FAIL:
	 * UTF-8 without controls. */
	char text[SYNC_MAX_PATH + 1];
	const uint8_t *data;	/* *_DATA: points into the payload */
	uint32_t len;
};

/* Decodes one payload of the given type. Returns 0 (check m->bad before
 * acting on a path), or
 *   -EPROTO           wrong length, a reserved field not 0, trailing bytes
 *   -EPROTONOSUPPORT  HELLO or WELCOME of another version (m->version set)
 *   -EINVAL           a value out of range: unknown kind or flag, mode over
 *                     07777, a size the kind cannot have, a kind the
 *                     message cannot carry, a bad key, root or FAIL text
 * (not thread-safe: none of it is). */
int sync_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		    struct sync_msg *m);

/* Encodes a whole frame into buf: its size, -ENOSPC if buf is too small,
 * or the decoder's error for what it would refuse (a bad path included:
 * nothing leaves that the peer refuses). For *_DATA, m->data may already
 * sit at buf + FRAME_HEADER_SIZE. */
int sync_msg_encode(uint8_t *buf, size_t size, const struct sync_msg *m);

/* Bytes an encoded message takes at most: every string at its limit. */
#define SYNC_MSG_MAX (FRAME_HEADER_SIZE + 64u + 2u * (SYNC_MAX_PATH + 2u) + \
		      SYNC_MAX_TARGET + 2u)

/* The order of one stream, one checker per direction (docs/protocol.md):
 *   host -> guest: HELLO; IGNORE*; START; then PUT, DEL, RESEND, FLUSH,
 *     EPOCH in any order, a FILE PUT (not META_ONLY) followed by PUT_DATA
 *     adding up to its size at most, then PUT_END (DONE only at the size).
 *   guest -> host: WELCOME; ENTRY*; LIST_END; then CHANGE (content as for
 *     PUT), GONE, MOVE, BATCH, APPLIED, REJECTED, FLUSHED; FAIL at any
 *     point, after which nothing.
 * Every field is checked by the decoder already; this checks what may
 * come next. */
struct sync_seq {
	uint8_t phase;		/* 0 start, 1 after HELLO/WELCOME, 2 running, 3 ended */
	bool in_content;	/* DATA and END expected */
	uint64_t left;		/* content bytes still due */
};

void sync_seq_init(struct sync_seq *s);
/* 0 if m may come next (and records it), -EPROTO if not. */
int sync_seq_to_guest(struct sync_seq *s, const struct sync_msg *m);
int sync_seq_to_host(struct sync_seq *s, const struct sync_msg *m);

/* Meta helpers. */
static inline bool sync_kind_is_entry(uint8_t k)
{
	return k == SYNC_FILE || k == SYNC_DIR || k == SYNC_LINK;
}

#endif
