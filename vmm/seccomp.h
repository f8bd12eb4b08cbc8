/* The VMM's system-call allowlists (lib/sysfilter.h), one per kind of
 * thread, installed once setup is done, with argument filters wherever the
 * kernel lets us say which descriptor or value is allowed. A guest that
 * takes over a vCPU or a device can do little more than what that thread
 * already does: no new file, no socket, no process, no signal to anyone
 * else. Every rule carries its reason (vmm/seccomp.c). */
#ifndef AIRLOCK_VMM_SECCOMP_H
#define AIRLOCK_VMM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

/* The descriptors the filters name. -1 where a device is absent. */
struct vmm_seccomp_cfg {
	int vm_fd;
	int epfd;			/* the I/O loop's epoll instance */
	const int *disk_fds;		/* virtio-blk images */
	unsigned int ndisks;
	int vsock_listen_fd;		/* hybrid vsock: host programs connect */
	int vsock_broker_fd;		/* guest-initiated streams come from it */
	int vsock_timer_fd;
	int tap_fd;			/* virtio-net's TAP */
	const int *vcpu_wfd;		/* what vCPU threads may write to */
	unsigned int n_vcpu_wfd;
	/* Taking a snapshot (vmm/vm_snapshot.h): each vCPU thread may read all
	 * of its own state; the main thread the VM-wide state, guest RAM's
	 * memfd layout, and it writes the two snapshot files. */
	bool snapshot;
	int ram_fd;			/* guest RAM's memfd */
	int snap_state_fd, snap_mem_fd;
};

/* Install the SIGSYS reporter: a forbidden call is named, then exit 125. */
int seccomp_install_reporter(void);

/* For a vCPU thread: KVM_RUN and its state on vcpu_fd only, interrupt lines
 * on the VM fd, write() to the registered fds only. */
int seccomp_install_vcpu(const struct vmm_seccomp_cfg *c, int vcpu_fd, char *err,
			 size_t errlen);

/* For the main thread once the vCPUs run: the I/O loop, device I/O on the
 * fds opened before start, kicking its own vCPU threads, exit. */
int seccomp_install_main(const struct vmm_seccomp_cfg *c, char *err, size_t errlen);

#endif
