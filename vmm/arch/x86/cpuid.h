/* CPUID as the guest sees it: KVM's supported set, adjusted per vCPU so
 * the topology is consistent (APIC ids, CPU counts) and features a microVM
 * does not offer (PMU, power management) are hidden. Pure function over a
 * kvm_cpuid2 table so it can be tested without KVM. */
#ifndef AIRLOCK_VMM_X86_CPUID_H
#define AIRLOCK_VMM_X86_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>

struct cpuid_opts {
	unsigned int vcpu_id;
	unsigned int nr_vcpus;
	bool tsc_deadline;	/* KVM_CAP_TSC_DEADLINE_TIMER */
};

/* Adjust c in place (c->nent entries). */
void cpuid_adjust(struct kvm_cpuid2 *c, const struct cpuid_opts *o);

/* The entry for function/index, or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int function,
				    unsigned int index);

#endif
