/* The VM-wide x86 state of a snapshot, held by KVM rather than any vCPU:
 * the in-kernel PICs and IOAPIC, the PIT and the KVM clock. Read from KVM,
 * written as three snapshot sections, read back (every field checked) and
 * put into a new VM before its vCPUs get their state. */
#ifndef AIRLOCK_VMM_X86_VM_SAVE_H
#define AIRLOCK_VMM_X86_VM_SAVE_H

#include <linux/kvm.h>

#include "vmm/snapshot.h"

struct x86_vm_snap {
	struct kvm_irqchip pic_master, pic_slave, ioapic;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* With every vCPU stopped. 0, or -errno with *what naming the call. */
int x86_vm_save(int vm_fd, struct x86_vm_snap *s, const char **what);

/* Into a new VM, before the vCPUs' state (vcpu_save.c): the clock first,
 * so that the kvmclock MSRs the vCPUs get refer to the restored clock. */
int x86_vm_restore(int vm_fd, const struct x86_vm_snap *s, const char **what);

/* Sections SNAP_SEC_IRQCHIP, SNAP_SEC_PIT, SNAP_SEC_CLOCK. */
void x86_vm_snap_write(const struct x86_vm_snap *s, struct snap_writer *w);
/* Reads and checks them. 0, or -EBADMSG with *why. */
int x86_vm_snap_read(struct snap_file *f, struct x86_vm_snap *s, const char **why);

#endif
