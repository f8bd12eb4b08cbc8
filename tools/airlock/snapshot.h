/* Snapshots of a booted template, for `airlock run`: kept under
 * $AIRLOCK_HOME/snapshots/, one folder per key (template, kernel,
 * initramfs, VMM, vCPUs, memory, with a network or not), made on first
 * use or by `airlock template warm`, and restored in place of a boot. A snapshot that is missing,
 * cannot be made or is refused by the VMM means a cold boot, with one line
 * saying so. docs/snapshot.md tells the whole story. */
#ifndef AIRLOCK_TOOLS_SNAPSHOT_H
#define AIRLOCK_TOOLS_SNAPSHOT_H

#include "tools/airlock/sandbox.h"
#include "tools/airlock/vmm_proc.h"

#include <stdbool.h>

enum snapshot_mode {
	SNAPSHOT_AUTO,		/* restore, making the snapshot if need be; else boot */
	SNAPSHOT_COLD,		/* boot (--cold) */
	SNAPSHOT_WARM_ONLY,	/* restore or fail (--warm-only) */
};

/* Starts sb's VM (lock held) from its template's snapshot, in mode (not
 * SNAPSHOT_COLD): with the files f the supervisor opened (not the kernel
 * and initramfs) and cmdline, the command line a boot would have (the
 * snapshot's was made with it). fresh: sb was made by this run, its disk
 * still empty, so the snapshot with an empty disk mounted fits it. Returns
 * 0 once the VM runs, resumed, watched by vmm; 1 if it is to boot instead
 * (one line said why); -EAGAIN for SNAPSHOT_WARM_ONLY where it would boot;
 * another -errno for the sandbox's own failures; each after saying why. */
int snapshot_start(const struct sandbox *sb, const struct airlock_paths *p,
		   enum snapshot_mode mode, bool fresh, struct vmm_files *f, const char *cmdline,
		   struct vmm_proc *vmm);

/* `airlock template warm [-m SIZE] [--cpus N] T`: makes T's snapshot now.
 * Returns the exit status. */
int snapshot_cmd_warm(int argc, char **argv);

#endif
