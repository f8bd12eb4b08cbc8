/* The one way a guest change reaches the project. Every record is checked
 * before anything is written: its name (the format's rules, then no
 * control characters), its kind (files, folders and links only), the
 * limits (per file, per run, paths in the project), the ignore patterns;
 * then protected paths go to the quarantine, a change made on both sides
 * keeps both, and only what is left is written: through safefs (confined
 * to the project fd, no link followed, a temporary file fsynced and
 * renamed in), setuid, setgid and sticky bits stripped. A mass deletion is
 * held whole. Every refusal is logged with its reason and counted. */
#include "tools/sync/sync.h"
#include "tools/sync/quarantine.h"
#include "lib/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- what is on the host ---- */

void hsync_meta(const struct stat *st, struct sync_meta *m)
{
	*m = (struct sync_meta){ .mode = (uint16_t)(st->st_mode & 07777),
				 .mtime = safefs_mtime_ns(st) };
	if (S_ISREG(st->st_mode)) {
		m->kind = SYNC_FILE;
		m->size = (uint64_t)st->st_size;
	} else if (S_ISDIR(st->st_mode)) {
		m->kind = SYNC_DIR;
	} else if (S_ISLNK(st->st_mode)) {
		m->kind = SYNC_LINK;
		m->size = (uint64_t)st->st_size;
	} else if (S_ISFIFO(st->st_mode)) {
		m->kind = SYNC_FIFO;
	} else if (S_ISSOCK(st->st_mode)) {
		m->kind = SYNC_SOCK;
	} else if (S_ISCHR(st->st_mode)) {
		m->kind = SYNC_CHR;
	} else {
		m->kind = SYNC_BLK;
	}
}

void hsync_current(struct hsync *s, const char *path, struct sync_meta *m,
		   char *target, size_t tsize)
{
	struct stat st;

	if (target && tsize)
		target[0] = 0;
	if (safefs_lstat(s->project, path, &st) < 0) {
		*m = (struct sync_meta){ 0 };
		return;
	}
	hsync_meta(&st, m);
	if (m->kind == SYNC_LINK && target)
		safefs_readlink(s->project, path, target, tsize);
}

bool hsync_same(const struct sync_meta *a, const struct sync_meta *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case SYNC_NONE:
	case SYNC_DIR:
		return true;
	case SYNC_LINK:
		return a->size == b->size && a->mtime == b->mtime;
	default:
		return a->mode == b->mode && a->size == b->size && a->mtime == b->mtime;
	}
}

uint64_t hsync_hash_path(struct hsync *s, const char *path, const struct sync_meta *m)
{
	char target[SYNC_MAX_TARGET + 1];
	uint8_t buf[65536];
	struct hash64 h;
	ssize_t n;
	int fd;

	if (m->kind == SYNC_LINK) {
		int len = safefs_readlink(s->project, path, target, sizeof(target));

		return len < 0 ? 0 : hash64(target, (size_t)len);
	}
	if (m->kind != SYNC_FILE)
		return 0;
	fd = safefs_open_read(s->project, path);
	if (fd < 0)
		return 0;
	hash64_init(&h);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		hash64_update(&h, buf, (size_t)n);
	close(fd);
	return n < 0 ? 0 : hash64_final(&h);
}

/* ---- checks before anything is written ---- */

static const char *kind_text(uint8_t k)
{
	switch (k) {
	case SYNC_FIFO:
		return "a FIFO";
	case SYNC_SOCK:
		return "a socket";
	case SYNC_CHR:
		return "a character device";
	case SYNC_BLK:
		return "a block device";
	default:
		return "something else";
	}
}

/* Why a change from the guest is refused before it is looked at (NULL:
 * it is not). why[] holds the text when it is built. */
static const char *refusal(struct hsync *s, const struct sync_msg *m, char *why,
			   size_t size)
{
	struct hentry *b;

	if (m->bad)
		return sync_bad_text(m->bad);
	if (sync_path_printable(m->path, strlen(m->path)))
		return "a control character in a name";
	if (m->meta.kind == SYNC_LINK &&
	    sync_path_printable(m->target, strlen(m->target)))
		return "a control character in a link's target";
	if (!sync_kind_is_entry(m->meta.kind)) {
		snprintf(why, size, "%s: only files, folders and links are synced",
			 kind_text(m->meta.kind));
		return why;
	}
	if (pathmatch_match(&s->ignore, m->path, m->meta.kind == SYNC_DIR))
		return "left out by .airlockignore or --exclude";
	b = hsync_base(s, m->path);
	if (m->meta.kind == SYNC_FILE && !(m->flags & SYNC_F_META_ONLY)) {
		if (m->meta.size > s->lim.max_file) {
			snprintf(why, size, "%" PRIu64 " bytes, over the per-file limit of "
				 "%" PRIu64 " (--sync-max-file)", m->meta.size, s->lim.max_file);
			return why;
		}
		if (s->count.back_bytes + m->meta.size > s->lim.max_total) {
			snprintf(why, size, "over the limit of %" PRIu64 " bytes written back "
				 "in one run (--sync-max-total)", s->lim.max_total);
			return why;
		}
	}
	if (!b && s->base.count >= s->lim.max_files) {
		snprintf(why, size, "the project has %zu paths, the most airlock syncs "
			 "(--sync-max-files)", s->base.count);
		return why;
	}
	return NULL;
}

/* ---- writing ---- */

static struct safefs_attr host_attr(struct hsync *s, const char *path,
				    const struct sync_meta *g)
{
	if (g->mode & 07000) {
		s->count.stripped++;
		hsync_log(s, "stripped", path, "setuid, setgid or sticky bit removed "
			  "(mode %04o)", g->mode);
	}
	return (struct safefs_attr){ .mode = g->mode & 0777, .mtime = g->mtime,
				     .uid = (uid_t)-1, .gid = (gid_t)-1, .sync = true };
}

/* Writes the guest's version g at path (content in in->tmp for a file
 * with content). Returns 0 or -errno (the caller says why). */
static int write_entry(struct hsync *s, const char *path, const struct sync_meta *g,
		       const char *target, struct hin *in, bool meta_only,
		       const struct sync_meta *h)
{
	struct safefs_attr a = host_attr(s, path, g);

	switch (g->kind) {
	case SYNC_FILE:
		if (meta_only)
			return h->kind == SYNC_FILE ?
			       safefs_set_attr(s->project, path, &a, true, true) : -ENOENT;
		return safefs_tmp_commit(&in->tmp, in->name, &a, false);
	case SYNC_DIR:
		return safefs_mkdir(s->project, path, &a, h->kind == SYNC_FILE ||
				    h->kind == SYNC_LINK);
	default:
		return safefs_symlink(s->project, path, target, &a);
	}
}

/* The base after a write: both sides now hold g. */
static void agreed(struct hsync *s, const char *path, const struct sync_meta *g,
		   uint64_t hash)
{
	struct hentry *b = hsync_base_make(s, path);

	if (!b)
		return;
	hsync_current(s, path, &b->host, NULL, 0);
	b->guest = *g;
	b->hash = hash;
	b->force = false;
	b->failed = (struct sync_meta){ 0 };
	s->base_dirty = true;
}

static uint64_t content_hash(const struct sync_meta *g, const char *target, struct hin *in,
			     const struct hentry *b)
{
	if (g->kind == SYNC_LINK)
		return hash64(target, strlen(target));
	if (g->kind != SYNC_FILE)
		return 0;
	if (in)
		return hash64_final(&in->hash);
	return b ? b->hash : 0;
}

/* The guest's version kept beside the host's: NAME.airlock-conflict-guest-
 * TIME, the name cut to fit NAME_MAX. */
static int conflict_path(struct hsync *s, const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	const char *name = path + dirlen;
	char suffix[64];
	struct sync_meta m;
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	for (int i = 1; i < 100; i++) {
		size_t keep, slen;
		int n = (int)strftime(suffix, sizeof(suffix),
				      ".airlock-conflict-guest-%Y%m%d-%H%M%S", &tm);

		if (i > 1)
			n += snprintf(suffix + n, sizeof(suffix) - (size_t)n, "-%d", i);
		slen = (size_t)n;
		keep = strlen(name);
		if (keep + slen > SYNC_MAX_NAME)
			keep = SYNC_MAX_NAME - slen;
		if (dirlen + keep + slen >= size || dirlen + keep + slen > SYNC_MAX_PATH)
			return -ENAMETOOLONG;
		memcpy(out, path, dirlen + keep);
		memcpy(out + dirlen + keep, suffix, slen + 1);
		hsync_current(s, out, &m, NULL, 0);
		if (m.kind == SYNC_NONE && !hsync_base(s, out))
			return 0;
	}
	return -EEXIST;
}

/* Both sides changed path since they last agreed, and differ. */
static void conflict(struct hsync *s, const char *path, const struct sync_meta *g,
		     const char *target, struct hin *in, bool meta_only,
		     const struct sync_meta *h)
{
	char cpath[SYNC_MAX_PATH + 1];
	struct hentry *b;
	int r;

	if (meta_only || g->kind == SYNC_DIR) {
		/* Nothing of the guest's is lost by keeping the host's: its
		 * content is the last agreed one (META_ONLY), or it is a
		 * folder whose contents come path by path. */
		if (g->kind == SYNC_DIR && h->kind != SYNC_DIR) {
			s->count.conflicts++;
			hsync_log(s, "conflict", path, "a folder in the sandbox where the "
				  "host has a %s: the host's is kept",
				  h->kind == SYNC_LINK ? "link" : "file");
		}
		if (in && in->dest == IN_PROJECT)
			safefs_tmp_abort(&in->tmp);
		b = hsync_base_make(s, path);
		if (b) {
			b->guest = *g;
			b->force = true;
		}
		hsync_dirty(s, path);
		return;
	}
	r = conflict_path(s, path, cpath, sizeof(cpath));
	if (r == 0 && g->kind == SYNC_FILE && in) {
		/* The temporary file is in the same folder: only its name
		 * differs. */
		struct safefs_attr a = host_attr(s, cpath, g);
		const char *slash = strrchr(cpath, '/');

		r = safefs_tmp_commit(&in->tmp, slash ? slash + 1 : cpath, &a, true);
	} else if (r == 0 && g->kind == SYNC_LINK) {
		struct safefs_attr a = host_attr(s, cpath, g);

		r = safefs_symlink(s->project, cpath, target, &a);
	} else if (in && in->dest == IN_PROJECT) {
		safefs_tmp_abort(&in->tmp);
		if (r == 0)
			r = -EINVAL;
	}
	if (r < 0) {
		hsync_refuse(s, path, "changed on both sides, and the sandbox's version "
			     "could not be kept beside the host's: %s", strerror(-r));
	} else {
		struct hentry *c = hsync_base_make(s, cpath);

		s->count.conflicts++;
		hsync_log(s, "conflict", path, "changed on both sides: the host's is kept, "
			  "the sandbox's is beside it as %s", strrchr(cpath, '/') ?
			  strrchr(cpath, '/') + 1 : cpath);
		/* The guest gets the kept-beside copy too. */
		if (c) {
			hsync_current(s, cpath, &c->host, NULL, 0);
			c->guest = (struct sync_meta){ 0 };
			c->force = true;
			hsync_dirty(s, cpath);
		}
	}
	/* And the host's version, over the guest's. */
	b = hsync_base_make(s, path);
	if (b) {
		b->guest = *g;
		b->force = true;
	}
	hsync_dirty(s, path);
}

/* Are the host's h (target htarget) and the guest's g (content in in, or
 * target) the same thing? */
static bool equal(struct hsync *s, const char *path, const struct sync_meta *h,
		  const char *htarget, const struct sync_meta *g, const char *target,
		  struct hin *in, const struct hentry *b)
{
	if (h->kind != g->kind)
		return false;
	switch (h->kind) {
	case SYNC_DIR:
		return true;
	case SYNC_LINK:
		return strcmp(htarget, target) == 0;
	case SYNC_FILE:
		if (h->size != g->size || (h->mode & 0777) != (g->mode & 0777))
			return false;
		if (!in)
			return b && hsync_same(h, &b->host) && hsync_same(g, &b->guest);
		return hsync_hash_path(s, path, h) == hash64_final(&in->hash);
	default:
		return false;
	}
}

/* The heart: the guest says path is now g. */
static void change(struct hsync *s, const char *path, const struct sync_meta *g,
		   const char *target, struct hin *in, bool meta_only)
{
	char htarget[SYNC_MAX_TARGET + 1], why[300];
	struct hentry *b = hsync_base(s, path);
	struct sync_meta h;
	bool host_changed;
	const char *reason;
	int r;

	hsync_current(s, path, &h, htarget, sizeof(htarget));
	if (g->kind == SYNC_FILE && in && quarantine_needs_content(s, path)) {
		int oldfd = h.kind == SYNC_FILE ? safefs_open_read(s->project, path) : -1;

		reason = quarantine_content_reason(s, path, oldfd, in->tmp.fd, why, sizeof(why));
		if (oldfd >= 0)
			close(oldfd);
		if (reason) {
			r = quarantine_hold(s, path, g, in->tmp.fd, NULL, reason);
			safefs_tmp_abort(&in->tmp);
			if (r < 0) {
				hsync_refuse(s, path, "held back (%s), but the quarantine "
					     "could not be written: %s", reason, strerror(-r));
				return;
			}
			s->count.held++;
			hsync_log(s, "held", path, "%s", reason);
			if (b)
				b->guest = *g;
			return;
		}
	}
	if (!b)
		host_changed = h.kind != SYNC_NONE;
	else
		host_changed = b->inflight || b->force || !hsync_same(&h, &b->host);
	/* Only touched on the host (same content, same mode): not a change. */
	if (host_changed && b && !b->inflight && !b->force && h.kind == SYNC_FILE &&
	    b->host.kind == SYNC_FILE && h.mode == b->host.mode && h.size == b->host.size &&
	    b->hash && hsync_hash_path(s, path, &h) == b->hash)
		host_changed = false;
	if (host_changed && h.kind != SYNC_NONE) {
		if (equal(s, path, &h, htarget, g, target, in, b)) {
			if (in)
				safefs_tmp_abort(&in->tmp);
			agreed(s, path, g, content_hash(g, target, in, b));
			quarantine_drop(s, path);
			return;
		}
		conflict(s, path, g, target, in, meta_only, &h);
		return;
	}
	/* Only the guest changed it (or the host removed it: the change
	 * wins over the removal). */
	r = write_entry(s, path, g, target, in, meta_only, &h);
	if (r < 0) {
		hsync_refuse(s, path, "%s", r == -ENOTEMPTY ? "a folder with files in it "
			     "is in the way" : r == -ENOTDIR || r == -ENOENT ?
			     "its folder is not on the host (or is a link)" : strerror(-r));
		return;
	}
	agreed(s, path, g, content_hash(g, target, in, b));
	s->count.back++;
	if (g->kind == SYNC_FILE && !meta_only)
		s->count.back_bytes += g->size;
	quarantine_drop(s, path);
}

void hsync_apply_entry(struct hsync *s, const char *path, const struct sync_meta *g,
		       const char *target)
{
	const char *reason = quarantine_protected(s, path, g->kind);
	int r;

	if (reason) {
		r = quarantine_hold(s, path, g, -1, g->kind == SYNC_LINK ? target : NULL,
				    reason);
		if (r < 0) {
			hsync_refuse(s, path, "held back, but the quarantine could not be "
				     "written: %s", strerror(-r));
			return;
		}
		s->count.held++;
		hsync_log(s, "held", path, "%s", reason);
		return;
	}
	change(s, path, g, target, NULL, false);
}

/* ---- CHANGE and its content ---- */

static void change_begin(struct hsync *s, const struct sync_msg *m)
{
	struct hin *in = &s->cin;
	bool content = m->meta.kind == SYNC_FILE && !(m->flags & SYNC_F_META_ONLY);
	char why[300];
	const char *r = refusal(s, m, why, sizeof(why));
	int fd;

	in->active = content;
	in->dest = IN_DISCARD;
	in->err = 0;
	in->meta = m->meta;
	snprintf(in->path, sizeof(in->path), "%s", m->path);
	if (r) {
		hsync_refuse(s, m->path, "%s", r);
		return;
	}
	in->reason = quarantine_protected(s, m->path, m->meta.kind);
	if (m->flags & SYNC_F_META_ONLY) {
		if (in->reason) {
			/* A mode change (chmod +x of a hook): held with the
			 * content it applies to, the host's. */
			int hfd = safefs_open_read(s->project, m->path);
			int r2 = quarantine_hold(s, m->path, &m->meta, hfd, NULL, in->reason);

			if (hfd >= 0)
				close(hfd);
			if (r2 < 0) {
				hsync_refuse(s, m->path, "held back, but the quarantine could "
					     "not be written: %s", strerror(-r2));
				return;
			}
			s->count.held++;
			hsync_log(s, "held", m->path, "%s", in->reason);
			return;
		}
		change(s, m->path, &m->meta, NULL, NULL, true);
		return;
	}
	if (!content) {
		hsync_apply_entry(s, m->path, &m->meta, m->target);
		return;
	}
	hash64_init(&in->hash);
	if (in->reason) {
		fd = quarantine_open(s, m->path, in->qtmp, sizeof(in->qtmp), &in->qfd,
				     &in->qdir);
		if (fd < 0) {
			hsync_refuse(s, m->path, "held back (%s), but the quarantine could "
				     "not be written: %s", in->reason, strerror(-fd));
			return;
		}
		in->qcontent = fd;
		in->dest = IN_QUARANTINE;
		return;
	}
	fd = safefs_tmp_open(s->project, m->path, &in->tmp, &in->name);
	if (fd < 0) {
		hsync_refuse(s, m->path, "cannot be written here: %s", fd == -ENOENT ||
			     fd == -ENOTDIR ? "its folder is not on the host (or is a link)" :
			     strerror(-fd));
		return;
	}
	/* The message is overwritten by the next one: the name points into
	 * our own copy of the path. */
	in->name = strrchr(in->path, '/') ? strrchr(in->path, '/') + 1 : in->path;
	in->dest = IN_PROJECT;
}

static void change_data(struct hsync *s, const struct sync_msg *m)
{
	struct hin *in = &s->cin;
	int fd = in->dest == IN_PROJECT ? in->tmp.fd : in->qcontent;
	const uint8_t *p = m->data;
	size_t left = m->len;

	if (in->dest == IN_DISCARD || in->err)
		return;
	hash64_update(&in->hash, p, left);
	while (left) {
		ssize_t n = write(fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			in->err = n < 0 ? errno : EIO;
			return;
		}
		p += n;
		left -= (size_t)n;
	}
}

static void change_end(struct hsync *s, const struct sync_msg *m)
{
	struct hin *in = &s->cin;
	enum hin_dest dest = in->dest;
	int r;

	in->active = false;
	in->dest = IN_DISCARD;
	if (dest == IN_DISCARD)
		return;
	if (m->flags == SYNC_END_ABANDONED || in->err) {
		if (dest == IN_PROJECT)
			safefs_tmp_abort(&in->tmp);
		else
			quarantine_abort(s, in->qtmp, in->qfd, in->qdir, in->qcontent);
		if (in->err)
			hsync_refuse(s, in->path, "cannot be written: %s", strerror(in->err));
		return;
	}
	if (dest == IN_QUARANTINE) {
		r = quarantine_commit(s, in->qtmp, in->qfd, in->qdir, in->qcontent, in->path,
				      &in->meta, in->reason);
		if (r < 0) {
			hsync_refuse(s, in->path, "held back, but the quarantine could not "
				     "be written: %s", strerror(-r));
			return;
		}
		s->count.held++;
		hsync_log(s, "held", in->path, "%s", in->reason);
		return;
	}
	change(s, in->path, &in->meta, NULL, in, false);
}

void hsync_apply_close(struct hsync *s)
{
	struct hin *in = &s->cin;

	if (in->dest == IN_PROJECT)
		safefs_tmp_abort(&in->tmp);
	else if (in->dest == IN_QUARANTINE)
		quarantine_abort(s, in->qtmp, in->qfd, in->qdir, in->qcontent);
	in->dest = IN_DISCARD;
	in->active = false;
}

/* ---- deletions ---- */

static void gone(struct hsync *s, const struct sync_msg *m)
{
	struct hdirty *d;

	if (m->bad) {
		hsync_refuse(s, m->path, "%s", sync_bad_text(m->bad));
		return;
	}
	s->gone_last = clock_ms();
	if (pathmap_get(&s->gone, m->path))
		return;
	d = malloc(sizeof(*d));
	if (!d || !(d->n.path = strdup(m->path)) || pathmap_put(&s->gone, &d->n) < 0) {
		if (d)
			free(d->n.path);
		free(d);
	}
}

static int cmp_desc(const void *a, const void *b)
{
	return strcmp((*(struct pathmap_node *const *)b)->path,
		      (*(struct pathmap_node *const *)a)->path);
}

/* Every base entry the pending deletions take, deepest first. */
static struct hentry **deletion_set(struct hsync *s, size_t *n)
{
	struct hentry **out = NULL;
	size_t k = 0, ng, cap = 0;
	struct pathmap_node **g = pathmap_list(&s->gone, &ng, false);

	for (size_t i = 0; i < ng; i++) {
		size_t nb;
		struct pathmap_node **l = pathmap_subtree(&s->base, g[i]->path, &nb, false);

		for (size_t j = 0; j < nb; j++) {
			struct hentry *e = (struct hentry *)l[j];

			if (k == cap) {
				size_t c = cap ? 2 * cap : 64;
				struct hentry **p = realloc(out, c * sizeof(*p));

				if (!p)
					break;
				out = p;
				cap = c;
			}
			out[k++] = e;
		}
		free(l);
	}
	free(g);
	/* Duplicates (a path under two gone folders) are rare: drop them
	 * after sorting. */
	if (k)
		qsort(out, k, sizeof(*out), cmp_desc);
	{
		size_t w = 0;

		for (size_t i = 0; i < k; i++)
			if (!w || strcmp(out[w - 1]->n.path, out[i]->n.path) != 0)
				out[w++] = out[i];
		k = w;
	}
	*n = k;
	return out;
}

static void gone_clear(struct hsync *s)
{
	size_t n;
	struct pathmap_node **l = pathmap_list(&s->gone, &n, false);

	for (size_t i = 0; i < n; i++) {
		pathmap_del(&s->gone, l[i]->path);
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
}

/* The guest no longer has e: the host's copy goes back unless deleted. */
static void keep_host(struct hsync *s, struct hentry *e)
{
	e->guest = (struct sync_meta){ 0 };
	e->force = true;
	hsync_dirty(s, e->n.path);
}

void hsync_deletions(struct hsync *s, bool now)
{
	size_t n, on_host = 0, total;
	struct hentry **set;

	if (!s->gone.count || (!now && clock_ms() < s->gone_last + HSYNC_DELETE_SETTLE_MS))
		return;
	set = deletion_set(s, &n);
	gone_clear(s);
	total = hsync_base_count(s);
	for (size_t i = 0; i < n; i++)
		if (set[i]->host.kind != SYNC_NONE)
			on_host++;
	if (on_host && on_host * 2 > total) {
		/* More than half the project at once: held whole. */
		char **paths = malloc(n * sizeof(*paths));
		char why[160];
		int r = -ENOMEM;

		snprintf(why, sizeof(why), "%zu of the project's %zu paths deleted at once "
			 "in the sandbox", on_host, total);
		if (paths) {
			/* Shallowest first in the list: what a reader expects. */
			for (size_t i = 0; i < n; i++)
				paths[i] = set[n - 1 - i]->n.path;
			r = quarantine_hold_deletions(s, paths, n, why);
			free(paths);
		}
		if (r < 0) {
			s->count.refused += n;
			hsync_log(s, "refused", NULL, "%s; not applied, and the quarantine "
				  "could not be written: %s", why, strerror(-r));
		} else {
			s->count.held++;
			hsync_log(s, "held", NULL, "%s: held for review (airlock diff)", why);
		}
		for (size_t i = 0; i < n; i++)
			set[i]->guest = (struct sync_meta){ 0 };
		s->base_dirty = true;
		free(set);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct hentry *e = set[i];
		const char *path = e->n.path;
		struct sync_meta h;
		const char *reason;
		int r;

		hsync_current(s, path, &h, NULL, 0);
		reason = quarantine_protected(s, path, h.kind);
		if (!reason && quarantine_needs_content(s, path) && h.kind == SYNC_FILE)
			reason = "a git config or attributes file";
		if (reason && h.kind != SYNC_NONE) {
			struct sync_meta none = { 0 };

			r = quarantine_hold(s, path, &none, -1, NULL, reason);
			if (r == 0) {
				s->count.held++;
				hsync_log(s, "held", path, "deleted in the sandbox; %s", reason);
			} else {
				hsync_refuse(s, path, "deletion held back, but the quarantine "
					     "could not be written: %s", strerror(-r));
			}
			e->guest = (struct sync_meta){ 0 };
			s->base_dirty = true;
			continue;
		}
		if (e->inflight || e->force || !hsync_same(&h, &e->host)) {
			/* Changed on the host since: that wins over a deletion. */
			if (h.kind != SYNC_NONE)
				keep_host(s, e);
			continue;
		}
		if (h.kind == SYNC_NONE) {
			hsync_base_del(s, path);
			continue;
		}
		r = safefs_remove(s->project, path);
		if (r == 0 || r == -ENOENT) {
			hsync_base_del(s, path);
			s->count.back++;
		} else if (r == -ENOTEMPTY) {
			keep_host(s, e);	/* the host has more in it */
		} else {
			hsync_refuse(s, path, "cannot be deleted: %s", strerror(-r));
		}
	}
	free(set);
}

/* ---- renames ---- */

static bool move_ok(struct hsync *s, const struct sync_msg *m)
{
	struct hentry *b = hsync_base(s, m->path);
	struct sync_meta h, t;
	struct pathmap_node **l;
	size_t n, flen = strlen(m->path);
	bool ok = true;

	if (!b || !hsync_same(&b->guest, &m->meta) || b->force || b->inflight ||
	    sync_path_printable(m->to, strlen(m->to)) ||
	    pathmatch_match(&s->ignore, m->path, m->meta.kind == SYNC_DIR) ||
	    pathmatch_match(&s->ignore, m->to, m->meta.kind == SYNC_DIR))
		return false;
	hsync_current(s, m->path, &h, NULL, 0);
	if (!hsync_same(&h, &b->host))
		return false;
	hsync_current(s, m->to, &t, NULL, 0);
	if (t.kind != SYNC_NONE || hsync_base(s, m->to))
		return false;
	/* Nothing protected or judged by content moves in or out by rename;
	 * nothing under it waits for the guest or changed on the host. */
	l = pathmap_subtree(&s->base, m->path, &n, false);
	for (size_t i = 0; i < n && ok; i++) {
		const struct hentry *e = (const struct hentry *)l[i];
		char to[SYNC_MAX_PATH + 1];
		int len = snprintf(to, sizeof(to), "%s%s", m->to, e->n.path + flen);

		if (len < 0 || (size_t)len > SYNC_MAX_PATH || e->inflight || e->force ||
		    quarantine_protected(s, e->n.path, e->host.kind) ||
		    quarantine_protected(s, to, e->host.kind) ||
		    quarantine_needs_content(s, e->n.path) ||
		    quarantine_needs_content(s, to))
			ok = false;
	}
	free(l);
	return ok;
}

static void move(struct hsync *s, const struct sync_msg *m)
{
	struct sync_msg *r = &s->out;
	int ret;

	if (m->bad) {
		hsync_refuse(s, m->path, "a rename: %s", sync_bad_text(m->bad));
		return;
	}
	if (move_ok(s, m)) {
		ret = safefs_rename(s->project, m->path, m->to, false);
		if (ret == 0) {
			hsync_base_move(s, m->path, m->to);
			s->count.back++;
			return;
		}
	}
	/* Not as a rename: the old path as a deletion, the new one sent. */
	gone(s, m);
	r->type = SYNC_MSG_RESEND;
	snprintf(r->path, sizeof(r->path), "%s", m->to);
	hsync_send(s, r);
}

/* ---- dispatch ---- */

void hsync_guest_msg(struct hsync *s, const struct sync_msg *m)
{
	switch (m->type) {
	case SYNC_MSG_CHANGE:
		change_begin(s, m);
		break;
	case SYNC_MSG_CHANGE_DATA:
		change_data(s, m);
		break;
	case SYNC_MSG_CHANGE_END:
		change_end(s, m);
		break;
	case SYNC_MSG_GONE:
		gone(s, m);
		break;
	case SYNC_MSG_MOVE:
		move(s, m);
		break;
	case SYNC_MSG_APPLIED:
	case SYNC_MSG_REJECTED:
		hsync_push_reply(s, m);
		break;
	case SYNC_MSG_FLUSHED:
		hsync_flushed(s, m->seq);
		break;
	default:	/* BATCH: nothing to do at its end */
		break;
	}
}
