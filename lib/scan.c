/* Tree walk: see scan.h. Recursion per directory, one fd per level (the
 * protocol bounds the depth at 256). */
#include "lib/scan.h"
#include "lib/safefs.h"
#include "proto/sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int walk(int dfd, char *path, size_t len, unsigned int depth,
		const struct scan_ops *ops)
{
	struct dirent *e;
	DIR *d = fdopendir(dfd);
	int r = 0;

	if (!d) {
		close(dfd);
		return 0;
	}
	while (r >= 0 && (e = readdir(d))) {
		const char *name = e->d_name;
		size_t nlen = strlen(name), plen;
		char target[SYNC_MAX_TARGET + 2];
		struct stat st;
		bool is_dir;
		int bad, ret;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		bad = sync_name_check(name, nlen);
		plen = len ? len + 1 + nlen : nlen;
		if (!bad && (plen > SYNC_MAX_PATH || depth + 1 > SYNC_MAX_DEPTH))
			bad = plen > SYNC_MAX_PATH ? SYNC_BAD_LONG : SYNC_BAD_DEEP;
		if (bad) {
			if (ops->bad)
				ops->bad(ops->arg, dirfd(d), path, name, bad);
			continue;
		}
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* gone meanwhile */
		if (len)
			path[len] = '/';
		memcpy(path + (len ? len + 1 : 0), name, nlen + 1);
		is_dir = S_ISDIR(st.st_mode);
		if (ops->ignore && pathmatch_match(ops->ignore, path, is_dir)) {
			if (ops->excluded)
				ops->excluded(ops->arg, path, is_dir);
			path[len] = 0;
			continue;
		}
		target[0] = 0;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlinkat(dirfd(d), name, target, sizeof(target));

			if (n <= 0 || (size_t)n > SYNC_MAX_TARGET) {
				if (ops->bad)
					ops->bad(ops->arg, dirfd(d), path, name, SYNC_BAD_TARGET);
				path[len] = 0;
				continue;
			}
			target[n] = 0;
		}
		ret = ops->entry(ops->arg, path, &st, S_ISLNK(st.st_mode) ? target : NULL);
		if (ret < 0) {
			r = ret;
		} else if (ret == 0 && is_dir) {
			int sub = openat(dirfd(d), name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				r = walk(sub, path, plen, depth + 1, ops);
		}
		path[len] = 0;
	}
	closedir(d);
	return r;
}

int scan_tree(int root, const char *dir, const struct scan_ops *ops)
{
	char path[SYNC_MAX_PATH + 2];
	size_t len = strlen(dir);
	int fd;

	if (len > SYNC_MAX_PATH)
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	unsigned int depth = len ? 1 : 0;

	for (size_t i = 0; i < len; i++)
		depth += dir[i] == '/';
	fd = safefs_open(root, len ? dir : ".", O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		return fd;
	return walk(fd, path, len, depth, ops);
}
