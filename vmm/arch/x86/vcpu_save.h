/* One x86 vCPU's whole state for a snapshot: registers, special registers,
 * FPU/XSAVE, XCRs, debug registers, LAPIC, MSRs, pending events, MP state,
 * TSC frequency and the CPUID it was given; read from KVM, written into a
 * snapshot section, read back (every field checked) and put into a new
 * vCPU. The order of the KVM calls matters both ways: see vcpu_save.c. */
#ifndef AIRLOCK_VMM_X86_VCPU_SAVE_H
#define AIRLOCK_VMM_X86_VCPU_SAVE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/snapshot.h"

#define X86_SNAP_MAX_MSRS 128
#define X86_SNAP_MAX_CPUID 256
/* A vCPU's XSAVE area: KVM_CAP_XSAVE2's size where KVM has it (AMX makes it
 * ~11 KiB), else the legacy 4 KiB of struct kvm_xsave. */
#define X86_SNAP_MAX_XSAVE (16u * 1024)

/* The MSRs a snapshot keeps: those KVM lists (KVM_GET_MSR_INDEX_LIST)
 * that are guest state worth keeping (x86_msr_saveable), sorted. */
struct x86_msr_list {
	uint32_t n;
	uint32_t index[X86_SNAP_MAX_MSRS];
};

/* Whether an MSR is one a snapshot keeps (the list and reasons are in
 * vcpu_save.c). */
bool x86_msr_saveable(uint32_t index);

/* Asks KVM (the /dev/kvm fd) which MSRs it can save and keeps the
 * saveable ones. Before seccomp: a system ioctl. 0 or -errno. */
int x86_msr_list_get(int kvm_fd, struct x86_msr_list *l);

/* The size of a vCPU's XSAVE area on this host (the VM fd). */
size_t x86_xsave_size(int vm_fd);

struct x86_vcpu_snap {
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	uint32_t tsc_khz;
	uint32_t nmsrs;
	struct kvm_msr_entry msrs[X86_SNAP_MAX_MSRS];
	/* Laid out as struct kvm_cpuid2 (nent, padding, entries), so that
	 * KVM_GET_CPUID2 fills it in place: no allocation on a vCPU thread,
	 * whose seccomp filter allows none. */
	uint32_t ncpuid;
	uint32_t cpuid_padding;
	struct kvm_cpuid_entry2 cpuid[X86_SNAP_MAX_CPUID];
	size_t xsave_size;
	uint8_t xsave[X86_SNAP_MAX_XSAVE];	/* struct kvm_xsave, then more */
};

/* Reads vCPU vcpu_fd's state into s. On the vCPU's own thread (its seccomp
 * filter allows these calls), after a KVM_RUN with immediate_exit set has
 * completed any I/O the vCPU was in the middle of. MSRs KVM cannot read
 * are left out. 0, or -errno with *what naming the call that failed. */
int x86_vcpu_save(int vcpu_fd, const struct x86_msr_list *l, size_t xsave_size,
		  struct x86_vcpu_snap *s, const char **what);

/* Puts s into a new vCPU whose CPUID is already set (x86_vcpu_init: the
 * same as at boot, which x86_vcpu_snap_read checked). 0, or -errno with
 * *what naming the call KVM refused. */
int x86_vcpu_restore(int vcpu_fd, const struct x86_vcpu_snap *s, const char **what);

/* s as section SNAP_SEC_VCPU, instance id. */
void x86_vcpu_snap_write(const struct x86_vcpu_snap *s, uint32_t id,
			 struct snap_writer *w);

/* What a new VM expects of vCPU id: the XSAVE size of this host and the
 * CPUID the vCPU now has (KVM_GET_CPUID2 after x86_vcpu_init). */
struct x86_vcpu_expect {
	uint32_t id;
	size_t xsave_size;
	uint32_t ncpuid;
	const struct kvm_cpuid_entry2 *cpuid;
};

/* Reads vCPU section sec into s, checking every field: exact sizes, values
 * in range, the LAPIC's id, the MSRs among the saveable ones, the CPUID
 * the same as this VM gives the vCPU (else the snapshot was made on
 * another CPU or KVM). 0, or -EBADMSG / -ESTALE with *why. */
int x86_vcpu_snap_read(struct snap_section *sec, const struct x86_vcpu_expect *e,
		       struct x86_vcpu_snap *s, const char **why);

#endif
