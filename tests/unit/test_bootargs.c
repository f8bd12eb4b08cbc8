/* vmm/bootargs: the guest kernel command line. airlock-init must get the
 * command back exactly (decoded with proto's own decoder), extras come
 * last, and a line that does not fit is an error, never a cut. */
#include "vmm/bootargs.h"
#include "proto/cmdline.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>

/* Is word a whole space-separated parameter of line? */
static bool has_param(const char *line, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = line; (p = strstr(p, word)) != NULL; p++)
		if ((p == line || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* Decode airlock.cmd= of line and compare with argv. */
static int cmd_matches(const char *line, int argc, char *const argv[])
{
	char buf[4096];
	char *out[32];
	size_t len = 0;
	const char *tok = cmdline_find(line, CMDLINE_CMD_KEY, &len);
	int n;

	if (!tok)
		return -1;
	n = cmdline_decode_argv(tok, len, buf, sizeof(buf), out, 31);
	if (n != argc)
		return -2;
	for (int i = 0; i < argc; i++)
		if (strcmp(out[i], argv[i]))
			return -3;
	return 0;
}

TEST(fixed_params)
{
	char buf[1024];
	int n = bootargs_build(buf, sizeof(buf), false, 0, NULL, NULL);

	CHECK(n > 0);
	CHECK_EQ(n, strlen(buf));
	CHECK(has_param(buf, "console=ttyS0"));
	CHECK(has_param(buf, "8250.nr_uarts=2"));
	CHECK(has_param(buf, "reboot=k"));
	CHECK(has_param(buf, "panic=-1"));
	CHECK(!has_param(buf, "quiet"));
	CHECK(strstr(buf, CMDLINE_CMD_KEY) == NULL);	/* no command given */
	CHECK(buf[n - 1] != ' ');
}

TEST(quiet_only_when_asked)
{
	char buf[1024];
	char *argv[] = { "true" };

	CHECK(bootargs_build(buf, sizeof(buf), true, 0, NULL, NULL) > 0);
	CHECK(has_param(buf, "quiet"));
	CHECK(bootargs_build(buf, sizeof(buf), true, 1, argv, "x=1") > 0);
	CHECK(has_param(buf, "quiet"));
	CHECK(bootargs_build(buf, sizeof(buf), false, 1, argv, "x=1") > 0);
	CHECK(!has_param(buf, "quiet"));
}

TEST(command_roundtrip)
{
	char buf[2048];
	char *argv[] = { "sh", "-c", "echo \"hello, world\" 'it''s' a=b && exit 3",
			 "", "two  spaces", "comma,comma", "100%", "--", "quiet" };
	int argc = (int)(sizeof(argv) / sizeof(argv[0]));
	int n = bootargs_build(buf, sizeof(buf), false, argc, argv, NULL);

	CHECK(n > 0);
	CHECK_EQ(cmd_matches(buf, argc, argv), 0);
	/* The encoded command is a single parameter with nothing the kernel
	 * would split or unquote, so an argument cannot become a parameter. */
	const char *tok = strstr(buf, CMDLINE_CMD_KEY);
	CHECK(tok != NULL);
	if (tok) {
		size_t len = strcspn(tok, " ");
		CHECK(tok[len] == '\0');
		CHECK(memchr(tok, '"', len) == NULL);
	}
	CHECK(!has_param(buf, "quiet"));
	CHECK(!has_param(buf, "--"));

	char *one[] = { "/bin/true" };
	CHECK(bootargs_build(buf, sizeof(buf), true, 1, one, NULL) > 0);
	CHECK_EQ(cmd_matches(buf, 1, one), 0);
}

TEST(extras_last)
{
	char buf[2048];
	char *argv[] = { "ls", "-l" };
	const char *extra = "virtio_mmio.device=4K@0xd0000000:5 -- init-arg";
	int n = bootargs_build(buf, sizeof(buf), false, 2, argv, extra);
	const char *cmd = strstr(buf, CMDLINE_CMD_KEY), *ex = strstr(buf, extra);

	CHECK(n > 0);
	CHECK(cmd != NULL && ex != NULL);
	CHECK(cmd < ex);
	CHECK(ex != NULL && ex > buf && ex[-1] == ' ');
	CHECK(ex != NULL && strcmp(ex, extra) == 0);	/* at the very end */
	CHECK(strstr(buf, "console=ttyS0") < ex);
	CHECK(strstr(buf, "panic=-1") < ex);
	CHECK_EQ(cmd_matches(buf, 2, argv), 0);

	/* An empty extra adds nothing, not even a space. */
	char plain[2048];
	int m = bootargs_build(plain, sizeof(plain), false, 2, argv, NULL);
	CHECK_EQ(bootargs_build(buf, sizeof(buf), false, 2, argv, ""), m);
	CHECK_STR(buf, plain);
}

/* At exactly its length + 1 it fits; one byte less is -E2BIG. */
static void check_exact_fit(bool quiet, int argc, char *const argv[],
			    const char *extra)
{
	char big[4096];
	int n = bootargs_build(big, sizeof(big), quiet, argc, argv, extra);
	char *buf;

	CHECK(n > 0);
	if (n <= 0)
		return;
	buf = malloc((size_t)n + 1);	/* exact, so ASan sees any overrun */
	if (!buf)
		return;
	CHECK_EQ(bootargs_build(buf, (size_t)n + 1, quiet, argc, argv, extra), n);
	CHECK_STR(buf, big);
	CHECK_EQ(bootargs_build(buf, (size_t)n, quiet, argc, argv, extra), -E2BIG);
	CHECK_EQ(bootargs_build(buf, (size_t)n - 1, quiet, argc, argv, extra), -E2BIG);
	free(buf);
}

TEST(too_big)
{
	char small[16], buf[2048];
	char *argv[] = { "echo", "a b c" };
	static char huge[8192];
	char *hv[] = { "echo", huge };

	CHECK_EQ(bootargs_build(small, sizeof(small), false, 0, NULL, NULL), -E2BIG);
	CHECK_EQ(bootargs_build(small, 0, false, 0, NULL, NULL), -E2BIG);
	CHECK_EQ(bootargs_build(small, 1, false, 0, NULL, NULL), -E2BIG);

	memset(huge, 'x', sizeof(huge) - 1);
	CHECK_EQ(bootargs_build(buf, sizeof(buf), false, 2, hv, NULL), -E2BIG);
	/* Escaping triples a byte: 700 spaces do not fit in 2048. */
	memset(huge, ' ', 700);
	huge[700] = '\0';
	CHECK_EQ(bootargs_build(buf, sizeof(buf), false, 2, hv, NULL), -E2BIG);
	huge[600] = '\0';
	CHECK(bootargs_build(buf, sizeof(buf), false, 2, hv, NULL) > 0);
	CHECK_EQ(cmd_matches(buf, 2, hv), 0);
	memset(huge, 'e', sizeof(huge) - 1);
	CHECK_EQ(bootargs_build(buf, sizeof(buf), false, 2, argv, huge), -E2BIG);

	check_exact_fit(false, 0, NULL, NULL);
	check_exact_fit(true, 0, NULL, NULL);
	check_exact_fit(false, 2, argv, NULL);
	check_exact_fit(true, 2, argv, "foo=bar");
	check_exact_fit(false, 0, NULL, "foo=bar");
}

CHECK_MAIN(
	TEST_ENTRY(fixed_params),
	TEST_ENTRY(quiet_only_when_asked),
	TEST_ENTRY(command_roundtrip),
	TEST_ENTRY(extras_last),
	TEST_ENTRY(too_big),
)
