/* CPUID adjustment: see cpuid.h. Bit positions are from the Intel SDM and
 * AMD APM volume 3; each change says why a microVM wants it. */
#include "vmm/arch/x86/cpuid.h"

#include <stddef.h>

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR	(1u << 31)
#define CPUID_1_EDX_HTT		(1u << 28)

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int function,
				    unsigned int index)
{
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* Bits needed to number n items: the x2APIC id shift of a topology level. */
static unsigned int order(unsigned int n)
{
	unsigned int s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

void cpuid_adjust(struct kvm_cpuid2 *c, const struct cpuid_opts *o)
{
	unsigned int n = o->nr_vcpus ? o->nr_vcpus : 1;

	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			/* Our APIC ids are the vCPU indices (see the MP table). */
			e->ebx = (e->ebx & 0x0000ffffu) | (o->vcpu_id << 24) |
				 ((n & 0xffu) << 16);
			if (n > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (o->tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			break;
		case 0x4:
			/* Deterministic cache parameters: all vCPUs are cores of
			 * one package, each with private L1/L2 and a shared L3. */
			if ((e->eax & 0x1f) == 0)
				break;
			e->eax &= 0x3ffu;
			e->eax |= (n - 1) << 26;
			if (((e->eax >> 5) & 7) >= 3)
				e->eax |= (n - 1) << 14;
			break;
		case 0x6:
			/* Thermal and power management: nothing to manage.
			 * Keep ARAT (EAX bit 2): the LAPIC timer never stops. */
			e->eax &= 1u << 2;
			e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xa:
			/* Architectural PMU: none offered, so no guest perf
			 * counters to read host activity through. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: level 0 SMT (one thread per core),
			 * level 1 core (n cores), then the invalid level. */
			e->edx = o->vcpu_id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 1u << 8;	/* level 0, type SMT */
			} else if (e->index == 1) {
				e->eax = order(n);
				e->ebx = n;
				e->ecx = 1 | (2u << 8);	/* level 1, type core */
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index & 0xffu;
			}
			break;
		case 0x80000001:
			/* AMD CmpLegacy/TopologyExtensions would promise leaves
			 * and core counts we did not build: say single-core
			 * legacy and let leaves 1 and 0xB describe topology. */
			e->ecx &= ~((1u << 1) | (1u << 22));
			break;
		case 0x80000008:
			/* AMD NC: number of cores - 1, ApicIdSize 0 = legacy. */
			e->ecx = (e->ecx & ~0xf0ffu) | ((n - 1) & 0xffu);
			break;
		case 0x8000001e:
			/* Extended APIC id for AMD guests. */
			e->eax = o->vcpu_id;
			e->ebx = o->vcpu_id & 0xffu;
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}
