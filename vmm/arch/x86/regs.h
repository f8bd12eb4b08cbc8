/* Per-vCPU architectural state at power-on: CPUID, MSRs, LAPIC wiring, FPU,
 * and for the boot vCPU the registers the chosen boot protocol expects. */
#ifndef AIRLOCK_VMM_X86_REGS_H
#define AIRLOCK_VMM_X86_REGS_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "vmm/arch/x86/boot.h"

/* Configure vCPU vcpu_fd (index id of nr). supported is KVM's CPUID set
 * (not modified). entry is NULL for application processors, which wait for
 * INIT/SIPI from the boot vCPU. Returns 0 or -errno with *what naming the
 * step that failed. */
int x86_vcpu_init(int vcpu_fd, unsigned int id, unsigned int nr,
		  const struct kvm_cpuid2 *supported, bool tsc_deadline,
		  const struct x86_boot_entry *entry, const char **what);

/* What a vCPU was doing when the VM ended, to diagnose a triple fault or a
 * hang. Read by the vCPU's own thread (seccomp allows these ioctls there). */
struct x86_vcpu_state {
	bool valid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp;
};

/* Fill s from vcpu_fd; s->valid says whether it worked. */
void x86_vcpu_state_get(int vcpu_fd, struct x86_vcpu_state *s);

/* True when s is the power-on state: KVM on AMD re-initialises a vCPU after
 * a triple fault (the VMCB is undefined after a shutdown intercept), so the
 * faulting vCPU's own registers are lost there. */
bool x86_vcpu_state_is_reset(const struct x86_vcpu_state *s);

/* One line: rip, rsp, rflags, cs, CR0/2/3/4, EFER, run state, and the
 * exception, interrupt and NMI KVM held for the vCPU. */
void x86_vcpu_state_format(const struct x86_vcpu_state *s, char *buf, size_t len);

#endif
