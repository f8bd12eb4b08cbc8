/* The airlock CLI's command-line values: sizes, numbers, names, -e. */
#include "tests/unit/check.h"
#include "tools/airlock/args.h"

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
		int r = args_size_mib(t[i].in, 1048576, &mib);

		if (r != t[i].ret || (r == 0 && mib != t[i].mib))
			fprintf(stderr, "  case '%s': got %d, %llu\n", t[i].in, r,
				(unsigned long long)mib);
		CHECK_EQ(r, t[i].ret);
		if (r == 0)
			CHECK_EQ(mib, t[i].mib);
	}
}

TEST(uint_range)
{
	unsigned long v = 0;

	CHECK_EQ(args_uint("1", 1, 64, &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(args_uint("64", 1, 64, &v), 0);
	CHECK_EQ(v, 64);
	CHECK_EQ(args_uint("0", 1, 64, &v), -EINVAL);
	CHECK_EQ(args_uint("65", 1, 64, &v), -EINVAL);
	CHECK_EQ(args_uint("", 1, 64, &v), -EINVAL);
	CHECK_EQ(args_uint("-1", 1, 64, &v), -EINVAL);
	CHECK_EQ(args_uint("2x", 1, 64, &v), -EINVAL);
	CHECK_EQ(args_uint("99999999999999999999999", 1, 64, &v), -EINVAL);
}

TEST(names)
{
	static const struct {
		const char *name;
		bool ok;
	} t[] = {
		{ "a", true }, { "app", true }, { "my-app_2.x", true }, { "0day", true },
		{ "", false }, { "-x", false }, { ".x", false }, { "_x", false },
		{ "a/b", false }, { "..", false }, { ".", false }, { "a b", false },
		{ "a\nb", false }, { "caf\xc3\xa9", false },
		{ "0123456789012345678901234567890123456789012345678901234567890123", false },
		{ "012345678901234567890123456789012345678901234567890123456789012", true },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (args_name_ok(t[i].name, 63) != t[i].ok)
			fprintf(stderr, "  case '%s'\n", t[i].name);
		CHECK(args_name_ok(t[i].name, 63) == t[i].ok);
	}
}

TEST(name_stem)
{
	static const struct {
		const char *path;
		size_t max;
		const char *stem;
	} t[] = {
		{ "/home/u/app", 56, "app" },
		{ "/home/u/app/", 56, "app" },
		{ "/home/u/my app (copy)", 56, "my-app-copy" },
		{ "/home/u/.hidden", 56, "hidden" },
		{ "/home/u/caf\xc3\xa9", 56, "caf" },
		{ "/", 56, "sandbox" },
		{ "/home/u/...", 56, "sandbox" },
		{ "/x/abcdefghij", 4, "abcd" },
		{ "/x/ab--cd", 56, "ab--cd" },
		{ "/x/ab  cd", 3, "ab" },	/* no trailing '-' */
		{ "relative", 56, "relative" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char out[64];

		args_name_stem(t[i].path, out, t[i].max);
		CHECK_STR(out, t[i].stem);
		CHECK(args_name_ok(out, 63));
	}
}

TEST(hash_is_stable)
{
	/* FNV-1a test vectors. */
	CHECK(args_hash("") == 0xcbf29ce484222325ull);
	CHECK(args_hash("a") == 0xaf63dc4c8601ec8cull);
	CHECK(args_hash("/home/u/app") != args_hash("/home/v/app"));
}

static char *fake_getenv(const char *k)
{
	if (strcmp(k, "HOST_VAR") == 0)
		return "from host";
	if (strcmp(k, "EMPTY") == 0)
		return "";
	return NULL;
}

TEST(env)
{
	char buf[64];
	const char *out;

	CHECK_EQ(args_env("A=1", fake_getenv, buf, sizeof(buf), &out), 0);
	CHECK_STR(out, "A=1");
	CHECK_EQ(args_env("A=", fake_getenv, buf, sizeof(buf), &out), 0);
	CHECK_STR(out, "A=");
	CHECK_EQ(args_env("A=b=c", fake_getenv, buf, sizeof(buf), &out), 0);
	CHECK_STR(out, "A=b=c");
	CHECK_EQ(args_env("HOST_VAR", fake_getenv, buf, sizeof(buf), &out), 0);
	CHECK_STR(out, "HOST_VAR=from host");
	CHECK_EQ(args_env("EMPTY", fake_getenv, buf, sizeof(buf), &out), 0);
	CHECK_STR(out, "EMPTY=");
	/* Not set here: nothing passes. */
	CHECK_EQ(args_env("UNSET_VAR", fake_getenv, buf, sizeof(buf), &out), 0);
	CHECK(out == NULL);
	CHECK_EQ(args_env("", fake_getenv, buf, sizeof(buf), &out), -EINVAL);
	CHECK_EQ(args_env("=x", fake_getenv, buf, sizeof(buf), &out), -EINVAL);
	CHECK_EQ(args_env("HOST_VAR", fake_getenv, buf, 8, &out), -E2BIG);
	CHECK(out == NULL);
}

CHECK_MAIN(TEST_ENTRY(size_mib), TEST_ENTRY(uint_range), TEST_ENTRY(names),
	   TEST_ENTRY(name_stem), TEST_ENTRY(hash_is_stable), TEST_ENTRY(env))
