/* The boot GDT: descriptors packed the way the CPU wants them, and the same
 * values unpacked into struct kvm_segment for KVM_SET_SREGS. Flags use the
 * descriptor layout: G DB L AVL in bits 15..12, P DPL S TYPE in bits 7..0. */
#ifndef AIRLOCK_VMM_X86_GDT_H
#define AIRLOCK_VMM_X86_GDT_H

#include <linux/kvm.h>
#include <stdint.h>

#define GDT_CODE32	0xc09b	/* 4 GiB, 32-bit, present, execute/read */
#define GDT_CODE64	0xa09b	/* long mode, present, execute/read */
#define GDT_DATA	0xc093	/* 4 GiB, present, read/write */
#define GDT_TSS		0x808b	/* present, busy 32-bit TSS */

static inline uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0xf0000u) << 32) |
	       ((uint64_t)(base & 0x00ffffffu) << 16) | (limit & 0xffffu);
}

static inline struct kvm_segment gdt_segment(uint16_t sel, uint16_t flags,
					     uint32_t base, uint32_t limit)
{
	int g = (flags >> 15) & 1;

	return (struct kvm_segment){
		.base = base,
		.limit = g ? (limit << 12) | 0xfff : limit,
		.selector = sel,
		.type = flags & 0xf,
		.present = (flags >> 7) & 1,
		.dpl = (flags >> 5) & 3,
		.db = (flags >> 14) & 1,
		.s = (flags >> 4) & 1,
		.l = (flags >> 13) & 1,
		.g = (uint8_t)g,
	};
}

#endif
