/* The agent's changes to the host: the listing at START, then the
 * watcher's events gathered into a set of paths to look at, and once the
 * workspace is quiet for SYNC_DEBOUNCE_MS (or SYNC_MAX_DELAY_MS after the
 * first change), one batch: renames first (as MOVE), then each path
 * compared with what was last synced (the index) and sent as CHANGE (with
 * its content) or GONE; BATCH at the end, FLUSHED if the host asked. A
 * file that changes while it is read is abandoned and looked at again. */
#include "guest/sync.h"
#include "lib/clock.h"
#include "lib/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the listing ---- */

static int list_entry(void *arg, const char *path, const struct stat *st,
		      const char *target)
{
	struct gconn *c = arg;
	struct sync_msg *m = &c->out;

	m->type = SYNC_MSG_ENTRY;
	gsync_meta(st, &m->meta);
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (target)
		snprintf(m->target, sizeof(m->target), "%s", target);
	if (m->meta.kind == SYNC_LINK)
		m->meta.size = strlen(m->target);
	if (gsync_index_set(c, path, &m->meta) < 0 || !gsync_send(c, m))
		return -ENOMEM;
	return 0;
}

static void list_bad(void *arg, int dirfd, const char *dir, const char *name, int bad)
{
	struct gconn *c = arg;

	(void)dirfd;
	init_log(c->svc->a->ctx, "sync: %s/%s is left out: %s", *dir ? dir : ".",
		 name, sync_bad_text(bad));
}

int gsync_list(struct gconn *c)
{
	struct scan_ops ops = { .ignore = &c->ignore, .entry = list_entry,
				.bad = list_bad, .arg = c };
	struct sync_msg *m = &c->out;
	uint32_t count;
	int r;

	r = fswatch_init(&c->fw, c->root, &c->ignore);
	if (r < 0)
		return r;
	c->watching = true;
	if (c->fw.limit_hit)
		init_log(c->svc->a->ctx, "sync: inotify's watch limit is reached: "
			 "changes in some folders are not seen");
	c->w_ino = (struct watch){ .event = gsync_watch_event, .owner = c };
	r = serve_watch(c->svc->a, c->fw.ifd, &c->w_ino);
	if (r < 0)
		return r;
	m->type = SYNC_MSG_WELCOME;
	gsync_ws_epoch_get(c, m->epoch);
	if (!gsync_send(c, m))
		return -ENOMEM;
	r = scan_tree(c->root, "", &ops);
	if (r < 0)
		return r;
	count = (uint32_t)c->index.count;
	m->type = SYNC_MSG_LIST_END;
	m->seq = count;
	return gsync_send(c, m) ? 0 : -ENOMEM;
}

/* ---- what changed ---- */

void gsync_dirty(struct gconn *c, const char *path, bool force)
{
	struct gdirty *d = (struct gdirty *)pathmap_get(&c->dirty, path);
	int64_t now = clock_ms();

	if (!c->dirty.count && !c->nmoves && !c->overflow)
		c->first_ms = now;
	c->last_ms = now;
	if (d) {
		d->force |= force;
		return;
	}
	d = malloc(sizeof(*d));
	if (!d || !(d->n.path = strdup(path))) {
		free(d);
		c->overflow = true;	/* look at everything instead */
		return;
	}
	d->force = force;
	if (pathmap_put(&c->dirty, &d->n) < 0) {
		free(d->n.path);
		free(d);
		c->overflow = true;
	}
}

static void on_dirty(void *arg, const char *path)
{
	gsync_dirty(arg, path, false);
}

static void on_moved(void *arg, const char *from, const char *to, bool is_dir)
{
	struct gconn *c = arg;
	struct gmove *mv;

	if (c->nmoves == c->cmoves) {
		size_t cap = c->cmoves ? 2 * c->cmoves : 16;
		struct gmove *p = realloc(c->moves, cap * sizeof(*p));

		if (!p) {
			gsync_dirty(c, from, false);
			gsync_dirty(c, to, false);
			return;
		}
		c->moves = p;
		c->cmoves = cap;
	}
	mv = &c->moves[c->nmoves];
	mv->from = strdup(from);
	mv->to = strdup(to);
	mv->is_dir = is_dir;
	if (!mv->from || !mv->to) {
		free(mv->from);
		free(mv->to);
		gsync_dirty(c, from, false);
		gsync_dirty(c, to, false);
		return;
	}
	c->nmoves++;
	gsync_dirty(c, to, false);	/* changed after the move, maybe */
}

static void on_overflow(void *arg)
{
	struct gconn *c = arg;

	if (!c->dirty.count && !c->nmoves)
		c->first_ms = clock_ms();
	c->last_ms = clock_ms();
	c->overflow = true;
}

void gsync_watch_event(struct watch *w, uint32_t events)
{
	struct gconn *c = w->owner;
	struct fswatch_cb cb = { on_dirty, on_moved, on_overflow, c };

	(void)events;
	fswatch_drain(&c->fw, &cb);
}

/* ---- one batch ---- */

static bool ignored(struct gconn *c, const char *path, bool is_dir)
{
	return pathmatch_match(&c->ignore, path, is_dir);
}

static void batch_add(struct gconn *c, const char *path, bool force)
{
	struct gdirty *d;

	if (c->nbatch == c->cbatch) {
		size_t cap = c->cbatch ? 2 * c->cbatch : 256;
		struct gdirty **p = realloc(c->batch, cap * sizeof(*p));

		if (!p)
			return;
		c->batch = p;
		c->cbatch = cap;
	}
	d = malloc(sizeof(*d));
	if (!d || !(d->n.path = strdup(path))) {
		free(d);
		return;
	}
	d->force = force;
	c->batch[c->nbatch++] = d;
}

static int mark_all(void *arg, const char *path, const struct stat *st,
		    const char *target)
{
	(void)st;
	(void)target;
	gsync_dirty(arg, path, false);
	return 0;
}

/* Events were lost: every path known or present is looked at. */
static void rescan(struct gconn *c)
{
	struct scan_ops ops = { .ignore = &c->ignore, .entry = mark_all, .arg = c };
	size_t n;
	struct pathmap_node **l = pathmap_list(&c->index, &n, false);

	c->overflow = false;
	for (size_t i = 0; i < n; i++)
		gsync_dirty(c, l[i]->path, false);
	free(l);
	scan_tree(c->root, "", &ops);
	fswatch_add_tree(&c->fw, "");
}

static int cmp_dirty(const void *a, const void *b)
{
	return strcmp((*(struct gdirty *const *)a)->n.path,
		      (*(struct gdirty *const *)b)->n.path);
}

static void send_move(struct gconn *c, const struct gmove *mv)
{
	struct gentry *e = gsync_index_get(c, mv->from);
	struct sync_msg *m = &c->out;

	if (!e || ignored(c, mv->from, mv->is_dir) || ignored(c, mv->to, mv->is_dir)) {
		/* Never synced as it was: the two ends as they are now. */
		gsync_dirty(c, mv->from, false);
		gsync_dirty(c, mv->to, false);
		return;
	}
	m->type = SYNC_MSG_MOVE;
	m->meta = e->meta;
	snprintf(m->path, sizeof(m->path), "%s", mv->from);
	snprintf(m->to, sizeof(m->to), "%s", mv->to);
	if (!gsync_send(c, m))
		return;
	gsync_index_move(c, mv->from, mv->to);
}

static void start_batch(struct gconn *c)
{
	size_t n;
	struct pathmap_node **l;

	if (c->overflow)
		rescan(c);
	/* Renames first, in the order they happened. */
	for (size_t i = 0; i < c->nmoves; i++) {
		send_move(c, &c->moves[i]);
		free(c->moves[i].from);
		free(c->moves[i].to);
	}
	c->nmoves = 0;
	l = pathmap_list(&c->dirty, &n, false);
	for (size_t i = 0; i < n; i++)
		pathmap_del(&c->dirty, l[i]->path);
	/* A parent before its children. */
	if (n)
		qsort(l, n, sizeof(*l), cmp_dirty);
	c->nbatch = c->ibatch = 0;
	for (size_t i = 0; i < n; i++) {
		struct gdirty *d = (struct gdirty *)l[i];

		batch_add(c, d->n.path, d->force);
		free(d->n.path);
		free(d);
	}
	free(l);
	c->in_batch = true;
	c->batch_flush = c->flush_wanted;
	c->batch_flush_seq = c->flush_seq;
	c->flush_wanted = false;
}

static void gone(struct gconn *c, const char *path)
{
	struct sync_msg *m = &c->out;

	if (!gsync_index_get(c, path))
		return;
	m->type = SYNC_MSG_GONE;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (gsync_send(c, m))
		gsync_index_drop(c, path);
}

/* What is in directory path, and what the index had there: all to be
 * looked at (what vanished must be said GONE). */
static void add_children(struct gconn *c, const char *path, bool force)
{
	char sub[SYNC_MAX_PATH + 2];
	struct dirent *e;
	size_t n;
	struct pathmap_node **l = pathmap_subtree(&c->index, path, &n, false);
	int fd = safefs_open(c->root, path, O_RDONLY | O_DIRECTORY, 0);
	DIR *d;

	for (size_t i = 0; i < n; i++)
		if (strcmp(l[i]->path, path) != 0)
			batch_add(c, l[i]->path, force);
	free(l);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		int len;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    sync_name_check(e->d_name, strlen(e->d_name)))
			continue;
		len = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (len < 0 || (size_t)len > SYNC_MAX_PATH ||
		    sync_path_check(sub, (size_t)len))
			continue;
		if (!gsync_index_get(c, sub) || force)
			batch_add(c, sub, force);
	}
	closedir(d);
}

static void change_header(struct gconn *c, const char *path, const struct sync_meta *meta,
			  uint8_t flags, const char *target)
{
	struct sync_msg *m = &c->out;

	m->type = SYNC_MSG_CHANGE;
	m->flags = flags;
	m->meta = *meta;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (target)
		snprintf(m->target, sizeof(m->target), "%s", target);
	gsync_send(c, m);
}

static void look_at(struct gconn *c, const struct gdirty *d)
{
	const char *path = d->n.path;
	struct gentry *old = gsync_index_get(c, path);
	struct sync_meta now;
	struct stat st;
	int r;

	if (sync_path_check(path, strlen(path)))
		return;
	r = safefs_lstat(c->root, path, &st);
	if (r < 0) {
		gone(c, path);
		return;
	}
	gsync_meta(&st, &now);
	if (ignored(c, path, now.kind == SYNC_DIR))
		return;
	if (old && !d->force && gsync_same(&old->meta, &now))
		return;
	if (old && old->meta.kind == SYNC_DIR && now.kind != SYNC_DIR) {
		gone(c, path);	/* a directory became something else */
		old = NULL;
	}
	switch (now.kind) {
	case SYNC_DIR: {
		bool fresh = !old || old->meta.kind != SYNC_DIR;

		change_header(c, path, &now, 0, NULL);
		gsync_index_set(c, path, &now);
		if (fresh || d->force)
			add_children(c, path, d->force);
		return;
	}
	case SYNC_LINK: {
		char target[SYNC_MAX_TARGET + 1];

		r = safefs_readlink(c->root, path, target, sizeof(target));
		if (r <= 0 || (size_t)r > SYNC_MAX_TARGET)
			return;
		now.size = (uint64_t)r;
		change_header(c, path, &now, 0, target);
		gsync_index_set(c, path, &now);
		return;
	}
	case SYNC_FILE:
		break;
	default:	/* said, so the host can count what it refuses */
		change_header(c, path, &now, 0, NULL);
		gsync_index_set(c, path, &now);
		return;
	}
	if (old && !d->force && old->meta.kind == SYNC_FILE &&
	    old->meta.size == now.size && old->meta.mtime == now.mtime) {
		change_header(c, path, &now, SYNC_F_META_ONLY, NULL);
		gsync_index_set(c, path, &now);
		return;
	}
	c->src = safefs_open_read(c->root, path);
	if (c->src < 0) {
		c->src = -1;
		return;		/* gone or changed kind meanwhile: next time */
	}
	if (fstat(c->src, &st) < 0) {
		close(c->src);
		c->src = -1;
		return;
	}
	gsync_meta(&st, &c->src_meta);
	c->src_left = c->src_meta.size;
	snprintf(c->src_path, sizeof(c->src_path), "%s", path);
	change_header(c, path, &c->src_meta, 0, NULL);
}

static void end_src(struct gconn *c, bool done)
{
	struct sync_msg *m = &c->out;

	m->type = SYNC_MSG_CHANGE_END;
	m->flags = done ? SYNC_END_DONE : SYNC_END_ABANDONED;
	gsync_send(c, m);
	close(c->src);
	c->src = -1;
	if (done)
		gsync_index_set(c, c->src_path, &c->src_meta);
	else
		gsync_dirty(c, c->src_path, false);	/* again, once it is quiet */
}

/* Streams the file being sent while the output has room. */
static void stream(struct gconn *c)
{
	static uint8_t chunk[FRAME_MAX_PAYLOAD];
	struct sync_msg *m = &c->out;
	struct sync_meta now;
	struct stat st;

	while (c->src_left && c->o_len < SYNC_OUT_HIGH && !c->dead) {
		size_t want = c->src_left < sizeof(chunk) ? (size_t)c->src_left : sizeof(chunk);
		ssize_t n = read(c->src, chunk, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			end_src(c, false);	/* it shrank */
			return;
		}
		m->type = SYNC_MSG_CHANGE_DATA;
		m->data = chunk;
		m->len = (uint32_t)n;
		gsync_send(c, m);
		c->src_left -= (uint64_t)n;
	}
	if (c->src_left || c->dead)
		return;
	/* Whole only if nothing changed it while it was read. */
	if (fstat(c->src, &st) < 0) {
		end_src(c, false);
		return;
	}
	gsync_meta(&st, &now);
	end_src(c, gsync_same(&now, &c->src_meta));
}

static void end_batch(struct gconn *c)
{
	struct sync_msg *m = &c->out;

	for (size_t i = 0; i < c->nbatch; i++) {
		free(c->batch[i]->n.path);
		free(c->batch[i]);
	}
	c->nbatch = c->ibatch = 0;
	c->in_batch = false;
	m->type = SYNC_MSG_BATCH;
	gsync_send(c, m);
	if (c->batch_flush) {
		/* What the host saves as agreed after FLUSHED must survive a
		 * crash here: everything applied and sent so far reaches the
		 * disk first. Unless nothing can be only in memory: no host
		 * change applied since the last syncfs, and no command started
		 * in this boot (what was listed and sent was read from the disk
		 * as this boot found it). A start whose project changed in
		 * nothing skips the flush. */
		if (c->svc->unsynced || c->svc->a->commands_started) {
			if (syncfs(c->root) < 0)
				init_log(c->svc->a->ctx, "sync: syncfs: %s", strerror(errno));
			else
				c->svc->unsynced = false;
		}
		m->type = SYNC_MSG_FLUSHED;
		m->seq = c->batch_flush_seq;
		gsync_send(c, m);
		c->batch_flush = false;
	}
}

static bool due(const struct gconn *c, int64_t now)
{
	int64_t d = gsync_send_deadline(c);

	return d >= 0 && d <= now;
}

bool gsync_send_pump(struct gconn *c)
{
	if (!c->in_batch) {
		if (c->flush_wanted)
			fswatch_drain(&c->fw, &(struct fswatch_cb){ on_dirty, on_moved,
								   on_overflow, c });
		if (!c->flush_wanted && !due(c, clock_ms()))
			return false;
		start_batch(c);
	}
	while (!c->dead && c->o_len < SYNC_OUT_HIGH) {
		if (c->src >= 0) {
			stream(c);
			continue;
		}
		if (c->ibatch == c->nbatch) {
			end_batch(c);
			return false;
		}
		look_at(c, c->batch[c->ibatch++]);
	}
	return false;
}

int64_t gsync_send_deadline(const struct gconn *c)
{
	int64_t a, b;

	/* Now, unless the output is full: then its socket's readiness, not a
	 * timeout, brings the loop back. */
	if (c->in_batch || c->flush_wanted)
		return c->o_len < SYNC_OUT_HIGH ? 0 : -1;
	if (!c->dirty.count && !c->nmoves && !c->overflow)
		return -1;
	a = c->last_ms + SYNC_DEBOUNCE_MS;
	b = c->first_ms + SYNC_MAX_DELAY_MS;
	return a < b ? a : b;
}

void gsync_send_close(struct gconn *c)
{
	size_t n;
	struct pathmap_node **l = pathmap_list(&c->dirty, &n, false);

	for (size_t i = 0; i < n; i++) {
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
	pathmap_free(&c->dirty);
	for (size_t i = 0; i < c->nmoves; i++) {
		free(c->moves[i].from);
		free(c->moves[i].to);
	}
	free(c->moves);
	c->moves = NULL;
	c->nmoves = c->cmoves = 0;
	for (size_t i = 0; i < c->nbatch; i++) {
		free(c->batch[i]->n.path);
		free(c->batch[i]);
	}
	free(c->batch);
	c->batch = NULL;
	c->nbatch = c->cbatch = 0;
	if (c->src >= 0)
		close(c->src);
	c->src = -1;
}
