/* The root the command sees: the template (ext4, read-only) as the lower
 * layer of an overlay whose upper layer is the sandbox disk (ext4,
 * read-write, kept across boots) or a tmpfs. /dev, /proc and /sys move
 * into it and init chroots there, staying PID 1. At the end the sandbox
 * disk is remounted read-only, so the reset that ends the VM finds it clean. */
#include "guest/init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Mount points in the initramfs; hidden under the new root afterwards. */
#define LAYERS "/layers"
#define LOWER INIT_TEMPLATE_DIR
#define SANDBOX LAYERS "/sandbox"
#define NEWROOT "/newroot"

/* virtio-blk probes before init runs, but devtmpfs makes the node from a
 * uevent: give it a moment rather than fail on a race. */
#define DEV_WAIT_MS 2000
#define DEV_POLL_MS 10

struct layer {
	const char *role;	/* for messages: "template", "sandbox disk" */
	char path[sizeof("/dev/") + GUESTPARAM_DEV_MAX];
};

static int make_dir(const struct init_ctx *ctx, const char *dir, mode_t mode)
{
	struct stat st;

	if (mkdir(dir, mode) == 0) {
		/* Exactly mode, whatever the umask. */
		if (chmod(dir, mode) < 0)
			goto fail;
		return 0;
	}
	if (errno != EEXIST)
		goto fail;
	if (lstat(dir, &st) < 0)
		goto fail;
	if (S_ISDIR(st.st_mode))
		return 0;
	errno = ENOTDIR;
fail:
	init_log(ctx, "cannot create directory %s: %s", dir, strerror(errno));
	return -errno;
}

static int wait_for_dev(const struct init_ctx *ctx, const struct layer *l)
{
	const struct timespec step = { 0, DEV_POLL_MS * 1000L * 1000 };
	struct stat st;

	for (int waited = 0;; waited += DEV_POLL_MS) {
		if (stat(l->path, &st) == 0) {
			if (S_ISBLK(st.st_mode))
				return 0;
			init_log(ctx, "the %s %s is not a block device", l->role,
				 l->path);
			return -ENOTBLK;
		}
		if (errno != ENOENT) {
			init_log(ctx, "cannot look at the %s %s: %s", l->role,
				 l->path, strerror(errno));
			return -errno;
		}
		if (waited >= DEV_WAIT_MS)
			break;
		nanosleep(&step, NULL);
	}
	init_log(ctx, "the %s %s did not appear within %d ms: is the disk "
		 "attached? (%s)", l->role, l->path, DEV_WAIT_MS,
		 strerror(ENOENT));
	return -ENOENT;
}

static int mount_ext4(const struct init_ctx *ctx, const struct layer *l,
		      const char *dir, unsigned long flags, const char *data)
{
	int err;

	if (mount(l->path, dir, "ext4", flags, data) == 0)
		return 0;
	err = errno;
	init_log(ctx, "cannot mount the %s %s (ext4, %s) on %s: %s%s", l->role,
		 l->path, flags & MS_RDONLY ? "read-only" : "read-write", dir,
		 strerror(err), err == EINVAL ? " (not ext4, damaged, or "
		 "larger than the disk?)" : "");
	return -err;
}

/* A read-only sandbox disk would fail to mount with a vaguer EACCES. */
static int check_writable(const struct init_ctx *ctx, const struct layer *l)
{
	int fd, ro = 0, ret = 0;

	fd = open(l->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		init_log(ctx, "cannot open the %s %s: %s", l->role, l->path,
			 strerror(errno));
		return ret;
	}
	if (ioctl(fd, BLKROGET, &ro) == 0 && ro) {
		init_log(ctx, "the %s %s is read-only: it must be writable",
			 l->role, l->path);
		ret = -EROFS;
	}
	close(fd);
	return ret;
}

static int mount_upper(struct init_ctx *ctx, const struct init_params *p)
{
	struct layer l = { .role = "sandbox disk" };
	int ret;

	if (!p->upper[0]) {
		/* No disk: changes live in RAM and vanish with the VM. */
		if (mount("tmpfs", SANDBOX, "tmpfs", 0, "mode=0755") < 0) {
			ret = -errno;
			init_log(ctx, "cannot mount a tmpfs upper layer on %s: "
				 "%s", SANDBOX, strerror(errno));
			return ret;
		}
	} else {
		snprintf(l.path, sizeof(l.path), "/dev/%s", p->upper);
		ret = wait_for_dev(ctx, &l);
		if (ret == 0)
			ret = check_writable(ctx, &l);
		if (ret == 0)
			ret = mount_ext4(ctx, &l, SANDBOX, 0, NULL);
		if (ret < 0)
			return ret;
		ctx->upper_fd = open(SANDBOX, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (ctx->upper_fd < 0) {
			ret = -errno;
			init_log(ctx, "cannot open %s: %s", SANDBOX,
				 strerror(errno));
			return ret;
		}
	}
	/* The upper directory's owner and mode become the root's. */
	ret = make_dir(ctx, SANDBOX "/upper", 0755);
	if (ret == 0)
		ret = make_dir(ctx, SANDBOX "/work", 0755);
	if (ret < 0 && p->upper[0])
		init_log(ctx, "the sandbox disk %s could not be prepared "
			 "(full or too small?)", l.path);
	/* The workspace sync's stores, made now rather than by the first
	 * sync: in a snapshot taken with the disk mounted, the new folder's
	 * metadata is read and cached already. Without it the sync says why. */
	if (ret == 0 && p->upper[0])
		make_dir(ctx, SANDBOX "/" INIT_SYNC_STORES, 0700);
	return ret;
}

/* Like switch_root: the overlay replaces the initramfs as "/". */
static int switch_root(const struct init_ctx *ctx)
{
	static const struct {
		const char *dir;
		mode_t mode;
		bool move;
	} dirs[] = {
		{ "/dev", 0755, true },
		{ "/proc", 0555, true },
		{ "/sys", 0555, true },
		{ "/tmp", 01777, false },
		{ "/run", 0755, false },
	};
	char path[64];
	int ret;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), NEWROOT "%s", dirs[i].dir);
		/* A template without them gets them in its upper layer. */
		if (access(path, F_OK) < 0) {
			ret = make_dir(ctx, path, dirs[i].mode);
			if (ret < 0)
				return ret;
		}
		if (dirs[i].move &&
		    mount(dirs[i].dir, path, NULL, MS_MOVE, NULL) < 0) {
			ret = -errno;
			init_log(ctx, "cannot move %s into the new root: %s",
				 dirs[i].dir, strerror(errno));
			return ret;
		}
	}
	/* The initramfs stays in memory underneath (a few MiB while it
	 * carries busybox); nothing can reach it any more. */
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0) {
		ret = -errno;
		init_log(ctx, "cannot switch the root to %s: %s", NEWROOT,
			 strerror(errno));
		return ret;
	}
	return 0;
}

/* The template, read-only, where the overlay will find it. */
int init_root_template(struct init_ctx *ctx, const struct init_params *p)
{
	struct layer lower = { .role = "template" };
	int ret;

	snprintf(lower.path, sizeof(lower.path), "/dev/%s", p->root);
	ret = make_dir(ctx, LAYERS, 0755);
	if (ret == 0)
		ret = make_dir(ctx, LOWER, 0755);
	if (ret == 0)
		ret = make_dir(ctx, SANDBOX, 0755);
	if (ret == 0)
		ret = make_dir(ctx, NEWROOT, 0755);
	if (ret == 0)
		ret = wait_for_dev(ctx, &lower);
	/* noload: a read-only image with a dirty journal is mounted as it
	 * is, not replayed (which would need a write). */
	if (ret == 0)
		ret = mount_ext4(ctx, &lower, LOWER, MS_RDONLY, "noload");
	return ret;
}

/* The upper layer, the overlay, and the switch into it. */
int init_root_finish(struct init_ctx *ctx, const struct init_params *p)
{
	static const char opts[] = "lowerdir=" LOWER ",upperdir=" SANDBOX
				   "/upper,workdir=" SANDBOX "/work";
	int ret = mount_upper(ctx, p);

	if (ret < 0)
		return ret;
	if (mount("overlay", NEWROOT, "overlay", 0, opts) < 0) {
		ret = -errno;
		init_log(ctx, "cannot mount the overlay of the template /dev/%s and "
			 "%s%s on %s: %s", p->root,
			 p->upper[0] ? "the sandbox disk /dev/" : "a tmpfs",
			 p->upper, NEWROOT, strerror(errno));
		return ret;
	}
	return switch_root(ctx);
}

void init_root_persist(struct init_ctx *ctx)
{
	if (ctx->upper_fd < 0)
		return;
	sync();
	/* The overlay first: remounting it read-only flushes it into the
	 * upper layer and makes sure nothing writes through it any more. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		init_log(ctx, "cannot remount the root read-only: %s",
			 strerror(errno));
	/* The sandbox disk's mount is hidden under the new root; its fd
	 * still reaches it. Read-only, ext4 empties its journal and marks
	 * itself clean. */
	if (fchdir(ctx->upper_fd) < 0 ||
	    mount(NULL, ".", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		init_log(ctx, "cannot remount the sandbox disk read-only: %s; "
			 "its data was synced, its journal may need a replay",
			 strerror(errno));
	if (chdir("/") < 0) {
		/* Nothing runs in this directory any more. */
	}
	close(ctx->upper_fd);
	ctx->upper_fd = -1;
}
