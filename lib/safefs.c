/* Confined file operations: see safefs.h. The rule everywhere: resolve
 * the parent directory with openat2 (no symlink, no magic link, nothing
 * outside root), then act on the last name with an *at() call that never
 * follows it. */
#include "lib/safefs.h"
#include "lib/clock.h"
#include "proto/sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CONFINED (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
#define TMP_TRIES 16

int safefs_open(int root, const char *path, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = CONFINED,
	};
	long fd;

	do
		fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	while (fd < 0 && errno == EINTR);
	/* EAGAIN: a rename raced the lookup; one more try settles it. */
	if (fd < 0 && errno == EAGAIN)
		fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

int safefs_parent(int root, const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');
	char dir[SYNC_MAX_PATH + 1];
	size_t n;

	if (!slash) {
		*name = path;
		return safefs_open(root, ".", O_PATH | O_DIRECTORY, 0);
	}
	n = (size_t)(slash - path);
	if (n == 0 || n >= sizeof(dir))
		return -EINVAL;
	memcpy(dir, path, n);
	dir[n] = 0;
	*name = slash + 1;
	return safefs_open(root, dir, O_PATH | O_DIRECTORY, 0);
}

int safefs_lstat(int root, const char *path, struct stat *st)
{
	const char *name;
	int dfd = safefs_parent(root, path, &name), r = 0;

	if (dfd < 0)
		return dfd == -ELOOP ? -ENOTDIR : dfd;
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	close(dfd);
	return r;
}

int64_t safefs_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
}

static void to_timespec(int64_t ns, struct timespec ts[2])
{
	int64_t s = ns / 1000000000ll, r = ns % 1000000000ll;

	if (r < 0) {
		r += 1000000000ll;
		s--;
	}
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;	/* atime: ours to leave */
	ts[1].tv_sec = (time_t)s;
	ts[1].tv_nsec = (long)r;
}

static void tmp_name(char *out, size_t size)
{
	static uint64_t counter;
	uint64_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = clock_ns() ^ ((uint64_t)getpid() << 32);
	r ^= ++counter;
	snprintf(out, size, "%s%016llx", SYNC_TMP_PREFIX, (unsigned long long)r);
}

int safefs_tmp_open(int root, const char *path, struct safefs_tmp *t,
		    const char **name)
{
	int dfd = safefs_parent(root, path, name);

	t->fd = -1;
	t->named = false;
	t->name[0] = 0;
	if (dfd < 0)
		return dfd == -ELOOP ? -ENOTDIR : dfd;
	/* O_PATH fds cannot be handed to openat as a directory for O_TMPFILE
	 * on every kernel: open it for real. */
	t->dirfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(dfd);
	if (t->dirfd < 0)
		return -errno;
	t->fd = openat(t->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (t->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != ENOENT &&
	    errno != EINVAL) {
		int r = -errno;

		close(t->dirfd);
		return r;
	}
	/* No O_TMPFILE here (overlayfs before 6.6, 9p): a named one. */
	for (int i = 0; i < TMP_TRIES; i++) {
		tmp_name(t->name, sizeof(t->name));
		t->fd = openat(t->dirfd, t->name,
			       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (t->fd >= 0) {
			t->named = true;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	{
		int r = -errno;

		close(t->dirfd);
		return r;
	}
}

void safefs_tmp_abort(struct safefs_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	if (t->named)
		unlinkat(t->dirfd, t->name, 0);
	if (t->dirfd >= 0)
		close(t->dirfd);
	t->fd = t->dirfd = -1;
	t->named = false;
}

/* What rename would replace at name: a directory only if empty. */
static int make_room(int dirfd, const char *name, bool noreplace)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (noreplace)
		return -EEXIST;
	if (S_ISDIR(st.st_mode) && unlinkat(dirfd, name, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

static int attr_fd(int fd, const struct safefs_attr *a)
{
	struct timespec ts[2];

	if (a->uid != (uid_t)-1 && fchown(fd, a->uid, a->gid) < 0)
		return -errno;
	/* After fchown, which clears setuid bits. */
	if (fchmod(fd, a->mode & 07777) < 0)
		return -errno;
	if (a->mtime != INT64_MIN) {
		to_timespec(a->mtime, ts);
		if (futimens(fd, ts) < 0)
			return -errno;
	}
	if (a->sync && fsync(fd) < 0)
		return -errno;
	return 0;
}

int safefs_tmp_commit(struct safefs_tmp *t, const char *name,
		      const struct safefs_attr *attr, bool noreplace)
{
	int r = attr_fd(t->fd, attr);

	if (r == 0 && !t->named) {
		char proc[40];

		/* Give the O_TMPFILE a (temporary) name; /proc is the only
		 * way without CAP_DAC_READ_SEARCH. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
		for (int i = 0; i < TMP_TRIES; i++) {
			tmp_name(t->name, sizeof(t->name));
			if (linkat(AT_FDCWD, proc, t->dirfd, t->name, AT_SYMLINK_FOLLOW) == 0) {
				t->named = true;
				break;
			}
			if (errno != EEXIST) {
				r = -errno;
				break;
			}
		}
		if (r == 0 && !t->named)
			r = -EEXIST;
	}
	if (r == 0)
		r = make_room(t->dirfd, name, noreplace);
	if (r == 0 && renameat2(t->dirfd, t->name, t->dirfd, name,
				noreplace ? RENAME_NOREPLACE : 0) < 0)
		r = -errno;
	if (r == 0) {
		t->named = false;	/* it is name now */
		if (attr->sync && fsync(t->dirfd) < 0) {
			/* The file is whole; only the rename may not be on
			 * disk yet. Nothing to undo. */
		}
	}
	safefs_tmp_abort(t);
	return r;
}

int safefs_symlink(int root, const char *path, const char *target,
		   const struct safefs_attr *attr)
{
	const char *name;
	char tmp[32];
	int dfd = safefs_parent(root, path, &name), r = -EEXIST;
	struct timespec ts[2];

	if (dfd < 0)
		return dfd == -ELOOP ? -ENOTDIR : dfd;
	for (int i = 0; i < TMP_TRIES && r == -EEXIST; i++) {
		tmp_name(tmp, sizeof(tmp));
		r = symlinkat(target, dfd, tmp) < 0 ? -errno : 0;
	}
	if (r == 0 && attr->uid != (uid_t)-1 &&
	    fchownat(dfd, tmp, attr->uid, attr->gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && attr->mtime != INT64_MIN) {
		to_timespec(attr->mtime, ts);
		if (utimensat(dfd, tmp, ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	}
	if (r == 0)
		r = make_room(dfd, name, false);
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	if (r == 0 && attr->sync)
		fsync(dfd);
	close(dfd);
	return r;
}

/* Mode (and owner) of the directory name in dfd, through an fd of its own
 * opened without following. */
static int dir_attr(int dfd, const char *name, const struct safefs_attr *attr)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (attr->uid != (uid_t)-1 && fchown(fd, attr->uid, attr->gid) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, attr->mode & 07777) < 0)
		r = -errno;
	close(fd);
	return r;
}

int safefs_mkdir(int root, const char *path, const struct safefs_attr *attr,
		 bool replace)
{
	const char *name;
	int dfd = safefs_parent(root, path, &name), r = 0;
	struct stat st;

	if (dfd < 0)
		return dfd == -ELOOP ? -ENOTDIR : dfd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
		if (!replace)
			r = -EEXIST;
		else if (unlinkat(dfd, name, 0) < 0)
			r = -errno;
	}
	if (r == 0 && mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		r = -errno;
	if (r == 0)
		r = dir_attr(dfd, name, attr);
	if (r == 0 && attr->sync)
		fsync(dfd);
	close(dfd);
	return r;
}

int safefs_remove(int root, const char *path)
{
	const char *name;
	int dfd = safefs_parent(root, path, &name), r = 0;
	struct stat st;

	if (dfd < 0)
		return dfd == -ELOOP ? -ENOTDIR : dfd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	else if (unlinkat(dfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		r = errno == EEXIST ? -ENOTEMPTY : -errno;
	close(dfd);
	return r;
}

int safefs_rename(int root, const char *from, const char *to, bool replace)
{
	const char *fname, *tname;
	int fd = safefs_parent(root, from, &fname), td, r = 0;

	if (fd < 0)
		return fd == -ELOOP ? -ENOTDIR : fd;
	td = safefs_parent(root, to, &tname);
	if (td < 0) {
		close(fd);
		return td == -ELOOP ? -ENOTDIR : td;
	}
	if (renameat2(fd, fname, td, tname, replace ? 0 : RENAME_NOREPLACE) < 0)
		r = -errno;
	close(fd);
	close(td);
	return r;
}

int safefs_set_attr(int root, const char *path, const struct safefs_attr *attr,
		    bool mode, bool mtime)
{
	const char *name;
	int dfd = safefs_parent(root, path, &name), r = 0;
	struct stat st;

	if (dfd < 0)
		return dfd == -ELOOP ? -ENOTDIR : dfd;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
	} else if (mode && !S_ISLNK(st.st_mode)) {
		/* chmod through the O_PATH fd's /proc entry: the inode the
		 * no-follow open found, whatever its permissions. */
		int fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		char proc[40];

		if (fd < 0) {
			r = -errno;
		} else {
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			if (fchmodat(AT_FDCWD, proc, attr->mode & 07777, 0) < 0)
				r = -errno;
			close(fd);
		}
	}
	if (r == 0 && mtime && attr->mtime != INT64_MIN) {
		struct timespec ts[2];

		to_timespec(attr->mtime, ts);
		if (utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	}
	close(dfd);
	return r;
}

int safefs_readlink(int root, const char *path, char *buf, size_t size)
{
	const char *name;
	int dfd = safefs_parent(root, path, &name);
	ssize_t n;

	if (dfd < 0)
		return dfd == -ELOOP ? -ENOTDIR : dfd;
	n = readlinkat(dfd, name, buf, size);
	if (n < 0) {
		n = -errno;
	} else if ((size_t)n >= size) {
		n = -ENAMETOOLONG;
	} else {
		buf[n] = 0;
	}
	close(dfd);
	return (int)n;
}

int safefs_open_read(int root, const char *path)
{
	struct stat st;
	int fd = safefs_open(root, path, O_RDONLY | O_NONBLOCK, 0);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

void safefs_clean_tmp(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (strncmp(e->d_name, SYNC_TMP_PREFIX, sizeof(SYNC_TMP_PREFIX) - 1) == 0)
			unlinkat(dirfd, e->d_name, 0);
	closedir(d);
}
