/* vmm/snapshot_mem: the memory file of a snapshot. Guest RAM copied into
 * it reads back the same, zero pages stay holes, and the header refuses a
 * file of another snapshot, format, size, or one cut short; the memory
 * section refuses another layout. */
#include "vmm/snapshot_mem.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEM (1u << 20)

static const uint8_t id[SNAP_ID_LEN] = { 9, 8, 7 };

static int tmpfile_fd(void)
{
	char path[] = "/tmp/airlock-test-snapmem-XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	unlink(path);
	return fd;
}

TEST(copy_and_check)
{
	struct guest_mem gm = { 0 };
	uint8_t *ram = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *img;
	struct stat st;
	const char *why = NULL;
	int fd = tmpfile_fd();

	CHECK(ram != MAP_FAILED);
	gm.base = ram;
	gm.base_size = MEM;
	CHECK_EQ(gm_add_region(&gm, 0, MEM, ram), 0);
	ram[0] = 1;
	memset(ram + 5 * 4096, 0xaa, 3 * 4096);
	ram[MEM - 1] = 2;

	CHECK_EQ(snap_mem_init(fd, MEM, id), 0);
	CHECK_EQ(snap_mem_copy(fd, &gm, -1), 0);
	CHECK_EQ(snap_mem_check(fd, MEM, id, &why), 0);
	img = mmap(NULL, MEM, PROT_READ, MAP_PRIVATE, fd, SNAP_MEM_DATA_OFF);
	CHECK(img != MAP_FAILED);
	CHECK(memcmp(img, ram, MEM) == 0);
	munmap(img, MEM);
	/* 5 data pages and the header: the rest are holes. */
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK(st.st_blocks * 512 <= 64 * 1024);

	/* Another snapshot's, another size, cut short, not ours at all. */
	{
		uint8_t other[SNAP_ID_LEN] = { 1 };

		CHECK_EQ(snap_mem_check(fd, MEM, other, &why), -ESTALE);
		CHECK_STR(why, "the memory file belongs to another snapshot");
		CHECK_EQ(snap_mem_check(fd, 2 * MEM, id, &why), -EBADMSG);
		CHECK_EQ(ftruncate(fd, SNAP_MEM_DATA_OFF + MEM - 4096), 0);
		CHECK_EQ(snap_mem_check(fd, MEM, id, &why), -EBADMSG);
		CHECK_STR(why, "the memory file is truncated or of the wrong size");
		CHECK_EQ(pwrite(fd, "nope", 4, 0), 4);
		CHECK_EQ(snap_mem_check(fd, MEM, id, &why), -EBADMSG);
		CHECK_STR(why, "the memory file is not an airlock snapshot's");
		CHECK_EQ(ftruncate(fd, 10), 0);
		CHECK_EQ(snap_mem_check(fd, MEM, id, &why), -EBADMSG);
	}
	close(fd);
	munmap(ram, MEM);
}

/* RAM in a memfd, as the VMM has it: its holes are skipped unread (a read
 * would allocate them), its data copied, its zero pages still holes. */
TEST(copy_from_memfd)
{
	struct guest_mem gm = { 0 };
	int ram_fd = memfd_create("test-ram", MFD_CLOEXEC), fd = tmpfile_fd();
	uint8_t *ram, *img;
	struct stat st;
	const char *why = NULL;

	CHECK(ram_fd >= 0);
	CHECK_EQ(ftruncate(ram_fd, MEM), 0);
	ram = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, ram_fd, 0);
	CHECK(ram != MAP_FAILED);
	gm.base = ram;
	gm.base_size = MEM;
	CHECK_EQ(gm_add_region(&gm, 0, MEM, ram), 0);
	ram[4096 + 7] = 1;
	memset(ram + 9 * 4096, 0, 4096);	/* allocated, but zero */
	memset(ram + 20 * 4096, 0x55, 2 * 4096);
	ram[MEM - 1] = 3;

	CHECK_EQ(snap_mem_init(fd, MEM, id), 0);
	CHECK_EQ(snap_mem_copy(fd, &gm, ram_fd), 0);
	CHECK_EQ(snap_mem_check(fd, MEM, id, &why), 0);
	/* Nothing of the memfd's holes was allocated by copying. */
	CHECK_EQ(fstat(ram_fd, &st), 0);
	CHECK(st.st_blocks * 512 <= 5 * 4096);
	img = mmap(NULL, MEM, PROT_READ, MAP_PRIVATE, fd, SNAP_MEM_DATA_OFF);
	CHECK(img != MAP_FAILED);
	CHECK(memcmp(img, ram, MEM) == 0);
	munmap(img, MEM);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK(st.st_blocks * 512 <= 64 * 1024);
	close(fd);
	munmap(ram, MEM);
	close(ram_fd);
}

TEST(section_layout)
{
	static uint8_t ram[3 * 4096];
	struct guest_mem a = { .base = ram, .base_size = sizeof(ram) }, b = a;
	struct snap_key k = { .nr_vcpus = 1, .mem_size = sizeof(ram) };
	struct snap_writer w;
	struct snap_file f;
	const char *why;
	uint8_t *buf;
	size_t len;

	CHECK_EQ(gm_add_region(&a, 0, 4096, ram), 0);
	CHECK_EQ(gm_add_region(&a, 1ull << 32, 2 * 4096, ram + 4096), 0);
	CHECK_EQ(gm_add_region(&b, 0, 2 * 4096, ram), 0);
	CHECK_EQ(gm_add_region(&b, 1ull << 32, 4096, ram + 2 * 4096), 0);

	snap_writer_init(&w, &k, id, "test");
	snap_mem_section_write(&a, &w);
	snap_begin(&w, SNAP_SEC_IRQCHIP, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_PIT, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_CLOCK, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_VCPU, 0); snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), 0);
	CHECK_EQ(snap_parse(&f, buf, len, &k, "test", &why), 0);
	CHECK_EQ(snap_mem_section_read(&f, &a, &why), 0);
	CHECK_EQ(snap_mem_section_read(&f, &b, &why), -ESTALE);
	CHECK_STR(why, "made with another guest memory layout");
	snap_file_free(&f);
	free(buf);
}

CHECK_MAIN(TEST_ENTRY(copy_and_check), TEST_ENTRY(copy_from_memfd), TEST_ENTRY(section_layout))
