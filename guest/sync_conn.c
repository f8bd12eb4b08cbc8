/* A sync connection's output queue (frames for the host, bounded), the
 * meta of a file as the sync compares it, and the index of what was last
 * synced at each path. See sync.h. */
#include "guest/sync.h"
#include "lib/sendq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- output ---- */

static bool out_room(struct gconn *c, size_t need)
{
	if (c->o_cap - c->o_off - c->o_len >= need)
		return true;
	if (c->o_off) {
		memmove(c->obuf, c->obuf + c->o_off, c->o_len);
		c->o_off = 0;
	}
	if (c->o_cap - c->o_len >= need)
		return true;
	{
		size_t cap = c->o_cap ? c->o_cap : 65536;
		uint8_t *p;

		while (cap - c->o_len < need)
			cap *= 2;
		if (cap > SYNC_OUT_MAX)
			return false;
		p = realloc(c->obuf, cap);
		if (!p)
			return false;
		c->obuf = p;
		c->o_cap = cap;
	}
	return true;
}

bool gsync_send(struct gconn *c, const struct sync_msg *m)
{
	size_t need = m->type == SYNC_MSG_CHANGE_DATA ? FRAME_MAX_SIZE : SYNC_MSG_MAX;
	int n;

	if (c->dead)
		return false;
	if (!out_room(c, need)) {
		c->dead = true;
		return false;
	}
	n = sync_msg_encode(c->obuf + c->o_off + c->o_len,
			    c->o_cap - c->o_off - c->o_len, m);
	if (n < 0) {
		/* Ours to get right: a bug, not the host's doing. */
		init_log(c->svc->a->ctx, "sync: cannot encode a message of type "
			 "0x%02x: %s", m->type, strerror(-n));
		c->dead = true;
		return false;
	}
	c->o_len += (size_t)n;
	return true;
}

void gsync_fail(struct gconn *c, int err, const char *fmt, ...)
{
	struct sync_msg *m = &c->out;
	va_list ap;

	memset(m, 0, offsetof(struct sync_msg, path));
	m->type = SYNC_MSG_FAIL;
	m->err = (uint16_t)(err > 0 && err < 65536 ? err : EIO);
	va_start(ap, fmt);
	vsnprintf(m->text, SYNC_MAX_TEXT + 1, fmt, ap);
	va_end(ap);
	init_log(c->svc->a->ctx, "sync: %s", m->text);
	/* Whatever bytes the reason holds (a path), the host gets text it
	 * may print. */
	for (char *p = m->text; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	gsync_send(c, m);
	c->state = G_HELLO;
	c->dead = true;
}

bool gsync_flush(struct gconn *c)
{
	int r = sendq_flush(c->fd, c->obuf, &c->o_off, &c->o_len, &c->wr);

	if (r < 0)
		c->dead = true;
	return r != 0;
}

/* ---- the index ---- */

void gsync_meta(const struct stat *st, struct sync_meta *m)
{
	*m = (struct sync_meta){ .mode = (uint16_t)(st->st_mode & 07777),
				 .mtime = safefs_mtime_ns(st) };
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		m->kind = SYNC_FILE;
		m->size = (uint64_t)st->st_size;
		break;
	case S_IFDIR:
		m->kind = SYNC_DIR;
		break;
	case S_IFLNK:
		m->kind = SYNC_LINK;
		m->size = (uint64_t)st->st_size;
		break;
	case S_IFIFO:
		m->kind = SYNC_FIFO;
		break;
	case S_IFSOCK:
		m->kind = SYNC_SOCK;
		break;
	case S_IFCHR:
		m->kind = SYNC_CHR;
		break;
	default:
		m->kind = SYNC_BLK;
		break;
	}
}

bool gsync_same(const struct sync_meta *a, const struct sync_meta *b)
{
	if (a->kind != b->kind)
		return false;
	if (a->kind == SYNC_DIR)
		return a->mode == b->mode;
	if (a->kind == SYNC_LINK)
		return a->size == b->size && a->mtime == b->mtime;
	return a->mode == b->mode && a->size == b->size && a->mtime == b->mtime;
}

struct gentry *gsync_index_get(struct gconn *c, const char *path)
{
	return (struct gentry *)pathmap_get(&c->index, path);
}

int gsync_index_set(struct gconn *c, const char *path, const struct sync_meta *m)
{
	struct gentry *e = gsync_index_get(c, path);

	if (e) {
		e->meta = *m;
		return 0;
	}
	e = malloc(sizeof(*e));
	if (!e || !(e->n.path = strdup(path))) {
		free(e);
		return -ENOMEM;
	}
	e->meta = *m;
	if (pathmap_put(&c->index, &e->n) < 0) {
		free(e->n.path);
		free(e);
		return -ENOMEM;
	}
	return 0;
}

void gsync_index_drop(struct gconn *c, const char *path)
{
	size_t n;
	struct pathmap_node **l = pathmap_subtree(&c->index, path, &n, false);

	for (size_t i = 0; i < n; i++) {
		pathmap_del(&c->index, l[i]->path);
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
}

void gsync_index_move(struct gconn *c, const char *from, const char *to)
{
	size_t n, flen = strlen(from), tlen = strlen(to);
	struct pathmap_node **l;

	gsync_index_drop(c, to);
	l = pathmap_subtree(&c->index, from, &n, false);
	for (size_t i = 0; i < n; i++)
		pathmap_del(&c->index, l[i]->path);
	for (size_t i = 0; i < n; i++) {
		size_t rest = strlen(l[i]->path) - flen;
		char *p = malloc(tlen + rest + 1);

		if (!p || tlen + rest > SYNC_MAX_PATH) {
			free(p);
			free(l[i]->path);
			free(l[i]);
			continue;
		}
		memcpy(p, to, tlen);
		memcpy(p + tlen, l[i]->path + flen, rest + 1);
		free(l[i]->path);
		l[i]->path = p;
		if (pathmap_put(&c->index, l[i]) < 0) {
			free(p);
			free(l[i]);
		}
	}
	free(l);
}
