/* lib/: the one size grammar, the clock and the bounded log. */
#include "tests/unit/check.h"
#include "lib/clock.h"
#include "lib/ratelog.h"
#include "lib/size.h"

#include <errno.h>
#include <stdlib.h>

TEST(size_mib)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t mib;
	} t[] = {
		{ "512", 0, 512 },
		{ "512M", 0, 512 },
		{ "512m", 0, 512 },
		{ "512MiB", 0, 512 },
		{ "512MB", 0, 512 },
		{ "2G", 0, 2048 },
		{ "2g", 0, 2048 },
		{ "2GiB", 0, 2048 },
		{ "1T", 0, 1048576 },
		{ "2048K", 0, 2 },
		{ "2047K", -EINVAL, 0 },	/* not a whole MiB */
		{ "0", -ERANGE, 0 },
		{ "0G", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "M", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "1 ", -EINVAL, 0 },
		{ "1X", -EINVAL, 0 },
		{ "1Gx", -EINVAL, 0 },
		{ "1iB", -EINVAL, 0 },
		{ "2T", -ERANGE, 0 },		/* over the 1 TiB limit below */
		{ "1048577", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "18014398509481984G", -ERANGE, 0 },	/* would wrap when shifted */
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t mib = 0;
		int r = size_parse_mib(t[i].in, 1048576, &mib);

		if (r != t[i].ret || (r == 0 && mib != t[i].mib))
			fprintf(stderr, "  case '%s': got %d, %llu\n", t[i].in, r,
				(unsigned long long)mib);
		CHECK_EQ(r, t[i].ret);
		if (r == 0)
			CHECK_EQ(mib, t[i].mib);
	}
}

TEST(size_bytes)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t bytes;
	} t[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64K", 0, 65536 },
		{ "64KiB", 0, 65536 },
		{ "64kb", 0, 65536 },
		{ "16M", 0, 16ull << 20 },
		{ "1G", 0, 1ull << 30 },
		{ "1T", 0, 1ull << 40 },
		{ "2T", -ERANGE, 0 },
		{ "4096B", -EINVAL, 0 },	/* a unit letter first */
		{ "1Q", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "K", -EINVAL, 0 },
		{ "1K ", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t bytes = 7;
		int r = size_parse(t[i].in, 1, 1ull << 40, &bytes);

		if (r != t[i].ret)
			fprintf(stderr, "  case '%s': got %d\n", t[i].in, r);
		CHECK_EQ(r, t[i].ret);
		if (r == 0)
			CHECK_EQ(bytes, t[i].bytes);
	}
	/* A bare number in another unit. */
	{
		uint64_t b = 0;

		CHECK_EQ(size_parse("3", 1ull << 20, 1ull << 40, &b), 0);
		CHECK_EQ(b, 3ull << 20);
	}
}

TEST(ratelog_bounds)
{
	struct ratelog r = RATELOG_INIT(3);
	bool last = true;
	int logged = 0, lasts = 0;

	for (int i = 0; i < 1000; i++) {
		if (ratelog_take(&r, &last)) {
			logged++;
			lasts += last;
		}
	}
	CHECK_EQ(logged, 3);
	CHECK_EQ(lasts, 1);
	CHECK_EQ(r.seen, 1000);
}

TEST(clock_moves_forward)
{
	uint64_t a = clock_ns();
	int64_t m = clock_ms();

	clock_sleep_ms(2);
	CHECK(clock_ns() >= a + 2000000);
	CHECK(clock_ms() >= m + 2);
}

CHECK_MAIN(TEST_ENTRY(size_mib), TEST_ENTRY(size_bytes), TEST_ENTRY(ratelog_bounds),
	   TEST_ENTRY(clock_moves_forward))
