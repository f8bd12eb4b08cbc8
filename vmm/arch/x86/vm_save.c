/* VM-wide x86 state in a snapshot: see vm_save.h. KVM checks these
 * structures too when they are put back; the checks here are those that
 * matter to us: the irqchips are the ones we created (IOAPIC where the MP
 * table says), the PIT's channels in the ranges an 8254 has, and no flag
 * or reserved byte we do not know. */
#include "vmm/arch/x86/vm_save.h"
#include "vmm/arch/x86/layout.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define IOCTL(fd, req, arg, name) \
	do { if (ioctl((fd), (req), (arg)) < 0) { *what = (name); return -errno; } } while (0)
#define BAD(msg) do { *why = (msg); return -EBADMSG; } while (0)

int x86_vm_save(int vm_fd, struct x86_vm_snap *s, const char **what)
{
	memset(s, 0, sizeof(*s));
	s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	IOCTL(vm_fd, KVM_GET_IRQCHIP, &s->pic_master, "KVM_GET_IRQCHIP (PIC master)");
	IOCTL(vm_fd, KVM_GET_IRQCHIP, &s->pic_slave, "KVM_GET_IRQCHIP (PIC slave)");
	IOCTL(vm_fd, KVM_GET_IRQCHIP, &s->ioapic, "KVM_GET_IRQCHIP (IOAPIC)");
	IOCTL(vm_fd, KVM_GET_PIT2, &s->pit, "KVM_GET_PIT2");
	IOCTL(vm_fd, KVM_GET_CLOCK, &s->clock, "KVM_GET_CLOCK");
	return 0;
}

int x86_vm_restore(int vm_fd, const struct x86_vm_snap *s, const char **what)
{
	/* The clock as saved, not adjusted by the time since: the guest
	 * resumes where it stopped, and airlock-init sets the wall clock. */
	struct kvm_clock_data clock = { .clock = s->clock.clock };

	IOCTL(vm_fd, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK");
	IOCTL(vm_fd, KVM_SET_PIT2, &s->pit, "KVM_SET_PIT2");
	IOCTL(vm_fd, KVM_SET_IRQCHIP, &s->pic_master, "KVM_SET_IRQCHIP (PIC master)");
	IOCTL(vm_fd, KVM_SET_IRQCHIP, &s->pic_slave, "KVM_SET_IRQCHIP (PIC slave)");
	IOCTL(vm_fd, KVM_SET_IRQCHIP, &s->ioapic, "KVM_SET_IRQCHIP (IOAPIC)");
	return 0;
}

void x86_vm_snap_write(const struct x86_vm_snap *s, struct snap_writer *w)
{
	snap_begin(w, SNAP_SEC_IRQCHIP, 0);
	snap_field(w, SNAP_F_PIC_MASTER, &s->pic_master, sizeof(s->pic_master));
	snap_field(w, SNAP_F_PIC_SLAVE, &s->pic_slave, sizeof(s->pic_slave));
	snap_field(w, SNAP_F_IOAPIC, &s->ioapic, sizeof(s->ioapic));
	snap_end(w);
	snap_begin(w, SNAP_SEC_PIT, 0);
	snap_field(w, SNAP_F_PIT, &s->pit, sizeof(s->pit));
	snap_end(w);
	snap_begin(w, SNAP_SEC_CLOCK, 0);
	snap_field(w, SNAP_F_CLOCK, &s->clock, sizeof(s->clock));
	snap_end(w);
}

static int check_pic(const struct kvm_irqchip *c, uint32_t chip, const char **why)
{
	const struct kvm_pic_state *p = &c->chip.pic;

	if (c->chip_id != chip || c->pad)
		BAD("a PIC saved as another chip");
	/* The 8259's one-bit modes, its init sequence (4 steps), and vector
	 * bases on an 8-vector boundary (ICW2). */
	if (p->read_reg_select > 1 || p->poll > 1 || p->special_mask > 1 ||
	    p->auto_eoi > 1 || p->rotate_on_auto_eoi > 1 ||
	    p->special_fully_nested_mode > 1 || p->init4 > 1 || p->init_state > 3 ||
	    p->priority_add > 7 || p->irq_base & 7)
		BAD("a PIC state out of range");
	if (!snap_zero((const uint8_t *)p + sizeof(*p), sizeof(c->chip) - sizeof(*p)))
		BAD("a PIC state with bytes past its end");
	return 0;
}

static int check_ioapic(const struct kvm_irqchip *c, const char **why)
{
	const struct kvm_ioapic_state *io = &c->chip.ioapic;

	if (c->chip_id != KVM_IRQCHIP_IOAPIC || c->pad)
		BAD("an IOAPIC saved as another chip");
	/* KVM takes the address from here: it must stay where the MP table
	 * told the guest it is. */
	if (io->base_address != X86_IOAPIC_ADDR)
		BAD("an IOAPIC at another address");
	if (io->ioregsel > 0xff || io->pad)
		BAD("an IOAPIC state out of range");
	if (!snap_zero((const uint8_t *)io + sizeof(*io), sizeof(c->chip) - sizeof(*io)))
		BAD("an IOAPIC state with bytes past its end");
	return 0;
}

static int check_pit(const struct kvm_pit_state2 *p, const char **why)
{
	for (int i = 0; i < 3; i++) {
		const struct kvm_pit_channel_state *ch = &p->channels[i];

		/* 16-bit counter (0 counts 65536), modes 0-5 (6 and 7 are
		 * aliases of 2 and 3; KVM marks a channel never programmed
		 * with 0xff), access and latch states of an 8254. */
		if (ch->count > 0x10000 || (ch->mode > 7 && ch->mode != 0xff) || ch->rw_mode > 3 ||
		    ch->read_state > 4 || ch->write_state > 4 || ch->bcd > 1 ||
		    ch->gate > 1 || ch->count_latched > 3 || ch->status_latched > 1)
			BAD("a PIT channel out of range");
	}
	if (p->flags & ~(uint32_t)(KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON))
		BAD("PIT flags unknown");
	if (!snap_zero(p->reserved, sizeof(p->reserved)))
		BAD("PIT reserved bytes set");
	return 0;
}

int x86_vm_snap_read(struct snap_file *f, struct x86_vm_snap *s, const char **why)
{
	struct snap_section *sec;
	int r;

	memset(s, 0, sizeof(*s));
	sec = snap_find(f, SNAP_SEC_IRQCHIP, 0);
	if (!sec)
		BAD("no irqchip section");
	if ((r = snap_get(sec, SNAP_F_PIC_MASTER, &s->pic_master, sizeof(s->pic_master), why)) ||
	    (r = snap_get(sec, SNAP_F_PIC_SLAVE, &s->pic_slave, sizeof(s->pic_slave), why)) ||
	    (r = snap_get(sec, SNAP_F_IOAPIC, &s->ioapic, sizeof(s->ioapic), why)) ||
	    (r = check_pic(&s->pic_master, KVM_IRQCHIP_PIC_MASTER, why)) ||
	    (r = check_pic(&s->pic_slave, KVM_IRQCHIP_PIC_SLAVE, why)) ||
	    (r = check_ioapic(&s->ioapic, why)) ||
	    (r = snap_section_done(sec, why)))
		return r;

	sec = snap_find(f, SNAP_SEC_PIT, 0);
	if (!sec)
		BAD("no PIT section");
	if ((r = snap_get(sec, SNAP_F_PIT, &s->pit, sizeof(s->pit), why)) ||
	    (r = check_pit(&s->pit, why)) || (r = snap_section_done(sec, why)))
		return r;

	sec = snap_find(f, SNAP_SEC_CLOCK, 0);
	if (!sec)
		BAD("no clock section");
	if ((r = snap_get(sec, SNAP_F_CLOCK, &s->clock, sizeof(s->clock), why)))
		return r;
	if (s->clock.flags & ~(uint32_t)(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
					 KVM_CLOCK_HOST_TSC) ||
	    s->clock.pad0 || !snap_zero(s->clock.pad, sizeof(s->clock.pad)))
		BAD("clock flags unknown or padding set");
	return snap_section_done(sec, why);
}
