/* vmm/mem: the one checked path to guest memory. Every refusal must be a
 * NULL / -EFAULT with nothing copied, including sums that would wrap. */
#include "vmm/mem.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdint.h>

#define R0_GPA 0x1000ull
#define R0_SIZE 0x1000ull
#define R1_GPA 0x2000ull	/* directly after region 0 */
#define R1_SIZE 0x1000ull
#define HI_GPA 0x100000000ull

static uint8_t host0[R0_SIZE], host1[R1_SIZE], host2[64];

/* Two adjacent regions (backed by separate host buffers) and one at 4 GiB. */
static void setup(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
	memset(host0, 0xa0, sizeof(host0));
	memset(host1, 0xa1, sizeof(host1));
	memset(host2, 0xa2, sizeof(host2));
	CHECK_EQ(gm_add_region(gm, R0_GPA, R0_SIZE, host0), 0);
	CHECK_EQ(gm_add_region(gm, R1_GPA, R1_SIZE, host1), 0);
	CHECK_EQ(gm_add_region(gm, HI_GPA, sizeof(host2), host2), 0);
}

TEST(in_range)
{
	struct guest_mem gm;

	setup(&gm);
	CHECK(gm_ptr(&gm, R0_GPA, 1) == host0);
	CHECK(gm_ptr(&gm, R0_GPA + 0x10, 0x20) == host0 + 0x10);
	CHECK(gm_ptr(&gm, R0_GPA, R0_SIZE) == host0);
	CHECK(gm_ptr(&gm, R1_GPA + 5, 1) == host1 + 5);
	/* R0's end is R1's start: the byte there belongs to R1. */
	CHECK(gm_ptr(&gm, R1_GPA, 1) == host1);
	CHECK(gm_ptr(&gm, R1_GPA, R1_SIZE) == host1);
	CHECK(gm_ptr(&gm, HI_GPA + 63, 1) == host2 + 63);
}

TEST(last_byte_and_one_past)
{
	struct guest_mem gm;

	setup(&gm);
	CHECK(gm_ptr(&gm, R1_GPA + R1_SIZE - 1, 1) == host1 + R1_SIZE - 1);
	CHECK(gm_ptr(&gm, R1_GPA + R1_SIZE - 4, 4) == host1 + R1_SIZE - 4);
	CHECK(gm_ptr(&gm, R1_GPA + R1_SIZE - 4, 5) == NULL);
	CHECK(gm_ptr(&gm, R1_GPA + R1_SIZE, 1) == NULL);	/* nothing after R1 */
	CHECK(gm_ptr(&gm, R1_GPA, R1_SIZE + 1) == NULL);
	CHECK(gm_ptr(&gm, HI_GPA + sizeof(host2), 1) == NULL);
}

TEST(len_zero_at_region_end)
{
	struct guest_mem gm;

	setup(&gm);
	CHECK(gm_ptr(&gm, HI_GPA + sizeof(host2), 0) == host2 + sizeof(host2));
	CHECK(gm_ptr(&gm, R0_GPA, 0) == host0);
	/* Just before region 0, or one past the end of one past: outside. */
	CHECK(gm_ptr(&gm, R0_GPA - 1, 0) == NULL);
	CHECK(gm_ptr(&gm, HI_GPA + sizeof(host2) + 1, 0) == NULL);
}

TEST(wrapping_len_refused)
{
	struct guest_mem gm;

	setup(&gm);
	/* gpa + len wraps to a small number that would look in range. */
	CHECK(gm_ptr(&gm, R0_GPA + 0x10, UINT64_MAX) == NULL);
	CHECK(gm_ptr(&gm, R0_GPA + 0x10, UINT64_MAX - 0x10 - R0_GPA + 2) == NULL);
	CHECK(gm_ptr(&gm, HI_GPA, (uint64_t)0 - HI_GPA + R0_GPA + 1) == NULL);
	CHECK(gm_ptr(&gm, UINT64_MAX, 2) == NULL);
	CHECK(gm_ptr(&gm, UINT64_MAX, 1) == NULL);
}

TEST(beyond_every_region)
{
	struct guest_mem gm;

	setup(&gm);
	CHECK(gm_ptr(&gm, 0, 1) == NULL);
	CHECK(gm_ptr(&gm, R0_GPA - 1, 1) == NULL);
	CHECK(gm_ptr(&gm, 0x80000000ull, 1) == NULL);
	CHECK(gm_ptr(&gm, HI_GPA - 1, 1) == NULL);
	CHECK(gm_ptr(&gm, 0xffffffff00000000ull, 16) == NULL);
	CHECK_EQ(gm_region_end(&gm, R0_GPA + 5), R0_GPA + R0_SIZE);
	CHECK_EQ(gm_region_end(&gm, R1_GPA), R1_GPA + R1_SIZE);
	CHECK_EQ(gm_region_end(&gm, R1_GPA + R1_SIZE), 0);
	CHECK_EQ(gm_region_end(&gm, 0), 0);
}

TEST(spanning_adjacent_regions_refused)
{
	struct guest_mem gm;

	setup(&gm);
	/* Guest-contiguous, host-discontiguous: must never be one pointer. */
	CHECK(gm_ptr(&gm, R1_GPA - 1, 2) == NULL);
	CHECK(gm_ptr(&gm, R0_GPA, R0_SIZE + R1_SIZE) == NULL);
	CHECK(gm_ptr(&gm, R1_GPA - 8, 16) == NULL);
}

TEST(read_write_copy_and_refuse)
{
	struct guest_mem gm;
	uint8_t buf[16], pat[16];

	setup(&gm);
	memset(pat, 0x5c, sizeof(pat));
	CHECK_EQ(gm_write(&gm, R0_GPA + 0x100, pat, sizeof(pat)), 0);
	CHECK(host0[0x100] == 0x5c && host0[0x10f] == 0x5c && host0[0x110] == 0xa0);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ(gm_read(&gm, R0_GPA + 0x100, buf, sizeof(buf)), 0);
	CHECK(memcmp(buf, pat, sizeof(buf)) == 0);

	/* Straddling R0/R1: refused, and neither side touched. */
	CHECK_EQ(gm_write(&gm, R1_GPA - 8, pat, sizeof(pat)), -EFAULT);
	CHECK(host0[R0_SIZE - 8] == 0xa0 && host0[R0_SIZE - 1] == 0xa0);
	CHECK(host1[0] == 0xa1 && host1[7] == 0xa1);
	/* Off the end of the last region. */
	CHECK_EQ(gm_write(&gm, HI_GPA + sizeof(host2) - 8, pat, sizeof(pat)), -EFAULT);
	CHECK(host2[sizeof(host2) - 8] == 0xa2);
	CHECK_EQ(gm_write(&gm, UINT64_MAX - 3, pat, sizeof(pat)), -EFAULT);

	memset(buf, 0x77, sizeof(buf));
	CHECK_EQ(gm_read(&gm, R1_GPA - 8, buf, sizeof(buf)), -EFAULT);
	CHECK_EQ(gm_read(&gm, 0, buf, sizeof(buf)), -EFAULT);
	CHECK_EQ(gm_read(&gm, UINT64_MAX - 3, buf, sizeof(buf)), -EFAULT);
	for (size_t i = 0; i < sizeof(buf); i++)
		CHECK(buf[i] == 0x77);

	/* Zero-length copies at a region's end are fine. */
	CHECK_EQ(gm_read(&gm, R1_GPA + R1_SIZE, buf, 0), 0);
	CHECK_EQ(gm_write(&gm, R1_GPA + R1_SIZE, pat, 0), 0);
}

TEST(add_region_refusals)
{
	struct guest_mem gm;
	uint8_t h[16];

	memset(&gm, 0, sizeof(gm));
	CHECK_EQ(gm_add_region(&gm, 0x1000, 0, h), -EINVAL);
	CHECK_EQ(gm_add_region(&gm, 0x1000, 16, NULL), -EINVAL);
	CHECK_EQ(gm_add_region(&gm, UINT64_MAX - 7, 16, h), -EINVAL);
	CHECK_EQ(gm.n, 0);

	CHECK_EQ(gm_add_region(&gm, 0x1000, 0x1000, h), 0);
	/* Overlaps: same, inside, straddling either end, enclosing. */
	CHECK_EQ(gm_add_region(&gm, 0x1000, 0x1000, h), -EINVAL);
	CHECK_EQ(gm_add_region(&gm, 0x1800, 0x10, h), -EINVAL);
	CHECK_EQ(gm_add_region(&gm, 0x800, 0x801, h), -EINVAL);
	CHECK_EQ(gm_add_region(&gm, 0x1fff, 0x10, h), -EINVAL);
	CHECK_EQ(gm_add_region(&gm, 0, 0x10000, h), -EINVAL);
	CHECK_EQ(gm.n, 1);
	/* Touching is not overlapping. */
	CHECK_EQ(gm_add_region(&gm, 0x800, 0x800, h), 0);
	CHECK_EQ(gm_add_region(&gm, 0x2000, 0x800, h), 0);
	CHECK_EQ(gm.n, 3);
}

TEST(too_many_regions)
{
	struct guest_mem gm;
	uint8_t h[16];
	unsigned int i;

	memset(&gm, 0, sizeof(gm));
	for (i = 0; i < GM_MAX_REGIONS; i++)
		CHECK_EQ(gm_add_region(&gm, 0x10000ull * i, 16, h), 0);
	CHECK_EQ(gm_add_region(&gm, 0x10000ull * i, 16, h), -ENOSPC);
	CHECK_EQ(gm.n, GM_MAX_REGIONS);
}

CHECK_MAIN(
	TEST_ENTRY(in_range),
	TEST_ENTRY(last_byte_and_one_past),
	TEST_ENTRY(len_zero_at_region_end),
	TEST_ENTRY(wrapping_len_refused),
	TEST_ENTRY(beyond_every_region),
	TEST_ENTRY(spanning_adjacent_regions_refused),
	TEST_ENTRY(read_write_copy_and_refuse),
	TEST_ENTRY(add_region_refusals),
	TEST_ENTRY(too_many_regions),
)
