/* The supervisor of a running sandbox: the `airlock run` process. It opens
 * everything the sandbox's host processes need (the kernel, the initramfs,
 * the template and sandbox disks, the console file, /dev/kvm, the vsock
 * listener), starts each with exactly those descriptors (lib/spawn.h) —
 * the VMM jailed, as an identity of its own — watches them, and answers
 * the sandbox's control socket (control.h). */
#ifndef AIRLOCK_TOOLS_SUPERVISE_H
#define AIRLOCK_TOOLS_SUPERVISE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tools/airlock/net.h"
#include "tools/airlock/sandbox.h"
#include "tools/airlock/vmm_proc.h"

enum sv_state { SV_BOOTING, SV_RUNNING, SV_STOPPING };

struct supervisor {
	struct sandbox *sb;
	const struct airlock_paths *paths;
	struct vmm_proc vmm;	/* watched from the control thread too */
	int64_t started;	/* seconds since the epoch */
	_Atomic int state;	/* enum sv_state */
	int control_fd;		/* the control socket's listener */
	int wake[2];		/* ends the control thread */
	pthread_t control;
	bool control_running;
	int poweroff_wait_ms;	/* supervisor_shutdown(); 0: the default, 30 s */
	/* The network (net.h): set before supervisor_start; NULL options
	 * or --network none: no network device at all. */
	const struct net_opts *net_opts;
	struct sandbox_net *net;	/* while it has one */
	/* Boot or restore the template's snapshot (snapshot.h): set before
	 * supervisor_start, like net_opts. */
	int start_mode;		/* enum snapshot_mode */
	/* The sandbox was made by this run: its disk is still empty, so a
	 * snapshot with that disk mounted fits it (snapshot.h). Set before
	 * supervisor_start too. */
	bool fresh;
	/* The sandbox is removed right after: supervisor_close kills its
	 * VMM and does not wait while the kernel frees the VM. */
	bool discard;
};

/* Starts sb's network (with sv->net_opts), its VMM (lock held) in serve
 * mode on that network's TAP, and opens its control socket. Returns 0 once
 * all are up, or -errno after saying why. sv->net_opts is kept. */
int supervisor_start(struct supervisor *sv, struct sandbox *sb,
		     const struct airlock_paths *p);

/* The sandbox's command is running: `airlock ls` says so from now on. */
void supervisor_running(void *sv);

/* Ends the VM: asks airlock-init to power off (the disk is left clean),
 * then waits; SIGKILL if it does not end in time. Then the network: if its
 * gateway had gone during the run, says so. Returns 0 if all ended
 * cleanly, -errno (after saying why) if not. */
int supervisor_shutdown(struct supervisor *sv);

/* The VMM's last messages, prefixed and made harmless, on stderr. */
void supervisor_print_log(const struct supervisor *sv);

/* Stops the control socket and whatever still runs; with sv->discard,
 * returns once the VMM is killed, before it is reaped. */
void supervisor_close(struct supervisor *sv);

#endif
