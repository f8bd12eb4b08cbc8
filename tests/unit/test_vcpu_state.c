/* vmm/arch/x86/regs: the one-line vCPU state printed when a VM triple-faults
 * or is stopped with -v, and recognising the reset state KVM leaves behind
 * on AMD after a triple fault. */
#include "vmm/arch/x86/regs.h"
#include "tests/unit/check.h"

static struct x86_vcpu_state running(void)
{
	struct x86_vcpu_state s;

	memset(&s, 0, sizeof(s));
	s.valid = true;
	s.regs.rip = 0xffffffff812acae1ull;
	s.regs.rsp = 0xffff8880024a3bd0ull;
	s.regs.rflags = 0x2;
	s.sregs.cs.selector = 0x10;
	s.sregs.cr0 = 0x80050033;
	s.sregs.cr2 = 0xffff888002000000ull;
	s.sregs.cr3 = 0x1c0a000;
	s.sregs.cr4 = 0x6b0;
	s.sregs.efer = 0xd01;
	s.mp.mp_state = KVM_MP_STATE_RUNNABLE;
	return s;
}

TEST(format_registers)
{
	struct x86_vcpu_state s = running();
	char line[384];

	x86_vcpu_state_format(&s, line, sizeof(line));
	CHECK_STR(line, "rip=0xffffffff812acae1 rsp=0xffff8880024a3bd0 rflags=0x2 cs=0x10 "
			"cr0=0x80050033 cr2=0xffff888002000000 cr3=0x1c0a000 cr4=0x6b0 "
			"efer=0xd01 runnable");
}

TEST(format_events)
{
	struct x86_vcpu_state s = running();
	char line[384];

	s.mp.mp_state = KVM_MP_STATE_HALTED;
	s.events.exception.injected = 1;
	s.events.exception.nr = 14;
	s.events.exception.has_error_code = 1;
	s.events.exception.error_code = 0x10;
	s.events.interrupt.injected = 1;
	s.events.interrupt.nr = 0xfb;
	s.events.nmi.masked = 1;
	x86_vcpu_state_format(&s, line, sizeof(line));
	CHECK(strstr(line, " halted exception=14(injected) error_code=0x10 "
			   "interrupt=251 nmi=masked") != NULL);

	s.events.exception.injected = 0;
	s.events.exception.pending = 1;
	s.events.exception.has_error_code = 0;
	x86_vcpu_state_format(&s, line, sizeof(line));
	CHECK(strstr(line, " exception=14(pending) interrupt=251") != NULL);
}

TEST(format_truncates_safely)
{
	struct x86_vcpu_state s = running();
	char line[24];

	s.events.exception.injected = 1;
	memset(line, 'x', sizeof(line));
	x86_vcpu_state_format(&s, line, sizeof(line));
	CHECK_EQ(strlen(line), sizeof(line) - 1);
	CHECK(strncmp(line, "rip=0xffffffff812acae1", 22) == 0);
	x86_vcpu_state_format(&s, line, 1);
	CHECK_EQ(line[0], '\0');
	s.valid = false;
	x86_vcpu_state_format(&s, line, sizeof(line));
	CHECK_STR(line, "state unavailable");
}

TEST(reset_state)
{
	struct x86_vcpu_state s = running();

	CHECK(!x86_vcpu_state_is_reset(&s));
	/* What KVM's AMD shutdown intercept leaves: INIT state, CD/NW kept. */
	s.regs.rip = 0xfff0;
	s.sregs.cs.selector = 0xf000;
	s.sregs.cs.base = 0xffff0000;
	s.sregs.cr0 = 0x10;
	CHECK(x86_vcpu_state_is_reset(&s));
	s.sregs.cr0 = 0x60000010;
	CHECK(x86_vcpu_state_is_reset(&s));
	s.sregs.cr0 = 0x11;		/* protected mode: not a reset */
	CHECK(!x86_vcpu_state_is_reset(&s));
	s.sregs.cr0 = 0x10;
	s.valid = false;
	CHECK(!x86_vcpu_state_is_reset(&s));
}

CHECK_MAIN(TEST_ENTRY(format_registers), TEST_ENTRY(format_events),
	   TEST_ENTRY(format_truncates_safely), TEST_ENTRY(reset_state))
