/* A vCPU's state in a snapshot: see vcpu_save.h.
 *
 * Saving, on the vCPU's own thread once it is out of KVM_RUN for good:
 *   MP state first: KVM_GET_MP_STATE lets the LAPIC accept pending INIT/SIPI
 *   events, which changes the state the later calls read; then registers,
 *   special registers, XSAVE, XCRs, debug registers, LAPIC, TSC frequency,
 *   CPUID, MSRs, and events last, since the other reads can still move an
 *   interrupt or exception between KVM's internal places.
 *
 * Restoring, into a fresh vCPU whose CPUID is already set (KVM derives the
 * XSAVE layout, valid XCR0 bits and the MSRs it accepts from CPUID):
 *   TSC frequency (before anything that reads the TSC), MP state, registers
 *   (KVM_SET_REGS drops any pending exception, which the events put back),
 *   special registers (they carry the APIC base, so before the LAPIC),
 *   XSAVE, XCRs, debug registers, LAPIC (before the MSRs: the TSC deadline
 *   MSR only takes in TSC-deadline mode), MSRs, events; then
 *   KVM_KVMCLOCK_CTRL tells the guest it was paused, so its soft-lockup
 *   watchdog does not take the pause for a hang. */
#include "vmm/arch/x86/vcpu_save.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define APIC_ID_REG 0x20
#define IOCTL(fd, req, arg, name) \
	do { if (ioctl((fd), (req), (arg)) < 0) { *what = (name); return -errno; } } while (0)

/* The MSRs a snapshot keeps. Everything else KVM lists is either already in
 * another structure (EFER in sregs), a constant of this host that a new vCPU
 * gets anyway (feature and capability MSRs), or hardware we do not offer
 * (PMU counters, machine check banks, VMX/SVM for nested guests). */
static const struct { uint32_t base, n; const char *why; } saveable[] = {
	{ 0x10, 1, "IA32_TSC: the guest's time stamp counter" },
	{ 0x11, 2, "KVM's old kvmclock MSRs (wall clock, system time)" },
	{ 0x1b, 1, "IA32_APIC_BASE (also in sregs; the same value twice is harmless)" },
	{ 0x3a, 1, "IA32_FEATURE_CONTROL, as the guest locked it" },
	{ 0x3b, 1, "IA32_TSC_ADJUST" },
	{ 0x48, 1, "IA32_SPEC_CTRL: speculation controls the guest kernel chose" },
	{ 0x140, 1, "MISC_FEATURES_ENABLES: CPUID faulting" },
	{ 0x174, 3, "SYSENTER_CS/ESP/EIP: 32-bit system call entry" },
	{ 0x1a0, 1, "IA32_MISC_ENABLE" },
	{ 0x200, 0x100, "MTRRs and PAT (0x277): the guest's memory types" },
	{ 0x6e0, 1, "IA32_TSC_DEADLINE: the LAPIC timer's next expiry" },
	{ 0xda0, 1, "IA32_XSS: supervisor XSAVE components the kernel enabled" },
	{ 0xc0000081, 4, "STAR, LSTAR, CSTAR, SFMASK: 64-bit system call entry" },
	{ 0xc0000100, 3, "FS_BASE, GS_BASE, KERNEL_GS_BASE (swapgs)" },
	{ 0xc0000103, 1, "TSC_AUX: what RDTSCP and RDPID return (the CPU number)" },
	{ 0xc0010015, 1, "AMD HWCR" },
	{ 0xc001011f, 1, "AMD VIRT_SPEC_CTRL: speculation controls" },
	{ 0x4b564d00, 0x100, "KVM paravirtual MSRs: kvmclock, steal time, async page "
			     "faults, PV EOI, poll control" },
};

bool x86_msr_saveable(uint32_t index)
{
	for (size_t i = 0; i < sizeof(saveable) / sizeof(saveable[0]); i++)
		if (index >= saveable[i].base && index - saveable[i].base < saveable[i].n)
			return true;
	return false;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int x86_msr_list_get(int kvm_fd, struct x86_msr_list *l)
{
	struct kvm_msr_list *kl;
	uint32_t n = 256;

	memset(l, 0, sizeof(*l));
	/* KVM says how many it has by failing with E2BIG and setting nmsrs. */
	for (;;) {
		kl = calloc(1, sizeof(*kl) + n * sizeof(kl->indices[0]));
		if (!kl)
			return -ENOMEM;
		kl->nmsrs = n;
		if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, kl) == 0)
			break;
		free(kl);
		if (errno != E2BIG || n >= 16384)
			return -errno;
		n *= 4;
	}
	for (uint32_t i = 0; i < kl->nmsrs && i < n; i++) {
		uint32_t idx = kl->indices[i];
		bool dup = false;

		if (!x86_msr_saveable(idx))
			continue;
		for (uint32_t j = 0; j < l->n; j++)
			dup |= l->index[j] == idx;
		if (dup)
			continue;
		if (l->n >= X86_SNAP_MAX_MSRS) {
			free(kl);
			return -E2BIG;
		}
		l->index[l->n++] = idx;
	}
	free(kl);
	/* Sorted: the loader can then refuse duplicates in one pass. */
	qsort(l->index, l->n, sizeof(l->index[0]), cmp_u32);
	return 0;
}

size_t x86_xsave_size(int vm_fd)
{
	int n = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

	return n > (int)sizeof(struct kvm_xsave) ? (size_t)n : sizeof(struct kvm_xsave);
}

/* KVM_GET_MSRS stops at the first MSR it cannot read and says how many it
 * did: keep those, skip the one that failed, go on after it. */
static int get_msrs(int fd, const struct x86_msr_list *l, struct x86_vcpu_snap *s)
{
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) +
			    X86_SNAP_MAX_MSRS * sizeof(struct kvm_msr_entry)];
	} m;
	uint32_t next = 0;

	s->nmsrs = 0;
	while (next < l->n) {
		int r;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = l->n - next;
		for (uint32_t i = 0; i < m.hdr.nmsrs; i++)
			m.hdr.entries[i].index = l->index[next + i];
		r = ioctl(fd, KVM_GET_MSRS, &m);
		if (r < 0)
			return -errno;
		for (int i = 0; i < r; i++)
			s->msrs[s->nmsrs++] = m.hdr.entries[i];
		next += (uint32_t)r + 1;	/* past the one KVM refused */
	}
	return 0;
}

_Static_assert(offsetof(struct x86_vcpu_snap, cpuid) -
	       offsetof(struct x86_vcpu_snap, ncpuid) ==
	       offsetof(struct kvm_cpuid2, entries), "ncpuid..cpuid as struct kvm_cpuid2");

static int get_cpuid(int fd, struct x86_vcpu_snap *s)
{
	s->ncpuid = X86_SNAP_MAX_CPUID;
	s->cpuid_padding = 0;
	if (ioctl(fd, KVM_GET_CPUID2, (struct kvm_cpuid2 *)&s->ncpuid) < 0) {
		s->ncpuid = 0;
		return -errno;
	}
	return 0;
}

int x86_vcpu_save(int vcpu_fd, const struct x86_msr_list *l, size_t xsave_size,
		  struct x86_vcpu_snap *s, const char **what)
{
	int r;

	memset(s, 0, offsetof(struct x86_vcpu_snap, xsave));
	if (xsave_size < sizeof(struct kvm_xsave) || xsave_size > sizeof(s->xsave)) {
		*what = "XSAVE size";
		return -E2BIG;
	}
	IOCTL(vcpu_fd, KVM_GET_MP_STATE, &s->mp, "KVM_GET_MP_STATE");
	IOCTL(vcpu_fd, KVM_GET_REGS, &s->regs, "KVM_GET_REGS");
	IOCTL(vcpu_fd, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS");
	s->xsave_size = xsave_size;
	memset(s->xsave, 0, sizeof(s->xsave));
	if (xsave_size > sizeof(struct kvm_xsave))
		IOCTL(vcpu_fd, KVM_GET_XSAVE2, s->xsave, "KVM_GET_XSAVE2");
	else
		IOCTL(vcpu_fd, KVM_GET_XSAVE, s->xsave, "KVM_GET_XSAVE");
	IOCTL(vcpu_fd, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS");
	IOCTL(vcpu_fd, KVM_GET_DEBUGREGS, &s->dregs, "KVM_GET_DEBUGREGS");
	IOCTL(vcpu_fd, KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC");
	r = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (r <= 0) {
		*what = "KVM_GET_TSC_KHZ";
		return r < 0 ? -errno : -EINVAL;
	}
	s->tsc_khz = (uint32_t)r;
	*what = "KVM_GET_CPUID2";
	if ((r = get_cpuid(vcpu_fd, s)))
		return r;
	*what = "KVM_GET_MSRS";
	if ((r = get_msrs(vcpu_fd, l, s)))
		return r;
	IOCTL(vcpu_fd, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS");
	return 0;
}

static int set_msrs(int fd, const struct x86_vcpu_snap *s)
{
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) +
			    X86_SNAP_MAX_MSRS * sizeof(struct kvm_msr_entry)];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = s->nmsrs;
	memcpy(m.hdr.entries, s->msrs, s->nmsrs * sizeof(s->msrs[0]));
	r = ioctl(fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return -errno;
	/* r is how many were set before KVM refused one: all or nothing. */
	return (uint32_t)r == s->nmsrs ? 0 : -EINVAL;
}

/* CPUID leaf 0's vendor: "AuthenticAMD" (or Hygon's AMD-built parts). */
static bool amd(const struct x86_vcpu_snap *s)
{
	for (uint32_t i = 0; i < s->ncpuid; i++)
		if (s->cpuid[i].function == 0)
			return (s->cpuid[i].ebx == 0x68747541 && s->cpuid[i].edx == 0x69746e65) ||
			       (s->cpuid[i].ebx == 0x6f677948 && s->cpuid[i].edx == 0x6e65476e);
	return false;
}

int x86_vcpu_restore(int vcpu_fd, const struct x86_vcpu_snap *s, const char **what)
{
	int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
	struct kvm_sregs sregs = s->sregs;
	int r;

	/* On AMD the VMCB holds TR as the CPU left it, a 64-bit TSS without
	 * the busy bit; KVM_GET_SREGS adds the bit (VMX requires it) and
	 * KVM_SET_SREGS writes back what it is given. Give back what the CPU
	 * had: an emulated SVM (QEMU TCG, as in our test host) refuses every
	 * port access through a TSS marked busy, and real parts ignore it. */
	if (amd(s) && sregs.tr.type == 11)
		sregs.tr.type = 9;

	/* The guest calibrated against the saved frequency; a host whose TSC
	 * runs at another one must scale (if KVM can), or the guest's sense
	 * of time would be off by the ratio. */
	if (khz > 0 && (uint32_t)khz != s->tsc_khz)
		IOCTL(vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)s->tsc_khz, "KVM_SET_TSC_KHZ");
	IOCTL(vcpu_fd, KVM_SET_MP_STATE, &s->mp, "KVM_SET_MP_STATE");
	IOCTL(vcpu_fd, KVM_SET_REGS, &s->regs, "KVM_SET_REGS");
	IOCTL(vcpu_fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	IOCTL(vcpu_fd, KVM_SET_XSAVE, s->xsave, "KVM_SET_XSAVE");
	/* A host without XSAVE reports no XCRs, and refuses to set any. */
	if (s->xcrs.nr_xcrs)
		IOCTL(vcpu_fd, KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS");
	IOCTL(vcpu_fd, KVM_SET_DEBUGREGS, &s->dregs, "KVM_SET_DEBUGREGS");
	IOCTL(vcpu_fd, KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC");
	*what = "KVM_SET_MSRS";
	if ((r = set_msrs(vcpu_fd, s)))
		return r;
	IOCTL(vcpu_fd, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS");
	/* EINVAL when the guest never enabled kvmclock: nothing to tell. */
	if (ioctl(vcpu_fd, KVM_KVMCLOCK_CTRL, 0) < 0) {
		/* not fatal */
	}
	return 0;
}

void x86_vcpu_snap_write(const struct x86_vcpu_snap *s, uint32_t id,
			 struct snap_writer *w)
{
	snap_begin(w, SNAP_SEC_VCPU, id);
	snap_field(w, SNAP_F_VCPU_MP_STATE, &s->mp, sizeof(s->mp));
	snap_field(w, SNAP_F_VCPU_REGS, &s->regs, sizeof(s->regs));
	snap_field(w, SNAP_F_VCPU_SREGS, &s->sregs, sizeof(s->sregs));
	snap_field(w, SNAP_F_VCPU_XSAVE, s->xsave, s->xsave_size);
	snap_field(w, SNAP_F_VCPU_XCRS, &s->xcrs, sizeof(s->xcrs));
	snap_field(w, SNAP_F_VCPU_DEBUGREGS, &s->dregs, sizeof(s->dregs));
	snap_field(w, SNAP_F_VCPU_LAPIC, &s->lapic, sizeof(s->lapic));
	snap_field(w, SNAP_F_VCPU_TSC_KHZ, &s->tsc_khz, sizeof(s->tsc_khz));
	snap_field(w, SNAP_F_VCPU_CPUID, s->cpuid, s->ncpuid * sizeof(s->cpuid[0]));
	snap_field(w, SNAP_F_VCPU_MSRS, s->msrs, s->nmsrs * sizeof(s->msrs[0]));
	snap_field(w, SNAP_F_VCPU_EVENTS, &s->events, sizeof(s->events));
	snap_end(w);
}

#define BAD(msg) do { *why = (msg); return -EBADMSG; } while (0)
#define GET(tag, x) do { if ((r = snap_get(sec, (tag), &(x), sizeof(x), why))) return r; } while (0)

static int check_events(const struct kvm_vcpu_events *e, const char **why)
{
	const uint32_t known = KVM_VCPUEVENT_VALID_NMI_PENDING |
			       KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW |
			       KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD |
			       KVM_VCPUEVENT_VALID_TRIPLE_FAULT;

	if (e->flags & ~known)
		BAD("vCPU events with unknown flags");
	if (e->exception.nr >= 32 || e->exception.injected > 1 || e->exception.pending > 1 ||
	    e->exception.has_error_code > 1 || e->exception_has_payload > 1)
		BAD("a vCPU exception out of range");
	if (e->interrupt.injected > 1 || e->interrupt.soft > 1 ||
	    (e->interrupt.shadow & ~(KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI)))
		BAD("a vCPU interrupt state out of range");
	if (e->nmi.injected > 1 || e->nmi.pending > 1 || e->nmi.masked > 1 || e->nmi.pad)
		BAD("a vCPU NMI state out of range");
	/* No SMM here, and a vCPU that was about to shut down is no state
	 * to start sandboxes from. */
	if (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi || e->smi.latched_init ||
	    e->triple_fault.pending)
		BAD("a vCPU in SMM or in a triple fault");
	if (!snap_zero(e->reserved, sizeof(e->reserved)))
		BAD("vCPU events with reserved bytes set");
	return 0;
}

int x86_vcpu_snap_read(struct snap_section *sec, const struct x86_vcpu_expect *e,
		       struct x86_vcpu_snap *s, const char **why)
{
	const uint8_t *p;
	size_t n;
	uint32_t apic_id;
	int r;

	memset(s, 0, offsetof(struct x86_vcpu_snap, xsave));
	GET(SNAP_F_VCPU_MP_STATE, s->mp);
	/* x86 uses these five; the rest are other architectures' or SEV's. */
	if (s->mp.mp_state > KVM_MP_STATE_SIPI_RECEIVED)
		BAD("a vCPU run state out of range");
	GET(SNAP_F_VCPU_REGS, s->regs);
	GET(SNAP_F_VCPU_SREGS, s->sregs);

	if ((r = snap_get_var(sec, SNAP_F_VCPU_XSAVE, &p, &n, 1, sizeof(s->xsave), why)))
		return r;
	if (n != e->xsave_size) {
		*why = "made on a CPU with another XSAVE layout";
		return -ESTALE;
	}
	memset(s->xsave, 0, sizeof(s->xsave));
	memcpy(s->xsave, p, n);
	s->xsave_size = n;

	GET(SNAP_F_VCPU_XCRS, s->xcrs);
	if (s->xcrs.nr_xcrs > KVM_MAX_XCRS || s->xcrs.flags ||
	    !snap_zero(s->xcrs.padding, sizeof(s->xcrs.padding)))
		BAD("XCRs out of range");
	GET(SNAP_F_VCPU_DEBUGREGS, s->dregs);
	if (s->dregs.flags || !snap_zero(s->dregs.reserved, sizeof(s->dregs.reserved)))
		BAD("debug registers with flags or reserved bits set");
	GET(SNAP_F_VCPU_LAPIC, s->lapic);
	/* Our APIC ids are the vCPU indices (the MP table says so). */
	memcpy(&apic_id, s->lapic.regs + APIC_ID_REG, sizeof(apic_id));
	if (apic_id >> 24 != e->id)
		BAD("a LAPIC whose id is not its vCPU's");
	GET(SNAP_F_VCPU_TSC_KHZ, s->tsc_khz);
	if (s->tsc_khz == 0)
		BAD("a TSC frequency of 0");

	if ((r = snap_get_var(sec, SNAP_F_VCPU_CPUID, &p, &n, sizeof(s->cpuid[0]),
			      sizeof(s->cpuid), why)))
		return r;
	s->ncpuid = (uint32_t)(n / sizeof(s->cpuid[0]));
	memcpy(s->cpuid, p, n);
	if (s->ncpuid != e->ncpuid)
		goto other_cpu;
	for (uint32_t i = 0; i < s->ncpuid; i++) {
		const struct kvm_cpuid_entry2 *a = &s->cpuid[i], *b = &e->cpuid[i];

		if (a->function != b->function || a->index != b->index ||
		    a->flags != b->flags || a->eax != b->eax || a->ebx != b->ebx ||
		    a->ecx != b->ecx || a->edx != b->edx)
			goto other_cpu;
	}

	if ((r = snap_get_var(sec, SNAP_F_VCPU_MSRS, &p, &n, sizeof(s->msrs[0]),
			      sizeof(s->msrs), why)))
		return r;
	s->nmsrs = (uint32_t)(n / sizeof(s->msrs[0]));
	memcpy(s->msrs, p, n);
	for (uint32_t i = 0; i < s->nmsrs; i++) {
		if (!x86_msr_saveable(s->msrs[i].index))
			BAD("an MSR a snapshot does not keep");
		if (i && s->msrs[i].index <= s->msrs[i - 1].index)
			BAD("MSRs out of order or twice");
		if (s->msrs[i].reserved)
			BAD("an MSR entry with reserved bits set");
	}

	GET(SNAP_F_VCPU_EVENTS, s->events);
	if ((r = check_events(&s->events, why)))
		return r;
	return snap_section_done(sec, why);

other_cpu:
	*why = "made on another CPU or KVM (the vCPU's CPUID differs)";
	return -ESTALE;
}
