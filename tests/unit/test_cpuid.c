/* vmm/arch/x86/cpuid: a fabricated KVM_GET_SUPPORTED_CPUID table, adjusted
 * per vCPU; topology must agree with the MP table (APIC id = vCPU index,
 * all vCPUs cores of one package) and hidden features must stay hidden. */
#include "vmm/arch/x86/cpuid.h"
#include "tests/unit/check.h"

#include <stdlib.h>

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

#define L1_EDX		0x178bfbffu	/* includes HTT (bit 28) */
#define L1_ECX		0x76fa3203u	/* no TSC-deadline (24), no hypervisor (31) */
#define L1_EBX		0x00100800u	/* brand 0, CLFLUSH 8, 16 logical (host) */
#define X1_ECX		0x00400023u	/* LAHF, CmpLegacy (1), ABM, TopoExt (22) */
#define X8_ECX		0x0000700fu	/* ApicIdSize 7, NC 15 */

/* Host leaf 4 EAX values: type/level in bits 0..9, sharing and core counts
 * above (those are the host's and must be replaced). */
static const uint32_t leaf4_eax[] = {
	0x1c004121,	/* L1d */
	0x1c004122,	/* L1i */
	0x1c004143,	/* L2 */
	0x1c03c163,	/* L3, shared */
	0x00000000,	/* no more caches */
};

static const struct kvm_cpuid_entry2 host[] = {
	{ .function = 0x0, .eax = 0x1f, .ebx = 0x756e6547 },
	{ .function = 0x1, .eax = 0x000906ea, .ebx = L1_EBX, .ecx = L1_ECX,
	  .edx = L1_EDX },
	{ .function = 0x4, .index = 0, .flags = SIG, .eax = 0x1c004121,
	  .ebx = 0x01c0003f, .ecx = 0x3f, .edx = 0 },
	{ .function = 0x4, .index = 1, .flags = SIG, .eax = 0x1c004122,
	  .ebx = 0x01c0003f, .ecx = 0x3f, .edx = 0 },
	{ .function = 0x4, .index = 2, .flags = SIG, .eax = 0x1c004143,
	  .ebx = 0x00c0003f, .ecx = 0x3ff, .edx = 0 },
	{ .function = 0x4, .index = 3, .flags = SIG, .eax = 0x1c03c163,
	  .ebx = 0x03c0003f, .ecx = 0x2fff, .edx = 6 },
	{ .function = 0x4, .index = 4, .flags = SIG },
	{ .function = 0x6, .eax = 0x000027f7, .ebx = 2, .ecx = 9, .edx = 0x10 },
	{ .function = 0x7, .index = 0, .flags = SIG, .ebx = 0x029c6fbf },
	{ .function = 0xa, .eax = 0x07300404, .ebx = 0, .ecx = 0, .edx = 0x603 },
	{ .function = 0xb, .index = 0, .flags = SIG, .eax = 1, .ebx = 2,
	  .ecx = 0x100, .edx = 7 },
	{ .function = 0xb, .index = 1, .flags = SIG, .eax = 4, .ebx = 12,
	  .ecx = 0x201, .edx = 7 },
	{ .function = 0xb, .index = 2, .flags = SIG, .eax = 0, .ebx = 0,
	  .ecx = 0x002, .edx = 7 },
	{ .function = 0x80000001, .ecx = X1_ECX, .edx = 0x2c100800 },
	{ .function = 0x80000008, .eax = 0x3030, .ecx = X8_ECX },
	{ .function = 0x8000001e, .eax = 0x55, .ebx = 0x0103, .ecx = 0x0201 },
};

#define NENT (sizeof(host) / sizeof(host[0]))

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c = malloc(sizeof(*c) + sizeof(host));

	if (!c)
		abort();
	c->nent = NENT;
	c->padding = 0;
	memcpy(c->entries, host, sizeof(host));
	return c;
}

static struct kvm_cpuid2 *adjusted(unsigned int id, unsigned int n, bool tsc)
{
	struct kvm_cpuid2 *c = table();
	struct cpuid_opts o = { .vcpu_id = id, .nr_vcpus = n, .tsc_deadline = tsc };

	cpuid_adjust(c, &o);
	return c;
}

/* The entry, or a zeroed one (with a failed check) so callers can go on. */
static struct kvm_cpuid_entry2 get(struct kvm_cpuid2 *c, unsigned int fn,
				   unsigned int idx)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, idx);
	struct kvm_cpuid_entry2 none = { 0 };

	CHECK(e != NULL);
	return e ? *e : none;
}

static unsigned int bits_for(unsigned int n)
{
	unsigned int s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

TEST(find_honours_significant_index)
{
	struct kvm_cpuid2 *c = table();
	struct kvm_cpuid_entry2 *e;

	for (unsigned int i = 0; i < 5; i++) {
		e = cpuid_find(c, 0x4, i);
		CHECK(e != NULL && e->index == i);
	}
	CHECK(cpuid_find(c, 0x4, 5) == NULL);
	CHECK(cpuid_find(c, 0xb, 3) == NULL);
	/* Without the flag the index does not matter. */
	e = cpuid_find(c, 0x1, 0);
	CHECK(e != NULL && e->function == 0x1);
	CHECK(cpuid_find(c, 0x1, 7) == e);
	CHECK(cpuid_find(c, 0x80000008, 3) != NULL);
	CHECK(cpuid_find(c, 0x2, 0) == NULL);
	CHECK(cpuid_find(c, 0x40000000, 0) == NULL);
	c->nent = 1;
	CHECK(cpuid_find(c, 0x1, 0) == NULL);	/* only nent entries count */
	free(c);
}

static void check_vcpu(unsigned int id, unsigned int n, bool tsc)
{
	struct kvm_cpuid2 *c = adjusted(id, n, tsc);
	struct kvm_cpuid_entry2 e;

	/* Leaf 1: APIC id, logical count, HTT, hypervisor, TSC deadline. */
	e = get(c, 0x1, 0);
	CHECK_EQ(e.ebx >> 24, id);
	CHECK_EQ((e.ebx >> 16) & 0xff, n);
	CHECK_EQ(e.ebx & 0xffff, L1_EBX & 0xffff);
	CHECK_EQ(e.eax, 0x000906ea);
	CHECK_EQ(!!(e.edx & (1u << 28)), n > 1);
	CHECK_EQ(e.edx & ~(1u << 28), L1_EDX & ~(1u << 28));
	CHECK(e.ecx & (1u << 31));
	CHECK_EQ(!!(e.ecx & (1u << 24)), tsc);
	CHECK_EQ(e.ecx & ~((1u << 31) | (1u << 24)), L1_ECX);

	/* Leaf 4: n cores per package, private L1/L2, shared L3. */
	for (unsigned int i = 0; i < 4; i++) {
		struct kvm_cpuid_entry2 h = host[2 + i];
		unsigned int level;

		e = get(c, 0x4, i);
		level = (e.eax >> 5) & 7;
		CHECK_EQ(e.eax & 0x3ff, leaf4_eax[i] & 0x3ff);
		CHECK_EQ(e.eax >> 26, n - 1);
		CHECK_EQ((e.eax >> 14) & 0xfff, level >= 3 ? n - 1 : 0);
		CHECK_EQ(e.ebx, h.ebx);
		CHECK_EQ(e.ecx, h.ecx);
		CHECK_EQ(e.edx, h.edx);
	}
	e = get(c, 0x4, 4);
	CHECK_EQ(e.eax, 0);		/* the terminator stays one */

	/* Leaf 6: only ARAT survives. Leaf 0xA: no PMU at all. */
	e = get(c, 0x6, 0);
	CHECK_EQ(e.eax, 1u << 2);
	CHECK_EQ(e.ebx | e.ecx | e.edx, 0);
	e = get(c, 0xa, 0);
	CHECK_EQ(e.eax | e.ebx | e.ecx | e.edx, 0);

	/* Leaf 0xB: SMT level, core level, then invalid; x2APIC id = id. */
	e = get(c, 0xb, 0);
	CHECK_EQ(e.edx, id);
	CHECK_EQ(e.eax & 0x1f, 0);		/* one thread per core */
	CHECK_EQ(e.ebx & 0xffff, 1);
	CHECK_EQ(e.ecx & 0xff, 0);
	CHECK_EQ((e.ecx >> 8) & 0xff, 1);	/* SMT */
	e = get(c, 0xb, 1);
	CHECK_EQ(e.edx, id);
	CHECK_EQ(e.eax & 0x1f, bits_for(n));
	CHECK_EQ(id >> (e.eax & 0x1f), 0);	/* every vCPU in package 0 */
	CHECK_EQ(e.ebx & 0xffff, n);
	CHECK_EQ(e.ecx & 0xff, 1);
	CHECK_EQ((e.ecx >> 8) & 0xff, 2);	/* core */
	e = get(c, 0xb, 2);
	CHECK_EQ(e.edx, id);
	CHECK_EQ(e.eax, 0);
	CHECK_EQ(e.ebx, 0);
	CHECK_EQ(e.ecx & 0xff, 2);
	CHECK_EQ((e.ecx >> 8) & 0xff, 0);	/* invalid: end of levels */

	/* AMD: no CmpLegacy / TopologyExtensions; NC = n - 1; ext APIC id. */
	e = get(c, 0x80000001, 0);
	CHECK_EQ(e.ecx, X1_ECX & ~((1u << 1) | (1u << 22)));
	CHECK_EQ(e.edx, 0x2c100800);
	e = get(c, 0x80000008, 0);
	CHECK_EQ(e.ecx & 0xff, n - 1);
	CHECK_EQ((e.ecx >> 12) & 0xf, 0);
	CHECK_EQ(e.eax, 0x3030);
	e = get(c, 0x8000001e, 0);
	CHECK_EQ(e.eax, id);
	CHECK_EQ(e.ebx & 0xff, id);
	CHECK_EQ((e.ebx >> 8) & 0xff, 0);	/* one thread per core */
	CHECK_EQ(e.ecx, 0);

	/* Leaves we do not adjust are left alone. */
	e = get(c, 0x0, 0);
	CHECK_EQ(e.eax, 0x1f);
	e = get(c, 0x7, 0);
	CHECK_EQ(e.ebx, 0x029c6fbf);
	free(c);
}

TEST(single_vcpu)
{
	check_vcpu(0, 1, false);
	check_vcpu(0, 1, true);
}

TEST(four_vcpus)
{
	for (unsigned int id = 0; id < 4; id++)
		check_vcpu(id, 4, id & 1);
}

TEST(odd_counts)
{
	for (unsigned int id = 0; id < 3; id++)
		check_vcpu(id, 3, true);
	check_vcpu(4, 5, false);
	check_vcpu(63, 64, false);
}

TEST(zero_vcpus_means_one)
{
	struct kvm_cpuid2 *c = adjusted(0, 0, false);
	struct kvm_cpuid_entry2 e = get(c, 0x1, 0);

	CHECK_EQ((e.ebx >> 16) & 0xff, 1);
	CHECK(!(e.edx & (1u << 28)));
	e = get(c, 0x4, 0);
	CHECK_EQ(e.eax >> 26, 0);
	free(c);
}

TEST(vcpus_differ_only_in_ids)
{
	struct kvm_cpuid2 *a = adjusted(0, 4, true), *b = adjusted(3, 4, true);
	struct kvm_cpuid_entry2 ea = get(a, 0x1, 0), eb = get(b, 0x1, 0);

	CHECK_EQ(ea.ebx >> 24, 0);
	CHECK_EQ(eb.ebx >> 24, 3);
	CHECK_EQ(ea.ebx & 0x00ffffff, eb.ebx & 0x00ffffff);
	CHECK_EQ(ea.ecx, eb.ecx);
	CHECK_EQ(ea.edx, eb.edx);
	for (unsigned int i = 0; i < NENT; i++) {
		const struct kvm_cpuid_entry2 *x = &a->entries[i], *y = &b->entries[i];

		if (x->function == 0x1 || x->function == 0xb ||
		    x->function == 0x8000001e)
			continue;
		CHECK(memcmp(x, y, sizeof(*x)) == 0);
	}
	free(a);
	free(b);
}

CHECK_MAIN(
	TEST_ENTRY(find_honours_significant_index),
	TEST_ENTRY(single_vcpu),
	TEST_ENTRY(four_vcpus),
	TEST_ENTRY(odd_counts),
	TEST_ENTRY(zero_vcpus_means_one),
	TEST_ENTRY(vcpus_differ_only_in_ids),
)
