/* See userns.h. */
#include "lib/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;
	size_t len = strlen(s);

	if (fd < 0)
		return -errno;
	if (write(fd, s, len) != (ssize_t)len)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

static int write_proc(pid_t pid, const char *name, const char *s)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	else
		snprintf(path, sizeof(path), "/proc/self/%s", name);
	return write_file(path, s);
}

int userns_map_root(pid_t pid, uid_t uid, gid_t gid)
{
	char map[64];
	int r;

	/* setgroups must be denied before an unprivileged gid_map. */
	r = write_proc(pid, "setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)uid);
	if (r == 0)
		r = write_proc(pid, "uid_map", map);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned int)gid);
	if (r == 0)
		r = write_proc(pid, "gid_map", map);
	return r;
}
