/* vmm/arch/x86/vcpu_save and vm_save, the parts that need no KVM: a vCPU's
 * and the VM's x86 state written into a snapshot and read back field for
 * field, and every field out of range (or of another host: XSAVE layout,
 * CPUID) refused with a reason. The KVM calls themselves are exercised by
 * tests/integration/t_snapshot.sh on real guests. */
#include "vmm/arch/x86/vcpu_save.h"
#include "vmm/arch/x86/vm_save.h"
#include "vmm/arch/x86/layout.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ID 1
#define XSAVE_SIZE 4096

static struct kvm_cpuid_entry2 cpuid[3] = {
	{ .function = 0, .eax = 0xd, .ebx = 0x68747541 },
	{ .function = 1, .eax = 0x800f12, .ecx = 0x80000000, .edx = 0x178bfbff },
	{ .function = 7, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0x209 },
};

static const struct x86_vcpu_expect expect = {
	.id = ID, .xsave_size = XSAVE_SIZE, .ncpuid = 3, .cpuid = cpuid,
};

static void sample(struct x86_vcpu_snap *s)
{
	static const uint32_t msrs[] = { 0x10, 0x1b, 0x174, 0x277, 0x6e0, 0x4b564d01,
					 0xc0000082, 0xc0000102 };
	uint32_t apic_id = (uint32_t)ID << 24;

	memset(s, 0, sizeof(*s));
	s->mp.mp_state = KVM_MP_STATE_HALTED;
	s->regs.rip = 0xffffffff81000000ull;
	s->regs.rflags = 0x246;
	s->sregs.cr0 = 0x80050033;
	s->sregs.efer = 0xd01;
	s->sregs.apic_base = 0xfee00900;
	s->xsave_size = XSAVE_SIZE;
	for (size_t i = 0; i < XSAVE_SIZE; i++)
		s->xsave[i] = (uint8_t)(i * 7);
	s->xcrs.nr_xcrs = 1;
	s->xcrs.xcrs[0].value = 7;
	s->dregs.dr6 = 0xffff0ff0;
	s->dregs.dr7 = 0x400;
	memcpy(s->lapic.regs + 0x20, &apic_id, 4);
	s->events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
			  KVM_VCPUEVENT_VALID_SMM;
	s->events.interrupt.injected = 1;
	s->events.interrupt.nr = 0xec;
	s->tsc_khz = 2894562;
	s->ncpuid = 3;
	memcpy(s->cpuid, cpuid, sizeof(cpuid));
	s->nmsrs = sizeof(msrs) / sizeof(msrs[0]);
	for (uint32_t i = 0; i < s->nmsrs; i++) {
		s->msrs[i].index = msrs[i];
		s->msrs[i].data = 0x1000ull * i + 1;
	}
}

static uint8_t *file_of(const struct x86_vcpu_snap *s, const struct x86_vm_snap *vm,
			size_t *len)
{
	static const uint8_t id[SNAP_ID_LEN];
	struct snap_key k = { .nr_vcpus = ID + 1, .mem_size = 4096 };
	struct snap_writer w;
	uint8_t *buf = NULL;

	snap_writer_init(&w, &k, id, "test");
	snap_begin(&w, SNAP_SEC_MEMORY, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_VCPU, 0); snap_end(&w);
	x86_vcpu_snap_write(s, ID, &w);
	x86_vm_snap_write(vm, &w);
	CHECK_EQ(snap_finish(&w, &buf, len), 0);
	return buf;
}

static void vm_sample(struct x86_vm_snap *vm)
{
	memset(vm, 0, sizeof(*vm));
	vm->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	vm->pic_master.chip.pic.irq_base = 0x30;
	vm->pic_master.chip.pic.imr = 0xfb;
	vm->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	vm->pic_slave.chip.pic.irq_base = 0x38;
	vm->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	vm->ioapic.chip.ioapic.base_address = X86_IOAPIC_ADDR;
	vm->ioapic.chip.ioapic.redirtbl[4].bits = 0x10000ull | 0x24;
	vm->pit.channels[0].count = 0x10000;
	vm->pit.channels[0].mode = 3;
	vm->pit.channels[0].rw_mode = 3;
	vm->pit.channels[0].read_state = 3;
	vm->pit.channels[0].write_state = 3;
	vm->pit.channels[0].gate = 1;
	vm->clock.clock = 1234567890;
	vm->clock.flags = KVM_CLOCK_TSC_STABLE;
}

static int read_back(const uint8_t *buf, size_t len, struct x86_vcpu_snap *out,
		     struct x86_vm_snap *vm, const char **why)
{
	struct snap_file f;
	struct snap_section *s;
	int r = snap_parse(&f, buf, len, NULL, NULL, why);

	if (r == 0) {
		s = snap_find(&f, SNAP_SEC_VCPU, ID);
		r = s ? x86_vcpu_snap_read(s, &expect, out, why) : -ENOENT;
	}
	if (r == 0)
		r = x86_vm_snap_read(&f, vm, why);
	snap_file_free(&f);
	return r;
}

TEST(round_trip)
{
	static struct x86_vcpu_snap s, t;
	struct x86_vm_snap vm, vm2;
	const char *why = NULL;
	uint8_t *buf;
	size_t len;

	sample(&s);
	vm_sample(&vm);
	buf = file_of(&s, &vm, &len);
	CHECK_EQ(read_back(buf, len, &t, &vm2, &why), 0);
	CHECK(memcmp(&s.regs, &t.regs, sizeof(s.regs)) == 0);
	CHECK(memcmp(&s.sregs, &t.sregs, sizeof(s.sregs)) == 0);
	CHECK(memcmp(&s.lapic, &t.lapic, sizeof(s.lapic)) == 0);
	CHECK(memcmp(&s.events, &t.events, sizeof(s.events)) == 0);
	CHECK(memcmp(s.xsave, t.xsave, XSAVE_SIZE) == 0);
	CHECK_EQ(t.xsave_size, XSAVE_SIZE);
	CHECK_EQ(t.nmsrs, s.nmsrs);
	CHECK(memcmp(s.msrs, t.msrs, s.nmsrs * sizeof(s.msrs[0])) == 0);
	CHECK_EQ(t.tsc_khz, s.tsc_khz);
	CHECK_EQ(t.mp.mp_state, KVM_MP_STATE_HALTED);
	CHECK(memcmp(&vm, &vm2, sizeof(vm)) == 0);
	free(buf);
}

struct vcase {
	const char *name;
	void (*mutate)(struct x86_vcpu_snap *s, struct x86_vm_snap *vm);
	int err;
	const char *why;
};

#define MUT(n, body) \
	static void n(struct x86_vcpu_snap *s, struct x86_vm_snap *vm) \
	{ (void)s; (void)vm; body; }

MUT(m_mp, s->mp.mp_state = KVM_MP_STATE_STOPPED)
MUT(m_xsave, s->xsave_size = 8192)
MUT(m_xcrs_n, s->xcrs.nr_xcrs = KVM_MAX_XCRS + 1)
MUT(m_xcrs_flags, s->xcrs.flags = 1)
MUT(m_xcrs_pad, s->xcrs.padding[15] = 1)
MUT(m_dregs, s->dregs.flags = 1)
MUT(m_dregs_res, s->dregs.reserved[8] = 1)
MUT(m_apic_id, s->lapic.regs[0x23] = 0)
MUT(m_tsc, s->tsc_khz = 0)
MUT(m_cpuid_n, s->ncpuid = 2)
MUT(m_cpuid_v, s->cpuid[1].ecx ^= 1)
MUT(m_cpuid_idx, s->cpuid[2].index = 1)
MUT(m_msr_unknown, s->msrs[3].index = 0x186)
MUT(m_msr_efer, s->msrs[6].index = 0xc0000080)
MUT(m_msr_order, s->msrs[1].index = 0x10)
MUT(m_msr_reserved, s->msrs[0].reserved = 1)
MUT(m_ev_flags, s->events.flags |= 0x40)
MUT(m_ev_exc, s->events.exception.nr = 32)
MUT(m_ev_exc_inj, s->events.exception.injected = 2)
MUT(m_ev_shadow, s->events.interrupt.shadow = 4)
MUT(m_ev_nmi, s->events.nmi.pad = 1)
MUT(m_ev_smm, s->events.smi.smm = 1)
MUT(m_ev_triple, s->events.triple_fault.pending = 1)
MUT(m_ev_res, s->events.reserved[25] = 1)
MUT(m_pic_id, vm->pic_slave.chip_id = KVM_IRQCHIP_PIC_MASTER)
MUT(m_pic_base, vm->pic_master.chip.pic.irq_base = 0x31)
MUT(m_pic_init, vm->pic_master.chip.pic.init_state = 4)
MUT(m_pic_bool, vm->pic_slave.chip.pic.auto_eoi = 2)
MUT(m_pic_tail, vm->pic_slave.chip.dummy[200] = 1)
MUT(m_ioapic_id, vm->ioapic.chip_id = 1)
MUT(m_ioapic_base, vm->ioapic.chip.ioapic.base_address = 0xfed00000)
MUT(m_ioapic_sel, vm->ioapic.chip.ioapic.ioregsel = 0x100)
MUT(m_ioapic_pad, vm->ioapic.pad = 1)
MUT(m_pit_count, vm->pit.channels[1].count = 0x10001)
MUT(m_pit_mode, vm->pit.channels[2].mode = 8)
MUT(m_pit_state, vm->pit.channels[0].read_state = 5)
MUT(m_pit_flags, vm->pit.flags = 4)
MUT(m_pit_res, vm->pit.reserved[8] = 1)
MUT(m_clock_flags, vm->clock.flags = 1)
MUT(m_clock_pad, vm->clock.pad[3] = 1)

static const struct vcase vcases[] = {
	{ "run state", m_mp, -EBADMSG, "a vCPU run state out of range" },
	{ "XSAVE size", m_xsave, -ESTALE, "made on a CPU with another XSAVE layout" },
	{ "XCR count", m_xcrs_n, -EBADMSG, "XCRs out of range" },
	{ "XCR flags", m_xcrs_flags, -EBADMSG, "XCRs out of range" },
	{ "XCR padding", m_xcrs_pad, -EBADMSG, "XCRs out of range" },
	{ "debugreg flags", m_dregs, -EBADMSG, "debug registers with flags or reserved bits set" },
	{ "debugreg reserved", m_dregs_res, -EBADMSG,
	  "debug registers with flags or reserved bits set" },
	{ "APIC id", m_apic_id, -EBADMSG, "a LAPIC whose id is not its vCPU's" },
	{ "TSC 0", m_tsc, -EBADMSG, "a TSC frequency of 0" },
	{ "CPUID count", m_cpuid_n, -ESTALE, "made on another CPU or KVM (the vCPU's CPUID differs)" },
	{ "CPUID value", m_cpuid_v, -ESTALE, "made on another CPU or KVM (the vCPU's CPUID differs)" },
	{ "CPUID index", m_cpuid_idx, -ESTALE, "made on another CPU or KVM (the vCPU's CPUID differs)" },
	{ "MSR unknown", m_msr_unknown, -EBADMSG, "an MSR a snapshot does not keep" },
	{ "MSR EFER", m_msr_efer, -EBADMSG, "an MSR a snapshot does not keep" },
	{ "MSR order", m_msr_order, -EBADMSG, "MSRs out of order or twice" },
	{ "MSR reserved", m_msr_reserved, -EBADMSG, "an MSR entry with reserved bits set" },
	{ "event flags", m_ev_flags, -EBADMSG, "vCPU events with unknown flags" },
	{ "exception vector", m_ev_exc, -EBADMSG, "a vCPU exception out of range" },
	{ "exception injected", m_ev_exc_inj, -EBADMSG, "a vCPU exception out of range" },
	{ "interrupt shadow", m_ev_shadow, -EBADMSG, "a vCPU interrupt state out of range" },
	{ "NMI pad", m_ev_nmi, -EBADMSG, "a vCPU NMI state out of range" },
	{ "SMM", m_ev_smm, -EBADMSG, "a vCPU in SMM or in a triple fault" },
	{ "triple fault", m_ev_triple, -EBADMSG, "a vCPU in SMM or in a triple fault" },
	{ "events reserved", m_ev_res, -EBADMSG, "vCPU events with reserved bytes set" },
	{ "PIC chip", m_pic_id, -EBADMSG, "a PIC saved as another chip" },
	{ "PIC base", m_pic_base, -EBADMSG, "a PIC state out of range" },
	{ "PIC init", m_pic_init, -EBADMSG, "a PIC state out of range" },
	{ "PIC bool", m_pic_bool, -EBADMSG, "a PIC state out of range" },
	{ "PIC tail", m_pic_tail, -EBADMSG, "a PIC state with bytes past its end" },
	{ "IOAPIC chip", m_ioapic_id, -EBADMSG, "an IOAPIC saved as another chip" },
	{ "IOAPIC address", m_ioapic_base, -EBADMSG, "an IOAPIC at another address" },
	{ "IOAPIC select", m_ioapic_sel, -EBADMSG, "an IOAPIC state out of range" },
	{ "IOAPIC pad", m_ioapic_pad, -EBADMSG, "an IOAPIC saved as another chip" },
	{ "PIT count", m_pit_count, -EBADMSG, "a PIT channel out of range" },
	{ "PIT mode", m_pit_mode, -EBADMSG, "a PIT channel out of range" },
	{ "PIT read state", m_pit_state, -EBADMSG, "a PIT channel out of range" },
	{ "PIT flags", m_pit_flags, -EBADMSG, "PIT flags unknown" },
	{ "PIT reserved", m_pit_res, -EBADMSG, "PIT reserved bytes set" },
	{ "clock flags", m_clock_flags, -EBADMSG, "clock flags unknown or padding set" },
	{ "clock padding", m_clock_pad, -EBADMSG, "clock flags unknown or padding set" },
};

TEST(fields_out_of_range)
{
	static struct x86_vcpu_snap s, t;
	struct x86_vm_snap vm, vm2;

	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++) {
		const char *why = NULL;
		uint8_t *buf;
		size_t len;
		int r;

		sample(&s);
		vm_sample(&vm);
		vcases[i].mutate(&s, &vm);
		buf = file_of(&s, &vm, &len);
		r = read_back(buf, len, &t, &vm2, &why);
		if (r != vcases[i].err || !why || strcmp(why, vcases[i].why)) {
			fprintf(stderr, "case '%s': got %d (%s)\n", vcases[i].name, r,
				why ? why : "-");
			check_failures++;
		}
		free(buf);
	}
}

/* A vCPU section short of a field, or with one more. */
TEST(fields_missing_or_extra)
{
	static struct x86_vcpu_snap s, t;
	static const uint8_t id[SNAP_ID_LEN];
	struct snap_key k = { .nr_vcpus = ID + 1, .mem_size = 4096 };
	struct snap_writer w;
	struct snap_file f;
	struct snap_section *sec;
	const char *why;
	uint8_t *buf;
	size_t len;

	sample(&s);
	snap_writer_init(&w, &k, id, "test");
	snap_begin(&w, SNAP_SEC_MEMORY, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_IRQCHIP, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_PIT, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_CLOCK, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_VCPU, 0);
	snap_field(&w, SNAP_F_VCPU_MP_STATE, &s.mp, sizeof(s.mp));
	snap_field(&w, SNAP_F_VCPU_REGS, &s.regs, sizeof(s.regs));
	snap_end(&w);
	x86_vcpu_snap_write(&s, ID, &w);
	/* x86_vcpu_snap_write closed its section: add a stray one by hand. */
	CHECK_EQ(snap_finish(&w, &buf, &len), 0);
	CHECK_EQ(snap_parse(&f, buf, len, NULL, NULL, &why), 0);
	sec = snap_find(&f, SNAP_SEC_VCPU, 0);
	CHECK_EQ(x86_vcpu_snap_read(sec, &expect, &t, &why), -EBADMSG);
	CHECK_STR(why, "a field is missing");
	/* No irqchip fields at all. */
	{
		struct x86_vm_snap vm;

		CHECK_EQ(x86_vm_snap_read(&f, &vm, &why), -EBADMSG);
		CHECK_STR(why, "a field is missing");
	}
	snap_file_free(&f);
	free(buf);
}

TEST(msr_allowlist)
{
	CHECK(x86_msr_saveable(0x10));		/* TSC */
	CHECK(x86_msr_saveable(0x6e0));		/* TSC deadline */
	CHECK(x86_msr_saveable(0x2ff));		/* MTRR default type */
	CHECK(x86_msr_saveable(0x4b564d00));	/* kvmclock wall clock */
	CHECK(x86_msr_saveable(0x4b564dff));
	CHECK(!x86_msr_saveable(0x4b564e00));
	CHECK(!x86_msr_saveable(0xc0000080));	/* EFER: in sregs */
	CHECK(!x86_msr_saveable(0x186));	/* PMU event select */
	CHECK(!x86_msr_saveable(0x480));	/* VMX capabilities */
	CHECK(!x86_msr_saveable(0x10a));	/* ARCH_CAPABILITIES: a feature MSR */
	CHECK(!x86_msr_saveable(0));
	CHECK(!x86_msr_saveable(0xffffffff));
}

CHECK_MAIN(TEST_ENTRY(round_trip), TEST_ENTRY(fields_out_of_range),
	   TEST_ENTRY(fields_missing_or_extra), TEST_ENTRY(msr_allowlist))
