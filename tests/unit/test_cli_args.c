/* The airlock CLI's command-line values: numbers, names, -e. */
#include "tests/unit/check.h"
#include "tools/airlock/args.h"

#include <errno.h>
#include <stdlib.h>

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

CHECK_MAIN(TEST_ENTRY(uint_range), TEST_ENTRY(names),
	   TEST_ENTRY(name_stem), TEST_ENTRY(hash_is_stable), TEST_ENTRY(env))
