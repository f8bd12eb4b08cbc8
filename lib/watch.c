/* inotify over a tree: see watch.h. */
#include "lib/watch.h"
#include "lib/safefs.h"
#include "proto/sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

/* No IN_DONT_FOLLOW: the path is /proc/self/fd/N, a magic link to the
 * directory the confined open found, which is what is to be watched. */
#define MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | \
	      IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR | IN_EXCL_UNLINK)

struct fswatch_node {
	int wd;
	char *name;			/* "" for the root */
	struct fswatch_node *parent;
	struct fswatch_node *child, *next;	/* first child, next sibling */
};

/* ---- wd -> node ---- */

static size_t wd_slot(const struct fswatch *w, int wd)
{
	size_t i = (size_t)wd * 2654435761u & (w->wdcap - 1);

	while (w->wdmap[i] && w->wdmap[i]->wd != wd)
		i = (i + 1) & (w->wdcap - 1);
	return i;
}

static struct fswatch_node *by_wd(const struct fswatch *w, int wd)
{
	return w->wdcap ? w->wdmap[wd_slot(w, wd)] : NULL;
}

static int wd_put(struct fswatch *w, struct fswatch_node *n)
{
	if ((w->wdcount + 1) * 2 > w->wdcap) {
		size_t cap = w->wdcap ? 2 * w->wdcap : 64, oldcap = w->wdcap;
		struct fswatch_node **old = w->wdmap;

		w->wdmap = calloc(cap, sizeof(*w->wdmap));
		if (!w->wdmap) {
			w->wdmap = old;
			return -ENOMEM;
		}
		w->wdcap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i])
				w->wdmap[wd_slot(w, old[i]->wd)] = old[i];
		free(old);
	}
	w->wdmap[wd_slot(w, n->wd)] = n;
	w->wdcount++;
	return 0;
}

static void wd_del(struct fswatch *w, int wd)
{
	size_t i, j;

	if (!w->wdcap || !w->wdmap[i = wd_slot(w, wd)])
		return;
	w->wdmap[i] = NULL;
	w->wdcount--;
	/* Re-place the rest of the run (load stays under half). */
	for (j = (i + 1) & (w->wdcap - 1); w->wdmap[j]; j = (j + 1) & (w->wdcap - 1)) {
		struct fswatch_node *n = w->wdmap[j];

		w->wdmap[j] = NULL;
		w->wdmap[wd_slot(w, n->wd)] = n;
	}
}

/* ---- the tree ---- */

static struct fswatch_node *child_named(struct fswatch_node *p, const char *name)
{
	for (struct fswatch_node *c = p ? p->child : NULL; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void unlink_node(struct fswatch_node *n)
{
	struct fswatch_node **pp;

	if (!n->parent)
		return;
	for (pp = &n->parent->child; *pp; pp = &(*pp)->next)
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	n->parent = NULL;
	n->next = NULL;
}

static void link_node(struct fswatch_node *n, struct fswatch_node *parent)
{
	n->parent = parent;
	n->next = parent->child;
	parent->child = n;
}

/* Drops n and everything below it; rm: also remove the kernel's watches
 * (they live on where the directory went). */
static void drop(struct fswatch *w, struct fswatch_node *n, bool rm)
{
	while (n->child)
		drop(w, n->child, rm);
	if (w->have_from && w->from_parent == n)
		w->have_from = false;
	unlink_node(n);
	if (rm)
		inotify_rm_watch(w->ifd, n->wd);
	wd_del(w, n->wd);
	if (w->top == n)
		w->top = NULL;
	free(n->name);
	free(n);
}

/* path of n into buf ("" for the root); false if it does not fit. */
static bool node_path(const struct fswatch_node *n, char *buf, size_t size)
{
	const struct fswatch_node *chain[SYNC_MAX_DEPTH + 1];
	size_t k = 0, off = 0;

	for (; n && n->parent; n = n->parent) {
		if (k == SYNC_MAX_DEPTH)
			return false;
		chain[k++] = n;
	}
	buf[0] = 0;
	while (k--) {
		size_t len = strlen(chain[k]->name);

		if (off + len + 2 > size)
			return false;
		if (off)
			buf[off++] = '/';
		memcpy(buf + off, chain[k]->name, len + 1);
		off += len;
	}
	return true;
}

static bool join(char *buf, size_t size, const char *dir, const char *name)
{
	int n = *dir ? snprintf(buf, size, "%s/%s", dir, name) :
		       snprintf(buf, size, "%s", name);

	return n >= 0 && (size_t)n < size;
}

/* Adds the watch for directory path whose node goes under parent with
 * name (parent NULL: the root). */
static struct fswatch_node *add_one(struct fswatch *w, struct fswatch_node *parent,
				    const char *name, const char *path)
{
	struct fswatch_node *n;
	char proc[40];
	int fd, wd;

	fd = safefs_open(w->root, *path ? path : ".", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		return NULL;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(w->ifd, proc, MASK);
	close(fd);
	if (wd < 0) {
		if (errno == ENOSPC)
			w->limit_hit = true;
		return NULL;
	}
	n = by_wd(w, wd);
	if (n) {
		/* Already watched (it was moved without our seeing it): it
		 * lives here now. */
		if (n == w->top || !parent)
			return n;
		unlink_node(n);
		if (strcmp(n->name, name)) {
			char *nm = strdup(name);

			if (nm) {
				free(n->name);
				n->name = nm;
			}
		}
		link_node(n, parent);
		return n;
	}
	n = calloc(1, sizeof(*n));
	if (!n || !(n->name = strdup(name)) || (n->wd = wd, wd_put(w, n)) < 0) {
		if (n)
			free(n->name);
		free(n);
		inotify_rm_watch(w->ifd, wd);
		return NULL;
	}
	if (parent)
		link_node(n, parent);
	return n;
}

/* The node of directory path, walking from the root; NULL if unwatched. */
static struct fswatch_node *lookup(struct fswatch *w, const char *path)
{
	struct fswatch_node *n = w->top;
	char comp[256];

	while (n && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);

		if (len >= sizeof(comp))
			return NULL;
		memcpy(comp, path, len);
		comp[len] = 0;
		n = child_named(n, comp);
		path += len + (slash ? 1 : 0);
	}
	return n;
}

static void add_below(struct fswatch *w, struct fswatch_node *n, const char *path)
{
	char sub[SYNC_MAX_PATH + 2];
	struct dirent *e;
	DIR *d;
	int fd;

	fd = safefs_open(w->root, *path ? path : ".", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		struct fswatch_node *c;

		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    sync_name_check(e->d_name, strlen(e->d_name)) ||
		    !join(sub, sizeof(sub), path, e->d_name) ||
		    strlen(sub) > SYNC_MAX_PATH)
			continue;
		if (e->d_type == DT_UNKNOWN) {
			struct stat st;

			if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISDIR(st.st_mode))
				continue;
		}
		if (w->ignore && pathmatch_match(w->ignore, sub, true))
			continue;
		c = add_one(w, n, e->d_name, sub);
		if (c)
			add_below(w, c, sub);
	}
	closedir(d);
}

int fswatch_add_tree(struct fswatch *w, const char *dir)
{
	const char *slash = strrchr(dir, '/'), *name = slash ? slash + 1 : dir;
	char parent[SYNC_MAX_PATH + 1];
	struct fswatch_node *p, *n;

	if (!*dir)
		return w->top ? 0 : -EINVAL;
	if (slash) {
		if ((size_t)(slash - dir) >= sizeof(parent))
			return -ENAMETOOLONG;
		memcpy(parent, dir, (size_t)(slash - dir));
		parent[slash - dir] = 0;
	} else {
		parent[0] = 0;
	}
	p = lookup(w, parent);
	if (!p)
		return -ENOENT;
	n = child_named(p, name);
	if (!n)
		n = add_one(w, p, name, dir);
	if (!n)
		return w->limit_hit ? -ENOSPC : -ENOENT;
	add_below(w, n, dir);
	return 0;
}

int fswatch_init(struct fswatch *w, int root, const struct pathmatch *ignore)
{
	*w = (struct fswatch){ .root = root, .ignore = ignore };
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0)
		return -errno;
	w->top = add_one(w, NULL, "", "");
	if (!w->top) {
		int r = w->limit_hit ? -ENOSPC : -errno;

		close(w->ifd);
		w->ifd = -1;
		return r ? r : -EIO;
	}
	add_below(w, w->top, "");
	return 0;
}

void fswatch_close(struct fswatch *w)
{
	if (w->top)
		drop(w, w->top, false);
	free(w->wdmap);
	w->wdmap = NULL;
	w->wdcap = w->wdcount = 0;
	if (w->ifd >= 0)
		close(w->ifd);
	w->ifd = -1;
}

/* ---- events ---- */

/* A MOVED_FROM whose MOVED_TO never came: it left the tree. */
static void flush_from(struct fswatch *w, const struct fswatch_cb *cb)
{
	char dir[SYNC_MAX_PATH + 2], path[SYNC_MAX_PATH + 2];

	if (!w->have_from)
		return;
	w->have_from = false;
	if (w->from_dir) {
		struct fswatch_node *c = child_named(w->from_parent, w->from_name);

		if (c)
			drop(w, c, true);
	}
	if (node_path(w->from_parent, dir, sizeof(dir)) &&
	    join(path, sizeof(path), dir, w->from_name))
		cb->dirty(cb->arg, path);
}

static void moved_to(struct fswatch *w, struct fswatch_node *n, const char *name,
		     const char *to, bool is_dir, const struct fswatch_cb *cb)
{
	char dir[SYNC_MAX_PATH + 2], from[SYNC_MAX_PATH + 2];
	struct fswatch_node *c;

	w->have_from = false;
	if (!node_path(w->from_parent, dir, sizeof(dir)) ||
	    !join(from, sizeof(from), dir, w->from_name)) {
		cb->dirty(cb->arg, to);
		return;
	}
	if (is_dir && (c = child_named(w->from_parent, w->from_name))) {
		char *nm = strdup(name);

		if (nm) {
			unlink_node(c);
			free(c->name);
			c->name = nm;
			link_node(c, n);
		} else {
			drop(w, c, true);
			fswatch_add_tree(w, to);
		}
	} else if (is_dir) {
		fswatch_add_tree(w, to);
	}
	cb->moved(cb->arg, from, to, is_dir);
}

static void event(struct fswatch *w, const struct inotify_event *ev,
		  const struct fswatch_cb *cb)
{
	struct fswatch_node *n;
	char dir[SYNC_MAX_PATH + 2], path[SYNC_MAX_PATH + 2];
	bool is_dir = ev->mask & IN_ISDIR;

	if (ev->mask & IN_Q_OVERFLOW) {
		flush_from(w, cb);
		cb->overflow(cb->arg);
		return;
	}
	n = by_wd(w, ev->wd);
	if (!n)
		return;
	if (ev->mask & IN_IGNORED) {
		/* The directory is gone; its parent says so by name. */
		if (w->have_from && w->from_parent == n)
			w->have_from = false;
		drop(w, n, false);
		return;
	}
	if (!node_path(n, dir, sizeof(dir)))
		return;
	if (!ev->len || !ev->name[0]) {
		if ((ev->mask & IN_ATTRIB) && *dir)
			cb->dirty(cb->arg, dir);	/* the directory's own mode */
		return;
	}
	if (sync_name_check(ev->name, strlen(ev->name)) == SYNC_BAD_RESERVED)
		return;		/* our own temporary files, either side */
	if (!join(path, sizeof(path), dir, ev->name))
		return;
	if (ev->mask & IN_MOVED_TO) {
		if (w->have_from && w->cookie == ev->cookie) {
			moved_to(w, n, ev->name, path, is_dir, cb);
			return;
		}
		flush_from(w, cb);
		if (is_dir)
			fswatch_add_tree(w, path);
		cb->dirty(cb->arg, path);
		return;
	}
	flush_from(w, cb);
	if (ev->mask & IN_MOVED_FROM) {
		w->have_from = true;
		w->cookie = ev->cookie;
		w->from_dir = is_dir;
		w->from_parent = n;
		snprintf(w->from_name, sizeof(w->from_name), "%s", ev->name);
		return;
	}
	if ((ev->mask & IN_CREATE) && is_dir &&
	    !(w->ignore && pathmatch_match(w->ignore, path, true)))
		fswatch_add_tree(w, path);
	if ((ev->mask & IN_DELETE) && is_dir) {
		struct fswatch_node *c = child_named(n, ev->name);

		if (c)
			drop(w, c, false);
	}
	cb->dirty(cb->arg, path);
}

void fswatch_drain(struct fswatch *w, const struct fswatch_cb *cb)
{
	char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(w->ifd, buf, sizeof(buf));
		size_t off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (off + sizeof(struct inotify_event) <= (size_t)n) {
			const struct inotify_event *ev = (const void *)(buf + off);

			off += sizeof(*ev) + ev->len;
			if (off > (size_t)n)
				break;
			event(w, ev, cb);
		}
	}
	/* Both halves of a rename are queued together: one still alone now
	 * moved out of the tree. */
	flush_from(w, cb);
}
