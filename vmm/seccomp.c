/* The VMM's seccomp allowlists: see seccomp.h. Anything not listed traps;
 * the reporter names the call and ends the VMM, so a missing rule shows up
 * as a clear message instead of a mystery kill. Every rule says why. */
#include "vmm/seccomp.h"
#include "lib/sysfilter.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define EXIT_SECCOMP 125

/* Calls every thread of ours may make. */
static const struct sf_rule common[] = {
	{ SCMP_SYS(futex), 0, { { 0 } }, "device locks and pthread_join" },
	{ SCMP_SYS(rt_sigreturn), 0, { { 0 } }, "return from the vCPU kick and SIGSYS handlers" },
	{ SCMP_SYS(rt_sigprocmask), 0, { { 0 } }, "glibc blocks signals around thread exit" },
	{ SCMP_SYS(clock_gettime), 0, { { 0 } }, "boot timing, when the vDSO is unavailable" },
	{ SCMP_SYS(madvise), 0, { { 0 } }, "glibc releases a finished thread's stack" },
	{ SCMP_SYS(munmap), 0, { { 0 } }, "freeing thread stacks and memory at exit" },
	{ SCMP_SYS(exit), 0, { { 0 } }, "a thread ends" },
	{ SCMP_SYS(exit_group), 0, { { 0 } }, "the process ends (also from the SIGSYS handler)" },
	{ SCMP_SYS(restart_syscall), 0, { { 0 } }, "a wait interrupted by a signal resumes" },
};

/* The main thread's calls whose descriptors are made while it runs (host
 * sockets of vsock streams), so they cannot be named here. None of them
 * makes a descriptor, passes one, or reaches a path. */
static const struct sf_rule main_any_fd[] = {
	{ SCMP_SYS(read), 0, { { 0 } }, "the signalfd, eventfds, the timerfd; vsock CONNECT lines" },
	{ SCMP_SYS(readv), 0, { { 0 } }, "vsock: host socket data, virtio-net: TAP frames, into guest rx buffers" },
	{ SCMP_SYS(write), 0, { { 0 } }, "interrupts (eventfds), messages; vsock: the OK line" },
	{ SCMP_SYS(writev), 0, { { 0 } }, "vsock: guest data to a host socket; virtio-net: a frame to the TAP" },
	/* sendto without an address is send(): on a connected stream only. */
	{ SCMP_SYS(sendto), 1, { { 4, SF_EQ, 0 } }, "vsock: buffered guest data, the OK line" },
	{ SCMP_SYS(shutdown), 0, { { 0 } }, "vsock: the guest shut one side of a stream" },
	{ SCMP_SYS(close), 0, { { 0 } }, "vsock: host sockets of ended streams; fds at exit" },
	{ SCMP_SYS(getrandom), 0, { { 0 } }, "virtio-rng: the guest's entropy, from the host pool" },
	{ SCMP_SYS(getrusage), 0, { { 0 } }, "peak memory for --boot-timing" },
	{ SCMP_SYS(getpid), 0, { { 0 } }, "pthread_kill of a vCPU thread" },
	{ SCMP_SYS(gettid), 0, { { 0 } }, "pthread_kill of a vCPU thread" },
};

#define A(n, op, v) { (n), (op), (uint64_t)(v) }

/* A vCPU's state beyond what a diagnosis reads, for a snapshot. */
static const unsigned long snapshot_ioctls[] = {
	KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_GET_XCRS, KVM_GET_DEBUGREGS,
	KVM_GET_LAPIC, KVM_GET_TSC_KHZ, KVM_GET_CPUID2, KVM_GET_MSRS,
};

/* Taking a snapshot, on the main thread once the guest is at its
 * snapshot point (vmm/vm_snapshot.c). */
static void add_snapshot(struct sf_filter *f, const struct vmm_seccomp_cfg *c)
{
	/* The VM-wide state, read-only (x86_vm_save). */
	static const unsigned long vm_ioctls[] = {
		KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK,
	};
	int files[] = { c->snap_state_fd, c->snap_mem_fd };

	for (size_t i = 0; i < SF_COUNT(vm_ioctls); i++)
		sf_add1(f, SCMP_SYS(ioctl), 2, (struct sf_arg[]){ A(0, SF_EQ32, c->vm_fd),
								   A(1, SF_EQ, vm_ioctls[i]) });
	/* Which parts of guest RAM were ever written (SEEK_DATA/SEEK_HOLE),
	 * so that only those are copied. */
	sf_add1(f, SCMP_SYS(lseek), 1, (struct sf_arg[]){ A(0, SF_EQ32, c->ram_fd) });
	/* The two files: written, the state file cut to its length, both made
	 * durable. These fds alone. */
	for (size_t i = 0; i < SF_COUNT(files); i++) {
		struct sf_arg fd = A(0, SF_EQ32, files[i]);

		sf_add1(f, SCMP_SYS(pwrite64), 1, &fd);
		sf_add1(f, SCMP_SYS(fdatasync), 1, &fd);
	}
	sf_add1(f, SCMP_SYS(ftruncate), 1, (struct sf_arg[]){ A(0, SF_EQ32, c->snap_state_fd) });
}

int seccomp_install_reporter(void)
{
	return sf_install_reporter("airlock-vmm", EXIT_SECCOMP);
}

int seccomp_install_vcpu(const struct vmm_seccomp_cfg *c, int vcpu_fd, char *err,
			 size_t errlen)
{
	/* Read-only state of this vCPU, fetched once when the VM ends so a
	 * triple fault or a hang can be diagnosed (x86_vcpu_state_get). */
	static const unsigned long state_ioctls[] = {
		KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE,
	};
	struct sf_filter *f = sf_new();

	sf_add(f, common, SF_COUNT(common));
	/* Run the guest: on this vCPU's own fd, no other. */
	sf_add1(f, SCMP_SYS(ioctl), 2, (struct sf_arg[]){ A(0, SF_EQ32, vcpu_fd),
							   A(1, SF_EQ, KVM_RUN) });
	/* Serial and other legacy devices raise ISA interrupts, on the VM fd. */
	sf_add1(f, SCMP_SYS(ioctl), 2, (struct sf_arg[]){ A(0, SF_EQ32, c->vm_fd),
							   A(1, SF_EQ, KVM_IRQ_LINE) });
	for (size_t i = 0; i < SF_COUNT(state_ioctls); i++)
		sf_add1(f, SCMP_SYS(ioctl), 2, (struct sf_arg[]){ A(0, SF_EQ32, vcpu_fd),
								   A(1, SF_EQ, state_ioctls[i]) });
	/* Device register writes raise interrupts and kick queues through
	 * eventfds; the UARTs write the console and the command's output;
	 * messages go to stderr. Those fds, no other. */
	for (unsigned int i = 0; i < c->n_vcpu_wfd; i++)
		sf_add1(f, SCMP_SYS(write), 1, (struct sf_arg[]){ A(0, SF_EQ32, c->vcpu_wfd[i]) });
	/* The rest of its state, read once for a snapshot (x86_vcpu_save):
	 * still this vCPU's own, still read-only. */
	for (size_t i = 0; c->snapshot && i < SF_COUNT(snapshot_ioctls); i++)
		sf_add1(f, SCMP_SYS(ioctl), 2, (struct sf_arg[]){ A(0, SF_EQ32, vcpu_fd),
								   A(1, SF_EQ, snapshot_ioctls[i]) });
	return sf_load(f, "vCPU", err, errlen);
}

int seccomp_install_main(const struct vmm_seccomp_cfg *c, char *err, size_t errlen)
{
	struct sf_filter *f = sf_new();
	pid_t self = getpid();

	sf_add(f, common, SF_COUNT(common));
	sf_add(f, main_any_fd, SF_COUNT(main_any_fd));
	/* The I/O loop waits on its own epoll instance and changes only it. */
	sf_add1(f, SCMP_SYS(epoll_wait), 1, (struct sf_arg[]){ A(0, SF_EQ32, c->epfd) });
	sf_add1(f, SCMP_SYS(epoll_pwait), 1, (struct sf_arg[]){ A(0, SF_EQ32, c->epfd) });
	sf_add1(f, SCMP_SYS(epoll_ctl), 1, (struct sf_arg[]){ A(0, SF_EQ32, c->epfd) });
	/* Kick a vCPU thread of ours out of KVM_RUN: this process, this
	 * signal. No signal for any other process. */
	sf_add1(f, SCMP_SYS(tgkill), 2, (struct sf_arg[]){ A(0, SF_EQ32, self),
							   A(2, SF_EQ32, SIGUSR1) });
	/* virtio-blk: read, write, flush, discard, on the images opened
	 * before start and no other fd. */
	for (unsigned int i = 0; i < c->ndisks; i++) {
		struct sf_arg fd = A(0, SF_EQ32, c->disk_fds[i]);

		sf_add1(f, SCMP_SYS(preadv), 1, &fd);
		sf_add1(f, SCMP_SYS(pwritev), 1, &fd);
		sf_add1(f, SCMP_SYS(fdatasync), 1, &fd);
		sf_add1(f, SCMP_SYS(fallocate), 1, &fd);
	}
	/* vsock: host programs connect to the listener; accept4 only there. */
	if (c->vsock_listen_fd >= 0)
		sf_add1(f, SCMP_SYS(accept4), 1,
			(struct sf_arg[]){ A(0, SF_EQ32, c->vsock_listen_fd) });
	/* A 1 s tick only while a handshake is pending. */
	if (c->vsock_timer_fd >= 0)
		sf_add1(f, SCMP_SYS(timerfd_settime), 1,
			(struct sf_arg[]){ A(0, SF_EQ32, c->vsock_timer_fd) });
	/* Guest-initiated streams: the broker's answers carry the sockets it
	 * opened. recvmsg on it alone: no other fd can hand us descriptors,
	 * and we have no call that could pass one on. */
	if (c->vsock_broker_fd >= 0)
		sf_add1(f, SCMP_SYS(recvmsg), 1,
			(struct sf_arg[]){ A(0, SF_EQ32, c->vsock_broker_fd) });
	/* virtio-net: the TAP's offloads follow the features each driver
	 * accepts (set before its first frame); that request, that fd. */
	if (c->tap_fd >= 0)
		sf_add1(f, SCMP_SYS(ioctl), 2, (struct sf_arg[]){ A(0, SF_EQ32, c->tap_fd),
								   A(1, SF_EQ, TUNSETOFFLOAD) });
	if (c->snapshot)
		add_snapshot(f, c);
	return sf_load(f, "main", err, errlen);
}
