/* libFuzzer target for proto/frame and proto/exec, the first code that reads
 * what a hostile peer sends on an exec stream. The first input byte picks a
 * mode and a direction:
 *   stream   the rest is a byte stream, fed to the stream decoder once whole
 *            and once in chunks whose sizes come from the second byte: both
 *            must yield the same frames and the same end. Every frame that
 *            decodes as a message must re-encode to the very same bytes.
 *   message  the rest is one payload, of a type picked by the second byte,
 *            given to the message decoder in a buffer of exactly its size;
 *            what decodes must re-encode to the same bytes.
 *   encode   the rest builds an EXEC_REQUEST (strings split at NUL): what
 *            the encoder accepts, the decoder must accept and give back. */
#include "proto/exec.h"
#include "proto/frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 4096

static struct frame_decoder whole, chunked;
static uint8_t enc[FRAME_MAX_SIZE];
static struct exec_msg msg, msg2;

struct seen {
	uint8_t type;
	uint32_t len;
	uint32_t sum;
};

static struct seen seen[MAX_FRAMES];

static uint32_t checksum(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* A message that decoded must encode to exactly the frame it came from:
 * the decoders accept one spelling of each message only. */
static void check_reencode(uint8_t type, const uint8_t *payload, size_t len,
			   const struct exec_msg *m)
{
	int n = exec_msg_encode(enc, sizeof(enc), m);

	if (n < 0 || (size_t)n != FRAME_HEADER_SIZE + len)
		abort();
	if (enc[0] != FRAME_MAGIC || enc[1] != FRAME_VERSION || enc[2] != type ||
	    enc[3] != 0 || frame_get_u32(enc + 4) != len)
		abort();
	if (len && memcmp(enc + FRAME_HEADER_SIZE, payload, len) != 0)
		abort();
}

static void check_msg(uint8_t type, const uint8_t *payload, size_t len,
		      struct exec_seq *seq)
{
	if (exec_msg_decode(type, payload, len, &msg) != 0)
		return;
	if (type == EXEC_MSG_REQUEST &&
	    (msg.u.req.argv[msg.u.req.argc] || msg.u.req.envp[msg.u.req.envc]))
		abort();
	check_reencode(type, payload, len, &msg);
	if (type == EXEC_MSG_EXIT &&
	    (exec_exit_status(&msg.u.exit) < 0 || exec_exit_status(&msg.u.exit) > 255))
		abort();
	if (type == EXEC_MSG_ERROR && !exec_error_name(msg.u.error.code))
		abort();
	if (type & 0x80)
		(void)exec_seq_to_host(seq, &msg);
	else
		(void)exec_seq_to_guest(seq, &msg);
}

static void mode_stream(bool to_guest, uint8_t seed, const uint8_t *data,
			size_t size)
{
	frame_type_ok_fn ok = to_guest ? exec_type_to_guest : exec_type_to_host;
	const uint8_t *p = data;
	size_t left = size, nframes = 0, k = 0, pos = 0;
	uint32_t rng = seed * 2654435761u + 1;
	struct exec_seq seq;
	struct frame f;
	int r, end;

	frame_decoder_init(&whole, ok);
	exec_seq_init(&seq);
	if (!to_guest) {
		/* The host sent its request (TTY or not) before reading. */
		msg.type = EXEC_MSG_REQUEST;
		msg.u.req.flags = seed & 1 ? EXEC_REQ_TTY : 0;
		if (exec_seq_to_guest(&seq, &msg) != 0)
			abort();
	}
	while ((r = frame_decoder_next(&whole, &p, &left, &f)) > 0) {
		if (f.len > FRAME_MAX_PAYLOAD || !ok(f.type))
			abort();
		if (nframes < MAX_FRAMES)
			seen[nframes] = (struct seen){ f.type, f.len,
						       checksum(f.payload, f.len) };
		nframes++;
		check_msg(f.type, f.payload, f.len, &seq);
	}
	if (r < 0 && r != -EPROTO && r != -EPROTONOSUPPORT && r != -EMSGSIZE)
		abort();
	end = r;

	/* Chunks of 0..(seed + 1) * 4 bytes: the same frames, the same end. */
	frame_decoder_init(&chunked, ok);
	r = 0;
	while (pos < size && r >= 0) {
		size_t n;

		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		n = rng % ((size_t)seed * 4 + 5);
		if (n > size - pos)
			n = size - pos;
		p = data + pos;
		pos += n;
		while ((r = frame_decoder_next(&chunked, &p, &n, &f)) > 0) {
			if (k < MAX_FRAMES &&
			    (seen[k].type != f.type || seen[k].len != f.len ||
			     seen[k].sum != checksum(f.payload, f.len)))
				abort();
			k++;
		}
		if (r == 0 && n != 0)
			abort();
	}
	if (k != nframes || r != end)
		abort();
	if (end == 0 && frame_decoder_partial(&whole) !=
			frame_decoder_partial(&chunked))
		abort();
}

static void mode_message(uint8_t sel, const uint8_t *data, size_t size)
{
	static const uint8_t types[] = {
		EXEC_MSG_REQUEST, EXEC_MSG_STDIN_DATA, EXEC_MSG_STDIN_EOF,
		EXEC_MSG_WINDOW_SIZE, EXEC_MSG_SIGNAL, EXEC_MSG_STARTED,
		EXEC_MSG_STDOUT_DATA, EXEC_MSG_STDERR_DATA, EXEC_MSG_EXIT,
		EXEC_MSG_ERROR,
	};
	uint8_t type = sel < 240 ? types[sel % sizeof(types)] : sel;
	struct exec_seq seq;
	uint8_t *copy;

	if (size > FRAME_MAX_PAYLOAD)
		return;
	/* Exactly sized, so ASan sees a read one past the payload. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return;
	memcpy(copy, data, size);
	exec_seq_init(&seq);
	check_msg(type, copy, size, &seq);
	free(copy);
}

static void mode_encode(const uint8_t *data, size_t size)
{
	static char strbuf[FRAME_MAX_SIZE + 1];
	static struct exec_request req;
	static const char *strs[EXEC_MAX_ARGS + EXEC_MAX_ENV + 4];
	size_t nstr = 0, want;
	char *s;
	int n, r;

	/* 16 bytes of fixed fields, then NUL-separated strings: argc of them
	 * for argv, envc for env, then cwd, then user. */
	if (size < 16 || size - 16 > FRAME_MAX_SIZE)
		return;
	req.version = 0;
	req.flags = frame_get_u16(data);
	req.winsize.rows = frame_get_u16(data + 2);
	req.winsize.cols = frame_get_u16(data + 4);
	req.winsize.xpixel = frame_get_u16(data + 6);
	req.winsize.ypixel = frame_get_u16(data + 8);
	req.uid = frame_get_u32(data + 10);
	req.argc = data[14] % 8 ? data[14] % 8 : frame_get_u16(data + 14);
	req.envc = data[15] % 8;
	memcpy(strbuf, data + 16, size - 16);
	strbuf[size - 16] = '\0';
	for (s = strbuf; nstr < sizeof(strs) / sizeof(strs[0]);) {
		strs[nstr++] = s;
		s += strlen(s);
		if (s == strbuf + (size - 16))
			break;
		s++;
	}
	want = (size_t)req.argc + req.envc + 2;
	if (req.argc > EXEC_MAX_ARGS || req.envc > EXEC_MAX_ENV || nstr < want)
		return;
	for (uint32_t i = 0; i < req.argc; i++)
		req.argv[i] = strs[i];
	for (uint32_t i = 0; i < req.envc; i++)
		req.envp[i] = strs[req.argc + i];
	req.cwd = strs[req.argc + req.envc];
	req.user = strs[req.argc + req.envc + 1];

	n = exec_request_encode(enc, sizeof(enc), &req);
	if (n == -ENOSPC)
		abort();	/* enc holds the largest frame */
	if (n < 0)
		return;
	r = exec_request_decode(enc + FRAME_HEADER_SIZE,
				(size_t)n - FRAME_HEADER_SIZE, &msg2.u.req);
	if (r != 0)
		abort();
	if (msg2.u.req.flags != req.flags || msg2.u.req.uid != req.uid ||
	    memcmp(&msg2.u.req.winsize, &req.winsize, sizeof(req.winsize)) != 0 ||
	    msg2.u.req.argc != req.argc || msg2.u.req.envc != req.envc ||
	    strcmp(msg2.u.req.cwd, req.cwd) != 0 ||
	    strcmp(msg2.u.req.user, req.user) != 0)
		abort();
	for (uint32_t i = 0; i < req.argc; i++)
		if (strcmp(msg2.u.req.argv[i], req.argv[i]) != 0)
			abort();
	for (uint32_t i = 0; i < req.envc; i++)
		if (strcmp(msg2.u.req.envp[i], req.envp[i]) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ctl;

	if (size < 2)
		return 0;
	ctl = data[0];
	switch ((ctl >> 1) % 3) {
	case 0:
		mode_stream(ctl & 1, data[1], data + 2, size - 2);
		break;
	case 1:
		mode_message(data[1], data + 2, size - 2);
		break;
	default:
		mode_encode(data + 1, size - 1);
		break;
	}
	return 0;
}
