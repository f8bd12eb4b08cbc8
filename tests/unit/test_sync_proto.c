/* proto/sync: every message round-trips through the encoder, the stream
 * decoder and the message decoder; every path rule refuses what it should
 * and keeps what it should; every malformed field is refused with the
 * documented error; the order checker allows exactly the documented
 * sequences. */
#include "proto/sync.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint8_t buf[FRAME_MAX_SIZE + 64];
static struct sync_msg in, out;
static struct frame_decoder dec;

static void msg_init(struct sync_msg *m, uint8_t type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

static bool roundtrip(const struct sync_msg *m)
{
	const uint8_t *p = buf;
	struct frame f;
	size_t left;
	int n = sync_msg_encode(buf, sizeof(buf), m), r;

	if (n < 0) {
		fprintf(stderr, "encode type 0x%02x: %d\n", m->type, n);
		return false;
	}
	frame_decoder_init(&dec, m->type & 0x80 ? sync_type_to_host : sync_type_to_guest);
	left = (size_t)n;
	r = frame_decoder_next(&dec, &p, &left, &f);
	if (r != 1 || left != 0)
		return false;
	r = sync_msg_decode(f.type, f.payload, f.len, &out);
	if (r != 0) {
		fprintf(stderr, "decode type 0x%02x: %d\n", m->type, r);
		return false;
	}
	return out.bad == 0;
}

/* ---- paths ---- */

TEST(path_rules)
{
	static const struct {
		const char *path;
		int bad;
	} cases[] = {
		{ "a", SYNC_BAD_NONE },
		{ "a/b/c", SYNC_BAD_NONE },
		{ "name with spaces/\xc3\xa9t\xc3\xa9.txt", SYNC_BAD_NONE },
		{ ".git/objects/ab/cdef", SYNC_BAD_NONE },
		{ "...", SYNC_BAD_NONE },
		{ "..a/b..", SYNC_BAD_NONE },
		{ "\xff\xfe", SYNC_BAD_NONE },	/* bytes, not UTF-8: allowed */
		{ ".airlock-tm", SYNC_BAD_NONE },
		{ "x.airlock-tmp-1", SYNC_BAD_NONE },
		{ "", SYNC_BAD_EMPTY },
		{ "/a", SYNC_BAD_EMPTY },
		{ "a/", SYNC_BAD_EMPTY },
		{ "a//b", SYNC_BAD_EMPTY },
		{ ".", SYNC_BAD_DOT },
		{ "..", SYNC_BAD_DOT },
		{ "a/../b", SYNC_BAD_DOT },
		{ "a/./b", SYNC_BAD_DOT },
		{ "a/..", SYNC_BAD_DOT },
		/* Control characters: the format carries them; the host's
		 * rule refuses them (below). */
		{ "a\nb", SYNC_BAD_NONE },
		{ "a\x1b[31m", SYNC_BAD_NONE },
		{ "d/.airlock-tmp-0123", SYNC_BAD_RESERVED },
		{ ".airlock-tmp-", SYNC_BAD_RESERVED },
	};
	char longname[300], deep[SYNC_MAX_DEPTH * 2 + 4], longpath[SYNC_MAX_PATH + 8];

	for (size_t i = 0; i < NELEM(cases); i++) {
		int bad = sync_path_check(cases[i].path, strlen(cases[i].path));

		if (bad != cases[i].bad)
			fprintf(stderr, "path '%s': %d, expected %d\n", cases[i].path, bad,
				cases[i].bad);
		CHECK_EQ(bad, cases[i].bad);
	}
	CHECK_EQ(sync_path_printable("a\nb", 3), SYNC_BAD_CONTROL);
	CHECK_EQ(sync_path_printable("a\x7f", 2), SYNC_BAD_CONTROL);
	CHECK_EQ(sync_path_printable("\xc3\xa9 x", 4), SYNC_BAD_NONE);
	/* NUL inside the counted bytes. */
	CHECK_EQ(sync_path_check("a\0b", 3), SYNC_BAD_NUL);
	/* NAME_MAX exactly, and one more. */
	memset(longname, 'n', 255);
	longname[255] = 0;
	CHECK_EQ(sync_path_check(longname, 255), SYNC_BAD_NONE);
	longname[255] = 'n';
	longname[256] = 0;
	CHECK_EQ(sync_path_check(longname, 256), SYNC_BAD_NAME_LONG);
	/* Depth: 256 components fine, 257 not. */
	for (size_t i = 0; i < SYNC_MAX_DEPTH; i++) {
		deep[2 * i] = 'd';
		deep[2 * i + 1] = '/';
	}
	deep[2 * SYNC_MAX_DEPTH - 1] = 0;
	CHECK_EQ(sync_path_check(deep, strlen(deep)), SYNC_BAD_NONE);
	deep[2 * SYNC_MAX_DEPTH - 1] = '/';
	deep[2 * SYNC_MAX_DEPTH] = 'd';
	deep[2 * SYNC_MAX_DEPTH + 1] = 0;
	CHECK_EQ(sync_path_check(deep, strlen(deep)), SYNC_BAD_DEEP);
	/* Length: 4095 fine, 4096 not. */
	for (size_t i = 0; i < sizeof(longpath); i++)
		longpath[i] = i % 100 == 99 ? '/' : 'p';
	longpath[SYNC_MAX_PATH] = 0;
	CHECK_EQ(sync_path_check(longpath, SYNC_MAX_PATH), SYNC_BAD_NONE);
	longpath[SYNC_MAX_PATH] = 'p';
	CHECK_EQ(sync_path_check(longpath, SYNC_MAX_PATH + 1), SYNC_BAD_LONG);
	/* A single name never holds '/'. */
	CHECK(sync_name_check("a/b", 3) != 0);
	CHECK_EQ(sync_name_check("ok", 2), 0);
	CHECK(strcmp(sync_bad_text(SYNC_BAD_DOT), "unknown") != 0);
}

/* ---- round trips ---- */

static const struct sync_meta file_meta = { SYNC_FILE, 0644, 5, 1700000000123456789ll };
static const struct sync_meta link_meta = { SYNC_LINK, 0777, 11, -5 };
static const struct sync_meta dir_meta = { SYNC_DIR, 0755, 0, 0 };

TEST(roundtrip_every_type)
{
	static uint8_t data[FRAME_MAX_PAYLOAD];
	struct sync_msg *m = &in;

	msg_init(m, SYNC_MSG_HELLO);
	strcpy(m->key, "0123456789abcdef");
	strcpy(m->text, "/home/u/src/app with space");
	CHECK(roundtrip(m));
	CHECK_STR(out.key, "0123456789abcdef");
	CHECK_STR(out.text, "/home/u/src/app with space");
	CHECK_EQ(out.version, SYNC_PROTO_VERSION);

	msg_init(m, SYNC_MSG_IGNORE);
	strcpy(m->text, "node_modules/");
	CHECK(roundtrip(m));
	CHECK_STR(out.text, "node_modules/");

	msg_init(m, SYNC_MSG_START);
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_PUT);
	m->meta = file_meta;
	m->expect = dir_meta;
	strcpy(m->path, "src/main.c");
	CHECK(roundtrip(m));
	CHECK_STR(out.path, "src/main.c");
	CHECK_EQ(out.meta.kind, SYNC_FILE);
	CHECK_EQ(out.meta.mode, 0644);
	CHECK_EQ(out.meta.size, 5);
	CHECK_EQ(out.meta.mtime, 1700000000123456789ll);
	CHECK_EQ(out.expect.kind, SYNC_DIR);

	msg_init(m, SYNC_MSG_PUT);
	m->meta = link_meta;
	strcpy(m->path, "l");
	strcpy(m->target, "../../x/../y");
	m->meta.size = strlen(m->target);
	CHECK(roundtrip(m));
	CHECK_STR(out.target, "../../x/../y");
	CHECK_EQ(out.meta.mtime, -5);

	msg_init(m, SYNC_MSG_PUT);
	m->meta = file_meta;
	m->flags = SYNC_F_META_ONLY;
	m->expect = file_meta;
	strcpy(m->path, "f");
	CHECK(roundtrip(m));
	CHECK_EQ(out.flags, SYNC_F_META_ONLY);

	msg_init(m, SYNC_MSG_DEL);
	m->expect = file_meta;
	strcpy(m->path, "gone");
	CHECK(roundtrip(m));
	CHECK_EQ(out.expect.size, 5);

	msg_init(m, SYNC_MSG_RESEND);
	strcpy(m->path, "d");
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_FLUSH);
	m->seq = 0xdeadbeef;
	CHECK(roundtrip(m));
	CHECK_EQ(out.seq, 0xdeadbeef);

	msg_init(m, SYNC_MSG_EPOCH);
	memset(m->epoch, 0x5a, SYNC_EPOCH_LEN);
	CHECK(roundtrip(m));
	CHECK_EQ(out.epoch[15], 0x5a);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	msg_init(m, SYNC_MSG_PUT_DATA);
	m->data = data;
	m->len = sizeof(data);
	CHECK(roundtrip(m));
	CHECK_EQ(out.len, FRAME_MAX_PAYLOAD);
	CHECK(memcmp(out.data, data, sizeof(data)) == 0);

	msg_init(m, SYNC_MSG_PUT_END);
	m->flags = SYNC_END_ABANDONED;
	CHECK(roundtrip(m));
	CHECK_EQ(out.flags, SYNC_END_ABANDONED);

	msg_init(m, SYNC_MSG_WELCOME);
	memset(m->epoch, 1, SYNC_EPOCH_LEN);
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_ENTRY);
	m->meta = (struct sync_meta){ SYNC_FIFO, 0600, 0, 1 };
	strcpy(m->path, "pipe");
	CHECK(roundtrip(m));
	CHECK_EQ(out.meta.kind, SYNC_FIFO);

	msg_init(m, SYNC_MSG_LIST_END);
	m->seq = 3;
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_CHANGE);
	m->meta = file_meta;
	strcpy(m->path, "a/b");
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_GONE);
	strcpy(m->path, "a");
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_MOVE);
	m->meta = dir_meta;
	strcpy(m->path, "old name");
	strcpy(m->to, "new/name");
	CHECK(roundtrip(m));
	CHECK_STR(out.path, "old name");
	CHECK_STR(out.to, "new/name");

	msg_init(m, SYNC_MSG_BATCH);
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_APPLIED);
	strcpy(m->path, "x");
	CHECK(roundtrip(m));
	CHECK_EQ(out.meta.kind, SYNC_NONE);

	msg_init(m, SYNC_MSG_REJECTED);
	m->err = EEXIST;
	strcpy(m->path, "x");
	CHECK(roundtrip(m));
	CHECK_EQ(out.err, EEXIST);

	msg_init(m, SYNC_MSG_FLUSHED);
	m->seq = 7;
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_FAIL);
	m->err = ENOSPC;
	strcpy(m->text, "the sandbox disk is full \xe2\x80\x94 sorry");
	CHECK(roundtrip(m));
	CHECK_STR(out.text, "the sandbox disk is full \xe2\x80\x94 sorry");

	msg_init(m, SYNC_MSG_CHANGE_DATA);
	m->data = (const uint8_t *)"x";
	m->len = 1;
	CHECK(roundtrip(m));

	msg_init(m, SYNC_MSG_CHANGE_END);
	CHECK(roundtrip(m));
}

/* Bad names decode (the stream goes on) with bad set; the encoder will not
 * send them. */
TEST(bad_paths_are_per_record)
{
	struct sync_msg *m = &in;
	uint8_t raw[64];
	int n;

	msg_init(m, SYNC_MSG_CHANGE);
	m->meta = file_meta;
	strcpy(m->path, "../etc/passwd");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);

	/* Hand-made: CHANGE flags 0, meta FILE 0644 size 1 mtime 0, path "a/../b". */
	n = 0;
	raw[n++] = 0;
	raw[n++] = SYNC_FILE;
	raw[n++] = 0x44;
	raw[n++] = 0x01;
	memset(raw + n, 0, 16);
	raw[n] = 1;
	n += 16;
	raw[n++] = 6;
	raw[n++] = 0;
	memcpy(raw + n, "a/../b", 6);
	n += 6;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_CHANGE, raw, (size_t)n, &out), 0);
	CHECK_EQ(out.bad, SYNC_BAD_DOT);
	CHECK_EQ(out.meta.size, 1);	/* still known: its content is skipped */

	/* A NUL inside the counted path. */
	memcpy(raw + n - 6, "ab\0cde", 6);
	CHECK_EQ(sync_msg_decode(SYNC_MSG_CHANGE, raw, (size_t)n, &out), 0);
	CHECK_EQ(out.bad, SYNC_BAD_NUL);

	/* A link target with a control character goes (the host refuses
	 * it by its own rule); a HELLO root with one does not. */
	msg_init(m, SYNC_MSG_CHANGE);
	m->meta = link_meta;
	strcpy(m->path, "l");
	strcpy(m->target, "abc\x1b[2Jxyz");
	m->meta.size = strlen(m->target);
	CHECK(sync_msg_encode(buf, sizeof(buf), m) > 0);
	msg_init(m, SYNC_MSG_HELLO);
	strcpy(m->key, "0123456789abcdef");
	strcpy(m->text, "/a\x1b");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);

	/* An IGNORE pattern with a newline. */
	msg_init(m, SYNC_MSG_IGNORE);
	strcpy(m->text, "a\nb");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
}

/* Field by field: each change to a good payload gives the documented
 * error. */
TEST(malformed_fields)
{
	struct sync_msg *m = &in;
	uint8_t p[256];
	int n;

	/* A good PUT of a file to corrupt. */
	msg_init(m, SYNC_MSG_PUT);
	m->meta = file_meta;
	strcpy(m->path, "f");
	n = sync_msg_encode(buf, sizeof(buf), m);
	CHECK(n > 0);
	n -= FRAME_HEADER_SIZE;
	memcpy(p, buf + FRAME_HEADER_SIZE, (size_t)n);
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), 0);
	/* Short, long. */
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n - 1, &out), -EPROTO);
	p[n] = 0;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n + 1, &out), -EPROTO);
	/* Unknown flag. */
	p[0] = 0x80;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), -EINVAL);
	p[0] = 0;
	/* Unknown kind; a kind PUT cannot carry. */
	p[1] = 9;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), -EINVAL);
	p[1] = SYNC_FIFO;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), -EINVAL);
	p[1] = SYNC_FILE;
	/* Mode over 07777. */
	p[2] = 0x00;
	p[3] = 0x10;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), -EINVAL);
	p[2] = 0xa4;
	p[3] = 0x01;
	/* A file over SYNC_MAX_FILE. */
	p[11] = 0x10;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), -EINVAL);
	p[11] = 0;
	/* expect: NONE with a nonzero field. */
	p[1 + 19 + 3] = 1;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), -EINVAL);
	p[1 + 19 + 3] = 0;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), 0);
	/* A path length past the end. */
	p[1 + 38] = 200;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT, p, (size_t)n, &out), -EPROTO);

	/* META_ONLY on a directory. */
	msg_init(m, SYNC_MSG_CHANGE);
	m->meta = dir_meta;
	m->flags = SYNC_F_META_ONLY;
	strcpy(m->path, "d");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	/* A directory with a size; a link of size 0. */
	m->flags = 0;
	m->meta.size = 1;
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	m->meta = link_meta;
	m->meta.size = 0;
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);

	/* HELLO: another version; a bad key; a relative or "/" root. */
	p[0] = 2;
	p[1] = 0;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_HELLO, p, 4, &out), -EPROTONOSUPPORT);
	CHECK_EQ(out.version, 2);
	msg_init(m, SYNC_MSG_HELLO);
	strcpy(m->key, "0123456789ABCDEF");
	strcpy(m->text, "/w");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	strcpy(m->key, "0123456789abcdef");
	CHECK(sync_msg_encode(buf, sizeof(buf), m) > 0);
	strcpy(m->text, "w");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	strcpy(m->text, "/");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	strcpy(m->text, "/a/../b");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	strcpy(m->text, "/a/");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);

	/* FAIL: errno 0; text with an escape or bad UTF-8. */
	msg_init(m, SYNC_MSG_FAIL);
	strcpy(m->text, "x");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	m->err = 5;
	strcpy(m->text, "\x1b]0;owned\x07");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);
	strcpy(m->text, "\xc0\xaf");
	CHECK_EQ(sync_msg_encode(buf, sizeof(buf), m), -EINVAL);

	/* END: unknown status. DATA: empty. Fixed sizes. */
	p[0] = 2;
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT_END, p, 1, &out), -EINVAL);
	CHECK_EQ(sync_msg_decode(SYNC_MSG_PUT_DATA, p, 0, &out), -EPROTO);
	CHECK_EQ(sync_msg_decode(SYNC_MSG_FLUSH, p, 3, &out), -EPROTO);
	CHECK_EQ(sync_msg_decode(SYNC_MSG_START, p, 1, &out), -EPROTO);
	CHECK_EQ(sync_msg_decode(SYNC_MSG_EPOCH, p, 15, &out), -EPROTO);
	/* Unknown type. */
	CHECK_EQ(sync_msg_decode(0x7f, p, 0, &out), -EPROTO);
	CHECK(!sync_type_to_guest(SYNC_MSG_CHANGE));
	CHECK(!sync_type_to_host(SYNC_MSG_PUT));
}

/* ---- order ---- */

struct step {
	uint8_t type;
	uint8_t kind;
	uint64_t size;
	uint8_t flags;
	uint32_t len;
	int want;
};

static int run_steps(bool to_guest, const struct step *s, size_t n)
{
	struct sync_seq q;
	struct sync_msg m;

	sync_seq_init(&q);
	for (size_t i = 0; i < n; i++) {
		int r;

		memset(&m, 0, sizeof(m));
		m.type = s[i].type;
		m.meta.kind = s[i].kind;
		m.meta.size = s[i].size;
		m.flags = s[i].flags;
		m.len = s[i].len;
		r = to_guest ? sync_seq_to_guest(&q, &m) : sync_seq_to_host(&q, &m);
		if (r != s[i].want) {
			fprintf(stderr, "step %zu (type 0x%02x): %d, expected %d\n", i,
				s[i].type, r, s[i].want);
			return -1;
		}
		if (r < 0)
			return 0;
	}
	return 0;
}

TEST(order_to_guest)
{
	static const struct step good[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_IGNORE, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_START, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_FILE, 10, 0, 0, 0 },
		{ SYNC_MSG_PUT_DATA, 0, 0, 0, 4, 0 },
		{ SYNC_MSG_PUT_DATA, 0, 0, 0, 6, 0 },
		{ SYNC_MSG_PUT_END, 0, 0, SYNC_END_DONE, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_FILE, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT_END, 0, 0, SYNC_END_DONE, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_FILE, 9, SYNC_F_META_ONLY, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_DIR, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_FILE, 9, 0, 0, 0 },
		{ SYNC_MSG_PUT_DATA, 0, 0, 0, 1, 0 },
		{ SYNC_MSG_PUT_END, 0, 0, SYNC_END_ABANDONED, 0, 0 },
		{ SYNC_MSG_DEL, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_FLUSH, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_EPOCH, 0, 0, 0, 0, 0 },
	};
	static const struct step start_first[] = {
		{ SYNC_MSG_START, 0, 0, 0, 0, -EPROTO },
	};
	static const struct step two_hellos[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, -EPROTO },
	};
	static const struct step put_before_start[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_DIR, 0, 0, 0, -EPROTO },
	};
	static const struct step ignore_late[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_START, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_IGNORE, 0, 0, 0, 0, -EPROTO },
	};
	static const struct step too_much_data[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_START, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_FILE, 3, 0, 0, 0 },
		{ SYNC_MSG_PUT_DATA, 0, 0, 0, 4, -EPROTO },
	};
	static const struct step end_early[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_START, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_FILE, 3, 0, 0, 0 },
		{ SYNC_MSG_PUT_END, 0, 0, SYNC_END_DONE, 0, -EPROTO },
	};
	static const struct step other_inside_content[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_START, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_FILE, 3, 0, 0, 0 },
		{ SYNC_MSG_DEL, 0, 0, 0, 0, -EPROTO },
	};
	static const struct step stray_data[] = {
		{ SYNC_MSG_HELLO, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_START, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT_DATA, 0, 0, 0, 1, -EPROTO },
	};
	static const struct step host_type[] = {
		{ SYNC_MSG_WELCOME, 0, 0, 0, 0, -EPROTO },
	};

	CHECK_EQ(run_steps(true, good, NELEM(good)), 0);
	CHECK_EQ(run_steps(true, start_first, NELEM(start_first)), 0);
	CHECK_EQ(run_steps(true, two_hellos, NELEM(two_hellos)), 0);
	CHECK_EQ(run_steps(true, put_before_start, NELEM(put_before_start)), 0);
	CHECK_EQ(run_steps(true, ignore_late, NELEM(ignore_late)), 0);
	CHECK_EQ(run_steps(true, too_much_data, NELEM(too_much_data)), 0);
	CHECK_EQ(run_steps(true, end_early, NELEM(end_early)), 0);
	CHECK_EQ(run_steps(true, other_inside_content, NELEM(other_inside_content)), 0);
	CHECK_EQ(run_steps(true, stray_data, NELEM(stray_data)), 0);
	CHECK_EQ(run_steps(true, host_type, NELEM(host_type)), 0);
}

TEST(order_to_host)
{
	static const struct step good[] = {
		{ SYNC_MSG_WELCOME, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_ENTRY, SYNC_FILE, 100, 0, 0, 0 },
		{ SYNC_MSG_ENTRY, SYNC_DIR, 0, 0, 0, 0 },
		{ SYNC_MSG_LIST_END, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_CHANGE, SYNC_FILE, 2, 0, 0, 0 },
		{ SYNC_MSG_CHANGE_DATA, 0, 0, 0, 2, 0 },
		{ SYNC_MSG_CHANGE_END, 0, 0, SYNC_END_DONE, 0, 0 },
		{ SYNC_MSG_CHANGE, SYNC_FIFO, 0, 0, 0, 0 },
		{ SYNC_MSG_GONE, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_MOVE, SYNC_DIR, 0, 0, 0, 0 },
		{ SYNC_MSG_BATCH, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_APPLIED, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_REJECTED, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_FLUSHED, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_CHANGE, SYNC_FILE, 5, 0, 0, 0 },
		{ SYNC_MSG_FAIL, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_BATCH, 0, 0, 0, 0, -EPROTO },
	};
	static const struct step entry_late[] = {
		{ SYNC_MSG_WELCOME, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_LIST_END, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_ENTRY, SYNC_FILE, 0, 0, 0, -EPROTO },
	};
	static const struct step change_in_listing[] = {
		{ SYNC_MSG_WELCOME, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_CHANGE, SYNC_DIR, 0, 0, 0, -EPROTO },
	};
	static const struct step fail_first[] = {
		{ SYNC_MSG_FAIL, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_WELCOME, 0, 0, 0, 0, -EPROTO },
	};
	static const struct step guest_type[] = {
		{ SYNC_MSG_WELCOME, 0, 0, 0, 0, 0 },
		{ SYNC_MSG_PUT, SYNC_DIR, 0, 0, 0, -EPROTO },
	};

	CHECK_EQ(run_steps(false, good, NELEM(good)), 0);
	CHECK_EQ(run_steps(false, entry_late, NELEM(entry_late)), 0);
	CHECK_EQ(run_steps(false, change_in_listing, NELEM(change_in_listing)), 0);
	CHECK_EQ(run_steps(false, fail_first, NELEM(fail_first)), 0);
	CHECK_EQ(run_steps(false, guest_type, NELEM(guest_type)), 0);
}

/* The encoder reads only the fields a type carries: garbage elsewhere
 * (unterminated arrays) is not its business. */
TEST(encoder_reads_only_its_fields)
{
	struct sync_msg *m = &in;

	memset(m, 'x', sizeof(*m));
	m->type = SYNC_MSG_RESEND;
	strcpy(m->path, "p");
	CHECK(sync_msg_encode(buf, sizeof(buf), m) > 0);
	m->type = SYNC_MSG_FLUSH;
	m->seq = 1;
	CHECK(sync_msg_encode(buf, sizeof(buf), m) > 0);
	/* Too small a buffer. */
	m->type = SYNC_MSG_RESEND;
	CHECK_EQ(sync_msg_encode(buf, 10, m), -ENOSPC);
}

CHECK_MAIN(TEST_ENTRY(path_rules), TEST_ENTRY(roundtrip_every_type),
	   TEST_ENTRY(bad_paths_are_per_record), TEST_ENTRY(malformed_fields),
	   TEST_ENTRY(order_to_guest), TEST_ENTRY(order_to_host),
	   TEST_ENTRY(encoder_reads_only_its_fields))
