/* A directory tree watched with inotify, as both sync ends use it: one
 * watch per directory (added through /proc/self/fd, so the root is held as
 * an fd and nothing is looked up by an outside path), kept in a tree of
 * nodes so that a renamed directory keeps its watches and its new path.
 * Events come out as "something at this path may have changed" and "this
 * was renamed to that"; the caller debounces and looks. */
#ifndef AIRLOCK_LIB_WATCH_H
#define AIRLOCK_LIB_WATCH_H

#include "lib/pathmatch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fswatch_node;

struct fswatch {
	int ifd;		/* the inotify fd: poll it for input */
	int root;		/* not owned */
	const struct pathmatch *ignore;
	struct fswatch_node *top;
	struct fswatch_node **wdmap;	/* by wd, open addressing */
	size_t wdcap, wdcount;
	bool limit_hit;		/* inotify's watch limit was reached */
	/* A MOVED_FROM waiting for its MOVED_TO. */
	bool have_from;
	uint32_t cookie;
	bool from_dir;
	struct fswatch_node *from_parent;
	char from_name[256];
};

struct fswatch_cb {
	/* Something at path may have changed: made, written, its mode or
	 * time set, removed, moved away or in. */
	void (*dirty)(void *arg, const char *path);
	/* from was renamed to to, both inside the tree. */
	void (*moved)(void *arg, const char *from, const char *to, bool is_dir);
	/* Events were lost: look at everything. */
	void (*overflow)(void *arg);
	void *arg;
};

/* Starts watching root's tree: every directory not left out by ignore
 * (kept by reference). -errno if the root itself cannot be watched. */
int fswatch_init(struct fswatch *w, int root, const struct pathmatch *ignore);
/* Watches dir (relative) and every directory under it. Call for a
 * directory that appeared: events inside it before this are not seen, so
 * the caller looks at its contents afterwards. */
int fswatch_add_tree(struct fswatch *w, const char *dir);
/* Reads every queued event and reports it. */
void fswatch_drain(struct fswatch *w, const struct fswatch_cb *cb);
void fswatch_close(struct fswatch *w);

#endif
