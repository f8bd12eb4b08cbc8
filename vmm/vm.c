/* VM lifecycle: create the KVM VM and its irqchip, map guest memory, create
 * vCPUs and run each on its own thread, stop them all. A vCPU thread never
 * exits the process: it records why the VM ended and wakes the main loop. */
#include "vmm/vm.h"
#include "lib/clock.h"
#include "vmm/seccomp.h"
#include "vmm/vm_snapshot.h"
#include "vmm/arch/x86/boot.h"
#include "vmm/arch/x86/layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

void vm_request_end(struct vm *vm, enum vm_end why)
{
	int running = VM_RUNNING;
	uint64_t one = 1;

	if (atomic_compare_exchange_strong(&vm->end, &running, (int)why)) {
		atomic_store(&vm->t.end, clock_ns());
		if (write(vm->end_efd, &one, sizeof(one)) < 0) {
			/* eventfd cannot overflow at 1; nothing else to do */
		}
	}
}

static void vm_fail(struct vm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void vm_fail(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	int running = VM_RUNNING;

	/* Only the first failure is kept: later ones are consequences. */
	if (atomic_load(&vm->end) != running)
		return;
	va_start(ap, fmt);
	vsnprintf(vm->error, sizeof(vm->error), fmt, ap);
	va_end(ap);
	vm_request_end(vm, VM_END_ERROR);
}

int vm_vcpu_may_write(struct vm *vm, int fd)
{
	for (unsigned int i = 0; i < vm->n_vcpu_wfd; i++)
		if (vm->vcpu_wfd[i] == fd)
			return 0;
	if (fd < 0 || vm->n_vcpu_wfd == VM_MAX_VCPU_WFDS)
		return fd < 0 ? -EBADF : -ENOSPC;
	vm->vcpu_wfd[vm->n_vcpu_wfd++] = fd;
	return 0;
}

int vm_irq_line(struct vm *vm, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

static void on_end(struct vm_event *ev, uint32_t events)
{
	uint64_t n;

	(void)events;	/* vm->end says why; just drain the eventfd */
	if (read(ev->fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: drained already */
	}
}

int vm_create(struct vm *vm, int kvm_fd, uint64_t mem_size,
	      unsigned int nr_vcpus, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t gpa[2], size[2];
	unsigned int nr;
	int max_vcpus, nent = 256;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = kvm_fd;
	vm->vm_fd = vm->end_efd = vm->epfd = vm->mem_fd = -1;
	atomic_store(&vm->exit_status, -1);
	vm->end_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (vm->end_efd < 0 || vm->epfd < 0)
		goto sys;
	/* Whoever ends the VM writes end_efd: that wakes the I/O loop. */
	vm_vcpu_may_write(vm, vm->end_efd);
	vm->end_ev = (struct vm_event){ vm->end_efd, on_end, vm };
	if (vm_event_add(vm, &vm->end_ev, EPOLLIN))
		goto sys;

	max_vcpus = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max_vcpus <= 0)
		max_vcpus = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max_vcpus > 0 && nr_vcpus > (unsigned int)max_vcpus) {
		snprintf(err, errlen, "--cpus %u: this KVM allows at most %d vCPUs",
			 nr_vcpus, max_vcpus);
		return -EINVAL;
	}
	vm->run_size = (size_t)ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size < (long)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE failed");
		return -EINVAL;
	}
	vm->tsc_deadline = ioctl(kvm_fd, KVM_CHECK_EXTENSION,
				 KVM_CAP_TSC_DEADLINE_TIMER) > 0;

	/* KVM says how many CPUID entries it has by failing with E2BIG. */
	for (;;) {
		vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
					      (size_t)nent * sizeof(vm->cpuid->entries[0]));
		if (!vm->cpuid)
			goto sys;
		vm->cpuid->nent = (uint32_t)nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) == 0)
			break;
		free(vm->cpuid);
		vm->cpuid = NULL;
		if (errno != E2BIG || nent >= 4096)
			goto sys;
		nent *= 2;
	}

	vm->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		goto sys;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_ADDR) < 0)
		goto sys;
	{
		uint64_t ident = X86_IDENTITY_MAP_ADDR;

		if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
			goto sys;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		goto sys;

	/* All of RAM is one memfd, mapped once: another process (a device of
	 * its own, a snapshot) can map the same pages. Pages are allocated
	 * as the guest touches them; the size is sealed so nobody can shrink
	 * it under a mapping. */
	vm->mem.base_size = mem_size;
	vm->mem_fd = memfd_create("airlock-guest-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (vm->mem_fd < 0 || ftruncate(vm->mem_fd, (off_t)mem_size) < 0 ||
	    fcntl(vm->mem_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		snprintf(err, errlen, "cannot make %llu MiB of guest memory: %s",
			 (unsigned long long)(mem_size >> 20), strerror(errno));
		return -ENOMEM;
	}
	vm->mem.base = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_NORESERVE, vm->mem_fd, 0);
	if (vm->mem.base == MAP_FAILED) {
		vm->mem.base = NULL;
		snprintf(err, errlen, "cannot reserve %llu MiB of guest memory: %s",
			 (unsigned long long)(mem_size >> 20), strerror(errno));
		return -ENOMEM;
	}
	madvise(vm->mem.base, mem_size, MADV_DONTDUMP);
	nr = x86_ram_regions(mem_size, gpa, size);
	for (unsigned int i = 0; i < nr; i++) {
		uint8_t *host = vm->mem.base + (gpa[i] == 0 ? 0 : size[0]);
		struct kvm_userspace_memory_region reg = {
			.slot = i,
			.guest_phys_addr = gpa[i],
			.memory_size = size[i],
			.userspace_addr = (uint64_t)(uintptr_t)host,
		};

		if (gm_add_region(&vm->mem, gpa[i], size[i], host) ||
		    ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
			goto sys;
	}

	vm->nr_vcpus = nr_vcpus;
	vm->vcpus = calloc(nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		goto sys;
	for (unsigned int i = 0; i < nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
		if (v->fd < 0)
			goto sys;
		v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, v->fd, 0);
		if (v->run == MAP_FAILED) {
			v->run = NULL;
			goto sys;
		}
	}
	return 0;
sys:
	snprintf(err, errlen, "setting up the VM failed: %s", strerror(errno));
	return -errno;
}

static void handle_io(struct vm *vm, struct kvm_run *run)
{
	uint64_t span = (uint64_t)run->io.size * run->io.count;
	uint8_t *p = (uint8_t *)run + run->io.data_offset;

	/* The kernel fills these, but a bad value would make us scribble
	 * over our own memory: check before trusting. */
	if ((run->io.size != 1 && run->io.size != 2 && run->io.size != 4) ||
	    run->io.data_offset > vm->run_size ||
	    span > vm->run_size - run->io.data_offset) {
		vm_fail(vm, "KVM reported a malformed port I/O exit");
		return;
	}
	for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size)
		io_bus_access(&vm->pio, run->io.port, p, run->io.size,
			      run->io.direction == KVM_EXIT_IO_OUT);
}

static void handle_mmio(struct vm *vm, struct kvm_run *run)
{
	if (run->mmio.len == 0 || run->mmio.len > sizeof(run->mmio.data)) {
		vm_fail(vm, "KVM reported a malformed MMIO exit");
		return;
	}
	mmio_bus_access(&vm->mmio, run->mmio.phys_addr, run->mmio.data,
			run->mmio.len, run->mmio.is_write);
}

int vm_event_add(struct vm *vm, struct vm_event *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(vm->epfd, EPOLL_CTL_ADD, ev->fd, &e) < 0 ? -errno : 0;
}

int vm_event_mod(struct vm *vm, struct vm_event *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(vm->epfd, EPOLL_CTL_MOD, ev->fd, &e) < 0 ? -errno : 0;
}

void vm_event_del(struct vm *vm, struct vm_event *ev)
{
	epoll_ctl(vm->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

void vm_io_loop_once(struct vm *vm)
{
	struct epoll_event evs[32];
	int n = epoll_wait(vm->epfd, evs, 32, -1);

	if (n < 0) {
		if (errno != EINTR)
			vm_fail(vm, "epoll_wait failed: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		struct vm_event *ev = evs[i].data.ptr;

		ev->fn(ev, evs[i].events);
	}
}

static const char *internal_error(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "event delivery failed";
	default:
		return "internal error";
	}
}

/* One exit: returns false when this vCPU must stop. */
static bool handle_exit(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vm, run);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vm, run);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* A triple fault: with reboot=t it is a reboot request too. */
		v->shutdown = true;
		vm_request_end(vm, VM_END_SHUTDOWN);
		return false;
	case KVM_EXIT_HLT:
		vm_request_end(vm, VM_END_SHUTDOWN);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_end(vm, VM_END_RESET);
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vm_request_end(vm, VM_END_CRASH);
			break;
		default:
			vm_request_end(vm, VM_END_SHUTDOWN);
			break;
		}
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_fail(vm, "vCPU %u could not enter the guest (hardware reason 0x%llx)",
			v->id,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_fail(vm, "KVM %s on vCPU %u (suberror %u)",
			internal_error(run->internal.suberror), v->id,
			run->internal.suberror);
		return false;
	default:
		vm_fail(vm, "unexpected KVM exit reason %u on vCPU %u",
			run->exit_reason, v->id);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t kick;
	char err[160];

	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (vm->seccomp &&
	    seccomp_install_vcpu(vm->seccomp, v->fd, err, sizeof(err)) < 0) {
		vm_fail(vm, "%s", err);
		return NULL;
	}
	if (v->id == 0) {
		uint64_t zero = 0;

		atomic_compare_exchange_strong(&vm->t.first_run, &zero, clock_ns());
	}
	while (!atomic_load(&vm->stop)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_fail(vm, "KVM_RUN on vCPU %u failed: %s", v->id,
				strerror(errno));
			break;
		}
		if (!handle_exit(v))
			break;
	}
	/* Unless the guest ended normally, keep what this vCPU was doing for
	 * the diagnosis (a kicked vCPU is out of KVM_RUN, so it is coherent);
	 * at a snapshot point, all of it. */
	if (vm->snap && atomic_load(&vm->end) == VM_END_SNAPSHOT)
		vm_snapshot_vcpu(v);
	else if (atomic_load(&vm->end) != VM_END_RESET)
		x86_vcpu_state_get(v->fd, &v->state);
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig;	/* only here to make KVM_RUN return with EINTR */
}

int vm_start_vcpus(struct vm *vm, char *err, size_t errlen)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		goto sys;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int r = pthread_create(&v->thread, NULL, vcpu_thread, v);

		if (r) {
			errno = r;
			goto sys;
		}
		v->started = true;
	}
	return 0;
sys:
	snprintf(err, errlen, "cannot start vCPU threads: %s", strerror(errno));
	return -errno;
}

void vm_stop_vcpus(struct vm *vm)
{
	atomic_store(&vm->stop, 1);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->started)
			continue;
		/* immediate_exit covers a thread about to enter KVM_RUN; the
		 * signal covers one already inside it. */
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
			if (vm->vcpus[i].run)
				munmap(vm->vcpus[i].run, vm->run_size);
			if (vm->vcpus[i].fd >= 0)
				close(vm->vcpus[i].fd);
		}
		free(vm->vcpus);
	}
	if (vm->mem.base)
		munmap(vm->mem.base, vm->mem.base_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->end_efd >= 0)
		close(vm->end_efd);
	if (vm->epfd >= 0)
		close(vm->epfd);
	free(vm->cpuid);
	vm_snapshot_free(vm->snap);
}
