/* Held changes as `airlock diff`, `accept` and `reject` see them: read
 * from the quarantine folder (quarantine.c writes them), applied through
 * the same confined file operations airlock-sync uses, or dropped; either
 * way the last synced state is updated, so that the next run neither
 * holds the change again nor loses it: an accepted change is agreed by
 * both sides, a rejected one is replaced in the guest by the host's
 * version. */
#ifndef AIRLOCK_TOOLS_SYNC_ITEMS_H
#define AIRLOCK_TOOLS_SYNC_ITEMS_H

#include "proto/sync.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct hsync;

struct qitem {
	char id[64];
	char *path;		/* the path, exactly (escape before printing) */
	char kind[16];		/* file, dir, link, delete, deletions */
	struct sync_meta meta;	/* what the guest has (NONE: deleted there) */
	time_t when;
	char reason[512];
	char **paths;		/* deletions: the paths, shallowest first */
	size_t npaths;
};

/* Every held item under state_fd, sorted by path. -errno on failure (no
 * quarantine: 0 items). */
int qitems_load(int state_fd, struct qitem **items, size_t *n);
void qitems_free(struct qitem *items, size_t n);
/* Does the item concern path (itself, or something under it)? */
bool qitem_matches(const struct qitem *it, const char *path);
/* Its content (a file's bytes, a link's target), or -errno. */
int qitem_content(int state_fd, const struct qitem *it);

/* The workspace path a state folder was synced with (from its state
 * file). -ENOENT if there is none yet. */
int qstate_root(int state_fd, char *out, size_t size);

/* s: project and state fds set, the state loaded. Accept applies the
 * item (a deletion: removes, deepest first) and records it as agreed;
 * reject records that the guest is to get the host's version. Both drop
 * the item. -errno with why[] on failure (the item is kept). */
int qitem_accept(struct hsync *s, const struct qitem *it, char *why, size_t size);
int qitem_reject(struct hsync *s, const struct qitem *it, char *why, size_t size);

#endif
