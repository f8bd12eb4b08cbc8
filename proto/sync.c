/* Sync protocol codecs, path checks and message order: see sync.h and
 * docs/protocol.md. Every check lives in one helper that the decoder and
 * the encoder both call, so the two cannot drift apart. */
#include "proto/sync.h"
#include "proto/text.h"

#include <errno.h>
#include <string.h>

#define META_SIZE 19u		/* kind u8, mode u16, size u64, mtime s64 */

bool sync_type_to_guest(uint8_t type)
{
	return type >= SYNC_MSG_HELLO && type <= SYNC_MSG_PUT_END;
}

bool sync_type_to_host(uint8_t type)
{
	return type >= SYNC_MSG_WELCOME && type <= SYNC_MSG_CHANGE_END;
}

/* ---- names ---- */

const char *sync_bad_text(int bad)
{
	switch (bad) {
	case SYNC_BAD_NONE:
		return "fine";
	case SYNC_BAD_EMPTY:
		return "an empty name";
	case SYNC_BAD_LONG:
		return "a path over 4095 bytes";
	case SYNC_BAD_DEEP:
		return "a path over 256 levels deep";
	case SYNC_BAD_NAME_LONG:
		return "a name over 255 bytes";
	case SYNC_BAD_NUL:
		return "a NUL byte in a name";
	case SYNC_BAD_DOT:
		return "a '.' or '..' name";
	case SYNC_BAD_CONTROL:
		return "a control character in a name";
	case SYNC_BAD_RESERVED:
		return "a name reserved for airlock's temporary files";
	case SYNC_BAD_TARGET:
		return "a bad symlink target (empty, over 4095 bytes, or a NUL)";
	case SYNC_BAD_PATTERN:
		return "a bad pattern";
	}
	return "unknown";
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int sync_name_check(const char *name, size_t len)
{
	if (len == 0)
		return SYNC_BAD_EMPTY;
	if (len > SYNC_MAX_NAME)
		return SYNC_BAD_NAME_LONG;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return SYNC_BAD_DOT;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == 0)
			return SYNC_BAD_NUL;
		if (c == '/')
			return SYNC_BAD_EMPTY;	/* only sync_path_check splits */
	}
	if (len >= sizeof(SYNC_TMP_PREFIX) - 1 &&
	    memcmp(name, SYNC_TMP_PREFIX, sizeof(SYNC_TMP_PREFIX) - 1) == 0)
		return SYNC_BAD_RESERVED;
	return SYNC_BAD_NONE;
}

int sync_path_check(const char *path, size_t len)
{
	size_t start = 0, depth = 0;

	if (len == 0)
		return SYNC_BAD_EMPTY;
	if (len > SYNC_MAX_PATH)
		return SYNC_BAD_LONG;
	if (memchr(path, 0, len))
		return SYNC_BAD_NUL;
	for (size_t i = 0; i <= len; i++) {
		int bad;

		if (i < len && path[i] != '/')
			continue;
		if (++depth > SYNC_MAX_DEPTH)
			return SYNC_BAD_DEEP;
		bad = sync_name_check(path + start, i - start);
		if (bad)
			return bad;
		start = i + 1;
	}
	return SYNC_BAD_NONE;
}

int sync_path_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (is_control((unsigned char)s[i]))
			return SYNC_BAD_CONTROL;
	return SYNC_BAD_NONE;
}

static int check_target(const char *t, size_t len)
{
	if (len == 0 || len > SYNC_MAX_TARGET || memchr(t, 0, len))
		return SYNC_BAD_TARGET;
	return SYNC_BAD_NONE;
}

static int check_pattern(const char *s, size_t len)
{
	if (len == 0 || len > SYNC_MAX_PATTERN || memchr(s, 0, len))
		return SYNC_BAD_PATTERN;
	for (size_t i = 0; i < len; i++)
		if (is_control((unsigned char)s[i]))
			return SYNC_BAD_PATTERN;
	return SYNC_BAD_NONE;
}

/* The workspace root: absolute, not "/", each component a fine and
 * printable name. */
static int check_root(const char *s, size_t len)
{
	if (len < 2 || s[0] != '/' || s[len - 1] == '/')
		return -EINVAL;
	return sync_path_check(s + 1, len - 1) || sync_path_printable(s, len) ?
	       -EINVAL : 0;
}

static int check_key(const char *k, size_t len)
{
	if (len != SYNC_KEY_LEN)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
			return -EINVAL;
	return 0;
}

/* ---- metadata ---- */

/* What a kind allows in each field; which kinds a message may carry is
 * check_kind_for()'s. */
static int check_meta(const struct sync_meta *m)
{
	if (m->kind > SYNC_BLK || m->mode > 07777)
		return -EINVAL;
	switch (m->kind) {
	case SYNC_NONE:
		return m->mode || m->size || m->mtime ? -EINVAL : 0;
	case SYNC_FILE:
		return m->size <= SYNC_MAX_FILE ? 0 : -EINVAL;
	case SYNC_LINK:
		return m->size >= 1 && m->size <= SYNC_MAX_TARGET ? 0 : -EINVAL;
	default:
		return m->size == 0 ? 0 : -EINVAL;
	}
}

static int check_kind_for(uint8_t type, const struct sync_meta *m, uint8_t flags)
{
	switch (type) {
	case SYNC_MSG_PUT:
		if (!sync_kind_is_entry(m->kind))
			return -EINVAL;
		break;
	case SYNC_MSG_CHANGE:
	case SYNC_MSG_ENTRY:
		if (m->kind == SYNC_NONE)
			return -EINVAL;
		break;
	case SYNC_MSG_MOVE:
		if (!sync_kind_is_entry(m->kind))
			return -EINVAL;
		break;
	case SYNC_MSG_APPLIED:
		if (m->kind > SYNC_LINK)
			return -EINVAL;
		break;
	}
	if ((flags & SYNC_F_META_ONLY) && m->kind != SYNC_FILE)
		return -EINVAL;
	return 0;
}

static int check_expect(const struct sync_meta *m)
{
	return m->kind <= SYNC_LINK ? 0 : -EINVAL;
}

/* ---- a cursor over a payload ---- */

struct rd {
	const uint8_t *p;
	size_t len, off;
	bool short_;
};

static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *at;

	if (r->short_ || r->len - r->off < n) {
		r->short_ = true;
		return NULL;
	}
	at = r->p + r->off;
	r->off += n;
	return at;
}

static uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_take(r, 1);

	return p ? p[0] : 0;
}

static uint16_t rd_u16(struct rd *r)
{
	const uint8_t *p = rd_take(r, 2);

	return p ? frame_get_u16(p) : 0;
}

static uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p ? frame_get_u32(p) : 0;
}

static uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_take(r, 8);

	return p ? (uint64_t)frame_get_u32(p) | (uint64_t)frame_get_u32(p + 4) << 32 : 0;
}

static void rd_meta(struct rd *r, struct sync_meta *m)
{
	m->kind = rd_u8(r);
	m->mode = rd_u16(r);
	m->size = rd_u64(r);
	m->mtime = (int64_t)rd_u64(r);
}

/* A u16-counted string of at most max bytes, copied NUL-terminated into
 * out (which holds max + 1). *slen gets its length; -EPROTO if it is cut
 * short or over max. Embedded NULs are kept for the caller's check. */
static int rd_str(struct rd *r, char *out, size_t max, size_t *slen)
{
	uint16_t n = rd_u16(r);
	const uint8_t *p;

	if (r->short_ || n > max)
		return -EPROTO;
	p = rd_take(r, n);
	if (!p)
		return -EPROTO;
	memcpy(out, p, n);
	out[n] = 0;
	*slen = n;
	return 0;
}

/* ---- a writer ---- */

struct wr {
	uint8_t *p;
	size_t size, off;
	bool full;
};

static void wr_put(struct wr *w, const void *src, size_t n)
{
	if (w->full || w->size - w->off < n) {
		w->full = true;
		return;
	}
	if (n)
		memcpy(w->p + w->off, src, n);
	w->off += n;
}

static void wr_u8(struct wr *w, uint8_t v)
{
	wr_put(w, &v, 1);
}

static void wr_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2];

	frame_put_u16(b, v);
	wr_put(w, b, 2);
}

static void wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	frame_put_u32(b, v);
	wr_put(w, b, 4);
}

static void wr_u64(struct wr *w, uint64_t v)
{
	wr_u32(w, (uint32_t)v);
	wr_u32(w, (uint32_t)(v >> 32));
}

static void wr_meta(struct wr *w, const struct sync_meta *m)
{
	wr_u8(w, m->kind);
	wr_u16(w, m->mode);
	wr_u64(w, m->size);
	wr_u64(w, (uint64_t)m->mtime);
}

static void wr_str(struct wr *w, const char *s, size_t n)
{
	wr_u16(w, (uint16_t)n);
	wr_put(w, s, n);
}

/* ---- one table of layouts, read and written by the same code ---- */

/* Which fields each type carries, in wire order. */
enum {
	F_VERSION = 1 << 0,	/* u16 version, u16 flags (0) */
	F_KEY = 1 << 1,		/* u16-counted key */
	F_ROOT = 1 << 2,	/* u16-counted workspace path (text) */
	F_PATTERN = 1 << 3,	/* u16-counted pattern (text) */
	F_FLAGS = 1 << 4,	/* u8 flags */
	F_META = 1 << 5,	/* meta */
	F_EXPECT = 1 << 6,	/* expect meta */
	F_PATH = 1 << 7,	/* u16-counted path */
	F_TO = 1 << 8,		/* u16-counted path */
	F_TARGET = 1 << 9,	/* meta.size target bytes, with LINK only */
	F_SEQ = 1 << 10,	/* u32 */
	F_EPOCH = 1 << 11,	/* 16 bytes */
	F_STATUS = 1 << 12,	/* u8 END status */
	F_ERR = 1 << 13,	/* u16 errno */
	F_TEXT = 1 << 14,	/* u16-counted FAIL text */
	F_DATA = 1 << 15,	/* the rest, 1..FRAME_MAX_PAYLOAD bytes */
};

static unsigned int layout(uint8_t type)
{
	switch (type) {
	case SYNC_MSG_HELLO:
		return F_VERSION | F_KEY | F_ROOT;
	case SYNC_MSG_IGNORE:
		return F_PATTERN;
	case SYNC_MSG_START:
	case SYNC_MSG_BATCH:
		return 0;
	case SYNC_MSG_PUT:
		return F_FLAGS | F_META | F_EXPECT | F_PATH | F_TARGET;
	case SYNC_MSG_DEL:
		return F_EXPECT | F_PATH;
	case SYNC_MSG_RESEND:
	case SYNC_MSG_GONE:
		return F_PATH;
	case SYNC_MSG_FLUSH:
	case SYNC_MSG_FLUSHED:
	case SYNC_MSG_LIST_END:
		return F_SEQ;
	case SYNC_MSG_EPOCH:
		return F_EPOCH;
	case SYNC_MSG_PUT_DATA:
	case SYNC_MSG_CHANGE_DATA:
		return F_DATA;
	case SYNC_MSG_PUT_END:
	case SYNC_MSG_CHANGE_END:
		return F_STATUS;
	case SYNC_MSG_WELCOME:
		return F_VERSION | F_EPOCH;
	case SYNC_MSG_ENTRY:
		return F_META | F_PATH | F_TARGET;
	case SYNC_MSG_CHANGE:
		return F_FLAGS | F_META | F_PATH | F_TARGET;
	case SYNC_MSG_MOVE:
		return F_META | F_PATH | F_TO;
	case SYNC_MSG_APPLIED:
		return F_META | F_PATH;
	case SYNC_MSG_REJECTED:
		return F_ERR | F_PATH;
	case SYNC_MSG_FAIL:
		return F_ERR | F_TEXT;
	}
	return 0;
}

static bool known_type(uint8_t type)
{
	return sync_type_to_guest(type) || sync_type_to_host(type);
}

/* The checks of every field once the message is read (or before it is
 * written). Path problems go to m->bad, not to the return value. */
static int check_msg(struct sync_msg *m, unsigned int f, size_t textlen,
		     size_t pathlen, size_t tolen, size_t targetlen)
{
	int r;

	m->bad = SYNC_BAD_NONE;
	if ((f & F_FLAGS) && (m->flags & ~SYNC_F_META_ONLY))
		return -EINVAL;
	if ((f & F_STATUS) && m->flags > SYNC_END_ABANDONED)
		return -EINVAL;
	if ((f & F_META) && ((r = check_meta(&m->meta)) < 0 ||
			     (r = check_kind_for(m->type, &m->meta, m->flags)) < 0))
		return r;
	if ((f & F_EXPECT) && ((r = check_meta(&m->expect)) < 0 ||
			       (r = check_expect(&m->expect)) < 0))
		return r;
	if ((f & F_ERR) && m->err == 0)
		return -EINVAL;
	if ((f & F_KEY) && check_key(m->key, strlen(m->key)) < 0)
		return -EINVAL;
	if ((f & F_ROOT) && (textlen != strlen(m->text) ||
			     check_root(m->text, textlen) < 0))
		return -EINVAL;
	if ((f & F_TEXT) && (textlen != strlen(m->text) ||
			     check_text(m->text, textlen, SYNC_MAX_TEXT) < 0))
		return -EINVAL;
	if (f & F_PATTERN)
		m->bad = check_pattern(m->text, textlen);
	if (!m->bad && (f & F_PATH))
		m->bad = sync_path_check(m->path, pathlen);
	if (!m->bad && (f & F_TO))
		m->bad = sync_path_check(m->to, tolen);
	if (!m->bad && (f & F_TARGET) && m->meta.kind == SYNC_LINK)
		m->bad = check_target(m->target, targetlen);
	return 0;
}

int sync_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		    struct sync_msg *m)
{
	struct rd r = { .p = p, .len = len };
	unsigned int f = layout(type);
	size_t textlen = 0, pathlen = 0, tolen = 0, targetlen = 0;
	int ret;

	m->type = type;
	m->flags = 0;
	m->version = 0;
	m->err = 0;
	m->seq = 0;
	m->key[0] = m->path[0] = m->to[0] = m->target[0] = m->text[0] = 0;
	m->meta = (struct sync_meta){ 0 };
	m->expect = (struct sync_meta){ 0 };
	m->data = NULL;
	m->len = 0;
	m->bad = SYNC_BAD_NONE;
	if (!known_type(type))
		return -EPROTO;
	if (f & F_VERSION) {
		/* First in every version, so a peer always learns ours. */
		m->version = rd_u16(&r);
		if (r.short_)
			return -EPROTO;
		if (m->version != SYNC_PROTO_VERSION)
			return -EPROTONOSUPPORT;
		if (rd_u16(&r) != 0)
			return -EPROTO;
	}
	if ((f & F_KEY) && rd_str(&r, m->key, SYNC_KEY_LEN, &textlen) < 0)
		return -EPROTO;
	if ((f & (F_ROOT | F_PATTERN)) &&
	    rd_str(&r, m->text, f & F_ROOT ? SYNC_MAX_PATH : SYNC_MAX_PATTERN,
		   &textlen) < 0)
		return -EPROTO;
	if (f & F_ERR)
		m->err = rd_u16(&r);
	if ((f & F_TEXT) && rd_str(&r, m->text, SYNC_MAX_TEXT, &textlen) < 0)
		return -EPROTO;
	if (f & F_FLAGS)
		m->flags = rd_u8(&r);
	if (f & F_STATUS)
		m->flags = rd_u8(&r);
	if (f & F_SEQ)
		m->seq = rd_u32(&r);
	if (f & F_EPOCH) {
		const uint8_t *e = rd_take(&r, SYNC_EPOCH_LEN);

		if (e)
			memcpy(m->epoch, e, SYNC_EPOCH_LEN);
	}
	if (f & F_META)
		rd_meta(&r, &m->meta);
	if (f & F_EXPECT)
		rd_meta(&r, &m->expect);
	if ((f & F_PATH) && rd_str(&r, m->path, SYNC_MAX_PATH, &pathlen) < 0)
		return -EPROTO;
	if ((f & F_TO) && rd_str(&r, m->to, SYNC_MAX_PATH, &tolen) < 0)
		return -EPROTO;
	if ((f & F_TARGET) && m->meta.kind == SYNC_LINK) {
		const uint8_t *t;

		/* The size says how long; check_meta bounds it below. */
		if (m->meta.size < 1 || m->meta.size > SYNC_MAX_TARGET)
			return r.short_ ? -EPROTO : -EINVAL;
		t = rd_take(&r, (size_t)m->meta.size);
		if (!t)
			return -EPROTO;
		memcpy(m->target, t, (size_t)m->meta.size);
		m->target[m->meta.size] = 0;
		targetlen = (size_t)m->meta.size;
	}
	if (f & F_DATA) {
		if (len == 0 || len > FRAME_MAX_PAYLOAD)
			return -EPROTO;
		m->data = p;
		m->len = (uint32_t)len;
		r.off = len;
	}
	if (r.short_ || r.off != len)
		return -EPROTO;
	ret = check_msg(m, f, textlen, pathlen, tolen, targetlen);
	if (ret < 0)
		return ret;
	/* Only IGNORE and the path-carrying types may be refused record by
	 * record; a bad key or root is the peer's bug. */
	return 0;
}

int sync_msg_encode(uint8_t *buf, size_t size, const struct sync_msg *m)
{
	struct sync_msg c;
	unsigned int f;
	size_t textlen, pathlen, tolen, targetlen;
	struct wr w;
	int r;

	if (!known_type(m->type))
		return -EINVAL;
	f = layout(m->type);
	if (f & F_DATA) {
		if (m->len == 0)
			return -EINVAL;
		r = frame_encode(buf, size, m->type, m->data, m->len);
		return r == -EMSGSIZE ? -E2BIG : r;
	}
	/* Only the fields this type carries are read: the others may hold
	 * anything. */
	textlen = f & (F_ROOT | F_PATTERN | F_TEXT) ?
		  strnlen(m->text, sizeof(m->text)) : 0;
	pathlen = f & F_PATH ? strnlen(m->path, sizeof(m->path)) : 0;
	tolen = f & F_TO ? strnlen(m->to, sizeof(m->to)) : 0;
	targetlen = (f & F_TARGET) && m->meta.kind == SYNC_LINK ?
		    strnlen(m->target, sizeof(m->target)) : 0;
	if ((f & F_KEY) && strnlen(m->key, sizeof(m->key)) != SYNC_KEY_LEN)
		return -EINVAL;
	if (textlen == sizeof(m->text) || pathlen == sizeof(m->path) ||
	    tolen == sizeof(m->to) || targetlen == sizeof(m->target))
		return -E2BIG;	/* not terminated */
	if (((f & F_ROOT) && textlen > SYNC_MAX_PATH) ||
	    ((f & F_PATTERN) && textlen > SYNC_MAX_PATTERN) ||
	    ((f & F_TEXT) && textlen > SYNC_MAX_TEXT) ||
	    ((f & F_PATH) && pathlen > SYNC_MAX_PATH) ||
	    ((f & F_TO) && tolen > SYNC_MAX_PATH))
		return -E2BIG;
	if ((f & F_TARGET) && m->meta.kind == SYNC_LINK && targetlen != m->meta.size)
		return -EINVAL;
	/* The decoder's checks, on a copy (check_msg writes m->bad). */
	c.type = m->type;
	c.flags = m->flags;
	c.err = m->err;
	c.meta = m->meta;
	c.expect = m->expect;
	c.key[0] = 0;
	if (f & F_KEY)
		memcpy(c.key, m->key, sizeof(c.key));
	if (f & (F_ROOT | F_TEXT | F_PATTERN))
		memcpy(c.text, m->text, textlen + 1);
	if (f & F_PATH)
		memcpy(c.path, m->path, pathlen + 1);
	if (f & F_TO)
		memcpy(c.to, m->to, tolen + 1);
	if ((f & F_TARGET) && m->meta.kind == SYNC_LINK)
		memcpy(c.target, m->target, targetlen + 1);
	r = check_msg(&c, f, textlen, pathlen, tolen, targetlen);
	if (r < 0)
		return r;
	if (c.bad)
		return -EINVAL;

	if (size < FRAME_HEADER_SIZE)
		return -ENOSPC;
	w = (struct wr){ .p = buf + FRAME_HEADER_SIZE,
			 .size = size - FRAME_HEADER_SIZE };
	if (size - FRAME_HEADER_SIZE > FRAME_MAX_PAYLOAD)
		w.size = FRAME_MAX_PAYLOAD;
	if (f & F_VERSION) {
		wr_u16(&w, SYNC_PROTO_VERSION);
		wr_u16(&w, 0);
	}
	if (f & F_KEY)
		wr_str(&w, m->key, SYNC_KEY_LEN);
	if (f & (F_ROOT | F_PATTERN))
		wr_str(&w, m->text, textlen);
	if (f & F_ERR)
		wr_u16(&w, m->err);
	if (f & F_TEXT)
		wr_str(&w, m->text, textlen);
	if (f & (F_FLAGS | F_STATUS))
		wr_u8(&w, m->flags);
	if (f & F_SEQ)
		wr_u32(&w, m->seq);
	if (f & F_EPOCH)
		wr_put(&w, m->epoch, SYNC_EPOCH_LEN);
	if (f & F_META)
		wr_meta(&w, &m->meta);
	if (f & F_EXPECT)
		wr_meta(&w, &m->expect);
	if (f & F_PATH)
		wr_str(&w, m->path, pathlen);
	if (f & F_TO)
		wr_str(&w, m->to, tolen);
	if ((f & F_TARGET) && m->meta.kind == SYNC_LINK)
		wr_put(&w, m->target, targetlen);
	if (w.full)
		return size - FRAME_HEADER_SIZE > FRAME_MAX_PAYLOAD ? -E2BIG : -ENOSPC;
	return frame_encode(buf, size, m->type, buf + FRAME_HEADER_SIZE, w.off);
}

/* ---- order ---- */

void sync_seq_init(struct sync_seq *s)
{
	*s = (struct sync_seq){ 0 };
}

/* Content of a FILE PUT or CHANGE: DATA up to the size, then END. */
static int content(struct sync_seq *s, const struct sync_msg *m,
		   uint8_t data_type, uint8_t end_type)
{
	if (m->type == data_type) {
		if (!s->in_content || m->len > s->left)
			return -EPROTO;
		s->left -= m->len;
		return 0;
	}
	if (m->type == end_type) {
		if (!s->in_content ||
		    (m->flags == SYNC_END_DONE && s->left != 0))
			return -EPROTO;
		s->in_content = false;
		s->left = 0;
		return 0;
	}
	if (s->in_content)
		return -EPROTO;
	return 1;	/* not content: the caller decides */
}

static void maybe_content(struct sync_seq *s, const struct sync_msg *m)
{
	if (m->meta.kind == SYNC_FILE && !(m->flags & SYNC_F_META_ONLY)) {
		s->in_content = true;
		s->left = m->meta.size;
	}
}

/* One direction's order: `open` starts it (phase 0 to 1), `repeat` may
 * follow any number of times, `close` ends the listing (1 to 2); then any
 * of its types, `carrier` announcing content as `data` frames closed by
 * `end`. A FAIL, where `fails`, ends the stream (3). */
struct seq_order {
	bool (*allowed)(uint8_t type);
	uint8_t open, repeat, close, carrier, data, end;
	bool fails;
};

static const struct seq_order to_guest = {
	sync_type_to_guest, SYNC_MSG_HELLO, SYNC_MSG_IGNORE, SYNC_MSG_START,
	SYNC_MSG_PUT, SYNC_MSG_PUT_DATA, SYNC_MSG_PUT_END, false,
};

static const struct seq_order to_host = {
	sync_type_to_host, SYNC_MSG_WELCOME, SYNC_MSG_ENTRY, SYNC_MSG_LIST_END,
	SYNC_MSG_CHANGE, SYNC_MSG_CHANGE_DATA, SYNC_MSG_CHANGE_END, true,
};

static int seq_step(struct sync_seq *s, const struct sync_msg *m, const struct seq_order *o)
{
	int r;

	if (!o->allowed(m->type) || s->phase == 3)
		return -EPROTO;
	if (o->fails && m->type == SYNC_MSG_FAIL) {
		s->phase = 3;
		return 0;
	}
	r = content(s, m, o->data, o->end);
	if (r <= 0)
		return r;
	if (m->type == o->open) {
		if (s->phase != 0)
			return -EPROTO;
		s->phase = 1;
		return 0;
	}
	if (m->type == o->repeat)
		return s->phase == 1 ? 0 : -EPROTO;
	if (m->type == o->close) {
		if (s->phase != 1)
			return -EPROTO;
		s->phase = 2;
		return 0;
	}
	if (s->phase != 2)
		return -EPROTO;
	if (m->type == o->carrier)
		maybe_content(s, m);
	return 0;
}

int sync_seq_to_guest(struct sync_seq *s, const struct sync_msg *m)
{
	return seq_step(s, m, &to_guest);
}

int sync_seq_to_host(struct sync_seq *s, const struct sync_msg *m)
{
	return seq_step(s, m, &to_host);
}
