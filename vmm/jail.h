/* The VMM's jail, entered once everything it needs is open and before any
 * guest code runs (Firecracker's jailer is the model; this is ours, small).
 * The VMM is assumed to be hijacked sooner or later: what it can still do
 * then is what this and the seccomp filters leave it. */
#ifndef AIRLOCK_VMM_JAIL_H
#define AIRLOCK_VMM_JAIL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/opts.h"

struct jail_limits {
	uint64_t mem_bytes;	/* guest RAM: the address-space limit adds to it */
	unsigned int cpus;
	uint64_t max_file;	/* the largest a file we write may grow (0: no limit) */
};

/*
 * - new mount, network, IPC and UTS namespaces (a PID namespace too when
 *   airlock started us in one: that takes a parent);
 * - root pivoted to an empty, read-only tmpfs: no path leads anywhere;
 * - rlimits: open files, file size, address space beyond guest RAM, no
 *   core, no locked memory;
 * - identity: started as root, j->uid:j->gid with no supplementary groups
 *   and no capabilities at all (bounding set emptied); started as a user,
 *   inside a user namespace of our own (or the one airlock made) with every
 *   capability dropped and root's privileges locked off (securebits);
 * - no_new_privs.
 * Returns 0, or -errno with err saying which step failed.
 */
int jail_enter(const struct vmm_jail_opts *j, const struct jail_limits *lim,
	       char *err, size_t errlen);

#endif
