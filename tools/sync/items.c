/* Held changes read, accepted and rejected: see items.h. The item folders
 * are the user's own (written by airlock-sync on their behalf), yet read
 * as carefully as anything a guest influenced: bounded sizes, paths
 * checked again before they reach the project. */
#include "tools/sync/items.h"
#include "tools/sync/quarantine.h"
#include "tools/sync/sync.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define META_MAX 4096
#define PATHS_MAX (64u << 20)

static char *slurp_at(int dfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		n = read(fd, buf, (size_t)st.st_size);
		if (n != st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = 0;
			*len = (size_t)n;
		}
	}
	close(fd);
	return buf;
}

static int load_one(int q, const char *id, struct qitem *it)
{
	int dfd = openat(q, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char *meta, *line, *save;
	size_t len;

	memset(it, 0, sizeof(*it));
	if (dfd < 0)
		return -errno;
	if (strlen(id) >= sizeof(it->id)) {
		close(dfd);
		return -ENAMETOOLONG;
	}
	memcpy(it->id, id, strlen(id) + 1);
	it->path = slurp_at(dfd, "path", SYNC_MAX_PATH, &len);
	meta = slurp_at(dfd, "meta", META_MAX, &len);
	if (!it->path || !meta) {
		free(it->path);
		free(meta);
		close(dfd);
		return -EINVAL;
	}
	for (line = strtok_r(meta, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned int mode;
		long long when;

		if (sscanf(line, "kind %15s", it->kind) == 1)
			continue;
		if (sscanf(line, "mode %o", &mode) == 1)
			it->meta.mode = (uint16_t)(mode & 07777);
		else if (sscanf(line, "mtime %" SCNd64, &it->meta.mtime) == 1)
			continue;
		else if (sscanf(line, "size %" SCNu64, &it->meta.size) == 1)
			continue;
		else if (sscanf(line, "time %lld", &when) == 1)
			it->when = (time_t)when;
		else if (strncmp(line, "reason ", 7) == 0)
			snprintf(it->reason, sizeof(it->reason), "%s", line + 7);
	}
	free(meta);
	if (strcmp(it->kind, "file") == 0)
		it->meta.kind = SYNC_FILE;
	else if (strcmp(it->kind, "dir") == 0)
		it->meta.kind = SYNC_DIR;
	else if (strcmp(it->kind, "link") == 0)
		it->meta.kind = SYNC_LINK;
	else
		it->meta = (struct sync_meta){ 0 };
	if (strcmp(it->kind, "deletions") == 0) {
		char *all = slurp_at(dfd, "paths", PATHS_MAX, &len);
		size_t n = 0;

		for (size_t i = 0; all && i < len; i++)
			n += all[i] == 0;
		it->paths = all && n ? calloc(n, sizeof(*it->paths)) : NULL;
		for (size_t i = 0, k = 0; it->paths && i < len && k < n; k++) {
			it->paths[k] = strdup(all + i);
			i += strlen(all + i) + 1;
			if (it->paths[k])
				it->npaths++;
		}
		free(all);
	}
	close(dfd);
	/* What a hand-edited or damaged item could hold: refused here. */
	if (sync_path_check(it->path, strlen(it->path)) && strcmp(it->kind, "deletions")) {
		free(it->path);
		it->path = NULL;
		return -EINVAL;
	}
	return 0;
}

static int cmp_item(const void *a, const void *b)
{
	return strcmp(((const struct qitem *)a)->path, ((const struct qitem *)b)->path);
}

int qitems_load(int state_fd, struct qitem **items, size_t *n)
{
	int q = openat(state_fd, "quarantine", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct qitem *out = NULL;
	size_t k = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	*items = NULL;
	*n = 0;
	if (q < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(q);
	if (!d) {
		close(q);
		return -errno;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;	/* ., .., and items being written */
		if (k == cap) {
			size_t c = cap ? 2 * cap : 16;
			struct qitem *p = realloc(out, c * sizeof(*p));

			if (!p)
				break;
			out = p;
			cap = c;
		}
		if (load_one(dirfd(d), e->d_name, &out[k]) == 0)
			k++;
	}
	closedir(d);
	if (k)
		qsort(out, k, sizeof(*out), cmp_item);
	*items = out;
	*n = k;
	return 0;
}

void qitems_free(struct qitem *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].path);
		for (size_t k = 0; k < items[i].npaths; k++)
			free(items[i].paths[k]);
		free(items[i].paths);
	}
	free(items);
}

bool qitem_matches(const struct qitem *it, const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	if (strncmp(it->path, path, n) == 0 && (it->path[n] == 0 || it->path[n] == '/'))
		return true;
	for (size_t i = 0; i < it->npaths; i++)
		if (strncmp(it->paths[i], path, n) == 0 &&
		    (it->paths[i][n] == 0 || it->paths[i][n] == '/'))
			return true;
	return false;
}

int qitem_content(int state_fd, const struct qitem *it)
{
	char rel[128];
	int fd;

	snprintf(rel, sizeof(rel), "quarantine/%s/content", it->id);
	fd = openat(state_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int qstate_root(int state_fd, char *out, size_t size)
{
	static const char magic[] = "AIRLOCK-SYNC-STATE-1\n";
	uint8_t head[sizeof(magic) - 1 + SYNC_EPOCH_LEN + 2];
	int fd = openat(state_fd, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	size_t len;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, head, sizeof(head));
	if (n != (ssize_t)sizeof(head) || memcmp(head, magic, sizeof(magic) - 1) != 0) {
		close(fd);
		return -EINVAL;
	}
	len = frame_get_u16(head + sizeof(head) - 2);
	if (len + 1 > size || len > SYNC_MAX_PATH ||
	    read(fd, out, len) != (ssize_t)len) {
		close(fd);
		return -EINVAL;
	}
	out[len] = 0;
	close(fd);
	return out[0] == '/' ? 0 : -EINVAL;
}

/* ---- accept ---- */

static int copy_into(struct hsync *s, const struct qitem *it, int src)
{
	struct safefs_attr a = { .mode = it->meta.mode & 0777, .mtime = it->meta.mtime,
				 .uid = (uid_t)-1, .gid = (gid_t)-1, .sync = true };
	struct safefs_tmp t;
	const char *name;
	uint8_t buf[65536];
	ssize_t n;
	int r = safefs_tmp_open(s->project, it->path, &t, &name);

	if (r < 0)
		return r;
	name = strrchr(it->path, '/') ? strrchr(it->path, '/') + 1 : it->path;
	while ((n = read(src, buf, sizeof(buf))) > 0) {
		if (write(t.fd, buf, (size_t)n) != n) {
			safefs_tmp_abort(&t);
			return -EIO;
		}
	}
	if (n < 0) {
		r = -errno;
		safefs_tmp_abort(&t);
		return r;
	}
	return safefs_tmp_commit(&t, name, &a, false);
}

static void agreed(struct hsync *s, const char *path, const struct sync_meta *g)
{
	struct hentry *e;

	if (g->kind == SYNC_NONE) {
		hsync_base_del(s, path);
		return;
	}
	e = hsync_base_make(s, path);
	if (!e)
		return;
	hsync_current(s, path, &e->host, NULL, 0);
	e->guest = *g;
	e->hash = hsync_hash_path(s, path, &e->host);
}

static int drop(struct hsync *s, const struct qitem *it)
{
	char rel[128], sub[160];
	int d;

	snprintf(rel, sizeof(rel), "quarantine/%s", it->id);
	d = openat(s->state, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d >= 0) {
		static const char *const files[] = { "path", "meta", "content", "paths" };

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			unlinkat(d, files[i], 0);
		close(d);
	}
	snprintf(sub, sizeof(sub), "%s", rel);
	return unlinkat(s->state, sub, AT_REMOVEDIR) < 0 && errno != ENOENT ? -errno : 0;
}

static int remove_paths(struct hsync *s, char *const *paths, size_t n, char *why, size_t size)
{
	/* Deepest first: the list is shallowest first. */
	for (size_t i = n; i-- > 0;) {
		int r;

		if (sync_path_check(paths[i], strlen(paths[i])))
			continue;
		r = safefs_remove(s->project, paths[i]);
		if (r < 0 && r != -ENOENT) {
			char e[256];

			hsync_escape(paths[i], e, sizeof(e));
			snprintf(why, size, "cannot delete %s: %s", e,
				 r == -ENOTEMPTY ? "the folder has more in it on the host" :
				 strerror(-r));
			return r;
		}
		hsync_base_del(s, paths[i]);
	}
	return 0;
}

int qitem_accept(struct hsync *s, const struct qitem *it, char *why, size_t size)
{
	struct safefs_attr a = { .mode = it->meta.mode & 0777, .mtime = it->meta.mtime,
				 .uid = (uid_t)-1, .gid = (gid_t)-1, .sync = true };
	int r = 0, fd;

	why[0] = 0;
	if (strcmp(it->kind, "deletions") == 0) {
		r = remove_paths(s, it->paths, it->npaths, why, size);
	} else if (strcmp(it->kind, "delete") == 0) {
		r = remove_paths(s, (char *const *)&it->path, 1, why, size);
	} else if (it->meta.kind == SYNC_DIR) {
		r = safefs_mkdir(s->project, it->path, &a, false);
	} else {
		fd = qitem_content(s->state, it);
		if (fd < 0) {
			r = fd;
		} else if (it->meta.kind == SYNC_LINK) {
			char target[SYNC_MAX_TARGET + 1];
			ssize_t n = read(fd, target, SYNC_MAX_TARGET);

			if (n > 0) {
				target[n] = 0;
				r = safefs_symlink(s->project, it->path, target, &a);
			} else {
				r = -EINVAL;
			}
			close(fd);
		} else {
			r = copy_into(s, it, fd);
			close(fd);
		}
	}
	if (r < 0) {
		if (!why[0])
			snprintf(why, size, "%s", r == -ENOENT || r == -ENOTDIR ?
				 "its folder is not on the host (accept the folder first)" :
				 r == -ENOTEMPTY ? "a folder with files in it is in the way" :
				 strerror(-r));
		return r;
	}
	if (strcmp(it->kind, "deletions") && strcmp(it->kind, "delete"))
		agreed(s, it->path, &it->meta);
	s->base_dirty = true;
	return drop(s, it);
}

int qitem_reject(struct hsync *s, const struct qitem *it, char *why, size_t size)
{
	/* A host side that matches nothing: the next run sees the host as
	 * changed and the guest as not, so the host's version goes in (or,
	 * for a path the host does not have, the guest's is removed). */
	static const struct sync_meta unmatched = { SYNC_FILE, 0, UINT64_MAX, INT64_MIN };
	bool deletions = strcmp(it->kind, "deletions") == 0;
	char *const *paths = deletions ? it->paths : (char *const *)&it->path;
	size_t n = deletions ? it->npaths : 1;
	struct sync_meta guest = { 0 };

	(void)why;
	(void)size;
	for (size_t i = 0; i < n; i++) {
		struct hentry *e;

		if (sync_path_check(paths[i], strlen(paths[i])))
			continue;
		e = hsync_base_make(s, paths[i]);
		if (!e)
			return -ENOMEM;
		e->host = unmatched;
		/* What the guest has: the held version, or nothing (deleted). */
		if (!deletions)
			guest = it->meta;
		e->guest = guest;
	}
	s->base_dirty = true;
	return drop(s, it);
}
