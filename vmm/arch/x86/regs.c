/* Per-vCPU power-on state: see regs.h. Values follow what the Linux boot
 * protocols (Documentation/x86/boot.rst, PVH in xen's start_info.h) and
 * the SDM's reset state ask for. */
#include "vmm/arch/x86/regs.h"
#include "vmm/arch/x86/cpuid.h"
#include "vmm/arch/x86/gdt.h"
#include "vmm/arch/x86/layout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102

#define X86_CR0_PE	(1ull << 0)
#define X86_CR0_ET	(1ull << 4)
#define X86_CR0_PG	(1ull << 31)
#define X86_CR4_PAE	(1ull << 5)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)

#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_MODE_NMI	0x4
#define APIC_MODE_EXTINT 0x7

static int set_cpuid(int fd, unsigned int id, unsigned int nr,
		     const struct kvm_cpuid2 *supported, bool tsc_deadline)
{
	size_t sz = sizeof(*supported) +
		    supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	struct cpuid_opts o = { id, nr, tsc_deadline };
	int r;

	if (!c)
		return -ENOMEM;
	memcpy(c, supported, sz);
	cpuid_adjust(c, &o);
	r = ioctl(fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
	free(c);
	return r;
}

static int set_msrs(int fd)
{
	static const struct { uint32_t index; uint64_t data; } init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, 1 },	/* fast strings, as firmware leaves it */
		{ MSR_MTRR_DEF_TYPE, (1u << 11) | 6 },	/* MTRRs on, default write-back */
	};
	enum { N = sizeof(init) / sizeof(init[0]) };
	/* struct kvm_msrs ends in a flexible array: room for N behind it. */
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + N * sizeof(struct kvm_msr_entry)];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = N;
	for (unsigned int i = 0; i < N; i++) {
		m.hdr.entries[i].index = init[i].index;
		m.hdr.entries[i].data = init[i].data;
	}
	r = ioctl(fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return -errno;
	return r == N ? 0 : -EINVAL;	/* r = how many were set before one failed */
}

/* Legacy PIC interrupts reach the CPU through LINT0 (ExtINT), NMI through
 * LINT1, as on a PC after firmware. */
static int set_lint(int fd)
{
	struct kvm_lapic_state la;
	uint32_t v;

	if (ioctl(fd, KVM_GET_LAPIC, &la) < 0)
		return -errno;
	memcpy(&v, la.regs + APIC_LVT0, 4);
	v = (v & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(la.regs + APIC_LVT0, &v, 4);
	memcpy(&v, la.regs + APIC_LVT1, 4);
	v = (v & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(la.regs + APIC_LVT1, &v, 4);
	return ioctl(fd, KVM_SET_LAPIC, &la) < 0 ? -errno : 0;
}

static int set_fpu(int fd)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;	/* FNINIT state */
	fpu.mxcsr = 0x1f80;	/* all SSE exceptions masked */
	return ioctl(fd, KVM_SET_FPU, &fpu) < 0 ? -errno : 0;
}

static int set_boot_regs(int fd, const struct x86_boot_entry *entry)
{
	struct kvm_sregs sr;
	struct kvm_regs regs;
	struct kvm_segment data = gdt_segment(X86_SEL_DATA, GDT_DATA, 0, 0xfffff);
	struct kvm_segment tss = gdt_segment(X86_SEL_TSS, GDT_TSS, 0, 0xfffff);

	if (ioctl(fd, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	sr.gdt.base = X86_GDT_ADDR;
	sr.gdt.limit = 5 * 8 - 1;
	sr.idt.base = X86_IDT_ADDR;
	sr.idt.limit = 0;	/* no IDT: an early fault is a triple fault, visibly */
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss = data;
	sr.tr = tss;
	memset(&regs, 0, sizeof(regs));
	regs.rflags = 2;	/* bit 1 is reserved-one; interrupts off */
	regs.rip = entry->rip;

	if (entry->mode == X86_BOOT_PVH) {
		/* 32-bit protected mode, paging off, flat segments. */
		sr.cs = gdt_segment(X86_SEL_CODE32, GDT_CODE32, 0, 0xfffff);
		sr.cr0 = X86_CR0_PE | X86_CR0_ET;
		sr.cr4 = 0;
		sr.efer = 0;
		regs.rbx = entry->arg;
	} else {
		/* 64-bit mode on the identity map, %rsi = zero page. */
		sr.cs = gdt_segment(X86_SEL_CODE64, GDT_CODE64, 0, 0xfffff);
		sr.cr3 = X86_PML4_ADDR;
		sr.cr4 = X86_CR4_PAE;
		sr.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sr.efer = EFER_LME | EFER_LMA;
		regs.rsi = entry->arg;
		regs.rsp = regs.rbp = X86_BOOT_STACK;
	}
	if (ioctl(fd, KVM_SET_SREGS, &sr) < 0)
		return -errno;
	return ioctl(fd, KVM_SET_REGS, &regs) < 0 ? -errno : 0;
}

int x86_vcpu_init(int vcpu_fd, unsigned int id, unsigned int nr,
		  const struct kvm_cpuid2 *supported, bool tsc_deadline,
		  const struct x86_boot_entry *entry, const char **what)
{
	int r;

	*what = "KVM_SET_CPUID2";
	if ((r = set_cpuid(vcpu_fd, id, nr, supported, tsc_deadline)))
		return r;
	*what = "KVM_SET_MSRS";
	if ((r = set_msrs(vcpu_fd)))
		return r;
	*what = "KVM_SET_LAPIC";
	if ((r = set_lint(vcpu_fd)))
		return r;
	*what = "KVM_SET_FPU";
	if ((r = set_fpu(vcpu_fd)))
		return r;
	if (entry) {
		*what = "KVM_SET_SREGS/KVM_SET_REGS";
		if ((r = set_boot_regs(vcpu_fd, entry)))
			return r;
	}
	return 0;
}

void x86_vcpu_state_get(int vcpu_fd, struct x86_vcpu_state *s)
{
	memset(s, 0, sizeof(*s));
	s->valid = ioctl(vcpu_fd, KVM_GET_REGS, &s->regs) == 0 &&
		   ioctl(vcpu_fd, KVM_GET_SREGS, &s->sregs) == 0 &&
		   ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &s->events) == 0 &&
		   ioctl(vcpu_fd, KVM_GET_MP_STATE, &s->mp) == 0;
}

bool x86_vcpu_state_is_reset(const struct x86_vcpu_state *s)
{
	/* The reset vector, CS 0xf000 based at 0xffff0000, protected mode
	 * off (KVM keeps CD/NW from before an INIT, so CR0 varies). */
	return s->valid && s->regs.rip == 0xfff0 && s->sregs.cs.selector == 0xf000 &&
	       s->sregs.cs.base == 0xffff0000ull && !(s->sregs.cr0 & X86_CR0_PE);
}

static const char *mp_state_name(uint32_t mp)
{
	switch (mp) {
	case KVM_MP_STATE_RUNNABLE:
		return "runnable";
	case KVM_MP_STATE_UNINITIALIZED:
		return "waiting-for-INIT";
	case KVM_MP_STATE_INIT_RECEIVED:
		return "waiting-for-SIPI";
	case KVM_MP_STATE_HALTED:
		return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED:
		return "SIPI-received";
	default:
		return "other";
	}
}

/* snprintf at *n, keeping *n at most len - 1 so later calls stay harmless. */
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int m;

	if (*n + 1 >= len)
		return;
	va_start(ap, fmt);
	m = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (m > 0)
		*n = *n + (size_t)m < len ? *n + (size_t)m : len - 1;
}

void x86_vcpu_state_format(const struct x86_vcpu_state *s, char *buf, size_t len)
{
	const struct kvm_regs *r = &s->regs;
	const struct kvm_sregs *sr = &s->sregs;
	const struct kvm_vcpu_events *e = &s->events;
	size_t n = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (!s->valid) {
		append(buf, len, &n, "state unavailable");
		return;
	}
	append(buf, len, &n,
	       "rip=0x%llx rsp=0x%llx rflags=0x%llx cs=0x%x cr0=0x%llx cr2=0x%llx "
	       "cr3=0x%llx cr4=0x%llx efer=0x%llx %s",
	       (unsigned long long)r->rip, (unsigned long long)r->rsp,
	       (unsigned long long)r->rflags, sr->cs.selector,
	       (unsigned long long)sr->cr0, (unsigned long long)sr->cr2,
	       (unsigned long long)sr->cr3, (unsigned long long)sr->cr4,
	       (unsigned long long)sr->efer, mp_state_name(s->mp.mp_state));
	/* KVM's view of event delivery: an exception or interrupt being
	 * injected, an NMI pending or blocked. */
	if (e->exception.injected || e->exception.pending) {
		append(buf, len, &n, " exception=%u(%s)", e->exception.nr,
		       e->exception.injected ? "injected" : "pending");
		if (e->exception.has_error_code)
			append(buf, len, &n, " error_code=0x%x", e->exception.error_code);
	}
	if (e->interrupt.injected)
		append(buf, len, &n, " interrupt=%u", e->interrupt.nr);
	if (e->nmi.injected)
		append(buf, len, &n, " nmi=injected");
	if (e->nmi.pending)
		append(buf, len, &n, " nmi=pending");
	if (e->nmi.masked)
		append(buf, len, &n, " nmi=masked");
}
