/* The workspace in the guest: a tree kept on the sandbox disk itself
 * (beside the overlay's layers, so it persists between runs and is out of
 * the agent's reach but through the workspace), bind-mounted at the
 * project's own absolute path. Also the epoch the host gave at the last
 * complete sync, kept beside the tree. */
#include "guest/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where no sandbox disk is (a tmpfs upper layer): in the root, root's. */
#define STORE_FALLBACK "/var/lib/airlock/sync"

/* Paths a workspace may not be mounted on or under: the system's own. */
static const char *const not_on[] = {
	"/", "/bin", "/boot", "/dev", "/etc", "/home", "/layers", "/lib",
	"/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt", "/proc",
	"/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
	"/usr/bin", "/usr/lib", "/usr/local", "/usr/sbin", "/usr/share",
	"/var/lib", "/home/agent",
};
static const char *const not_under[] = {
	"/boot", "/dev", "/etc", "/proc", "/run", "/sys", "/var/lib/airlock",
};

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static int refuse_root(const char *root, char *why, size_t size)
{
	for (size_t i = 0; i < sizeof(not_on) / sizeof(not_on[0]); i++) {
		if (strcmp(root, not_on[i]) == 0) {
			snprintf(why, size, "the workspace cannot be %s: that folder "
				 "is the sandbox system's own", root);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < sizeof(not_under) / sizeof(not_under[0]); i++) {
		if (under(root, not_under[i])) {
			snprintf(why, size, "the workspace cannot be under %s: that "
				 "folder is the sandbox system's own", not_under[i]);
			return -EINVAL;
		}
	}
	return 0;
}

/* Opens each component of the absolute path from "/", making what is
 * missing (owned by uid:gid), never following a link. Returns an O_PATH
 * fd of the last one. */
static int walk_make(const char *path, uid_t uid, gid_t gid, char *why, size_t size)
{
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	const char *p = path + 1;
	char comp[256];

	while (fd >= 0 && *p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		int next;

		memcpy(comp, p, len);	/* < 256: sync_path_check said so */
		comp[len] = 0;
		next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				snprintf(why, size, "cannot make the workspace folder %.*s: %s",
					 (int)(p - path + len), path, strerror(errno));
				close(fd);
				return -errno;
			}
			fchownat(fd, comp, uid, gid, AT_SYMLINK_NOFOLLOW);
			next = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			int e = errno;

			snprintf(why, size, "cannot use %.*s in the sandbox for the "
				 "workspace: %s", (int)(p - path + len), path,
				 e == ELOOP || e == ENOTDIR ? "it is a link or not a folder" :
				 strerror(e));
			close(fd);
			return -e;
		}
		/* The agent must be able to pass through to its workspace (a
		 * project under /root, 0700 in the template): search only. */
		{
			struct stat st;
			char proc[40];

			if (fstat(next, &st) == 0 && !(st.st_mode & S_IXOTH) && st.st_uid != uid) {
				snprintf(proc, sizeof(proc), "/proc/self/fd/%d", next);
				fchmodat(AT_FDCWD, proc, (st.st_mode & 07777) | S_IXOTH, 0);
			}
		}
		close(fd);
		fd = next;
		p += len + (slash ? 1 : 0);
	}
	if (fd < 0)
		snprintf(why, size, "cannot open / in the sandbox: %s", strerror(errno));
	return fd < 0 ? -errno : fd;
}

/* The directory holding every workspace's store. */
static int store_base(struct gconn *c, char *why, size_t size)
{
	int up = c->svc->a->ctx->upper_fd, fd;

	if (up >= 0) {
		if (mkdirat(up, INIT_SYNC_STORES, 0700) < 0 && errno != EEXIST) {
			snprintf(why, size, "cannot make the sync store on the sandbox "
				 "disk: %s", strerror(errno));
			return -errno;
		}
		fd = openat(up, INIT_SYNC_STORES, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	} else {
		char why2[SYNC_MAX_TEXT + 1];

		/* Each workspace's store below is 0700: the agent cannot
		 * reach it but through the workspace's mount. */
		fd = walk_make(STORE_FALLBACK, 0, 0, why2, sizeof(why2));
		if (fd < 0)
			snprintf(why, size, "%s", why2);
		return fd;
	}
	if (fd < 0)
		snprintf(why, size, "cannot open the sync store: %s", strerror(errno));
	return fd < 0 ? -errno : fd;
}

int gsync_ws_open(struct gconn *c, char *why, size_t size)
{
	uid_t uid = c->svc->uid;
	gid_t gid = c->svc->gid;
	struct stat mst, tst;
	int base, mp, tree, r;
	char src[40], dst[40];

	r = refuse_root(c->root_path, why, size);
	if (r < 0)
		return r;
	base = store_base(c, why, size);
	if (base < 0)
		return base;
	if (mkdirat(base, c->key, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(why, size, "cannot make the workspace store: %s", strerror(-r));
		close(base);
		return r;
	}
	c->store = openat(base, c->key, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(base);
	tree = -1;
	if (c->store >= 0) {
		if (mkdirat(c->store, "tree", 0755) == 0)
			fchownat(c->store, "tree", uid, gid, AT_SYMLINK_NOFOLLOW);
		tree = openat(c->store, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC);
	}
	if (tree < 0) {
		r = -errno;
		snprintf(why, size, "cannot open the workspace store: %s", strerror(-r));
		return r;
	}
	mp = walk_make(c->root_path, uid, gid, why, size);
	if (mp < 0) {
		close(tree);
		return mp;
	}
	/* Mounted already (a second connection in one boot): as it is. */
	if (fstat(mp, &mst) == 0 && fstat(tree, &tst) == 0 &&
	    (mst.st_dev != tst.st_dev || mst.st_ino != tst.st_ino)) {
		snprintf(src, sizeof(src), "/proc/self/fd/%d", tree);
		snprintf(dst, sizeof(dst), "/proc/self/fd/%d", mp);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0) {
			r = -errno;
			snprintf(why, size, "cannot mount the workspace on %s: %s",
				 c->root_path, strerror(-r));
			close(mp);
			close(tree);
			return r;
		}
	}
	close(mp);
	/* Its own mode every time: the agent may have changed it. */
	fchown(tree, uid, gid);
	fchmod(tree, 0755);
	safefs_clean_tmp(tree);
	safefs_clean_tmp(c->store);
	c->root = tree;
	return 0;
}

void gsync_ws_epoch_get(struct gconn *c, uint8_t epoch[SYNC_EPOCH_LEN])
{
	int fd = openat(c->store, "epoch", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	memset(epoch, 0, SYNC_EPOCH_LEN);
	if (fd < 0)
		return;
	if (read(fd, epoch, SYNC_EPOCH_LEN) != SYNC_EPOCH_LEN)
		memset(epoch, 0, SYNC_EPOCH_LEN);
	close(fd);
}

int gsync_ws_epoch_set(struct gconn *c, const uint8_t epoch[SYNC_EPOCH_LEN])
{
	struct safefs_attr a = { .mode = 0600, .mtime = INT64_MIN, .uid = (uid_t)-1,
				 .gid = (gid_t)-1, .sync = true };
	struct safefs_tmp t;
	const char *name;
	int r = safefs_tmp_open(c->store, "epoch", &t, &name);

	if (r < 0)
		return r;
	if (write(t.fd, epoch, SYNC_EPOCH_LEN) != SYNC_EPOCH_LEN) {
		safefs_tmp_abort(&t);
		return -EIO;
	}
	return safefs_tmp_commit(&t, name, &a, false);
}
