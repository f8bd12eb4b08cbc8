/* vmm/arch/x86/loader: synthetic ELF vmlinux and bzImage images built in
 * memory; each validation rule gets an image that breaks only it. */
#include "vmm/arch/x86/loader.h"
#include "vmm/arch/x86/layout.h"
#include "tests/unit/check.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- ELF vmlinux ----------------------------------------------------- */

#define E_PH_OFF	0x40
#define E_NOTE_OFF	0x100
#define E_SEGA_OFF	0x200
#define E_SEGA_FILE	0x100
#define E_SEGA_PADDR	0x1000000ull
#define E_SEGA_MEM	0x200ull
#define E_SEGB_OFF	0x300
#define E_SEGB_FILE	0x80
#define E_SEGB_PADDR	0x1200000ull
#define E_SEGB_MEM	0x1000ull
#define E_SIZE		0x380
#define E_ENTRY		(E_SEGA_PADDR + 0x10)
#define E_PVH		(E_SEGA_PADDR + 0x40)

struct elf_img {
	_Alignas(8) uint8_t b[0x400];
	size_t size;
};

static Elf64_Ehdr *ehdr(struct elf_img *e) { return (Elf64_Ehdr *)e->b; }

/* Program headers: [0] PT_LOAD A, [1] PT_NOTE, [2] PT_LOAD B. */
static Elf64_Phdr *phdr(struct elf_img *e, int i)
{
	return (Elf64_Phdr *)(e->b + E_PH_OFF + i * sizeof(Elf64_Phdr));
}

static size_t put_note(uint8_t *p, const char *name, uint32_t namesz,
		       uint32_t type, const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { namesz, descsz, type };
	size_t off = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + off, name, namesz);
	off += (namesz + 3) & ~3u;
	memcpy(p + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

/* A vmlinux with two PT_LOADs (both with bss) and a PT_NOTE holding a GNU
 * build-id note and then the Xen PVH note (pvh_desc 4 or 8 bytes; 0: no
 * PVH note at all). */
static void build_elf(struct elf_img *e, int pvh_desc)
{
	Elf64_Ehdr *h;
	size_t nlen;
	uint32_t id = 0x12345678, pvh32 = (uint32_t)E_PVH;
	uint64_t pvh64 = E_PVH;

	memset(e, 0, sizeof(*e));
	h = ehdr(e);
	e->size = E_SIZE;
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_ident[EI_VERSION] = EV_CURRENT;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_version = EV_CURRENT;
	h->e_entry = E_ENTRY;
	h->e_phoff = E_PH_OFF;
	h->e_ehsize = sizeof(Elf64_Ehdr);
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = 3;

	nlen = put_note(e->b + E_NOTE_OFF, "GNU", 4, 3, &id, 4);
	if (pvh_desc == 4)
		nlen += put_note(e->b + E_NOTE_OFF + nlen, "Xen", 4, 18, &pvh32, 4);
	else if (pvh_desc == 8)
		nlen += put_note(e->b + E_NOTE_OFF + nlen, "Xen", 4, 18, &pvh64, 8);

	*phdr(e, 0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X,
		.p_offset = E_SEGA_OFF, .p_vaddr = 0xffffffff81000000ull,
		.p_paddr = E_SEGA_PADDR, .p_filesz = E_SEGA_FILE,
		.p_memsz = E_SEGA_MEM, .p_align = 0x200000 };
	*phdr(e, 1) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_flags = PF_R,
		.p_offset = E_NOTE_OFF, .p_filesz = nlen, .p_memsz = nlen,
		.p_align = 4 };
	*phdr(e, 2) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W,
		.p_offset = E_SEGB_OFF, .p_vaddr = 0xffffffff81200000ull,
		.p_paddr = E_SEGB_PADDR, .p_filesz = E_SEGB_FILE,
		.p_memsz = E_SEGB_MEM, .p_align = 0x200000 };
	for (unsigned int i = 0; i < E_SEGA_FILE; i++)
		e->b[E_SEGA_OFF + i] = (uint8_t)(i ^ 0x5a);
	for (unsigned int i = 0; i < E_SEGB_FILE; i++)
		e->b[E_SEGB_OFF + i] = (uint8_t)(i ^ 0xa5);
}

/* Parse an exactly sized heap copy, so ASan sees any read past the end. */
static int parse_exact(const uint8_t *img, size_t size, struct x86_kernel *k,
		       const char **why)
{
	uint8_t *copy = malloc(size ? size : 1);
	int r;

	if (!copy)
		abort();
	memcpy(copy, img, size);
	*why = NULL;
	r = x86_kernel_parse(copy, size, k, why);
	free(copy);
	return r;
}

static int parse(const struct elf_img *e, struct x86_kernel *k,
		 const char **why)
{
	return parse_exact(e->b, e->size, k, why);
}

/* The image must be refused with -EINVAL and a message. */
static int refused(const struct elf_img *e)
{
	struct x86_kernel k;
	const char *why;
	int r = parse(e, &k, &why);

	return r == -EINVAL && why != NULL && *why != '\0';
}

static void check_valid_elf(int pvh_desc)
{
	struct elf_img e;
	struct x86_kernel k;
	const char *why;

	build_elf(&e, pvh_desc);
	CHECK_EQ(parse(&e, &k, &why), 0);
	CHECK_EQ(k.kind, X86_KERNEL_ELF);
	CHECK_EQ(k.entry64, E_ENTRY);
	CHECK_EQ(k.pvh_entry, pvh_desc ? E_PVH : 0);
	CHECK_EQ(k.load_start, E_SEGA_PADDR);
	CHECK_EQ(k.load_end, E_SEGB_PADDR + E_SEGB_MEM);
	CHECK_EQ(k.cmdline_max, X86_CMDLINE_MAX - 1);
	CHECK(k.initrd_max < X86_MMIO_GAP_START);
	CHECK_EQ(k.nseg, 2);
	CHECK_EQ(k.seg[0].file_off, E_SEGA_OFF);
	CHECK_EQ(k.seg[0].file_size, E_SEGA_FILE);
	CHECK_EQ(k.seg[0].paddr, E_SEGA_PADDR);
	CHECK_EQ(k.seg[0].mem_size, E_SEGA_MEM);
	CHECK_EQ(k.seg[1].file_off, E_SEGB_OFF);
	CHECK_EQ(k.seg[1].file_size, E_SEGB_FILE);
	CHECK_EQ(k.seg[1].paddr, E_SEGB_PADDR);
	CHECK_EQ(k.seg[1].mem_size, E_SEGB_MEM);
}

TEST(elf_valid_pvh4)
{
	check_valid_elf(4);
}

TEST(elf_valid_pvh8)
{
	check_valid_elf(8);
}

TEST(elf_valid_without_pvh)
{
	check_valid_elf(0);
}

TEST(elf_load_start_is_lowest_segment)
{
	struct elf_img e;
	struct x86_kernel k;
	const char *why;

	/* Segments listed high first: load_start must still be the lowest. */
	build_elf(&e, 4);
	Elf64_Phdr a = *phdr(&e, 0);
	*phdr(&e, 0) = *phdr(&e, 2);
	*phdr(&e, 2) = a;
	CHECK_EQ(parse(&e, &k, &why), 0);
	CHECK_EQ(k.load_start, E_SEGA_PADDR);
	CHECK_EQ(k.load_end, E_SEGB_PADDR + E_SEGB_MEM);
	CHECK_EQ(k.seg[0].paddr, E_SEGB_PADDR);
}

TEST(elf_truncated_header)
{
	struct elf_img e;

	build_elf(&e, 4);
	e.size = sizeof(Elf64_Ehdr) - 1;
	CHECK(refused(&e));
	e.size = SELFMAG;
	CHECK(refused(&e));
}

TEST(elf_wrong_class_machine_type)
{
	struct elf_img e;

	build_elf(&e, 4);
	ehdr(&e)->e_ident[EI_CLASS] = ELFCLASS32;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_ident[EI_DATA] = ELFDATA2MSB;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_machine = EM_386;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_machine = EM_AARCH64;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_type = ET_DYN;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_type = ET_REL;
	CHECK(refused(&e));
}

TEST(elf_phdrs_outside_file)
{
	struct elf_img e;

	build_elf(&e, 4);
	ehdr(&e)->e_phoff = E_SIZE - sizeof(Elf64_Phdr);	/* only 1 of 3 fits */
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_phoff = UINT64_MAX - 8;	/* phoff + n * phentsize wraps */
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_phoff = E_SIZE;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_phnum = 0xffff;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_phnum = 0;
	CHECK(refused(&e));
	build_elf(&e, 4);
	ehdr(&e)->e_phentsize = sizeof(Elf64_Phdr) - 8;
	CHECK(refused(&e));
}

TEST(elf_segment_outside_file)
{
	struct elf_img e;

	build_elf(&e, 4);
	phdr(&e, 2)->p_filesz = E_SIZE - E_SEGB_OFF + 1;
	phdr(&e, 2)->p_memsz = 0x10000;
	CHECK(refused(&e));
	build_elf(&e, 4);
	phdr(&e, 2)->p_offset = E_SIZE + 1;
	CHECK(refused(&e));
	build_elf(&e, 4);
	phdr(&e, 0)->p_offset = UINT64_MAX - 0x10;	/* offset + filesz wraps */
	CHECK(refused(&e));
	build_elf(&e, 4);
	phdr(&e, 1)->p_filesz = E_SIZE;		/* the note segment too */
	CHECK(refused(&e));
}

TEST(elf_filesz_above_memsz)
{
	struct elf_img e;

	build_elf(&e, 4);
	phdr(&e, 0)->p_memsz = E_SEGA_FILE - 1;
	CHECK(refused(&e));
}

TEST(elf_segment_below_1mib)
{
	struct elf_img e;

	build_elf(&e, 4);
	phdr(&e, 0)->p_paddr = X86_HIMEM_START - 0x1000;
	ehdr(&e)->e_entry = X86_HIMEM_START - 0x1000;
	CHECK(refused(&e));
	build_elf(&e, 0);
	phdr(&e, 0)->p_paddr = 0;
	ehdr(&e)->e_entry = 0x10;
	CHECK(refused(&e));
}

TEST(elf_segment_beyond_3gib)
{
	struct elf_img e;
	struct x86_kernel k;
	const char *why;

	/* Ending exactly at 3 GiB is fine; one byte more is not. */
	build_elf(&e, 0);
	phdr(&e, 2)->p_paddr = X86_MMIO_GAP_START - E_SEGB_MEM;
	CHECK_EQ(parse(&e, &k, &why), 0);
	CHECK_EQ(k.load_end, X86_MMIO_GAP_START);
	phdr(&e, 2)->p_memsz = E_SEGB_MEM + 1;
	CHECK(refused(&e));
	build_elf(&e, 0);
	phdr(&e, 2)->p_paddr = X86_MMIO_GAP_END;
	CHECK(refused(&e));
	/* paddr + memsz wraps to something small. */
	build_elf(&e, 0);
	phdr(&e, 2)->p_paddr = UINT64_MAX - 0x7f;
	CHECK(refused(&e));
	build_elf(&e, 0);
	phdr(&e, 2)->p_memsz = (uint64_t)0 - E_SEGB_PADDR + 0x1000;
	CHECK(refused(&e));
}

TEST(elf_entry_outside_kernel)
{
	struct elf_img e;
	struct x86_kernel k;
	const char *why;

	build_elf(&e, 4);
	ehdr(&e)->e_entry = E_SEGA_PADDR - 1;
	CHECK(refused(&e));
	ehdr(&e)->e_entry = E_SEGB_PADDR + E_SEGB_MEM;
	CHECK(refused(&e));
	ehdr(&e)->e_entry = 0xffffffff81000000ull;	/* a virtual address */
	CHECK(refused(&e));
	ehdr(&e)->e_entry = E_SEGB_PADDR + E_SEGB_MEM - 1;
	CHECK_EQ(parse(&e, &k, &why), 0);
}

TEST(elf_pvh_entry_outside_kernel)
{
	struct elf_img e;
	uint32_t bad = 0x800000;
	size_t off;

	build_elf(&e, 0);
	off = E_NOTE_OFF + phdr(&e, 1)->p_filesz;
	phdr(&e, 1)->p_filesz += put_note(e.b + off, "Xen", 4, 18, &bad, 4);
	CHECK(refused(&e));
}

TEST(elf_note_past_segment)
{
	struct elf_img e;
	struct x86_kernel k;
	const char *why;
	Elf64_Nhdr *first;

	/* The PT_NOTE ends inside the Xen note's descriptor. */
	build_elf(&e, 8);
	phdr(&e, 1)->p_filesz -= 4;
	CHECK(refused(&e));
	/* A huge descsz in the first note. */
	build_elf(&e, 4);
	first = (Elf64_Nhdr *)(e.b + E_NOTE_OFF);
	first->n_descsz = 0xfffffff0u;
	CHECK(refused(&e));
	build_elf(&e, 4);
	first = (Elf64_Nhdr *)(e.b + E_NOTE_OFF);
	first->n_namesz = 0xffffffffu;
	CHECK(refused(&e));
	/* A few stray bytes after the last note are not a note: ignored. */
	build_elf(&e, 4);
	phdr(&e, 1)->p_filesz += 4;
	CHECK_EQ(parse(&e, &k, &why), 0);
	CHECK_EQ(k.pvh_entry, E_PVH);
}

TEST(elf_pvh_note_bad_size)
{
	struct elf_img e;
	uint16_t d = 0x1234;

	build_elf(&e, 0);
	phdr(&e, 1)->p_filesz += put_note(e.b + E_NOTE_OFF + phdr(&e, 1)->p_filesz,
					  "Xen", 4, 18, &d, 2);
	CHECK(refused(&e));
}

TEST(elf_other_xen_notes_ignored)
{
	struct elf_img e;
	struct x86_kernel k;
	const char *why;
	uint32_t v = 0x800000;

	/* Type 18 under another name, and another Xen note type: not PVH. */
	build_elf(&e, 0);
	phdr(&e, 1)->p_filesz += put_note(e.b + E_NOTE_OFF + phdr(&e, 1)->p_filesz,
					  "Xe", 3, 18, &v, 4);
	phdr(&e, 1)->p_filesz += put_note(e.b + E_NOTE_OFF + phdr(&e, 1)->p_filesz,
					  "Xen", 4, 17, &v, 4);
	phdr(&e, 1)->p_filesz += put_note(e.b + E_NOTE_OFF + phdr(&e, 1)->p_filesz,
					  "Xen\0", 5, 18, &v, 4);
	CHECK_EQ(parse(&e, &k, &why), 0);
	CHECK_EQ(k.pvh_entry, 0);
}

TEST(elf_no_pt_load)
{
	struct elf_img e;

	build_elf(&e, 4);
	phdr(&e, 0)->p_type = PT_NULL;
	phdr(&e, 2)->p_type = PT_GNU_STACK;
	CHECK(refused(&e));
	/* Empty PT_LOADs load nothing either. */
	build_elf(&e, 4);
	phdr(&e, 0)->p_filesz = phdr(&e, 0)->p_memsz = 0;
	phdr(&e, 2)->p_filesz = phdr(&e, 2)->p_memsz = 0;
	CHECK(refused(&e));
}

TEST(elf_too_many_segments)
{
	_Alignas(8) static uint8_t b[0x2000];
	Elf64_Ehdr *h = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(b + E_PH_OFF);
	struct x86_kernel k;
	const char *why = NULL;

	memset(b, 0, sizeof(b));
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_type = ET_EXEC;
	h->e_machine = EM_X86_64;
	h->e_entry = E_SEGA_PADDR;
	h->e_phoff = E_PH_OFF;
	h->e_phentsize = sizeof(Elf64_Phdr);
	h->e_phnum = X86_MAX_SEGMENTS + 1;
	for (unsigned int i = 0; i <= X86_MAX_SEGMENTS; i++)
		ph[i] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
			.p_paddr = E_SEGA_PADDR + i * 0x1000ull,
			.p_filesz = 0x10, .p_memsz = 0x1000 };
	CHECK_EQ(x86_kernel_parse(b, sizeof(b), &k, &why), -EINVAL);
	h->e_phnum = X86_MAX_SEGMENTS;
	CHECK_EQ(x86_kernel_parse(b, sizeof(b), &k, &why), 0);
	CHECK_EQ(k.nseg, X86_MAX_SEGMENTS);
	/* More program headers than any vmlinux has, all inside the file
	 * and none of them loadable: refused before walking them. */
	h->e_phnum = 65;
	CHECK(E_PH_OFF + 65 * sizeof(Elf64_Phdr) <= sizeof(b));
	for (unsigned int i = X86_MAX_SEGMENTS; i < 65; i++)
		ph[i] = (Elf64_Phdr){ .p_type = PT_NULL };
	CHECK_EQ(x86_kernel_parse(b, sizeof(b), &k, &why), -EINVAL);
	h->e_phnum = 64;
	CHECK_EQ(x86_kernel_parse(b, sizeof(b), &k, &why), 0);
}

/* ---- bzImage --------------------------------------------------------- */

#define BZ_SETUP_SECTS	6
#define BZ_SETUP_SIZE	((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PAYLOAD	0x1000
#define BZ_SIZE		(BZ_SETUP_SIZE + BZ_PAYLOAD)
#define BZ_INIT_SIZE	0x1400000u
#define BZ_PREF		0x1000000ull

static struct setup_header *bz_hdr(uint8_t *img)
{
	return (struct setup_header *)(img + 0x1f1);
}

/* A bzImage whose header ends where its jump at 0x200 says. */
static void build_bz(uint8_t *img)
{
	struct setup_header *h = bz_hdr(img);

	memset(img, 0, BZ_SIZE);
	h->setup_sects = BZ_SETUP_SECTS;
	h->boot_flag = 0xaa55;
	h->jump = (uint16_t)(0xeb | ((0x1f1 + sizeof(*h) - 0x202) << 8));
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->kernel_alignment = 0x200000;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 0x7ff;
	h->initrd_addr_max = 0x7fffffff;
	h->pref_address = BZ_PREF;
	h->init_size = BZ_INIT_SIZE;
	for (unsigned int i = 0; i < BZ_PAYLOAD; i++)
		img[BZ_SETUP_SIZE + i] = (uint8_t)(i * 7 + 1);
}

static int bz_parse(const uint8_t *img, size_t size, struct x86_kernel *k)
{
	const char *why;
	int r = parse_exact(img, size, k, &why);

	CHECK(r == 0 || (why != NULL && *why != '\0'));
	return r;
}

TEST(bz_valid)
{
	static uint8_t img[BZ_SIZE];
	struct x86_kernel k;

	build_bz(img);
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), 0);
	CHECK_EQ(k.kind, X86_KERNEL_BZIMAGE);
	CHECK_EQ(k.entry64, 0x100200);
	CHECK_EQ(k.pvh_entry, 0);
	CHECK_EQ(k.load_start, X86_BZIMAGE_LOAD);
	CHECK(k.load_end >= BZ_PREF + BZ_INIT_SIZE);
	CHECK(k.load_end >= X86_BZIMAGE_LOAD + BZ_PAYLOAD);
	CHECK_EQ(k.cmdline_max, 0x7ff);
	CHECK_EQ(k.initrd_max, 0x7fffffff);
	CHECK_EQ(k.nseg, 1);
	CHECK_EQ(k.seg[0].file_off, BZ_SETUP_SIZE);
	CHECK_EQ(k.seg[0].file_size, BZ_PAYLOAD);
	CHECK_EQ(k.seg[0].paddr, X86_BZIMAGE_LOAD);
	CHECK_EQ(k.seg[0].mem_size, BZ_PAYLOAD);
	CHECK_EQ(k.hdr_len, sizeof(struct setup_header));
	CHECK_EQ(k.hdr.init_size, BZ_INIT_SIZE);
	CHECK_EQ(k.hdr.pref_address, BZ_PREF);
}

TEST(bz_defaults_and_clamps)
{
	static uint8_t img[BZ_SIZE];
	struct x86_kernel k;

	/* setup_sects 0 means 4; a pref_address below 1 MiB means in place. */
	build_bz(img);
	bz_hdr(img)->setup_sects = 0;
	bz_hdr(img)->pref_address = 0;
	bz_hdr(img)->cmdline_size = 0x100000;
	bz_hdr(img)->initrd_addr_max = 0;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), 0);
	CHECK_EQ(k.seg[0].file_off, 5 * 512);
	CHECK_EQ(k.seg[0].file_size, BZ_SIZE - 5 * 512);
	CHECK_EQ(k.load_end, X86_BZIMAGE_LOAD + BZ_INIT_SIZE);
	CHECK_EQ(k.cmdline_max, X86_CMDLINE_MAX - 1);
	CHECK(k.initrd_max > X86_BZIMAGE_LOAD && k.initrd_max < X86_MMIO_GAP_START);
	bz_hdr(img)->cmdline_size = 255;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), 0);
	CHECK_EQ(k.cmdline_max, 255);
}

TEST(bz_refusals)
{
	static uint8_t img[BZ_SIZE];
	struct x86_kernel k;

	build_bz(img);
	bz_hdr(img)->version = 0x020b;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	build_bz(img);
	bz_hdr(img)->xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	build_bz(img);
	bz_hdr(img)->loadflags = 0;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	build_bz(img);
	bz_hdr(img)->boot_flag = 0;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	build_bz(img);
	bz_hdr(img)->init_size = 0;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	/* Unpacking would run into the MMIO gap. */
	build_bz(img);
	bz_hdr(img)->pref_address = X86_MMIO_GAP_START - BZ_INIT_SIZE + 1;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	/* pref_address + init_size wraps past 2^64 to a small number. */
	build_bz(img);
	bz_hdr(img)->pref_address = (uint64_t)0 - BZ_INIT_SIZE / 2;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
}

TEST(bz_truncated)
{
	static uint8_t img[BZ_SIZE];
	struct x86_kernel k;

	/* setup_sects says the setup code runs past the end of the file. */
	build_bz(img);
	bz_hdr(img)->setup_sects = BZ_SIZE / 512;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	bz_hdr(img)->setup_sects = 255;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	/* Nothing after the setup code. */
	build_bz(img);
	CHECK_EQ(bz_parse(img, BZ_SETUP_SIZE, &k), -EINVAL);
	/* Too little after it to hold the 64-bit entry at offset 0x200. */
	CHECK_EQ(bz_parse(img, BZ_SETUP_SIZE + 0x200, &k), -EINVAL);
	CHECK_EQ(bz_parse(img, BZ_SETUP_SIZE + 0x201, &k), 0);
	/* The header (as the jump at 0x200 sizes it) runs past the file. */
	build_bz(img);
	img[0x201] = 0xff;
	CHECK_EQ(bz_parse(img, 0x202 + 0xfe, &k), -EINVAL);
	CHECK_EQ(bz_parse(img, 0x206, &k), -EINVAL);
}

TEST(bz_short_header_has_no_init_size)
{
	static uint8_t img[BZ_SIZE];
	struct x86_kernel k;

	/* A header that ends before init_size: what is not in it reads 0. */
	build_bz(img);
	img[0x201] = (uint8_t)(offsetof(struct setup_header, init_size) + 0x1f1 - 0x202);
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), -EINVAL);
	img[0x201] += 4;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), 0);
	CHECK_EQ(k.hdr_len, offsetof(struct setup_header, init_size) + 4);
	/* A jump past the end of our struct: we take only what we know. */
	img[0x201] = 0xff;
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), 0);
	CHECK_EQ(k.hdr_len, sizeof(struct setup_header));
}

/* ---- not a kernel ---------------------------------------------------- */

TEST(garbage_is_noexec)
{
	static uint8_t buf[4096];
	struct x86_kernel k;
	const char *why;
	uint32_t x = 12345;

	CHECK_EQ(x86_kernel_parse(buf, 0, &k, &why), -ENOEXEC);
	CHECK_EQ(x86_kernel_parse((const uint8_t *)"\177EL", 3, &k, &why), -ENOEXEC);
	for (int round = 0; round < 200; round++) {
		size_t size = (size_t)(x % sizeof(buf));

		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (uint8_t)(x >> 16);
		}
		why = NULL;
		CHECK_EQ(x86_kernel_parse(buf, size, &k, &why), -ENOEXEC);
		CHECK(why != NULL);
	}
	/* "HdrS" one byte short of a full signature window. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf + 0x202, "HdrS", 4);
	CHECK_EQ(x86_kernel_parse(buf, 0x205, &k, &why), -ENOEXEC);
}

/* ---- loading --------------------------------------------------------- */

#define GM_SIZE (32u << 20)

TEST(load_copies_and_zero_fills)
{
	struct elf_img e;
	struct x86_kernel k;
	struct guest_mem gm;
	const char *why;
	uint8_t *ram = malloc(GM_SIZE);

	CHECK(ram != NULL);
	if (!ram)
		return;
	memset(ram, 0xcc, GM_SIZE);
	memset(&gm, 0, sizeof(gm));
	CHECK_EQ(gm_add_region(&gm, 0, GM_SIZE, ram), 0);
	build_elf(&e, 4);
	CHECK_EQ(parse(&e, &k, &why), 0);
	CHECK_EQ(x86_kernel_load(&gm, e.b, e.size, &k), 0);

	CHECK(memcmp(ram + E_SEGA_PADDR, e.b + E_SEGA_OFF, E_SEGA_FILE) == 0);
	CHECK(memcmp(ram + E_SEGB_PADDR, e.b + E_SEGB_OFF, E_SEGB_FILE) == 0);
	for (uint64_t i = E_SEGA_FILE; i < E_SEGA_MEM; i++)
		CHECK(ram[E_SEGA_PADDR + i] == 0);
	for (uint64_t i = E_SEGB_FILE; i < E_SEGB_MEM; i++)
		CHECK(ram[E_SEGB_PADDR + i] == 0);
	/* Nothing written around the segments. */
	CHECK(ram[E_SEGA_PADDR - 1] == 0xcc);
	CHECK(ram[E_SEGA_PADDR + E_SEGA_MEM] == 0xcc);
	CHECK(ram[E_SEGB_PADDR - 1] == 0xcc);
	CHECK(ram[E_SEGB_PADDR + E_SEGB_MEM] == 0xcc);
	free(ram);
}

TEST(load_bzimage)
{
	static uint8_t img[BZ_SIZE];
	struct x86_kernel k;
	struct guest_mem gm;
	uint8_t *ram = malloc(GM_SIZE);

	CHECK(ram != NULL);
	if (!ram)
		return;
	memset(ram, 0xcc, GM_SIZE);
	memset(&gm, 0, sizeof(gm));
	CHECK_EQ(gm_add_region(&gm, 0, GM_SIZE, ram), 0);
	build_bz(img);
	CHECK_EQ(bz_parse(img, BZ_SIZE, &k), 0);
	CHECK_EQ(x86_kernel_load(&gm, img, BZ_SIZE, &k), 0);
	CHECK(memcmp(ram + X86_BZIMAGE_LOAD, img + BZ_SETUP_SIZE, BZ_PAYLOAD) == 0);
	CHECK(ram[X86_BZIMAGE_LOAD - 1] == 0xcc);
	CHECK(ram[X86_BZIMAGE_LOAD + BZ_PAYLOAD] == 0xcc);
	free(ram);
}

TEST(load_refuses_what_does_not_fit)
{
	struct elf_img e;
	struct x86_kernel k;
	struct guest_mem gm;
	const char *why;
	/* RAM ends in the middle of segment B's bss. */
	size_t ram_size = E_SEGB_PADDR + E_SEGB_MEM / 2;
	uint8_t *ram = malloc(ram_size);

	CHECK(ram != NULL);
	if (!ram)
		return;
	memset(&gm, 0, sizeof(gm));
	CHECK_EQ(gm_add_region(&gm, 0, ram_size, ram), 0);
	build_elf(&e, 4);
	CHECK_EQ(parse(&e, &k, &why), 0);
	CHECK_EQ(x86_kernel_load(&gm, e.b, e.size, &k), -EFAULT);
	/* A k that disagrees with the image it is used with. */
	k.nseg = 1;
	CHECK_EQ(x86_kernel_load(&gm, e.b, E_SEGA_OFF + E_SEGA_FILE - 1, &k), -EFAULT);
	CHECK_EQ(x86_kernel_load(&gm, e.b, E_SEGA_OFF + E_SEGA_FILE, &k), 0);
	free(ram);
}

/* The VMM's path: segments read from the file straight into guest RAM. */
static int tmpfile_with(const uint8_t *b, size_t n)
{
	char path[] = "/tmp/airlock-loader-test.XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (write(fd, b, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return fd;
}

TEST(load_fd_matches_load)
{
	struct elf_img e;
	struct x86_kernel k;
	struct guest_mem gm1, gm2;
	const char *why;
	uint8_t *ram1 = malloc(GM_SIZE), *ram2 = malloc(GM_SIZE);
	int fd;

	CHECK(ram1 && ram2);
	if (!ram1 || !ram2)
		goto out;
	memset(ram1, 0xcc, GM_SIZE);
	memset(ram2, 0xcc, GM_SIZE);
	memset(&gm1, 0, sizeof(gm1));
	memset(&gm2, 0, sizeof(gm2));
	CHECK_EQ(gm_add_region(&gm1, 0, GM_SIZE, ram1), 0);
	CHECK_EQ(gm_add_region(&gm2, 0, GM_SIZE, ram2), 0);
	build_elf(&e, 8);
	CHECK_EQ(parse(&e, &k, &why), 0);
	fd = tmpfile_with(e.b, e.size);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	CHECK_EQ(x86_kernel_load(&gm1, e.b, e.size, &k), 0);
	CHECK_EQ(x86_kernel_load_fd(&gm2, fd, &k), 0);
	CHECK(memcmp(ram1, ram2, GM_SIZE) == 0);
	close(fd);
out:
	free(ram1);
	free(ram2);
}

TEST(load_fd_refusals)
{
	struct elf_img e;
	struct x86_kernel k;
	struct guest_mem gm;
	const char *why;
	uint8_t *ram = malloc(GM_SIZE);
	int fd;

	CHECK(ram != NULL);
	if (!ram)
		return;
	memset(&gm, 0, sizeof(gm));
	CHECK_EQ(gm_add_region(&gm, 0, GM_SIZE, ram), 0);
	build_elf(&e, 4);
	CHECK_EQ(parse(&e, &k, &why), 0);

	/* The file shrank after it was parsed: an error, not a short load. */
	fd = tmpfile_with(e.b, E_SEGA_OFF + 16);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(x86_kernel_load_fd(&gm, fd, &k), -EIO);
		close(fd);
	}
	/* A bad fd. */
	CHECK_EQ(x86_kernel_load_fd(&gm, -1, &k), -EBADF);
	/* Outside guest memory: refused before any read. */
	CHECK_EQ(x86_pread_guest(&gm, -1, GM_SIZE - 8, 0, 16), -EFAULT);
	CHECK_EQ(x86_pread_guest(&gm, -1, ~0ull - 4, 0, 16), -EFAULT);
	free(ram);
}

CHECK_MAIN(
	TEST_ENTRY(elf_valid_pvh4),
	TEST_ENTRY(elf_valid_pvh8),
	TEST_ENTRY(elf_valid_without_pvh),
	TEST_ENTRY(elf_load_start_is_lowest_segment),
	TEST_ENTRY(elf_truncated_header),
	TEST_ENTRY(elf_wrong_class_machine_type),
	TEST_ENTRY(elf_phdrs_outside_file),
	TEST_ENTRY(elf_segment_outside_file),
	TEST_ENTRY(elf_filesz_above_memsz),
	TEST_ENTRY(elf_segment_below_1mib),
	TEST_ENTRY(elf_segment_beyond_3gib),
	TEST_ENTRY(elf_entry_outside_kernel),
	TEST_ENTRY(elf_pvh_entry_outside_kernel),
	TEST_ENTRY(elf_note_past_segment),
	TEST_ENTRY(elf_pvh_note_bad_size),
	TEST_ENTRY(elf_other_xen_notes_ignored),
	TEST_ENTRY(elf_no_pt_load),
	TEST_ENTRY(elf_too_many_segments),
	TEST_ENTRY(bz_valid),
	TEST_ENTRY(bz_defaults_and_clamps),
	TEST_ENTRY(bz_refusals),
	TEST_ENTRY(bz_truncated),
	TEST_ENTRY(bz_short_header_has_no_init_size),
	TEST_ENTRY(garbage_is_noexec),
	TEST_ENTRY(load_copies_and_zero_fills),
	TEST_ENTRY(load_bzimage),
	TEST_ENTRY(load_refuses_what_does_not_fit),
	TEST_ENTRY(load_fd_matches_load),
	TEST_ENTRY(load_fd_refusals),
)
