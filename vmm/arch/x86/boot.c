/* x86-64 boot-time guest state: see boot.h. Everything is written through
 * the checked guest-memory helper, so a layout mistake is an error, not a
 * write past guest RAM. */
#include "vmm/arch/x86/boot.h"
#include "vmm/arch/x86/gdt.h"
#include "vmm/arch/x86/layout.h"

#include <asm/e820.h>
#include <errno.h>
#include <string.h>

#define PAGE_SIZE 4096ull
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

/* Beyond the kernel image and initrd, the kernel needs memory to unpack the
 * initramfs and run at all: a 16 MiB guest would only reach an OOM panic. */
#define X86_RUN_HEADROOM (16ull << 20)

/* xen/include/public/arch-x86/hvm/start_info.h, version 1. */
#define HVM_START_MAGIC 0x336ec578u
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define X86_PVH_MODLIST_ADDR (X86_PVH_INFO_ADDR + 64)

unsigned int x86_ram_regions(uint64_t mem_size, uint64_t gpa[2],
			     uint64_t size[2])
{
	gpa[0] = 0;
	size[0] = mem_size < X86_MMIO_GAP_START ? mem_size : X86_MMIO_GAP_START;
	if (mem_size <= X86_MMIO_GAP_START)
		return 1;
	gpa[1] = X86_MMIO_GAP_END;
	size[1] = mem_size - X86_MMIO_GAP_START;
	return 2;
}

unsigned int x86_e820(uint64_t mem_size, struct boot_e820_entry *e,
		      unsigned int max)
{
	uint64_t gpa[2], size[2];
	unsigned int n = 0, nr = x86_ram_regions(mem_size, gpa, size);

	if (max < 4 || mem_size <= X86_HIMEM_START)
		return 0;
	e[n++] = (struct boot_e820_entry){ 0, X86_LOW_RAM_END, E820_RAM };
	/* EBDA (our MP table), VGA hole and BIOS area: never RAM to Linux. */
	e[n++] = (struct boot_e820_entry){ X86_EBDA_ADDR,
					   X86_HIMEM_START - X86_EBDA_ADDR,
					   E820_RESERVED };
	e[n++] = (struct boot_e820_entry){ X86_HIMEM_START,
					   size[0] - X86_HIMEM_START, E820_RAM };
	if (nr == 2)
		e[n++] = (struct boot_e820_entry){ gpa[1], size[1], E820_RAM };
	return n;
}

uint64_t x86_min_mem(const struct x86_kernel *k, size_t initrd_size)
{
	return ALIGN_UP(k->load_end, PAGE_SIZE) + ALIGN_UP(initrd_size, PAGE_SIZE) +
	       X86_RUN_HEADROOM;
}

/* Identity map of the first 4 GiB with 2 MiB pages: what the 64-bit boot
 * protocol asks for (kernel, zero page and command line mapped). */
static int write_page_tables(const struct guest_mem *gm)
{
	uint64_t pml4 = X86_PDPT_ADDR | 3, pdpt[4], pd[512];
	int r = gm_write(gm, X86_PML4_ADDR, &pml4, sizeof(pml4));

	for (unsigned int i = 0; i < 4 && !r; i++) {
		pdpt[i] = (X86_PD_ADDR + i * PAGE_SIZE) | 3;
		for (unsigned int j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30 | (uint64_t)j << 21) | 0x83;
		r = gm_write(gm, X86_PD_ADDR + i * PAGE_SIZE, pd, sizeof(pd));
	}
	return r ? r : gm_write(gm, X86_PDPT_ADDR, pdpt, sizeof(pdpt));
}

static int write_gdt(const struct guest_mem *gm)
{
	const uint64_t gdt[] = {
		0,
		gdt_entry(GDT_CODE32, 0, 0xfffff),
		gdt_entry(GDT_CODE64, 0, 0xfffff),
		gdt_entry(GDT_DATA, 0, 0xfffff),
		gdt_entry(GDT_TSS, 0, 0xfffff),
	};
	uint64_t idt = 0;
	int r = gm_write(gm, X86_GDT_ADDR, gdt, sizeof(gdt));

	return r ? r : gm_write(gm, X86_IDT_ADDR, &idt, sizeof(idt));
}

static int write_zero_page(const struct guest_mem *gm,
			   const struct x86_kernel *k,
			   const struct x86_boot_cfg *cfg, uint64_t initrd_addr,
			   size_t cmdline_len)
{
	struct boot_params bp;

	memset(&bp, 0, sizeof(bp));
	if (k->kind == X86_KERNEL_BZIMAGE) {
		memcpy(&bp.hdr, &k->hdr, k->hdr_len);
		bp.hdr.vid_mode = 0xffff;	/* "normal", no video mode switch */
	} else {
		bp.hdr.boot_flag = 0xaa55;
		bp.hdr.header = 0x53726448;	/* "HdrS" */
		bp.hdr.version = 0x020f;
		bp.hdr.kernel_alignment = 0x1000000;
	}
	bp.hdr.type_of_loader = 0xff;		/* undefined loader */
	bp.hdr.loadflags |= LOADED_HIGH;
	bp.hdr.cmd_line_ptr = X86_CMDLINE_ADDR;
	bp.hdr.cmdline_size = (uint32_t)cmdline_len;
	if (cfg->initrd_size) {
		bp.hdr.ramdisk_image = (uint32_t)initrd_addr;
		bp.hdr.ramdisk_size = (uint32_t)cfg->initrd_size;
	}
	bp.e820_entries = (uint8_t)x86_e820(cfg->mem_size, bp.e820_table,
					    E820_MAX_ENTRIES_ZEROPAGE);
	return gm_write(gm, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp));
}

static int write_pvh_info(const struct guest_mem *gm,
			  const struct x86_boot_cfg *cfg, uint64_t initrd_addr)
{
	struct boot_e820_entry e820[8];
	struct hvm_memmap_table_entry map[8];
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = X86_CMDLINE_ADDR,
		.memmap_paddr = X86_PVH_MEMMAP_ADDR,
	};
	unsigned int n = x86_e820(cfg->mem_size, e820, 8);
	int r;

	for (unsigned int i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_table_entry){ e820[i].addr,
							  e820[i].size,
							  e820[i].type, 0 };
	si.memmap_entries = n;
	if (cfg->initrd_size) {
		struct hvm_modlist_entry mod = { initrd_addr, cfg->initrd_size, 0, 0 };

		si.nr_modules = 1;
		si.modlist_paddr = X86_PVH_MODLIST_ADDR;
		r = gm_write(gm, X86_PVH_MODLIST_ADDR, &mod, sizeof(mod));
		if (r)
			return r;
	}
	r = gm_write(gm, X86_PVH_MEMMAP_ADDR, map, n * sizeof(map[0]));
	return r ? r : gm_write(gm, X86_PVH_INFO_ADDR, &si, sizeof(si));
}

int x86_boot_setup(const struct guest_mem *gm, const struct x86_kernel *k,
		   const uint8_t *img, size_t img_size,
		   const struct x86_boot_cfg *cfg, struct x86_boot_entry *out,
		   const char **why)
{
	uint64_t low_end = cfg->mem_size < X86_MMIO_GAP_START ? cfg->mem_size
							       : X86_MMIO_GAP_START;
	uint64_t initrd_addr = 0, top;
	size_t cmdline_len = strlen(cfg->cmdline);
	enum x86_boot_mode mode = cfg->mode;

	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > X86_MAX_VCPUS) {
		*why = "vCPU count out of range";
		return -EINVAL;
	}
	if (cfg->mem_size < x86_min_mem(k, cfg->initrd_size)) {
		*why = "not enough memory for this kernel and initrd";
		return -ENOMEM;
	}
	if (cmdline_len > k->cmdline_max) {
		*why = "kernel command line too long for this kernel";
		return -E2BIG;
	}
	if (mode == X86_BOOT_AUTO)
		mode = k->pvh_entry ? X86_BOOT_PVH : X86_BOOT_LINUX64;
	if (mode == X86_BOOT_PVH && !k->pvh_entry) {
		*why = "the kernel image has no PVH entry point";
		return -EINVAL;
	}

	if (cfg->initrd_size) {
		top = k->initrd_max + 1 < low_end ? k->initrd_max + 1 : low_end;
		if (top < cfg->initrd_size)
			goto no_room;
		initrd_addr = (top - cfg->initrd_size) & ~(PAGE_SIZE - 1);
		if (initrd_addr < ALIGN_UP(k->load_end, PAGE_SIZE))
			goto no_room;
		if (!gm_ptr(gm, initrd_addr, cfg->initrd_size) ||
		    (cfg->initrd &&
		     gm_write(gm, initrd_addr, cfg->initrd, cfg->initrd_size)))
			goto no_room;
	}
	if (img && x86_kernel_load(gm, img, img_size, k)) {
		*why = "the kernel does not fit in guest memory";
		return -ENOMEM;
	}
	if (gm_write(gm, X86_CMDLINE_ADDR, cfg->cmdline, cmdline_len + 1) ||
	    write_gdt(gm) || write_page_tables(gm) ||
	    x86_mptable_write(gm, cfg->nr_vcpus))
		goto no_room;
	if (mode == X86_BOOT_PVH) {
		if (write_pvh_info(gm, cfg, initrd_addr))
			goto no_room;
		*out = (struct x86_boot_entry){ X86_BOOT_PVH, k->pvh_entry,
						X86_PVH_INFO_ADDR, initrd_addr };
	} else {
		if (write_zero_page(gm, k, cfg, initrd_addr, cmdline_len))
			goto no_room;
		*out = (struct x86_boot_entry){ X86_BOOT_LINUX64, k->entry64,
						X86_ZERO_PAGE_ADDR, initrd_addr };
	}
	return 0;
no_room:
	*why = "not enough memory for this kernel and initrd";
	return -ENOMEM;
}
