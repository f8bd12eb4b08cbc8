/* Walks a tree under a directory fd without following a link, for both
 * sides' listings: every entry in pre-order (a directory before what is in
 * it), left-out paths (the ignore patterns) and names the sync protocol
 * cannot carry reported apart. Nothing outside the root is opened. */
#ifndef AIRLOCK_LIB_SCAN_H
#define AIRLOCK_LIB_SCAN_H

#include "lib/pathmatch.h"

#include <stdbool.h>
#include <sys/stat.h>

struct scan_ops {
	/* Patterns to leave out (NULL: none); a left-out directory is not
	 * entered. */
	const struct pathmatch *ignore;
	/* Each entry: path relative to the root, its lstat, a link's target
	 * (else NULL). Return < 0 to stop the walk (that value is returned),
	 * 1 to not enter a directory, 0 to go on. */
	int (*entry)(void *arg, const char *path, const struct stat *st,
		     const char *target);
	/* A path the patterns leave out (may be NULL). */
	void (*excluded)(void *arg, const char *path, bool is_dir);
	/* A name sync_name_check refuses (enum sync_bad), in directory dir
	 * ("" for the root), or a path too long or deep (may be NULL). */
	void (*bad)(void *arg, int dirfd, const char *dir, const char *name, int bad);
	void *arg;
};

/* Walks what is under dir (a relative path, "" for the root itself; dir
 * itself is not reported). Returns 0, what entry() stopped with, or the
 * -errno of opening dir. Directories that vanish or cannot be read while
 * walked are skipped. */
int scan_tree(int root, const char *dir, const struct scan_ops *ops);

#endif
