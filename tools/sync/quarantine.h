/* The quarantine of what the host would run (docs/sync.md): which paths
 * are protected (protected.list plus a per-project addition) and the held
 * changes, one folder each under sync/quarantine/ (quarantine.c); what
 * `airlock diff`, `accept` and `reject` read and act on (items.c). */
#ifndef AIRLOCK_TOOLS_SYNC_QUARANTINE_H
#define AIRLOCK_TOOLS_SYNC_QUARANTINE_H

#include "proto/sync.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hsync;

/* The built-in list plus the per-project addition's text (may be NULL). */
int quarantine_rules_load(struct hsync *s, const char *extra, size_t len);
void quarantine_rules_free(struct hsync *s);
/* Why a change making path a `kind` is held (a static string), or NULL. */
const char *quarantine_protected(const struct hsync *s, const char *path, uint8_t kind);
/* Is path a git config or attributes file, whose changes are judged by
 * what they say? */
bool quarantine_needs_content(const struct hsync *s, const char *path);
/* With the host's content (oldfd, -1 if none) and the guest's (newfd):
 * why the change is held (why[] or a static string), or NULL. */
const char *quarantine_content_reason(const struct hsync *s, const char *path,
				      int oldfd, int newfd, char *why, size_t size);

/* An item's id: 16 hex digits of the path's hash. */
void quarantine_id(const char *path, char *id, size_t size);
/* Holds a change: meta and the content from content_fd (read from offset
 * 0), a link target, or neither (a directory, or kind NONE: a deletion). */
int quarantine_hold(struct hsync *s, const char *path, const struct sync_meta *m,
		    int content_fd, const char *target, const char *reason);
/* The same in steps, for content that streams in: open gives the content
 * fd (and tmp, qfd, dfd to pass on), then commit or abort. */
int quarantine_open(struct hsync *s, const char *path, char *tmp, size_t size,
		    int *qfd, int *dfd);
int quarantine_commit(struct hsync *s, const char *tmp, int qfd, int dfd, int fd,
		      const char *path, const struct sync_meta *m, const char *reason);
void quarantine_abort(struct hsync *s, const char *tmp, int qfd, int dfd, int fd);
/* A mass deletion held as one item. */
int quarantine_hold_deletions(struct hsync *s, char *const *paths, size_t n,
			      const char *reason);
/* Drops the item held for path, if any. */
void quarantine_drop(struct hsync *s, const char *path);

#endif
