/* Building the boot-time state of an x86-64 guest in its memory: e820 map,
 * MP table, page tables, GDT, command line, initrd, and either the Linux
 * zero page (64-bit boot protocol) or the PVH start_info. */
#ifndef AIRLOCK_VMM_X86_BOOT_H
#define AIRLOCK_VMM_X86_BOOT_H

#include <asm/bootparam.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/arch/x86/loader.h"
#include "vmm/mem.h"

enum x86_boot_mode {
	X86_BOOT_AUTO,		/* PVH when the image has the note, else 64-bit */
	X86_BOOT_PVH,
	X86_BOOT_LINUX64,
};

#define X86_MAX_VCPUS 64	/* the guest kernel's NR_CPUS; APIC ids < 255 */

struct x86_boot_cfg {
	uint64_t mem_size;
	unsigned int nr_vcpus;
	const char *cmdline;
	const uint8_t *initrd;	/* NULL: the caller loads it at out->initrd_addr */
	size_t initrd_size;
	enum x86_boot_mode mode;
};

/* How vCPU 0 starts. */
struct x86_boot_entry {
	enum x86_boot_mode mode;	/* PVH or LINUX64, never AUTO */
	uint64_t rip;
	uint64_t arg;		/* LINUX64: %rsi = zero page; PVH: %ebx = start_info */
	uint64_t initrd_addr;
};

/* Guest-physical RAM regions for mem_size bytes: below the 3 GiB MMIO gap,
 * then from 4 GiB. Fills gpa/size of up to 2 entries, returns the count. */
unsigned int x86_ram_regions(uint64_t mem_size, uint64_t gpa[2],
			     uint64_t size[2]);

/* The e820 map for mem_size bytes. Returns the number of entries. */
unsigned int x86_e820(uint64_t mem_size, struct boot_e820_entry *e,
		      unsigned int max);

/* Least memory in which this kernel and initrd fit with room to run. */
uint64_t x86_min_mem(const struct x86_kernel *k, size_t initrd_size);

/* Write the MP table (how a kernel without ACPI finds its CPUs). */
int x86_mptable_write(const struct guest_mem *gm, unsigned int nr_vcpus);

/* Write the boot state and decide the entry and the initrd's address.
 * Loads the kernel from img unless img is NULL (then the caller does, e.g.
 * with x86_kernel_load_fd), and the initrd likewise. -EINVAL, -ENOMEM or
 * -E2BIG with *why on bad input. */
int x86_boot_setup(const struct guest_mem *gm, const struct x86_kernel *k,
		   const uint8_t *img, size_t img_size,
		   const struct x86_boot_cfg *cfg, struct x86_boot_entry *out,
		   const char **why);

#endif
