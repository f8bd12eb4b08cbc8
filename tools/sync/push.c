/* The host's side going in: the output queue to the guest, the PUTs and
 * DELs for paths that changed on the host (or that the first sync copies
 * in), each file streamed from the project as the output has room, and
 * the guest's answers, which move the base forward. A PUT carries what the
 * host believes the guest has (expect): if the agent changed it meanwhile
 * the guest refuses, and its version comes back as a change of its own. */
#include "tools/sync/sync.h"
#include "lib/clock.h"
#include "lib/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- output ---- */

static bool out_room(struct hsync *s, size_t need)
{
	size_t cap;
	uint8_t *p;

	if (s->o_cap - s->o_off - s->o_len >= need)
		return true;
	if (s->o_off) {
		memmove(s->obuf, s->obuf + s->o_off, s->o_len);
		s->o_off = 0;
	}
	if (s->o_cap - s->o_len >= need)
		return true;
	cap = s->o_cap ? 2 * s->o_cap : 4 * FRAME_MAX_SIZE;
	while (cap - s->o_len < need)
		cap *= 2;
	p = realloc(s->obuf, cap);
	if (!p)
		return false;
	s->obuf = p;
	s->o_cap = cap;
	return true;
}

/* Messages that come up while a file's content is being sent (a RESEND,
 * the EPOCH) wait here: nothing may come between a PUT's DATA frames. */
static bool defer(struct hsync *s, const struct sync_msg *m)
{
	uint8_t frame[SYNC_MSG_MAX];
	int n = sync_msg_encode(frame, sizeof(frame), m);
	uint8_t *p;

	if (n < 0)
		return false;
	p = realloc(s->later, s->later_len + (size_t)n);
	if (!p) {
		s->dead = true;
		return false;
	}
	memcpy(p + s->later_len, frame, (size_t)n);
	s->later = p;
	s->later_len += (size_t)n;
	return true;
}

static void undefer(struct hsync *s)
{
	if (!s->later_len)
		return;
	if (!s->test) {
		if (!out_room(s, s->later_len)) {
			s->dead = true;
			return;
		}
		memcpy(s->obuf + s->o_off + s->o_len, s->later, s->later_len);
		s->o_len += s->later_len;
	}
	free(s->later);
	s->later = NULL;
	s->later_len = 0;
}

bool hsync_send(struct hsync *s, const struct sync_msg *m)
{
	int n;

	if (s->src >= 0 && m->type != SYNC_MSG_PUT_DATA && m->type != SYNC_MSG_PUT_END)
		return defer(s, m);
	if (s->dead || !out_room(s, FRAME_MAX_SIZE)) {
		s->dead = true;
		return false;
	}
	n = sync_msg_encode(s->obuf + s->o_off + s->o_len,
			    s->o_cap - s->o_off - s->o_len, m);
	if (n < 0) {
		hsync_log(s, "error", m->path[0] ? m->path : NULL,
			  "cannot encode a message of type 0x%02x: %s", m->type, strerror(-n));
		return false;
	}
	if (s->test)
		return true;	/* checked, dropped: nobody reads */
	s->o_len += (size_t)n;
	return true;
}

/* ---- pushes waiting for an answer ---- */

static void push_add(struct hsync *s, const char *path, const struct sync_meta *h,
		     uint64_t hash)
{
	struct hentry *e = hsync_base_make(s, path);
	struct hpush *p;

	if (!e)
		return;
	if (s->push_len == s->push_cap) {
		size_t cap = s->push_cap ? 2 * s->push_cap : 256;
		struct hpush *n = malloc(cap * sizeof(*n));

		if (!n)
			return;
		for (size_t i = 0; i < s->push_len; i++)
			n[i] = s->pushes[(s->push_head + i) % s->push_cap];
		free(s->pushes);
		s->pushes = n;
		s->push_head = 0;
		s->push_cap = cap;
	}
	p = &s->pushes[(s->push_head + s->push_len) % s->push_cap];
	p->path = strdup(path);
	if (!p->path)
		return;
	p->host = *h;
	p->hash = hash;
	p->copyin = s->copyin_active;
	s->push_len++;
	e->inflight++;
	if (s->copyin_active && h->kind != SYNC_NONE)
		s->copyin_total++;
}

void hsync_push_reply(struct hsync *s, const struct sync_msg *m)
{
	struct hpush p;
	struct hentry *e;
	struct sync_meta now;

	if (!s->push_len || strcmp(s->pushes[s->push_head].path, m->path) != 0) {
		hsync_log(s, "error", NULL, "the guest answered a change it was not sent");
		s->dead = true;
		return;
	}
	p = s->pushes[s->push_head];
	s->push_head = (s->push_head + 1) % s->push_cap;
	s->push_len--;
	e = hsync_base(s, p.path);
	if (e && e->inflight)
		e->inflight--;
	if (p.copyin && p.host.kind != SYNC_NONE) {
		s->copyin_done++;
		if (m->type == SYNC_MSG_APPLIED && p.host.kind == SYNC_FILE) {
			s->count.in_files++;
			s->count.in_bytes += p.host.size;
		}
	}
	if (!e) {
		free(p.path);
		return;
	}
	if (m->type == SYNC_MSG_APPLIED) {
		if (p.host.kind == SYNC_NONE && m->meta.kind == SYNC_NONE) {
			if (!e->inflight)
				hsync_base_del(s, p.path);
			free(p.path);
			return;
		}
		e->host = p.host;
		e->guest = m->meta;
		e->hash = p.hash;
		e->force = false;
		e->failed = (struct sync_meta){ 0 };
		s->base_dirty = true;
	} else if (m->err != ESTALE && m->err != ECANCELED) {
		e->failed = p.host;
		hsync_log(s, "error", p.path, "the sandbox could not take the host's "
			  "version: %s", strerror(m->err));
	}
	/* Changed again while this was under way: once more. */
	hsync_current(s, p.path, &now, NULL, 0);
	if (m->type == SYNC_MSG_REJECTED ? m->err == ECANCELED : !hsync_same(&now, &p.host))
		hsync_dirty(s, p.path);
	free(p.path);
}

/* ---- paths that changed on the host ---- */

void hsync_dirty(struct hsync *s, const char *path)
{
	struct hdirty *d;
	int64_t now = clock_ms();

	if (pathmap_get(&s->dirty, path)) {
		s->dirty_last = now;
		return;
	}
	if (!s->dirty.count)
		s->dirty_first = now;
	s->dirty_last = now;
	d = malloc(sizeof(*d));
	if (!d || !(d->n.path = strdup(path)) || pathmap_put(&s->dirty, &d->n) < 0) {
		if (d)
			free(d->n.path);
		free(d);
		s->dirty_all = true;
	}
}

static void batch_add(struct hsync *s, const char *path)
{
	struct hdirty *d;

	if (s->nhbatch % 256 == 0) {
		struct hdirty **p = realloc(s->hbatch, (s->nhbatch + 256) * sizeof(*p));

		if (!p)
			return;
		s->hbatch = p;
	}
	d = malloc(sizeof(*d));
	if (!d || !(d->n.path = strdup(path))) {
		free(d);
		return;
	}
	s->hbatch[s->nhbatch++] = d;
}

static int cmp_asc(const void *a, const void *b)
{
	return strcmp((*(struct hdirty *const *)a)->n.path,
		      (*(struct hdirty *const *)b)->n.path);
}

static int mark(void *arg, const char *path, const struct stat *st, const char *target)
{
	(void)st;
	(void)target;
	hsync_dirty(arg, path);
	return 0;
}

static void start_batch(struct hsync *s)
{
	size_t n;
	struct pathmap_node **l;

	if (s->dirty_all) {
		/* Lost track (no memory, or the watcher overflowed): all of it. */
		struct scan_ops ops = { .ignore = &s->ignore, .entry = mark, .arg = s };

		s->dirty_all = false;
		l = pathmap_list(&s->base, &n, false);
		for (size_t i = 0; i < n; i++)
			hsync_dirty(s, l[i]->path);
		free(l);
		scan_tree(s->project, "", &ops);
	}
	l = pathmap_list(&s->dirty, &n, false);
	for (size_t i = 0; i < n; i++)
		pathmap_del(&s->dirty, l[i]->path);
	s->nhbatch = s->ihbatch = 0;
	for (size_t i = 0; i < n; i++) {
		batch_add(s, l[i]->path);
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
	if (s->nhbatch)
		qsort(s->hbatch, s->nhbatch, sizeof(*s->hbatch), cmp_asc);
}

static void end_batch(struct hsync *s)
{
	for (size_t i = 0; i < s->nhbatch; i++) {
		free(s->hbatch[i]->n.path);
		free(s->hbatch[i]);
	}
	s->nhbatch = s->ihbatch = 0;
}

static void put_header(struct hsync *s, const char *path, const struct sync_meta *h,
		       const struct sync_meta *expect, uint8_t flags, const char *target)
{
	struct sync_msg *m = &s->out;

	m->type = SYNC_MSG_PUT;
	m->flags = flags;
	m->meta = *h;
	m->expect = *expect;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (target)
		snprintf(m->target, sizeof(m->target), "%s", target);
	hsync_send(s, m);
}

/* The guest loses path (and all under it), deepest first. */
static void send_dels(struct hsync *s, const char *path)
{
	size_t n;
	struct pathmap_node **l = pathmap_subtree(&s->base, path, &n, true);
	struct sync_meta none = { 0 };

	for (size_t i = n; i-- > 0;) {
		struct hentry *e = (struct hentry *)l[i];
		struct sync_msg *m = &s->out;

		if (e->guest.kind == SYNC_NONE) {
			if (!e->inflight)
				hsync_base_del(s, e->n.path);
			continue;
		}
		if (e->inflight)
			continue;	/* its answer brings it back here */
		m->type = SYNC_MSG_DEL;
		m->expect = e->guest;
		snprintf(m->path, sizeof(m->path), "%s", e->n.path);
		if (hsync_send(s, m))
			push_add(s, e->n.path, &none, 0);
	}
	free(l);
}

/* A directory new to the guest: everything in it is too. */
static void add_children(struct hsync *s, const char *path)
{
	char sub[SYNC_MAX_PATH + 2];
	struct dirent *e;
	int fd = safefs_open(s->project, path, O_RDONLY | O_DIRECTORY, 0);
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		int len;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		len = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (len > 0 && (size_t)len <= SYNC_MAX_PATH)
			batch_add(s, sub);
	}
	closedir(d);
}

static void look_at(struct hsync *s, const char *path)
{
	char target[SYNC_MAX_TARGET + 1];
	struct hentry *b = hsync_base(s, path);
	struct sync_meta h, expect = { 0 };
	struct stat st;
	int fd;

	if (sync_path_check(path, strlen(path)) ||
	    sync_path_printable(path, strlen(path)))
		return;
	if (b && b->inflight)
		return;		/* the answer looks again */
	hsync_current(s, path, &h, target, sizeof(target));
	if (pathmatch_match(&s->ignore, path, h.kind == SYNC_DIR))
		return;
	if (b && !b->force && hsync_same(&h, &b->host))
		return;
	if (b && b->failed.kind != SYNC_NONE && hsync_same(&h, &b->failed))
		return;
	if (h.kind == SYNC_NONE) {
		if (b)
			send_dels(s, path);
		return;
	}
	if (!sync_kind_is_entry(h.kind) ||
	    (h.kind == SYNC_LINK && sync_path_printable(target, strlen(target))))
		return;
	if (b)
		expect = b->guest;
	switch (h.kind) {
	case SYNC_DIR:
		put_header(s, path, &h, &expect, 0, NULL);
		push_add(s, path, &h, 0);
		if (!b || b->guest.kind != SYNC_DIR || b->force)
			add_children(s, path);
		return;
	case SYNC_LINK:
		h.size = strlen(target);
		put_header(s, path, &h, &expect, 0, target);
		push_add(s, path, &h, hash64(target, strlen(target)));
		return;
	default:
		break;
	}
	if (b && !b->force && b->guest.kind == SYNC_FILE && b->host.kind == SYNC_FILE &&
	    h.size == b->host.size && h.mtime == b->host.mtime) {
		put_header(s, path, &h, &expect, SYNC_F_META_ONLY, NULL);
		push_add(s, path, &h, b->hash);
		return;
	}
	fd = safefs_open_read(s->project, path);
	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	hsync_meta(&st, &s->src_meta);
	s->src_left = s->src_meta.size;
	snprintf(s->src_path, sizeof(s->src_path), "%s", path);
	hash64_init(&s->srchash);
	put_header(s, path, &s->src_meta, &expect, 0, NULL);
	/* Streaming from now: anything else waits until its END. */
	s->src = fd;
	/* Waiting from now: the guest may refuse it before its content is
	 * all sent. The hash is filled in at the end. */
	push_add(s, path, &s->src_meta, 0);
}

static void end_src(struct hsync *s, bool done)
{
	struct sync_msg *m = &s->out;

	m->type = SYNC_MSG_PUT_END;
	m->flags = done ? SYNC_END_DONE : SYNC_END_ABANDONED;
	hsync_send(s, m);
	close(s->src);
	s->src = -1;
	undefer(s);
	if (s->push_len) {
		struct hpush *tail = &s->pushes[(s->push_head + s->push_len - 1) %
						 s->push_cap];

		if (strcmp(tail->path, s->src_path) == 0)
			tail->hash = hash64_final(&s->srchash);
	}
}

static void stream(struct hsync *s)
{
	struct sync_meta now;
	struct stat st;

	while (s->src_left && s->o_len < HSYNC_OUT_HIGH && !s->dead) {
		size_t want = s->src_left < FRAME_MAX_PAYLOAD ? (size_t)s->src_left :
			      FRAME_MAX_PAYLOAD;
		uint8_t *at;
		ssize_t n;

		if (!out_room(s, FRAME_MAX_SIZE)) {
			s->dead = true;
			return;
		}
		/* Read straight into the frame's place in the output. */
		at = s->obuf + s->o_off + s->o_len + FRAME_HEADER_SIZE;
		n = read(s->src, at, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			end_src(s, false);
			return;
		}
		hash64_update(&s->srchash, at, (size_t)n);
		if (!s->test)
			s->o_len += (size_t)frame_encode(at - FRAME_HEADER_SIZE,
							 FRAME_MAX_SIZE, SYNC_MSG_PUT_DATA,
							 at, (size_t)n);
		s->src_left -= (uint64_t)n;
	}
	if (s->src_left || s->dead)
		return;
	if (fstat(s->src, &st) < 0) {
		end_src(s, false);
		return;
	}
	hsync_meta(&st, &now);
	end_src(s, hsync_same(&now, &s->src_meta));
}

static bool due(const struct hsync *s)
{
	int64_t d = hsync_push_deadline(s);

	return d >= 0 && d <= clock_ms();
}

bool hsync_push_pump(struct hsync *s)
{
	if (s->phase < H_RECONCILE || s->dead)
		return false;
	while (!s->dead && s->o_len < HSYNC_OUT_HIGH) {
		if (s->src >= 0) {
			stream(s);
			continue;
		}
		if (s->ihbatch < s->nhbatch) {
			look_at(s, s->hbatch[s->ihbatch++]->n.path);
			continue;
		}
		if (s->nhbatch)
			end_batch(s);
		/* Finishing: what the host changes now waits for the next run. */
		if (s->phase >= H_FINISHING || !(s->dirty.count || s->dirty_all) ||
		    (!s->copyin_active && !due(s)))
			break;
		start_batch(s);
	}
	return false;
}

int64_t hsync_push_deadline(const struct hsync *s)
{
	int64_t a, b;

	if (s->phase < H_RECONCILE || s->phase >= H_FINISHING ||
	    !(s->dirty.count || s->dirty_all))
		return -1;
	if (s->o_len >= HSYNC_OUT_HIGH)
		return -1;	/* the socket's readiness brings us back */
	if (s->copyin_active)
		return 0;
	a = s->dirty_last + HSYNC_DEBOUNCE_MS;
	b = s->dirty_first + HSYNC_MAX_DELAY_MS;
	return a < b ? a : b;
}

void hsync_push_close(struct hsync *s)
{
	size_t n;
	struct pathmap_node **l = pathmap_list(&s->dirty, &n, false);

	for (size_t i = 0; i < n; i++) {
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
	pathmap_free(&s->dirty);
	end_batch(s);
	free(s->hbatch);
	s->hbatch = NULL;
	for (size_t i = 0; i < s->push_len; i++)
		free(s->pushes[(s->push_head + i) % s->push_cap].path);
	free(s->pushes);
	s->pushes = NULL;
	s->push_len = s->push_cap = 0;
	if (s->src >= 0)
		close(s->src);
	s->src = -1;
	free(s->later);
	s->later = NULL;
	s->later_len = 0;
}
