/* vmm/arch/x86/boot + mptable: the memory map, and the boot state written
 * into a fake guest memory (a 128 MiB buffer) for synthetic kernels, read
 * back the way the guest kernel would read it. */
#include "vmm/arch/x86/boot.h"
#include "vmm/arch/x86/gdt.h"
#include "vmm/arch/x86/layout.h"
#include "tests/unit/check.h"

#include <asm/e820.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define RAM_SIZE (128 * MiB)

/* ---- synthetic kernels ------------------------------------------------ */

#define K_PADDR		(16 * MiB)
#define K_FILE		0x100
#define K_MEM		0x2000ull
#define K_OFF		0x200
#define K_ENTRY		(K_PADDR + 0x10)
#define K_PVH		(K_PADDR + 0x40)

struct img {
	_Alignas(8) uint8_t b[0x2000];
	size_t size;
};

/* A vmlinux with one PT_LOAD at 16 MiB (with bss) and, if pvh, a PT_NOTE
 * with the Xen PVH entry note. */
static void build_elf(struct img *im, int pvh)
{
	Elf64_Ehdr *h;
	Elf64_Phdr *ph;
	Elf64_Nhdr nh = { 4, 4, 18 };
	uint32_t entry = (uint32_t)K_PVH;

	memset(im, 0, sizeof(*im));
	h = (Elf64_Ehdr *)im->b;
	ph = (Elf64_Phdr *)(im->b + 0x40);
	im->size = K_OFF + K_FILE;
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_entry = K_ENTRY;
	h->e_phoff = 0x40;
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = pvh ? 2 : 1;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = K_OFF,
			      .p_paddr = K_PADDR, .p_filesz = K_FILE,
			      .p_memsz = K_MEM };
	ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x100,
			      .p_filesz = 20, .p_memsz = 20 };
	memcpy(im->b + 0x100, &nh, sizeof(nh));
	memcpy(im->b + 0x10c, "Xen", 4);
	memcpy(im->b + 0x110, &entry, 4);
	for (unsigned int i = 0; i < K_FILE; i++)
		im->b[K_OFF + i] = (uint8_t)(0x80 | i);
}

#define BZ_SETUP	(5 * 512)
#define BZ_PAYLOAD	0x1000
#define BZ_INIT_SIZE	(16 * MiB)
#define BZ_PREF		(16 * MiB)
#define BZ_INITRD_MAX	(64 * MiB - 1)

static void build_bz(struct img *im)
{
	struct setup_header *h;

	memset(im, 0, sizeof(*im));
	h = (struct setup_header *)(im->b + 0x1f1);
	im->size = BZ_SETUP + BZ_PAYLOAD;
	h->setup_sects = 4;
	h->boot_flag = 0xaa55;
	h->jump = (uint16_t)(0xeb | ((0x1f1 + sizeof(*h) - 0x202) << 8));
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->kernel_alignment = 0x200000;
	h->xloadflags = XLF_KERNEL_64;
	h->cmdline_size = 255;
	h->initrd_addr_max = (uint32_t)BZ_INITRD_MAX;
	h->pref_address = BZ_PREF;
	h->init_size = (uint32_t)BZ_INIT_SIZE;
	for (unsigned int i = 0; i < BZ_PAYLOAD; i++)
		im->b[BZ_SETUP + i] = (uint8_t)(i * 13 + 7);
}

static void parse(const struct img *im, struct x86_kernel *k)
{
	const char *why = NULL;
	int r = x86_kernel_parse(im->b, im->size, k, &why);

	CHECK_EQ(r, 0);
	if (r)
		fprintf(stderr, "parse: %s\n", why);
}

/* ---- fake guest memory ------------------------------------------------ */

struct vm {
	struct guest_mem gm;
	uint8_t *ram;
};

static int vm_init(struct vm *vm, uint64_t size)
{
	memset(vm, 0, sizeof(*vm));
	vm->ram = calloc(1, size);
	CHECK(vm->ram != NULL);
	if (!vm->ram)
		return -1;
	CHECK_EQ(gm_add_region(&vm->gm, 0, size, vm->ram), 0);
	return 0;
}

static void vm_free(struct vm *vm)
{
	free(vm->ram);
}

static uint8_t initrd[10000];

static void fill_initrd(void)
{
	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 31 + 3);
}

static struct x86_boot_cfg cfg_default(void)
{
	fill_initrd();
	return (struct x86_boot_cfg){
		.mem_size = RAM_SIZE,
		.nr_vcpus = 2,
		.cmdline = "console=ttyS0 airlock.cmd=true",
		.initrd = initrd,
		.initrd_size = sizeof(initrd),
		.mode = X86_BOOT_AUTO,
	};
}

static int setup(struct vm *vm, const struct x86_kernel *k,
		 const struct img *im, const struct x86_boot_cfg *cfg,
		 struct x86_boot_entry *out)
{
	const char *why = NULL;
	int r = x86_boot_setup(&vm->gm, k, im->b, im->size, cfg, out, &why);

	CHECK(r == 0 || (why != NULL && *why != '\0'));
	return r;
}

/* ---- the memory map --------------------------------------------------- */

TEST(ram_regions)
{
	uint64_t gpa[2], size[2];

	CHECK_EQ(x86_ram_regions(64 * MiB, gpa, size), 1);
	CHECK_EQ(gpa[0], 0);
	CHECK_EQ(size[0], 64 * MiB);

	CHECK_EQ(x86_ram_regions(3 * GiB, gpa, size), 1);
	CHECK_EQ(gpa[0], 0);
	CHECK_EQ(size[0], 3 * GiB);

	CHECK_EQ(x86_ram_regions(3 * GiB + MiB, gpa, size), 2);
	CHECK_EQ(size[0], 3 * GiB);
	CHECK_EQ(gpa[1], 4 * GiB);
	CHECK_EQ(size[1], MiB);

	CHECK_EQ(x86_ram_regions(8 * GiB, gpa, size), 2);
	CHECK_EQ(gpa[0], 0);
	CHECK_EQ(size[0], 3 * GiB);
	CHECK_EQ(gpa[1], 4 * GiB);
	CHECK_EQ(size[1], 5 * GiB);
}

/* Sorted, non-overlapping, nothing in the MMIO gap; RAM adds up to
 * mem_size less the EBDA/VGA/BIOS hole below 1 MiB. */
static void check_e820(const struct boot_e820_entry *e, unsigned int n,
		       uint64_t mem_size)
{
	uint64_t ram = 0, prev_end = 0;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t end = e[i].addr + e[i].size;

		CHECK(e[i].size > 0);
		CHECK(e[i].addr >= prev_end);
		CHECK(!(e[i].addr < X86_MMIO_GAP_END && end > X86_MMIO_GAP_START));
		prev_end = end;
		if (e[i].type == E820_RAM) {
			ram += e[i].size;
			CHECK(end <= X86_EBDA_ADDR || e[i].addr >= X86_HIMEM_START);
		} else {
			CHECK_EQ(e[i].type, E820_RESERVED);
		}
	}
	CHECK_EQ(ram, mem_size - (X86_HIMEM_START - X86_EBDA_ADDR));
	/* RAM ends where the guest's memory ends. */
	CHECK_EQ(prev_end, mem_size <= X86_MMIO_GAP_START ? mem_size
				: mem_size + (X86_MMIO_GAP_END - X86_MMIO_GAP_START));
}

TEST(e820_maps)
{
	static const uint64_t sizes[] = { 64 * MiB, 3 * GiB, 3 * GiB + MiB, 8 * GiB };
	struct boot_e820_entry e[8];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned int n = x86_e820(sizes[i], e, 8);

		CHECK_EQ(n, sizes[i] > 3 * GiB ? 4 : 3);
		check_e820(e, n, sizes[i]);
		CHECK_EQ(e[0].addr, 0);
		CHECK_EQ(e[0].type, E820_RAM);
		CHECK_EQ(e[1].addr, X86_EBDA_ADDR);
		CHECK_EQ(e[1].type, E820_RESERVED);
		CHECK_EQ(e[2].addr, X86_HIMEM_START);
		CHECK_EQ(e[2].type, E820_RAM);
	}
	CHECK_EQ(x86_e820(8 * GiB, e, 8), 4);
	CHECK_EQ(e[2].addr + e[2].size, 3 * GiB);
	CHECK_EQ(e[3].addr, 4 * GiB);
	CHECK_EQ(e[3].size, 5 * GiB);
	CHECK_EQ(x86_e820(3 * GiB, e, 8), 3);
	CHECK_EQ(e[2].addr + e[2].size, 3 * GiB);
}

TEST(e820_refusals)
{
	struct boot_e820_entry e[8];

	CHECK_EQ(x86_e820(64 * MiB, e, 3), 0);
	CHECK_EQ(x86_e820(MiB, e, 8), 0);
	CHECK_EQ(x86_e820(0, e, 8), 0);
}

TEST(min_mem)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	uint64_t min;

	build_elf(&im, 1);
	parse(&im, &k);
	min = x86_min_mem(&k, sizeof(initrd));
	CHECK(min >= K_PADDR + K_MEM + sizeof(initrd));
	CHECK(min % 4096 == 0);
	/* Room to run beyond the images themselves, not just a fit. */
	CHECK(min >= K_PADDR + K_MEM + sizeof(initrd) + 8 * MiB);
	CHECK(x86_min_mem(&k, 0) < min);
	CHECK(x86_min_mem(&k, 100 * MiB) >= K_PADDR + K_MEM + 100 * MiB);
	k.load_end += 1;
	CHECK(x86_min_mem(&k, sizeof(initrd)) > min);
	k.load_end -= 1;

	if (vm_init(&vm, RAM_SIZE))
		return;
	cfg.mem_size = min;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK(out.initrd_addr + sizeof(initrd) <= min);
	cfg.mem_size = min - 1;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -ENOMEM);
	cfg.mem_size = 16 * MiB;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -ENOMEM);
	vm_free(&vm);
}

/* ---- boot state ------------------------------------------------------- */

static void check_initrd(const struct vm *vm, const struct x86_kernel *k,
			 uint64_t addr, uint64_t low_end)
{
	uint64_t top = k->initrd_max + 1 < low_end ? k->initrd_max + 1 : low_end;

	CHECK(addr % 4096 == 0);
	CHECK(addr >= k->load_end);
	CHECK(addr + sizeof(initrd) <= top);
	CHECK(addr + sizeof(initrd) + 4096 > top);	/* as high as it goes */
	CHECK(memcmp(vm->ram + addr, initrd, sizeof(initrd)) == 0);
}

static void check_cmdline(const struct vm *vm, const char *want)
{
	CHECK_STR((const char *)vm->ram + X86_CMDLINE_ADDR, want);
}

static void check_e820_table(const struct boot_e820_entry *got, unsigned int n,
			     uint64_t mem_size)
{
	struct boot_e820_entry want[8];

	CHECK_EQ(n, x86_e820(mem_size, want, 8));
	for (unsigned int i = 0; i < n && i < 8; i++) {
		CHECK_EQ(got[i].addr, want[i].addr);
		CHECK_EQ(got[i].size, want[i].size);
		CHECK_EQ(got[i].type, want[i].type);
	}
}

/* Offsets in Xen's hvm_start_info (version 1) and its tables. */
struct pvh_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct pvh_mod {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct pvh_memmap {
	uint64_t addr, size;
	uint32_t type, reserved;
};
_Static_assert(sizeof(struct pvh_info) == 56, "hvm_start_info v1 is 56 bytes");

TEST(elf_pvh)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	struct pvh_info si;
	struct pvh_mod mod;
	struct pvh_memmap mm[8];
	struct boot_e820_entry e[8];

	build_elf(&im, 1);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK_EQ(out.mode, X86_BOOT_PVH);
	CHECK_EQ(out.rip, K_PVH);
	CHECK_EQ(out.arg, X86_PVH_INFO_ADDR);
	check_initrd(&vm, &k, out.initrd_addr, RAM_SIZE);
	check_cmdline(&vm, cfg.cmdline);
	CHECK(memcmp(vm.ram + K_PADDR, im.b + K_OFF, K_FILE) == 0);

	CHECK_EQ(gm_read(&vm.gm, X86_PVH_INFO_ADDR, &si, sizeof(si)), 0);
	CHECK_EQ(si.magic, 0x336ec578);
	CHECK_EQ(si.version, 1);
	CHECK_EQ(si.cmdline_paddr, X86_CMDLINE_ADDR);
	CHECK_EQ(si.nr_modules, 1);
	CHECK(si.modlist_paddr != 0);
	CHECK_EQ(gm_read(&vm.gm, si.modlist_paddr, &mod, sizeof(mod)), 0);
	CHECK_EQ(mod.paddr, out.initrd_addr);
	CHECK_EQ(mod.size, sizeof(initrd));
	CHECK_EQ(si.memmap_entries, x86_e820(RAM_SIZE, e, 8));
	CHECK(si.memmap_entries <= 8);
	if (si.memmap_entries <= 8) {
		CHECK_EQ(gm_read(&vm.gm, si.memmap_paddr, mm,
				 si.memmap_entries * sizeof(mm[0])), 0);
		for (unsigned int i = 0; i < si.memmap_entries; i++) {
			CHECK_EQ(mm[i].addr, e[i].addr);
			CHECK_EQ(mm[i].size, e[i].size);
			CHECK_EQ(mm[i].type, e[i].type);
		}
	}
	/* The tables must not overlap one another. */
	CHECK(si.modlist_paddr >= X86_PVH_INFO_ADDR + sizeof(si) ||
	      si.modlist_paddr + sizeof(mod) <= X86_PVH_INFO_ADDR);
	CHECK(si.memmap_paddr >= si.modlist_paddr + sizeof(mod) ||
	      si.memmap_paddr + si.memmap_entries * sizeof(mm[0]) <= si.modlist_paddr);
	vm_free(&vm);
}

TEST(elf_pvh_without_initrd)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	struct pvh_info si;

	cfg.initrd = NULL;
	cfg.initrd_size = 0;
	cfg.mode = X86_BOOT_PVH;
	build_elf(&im, 1);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK_EQ(out.mode, X86_BOOT_PVH);
	CHECK_EQ(out.initrd_addr, 0);
	CHECK_EQ(gm_read(&vm.gm, X86_PVH_INFO_ADDR, &si, sizeof(si)), 0);
	CHECK_EQ(si.magic, 0x336ec578);
	CHECK_EQ(si.nr_modules, 0);
	vm_free(&vm);
}

static void check_zero_page_common(const struct boot_params *bp,
				   uint64_t initrd_addr, uint64_t mem_size,
				   size_t initrd_size)
{
	CHECK_EQ(bp->hdr.boot_flag, 0xaa55);
	CHECK_EQ(bp->hdr.header, 0x53726448);
	CHECK_EQ(bp->hdr.type_of_loader, 0xff);
	CHECK(bp->hdr.loadflags & LOADED_HIGH);
	CHECK_EQ(bp->hdr.cmd_line_ptr, X86_CMDLINE_ADDR);
	CHECK_EQ(bp->ext_cmd_line_ptr, 0);
	CHECK_EQ(bp->hdr.ramdisk_image, initrd_addr);
	CHECK_EQ(bp->hdr.ramdisk_size, initrd_size);
	check_e820_table(bp->e820_table, bp->e820_entries, mem_size);
}

TEST(elf_linux64)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	struct boot_params bp;

	/* A PVH-capable kernel booted through the 64-bit protocol on request. */
	cfg.mode = X86_BOOT_LINUX64;
	build_elf(&im, 1);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK_EQ(out.mode, X86_BOOT_LINUX64);
	CHECK_EQ(out.rip, K_ENTRY);
	CHECK_EQ(out.arg, X86_ZERO_PAGE_ADDR);
	check_initrd(&vm, &k, out.initrd_addr, RAM_SIZE);
	check_cmdline(&vm, cfg.cmdline);
	CHECK_EQ(gm_read(&vm.gm, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	check_zero_page_common(&bp, out.initrd_addr, RAM_SIZE, sizeof(initrd));
	CHECK(bp.hdr.version >= 0x020c);
	vm_free(&vm);
}

TEST(elf_without_pvh)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	struct boot_params bp;

	build_elf(&im, 0);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	cfg.initrd_size = 0;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK_EQ(out.mode, X86_BOOT_LINUX64);
	CHECK_EQ(out.rip, K_ENTRY);
	CHECK_EQ(gm_read(&vm.gm, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	check_zero_page_common(&bp, 0, RAM_SIZE, 0);

	cfg.mode = X86_BOOT_PVH;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -EINVAL);
	vm_free(&vm);
}

TEST(bzimage)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	struct boot_params bp;

	build_bz(&im);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK_EQ(out.mode, X86_BOOT_LINUX64);
	CHECK_EQ(out.rip, X86_BZIMAGE_LOAD + 0x200);
	CHECK_EQ(out.arg, X86_ZERO_PAGE_ADDR);
	CHECK(memcmp(vm.ram + X86_BZIMAGE_LOAD, im.b + BZ_SETUP, BZ_PAYLOAD) == 0);
	/* Below initrd_addr_max (64 MiB), clear of what the kernel unpacks
	 * into (pref_address + init_size = 32 MiB). */
	check_initrd(&vm, &k, out.initrd_addr, RAM_SIZE);
	CHECK(out.initrd_addr >= BZ_PREF + BZ_INIT_SIZE);
	CHECK(out.initrd_addr + sizeof(initrd) <= BZ_INITRD_MAX + 1);
	check_cmdline(&vm, cfg.cmdline);

	CHECK_EQ(gm_read(&vm.gm, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	check_zero_page_common(&bp, out.initrd_addr, RAM_SIZE, sizeof(initrd));
	/* The kernel's own header is passed back to it. */
	CHECK_EQ(bp.hdr.setup_sects, 4);
	CHECK_EQ(bp.hdr.version, 0x020f);
	CHECK_EQ(bp.hdr.xloadflags, XLF_KERNEL_64);
	CHECK_EQ(bp.hdr.init_size, BZ_INIT_SIZE);
	CHECK_EQ(bp.hdr.pref_address, BZ_PREF);
	CHECK_EQ(bp.hdr.initrd_addr_max, BZ_INITRD_MAX);
	CHECK_EQ(bp.hdr.kernel_alignment, 0x200000);
	CHECK_EQ(bp.hdr.vid_mode, 0xffff);
	vm_free(&vm);
}

TEST(bzimage_initrd_no_room)
{
	static uint8_t big[40 << 20];
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;

	/* Enough RAM overall, but between the unpacked kernel (32 MiB) and
	 * initrd_addr_max (64 MiB) there is less than the 40 MiB initrd. */
	build_bz(&im);
	parse(&im, &k);
	cfg.initrd = big;
	cfg.initrd_size = sizeof(big);
	CHECK(x86_min_mem(&k, sizeof(big)) <= RAM_SIZE);
	if (vm_init(&vm, RAM_SIZE))
		return;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -ENOMEM);
	/* 30 MiB fits under 64 MiB, above 32 MiB. */
	cfg.initrd_size = 30 << 20;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK(out.initrd_addr >= BZ_PREF + BZ_INIT_SIZE);
	CHECK(out.initrd_addr + cfg.initrd_size <= BZ_INITRD_MAX + 1);
	vm_free(&vm);
}

TEST(cmdline_limits)
{
	static char line[4096];
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;

	if (vm_init(&vm, RAM_SIZE))
		return;
	cfg.cmdline = line;
	/* vmlinux: COMMAND_LINE_SIZE 2048 including the NUL. */
	build_elf(&im, 1);
	parse(&im, &k);
	memset(line, 'a', X86_CMDLINE_MAX);
	line[X86_CMDLINE_MAX] = '\0';
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -E2BIG);
	line[X86_CMDLINE_MAX - 1] = '\0';
	memset(vm.ram + X86_CMDLINE_ADDR, 0x55, X86_CMDLINE_MAX + 1);
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	check_cmdline(&vm, line);
	CHECK(vm.ram[X86_CMDLINE_ADDR + X86_CMDLINE_MAX - 1] == '\0');
	/* bzImage: its header's cmdline_size (255). */
	build_bz(&im);
	parse(&im, &k);
	memset(line, 'b', sizeof(line));
	line[256] = '\0';
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -E2BIG);
	line[255] = '\0';
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	check_cmdline(&vm, line);
	/* Empty is fine. */
	cfg.cmdline = "";
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	check_cmdline(&vm, "");
	vm_free(&vm);
}

TEST(vcpu_count_range)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;

	build_elf(&im, 1);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	cfg.nr_vcpus = 0;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -EINVAL);
	cfg.nr_vcpus = X86_MAX_VCPUS + 1;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -EINVAL);
	cfg.nr_vcpus = X86_MAX_VCPUS;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	vm_free(&vm);
}

TEST(large_memory_map_in_zero_page)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	struct boot_params bp;

	/* An 8 GiB guest: only low memory is written, so the fake RAM can stay
	 * small as long as there is no initrd to put at the top of it. */
	build_elf(&im, 0);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	cfg.mem_size = 8 * GiB;
	cfg.initrd_size = 0;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	CHECK_EQ(gm_read(&vm.gm, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp)), 0);
	CHECK_EQ(bp.e820_entries, 4);
	check_e820_table(bp.e820_table, bp.e820_entries, 8 * GiB);
	check_e820(bp.e820_table, bp.e820_entries, 8 * GiB);
	/* With an initrd it goes just below 3 GiB, which this RAM lacks. */
	cfg.initrd_size = sizeof(initrd);
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), -ENOMEM);
	vm_free(&vm);
}

TEST(page_tables_and_gdt)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;
	uint64_t pml4, pdpt[4], pde, gdt[5];

	build_elf(&im, 1);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);

	CHECK_EQ(gm_read(&vm.gm, X86_PML4_ADDR, &pml4, 8), 0);
	CHECK_EQ(pml4 & ~0xfffull, X86_PDPT_ADDR);
	CHECK_EQ(pml4 & 3, 3);		/* present, writable */
	CHECK_EQ(gm_read(&vm.gm, X86_PDPT_ADDR, pdpt, sizeof(pdpt)), 0);
	for (unsigned int i = 0; i < 4; i++) {
		CHECK_EQ(pdpt[i] & ~0xfffull, X86_PD_ADDR + i * 4096);
		CHECK_EQ(pdpt[i] & 0x83, 3);	/* present, writable, not 1 GiB */
	}
	/* Walk a few addresses: each 2 MiB page maps to itself. */
	static const uint64_t addrs[] = { 0, 2 * MiB, K_PADDR, GiB + 6 * MiB,
					  X86_MMIO_GAP_START, X86_IOAPIC_ADDR,
					  X86_LAPIC_ADDR, 4 * GiB - 2 * MiB };
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		uint64_t a = addrs[i];
		uint64_t pd = pdpt[a >> 30] & ~0xfffull;

		CHECK_EQ(gm_read(&vm.gm, pd + ((a >> 21) & 511) * 8, &pde, 8), 0);
		CHECK_EQ(pde & ~0xfffull, a & ~(2 * MiB - 1));
		CHECK_EQ(pde & 0x83, 0x83);	/* present, writable, 2 MiB page */
	}
	/* No page table overlaps the zero page, command line or GDT. */
	CHECK(X86_PD_ADDR + 4 * 4096 <= X86_CMDLINE_ADDR);
	CHECK(X86_ZERO_PAGE_ADDR + sizeof(struct boot_params) <= X86_PML4_ADDR);

	CHECK_EQ(gm_read(&vm.gm, X86_GDT_ADDR, gdt, sizeof(gdt)), 0);
	CHECK_EQ(gdt[0], 0);
	CHECK_EQ(gdt[X86_SEL_CODE32 / 8], gdt_entry(GDT_CODE32, 0, 0xfffff));
	CHECK_EQ(gdt[X86_SEL_CODE64 / 8], gdt_entry(GDT_CODE64, 0, 0xfffff));
	CHECK_EQ(gdt[X86_SEL_DATA / 8], gdt_entry(GDT_DATA, 0, 0xfffff));
	CHECK(gdt[X86_SEL_CODE64 / 8] & (1ull << 53));	/* L: 64-bit code */
	CHECK(!(gdt[X86_SEL_CODE32 / 8] & (1ull << 53)));
	CHECK(gdt[X86_SEL_CODE32 / 8] & (1ull << 54));	/* D: 32-bit code */
	CHECK(gdt[X86_SEL_DATA / 8] & (1ull << 47));	/* present */
	vm_free(&vm);
}

/* ---- MP table --------------------------------------------------------- */

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Check the MP table as Linux's mpparse.c reads it. */
static void check_mptable(const struct vm *vm, unsigned int nr_vcpus)
{
	const uint8_t *mpf = vm->ram + X86_EBDA_ADDR, *mpc, *p, *end;
	unsigned int cpus = 0, ioapics = 0, buses = 0, irqs = 0, lints = 0;
	unsigned int entries = 0;
	uint32_t phys;
	uint16_t len;

	CHECK(memcmp(mpf, "_MP_", 4) == 0);
	CHECK_EQ(mpf[8], 1);			/* length in 16-byte units */
	CHECK_EQ(mpf[9], 4);			/* MP spec 1.4 */
	CHECK_EQ(sum8(mpf, 16), 0);
	CHECK_EQ(mpf[11], 0);			/* no default configuration */
	phys = rd32(mpf + 4);
	CHECK(phys >= X86_EBDA_ADDR && phys < X86_HIMEM_START);
	if (phys < X86_EBDA_ADDR || phys >= X86_HIMEM_START)
		return;
	mpc = vm->ram + phys;
	CHECK(memcmp(mpc, "PCMP", 4) == 0);
	len = rd16(mpc + 4);
	CHECK(phys + len <= X86_HIMEM_START);
	if (phys + len > X86_HIMEM_START)
		return;
	CHECK_EQ(mpc[6], 4);
	CHECK_EQ(sum8(mpc, len), 0);
	CHECK_EQ(rd32(mpc + 36), X86_LAPIC_ADDR);

	end = mpc + len;
	for (p = mpc + 44; p < end; entries++) {
		CHECK(p[0] <= 4);
		switch (p[0]) {
		case 0:				/* processor */
			CHECK_EQ(p[1], cpus);	/* APIC id = vCPU index */
			CHECK(p[3] & 1);	/* enabled */
			CHECK_EQ(!!(p[3] & 2), cpus == 0);	/* BSP */
			cpus++;
			p += 20;
			break;
		case 1:
			CHECK(memcmp(p + 2, "ISA", 3) == 0);
			buses++;
			p += 8;
			break;
		case 2:				/* IOAPIC */
			CHECK_EQ(rd32(p + 4), X86_IOAPIC_ADDR);
			CHECK(p[3] & 1);
			CHECK(p[1] >= nr_vcpus);	/* distinct from the CPUs' */
			ioapics++;
			p += 8;
			break;
		case 3:
			irqs++;
			p += 8;
			break;
		case 4:
			lints++;
			p += 8;
			break;
		default:			/* unknown: stop */
			p = end;
			break;
		}
	}
	CHECK(p == end);
	CHECK_EQ(entries, rd16(mpc + 34));
	CHECK_EQ(cpus, nr_vcpus);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(buses, 1);
	CHECK(irqs >= 16);
	CHECK_EQ(lints, 2);
}

TEST(mptable)
{
	static const unsigned int counts[] = { 1, 2, 4, X86_MAX_VCPUS };
	struct vm vm;

	if (vm_init(&vm, 2 * MiB))
		return;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		memset(vm.ram, 0, 2 * MiB);
		CHECK_EQ(x86_mptable_write(&vm.gm, counts[i]), 0);
		check_mptable(&vm, counts[i]);
	}
	CHECK_EQ(x86_mptable_write(&vm.gm, 0), -EINVAL);
	CHECK_EQ(x86_mptable_write(&vm.gm, X86_MAX_VCPUS + 1), -EINVAL);
	vm_free(&vm);

	/* Guest memory that stops short of the EBDA: an error, no write. */
	if (vm_init(&vm, X86_EBDA_ADDR + 64))
		return;
	CHECK_EQ(x86_mptable_write(&vm.gm, 4), -EFAULT);
	vm_free(&vm);
}

TEST(mptable_via_boot_setup)
{
	struct img im;
	struct x86_kernel k;
	struct x86_boot_cfg cfg = cfg_default();
	struct x86_boot_entry out;
	struct vm vm;

	build_elf(&im, 1);
	parse(&im, &k);
	if (vm_init(&vm, RAM_SIZE))
		return;
	cfg.nr_vcpus = 3;
	CHECK_EQ(setup(&vm, &k, &im, &cfg, &out), 0);
	check_mptable(&vm, 3);
	vm_free(&vm);
}

CHECK_MAIN(
	TEST_ENTRY(ram_regions),
	TEST_ENTRY(e820_maps),
	TEST_ENTRY(e820_refusals),
	TEST_ENTRY(min_mem),
	TEST_ENTRY(elf_pvh),
	TEST_ENTRY(elf_pvh_without_initrd),
	TEST_ENTRY(elf_linux64),
	TEST_ENTRY(elf_without_pvh),
	TEST_ENTRY(bzimage),
	TEST_ENTRY(bzimage_initrd_no_room),
	TEST_ENTRY(cmdline_limits),
	TEST_ENTRY(vcpu_count_range),
	TEST_ENTRY(large_memory_map_in_zero_page),
	TEST_ENTRY(page_tables_and_gdt),
	TEST_ENTRY(mptable),
	TEST_ENTRY(mptable_via_boot_setup),
)
