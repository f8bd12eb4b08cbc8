/* proto/frame and proto/exec: every message round-trips through the
 * encoder, the stream decoder (however the bytes are chunked) and the
 * message decoder; every malformed or out-of-range input is refused with
 * the documented error. */
#include "proto/exec.h"
#include "proto/frame.h"
#include "proto/ports.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t buf[FRAME_MAX_SIZE + 64];
static uint8_t buf2[FRAME_MAX_SIZE + 64];
static struct frame_decoder dec;
static struct exec_msg out;

/* ---- the messages every test draws on ---- */

static const char *const argv_min[] = { "true" };
static const char *const argv_odd[] = {
	"sh", "-c", "printf '%s\\n' \"$@\"", "", "a=b", "\xff\xfe not utf-8",
	"--", " spaced ",
};
static const char *const env_some[] = {
	"PATH=/usr/bin:/bin", "EMPTY=", "K==v", "LANG=C.UTF-8", "x=\xc3\xa9",
};
static const uint8_t bytes_bin[] = { 0, 1, 2, 0xff, '\n', 0, 0x1b, '[' };
static uint8_t bytes_big[FRAME_MAX_PAYLOAD];

struct rt_case {
	const char *name;
	bool to_guest;
	struct exec_msg msg;
};

static struct rt_case cases[32];
static size_t ncases;

static struct exec_msg *add(const char *name, uint8_t type)
{
	struct rt_case *c = &cases[ncases++];

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->to_guest = exec_type_to_guest(type);
	c->msg.type = type;
	return &c->msg;
}

static void set_req(struct exec_request *r, uint16_t flags, uint32_t uid,
		    const char *user, const char *cwd, const char *const *argv,
		    size_t argc, const char *const *envp, size_t envc)
{
	r->version = 0;
	r->winsize = (struct exec_winsize){ 0, 0, 0, 0 };
	r->flags = flags;
	r->uid = uid;
	r->user = user;
	r->cwd = cwd;
	r->argc = (uint32_t)argc;
	r->envc = (uint32_t)envc;
	for (size_t i = 0; i < argc; i++)
		r->argv[i] = argv[i];
	for (size_t i = 0; i < envc; i++)
		r->envp[i] = envp[i];
}

static void build_cases(void)
{
	struct exec_msg *m;

	if (ncases)
		return;
	for (size_t i = 0; i < sizeof(bytes_big); i++)
		bytes_big[i] = (uint8_t)(i * 7 + (i >> 8));

	m = add("request minimal", EXEC_MSG_REQUEST);
	set_req(&m->u.req, 0, 0, "", "", argv_min, 1, NULL, 0);
	m = add("request tty uid env", EXEC_MSG_REQUEST);
	set_req(&m->u.req, EXEC_REQ_TTY | EXEC_REQ_UID, 1000, "", "/home/me/project",
		argv_odd, NELEM(argv_odd), env_some, NELEM(env_some));
	m->u.req.winsize = (struct exec_winsize){ 50, 132, 1320, 1000 };
	m = add("request user name", EXEC_MSG_REQUEST);
	set_req(&m->u.req, 0, 0, "agent", "/", argv_odd, 2, env_some, 1);
	m = add("request uid 0, tty 0x0", EXEC_MSG_REQUEST);
	set_req(&m->u.req, EXEC_REQ_TTY | EXEC_REQ_UID, 0, "", "", argv_min, 1,
		NULL, 0);

	m = add("stdin binary", EXEC_MSG_STDIN_DATA);
	m->u.data.data = bytes_bin;
	m->u.data.len = sizeof(bytes_bin);
	m = add("stdin one byte", EXEC_MSG_STDIN_DATA);
	m->u.data.data = bytes_bin;
	m->u.data.len = 1;
	m = add("stdin 64 KiB", EXEC_MSG_STDIN_DATA);
	m->u.data.data = bytes_big;
	m->u.data.len = sizeof(bytes_big);
	add("stdin eof", EXEC_MSG_STDIN_EOF);
	m = add("window size", EXEC_MSG_WINDOW_SIZE);
	m->u.winsize = (struct exec_winsize){ 24, 80, 0, 0 };
	m = add("window size max", EXEC_MSG_WINDOW_SIZE);
	m->u.winsize = (struct exec_winsize){ 65535, 65535, 65535, 65535 };
	m = add("signal 1", EXEC_MSG_SIGNAL);
	m->u.signo = 1;
	m = add("signal 64", EXEC_MSG_SIGNAL);
	m->u.signo = 64;

	m = add("started", EXEC_MSG_STARTED);
	m->u.pid = 2;
	m = add("started max pid", EXEC_MSG_STARTED);
	m->u.pid = EXEC_MAX_PID;
	m = add("stdout", EXEC_MSG_STDOUT_DATA);
	m->u.data.data = bytes_bin;
	m->u.data.len = sizeof(bytes_bin);
	m = add("stderr 64 KiB", EXEC_MSG_STDERR_DATA);
	m->u.data.data = bytes_big;
	m->u.data.len = sizeof(bytes_big);
	add("exit 0", EXEC_MSG_EXIT);
	m = add("exit 255", EXEC_MSG_EXIT);
	m->u.exit.value = 255;
	m = add("killed 9 core", EXEC_MSG_EXIT);
	m->u.exit = (struct exec_exit){ .signaled = true, .core_dumped = true, .value = 9 };
	m = add("killed 64", EXEC_MSG_EXIT);
	m->u.exit = (struct exec_exit){ .signaled = true, .value = 64 };
	m = add("error not found", EXEC_MSG_ERROR);
	m->u.error = (struct exec_error){ EXEC_ERR_NOT_FOUND, "cannot run 'claude': No such file" };
	m = add("error utf-8", EXEC_MSG_ERROR);
	m->u.error = (struct exec_error){ EXEC_ERR_PTY, "n\xc3\xa3o h\xc3\xa1 PTY \xe2\x80\x94 \xf0\x9f\x98\x80" };
	m = add("error empty, unknown code", EXEC_MSG_ERROR);
	m->u.error = (struct exec_error){ 65535, "" };
}

static bool strs_equal(const char *const *a, const char *const *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool msg_equal(const struct exec_msg *a, const struct exec_msg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case EXEC_MSG_REQUEST: {
		const struct exec_request *x = &a->u.req, *y = &b->u.req;

		return x->flags == y->flags && x->uid == y->uid &&
		       memcmp(&x->winsize, &y->winsize, sizeof(x->winsize)) == 0 &&
		       strcmp(x->user, y->user) == 0 && strcmp(x->cwd, y->cwd) == 0 &&
		       x->argc == y->argc && x->envc == y->envc &&
		       strs_equal(x->argv, y->argv, x->argc) &&
		       strs_equal(x->envp, y->envp, x->envc);
	}
	case EXEC_MSG_STDIN_DATA:
	case EXEC_MSG_STDOUT_DATA:
	case EXEC_MSG_STDERR_DATA:
		return a->u.data.len == b->u.data.len &&
		       memcmp(a->u.data.data, b->u.data.data, a->u.data.len) == 0;
	case EXEC_MSG_STDIN_EOF:
		return true;
	case EXEC_MSG_WINDOW_SIZE:
		return memcmp(&a->u.winsize, &b->u.winsize,
			      sizeof(a->u.winsize)) == 0;
	case EXEC_MSG_SIGNAL:
		return a->u.signo == b->u.signo;
	case EXEC_MSG_STARTED:
		return a->u.pid == b->u.pid;
	case EXEC_MSG_EXIT:
		return a->u.exit.signaled == b->u.exit.signaled &&
		       a->u.exit.core_dumped == b->u.exit.core_dumped &&
		       a->u.exit.value == b->u.exit.value;
	case EXEC_MSG_ERROR:
		return a->u.error.code == b->u.error.code &&
		       strcmp(a->u.error.msg, b->u.error.msg) == 0;
	default:
		return false;
	}
}

/* ---- round trips ---- */

TEST(every_message_round_trips)
{
	build_cases();
	for (size_t i = 0; i < ncases; i++) {
		const struct rt_case *c = &cases[i];
		const uint8_t *p = buf;
		size_t left;
		struct frame f;
		int n, r;

		n = exec_msg_encode(buf, sizeof(buf), &c->msg);
		CHECK(n >= (int)FRAME_HEADER_SIZE);
		if (n < 0) {
			fprintf(stderr, "  case '%s': encode %d\n", c->name, n);
			continue;
		}
		left = (size_t)n;
		frame_decoder_init(&dec, c->to_guest ? exec_type_to_guest
						     : exec_type_to_host);
		r = frame_decoder_next(&dec, &p, &left, &f);
		CHECK_EQ(r, 1);
		CHECK_EQ(left, 0);
		if (r != 1)
			continue;
		CHECK_EQ(f.type, c->msg.type);
		CHECK_EQ(f.len, (size_t)n - FRAME_HEADER_SIZE);
		r = exec_msg_decode(f.type, f.payload, f.len, &out);
		CHECK_EQ(r, 0);
		if (r == 0 && !msg_equal(&c->msg, &out)) {
			fprintf(stderr, "  case '%s': decoded differently\n", c->name);
			CHECK(0);
		}
		if (c->msg.type == EXEC_MSG_REQUEST && r == 0) {
			CHECK_EQ(out.u.req.version, EXEC_PROTO_VERSION);
			CHECK(out.u.req.argv[out.u.req.argc] == NULL);
			CHECK(out.u.req.envp[out.u.req.envc] == NULL);
		}
		/* Canonical: encoding what was decoded gives the same bytes. */
		CHECK_EQ(exec_msg_encode(buf2, sizeof(buf2), &out), n);
		CHECK(memcmp(buf, buf2, (size_t)n) == 0);
		/* And the other side's decoder refuses it at its type byte. */
		frame_decoder_init(&dec, c->to_guest ? exec_type_to_host
						     : exec_type_to_guest);
		p = buf;
		left = (size_t)n;
		CHECK_EQ(frame_decoder_next(&dec, &p, &left, &f), -EPROTO);
		CHECK_EQ(left, (size_t)n - 3);
	}
}

TEST(request_layout_is_as_documented)
{
	static struct exec_request r;
	const char *argv[] = { "ls", "-l" }, *envp[] = { "A=1" };
	static const uint8_t want[] = {
		0xa7, 1, 0x01, 0, 33, 0, 0, 0,		/* header: 33 bytes */
		1, 0, 0x01, 0, 24, 0, 80, 0, 0, 0, 0, 0, /* version, TTY, 24x80 */
		0, 0, 0, 0, 2, 0, 1, 0,			/* uid, argc, envc */
		'l', 's', 0, '-', 'l', 0, 'A', '=', '1', 0, '/', 0, 0,
	};

	set_req(&r, EXEC_REQ_TTY, 0, "", "/", argv, 2, envp, 1);
	r.winsize.rows = 24;
	r.winsize.cols = 80;
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), sizeof(want));
	CHECK(memcmp(buf, want, sizeof(want)) == 0);
}

TEST(fixed_layouts_are_as_documented)
{
	static const uint8_t sig[] = { 0xa7, 1, 0x05, 0, 4, 0, 0, 0, 15, 0, 0, 0 };
	static const uint8_t ex[] = { 0xa7, 1, 0x84, 0, 8, 0, 0, 0,
				      1, 1, 0, 0, 11, 0, 0, 0 };
	static const uint8_t err[] = { 0xa7, 1, 0x85, 0, 5, 0, 0, 0,
				       3, 0, 'n', 'o', 0 };
	static const uint8_t eof[] = { 0xa7, 1, 0x03, 0, 0, 0, 0, 0 };
	struct exec_exit e = { .signaled = true, .core_dumped = true, .value = 11 };

	CHECK_EQ(exec_signal_encode(buf, sizeof(buf), 15), sizeof(sig));
	CHECK(memcmp(buf, sig, sizeof(sig)) == 0);
	CHECK_EQ(exec_exit_encode(buf, sizeof(buf), &e), sizeof(ex));
	CHECK(memcmp(buf, ex, sizeof(ex)) == 0);
	CHECK_EQ(exec_error_encode(buf, sizeof(buf), 3, "no"), sizeof(err));
	CHECK(memcmp(buf, err, sizeof(err)) == 0);
	CHECK_EQ(exec_stdin_eof_encode(buf, sizeof(buf)), sizeof(eof));
	CHECK(memcmp(buf, eof, sizeof(eof)) == 0);
}

/* ---- the stream decoder ---- */

/* All cases of one direction back to back in buf; returns the length. */
static size_t encode_stream(bool to_guest, size_t *nframes)
{
	size_t off = 0;

	*nframes = 0;
	for (size_t i = 0; i < ncases; i++) {
		int n;

		if (cases[i].to_guest != to_guest || cases[i].msg.u.data.len > 4096)
			continue;
		n = exec_msg_encode(buf + off, sizeof(buf) - off, &cases[i].msg);
		CHECK(n > 0);
		if (n <= 0)
			break;
		off += (size_t)n;
		(*nframes)++;
	}
	return off;
}

static uint32_t rng_state;

static uint32_t rng(void)
{
	/* xorshift32: deterministic, so a failure reproduces. */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* Feed stream[0..len) in chunks chosen by chunk(); check each frame against
 * the cases of that direction, in order. Returns frames seen. */
static size_t feed(bool to_guest, const uint8_t *stream, size_t len,
		   size_t (*chunk)(void))
{
	size_t pos = 0, seen = 0, ci = 0;

	frame_decoder_init(&dec, to_guest ? exec_type_to_guest : exec_type_to_host);
	while (pos < len) {
		size_t n = chunk();
		const uint8_t *p = stream + pos;
		struct frame f;
		int r;

		if (n > len - pos)
			n = len - pos;
		pos += n;
		while ((r = frame_decoder_next(&dec, &p, &n, &f)) > 0) {
			while (ci < ncases && (cases[ci].to_guest != to_guest ||
					       cases[ci].msg.u.data.len > 4096))
				ci++;
			CHECK(ci < ncases);
			if (ci >= ncases)
				return seen;
			CHECK_EQ(exec_msg_decode(f.type, f.payload, f.len, &out), 0);
			CHECK(msg_equal(&cases[ci].msg, &out));
			ci++;
			seen++;
		}
		CHECK_EQ(r, 0);
		CHECK_EQ(n, 0);
	}
	CHECK(!frame_decoder_partial(&dec));
	return seen;
}

static size_t chunk_one(void) { return 1; }
static size_t chunk_all(void) { return SIZE_MAX; }
static size_t chunk_random(void)
{
	/* Mostly short chunks, now and then a long one or an empty one. */
	uint32_t x = rng();
	return x % 8 == 0 ? x % 4096 : x % 23;
}

TEST(stream_byte_at_a_time)
{
	size_t nframes;

	build_cases();
	for (int dir = 0; dir < 2; dir++) {
		size_t len = encode_stream(dir, &nframes);
		CHECK(nframes >= 6);
		CHECK_EQ(feed(dir, buf, len, chunk_one), nframes);
	}
}

TEST(stream_many_frames_in_one_chunk)
{
	size_t nframes;

	build_cases();
	for (int dir = 0; dir < 2; dir++) {
		size_t len = encode_stream(dir, &nframes);
		CHECK_EQ(feed(dir, buf, len, chunk_all), nframes);
	}
}

TEST(stream_random_chunks)
{
	size_t nframes;

	build_cases();
	rng_state = 0x5eed1234u;
	for (int round = 0; round < 200; round++) {
		int dir = round & 1;

		size_t len = encode_stream(dir, &nframes);
		CHECK_EQ(feed(dir, buf, len, chunk_random), nframes);
	}
}

TEST(stream_big_frames_random_chunks)
{
	static const uint32_t lens[] = { FRAME_MAX_PAYLOAD, 1, FRAME_MAX_PAYLOAD, 3 };
	size_t cap = NELEM(lens) * FRAME_MAX_SIZE, off = 0, pos = 0, seen = 0;
	uint8_t *stream = malloc(cap);

	build_cases();
	if (!stream) {
		CHECK(0);
		return;
	}
	for (size_t i = 0; i < NELEM(lens); i++) {
		int n = exec_data_encode(stream + off, cap - off, EXEC_MSG_STDOUT_DATA,
					 bytes_big + (i % 2), lens[i]);
		CHECK(n > 0);
		if (n <= 0)
			goto out;
		off += (size_t)n;
	}
	/* Chunks up to 16 KiB, as a socket hands them out. */
	rng_state = 42;
	frame_decoder_init(&dec, exec_type_to_host);
	while (pos < off) {
		size_t n = rng() % 16384;
		const uint8_t *p = stream + pos;
		struct frame f;
		int r;

		if (n > off - pos)
			n = off - pos;
		pos += n;
		while ((r = frame_decoder_next(&dec, &p, &n, &f)) > 0) {
			CHECK(seen < NELEM(lens));
			if (seen >= NELEM(lens))
				goto out;
			CHECK_EQ(f.len, lens[seen]);
			CHECK(memcmp(f.payload, bytes_big + (seen % 2), f.len) == 0);
			seen++;
		}
		CHECK_EQ(r, 0);
	}
	CHECK_EQ(seen, NELEM(lens));
out:
	free(stream);
}

TEST(stream_partial_and_empty_input)
{
	const uint8_t *p = buf;
	size_t n;
	struct frame f;
	int len = exec_signal_encode(buf, sizeof(buf), 2);

	frame_decoder_init(&dec, exec_type_to_guest);
	n = 0;
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), 0);
	CHECK(!frame_decoder_partial(&dec));
	n = 5;
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), 0);
	CHECK(frame_decoder_partial(&dec));
	n = 0;
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), 0);
	n = (size_t)len - 5 - 1;
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), 0);
	CHECK(frame_decoder_partial(&dec));
	n = 1;
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), 1);
	CHECK(!frame_decoder_partial(&dec));
	CHECK_EQ(f.type, EXEC_MSG_SIGNAL);
	CHECK_EQ(f.len, 4);
}

/* Feed bytes to a fresh to-guest decoder; return what the last call said
 * and how many bytes were left unconsumed. */
static int feed_raw(const uint8_t *bytes, size_t len, size_t *left)
{
	const uint8_t *p = bytes;
	struct frame f;
	int r;

	frame_decoder_init(&dec, exec_type_to_guest);
	*left = len;
	while ((r = frame_decoder_next(&dec, &p, left, &f)) > 0)
		;
	return r;
}

TEST(stream_refusals)
{
	static const struct {
		const char *name;
		uint8_t hdr[8];
		size_t len;	/* bytes fed */
		int want;
		size_t left;	/* bytes not consumed */
	} t[] = {
		{ "bad magic, first byte", { 0x41, 1, 1, 0, 0, 0, 0, 0 }, 8, -EPROTO, 7 },
		{ "text line", { 'O', 'K', ' ', '1', '\n', 0, 0, 0 }, 5, -EPROTO, 4 },
		{ "version 2, second byte", { 0xa7, 2, 1, 0, 0, 0, 0, 0 }, 8, -EPROTONOSUPPORT, 6 },
		{ "version 0", { 0xa7, 0, 1, 0, 0, 0, 0, 0 }, 2, -EPROTONOSUPPORT, 0 },
		{ "type 0", { 0xa7, 1, 0, 0, 0, 0, 0, 0 }, 8, -EPROTO, 5 },
		{ "type 6", { 0xa7, 1, 6, 0, 0, 0, 0, 0 }, 8, -EPROTO, 5 },
		{ "guest type to guest", { 0xa7, 1, 0x84, 0, 8, 0, 0, 0 }, 8, -EPROTO, 5 },
		{ "flags", { 0xa7, 1, 3, 0x80, 0, 0, 0, 0 }, 8, -EPROTO, 4 },
		{ "length 64 KiB + 1", { 0xa7, 1, 2, 0, 0x01, 0, 1, 0 }, 8, -EMSGSIZE, 0 },
		{ "length 4 GiB - 1", { 0xa7, 1, 2, 0, 0xff, 0xff, 0xff, 0xff }, 8, -EMSGSIZE, 0 },
		{ "length 64 KiB is fine", { 0xa7, 1, 2, 0, 0, 0, 1, 0 }, 8, 0, 0 },
	};

	for (size_t i = 0; i < NELEM(t); i++) {
		size_t left;
		int r = feed_raw(t[i].hdr, t[i].len, &left);

		if (r != t[i].want || left != t[i].left) {
			fprintf(stderr, "  '%s': got %d (left %zu), want %d (left %zu)\n",
				t[i].name, r, left, t[i].want, t[i].left);
			CHECK(0);
		}
	}
	CHECK_EQ(feed_raw((const uint8_t[]){ 0xa7, 9 }, 2, &(size_t){ 0 }),
		 -EPROTONOSUPPORT);
	CHECK_EQ(dec.peer_version, 9);
}

TEST(stream_error_is_sticky_and_after_good_frames)
{
	const uint8_t *p;
	size_t n, left;
	struct frame f;
	int a = exec_signal_encode(buf, sizeof(buf), 15);
	int b = exec_stdin_eof_encode(buf + a, sizeof(buf) - (size_t)a);

	buf[a + b] = 0x00;	/* a bad magic right after two good frames */
	buf[a + b + 1] = 0xa7;
	n = (size_t)a + (size_t)b + 2;
	p = buf;
	frame_decoder_init(&dec, exec_type_to_guest);
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), 1);
	CHECK_EQ(f.type, EXEC_MSG_SIGNAL);
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), 1);
	CHECK_EQ(f.type, EXEC_MSG_STDIN_EOF);
	CHECK_EQ(frame_decoder_next(&dec, &p, &n, &f), -EPROTO);
	CHECK_EQ(n, 1);
	/* Dead: even a good frame now gets the same error. */
	p = buf;
	left = (size_t)a;
	CHECK_EQ(frame_decoder_next(&dec, &p, &left, &f), -EPROTO);
	CHECK_EQ(left, (size_t)a);
}

TEST(frame_encode_limits)
{
	CHECK_EQ(frame_encode(buf, sizeof(buf), 2, bytes_big, FRAME_MAX_PAYLOAD),
		 FRAME_MAX_SIZE);
	CHECK_EQ(frame_encode(buf, sizeof(buf), 2, bytes_big, FRAME_MAX_PAYLOAD + 1),
		 -EMSGSIZE);
	CHECK_EQ(frame_encode(buf, 7, 3, NULL, 0), -ENOSPC);
	CHECK_EQ(frame_encode(buf, 8, 3, NULL, 0), 8);
	CHECK_EQ(frame_encode(buf, 10, 2, "abc", 3), -ENOSPC);
	CHECK_EQ(frame_encode(buf, 11, 2, "abc", 3), 11);
	/* In place: the payload already read into buf + header. */
	memcpy(buf + FRAME_HEADER_SIZE, "hello", 5);
	CHECK_EQ(exec_data_encode(buf, sizeof(buf), EXEC_MSG_STDOUT_DATA,
				  buf + FRAME_HEADER_SIZE, 5), 13);
	CHECK(memcmp(buf + FRAME_HEADER_SIZE, "hello", 5) == 0);
	CHECK_EQ(frame_get_u32(buf + 4), 5);
}

/* ---- message decoders refuse what they must ---- */

/* Decode a copy of p[0..len) in a heap block of exactly len bytes, so that
 * ASan catches any read past the payload. */
static int decode_exact(uint8_t type, const uint8_t *p, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, p, len);
	r = exec_msg_decode(type, copy, len, &out);
	free(copy);
	return r;
}

TEST(truncated_and_extended_payloads_refused)
{
	build_cases();
	for (size_t i = 0; i < ncases; i++) {
		const struct exec_msg *m = &cases[i].msg;
		bool data = m->type == EXEC_MSG_STDIN_DATA ||
			    m->type == EXEC_MSG_STDOUT_DATA ||
			    m->type == EXEC_MSG_STDERR_DATA;
		int n = exec_msg_encode(buf, sizeof(buf), m);
		size_t plen;

		CHECK(n > 0);
		if (n <= 0 || (data && m->u.data.len > 4096))
			continue;
		plen = (size_t)n - FRAME_HEADER_SIZE;
		/* Every proper prefix: data of a shorter length is still
		 * data, but an empty one is not. */
		for (size_t k = 0; k < plen; k++) {
			int r = decode_exact(m->type, buf + FRAME_HEADER_SIZE, k);

			if (data ? (k == 0 && r != -EINVAL) || (k > 0 && r != 0)
				 : r >= 0) {
				fprintf(stderr, "  '%s' cut to %zu: %d\n",
					cases[i].name, k, r);
				CHECK(0);
			}
		}
		/* One byte more is refused too (data: just more data). */
		buf[n] = 0;
		if (!data)
			CHECK_EQ(decode_exact(m->type, buf + FRAME_HEADER_SIZE,
					      plen + 1), -EPROTO);
	}
	CHECK_EQ(decode_exact(0x06, buf, 0), -EPROTO);
	CHECK_EQ(decode_exact(0x00, buf, 4), -EPROTO);
}

/* Raw request payload: fixed fields, then the strings listed, each written
 * with its NUL, then extra raw bytes. */
struct raw_req {
	uint16_t version, flags;
	uint16_t ws[4];
	uint32_t uid;
	uint16_t argc, envc;
	const char *strs[8];	/* NULL ends the list */
	const char *tail;	/* raw bytes appended, no NUL added */
	size_t tail_len;
};

static size_t raw_request(uint8_t *p, const struct raw_req *rr)
{
	size_t off = 20;

	frame_put_u16(p, rr->version);
	frame_put_u16(p + 2, rr->flags);
	for (size_t i = 0; i < 4; i++)
		frame_put_u16(p + 4 + 2 * i, rr->ws[i]);
	frame_put_u32(p + 12, rr->uid);
	frame_put_u16(p + 16, rr->argc);
	frame_put_u16(p + 18, rr->envc);
	for (int i = 0; i < 8 && rr->strs[i]; i++) {
		size_t n = strlen(rr->strs[i]) + 1;

		memcpy(p + off, rr->strs[i], n);
		off += n;
	}
	if (rr->tail_len) {
		memcpy(p + off, rr->tail, rr->tail_len);
		off += rr->tail_len;
	}
	return off;
}

static char user32[33], user33[34], cwd4095[4096], cwd4096[4097];

/* Rows name only the fields they need; the rest are zero. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
TEST(request_refusals)
{
	static const struct {
		const char *name;
		struct raw_req rr;
		int want;
	} t[] = {
		{ "valid", { 1, 0, {0}, 0, 1, 0, { "true", "", "" } }, 0 },
		{ "valid, env and empty later arg",
		  { 1, 0, {0}, 0, 2, 1, { "echo", "", "A=", "/w", "" } }, 0 },
		{ "version 2", { 2, 0, {0}, 0, 1, 0, { "true", "", "" } }, -EPROTONOSUPPORT },
		{ "version 0", { 0, 0, {0}, 0, 1, 0, { "true", "", "" } }, -EPROTONOSUPPORT },
		{ "argv empty", { 1, 0, {0}, 0, 0, 0, { "", "" } }, -EINVAL },
		{ "argv[0] empty", { 1, 0, {0}, 0, 1, 0, { "", "", "" } }, -EINVAL },
		{ "too many args", { 1, 0, {0}, 0, EXEC_MAX_ARGS + 1, 0, { "a" } }, -E2BIG },
		{ "too many env", { 1, 0, {0}, 0, 1, EXEC_MAX_ENV + 1, { "a" } }, -E2BIG },
		{ "argc over the strings", { 1, 0, {0}, 0, 3, 0, { "a", "b", "", "" } }, -EPROTO },
		{ "env without =", { 1, 0, {0}, 0, 1, 1, { "a", "FOO", "", "" } }, -EINVAL },
		{ "env with empty key", { 1, 0, {0}, 0, 1, 1, { "a", "=bar", "", "" } }, -EINVAL },
		{ "env with a NUL in it",
		  { 1, 0, {0}, 0, 1, 1, { "a" }, "FOO\0=bar\0\0", 11 }, -EINVAL },
		{ "unknown flag", { 1, 4, {0}, 0, 1, 0, { "a", "", "" } }, -EINVAL },
		{ "winsize without tty", { 1, 0, { 24, 80 }, 0, 1, 0, { "a", "", "" } }, -EINVAL },
		{ "pixels without tty", { 1, 0, { 0, 0, 0, 1 }, 0, 1, 0, { "a", "", "" } }, -EINVAL },
		{ "uid without flag", { 1, 0, {0}, 1000, 1, 0, { "a", "", "" } }, -EINVAL },
		{ "uid -1", { 1, EXEC_REQ_UID, {0}, UINT32_MAX, 1, 0, { "a", "", "" } }, -EINVAL },
		{ "uid and name", { 1, EXEC_REQ_UID, {0}, 5, 1, 0, { "a", "", "agent" } }, -EINVAL },
		{ "user with space", { 1, 0, {0}, 0, 1, 0, { "a", "", "a b" } }, -EINVAL },
		{ "user starts with -", { 1, 0, {0}, 0, 1, 0, { "a", "", "-r" } }, -EINVAL },
		{ "user not ascii", { 1, 0, {0}, 0, 1, 0, { "a", "", "\xc3\xa9" } }, -EINVAL },
		{ "user 32 bytes", { 1, 0, {0}, 0, 1, 0, { "a", "", user32 } }, 0 },
		{ "user 33 bytes", { 1, 0, {0}, 0, 1, 0, { "a", "", user33 } }, -E2BIG },
		{ "cwd relative", { 1, 0, {0}, 0, 1, 0, { "a", "work", "" } }, -EINVAL },
		{ "cwd 4095 bytes", { 1, 0, {0}, 0, 1, 0, { "a", cwd4095, "" } }, 0 },
		{ "cwd 4096 bytes", { 1, 0, {0}, 0, 1, 0, { "a", cwd4096, "" } }, -E2BIG },
		{ "user missing", { 1, 0, {0}, 0, 1, 0, { "a", "" } }, -EPROTO },
		{ "last NUL missing", { 1, 0, {0}, 0, 1, 0, { "a", "" }, "agent", 5 }, -EPROTO },
		{ "trailing byte", { 1, 0, {0}, 0, 1, 0, { "a", "", "" }, "x", 1 }, -EPROTO },
		{ "trailing NUL", { 1, 0, {0}, 0, 1, 0, { "a", "", "" }, "", 1 }, -EPROTO },
	};
	uint8_t *p = buf;

	memset(user32, 'u', 32);
	memset(user33, 'u', 33);
	memset(cwd4095, 'd', 4095);
	memset(cwd4096, 'd', 4096);
	cwd4095[0] = cwd4096[0] = '/';
	for (size_t i = 0; i < NELEM(t); i++) {
		size_t len = raw_request(p, &t[i].rr);
		int r = decode_exact(EXEC_MSG_REQUEST, p, len);

		if (r != t[i].want) {
			fprintf(stderr, "  '%s': got %d, want %d\n", t[i].name, r,
				t[i].want);
			CHECK(0);
		}
		if (t[i].want == -EPROTONOSUPPORT)
			CHECK_EQ(out.u.req.version, t[i].rr.version);
	}
	CHECK_EQ(decode_exact(EXEC_MSG_REQUEST, (const uint8_t *)"\x01", 1), -EPROTO);
	CHECK_EQ(decode_exact(EXEC_MSG_REQUEST, (const uint8_t *)"\x02\x00", 2),
		 -EPROTONOSUPPORT);
}
#pragma GCC diagnostic pop

TEST(fixed_message_refusals)
{
	static const struct {
		const char *name;
		uint8_t type;
		uint8_t p[10];
		size_t len;
		int want;
	} t[] = {
		{ "signal 0", EXEC_MSG_SIGNAL, { 0, 0, 0, 0 }, 4, -EINVAL },
		{ "signal 65", EXEC_MSG_SIGNAL, { 65, 0, 0, 0 }, 4, -EINVAL },
		{ "signal 2^32-1", EXEC_MSG_SIGNAL, { 0xff, 0xff, 0xff, 0xff }, 4, -EINVAL },
		{ "signal 9 as u8", EXEC_MSG_SIGNAL, { 9 }, 1, -EPROTO },
		{ "pid 0", EXEC_MSG_STARTED, { 0, 0, 0, 0 }, 4, -EINVAL },
		{ "pid over limit", EXEC_MSG_STARTED, { 1, 0, 0x40, 0 }, 4, -EINVAL },
		{ "exit 256", EXEC_MSG_EXIT, { 0, 0, 0, 0, 0, 1, 0, 0 }, 8, -EINVAL },
		{ "exit -1", EXEC_MSG_EXIT, { 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff }, 8, -EINVAL },
		{ "core without signal", EXEC_MSG_EXIT, { 0, 1, 0, 0, 1, 0, 0, 0 }, 8, -EINVAL },
		{ "killed by 0", EXEC_MSG_EXIT, { 1, 0, 0, 0, 0, 0, 0, 0 }, 8, -EINVAL },
		{ "killed by 65", EXEC_MSG_EXIT, { 1, 0, 0, 0, 65, 0, 0, 0 }, 8, -EINVAL },
		{ "exit kind 2", EXEC_MSG_EXIT, { 2, 0, 0, 0, 1, 0, 0, 0 }, 8, -EINVAL },
		{ "exit flag 2", EXEC_MSG_EXIT, { 1, 2, 0, 0, 9, 0, 0, 0 }, 8, -EINVAL },
		{ "exit reserved", EXEC_MSG_EXIT, { 0, 0, 0, 1, 1, 0, 0, 0 }, 8, -EPROTO },
		{ "winsize 6 bytes", EXEC_MSG_WINDOW_SIZE, { 24, 0, 80, 0, 0, 0 }, 6, -EPROTO },
		{ "eof with payload", EXEC_MSG_STDIN_EOF, { 0 }, 1, -EPROTO },
		{ "empty stdin", EXEC_MSG_STDIN_DATA, { 0 }, 0, -EINVAL },
		{ "empty stdout", EXEC_MSG_STDOUT_DATA, { 0 }, 0, -EINVAL },
		{ "empty stderr", EXEC_MSG_STDERR_DATA, { 0 }, 0, -EINVAL },
		{ "error code 0", EXEC_MSG_ERROR, { 0, 0, 'x', 0 }, 4, -EINVAL },
		{ "error 1 byte", EXEC_MSG_ERROR, { 3 }, 1, -EPROTO },
		{ "error without NUL", EXEC_MSG_ERROR, { 3, 0, 'x' }, 3, -EPROTO },
		{ "error after NUL", EXEC_MSG_ERROR, { 3, 0, 'x', 0, 'y' }, 5, -EPROTO },
		{ "error ok", EXEC_MSG_ERROR, { 3, 0, 'x', 0 }, 4, 0 },
	};

	for (size_t i = 0; i < NELEM(t); i++) {
		int r = decode_exact(t[i].type, t[i].p, t[i].len);

		if (r != t[i].want) {
			fprintf(stderr, "  '%s': got %d, want %d\n", t[i].name, r,
				t[i].want);
			CHECK(0);
		}
	}
}

TEST(error_text_is_safe_utf8)
{
	static char long_ok[EXEC_MAX_ERROR_MSG + 1], long_bad[EXEC_MAX_ERROR_MSG + 2];
	static const struct {
		const char *text;
		int want;
	} t[] = {
		{ "plain", 0 },
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 0 }, /* é € 😀 U+10FFFF */
		{ "\xc2\xa0", 0 },			/* U+00A0, first after C1 */
		{ "line\nbreak", -EINVAL },
		{ "tab\t", -EINVAL },
		{ "\x1b[2J", -EINVAL },			/* ESC: clear screen */
		{ "del\x7f", -EINVAL },
		{ "\xc2\x9b" "2J", -EINVAL },		/* C1 CSI */
		{ "\xc2\x80", -EINVAL },		/* C1 */
		{ "\xc2\x9f", -EINVAL },		/* C1, the last (APC) */
		{ "a\xc2\x9d" "52;c;eA==\xc2\x9c", -EINVAL },	/* OSC 52 in UTF-8 C1 */
		{ "\xc0\xaf", -EINVAL },		/* overlong '/' */
		{ "\xc1\xbf", -EINVAL },
		{ "\xe0\x80\xaf", -EINVAL },		/* overlong, 3 bytes */
		{ "\xf0\x80\x80\xaf", -EINVAL },	/* overlong, 4 bytes */
		{ "\xed\xa0\x80", -EINVAL },		/* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", -EINVAL },	/* U+110000 */
		{ "\xf5\x80\x80\x80", -EINVAL },
		{ "\xff", -EINVAL },
		{ "\x80", -EINVAL },			/* lone continuation */
		{ "\xe2\x82", -EINVAL },		/* cut short */
		{ "\xe2\x82x", -EINVAL },
	};

	for (size_t i = 0; i < NELEM(t); i++) {
		int n = exec_error_encode(buf, sizeof(buf), 10, t[i].text);
		size_t len = strlen(t[i].text);

		if ((t[i].want == 0 && n != (int)(FRAME_HEADER_SIZE + 3 + len)) ||
		    (t[i].want != 0 && n != t[i].want)) {
			fprintf(stderr, "  text %zu: encode %d\n", i, n);
			CHECK(0);
		}
		/* The decoder says the same of the same bytes on the wire. */
		frame_put_u16(buf2, 10);
		memcpy(buf2 + 2, t[i].text, len + 1);
		CHECK_EQ(decode_exact(EXEC_MSG_ERROR, buf2, len + 3), t[i].want);
	}
	memset(long_ok, 'x', EXEC_MAX_ERROR_MSG);
	memset(long_bad, 'x', EXEC_MAX_ERROR_MSG + 1);
	CHECK(exec_error_encode(buf, sizeof(buf), 1, long_ok) > 0);
	CHECK_EQ(exec_error_encode(buf, sizeof(buf), 1, long_bad), -E2BIG);
	CHECK_EQ(exec_error_encode(buf, sizeof(buf), 0, "x"), -EINVAL);
}

/* ---- encoders refuse what the decoder would ---- */

TEST(encoder_refusals)
{
	static struct exec_request r;
	static const char *many[EXEC_MAX_ARGS + 1];
	static char big[40000];
	const char *two_big[] = { big, big };
	const char *bad_env[] = { "NOEQUALS" }, *empty_key[] = { "=x" };
	struct exec_exit e;
	uint8_t small[16];

	for (size_t i = 0; i < NELEM(many); i++)
		many[i] = "x";
	memset(big, 'b', sizeof(big) - 1);

	set_req(&r, 0, 0, "", "", argv_min, 1, NULL, 0);
	CHECK(exec_request_encode(buf, sizeof(buf), &r) > 0);
	CHECK_EQ(exec_request_encode(small, sizeof(small), &r), -ENOSPC);
	r.argc = 0;
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -EINVAL);
	set_req(&r, 0, 0, "", "", many, EXEC_MAX_ARGS, NULL, 0);
	CHECK(exec_request_encode(buf, sizeof(buf), &r) > 0);
	set_req(&r, 0, 0, "", "", many, EXEC_MAX_ARGS + 1, NULL, 0);
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -E2BIG);
	set_req(&r, 0, 0, "", "", many, 1, many, EXEC_MAX_ENV + 1);
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -E2BIG);
	set_req(&r, 0, 0, "", "", two_big, 2, NULL, 0);
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -E2BIG);
	CHECK_EQ(exec_request_encode(small, sizeof(small), &r), -E2BIG);
	set_req(&r, 0, 0, "", "", argv_min, 1, bad_env, 1);
	CHECK_EQ(exec_request_encode(small, sizeof(small), &r), -EINVAL);
	set_req(&r, 0, 0, "", "", argv_min, 1, empty_key, 1);
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -EINVAL);
	set_req(&r, 0, 0, "", "rel", argv_min, 1, NULL, 0);
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -EINVAL);
	set_req(&r, EXEC_REQ_UID, 7, "agent", "", argv_min, 1, NULL, 0);
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -EINVAL);
	set_req(&r, 0, 0, "", "", argv_min, 1, NULL, 0);
	r.winsize.rows = 1;
	CHECK_EQ(exec_request_encode(buf, sizeof(buf), &r), -EINVAL);
	/* The version is always ours, whatever the struct says. */
	set_req(&r, 0, 0, "", "", argv_min, 1, NULL, 0);
	r.version = 7;
	CHECK(exec_request_encode(buf, sizeof(buf), &r) > 0);
	CHECK_EQ(frame_get_u16(buf + FRAME_HEADER_SIZE), EXEC_PROTO_VERSION);

	CHECK_EQ(exec_signal_encode(buf, sizeof(buf), 0), -EINVAL);
	CHECK_EQ(exec_signal_encode(buf, sizeof(buf), 65), -EINVAL);
	CHECK_EQ(exec_signal_encode(buf, 11, 9), -ENOSPC);
	CHECK_EQ(exec_started_encode(buf, sizeof(buf), 0), -EINVAL);
	CHECK_EQ(exec_started_encode(buf, sizeof(buf), EXEC_MAX_PID + 1), -EINVAL);
	e = (struct exec_exit){ .value = 256 };
	CHECK_EQ(exec_exit_encode(buf, sizeof(buf), &e), -EINVAL);
	e = (struct exec_exit){ .core_dumped = true, .value = 1 };
	CHECK_EQ(exec_exit_encode(buf, sizeof(buf), &e), -EINVAL);
	e = (struct exec_exit){ .signaled = true, .value = 0 };
	CHECK_EQ(exec_exit_encode(buf, sizeof(buf), &e), -EINVAL);
	e = (struct exec_exit){ .signaled = true, .value = 65 };
	CHECK_EQ(exec_exit_encode(buf, sizeof(buf), &e), -EINVAL);
	e = (struct exec_exit){ .value = 3 };
	CHECK_EQ(exec_exit_encode(buf, 15, &e), -ENOSPC);
	CHECK_EQ(exec_data_encode(buf, sizeof(buf), EXEC_MSG_STDOUT_DATA, "", 0), -EINVAL);
	CHECK_EQ(exec_data_encode(buf, sizeof(buf), EXEC_MSG_SIGNAL, "x", 1), -EINVAL);
	CHECK_EQ(exec_data_encode(buf, sizeof(buf), EXEC_MSG_STDIN_DATA, bytes_big,
				  FRAME_MAX_PAYLOAD + 1), -E2BIG);
	CHECK_EQ(exec_data_encode(buf, 9, EXEC_MSG_STDIN_DATA, "xy", 2), -ENOSPC);
	CHECK_EQ(exec_winsize_encode(buf, 15, &(struct exec_winsize){ 1, 1, 0, 0 }),
		 -ENOSPC);
	CHECK_EQ(exec_stdin_eof_encode(buf, 7), -ENOSPC);
	CHECK_EQ(exec_msg_encode(buf, sizeof(buf), &(struct exec_msg){ .type = 0x42 }),
		 -EINVAL);
}

/* ---- message order ---- */

static int seq_feed(struct exec_seq *s, uint8_t type, bool tty)
{
	struct exec_msg m = { .type = type };

	if (type == EXEC_MSG_REQUEST)
		m.u.req.flags = tty ? EXEC_REQ_TTY : 0;
	return exec_type_to_guest(type) ? exec_seq_to_guest(s, &m)
					: exec_seq_to_host(s, &m);
}

TEST(message_order)
{
	static const struct {
		const char *name;
		bool tty;
		uint8_t types[8];	/* 0 ends */
		int fail_at;		/* index refused, -1 if none */
	} t[] = {
		{ "pipes, whole run", false,
		  { 0x01, 0x81, 0x02, 0x82, 0x83, 0x03, 0x05, 0x84 }, -1 },
		{ "tty, whole run", true, { 0x01, 0x04, 0x81, 0x82, 0x04, 0x84 }, -1 },
		{ "refused at once", false, { 0x01, 0x85 }, -1 },
		{ "version error before any request", false, { 0x85 }, -1 },
		{ "stdin before request", false, { 0x02 }, 0 },
		{ "signal before request", false, { 0x05 }, 0 },
		{ "two requests", false, { 0x01, 0x01 }, 1 },
		{ "stdin after eof", false, { 0x01, 0x03, 0x02 }, 2 },
		{ "two eofs", false, { 0x01, 0x03, 0x03 }, 2 },
		{ "window size on pipes", false, { 0x01, 0x04 }, 1 },
		{ "output before started", false, { 0x01, 0x82 }, 1 },
		{ "exit before started", false, { 0x01, 0x84 }, 1 },
		{ "two starts", false, { 0x01, 0x81, 0x81 }, 2 },
		{ "stderr on a tty", true, { 0x01, 0x81, 0x83 }, 2 },
		{ "output after exit", false, { 0x01, 0x81, 0x84, 0x82 }, 3 },
		{ "exit after error", false, { 0x01, 0x81, 0x85, 0x84 }, 3 },
		{ "stdin after guest exit is fine", false,
		  { 0x01, 0x81, 0x84, 0x02, 0x03, 0x05 }, -1 },
		{ "unknown type", false, { 0x01, 0x42 }, 1 },
	};

	for (size_t i = 0; i < NELEM(t); i++) {
		struct exec_seq s;
		int failed = -1;

		exec_seq_init(&s);
		for (int k = 0; k < 8 && t[i].types[k]; k++) {
			int r = seq_feed(&s, t[i].types[k], t[i].tty);

			if (r < 0) {
				CHECK_EQ(r, -EPROTO);
				failed = k;
				break;
			}
		}
		if (failed != t[i].fail_at) {
			fprintf(stderr, "  '%s': refused at %d, want %d\n",
				t[i].name, failed, t[i].fail_at);
			CHECK(0);
		}
	}
}

/* ---- small helpers and constants ---- */

TEST(type_filters_partition)
{
	int to_guest = 0, to_host = 0;

	for (int t = 0; t < 256; t++) {
		bool g = exec_type_to_guest((uint8_t)t), h = exec_type_to_host((uint8_t)t);

		CHECK(!(g && h));
		to_guest += g;
		to_host += h;
		CHECK(!g || !(t & 0x80));
		CHECK(!h || (t & 0x80));
	}
	CHECK_EQ(to_guest, 5);
	CHECK_EQ(to_host, 5);
}

TEST(exit_status_and_error_names)
{
	CHECK_EQ(exec_exit_status(&(struct exec_exit){ .value = 42 }), 42);
	CHECK_EQ(exec_exit_status(&(struct exec_exit){ .signaled = true, .value = 9 }), 137);
	CHECK_EQ(exec_exit_status(&(struct exec_exit){ .signaled = true, .value = 64 }), 192);
	CHECK_STR(exec_error_name(EXEC_ERR_NOT_FOUND), "command not found");
	CHECK_STR(exec_error_name(0), "unknown error");
	CHECK_STR(exec_error_name(999), "unknown error");
	for (unsigned c = EXEC_ERR_VERSION; c <= EXEC_ERR_INTERNAL; c++)
		CHECK(strcmp(exec_error_name((uint16_t)c), "unknown error") != 0);
}

TEST(ports_are_privileged_and_distinct)
{
	/* Under 1024: only root in the guest may listen there (ports.h). */
	CHECK(AIRLOCK_VSOCK_PORT_EXEC < 1024);
	CHECK(AIRLOCK_VSOCK_PORT_SYNC < 1024);
	CHECK(AIRLOCK_VSOCK_PORT_EXEC != AIRLOCK_VSOCK_PORT_SYNC);
}

CHECK_MAIN(TEST_ENTRY(every_message_round_trips),
	   TEST_ENTRY(request_layout_is_as_documented),
	   TEST_ENTRY(fixed_layouts_are_as_documented),
	   TEST_ENTRY(stream_byte_at_a_time),
	   TEST_ENTRY(stream_many_frames_in_one_chunk),
	   TEST_ENTRY(stream_random_chunks),
	   TEST_ENTRY(stream_big_frames_random_chunks),
	   TEST_ENTRY(stream_partial_and_empty_input),
	   TEST_ENTRY(stream_refusals),
	   TEST_ENTRY(stream_error_is_sticky_and_after_good_frames),
	   TEST_ENTRY(frame_encode_limits),
	   TEST_ENTRY(truncated_and_extended_payloads_refused),
	   TEST_ENTRY(request_refusals),
	   TEST_ENTRY(fixed_message_refusals),
	   TEST_ENTRY(error_text_is_safe_utf8),
	   TEST_ENTRY(encoder_refusals),
	   TEST_ENTRY(message_order),
	   TEST_ENTRY(type_filters_partition),
	   TEST_ENTRY(exit_status_and_error_names),
	   TEST_ENTRY(ports_are_privileged_and_distinct))
