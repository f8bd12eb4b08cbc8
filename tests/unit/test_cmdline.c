/* proto/cmdline: argv <-> "airlock.cmd=" token. */
#include "proto/cmdline.h"
#include "tests/unit/check.h"

#include <errno.h>

static int roundtrip(int argc, char *const argv[])
{
	char tok[1024], buf[1024];
	char *out[16];
	int n = cmdline_encode_argv(tok, sizeof(tok), argc, argv);

	if (n < 0)
		return n;
	CHECK(strchr(tok, ' ') == NULL && strchr(tok, '"') == NULL);
	n = cmdline_decode_argv(tok, strlen(tok), buf, sizeof(buf), out, 15);
	if (n != argc)
		return -1;
	for (int i = 0; i < argc; i++)
		if (strcmp(out[i], argv[i]))
			return -1;
	return out[argc] == NULL ? 0 : -1;
}

TEST(roundtrip_plain)
{
	char *argv[] = { "true" };
	CHECK_EQ(roundtrip(1, argv), 0);
}

TEST(roundtrip_awkward_bytes)
{
	char *argv[] = { "sh", "-c", "exit 42", "", "a,b%c\"d'e=f\n\t\xff", "--" };
	CHECK_EQ(roundtrip(6, argv), 0);
}

TEST(encode_is_percent_escaped)
{
	char tok[64];
	char *argv[] = { "a b", "c,d" };
	CHECK_EQ(cmdline_encode_argv(tok, sizeof(tok), 2, argv), 11);
	CHECK_STR(tok, "a%20b,c%2cd");
}

TEST(encode_refuses_small_buffer)
{
	char tok[4];
	char *argv[] = { "abcd" };
	CHECK_EQ(cmdline_encode_argv(tok, sizeof(tok), 1, argv), -ENOSPC);
	CHECK_EQ(cmdline_encode_argv(tok, sizeof(tok), 0, argv), -EINVAL);
}

TEST(decode_refuses_bad_escapes)
{
	char buf[64];
	char *out[8];
	CHECK_EQ(cmdline_decode_argv("a%2", 3, buf, sizeof(buf), out, 7), -EINVAL);
	CHECK_EQ(cmdline_decode_argv("a%zz", 4, buf, sizeof(buf), out, 7), -EINVAL);
	CHECK_EQ(cmdline_decode_argv("a b", 3, buf, sizeof(buf), out, 7), -EINVAL);
	CHECK_EQ(cmdline_decode_argv("a\"", 2, buf, sizeof(buf), out, 7), -EINVAL);
}

TEST(decode_bounds)
{
	char buf[4];
	char *out[3];
	CHECK_EQ(cmdline_decode_argv("a,b,c", 5, buf, sizeof(buf), out, 2), -E2BIG);
	CHECK_EQ(cmdline_decode_argv("abcd", 4, buf, sizeof(buf), out, 2), -E2BIG);
	CHECK_EQ(cmdline_decode_argv("abc", 3, buf, sizeof(buf), out, 2), 1);
}

TEST(find_whole_parameter)
{
	size_t len = 0;
	const char *v;

	v = cmdline_find("console=ttyS0 xairlock.cmd=no airlock.cmd=sh,-c quiet",
			 CMDLINE_CMD_KEY, &len);
	CHECK(v != NULL);
	if (v)
		CHECK(len == 5 && memcmp(v, "sh,-c", 5) == 0);
	CHECK(cmdline_find("a=\"airlock.cmd=x y\" b", CMDLINE_CMD_KEY, &len) == NULL);
	CHECK(cmdline_find("x=\"a airlock.cmd=y\" b", CMDLINE_CMD_KEY, &len) == NULL);
	CHECK(cmdline_find("", CMDLINE_CMD_KEY, &len) == NULL);
}

CHECK_MAIN(TEST_ENTRY(roundtrip_plain), TEST_ENTRY(roundtrip_awkward_bytes),
	   TEST_ENTRY(encode_is_percent_escaped),
	   TEST_ENTRY(encode_refuses_small_buffer),
	   TEST_ENTRY(decode_refuses_bad_escapes), TEST_ENTRY(decode_bounds),
	   TEST_ENTRY(find_whole_parameter))
