/* Snapshots of a booted template, for `airlock run`: kept under
 * $AIRLOCK_HOME/snapshots/, one folder per key (template, kernel,
 * initramfs, VMM, vCPUs, memory), made on first use or by `airlock template
 * warm`, and restored in place of a boot. A snapshot that is missing,
 * cannot be made or is refused by the VMM means a cold boot, with one line
 * saying so. docs/snapshot.md tells the whole story. */
#ifndef AIRLOCK_TOOLS_SNAPSHOT_H
#define AIRLOCK_TOOLS_SNAPSHOT_H

#include "tools/airlock/sandbox.h"

enum snapshot_mode {
	SNAPSHOT_AUTO,		/* restore, making the snapshot if need be; else boot */
	SNAPSHOT_COLD,		/* boot (--cold) */
	SNAPSHOT_WARM_ONLY,	/* restore or fail (--warm-only) */
};

/* Starts sandbox sb's VM (lock held): restored from its snapshot and
 * resumed, or booted. Returns 0 once the VM is up (sb->vmm set), -EAGAIN
 * for SNAPSHOT_WARM_ONLY when no snapshot could be used, or another
 * -errno; each after saying why. */
int snapshot_start(struct sandbox *sb, const struct airlock_paths *p,
		   enum snapshot_mode mode);

/* `airlock template warm [-m SIZE] [--cpus N] T`: makes T's snapshot now.
 * Returns the exit status. */
int snapshot_cmd_warm(int argc, char **argv);

#endif
