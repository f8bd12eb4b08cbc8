/* A writer for "newc" (070701) cpio archives, the format the kernel unpacks
 * as an initramfs. Every attribute is explicit and mtime is 0, so the same
 * inputs give the same bytes; device nodes need no root. Optional gzip. */
#ifndef AIRLOCK_TOOLS_CPIO_H
#define AIRLOCK_TOOLS_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* newc sizes are 8 hex digits; a name longer than this is surely a mistake. */
#define CPIO_PATH_MAX 4096

enum {
	CPIO_GZIP = 1u << 0,	/* deflate the archive into one gzip member */
};

/* Where the archive bytes go. Returns 0 or -errno; called with len > 0. */
typedef int (*cpio_write_fn)(void *ctx, const void *buf, size_t len);

struct cpio_writer;

/* A writer sending its bytes to fn(ctx, ...). flags: CPIO_GZIP or 0. */
int cpio_writer_new(struct cpio_writer **out, cpio_write_fn fn, void *ctx,
		    unsigned flags);
/* A writer sending its bytes to fd, which stays the caller's to close. */
int cpio_writer_new_fd(struct cpio_writer **out, int fd, unsigned flags);
/* Frees the writer; without a successful cpio_finish() the archive is
 * incomplete. NULL is fine. */
void cpio_writer_free(struct cpio_writer *w);

/* Records. path is the name inside the archive; leading '/' are dropped, as
 * gen_init_cpio does. perm holds permission bits only (<= 07777): the type
 * comes from the call. Each returns 0 or -errno: -EINVAL for a bad path or
 * mode, -EFBIG for content over 4 GiB, the sink's error otherwise. A refused
 * record writes nothing; after a sink or read error the output is unusable
 * and the writer returns that error for every later call. */
int cpio_add_dir(struct cpio_writer *w, const char *path, unsigned perm,
		 unsigned uid, unsigned gid);
int cpio_add_file_mem(struct cpio_writer *w, const char *path, const void *data,
		      size_t len, unsigned perm, unsigned uid, unsigned gid);
/* Content read from hostpath, which must be a regular file (-EINVAL if not).
 * -EIO if it changes size while being copied. */
int cpio_add_file_path(struct cpio_writer *w, const char *path,
		       const char *hostpath, unsigned perm, unsigned uid,
		       unsigned gid);
int cpio_add_symlink(struct cpio_writer *w, const char *path,
		     const char *target, unsigned perm, unsigned uid,
		     unsigned gid);
/* type is 'c' (character) or 'b' (block). */
int cpio_add_node(struct cpio_writer *w, const char *path, char type,
		  unsigned perm, unsigned uid, unsigned gid, unsigned major,
		  unsigned minor);

/* Writes the TRAILER!!! record, pads the archive to 512 bytes (what GNU
 * cpio writes and expects) and flushes gzip. Returns 0 or -errno. */
int cpio_finish(struct cpio_writer *w);

/* Checks an archive name of len bytes: not empty (after dropping leading
 * '/'), no embedded NUL, no ".." component, shorter than CPIO_PATH_MAX.
 * The add functions call it; exported for callers holding raw bytes. */
bool cpio_path_valid(const char *path, size_t len);

/* A growing memory buffer usable as a sink: pass cpio_membuf_write and a
 * zeroed struct cpio_membuf; free data when done. */
struct cpio_membuf {
	unsigned char *data;
	size_t len, cap;
};
int cpio_membuf_write(void *ctx, const void *buf, size_t len);

#endif
