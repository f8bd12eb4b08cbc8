/* Starting a host process with exactly the descriptors it needs: each
 * named fd at a number of our choosing, every other fd closed, the
 * environment given (empty by default), optionally in new namespaces (a
 * new PID namespace makes it PID 1 there; a new user namespace maps us to
 * its root). No path is opened for it: what it needs, it is handed. */
#ifndef AIRLOCK_LIB_SPAWN_H
#define AIRLOCK_LIB_SPAWN_H

#include <stdbool.h>
#include <sys/types.h>

#define SPAWN_MAX_FDS 32

struct spawn_fd {
	int fd;		/* ours */
	int as;		/* its number in the child (0, 1, 2 for stdio) */
};

struct spawn_opts {
	const char *path;		/* the program */
	char *const *argv;
	char *const *envp;		/* NULL: an empty environment */
	const struct spawn_fd *fds;	/* at most SPAWN_MAX_FDS */
	unsigned int nfds;
	unsigned long ns;		/* CLONE_NEW* flags */
	int death_sig;			/* sent to it when we die; 0: none */
	bool new_pgrp;			/* a process group of its own */
};

/* Starts the program; returns its pid once it has been exec'd, or -errno
 * (the child's own errno if the exec failed: -ENOENT, -EACCES...). With
 * CLONE_NEWUSER our uid and gid become root inside (setgroups denied). */
pid_t spawn(const struct spawn_opts *o);

/* Waits up to ms (0: not at all) for our child pid to end, on a pidfd
 * rather than in sleeps; reaps it (its wait status in *status if not
 * NULL) and returns true if it ended. */
bool spawn_reaped_within(pid_t pid, int ms, int *status);

#endif
