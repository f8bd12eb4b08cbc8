/* The guest's basic file systems and system identity: devtmpfs, proc and
 * sysfs (in the initramfs), devpts and tmpfs (in the final root); hostname;
 * loopback up. A failure is reported and the boot goes on: the command may
 * well not need what is missing. */
#include "guest/init.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOSTNAME "airlock"

struct init_mount {
	const char *type;
	const char *dir;
	unsigned long flags;
	const char *data;
};

static int mkdir_p(const char *dir, mode_t mode)
{
	if (mkdir(dir, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* True if something is already mounted on dir: it sits on another device
 * than its parent. */
static bool mounted(const char *dir, const char *parent)
{
	struct stat a, b;

	return stat(dir, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev;
}

static void do_mount(struct init_ctx *ctx, const struct init_mount *m,
		     const char *parent)
{
	int ret = mkdir_p(m->dir, 0755);

	if (ret < 0) {
		init_log(ctx, "cannot create %s: %s", m->dir, strerror(-ret));
		return;
	}
	if (mounted(m->dir, parent))
		return;
	if (mount(m->type, m->dir, m->type, m->flags, m->data) < 0)
		init_log(ctx, "cannot mount %s on %s: %s", m->type, m->dir,
			 strerror(errno));
}

void init_mount_dev(struct init_ctx *ctx)
{
	static const struct init_mount dev = {
		"devtmpfs", "/dev", MS_NOSUID, "mode=0755"
	};

	/* The initramfs carries a /dev/console node of its own, so the kernel
	 * gave us a console even before this; devtmpfs adds the rest. */
	do_mount(ctx, &dev, "/");
}

void init_mount_kernel(struct init_ctx *ctx)
{
	static const struct init_mount mounts[] = {
		{ "proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
		{ "sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	};

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++)
		do_mount(ctx, &mounts[i], "/");
}

void init_mount_rest(struct init_ctx *ctx)
{
	static const struct init_mount mounts[] = {
		/* ptmxmode: /dev/pts/ptmx usable by the unprivileged user the
		 * command will run as. */
		{ "devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
		  "mode=0620,ptmxmode=0666" },
		{ "tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777" },
		{ "tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777" },
		{ "tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755" },
	};
	/* What shells and tools expect from a udev-made /dev. */
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" },
		{ "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" },
		{ "/proc/self/fd/2", "/dev/stderr" },
	};

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++)
		do_mount(ctx, &mounts[i],
			 strncmp(mounts[i].dir, "/dev/", 5) ? "/" : "/dev");
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0 && errno != EEXIST)
			init_log(ctx, "cannot create %s: %s", links[i][1],
				 strerror(errno));
}

static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno == EAFNOSUPPORT ? 0 : -errno;	/* no IPv4 */
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		ret = -errno;
out:
	close(fd);
	return ret;
}

void init_system_setup(struct init_ctx *ctx)
{
	int ret;

	if (sethostname(HOSTNAME, strlen(HOSTNAME)) < 0)
		init_log(ctx, "cannot set hostname: %s", strerror(errno));
	ret = loopback_up();
	if (ret < 0)
		init_log(ctx, "cannot bring up lo: %s", strerror(-ret));
}
