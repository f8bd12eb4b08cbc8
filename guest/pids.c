/* The pids limit (airlock.pids=): every command, and everything it starts,
 * lives in a cgroup of its own whose pids.max caps how many processes it
 * may have, so a fork bomb in one command leaves init, the exec service
 * and the other commands able to fork. Its cpu weight is one group's, so
 * thousands of spinning processes in it share one fair slice. */
#include "guest/init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CMD_PREFIX "airlock-cmd-"

static int write_file(const char *path, const char *s)
{
	size_t n = strlen(s);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t w;

	if (fd < 0)
		return -errno;
	w = write(fd, s, n);
	if (w < 0 || (size_t)w != n) {
		int err = w < 0 ? errno : EIO;

		close(fd);
		return -err;
	}
	return close(fd) < 0 ? -errno : 0;
}

void init_pids_setup(struct init_ctx *ctx, struct init_params *p)
{
	int ret;

	if (!p->pids_max)
		return;
	/* favordynmods: moving each command into its cgroup then takes no
	 * RCU grace period (tens of ms in a guest ticking at 100 Hz), for a
	 * little more work in fork and exit. Kernels before 6.0 lack it. */
	if (access(CGROUP_ROOT "/cgroup.controllers", F_OK) < 0 &&
	    mount("cgroup2", CGROUP_ROOT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "favordynmods") < 0 &&
	    mount("cgroup2", CGROUP_ROOT, "cgroup2",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
		init_log(ctx, "cannot mount cgroup2 on " CGROUP_ROOT ": %s; "
			 "commands run without a pids limit", strerror(errno));
		p->pids_max = 0;
		return;
	}
	ret = write_file(CGROUP_ROOT "/cgroup.subtree_control", "+pids");
	if (ret < 0) {
		init_log(ctx, "cannot enable the pids controller: %s; commands "
			 "run without a pids limit", strerror(-ret));
		p->pids_max = 0;
		return;
	}
	/* Without it a bomb's thousands of runnable tasks would each weigh
	 * as much as init; a kernel without group scheduling does without. */
	ret = write_file(CGROUP_ROOT "/cgroup.subtree_control", "+cpu");
	if (ret < 0)
		init_log(ctx, "cannot enable the cpu controller: %s",
			 strerror(-ret));
}

/* Removes the cgroups of commands whose process is gone; one still
 * holding a process (a daemon the command left) is busy and stays. */
static void sweep(pid_t self)
{
	struct dirent *de;
	DIR *d = opendir(CGROUP_ROOT);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[sizeof(CGROUP_ROOT) + 256], *end;
		unsigned long pid;

		if (strncmp(de->d_name, CMD_PREFIX, strlen(CMD_PREFIX)) != 0)
			continue;
		errno = 0;
		pid = strtoul(de->d_name + strlen(CMD_PREFIX), &end, 10);
		if (errno || *end || pid == 0 || pid == (unsigned long)self)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), CGROUP_ROOT "/%s", de->d_name);
		rmdir(path);
	}
	closedir(d);
}

int init_pids_enter(unsigned int max, const char **what)
{
	char dir[64], file[96], val[16];
	pid_t self = getpid();
	int ret;

	if (!max)
		return 0;
	sweep(self);
	snprintf(dir, sizeof(dir), CGROUP_ROOT "/" CMD_PREFIX "%d", (int)self);
	/* A cgroup of a gone process with this pid that a daemon still
	 * holds: joined as it is, with the limit set again. */
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		*what = "make its cgroup";
		return -errno;
	}
	snprintf(file, sizeof(file), "%s/pids.max", dir);
	snprintf(val, sizeof(val), "%u", max);
	ret = write_file(file, val);
	if (ret < 0) {
		*what = "set pids.max";
		return ret;
	}
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	ret = write_file(file, "0");
	if (ret < 0) {
		*what = "join its cgroup";
		return ret;
	}
	return 0;
}
