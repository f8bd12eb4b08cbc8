/* The snapshot's memory file: see snapshot_mem.h. */
#include "vmm/snapshot_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096u
#define MAX_REGIONS GM_MAX_REGIONS

_Static_assert(sizeof(struct snap_mem_header) == 40, "memory file header layout");
_Static_assert(sizeof(struct snap_mem_region) == 24, "memory region layout");

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int snap_mem_init(int fd, uint64_t mem_size, const uint8_t id[SNAP_ID_LEN])
{
	static uint8_t page[PAGE];
	struct snap_mem_header h = { .format = SNAP_MEM_FORMAT, .page_size = PAGE,
				     .mem_size = mem_size };
	int r;

	memcpy(h.magic, SNAP_MEM_MAGIC, sizeof(h.magic));
	memcpy(h.id, id, SNAP_ID_LEN);
	memset(page, 0, sizeof(page));
	memcpy(page, &h, sizeof(h));
	/* Empty first, so that whatever the file held becomes holes. */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)(SNAP_MEM_DATA_OFF + mem_size)) < 0)
		return -errno;
	r = pwrite_all(fd, page, sizeof(page), 0);
	return r;
}

static bool page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned int i = 0; i < PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

/* Pages [from, to) of RAM: runs of non-zero pages, one pwrite each. */
static int copy_range(int fd, const struct guest_mem *gm, size_t from, size_t to)
{
	size_t run = 0, start = 0;

	for (size_t off = from; off <= to; off += PAGE) {
		bool data = off < to && !page_zero(gm->base + off);
		int r;

		if (data) {
			if (!run)
				start = off;
			run += PAGE;
			continue;
		}
		if (!run)
			continue;
		r = pwrite_all(fd, gm->base + start, run, SNAP_MEM_DATA_OFF + start);
		if (r)
			return r;
		run = 0;
	}
	return 0;
}

int snap_mem_copy(int fd, const struct guest_mem *gm, int ram_fd)
{
	size_t end = gm->base_size & ~(size_t)(PAGE - 1);
	off_t data = 0, hole;

	/* A booted guest's memory is a few large runs and much untouched
	 * memory. Where RAM is a file, its holes say which without reading
	 * them (a read of a shared memfd's hole would allocate the page). */
	if (ram_fd < 0)
		return copy_range(fd, gm, 0, end);
	while ((size_t)data < end) {
		int r;

		data = lseek(ram_fd, data, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return 0;	/* holes to the end */
		if (data < 0)
			return errno == EINVAL ? copy_range(fd, gm, 0, end) : -errno;
		hole = lseek(ram_fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		/* Whole pages (holes are page-aligned in a memfd anyway). */
		data &= ~(off_t)(PAGE - 1);
		hole = (hole + PAGE - 1) & ~(off_t)(PAGE - 1);
		if ((size_t)hole > end)
			hole = (off_t)end;
		if ((r = copy_range(fd, gm, (size_t)data, (size_t)hole)))
			return r;
		data = hole;
	}
	return 0;
}

#define BAD(msg) do { *why = (msg); return -EBADMSG; } while (0)

int snap_mem_check(int fd, uint64_t mem_size, const uint8_t id[SNAP_ID_LEN],
		   const char **why)
{
	struct snap_mem_header h;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		BAD("the memory file is not a regular file");
	do
		n = pread(fd, &h, sizeof(h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(h) || memcmp(h.magic, SNAP_MEM_MAGIC, sizeof(h.magic)))
		BAD("the memory file is not an airlock snapshot's");
	if (h.format != SNAP_MEM_FORMAT || h.page_size != PAGE) {
		*why = "the memory file is of another format";
		return -ESTALE;
	}
	if (memcmp(h.id, id, SNAP_ID_LEN) != 0) {
		*why = "the memory file belongs to another snapshot";
		return -ESTALE;
	}
	if (h.mem_size != mem_size)
		BAD("the memory file is for another memory size than its snapshot");
	/* A shorter file would read as zeroes past its end (SIGBUS, in
	 * fact, for a mapping): a truncated copy must not pass. */
	if ((uint64_t)st.st_size != SNAP_MEM_DATA_OFF + mem_size)
		BAD("the memory file is truncated or of the wrong size");
	return 0;
}

static unsigned int regions(const struct guest_mem *gm, struct snap_mem_region *out)
{
	for (unsigned int i = 0; i < gm->n; i++)
		out[i] = (struct snap_mem_region){
			.gpa = gm->r[i].gpa,
			.size = gm->r[i].size,
			.file_off = SNAP_MEM_DATA_OFF + (uint64_t)(gm->r[i].host - gm->base),
		};
	return gm->n;
}

void snap_mem_section_write(const struct guest_mem *gm, struct snap_writer *w)
{
	struct snap_mem_region r[MAX_REGIONS];
	unsigned int n = regions(gm, r);

	snap_begin(w, SNAP_SEC_MEMORY, 0);
	snap_field(w, SNAP_F_MEM_REGIONS, r, n * sizeof(r[0]));
	snap_end(w);
}

int snap_mem_section_read(struct snap_file *f, const struct guest_mem *gm,
			  const char **why)
{
	struct snap_mem_region want[MAX_REGIONS];
	unsigned int n = regions(gm, want);
	struct snap_section *s = snap_find(f, SNAP_SEC_MEMORY, 0);
	const uint8_t *p;
	size_t len;
	int r;

	if (!s)
		BAD("no memory section");
	r = snap_get_var(s, SNAP_F_MEM_REGIONS, &p, &len, sizeof(want[0]),
			 sizeof(want), why);
	if (r)
		return r;
	/* The layout follows from the memory size, which the key matched:
	 * anything else is damage, or another VMM's layout. */
	if (len != n * sizeof(want[0]) || memcmp(p, want, len) != 0) {
		*why = "made with another guest memory layout";
		return -ESTALE;
	}
	return snap_section_done(s, why);
}
