/* One virtual machine: the KVM fds, guest memory, vCPU threads, the port
 * I/O bus and what the guest has reported. Owned by the VMM process; the
 * vCPU threads and the main loop share it through the fields marked. */
#ifndef AIRLOCK_VMM_VM_H
#define AIRLOCK_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/arch/x86/regs.h"
#include "vmm/io.h"
#include "vmm/mem.h"

#define VM_MAX_VCPU_WFDS 64

struct kvm_run;
struct kvm_cpuid2;
struct vm_snapshot;
struct vmm_seccomp_cfg;

/* Why the VM stopped running. */
enum vm_end {
	VM_RUNNING = 0,
	VM_END_RESET,		/* guest asked for a reset (reboot=k) */
	VM_END_SHUTDOWN,	/* triple fault, or a system-event shutdown */
	VM_END_CRASH,		/* KVM reports a guest crash event */
	VM_END_SIGNAL,		/* the host asked us to stop */
	VM_END_ERROR,		/* KVM could not go on: see vm->error */
	VM_END_SNAPSHOT,	/* the guest is at its snapshot point (vm->snap set) */
};

/* Milestones, nanoseconds on CLOCK_MONOTONIC (0 = not reached). */
struct vm_times {
	_Atomic uint64_t start, first_run, init, cmd, exit, end;
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* Written by the vCPU's thread before it ends, read after the join. */
	bool shutdown;			/* this vCPU triple-faulted */
	struct x86_vcpu_state state;	/* when it stopped, unless the guest reset */
};

/* An fd the I/O loop watches: device kicks, sockets. The owner embeds it
 * and keeps it alive while registered; fn runs on the I/O loop's thread
 * with the epoll events that fired. fn does a bounded amount of work: with
 * more to do, its owner makes the fd ready again (a virtio queue signals
 * its own kick eventfd, virtio_mmio_rearm()), so that the loop serves every
 * other source, SIGTERM's signalfd included, before coming back. */
struct vm_event {
	int fd;
	void (*fn)(struct vm_event *ev, uint32_t events);
	void *opaque;
};

struct vm {
	int kvm_fd, vm_fd;
	int end_efd;			/* eventfd: a vCPU ended the VM */
	size_t run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	struct guest_mem mem;
	int mem_fd;			/* memfd holding guest RAM */
	unsigned int nr_vcpus;
	struct vcpu *vcpus;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	bool tsc_deadline;
	const struct vmm_seccomp_cfg *seccomp;	/* NULL: no filters */
	bool verbose;
	struct io_bus pio;
	struct mmio_bus mmio;
	int epfd;			/* the I/O loop's epoll instance */
	struct vm_event end_ev;		/* end_efd in it */
	struct vm_snapshot *snap;	/* taking a snapshot: vm_snapshot.h */

	/* Written by vCPU threads, read by the main loop. */
	_Atomic int end;		/* enum vm_end; first writer wins */
	_Atomic int exit_status;	/* -1 until the guest reports one */
	_Atomic int init_errno;		/* > 0 if airlock-init reported failure */
	_Atomic int stop;		/* main asks vCPU threads to leave */
	char error[256];		/* VM_END_ERROR: what went wrong */
	/* The only descriptors a vCPU thread may write to (its filter says
	 * so): eventfds, the console, stdout, stderr. */
	int vcpu_wfd[VM_MAX_VCPU_WFDS];
	unsigned int n_vcpu_wfd;
	struct vm_times t;
};

/* Create the VM, its irqchip and PIT, mem_size bytes of RAM and nr_vcpus
 * vCPUs (not yet configured or running). On error err says what failed;
 * call vm_destroy() either way. */
int vm_create(struct vm *vm, int kvm_fd, uint64_t mem_size,
	      unsigned int nr_vcpus, char *err, size_t errlen);

/* One thread per vCPU, each installing its seccomp filter first. */
int vm_start_vcpus(struct vm *vm, char *err, size_t errlen);

/* Make every vCPU thread leave KVM_RUN and join it. */
void vm_stop_vcpus(struct vm *vm);

void vm_destroy(struct vm *vm);

/* Register, change or remove an event source of the I/O loop (EPOLLIN,
 * EPOLLOUT...). Returns 0 or -errno. */
int vm_event_add(struct vm *vm, struct vm_event *ev, uint32_t events);
int vm_event_mod(struct vm *vm, struct vm_event *ev, uint32_t events);
void vm_event_del(struct vm *vm, struct vm_event *ev);

/* One round of the I/O loop: wait for events, dispatch each once. A source
 * re-armed by its handler is reported again on a later round, behind the
 * ones that became ready meanwhile (epoll's ready list is FIFO). */
void vm_io_loop_once(struct vm *vm);

/* Record why the VM ends (first call wins) and wake the main loop.
 * Async-signal-safe, callable from any thread. */
void vm_request_end(struct vm *vm, enum vm_end why);

/* fd is one a vCPU thread writes to (an eventfd, an output): its seccomp
 * filter allows write() on the fds registered here, before the vCPUs start,
 * and no other. -ENOSPC if the table is full. */
int vm_vcpu_may_write(struct vm *vm, int fd);

/* Raise or lower an ISA interrupt line of the in-kernel irqchip. */
int vm_irq_line(struct vm *vm, uint32_t irq, int level);

#endif
