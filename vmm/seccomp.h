/* The VMM's system-call allowlists (libseccomp), one per kind of thread,
 * installed after setup so that a guest that takes over a device or vCPU
 * thread can do little more than what that thread already does. */
#ifndef AIRLOCK_VMM_SECCOMP_H
#define AIRLOCK_VMM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

/* Install the SIGSYS reporter: a forbidden call is named, then we exit. */
int seccomp_install_reporter(void);

/* For a vCPU thread: KVM_RUN, interrupt lines on vm_fd, output writes,
 * reading its own state (vcpu_fd) for a diagnosis when the VM ends; with
 * snapshot, all of its state, for a snapshot. */
int seccomp_install_vcpu(int vm_fd, int vcpu_fd, bool snapshot, char *err,
			 size_t errlen);

/* What taking a snapshot adds to the main thread: reading the VM-wide
 * state on vm_fd, writing the state file, syncing both files. */
struct seccomp_snapshot {
	int vm_fd, state_fd, mem_fd;
};

/* For the main thread once the vCPUs run: device I/O on fds opened before
 * start, stopping the vCPUs, reporting, exit; and snap's calls if it is
 * not NULL. */
int seccomp_install_main(const struct seccomp_snapshot *snap, char *err, size_t errlen);

#endif
