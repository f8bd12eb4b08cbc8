/* File operations confined under one directory fd (a project, a guest
 * workspace), for code that writes what a hostile peer asked for: every
 * path is resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS), the last component is never followed, and a file
 * is written to a temporary name and renamed into place, so a reader or a
 * crash never sees it half-written. Paths are relative, already checked
 * with sync_path_check (proto/sync.h). Every function returns -errno. */
#ifndef AIRLOCK_LIB_SAFEFS_H
#define AIRLOCK_LIB_SAFEFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* openat2 confined to root; -ENOSYS on kernels before 5.6. */
int safefs_open(int root, const char *path, int flags, mode_t mode);

/* Opens the directory that holds path's last component (O_PATH, confined)
 * and points *name at that component inside path. */
int safefs_parent(int root, const char *path, const char **name);

/* lstat of path under root: -ENOENT if it is not there (or a parent is
 * not a directory: -ENOTDIR). */
int safefs_lstat(int root, const char *path, struct stat *st);

/* How a file, link or directory being made is finished. */
struct safefs_attr {
	mode_t mode;		/* permission bits, applied with fchmod */
	int64_t mtime;		/* ns since the epoch; INT64_MIN: leave it */
	uid_t uid;		/* (uid_t)-1: leave the owner */
	gid_t gid;
	bool sync;		/* fsync the file before it is renamed in */
};

/* A file being written under a temporary name in its directory: O_TMPFILE
 * where the file system has it (nothing is left if we die), else a name
 * starting with SYNC_TMP_PREFIX that safefs_clean_tmp removes later. */
struct safefs_tmp {
	int dirfd;		/* the directory (owned) */
	int fd;			/* write here (read too) */
	bool named;		/* name[] exists in dirfd */
	char name[32];
};

/* Opens a temporary file in the directory holding path (which need not
 * exist yet). *name as for safefs_parent. */
int safefs_tmp_open(int root, const char *path, struct safefs_tmp *t,
		    const char **name);
/* Applies attr, then moves the file to name in its directory: replacing
 * what is there unless noreplace (then -EEXIST). A directory there is
 * replaced only if it is empty. Closes everything; on failure nothing is
 * left but what was there before. */
int safefs_tmp_commit(struct safefs_tmp *t, const char *name,
		      const struct safefs_attr *attr, bool noreplace);
void safefs_tmp_abort(struct safefs_tmp *t);

/* A symlink to target at path, made under a temporary name and renamed
 * in, replacing what is there (an empty directory included). */
int safefs_symlink(int root, const char *path, const char *target,
		   const struct safefs_attr *attr);

/* A directory at path: made if absent (mode, owner from attr), its mode
 * set if present. A non-directory there is replaced (removed first) only
 * with replace; else -EEXIST. */
int safefs_mkdir(int root, const char *path, const struct safefs_attr *attr,
		 bool replace);

/* Removes path: a directory only if empty (-ENOTEMPTY), anything else by
 * unlinking the name. -ENOENT if it is not there. */
int safefs_remove(int root, const char *path);

/* Renames from to to, both under root: never replacing (-EEXIST) unless
 * replace (then only a file or link, or an empty directory). */
int safefs_rename(int root, const char *from, const char *to, bool replace);

/* Sets the permission bits and/or mtime of what path names, not following
 * it (a symlink's mode is left alone). */
int safefs_set_attr(int root, const char *path, const struct safefs_attr *attr,
		    bool mode, bool mtime);

/* Reads a symlink's target under root into buf (NUL-terminated). Returns
 * its length, -ENAMETOOLONG if it does not fit. */
int safefs_readlink(int root, const char *path, char *buf, size_t size);

/* Opens a regular file under root for reading, refusing anything else
 * (-EINVAL): FIFOs and devices are never opened. */
int safefs_open_read(int root, const char *path);

/* Removes leftover named temporary files (SYNC_TMP_PREFIX) in dirfd. */
void safefs_clean_tmp(int dirfd);

/* A struct timespec pair for utimensat from ns (INT64_MIN: UTIME_OMIT). */
int64_t safefs_mtime_ns(const struct stat *st);

#endif
