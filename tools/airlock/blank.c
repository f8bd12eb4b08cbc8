/* Blank sandbox disks: see blank.h. */
#include "tools/airlock/blank.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static int blank_path(const char *home, uint64_t bytes, char *out, size_t size)
{
	int n = snprintf(out, size, "%s/cache/blank-%llu.ext4", home,
			 (unsigned long long)bytes);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int blank_sparse_copy(const char *src, const char *dst)
{
	struct stat st;
	off_t data = 0, hole;
	int in, out, r = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	if (fstat(in, &st) < 0 || ftruncate(out, st.st_size) < 0) {
		r = -errno;
		goto out;
	}
	/* Data ranges only: SEEK_DATA fails with ENXIO past the last one. */
	while ((data = lseek(in, data, SEEK_DATA)) >= 0) {
		off_t pos;

		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0) {
			r = -errno;
			goto out;
		}
		pos = data;
		while (pos < hole) {
			off_t o = pos;
			ssize_t n = copy_file_range(in, &pos, out, &o, (size_t)(hole - pos), 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = n < 0 ? -errno : -EIO;
				goto out;
			}
		}
		data = hole;
	}
	if (errno != ENXIO)
		r = -errno;
out:
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	if (r)
		unlink(dst);
	return r;
}

int blank_copy(const char *home, const char *path, uint64_t bytes)
{
	char blank[PATH_MAX];
	int r = blank_path(home, bytes, blank, sizeof(blank));

	if (r)
		return r;
	if (access(blank, R_OK) < 0)
		return -ENOENT;
	return blank_sparse_copy(blank, path);
}

void blank_keep(const char *home, const char *path, uint64_t bytes)
{
	char blank[PATH_MAX], dir[PATH_MAX], tmp[PATH_MAX + 16];

	if (blank_path(home, bytes, blank, sizeof(blank)) || access(blank, F_OK) == 0 ||
	    snprintf(dir, sizeof(dir), "%s/cache", home) >= (int)sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%s.%d", blank, (int)getpid()) >= (int)sizeof(tmp))
		return;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	/* Whole or not at all: another process may be keeping one too. */
	if (blank_sparse_copy(path, tmp) == 0 && rename(tmp, blank) < 0)
		unlink(tmp);
}
