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

#endif
