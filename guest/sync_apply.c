/* What the host puts in the workspace (PUT, DEL) and asks for (RESEND,
 * FLUSH, EPOCH). A PUT or DEL is done only if the path is still what the
 * host believes (its expect): else the agent changed it meanwhile, the
 * change is refused (REJECTED) and the agent's version goes to the host,
 * which keeps both. Files are written to a temporary file and renamed in,
 * owned by the agent, with the host's mode (no setuid) and mtime. */
#include "guest/sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What is at path now (NONE if nothing). */
static void current(struct gconn *c, const char *path, struct sync_meta *cur)
{
	struct stat st;

	if (safefs_lstat(c->root, path, &st) < 0)
		*cur = (struct sync_meta){ 0 };
	else
		gsync_meta(&st, cur);
}

/* Is cur what the host expects to find? A directory is that directory
 * whatever its mode. */
static bool matches(const struct sync_meta *cur, const struct sync_meta *expect)
{
	if (cur->kind != expect->kind)
		return false;
	if (cur->kind == SYNC_NONE || cur->kind == SYNC_DIR)
		return true;
	return gsync_same(cur, expect);
}

static void reply(struct gconn *c, const char *path, int err)
{
	struct sync_msg *m = &c->out;
	struct sync_meta now;

	m->flags = 0;
	m->err = 0;
	m->meta = (struct sync_meta){ 0 };
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (err) {
		m->type = SYNC_MSG_REJECTED;
		m->err = (uint16_t)(err > 0 && err < 65536 ? err : EIO);
	} else {
		m->type = SYNC_MSG_APPLIED;
		current(c, path, &now);
		if (!sync_kind_is_entry(now.kind) && now.kind != SYNC_NONE)
			now = (struct sync_meta){ 0 };
		m->meta = now;
		if (now.kind == SYNC_NONE)
			gsync_index_drop(c, path);
		else
			gsync_index_set(c, path, &now);
	}
	gsync_send(c, m);
}

static struct safefs_attr attr_for(const struct gconn *c, const struct sync_meta *m)
{
	return (struct safefs_attr){
		.mode = m->mode & 0777,
		.mtime = m->mtime,
		.uid = c->svc->uid,
		.gid = c->svc->gid,
		.sync = false,	/* the guest's disk: the host has the copy */
	};
}

static void remember_dirtime(struct gconn *c, const char *path, int64_t mtime)
{
	if (c->ndirtimes == c->cdirtimes) {
		size_t cap = c->cdirtimes ? 2 * c->cdirtimes : 64;
		struct gdirtime *p = realloc(c->dirtimes, cap * sizeof(*p));

		if (!p)
			return;
		c->dirtimes = p;
		c->cdirtimes = cap;
	}
	c->dirtimes[c->ndirtimes].path = strdup(path);
	if (c->dirtimes[c->ndirtimes].path)
		c->dirtimes[c->ndirtimes++].mtime = mtime;
}

void gsync_dirtimes(struct gconn *c)
{
	/* Deepest (latest made) first, so setting one does not move its
	 * parent's again. */
	while (c->ndirtimes) {
		struct gdirtime *d = &c->dirtimes[--c->ndirtimes];
		struct safefs_attr a = { .mtime = d->mtime };

		safefs_set_attr(c->root, d->path, &a, false, true);
		free(d->path);
	}
}

static void put(struct gconn *c, const struct sync_msg *m)
{
	bool content = m->meta.kind == SYNC_FILE && !(m->flags & SYNC_F_META_ONLY);
	struct safefs_attr a = attr_for(c, &m->meta);
	struct sync_meta cur;
	int r;

	c->put_active = content;
	c->put_discard = true;
	if (m->bad) {
		reply(c, m->path, EINVAL);
		return;
	}
	current(c, m->path, &cur);
	if (!matches(&cur, &m->expect)) {
		/* The agent changed it: ours goes to the host instead. */
		reply(c, m->path, ESTALE);
		gsync_dirty(c, m->path, true);
		return;
	}
	switch (m->meta.kind) {
	case SYNC_FILE:
		if (!content) {
			r = safefs_set_attr(c->root, m->path, &a, true, true);
			reply(c, m->path, -r);
			return;
		}
		r = safefs_tmp_open(c->root, m->path, &c->put_tmp, &c->put_name);
		if (r < 0) {
			reply(c, m->path, -r);
			return;
		}
		c->put_discard = false;
		/* The message is overwritten by the next one: the name must
		 * point into our own copy. */
		snprintf(c->put_path, sizeof(c->put_path), "%s", m->path);
		c->put_name = strrchr(c->put_path, '/') ? strrchr(c->put_path, '/') + 1 :
			      c->put_path;
		c->put_meta = m->meta;
		c->put_expect = m->expect;
		return;
	case SYNC_DIR:
		r = safefs_mkdir(c->root, m->path, &a,
				 cur.kind != SYNC_NONE && cur.kind != SYNC_DIR);
		if (r == 0)
			remember_dirtime(c, m->path, m->meta.mtime);
		reply(c, m->path, -r);
		return;
	default:	/* SYNC_LINK */
		r = safefs_symlink(c->root, m->path, m->target, &a);
		reply(c, m->path, -r);
		return;
	}
}

static void put_data(struct gconn *c, const struct sync_msg *m)
{
	const uint8_t *p = m->data;
	size_t left = m->len;

	if (c->put_discard)
		return;
	while (left) {
		ssize_t n = write(c->put_tmp.fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			safefs_tmp_abort(&c->put_tmp);
			c->put_discard = true;
			reply(c, c->put_path, e);
			return;
		}
		p += n;
		left -= (size_t)n;
	}
}

static void put_end(struct gconn *c, const struct sync_msg *m)
{
	struct safefs_attr a = attr_for(c, &c->put_meta);
	struct sync_meta cur;
	int r;

	c->put_active = false;
	if (c->put_discard)
		return;		/* answered already */
	c->put_discard = true;
	if (m->flags == SYNC_END_ABANDONED) {
		safefs_tmp_abort(&c->put_tmp);
		reply(c, c->put_path, ECANCELED);
		return;
	}
	/* Once more, just before the rename: the agent may have been quick. */
	current(c, c->put_path, &cur);
	if (!matches(&cur, &c->put_expect)) {
		safefs_tmp_abort(&c->put_tmp);
		reply(c, c->put_path, ESTALE);
		gsync_dirty(c, c->put_path, true);
		return;
	}
	r = safefs_tmp_commit(&c->put_tmp, c->put_name, &a, false);
	reply(c, c->put_path, -r);
}

static void del(struct gconn *c, const struct sync_msg *m)
{
	struct sync_meta cur;
	int r;

	if (m->bad) {
		reply(c, m->path, EINVAL);
		return;
	}
	current(c, m->path, &cur);
	if (cur.kind == SYNC_NONE) {
		reply(c, m->path, 0);	/* gone already: what was asked */
		return;
	}
	if (!matches(&cur, &m->expect)) {
		reply(c, m->path, ESTALE);
		gsync_dirty(c, m->path, true);
		return;
	}
	r = safefs_remove(c->root, m->path);
	if (r == -ENOTEMPTY)
		gsync_dirty(c, m->path, true);	/* the host learns what is in it */
	reply(c, m->path, -r);
}

void gsync_apply(struct gconn *c, const struct sync_msg *m)
{
	if (m->type == SYNC_MSG_PUT || m->type == SYNC_MSG_PUT_DATA ||
	    m->type == SYNC_MSG_PUT_END || m->type == SYNC_MSG_DEL || m->type == SYNC_MSG_EPOCH)
		c->svc->unsynced = true;
	switch (m->type) {
	case SYNC_MSG_PUT:
		put(c, m);
		break;
	case SYNC_MSG_PUT_DATA:
		put_data(c, m);
		break;
	case SYNC_MSG_PUT_END:
		put_end(c, m);
		break;
	case SYNC_MSG_DEL:
		del(c, m);
		break;
	case SYNC_MSG_RESEND:
		if (!m->bad)
			gsync_dirty(c, m->path, true);
		break;
	case SYNC_MSG_FLUSH:
		gsync_dirtimes(c);
		c->flush_wanted = true;
		c->flush_seq = m->seq;
		break;
	case SYNC_MSG_EPOCH:
		gsync_dirtimes(c);
		if (gsync_ws_epoch_set(c, m->epoch) < 0)
			init_log(c->svc->a->ctx, "sync: cannot keep the sync epoch");
		break;
	default:
		break;
	}
}

void gsync_apply_close(struct gconn *c)
{
	if (c->put_active && !c->put_discard)
		safefs_tmp_abort(&c->put_tmp);
	c->put_active = false;
	while (c->ndirtimes)
		free(c->dirtimes[--c->ndirtimes].path);
	free(c->dirtimes);
	c->dirtimes = NULL;
	c->cdirtimes = 0;
}
