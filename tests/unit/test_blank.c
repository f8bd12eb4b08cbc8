/* tools/airlock/blank: a sparse copy keeps the bytes and the holes, and a
 * blank disk is found by its size only once kept. */
#include "tools/airlock/blank.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/airlock-test-blank-XXXXXX";

static void path(char *out, const char *name)
{
	snprintf(out, 256, "%s/%s", dir, name);
}

TEST(sparse_copy_keeps_bytes_and_holes)
{
	char src[256], dst[256];
	static uint8_t a[1 << 20], b[1 << 20];
	struct stat st;
	int fd;

	path(src, "src");
	path(dst, "dst");
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, 64 << 20), 0);
	CHECK_EQ(pwrite(fd, "head", 4, 0), 4);
	CHECK_EQ(pwrite(fd, "middle", 6, 20 << 20), 6);
	CHECK_EQ(pwrite(fd, "tail", 4, (64 << 20) - 4), 4);
	close(fd);
	CHECK_EQ(blank_sparse_copy(src, dst), 0);
	CHECK_EQ(stat(dst, &st), 0);
	CHECK_EQ(st.st_size, 64 << 20);
	CHECK(st.st_blocks * 512 <= 1 << 20);	/* three small extents, not 64 MiB */
	CHECK_EQ(st.st_mode & 0777, 0600);
	for (off_t off = 0; off < (64 << 20); off += sizeof(a)) {
		int x = open(src, O_RDONLY), y = open(dst, O_RDONLY);

		CHECK_EQ(pread(x, a, sizeof(a), off), (ssize_t)sizeof(a));
		CHECK_EQ(pread(y, b, sizeof(b), off), (ssize_t)sizeof(b));
		CHECK(memcmp(a, b, sizeof(a)) == 0);
		close(x);
		close(y);
	}
	/* Never over an existing file. */
	CHECK_EQ(blank_sparse_copy(src, dst), -EEXIST);
	CHECK_EQ(blank_sparse_copy("/nonexistent", dst), -ENOENT);
}

TEST(blank_by_size)
{
	char disk[256], copy[256];
	int fd;

	path(disk, "disk");
	path(copy, "copy");
	CHECK_EQ(blank_copy(dir, copy, 1 << 20), -ENOENT);
	fd = open(disk, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK_EQ(ftruncate(fd, 1 << 20), 0);
	CHECK_EQ(pwrite(fd, "ext4", 4, 1024), 4);
	close(fd);
	blank_keep(dir, disk, 1 << 20);
	CHECK_EQ(blank_copy(dir, copy, 2 << 20), -ENOENT);	/* another size */
	CHECK_EQ(blank_copy(dir, copy, 1 << 20), 0);
	fd = open(copy, O_RDONLY);
	{
		char b[4];

		CHECK_EQ(pread(fd, b, 4, 1024), 4);
		CHECK(memcmp(b, "ext4", 4) == 0);
	}
	close(fd);
}

int main(void)
{
	static const struct check_test tests[] = {
		TEST_ENTRY(sparse_copy_keeps_bytes_and_holes),
		TEST_ENTRY(blank_by_size),
	};
	char cmd[64];
	int r;

	if (!mkdtemp(dir))
		return 1;
	r = check_run(tests, sizeof(tests) / sizeof(tests[0]));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
