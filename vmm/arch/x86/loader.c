/* x86-64 kernel image parsing and loading: see loader.h. The image comes
 * from the user, not the guest, but it is still untrusted input: a wrong
 * file must give a message, never a wild copy. */
#include "vmm/arch/x86/loader.h"
#include "vmm/arch/x86/layout.h"

#include <elf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define BZ_HDR_OFFSET 0x1f1
#define BZ_MIN_VERSION 0x020c	/* 2.12: xloadflags, hence XLF_KERNEL_64 */
#define BZ_ENTRY64 0x200	/* 64-bit entry, from the protected-mode code's start */

/* Is [off, off + len) inside a buffer of size bytes? */
static int in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static int fail(const char **why, const char *msg, int err)
{
	*why = msg;
	return err;
}

static int add_segment(struct x86_kernel *k, uint64_t file_off,
		       uint64_t file_size, uint64_t paddr, uint64_t mem_size,
		       const char **why)
{
	if (k->nseg >= X86_MAX_SEGMENTS)
		return fail(why, "too many loadable segments", -EINVAL);
	if (paddr + mem_size < paddr || paddr + mem_size > X86_MMIO_GAP_START)
		return fail(why, "a segment does not fit below 3 GiB", -EINVAL);
	if (paddr < X86_HIMEM_START)
		return fail(why, "a segment loads below 1 MiB, over the boot data",
			    -EINVAL);
	k->seg[k->nseg++] = (struct x86_segment){ file_off, file_size, paddr,
						  mem_size };
	if (k->nseg == 1 || paddr < k->load_start)
		k->load_start = paddr;
	if (paddr + mem_size > k->load_end)
		k->load_end = paddr + mem_size;
	return 0;
}

/* Walk the notes of one PT_NOTE segment looking for Xen's PVH entry. */
static int elf_find_pvh(const uint8_t *p, uint64_t len, uint64_t *entry,
			const char **why)
{
	uint64_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_len, desc_len;

		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		name_len = ((uint64_t)nh.n_namesz + 3) & ~3ull;
		desc_len = ((uint64_t)nh.n_descsz + 3) & ~3ull;
		if (name_len > len - off || desc_len > len - off - name_len)
			return fail(why, "an ELF note runs past its segment", -EINVAL);
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(p + off, "Xen", 4) == 0) {
			const uint8_t *d = p + off + name_len;

			if (nh.n_descsz == 4) {
				uint32_t v;
				memcpy(&v, d, 4);
				*entry = v;
			} else if (nh.n_descsz == 8) {
				uint64_t v;
				memcpy(&v, d, 8);
				*entry = v;
			} else {
				return fail(why, "the PVH entry note has a bad size", -EINVAL);
			}
		}
		off += name_len + desc_len;
	}
	return 0;
}

static int parse_elf(const uint8_t *img, size_t size, struct x86_kernel *k,
		     const char **why)
{
	Elf64_Ehdr eh;

	if (size < sizeof(eh))
		return fail(why, "truncated ELF header", -EINVAL);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(why, "not a 64-bit little-endian ELF file", -EINVAL);
	if (eh.e_machine != EM_X86_64)
		return fail(why, "ELF file is not for x86-64", -EINVAL);
	if (eh.e_type != ET_EXEC)
		return fail(why, "ELF file is not an executable (vmlinux)", -EINVAL);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > 64 ||
	    !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size))
		return fail(why, "ELF program headers are missing or outside the file",
			    -EINVAL);

	k->kind = X86_KERNEL_ELF;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		int r;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (!in_file(ph.p_offset, ph.p_filesz, size))
			return fail(why, "an ELF segment lies outside the file", -EINVAL);
		if (ph.p_type == PT_NOTE) {
			r = elf_find_pvh(img + ph.p_offset, ph.p_filesz,
					 &k->pvh_entry, why);
			if (r)
				return r;
			continue;
		}
		if (ph.p_filesz > ph.p_memsz)
			return fail(why, "an ELF segment is larger in the file than in memory",
				    -EINVAL);
		if (ph.p_memsz == 0)
			continue;
		r = add_segment(k, ph.p_offset, ph.p_filesz, ph.p_paddr,
				ph.p_memsz, why);
		if (r)
			return r;
	}
	if (k->nseg == 0)
		return fail(why, "ELF file has nothing to load", -EINVAL);
	if (eh.e_entry < k->load_start || eh.e_entry >= k->load_end)
		return fail(why, "ELF entry point is not inside the loaded kernel",
			    -EINVAL);
	if (k->pvh_entry && (k->pvh_entry < k->load_start ||
			     k->pvh_entry >= k->load_end))
		return fail(why, "PVH entry point is not inside the loaded kernel",
			    -EINVAL);
	k->entry64 = eh.e_entry;
	k->cmdline_max = X86_CMDLINE_MAX - 1;
	k->initrd_max = X86_MMIO_GAP_START - 1;
	return 0;
}

static int parse_bzimage(const uint8_t *img, size_t size, struct x86_kernel *k,
			 const char **why)
{
	uint64_t setup_size, end;
	size_t hdr_end;
	unsigned int setup_sects;

	k->kind = X86_KERNEL_BZIMAGE;
	hdr_end = 0x202 + (size_t)img[0x201];	/* the jump at 0x200 skips the header */
	if (hdr_end > size)
		return fail(why, "bzImage is truncated inside its setup header", -EINVAL);
	if (hdr_end > BZ_HDR_OFFSET + sizeof(k->hdr))
		hdr_end = BZ_HDR_OFFSET + sizeof(k->hdr);
	k->hdr_len = hdr_end - BZ_HDR_OFFSET;
	memcpy(&k->hdr, img + BZ_HDR_OFFSET, k->hdr_len);

	if (k->hdr.boot_flag != 0xaa55)
		return fail(why, "bzImage has no boot flag", -EINVAL);
	if (k->hdr.version < BZ_MIN_VERSION)
		return fail(why, "bzImage boot protocol is older than 2.12", -EINVAL);
	if (!(k->hdr.xloadflags & XLF_KERNEL_64))
		return fail(why, "bzImage has no 64-bit entry point", -EINVAL);
	if (!(k->hdr.loadflags & LOADED_HIGH))
		return fail(why, "bzImage is not loadable at 1 MiB", -EINVAL);
	setup_sects = k->hdr.setup_sects ? k->hdr.setup_sects : 4;
	setup_size = (uint64_t)(setup_sects + 1) * 512;
	if (setup_size >= size)
		return fail(why, "bzImage is truncated (no protected-mode code)",
			    -EINVAL);
	if (size - setup_size <= BZ_ENTRY64)
		return fail(why, "bzImage is truncated before its 64-bit entry point",
			    -EINVAL);
	if (k->hdr.init_size == 0)
		return fail(why, "bzImage does not say how much memory it needs",
			    -EINVAL);

	if (add_segment(k, setup_size, size - setup_size, X86_BZIMAGE_LOAD,
			size - setup_size, why))
		return -EINVAL;
	/* The decompressor unpacks the kernel at pref_address (or in place)
	 * and needs init_size bytes there: keep the initrd clear of it. */
	end = (k->hdr.pref_address > X86_BZIMAGE_LOAD ? k->hdr.pref_address
						       : X86_BZIMAGE_LOAD) +
	      k->hdr.init_size;
	if (end < k->hdr.init_size || end > X86_MMIO_GAP_START)	/* wrapped, or too high */
		return fail(why, "bzImage needs more than 3 GiB to unpack", -EINVAL);
	if (end > k->load_end)
		k->load_end = end;
	k->entry64 = X86_BZIMAGE_LOAD + BZ_ENTRY64;
	k->cmdline_max = k->hdr.cmdline_size;
	if (k->cmdline_max == 0 || k->cmdline_max > X86_CMDLINE_MAX - 1)
		k->cmdline_max = X86_CMDLINE_MAX - 1;
	k->initrd_max = k->hdr.initrd_addr_max ? k->hdr.initrd_addr_max
					       : 0x37ffffff;
	return 0;
}

int x86_kernel_parse(const uint8_t *img, size_t size, struct x86_kernel *k,
		     const char **why)
{
	memset(k, 0, sizeof(*k));
	if (size >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0)
		return parse_elf(img, size, k, why);
	if (size >= 0x206 && memcmp(img + 0x202, "HdrS", 4) == 0)
		return parse_bzimage(img, size, k, why);
	return fail(why, "not a kernel image (neither an ELF vmlinux nor a bzImage)",
		    -ENOEXEC);
}

int x86_kernel_load(const struct guest_mem *gm, const uint8_t *img,
		    size_t size, const struct x86_kernel *k)
{
	for (unsigned int i = 0; i < k->nseg; i++) {
		const struct x86_segment *s = &k->seg[i];
		uint8_t *dst = gm_ptr(gm, s->paddr, s->mem_size);

		if (!dst || !in_file(s->file_off, s->file_size, size))
			return -EFAULT;
		memcpy(dst, img + s->file_off, s->file_size);
		memset(dst + s->file_size, 0, s->mem_size - s->file_size);
	}
	return 0;
}

int x86_pread_guest(const struct guest_mem *gm, int fd, uint64_t gpa,
		    uint64_t off, uint64_t len)
{
	uint8_t *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	while (len > 0) {
		ssize_t n = pread(fd, dst, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;	/* EOF: the file shrank */
		dst += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int x86_kernel_load_fd(const struct guest_mem *gm, int fd,
		       const struct x86_kernel *k)
{
	for (unsigned int i = 0; i < k->nseg; i++) {
		const struct x86_segment *s = &k->seg[i];
		uint8_t *dst = gm_ptr(gm, s->paddr, s->mem_size);
		int r;

		if (!dst)
			return -EFAULT;
		r = x86_pread_guest(gm, fd, s->paddr, s->file_off, s->file_size);
		if (r)
			return r;
		memset(dst + s->file_size, 0, s->mem_size - s->file_size);
	}
	return 0;
}
