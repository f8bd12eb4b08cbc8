/* Seccomp allowlists: see seccomp.h. Anything not listed traps; the SIGSYS
 * handler names the call and ends the process, so a missing rule shows up
 * as a clear message instead of a mystery kill. Every rule says why. */
#include "vmm/seccomp.h"

#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_SECCOMP 125

/* SCMP_A0()/SCMP_A1() leave datum_b to the compiler; spell it out. */
#define ARG_EQ(n, v) \
	((struct scmp_arg_cmp){ .arg = (n), .op = SCMP_CMP_EQ, \
				.datum_a = (scmp_datum_t)(v), .datum_b = 0 })

/* An int argument: compare the low 32 bits only, whatever the caller left
 * in the upper half of the register. */
#define ARG_EQ32(n, v) \
	((struct scmp_arg_cmp){ .arg = (n), .op = SCMP_CMP_MASKED_EQ, \
				.datum_a = 0xffffffffu, \
				.datum_b = (scmp_datum_t)(uint32_t)(v) })

struct rule {
	int nr;
	const char *why;
};

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg),
		     "airlock-vmm: seccomp: forbidden system call %d; stopping\n",
		     si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* nowhere left to report to */
	}
	_exit(EXIT_SECCOMP);
}

int seccomp_install_reporter(void)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler,
				.sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

/* Calls every thread of ours may make. */
static const struct rule common[] = {
	{ SCMP_SYS(write), "console, command output, eventfd wake-up, messages" },
	{ SCMP_SYS(futex), "device locks and pthread_join" },
	{ SCMP_SYS(rt_sigreturn), "return from the vCPU kick and SIGSYS handlers" },
	{ SCMP_SYS(rt_sigprocmask), "glibc blocks signals around thread exit" },
	{ SCMP_SYS(clock_gettime), "boot timing, when the vDSO is unavailable" },
	{ SCMP_SYS(madvise), "glibc releases a finished thread's stack" },
	{ SCMP_SYS(munmap), "freeing thread stacks and memory at exit" },
	{ SCMP_SYS(exit), "a thread ends" },
	{ SCMP_SYS(exit_group), "the process ends (also from the SIGSYS handler)" },
	{ SCMP_SYS(restart_syscall), "a wait interrupted by a signal resumes" },
};

static const struct rule main_only[] = {
	{ SCMP_SYS(epoll_wait), "the I/O loop waits for kicks, signals, the VM end" },
	{ SCMP_SYS(epoll_pwait), "the same, where glibc uses epoll_pwait" },
	{ SCMP_SYS(epoll_ctl), "the I/O loop registers and drops its event sources" },
	{ SCMP_SYS(read), "draining the signalfd, eventfds and timerfd; vsock CONNECT lines" },
	{ SCMP_SYS(getpid), "pthread_kill of a vCPU thread" },
	{ SCMP_SYS(gettid), "pthread_kill of a vCPU thread" },
	{ SCMP_SYS(tgkill), "kick a vCPU thread out of KVM_RUN" },
	{ SCMP_SYS(close), "releasing fds at exit; vsock: host sockets of ended streams" },
	{ SCMP_SYS(getrusage), "peak memory for --boot-timing" },
	{ SCMP_SYS(preadv), "virtio-blk reads, on the disk fds opened before start" },
	{ SCMP_SYS(pwritev), "virtio-blk writes" },
	{ SCMP_SYS(fdatasync), "virtio-blk flush" },
	{ SCMP_SYS(fallocate), "virtio-blk discard and write-zeroes (hole punching)" },
	{ SCMP_SYS(getrandom), "virtio-rng: the guest's entropy, from the host kernel's pool" },
	{ SCMP_SYS(accept4), "vsock: host programs connecting to the VM's socket" },
	{ SCMP_SYS(connect), "vsock: guest streams to PATH_<port> (socket() is AF_UNIX only)" },
	{ SCMP_SYS(readv), "vsock: host socket data into guest rx buffers" },
	{ SCMP_SYS(sendmsg), "vsock: guest data to a host socket" },
	{ SCMP_SYS(sendto), "vsock: the OK line, buffered guest data" },
	{ SCMP_SYS(shutdown), "vsock: the guest shut its sending or receiving side" },
	{ SCMP_SYS(timerfd_settime), "vsock: a 1 s tick only while a handshake is pending" },
};

static int add_rules(scmp_filter_ctx ctx, const struct rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r[i].nr, 0);

		if (e < 0)
			return e;
	}
	return 0;
}

static int load(scmp_filter_ctx ctx, int r, const char *who, char *err,
		size_t errlen)
{
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		snprintf(err, errlen, "cannot install the %s seccomp filter: %s", who,
			 strerror(-r));
	return r;
}

int seccomp_install_vcpu(int vm_fd, int vcpu_fd, bool snapshot, char *err,
			 size_t errlen)
{
	/* Read-only state of this vCPU, fetched once when the VM ends so a
	 * triple fault or a hang can be diagnosed (x86_vcpu_state_get). */
	static const unsigned long state_ioctls[] = {
		KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_VCPU_EVENTS, KVM_GET_MP_STATE,
	};
	/* The rest of it, read once for a snapshot (x86_vcpu_save): still
	 * this vCPU's own, still read-only. */
	static const unsigned long snapshot_ioctls[] = {
		KVM_GET_XSAVE, KVM_GET_XSAVE2, KVM_GET_XCRS, KVM_GET_DEBUGREGS,
		KVM_GET_LAPIC, KVM_GET_TSC_KHZ, KVM_GET_CPUID2, KVM_GET_MSRS,
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	r = add_rules(ctx, common, sizeof(common) / sizeof(common[0]));
	/* Run the guest: on the vCPU's own fd, whichever it is. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				     ARG_EQ(1, KVM_RUN));
	/* Serial and other legacy devices raise ISA interrupts, on the VM fd. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     ARG_EQ32(0, vm_fd),
				     ARG_EQ(1, KVM_IRQ_LINE));
	for (size_t i = 0; r == 0 && i < sizeof(state_ioctls) / sizeof(state_ioctls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     ARG_EQ32(0, vcpu_fd), ARG_EQ(1, state_ioctls[i]));
	for (size_t i = 0; r == 0 && snapshot &&
			   i < sizeof(snapshot_ioctls) / sizeof(snapshot_ioctls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     ARG_EQ32(0, vcpu_fd), ARG_EQ(1, snapshot_ioctls[i]));
	return load(ctx, r, "vCPU", err, errlen);
}

/* Taking a snapshot, once the guest is at its snapshot point. */
static int add_snapshot(scmp_filter_ctx ctx, const struct seccomp_snapshot *s)
{
	/* The VM-wide state, read-only (x86_vm_save). */
	static const unsigned long vm_ioctls[] = {
		KVM_GET_IRQCHIP, KVM_GET_PIT2, KVM_GET_CLOCK,
	};
	int r = 0;

	for (size_t i = 0; r == 0 && i < sizeof(vm_ioctls) / sizeof(vm_ioctls[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     ARG_EQ32(0, s->vm_fd), ARG_EQ(1, vm_ioctls[i]));
	/* The state file, written whole and cut to its length. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(pwrite64), 1,
				     ARG_EQ32(0, s->state_fd));
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ftruncate), 1,
				     ARG_EQ32(0, s->state_fd));
	/* Guest RAM into the memory file's image. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(pwrite64), 1,
				     ARG_EQ32(0, s->mem_fd));
	/* Both files made durable (fdatasync is allowed already, for disks). */
	return r;
}

int seccomp_install_main(const struct seccomp_snapshot *snap, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r;

	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	r = add_rules(ctx, common, sizeof(common) / sizeof(common[0]));
	if (r == 0)
		r = add_rules(ctx, main_only, sizeof(main_only) / sizeof(main_only[0]));
	/* New sockets: only Unix stream sockets, for guest-initiated vsock
	 * streams. No network socket can ever be made here. */
	if (r == 0)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
				     ARG_EQ32(0, AF_UNIX),
				     ARG_EQ32(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC));
	if (r == 0 && snap)
		r = add_snapshot(ctx, snap);
	return load(ctx, r, "main", err, errlen);
}
