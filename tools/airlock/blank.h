/* Blank sandbox disks, made once per size and copied: a new sandbox's disk
 * is a sparse copy (about 300 KiB of metadata) of $AIRLOCK_HOME/cache/blank-
 * <bytes>.ext4 instead of a mkfs.ext4 run, which costs more than the rest
 * of starting a sandbox from a snapshot. Sandboxes whose disks come from
 * one blank share its file system UUID and directory hash seed; each disk
 * is still the sandbox's own. */
#ifndef AIRLOCK_TOOLS_BLANK_H
#define AIRLOCK_TOOLS_BLANK_H

#include <stdint.h>

/* Makes path (which must not exist) a copy of the blank disk of bytes:
 * 0, -ENOENT if there is none yet, or another -errno. Prints nothing. */
int blank_copy(const char *home, const char *path, uint64_t bytes);

/* Keeps path, a freshly made empty disk of bytes, as the blank for its
 * size (unless there is one). Failing to is no error: the next sandbox
 * runs mkfs again. */
void blank_keep(const char *home, const char *path, uint64_t bytes);

/* Sparse copy of src into dst (created, mode 0600, must not exist):
 * only the data ranges are copied, the holes stay holes. 0 or -errno;
 * on error dst is removed. */
int blank_sparse_copy(const char *src, const char *dst);

#endif
