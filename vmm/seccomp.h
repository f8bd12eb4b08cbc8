/* The VMM's system-call allowlists (libseccomp), one per kind of thread,
 * installed after setup so that a guest that takes over a device or vCPU
 * thread can do little more than what that thread already does. */
#ifndef AIRLOCK_VMM_SECCOMP_H
#define AIRLOCK_VMM_SECCOMP_H

#include <stddef.h>

/* Install the SIGSYS reporter: a forbidden call is named, then we exit. */
int seccomp_install_reporter(void);

/* For a vCPU thread: KVM_RUN, interrupt lines on vm_fd, output writes,
 * reading its own state (vcpu_fd) for a diagnosis when the VM ends. */
int seccomp_install_vcpu(int vm_fd, int vcpu_fd, char *err, size_t errlen);

/* For the main thread once the vCPUs run: device I/O on fds opened before
 * start, stopping the vCPUs, reporting, exit; TUNSETOFFLOAD on tap_fd
 * (-1: no network device). */
int seccomp_install_main(int tap_fd, char *err, size_t errlen);

#endif
