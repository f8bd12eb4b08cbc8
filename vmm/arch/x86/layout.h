/* Where things go in x86-64 guest-physical memory. Low addresses follow the
 * PC conventions the Linux boot protocols expect; 3 GiB..4 GiB is left for
 * MMIO (virtio-mmio devices, IOAPIC, LAPIC). */
#ifndef AIRLOCK_VMM_X86_LAYOUT_H
#define AIRLOCK_VMM_X86_LAYOUT_H

#define X86_GDT_ADDR		0x500ull
#define X86_IDT_ADDR		0x540ull
#define X86_PVH_INFO_ADDR	0x6000ull	/* hvm_start_info + modlist */
#define X86_PVH_MEMMAP_ADDR	0x6100ull	/* hvm_memmap_table_entry[] */
#define X86_ZERO_PAGE_ADDR	0x7000ull	/* struct boot_params */
#define X86_BOOT_STACK		0x8ff0ull
#define X86_PML4_ADDR		0x9000ull
#define X86_PDPT_ADDR		0xa000ull
#define X86_PD_ADDR		0xb000ull	/* 4 pages: 4 GiB of 2 MiB pages */
#define X86_CMDLINE_ADDR	0x20000ull
#define X86_CMDLINE_MAX		2048u		/* COMMAND_LINE_SIZE on x86 */
#define X86_EBDA_ADDR		0x9fc00ull	/* MP table lives here */
#define X86_LOW_RAM_END		0x9fc00ull
#define X86_HIMEM_START		0x100000ull	/* 1 MiB */
#define X86_BZIMAGE_LOAD	0x100000ull	/* protected-mode code of a bzImage */
#define X86_MMIO_GAP_START	0xc0000000ull	/* 3 GiB */
#define X86_MMIO_GAP_END	0x100000000ull	/* 4 GiB */
#define X86_IOAPIC_ADDR		0xfec00000ull
#define X86_LAPIC_ADDR		0xfee00000ull
#define X86_TSS_ADDR		0xfffbd000ull	/* KVM_SET_TSS_ADDR: 3 pages */
#define X86_IDENTITY_MAP_ADDR	0xfffbc000ull	/* KVM_SET_IDENTITY_MAP_ADDR */

/* Selectors of our boot GDT. The 64-bit boot protocol requires __BOOT_CS
 * 0x10 and __BOOT_DS 0x18; PVH enters in 32-bit mode through 0x08. */
#define X86_SEL_CODE32		0x08
#define X86_SEL_CODE64		0x10
#define X86_SEL_DATA		0x18
#define X86_SEL_TSS		0x20

#endif
