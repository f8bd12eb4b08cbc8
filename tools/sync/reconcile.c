/* The start of a run: the guest's listing, the host's own scan and the
 * last synced state (the base) compared three ways, path by path. What
 * changed only on the host goes in, what changed only in the guest comes
 * back (its content asked for), what changed on both is judged as any
 * change is (apply.c: both kept if they differ). On a first run (or a
 * guest whose copy is not the one the base describes) the base is empty,
 * so everything on the host goes in and anything only in the guest comes
 * back. Then the barriers: the first FLUSH (the copy-in is done: EPOCH,
 * state saved, the supervisor told), one every HSYNC_SAVE_MS while things
 * change, and the last (the run's end).
 *
 * The state is saved at barriers only. airlock-init makes its disk durable
 * (syncfs) before it answers FLUSHED, and everything it answered before is
 * in the stream before FLUSHED: so a saved state never says the guest has a
 * file its disk may lose in a crash. (Saved any later, a file pushed and
 * then lost with a killed VM would read as deleted in the guest, and the
 * next run would delete it on the host.) */
#include "tools/sync/sync.h"
#include "lib/clock.h"
#include "lib/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An entry of the guest's listing or of the host's scan. */
struct lentry {
	struct pathmap_node n;
	struct sync_meta m;
	char *target;
};

static void lmap_free(struct pathmap *m)
{
	size_t n;
	struct pathmap_node **l = pathmap_list(m, &n, false);

	for (size_t i = 0; i < n; i++) {
		free(((struct lentry *)l[i])->target);
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
	pathmap_free(m);
}

static int lmap_add(struct pathmap *map, const char *path, const struct sync_meta *m,
		    const char *target)
{
	struct lentry *e = calloc(1, sizeof(*e));

	if (!e || !(e->n.path = strdup(path)) ||
	    (target && !(e->target = strdup(target)))) {
		if (e)
			free(e->n.path);
		free(e);
		return -ENOMEM;
	}
	e->m = *m;
	if (pathmap_put(map, &e->n) < 0) {
		free(e->target);
		free(e->n.path);
		free(e);
		return -EEXIST;
	}
	return 0;
}

void hsync_listing_entry(struct hsync *s, const struct sync_msg *m)
{
	if (m->bad) {
		hsync_log(s, "note", NULL, "the sandbox lists a path airlock cannot "
			  "carry: %s", sync_bad_text(m->bad));
		return;
	}
	lmap_add(&s->listing, m->path, &m->meta,
		 m->meta.kind == SYNC_LINK ? m->target : NULL);
}

/* ---- the host's scan ---- */

struct hscan {
	struct hsync *s;
	struct pathmap map;
	uint64_t left_out;
	char sample[3][256];
	int nsample;
};

static void left_out(struct hscan *h, const char *path, const char *why)
{
	char e[256];

	h->left_out++;
	if (h->nsample < 3) {
		hsync_escape(path, e, sizeof(e));
		snprintf(h->sample[h->nsample++], sizeof(h->sample[0]), "%s", e);
	}
	hsync_log(h->s, "left-out", path, "%s", why);
}

static int scan_entry(void *arg, const char *path, const struct stat *st,
		      const char *target)
{
	struct hscan *h = arg;
	struct sync_meta m;

	hsync_meta(st, &m);
	if (sync_path_printable(path, strlen(path))) {
		left_out(h, path, "a control character in its name");
		return 1;
	}
	if (!sync_kind_is_entry(m.kind)) {
		left_out(h, path, "not a file, folder or link");
		return 0;
	}
	if (target && sync_path_printable(target, strlen(target))) {
		left_out(h, path, "a control character in the link's target");
		return 0;
	}
	if (target)
		m.size = strlen(target);
	return lmap_add(&h->map, path, &m, target) == -ENOMEM ? -ENOMEM : 0;
}

static void scan_excluded(void *arg, const char *path, bool is_dir)
{
	struct hscan *h = arg;
	char e[256];

	(void)is_dir;
	h->left_out++;
	if (h->nsample < 3) {
		hsync_escape(path, e, sizeof(e));
		snprintf(h->sample[h->nsample++], sizeof(h->sample[0]), "%s", e);
	}
}

static void scan_bad(void *arg, int dirfd, const char *dir, const char *name, int bad)
{
	struct hscan *h = arg;
	char path[SYNC_MAX_PATH + 300];

	/* Our own temporary files, left by a run that was killed. */
	if (bad == SYNC_BAD_RESERVED) {
		unlinkat(dirfd, name, 0);
		return;
	}
	snprintf(path, sizeof(path), "%s%s%s", dir, *dir ? "/" : "", name);
	left_out(h, path, sync_bad_text(bad));
}

/* ---- three ways ---- */

static void resend(struct hsync *s, const char *path)
{
	struct sync_msg *m = &s->out;

	m->type = SYNC_MSG_RESEND;
	snprintf(m->path, sizeof(m->path), "%s", path);
	hsync_send(s, m);
}

/* The guest has g at path, a folder, link or other kind: judged as a
 * CHANGE without content would be. */
static void take_guest(struct hsync *s, const char *path, const struct lentry *g)
{
	struct sync_msg *m = &s->scratch;

	memset(m, 0, offsetof(struct sync_msg, path));
	m->type = SYNC_MSG_CHANGE;
	m->meta = g->m;
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (g->target)
		snprintf(m->target, sizeof(m->target), "%s", g->target);
	m->bad = sync_path_check(m->path, strlen(m->path));
	hsync_guest_msg(s, m);
}

static void gone_now(struct hsync *s, const char *path)
{
	struct sync_msg *m = &s->scratch;

	memset(m, 0, offsetof(struct sync_msg, path));
	m->type = SYNC_MSG_GONE;
	snprintf(m->path, sizeof(m->path), "%s", path);
	hsync_guest_msg(s, m);
}

static bool same_link(const struct lentry *a, const struct lentry *b)
{
	return a && b && a->target && b->target && strcmp(a->target, b->target) == 0;
}

static void decide(struct hsync *s, const char *path, const struct lentry *hl,
		   const struct lentry *gl)
{
	struct hentry *b = hsync_base(s, path);
	struct sync_meta none = { 0 };
	const struct sync_meta *h = hl ? &hl->m : &none, *g = gl ? &gl->m : &none;
	bool hchg = b ? !hsync_same(h, &b->host) : h->kind != SYNC_NONE;
	bool gchg = b ? !hsync_same(g, &b->guest) : g->kind != SYNC_NONE;

	if (!hchg && !gchg)
		return;
	if (hchg && !gchg) {
		hsync_dirty(s, path);
		return;
	}
	if (!hchg) {
		if (g->kind == SYNC_NONE)
			gone_now(s, path);
		else if (g->kind == SYNC_FILE)
			resend(s, path);
		else
			take_guest(s, path, gl);
		return;
	}
	/* Both. */
	if (h->kind == SYNC_NONE && g->kind == SYNC_NONE) {
		if (b && !b->inflight)
			hsync_base_del(s, path);
		return;
	}
	if (h->kind == g->kind && (h->kind == SYNC_DIR ||
				   (h->kind == SYNC_LINK ? same_link(hl, gl) :
				    hsync_same(h, g)))) {
		/* Made the same on both sides (or a copy-in cut short). */
		b = hsync_base_make(s, path);
		if (b) {
			b->host = *h;
			b->guest = *g;
			b->hash = h->kind == SYNC_LINK ?
				  hash64(hl->target, strlen(hl->target)) : 0;
			s->base_dirty = true;
			if (h->kind == SYNC_DIR && h->mode != g->mode)
				hsync_dirty(s, path);
		}
		return;
	}
	if (g->kind == SYNC_NONE) {
		/* Deleted in the guest, changed on the host: the host's wins. */
		b = hsync_base_make(s, path);
		if (b) {
			b->guest = none;
			b->force = true;
		}
		hsync_dirty(s, path);
		return;
	}
	if (g->kind == SYNC_FILE)
		resend(s, path);	/* judged with its content */
	else
		take_guest(s, path, gl);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void hsync_reconcile(struct hsync *s)
{
	struct hscan h = { .s = s };
	struct scan_ops ops = { .ignore = &s->ignore, .entry = scan_entry,
				.excluded = scan_excluded, .bad = scan_bad, .arg = &h };
	size_t nh, ng, nb, n = 0;
	struct pathmap_node **lh, **lg, **lb;
	char **all;
	int r;

	pathmap_init(&h.map);
	/* Watching first, so that nothing changed during the scan is missed. */
	r = fswatch_init(&s->fw, s->project, &s->ignore);
	if (r < 0)
		hsync_log(s, "note", NULL, "the project cannot be watched (%s): the "
			  "host's changes reach the sandbox at its next run", strerror(-r));
	else
		s->watching = true;
	if (s->watching && s->fw.limit_hit)
		hsync_log(s, "note", NULL, "inotify's watch limit is reached: changes in "
			  "some folders reach the sandbox at its next run");
	safefs_clean_tmp(s->project);
	r = scan_tree(s->project, "", &ops);
	if (r < 0) {
		hsync_ctl_say(s, "error cannot read the project: %s", strerror(-r));
		s->dead = true;
		lmap_free(&h.map);
		return;
	}
	if (h.left_out) {
		char line[1024];
		int k = snprintf(line, sizeof(line), "left-out %llu",
				 (unsigned long long)h.left_out);

		for (int i = 0; i < h.nsample && k > 0 && (size_t)k < sizeof(line); i++)
			k += snprintf(line + k, sizeof(line) - (size_t)k, "%s%s",
				      i ? ", " : " ", h.sample[i]);
		hsync_ctl_say(s, "%s", line);
	}
	/* Every path any of the three knows, a parent before its children. */
	lh = pathmap_list(&h.map, &nh, false);
	lg = pathmap_list(&s->listing, &ng, false);
	lb = pathmap_list(&s->base, &nb, false);
	all = malloc((nh + ng + nb + 1) * sizeof(*all));
	if (all) {
		for (size_t i = 0; i < nh; i++)
			all[n++] = lh[i]->path;
		for (size_t i = 0; i < ng; i++)
			if (!pathmap_get(&h.map, lg[i]->path))
				all[n++] = lg[i]->path;
		for (size_t i = 0; i < nb; i++)
			if (!pathmap_get(&h.map, lb[i]->path) &&
			    !pathmap_get(&s->listing, lb[i]->path))
				all[n++] = strdup(lb[i]->path);	/* decide() may free it */
		qsort(all, n, sizeof(*all), cmp_path);
		s->copyin_active = true;
		s->phase = H_RECONCILE;
		for (size_t i = 0; i < n; i++) {
			const char *p = all[i];

			if (!p)
				continue;
			if (pathmatch_match(&s->ignore, p, false) &&
			    !pathmap_get(&h.map, p) && !pathmap_get(&s->listing, p)) {
				hsync_base_del(s, p);	/* excluded since */
				continue;
			}
			decide(s, p, (struct lentry *)pathmap_get(&h.map, p),
			       (struct lentry *)pathmap_get(&s->listing, p));
		}
		for (size_t i = 0; i < n; i++)
			if (all[i] && !pathmap_get(&h.map, all[i]) &&
			    !pathmap_get(&s->listing, all[i]))
				free(all[i]);
		free(all);
	} else {
		s->dead = true;
	}
	free(lh);
	free(lg);
	free(lb);
	lmap_free(&h.map);
	lmap_free(&s->listing);
	s->initial_seq = ++s->flush_seq;
}

/* ---- barriers ---- */

/* Sends the first FLUSH once every initial push has gone out, and the last
 * once finishing and not in the middle of a file. */
bool hsync_reconcile_pump(struct hsync *s)
{
	struct sync_msg *m = &s->out;

	if (s->src >= 0 || s->ihbatch < s->nhbatch)
		return false;
	if (s->phase == H_RECONCILE && !s->initial_sent && !s->dirty.count) {
		m->type = SYNC_MSG_FLUSH;
		m->seq = s->initial_seq;
		s->initial_sent = hsync_send(s, m);
		return true;
	}
	/* Every HSYNC_SAVE_MS while something changed: a barrier, whose
	 * FLUSHED saves the state. */
	if (s->phase == H_RUNNING && s->base_dirty && !s->save_seq &&
	    clock_ms() >= s->saved_ms + HSYNC_SAVE_MS) {
		s->save_seq = ++s->flush_seq;
		m->type = SYNC_MSG_FLUSH;
		m->seq = s->save_seq;
		hsync_send(s, m);
		return true;
	}
	if (s->phase == H_RUNNING && s->ctl_flush_wanted && !s->ctl_flush_seq) {
		s->ctl_flush_wanted = false;
		s->ctl_flush_seq = ++s->flush_seq;
		m->type = SYNC_MSG_FLUSH;
		m->seq = s->ctl_flush_seq;
		hsync_send(s, m);
		return true;
	}
	if (s->phase == H_FINISHING && !s->final_sent) {
		s->final_seq = ++s->flush_seq;
		m->type = SYNC_MSG_FLUSH;
		m->seq = s->final_seq;
		s->final_sent = hsync_send(s, m);
		return true;
	}
	return false;
}

void hsync_flushed(struct hsync *s, uint32_t seq)
{
	struct sync_msg *m = &s->out;

	if (s->phase == H_RECONCILE && seq == s->initial_seq) {
		hsync_deletions(s, true);
		s->copyin_active = false;
		m->type = SYNC_MSG_EPOCH;
		memcpy(m->epoch, s->epoch, SYNC_EPOCH_LEN);
		hsync_send(s, m);
		hsync_state_save(s);
		s->saved_ms = clock_ms();
		s->phase = s->finish_wanted ? H_FINISHING : H_RUNNING;
		hsync_ctl_say(s, "ready %llu %llu", (unsigned long long)s->count.in_files,
			      (unsigned long long)s->count.in_bytes);
	} else if (s->phase == H_FINISHING && s->final_sent && seq == s->final_seq) {
		hsync_deletions(s, true);
		hsync_state_save(s);
		s->phase = H_DONE;
	} else if (seq == s->ctl_flush_seq && s->ctl_flush_seq) {
		hsync_deletions(s, true);
		s->ctl_flush_seq = 0;
		hsync_state_save(s);
		s->saved_ms = clock_ms();
		hsync_ctl_say(s, "flushed");
	} else if (seq == s->save_seq && s->save_seq) {
		s->save_seq = 0;
		hsync_state_save(s);
		s->saved_ms = clock_ms();
	}
}
