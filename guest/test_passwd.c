/* guest/passwd: the user and its groups from /etc/passwd and /etc/group
 * text, including text that is broken or hostile. */
#include "guest/passwd.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdlib.h>

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/bash\n"
	"agentx:x:7:7::/home/agentx:/bin/sh\n"
	"agent:x:1000:1000:Agent,,,:/home/agent:/bin/bash\n"
	"agent:x:1001:1001::/second:/bin/sh\n"
	"nohome:x:1002:1002:::\n"
	"last:x:1003:1004::/home/last:/bin/zsh";

static int find(const char *text, size_t len, const char *name,
		struct passwd_user *u)
{
	memset(u, 0xaa, sizeof(*u));
	return passwd_find(text, len, name, u);
}

static int find_line(const char *line, struct passwd_user *u)
{
	return find(line, strlen(line), "u", u);
}

TEST(finds_user_first_line_wins)
{
	struct passwd_user u;

	CHECK_EQ(find(passwd, strlen(passwd), "agent", &u), 0);
	CHECK_STR(u.name, "agent");
	CHECK_EQ(u.uid, 1000);
	CHECK_EQ(u.gid, 1000);
	CHECK_STR(u.home, "/home/agent");
	CHECK_STR(u.shell, "/bin/bash");
	CHECK_EQ(u.ngroups, 1);
	CHECK_EQ(u.groups[0], 1000);
}

TEST(name_is_a_whole_field)
{
	struct passwd_user u;

	CHECK_EQ(find(passwd, strlen(passwd), "agen", &u), -ENOENT);
	CHECK_EQ(find(passwd, strlen(passwd), "agentx", &u), 0);
	CHECK_EQ(u.uid, 7);
	CHECK_EQ(find(passwd, strlen(passwd), "bob", &u), -ENOENT);
	CHECK_EQ(find("", 0, "root", &u), -ENOENT);
}

TEST(last_line_without_newline)
{
	struct passwd_user u;

	CHECK_EQ(find(passwd, strlen(passwd), "last", &u), 0);
	CHECK_EQ(u.gid, 1004);
	CHECK_STR(u.shell, "/bin/zsh");
	/* The length bounds the text, not a NUL: cut to "last:x:", the line
	 * is malformed; cut to "las", it is absent. */
	CHECK_EQ(find(passwd, strlen(passwd) - 30, "last", &u), -EINVAL);
	CHECK_EQ(find(passwd, strlen(passwd) - 34, "last", &u), -ENOENT);
}

TEST(empty_home_and_shell_get_defaults)
{
	struct passwd_user u;

	CHECK_EQ(find(passwd, strlen(passwd), "nohome", &u), 0);
	CHECK_STR(u.home, "/");
	CHECK_STR(u.shell, "/bin/sh");
}

TEST(malformed_lines_refused)
{
	static const char *const bad[] = {
		"u:x:1:1::/h",			/* 6 fields */
		"u:x:1:1::/h:/bin/sh:extra",	/* 8 fields */
		"u:x::1::/h:/bin/sh",		/* empty uid */
		"u:x:1::/h:/bin/sh:",		/* fields shifted */
		"u:x:-1:1::/h:/bin/sh",
		"u:x:+1:1::/h:/bin/sh",
		"u:x:1 :1::/h:/bin/sh",
		"u:x:0x10:1::/h:/bin/sh",
		"u:x:4294967295:1::/h:/bin/sh",	/* (uid_t)-1 */
		"u:x:9999999999:1::/h:/bin/sh",
		"u:x:12345678901:1::/h:/bin/sh",
		"u:x:1:4294967296::/h:/bin/sh",
		"u:x:1:1::home:/bin/sh",	/* relative home */
		"u:",
	};
	struct passwd_user u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = find_line(bad[i], &u);

		if (ret != -EINVAL)
			fprintf(stderr, "line %zu '%s': %d\n", i, bad[i], ret);
		CHECK_EQ(ret, -EINVAL);
	}
	CHECK_EQ(find_line("u", &u), -ENOENT);
	/* The largest valid id. */
	CHECK_EQ(find_line("u:x:4294967294:0::/h:/bin/sh", &u), 0);
	CHECK_EQ(u.uid, 4294967294u);
}

TEST(nul_bytes)
{
	static const char in_other[] = "a:x:1:1::/a\0b:/bin/sh\nu:x:5:5::/h:/s\n";
	static const char in_home[] = "u:x:5:5::/h\0x:/s\n";
	struct passwd_user u;

	CHECK_EQ(find(in_other, sizeof(in_other) - 1, "u", &u), 0);
	CHECK_EQ(u.uid, 5);
	CHECK_EQ(find(in_home, sizeof(in_home) - 1, "u", &u), -EINVAL);
}

TEST(long_home_refused)
{
	size_t n = PASSWD_PATH_MAX + 64;
	char *line = malloc(n + 32);
	struct passwd_user u;

	CHECK(line != NULL);
	if (!line)
		return;
	strcpy(line, "u:x:1:1::/");
	memset(line + strlen(line), 'h', n);
	strcpy(line + 10 + n, ":/bin/sh");
	CHECK_EQ(find_line(line, &u), -ENAMETOOLONG);
	/* Just fitting: PASSWD_PATH_MAX - 1 bytes. */
	strcpy(line + 10 + PASSWD_PATH_MAX - 2, ":/bin/sh");
	CHECK_EQ(find_line(line, &u), 0);
	CHECK_EQ(strlen(u.home), PASSWD_PATH_MAX - 1);
	free(line);
}

TEST(names)
{
	struct passwd_user u;

	CHECK(passwd_name_valid("agent"));
	CHECK(passwd_name_valid("a.b_c-1"));
	CHECK(passwd_name_valid("01234567890123456789012345678901"));
	CHECK(!passwd_name_valid("012345678901234567890123456789012"));
	CHECK(!passwd_name_valid(""));
	CHECK(!passwd_name_valid("-x"));
	CHECK(!passwd_name_valid("a:b"));
	CHECK(!passwd_name_valid("a b"));
	CHECK(!passwd_name_valid("a\n"));
	CHECK(!passwd_name_valid("+"));
	/* A name with ':' would match inside a line. */
	CHECK_EQ(find(passwd, strlen(passwd), "agent:x", &u), -EINVAL);
}

static const char group[] =
	"root:x:0:\n"
	"wheel:x:10:root,agent\n"
	"audio:x:29:bob,agent,carol\n"
	"prefix:x:30:agentx,xagent,agen\n"
	"broken:x:31\n"
	"badgid:x:abc:agent\n"
	"primary:x:1000:agent\n"
	"again:x:10:agent\n"
	"trailing:x:32:agent,\n"
	"empty:x:33:\n"
	"last:x:34:agent";

TEST(groups_of_member)
{
	struct passwd_user u;

	CHECK_EQ(find(passwd, strlen(passwd), "agent", &u), 0);
	CHECK_EQ(passwd_add_groups(group, strlen(group), &u), 0);
	CHECK_EQ(u.ngroups, 5);
	CHECK_EQ(u.groups[0], 1000);	/* primary, once */
	CHECK_EQ(u.groups[1], 10);	/* wheel, once */
	CHECK_EQ(u.groups[2], 29);
	CHECK_EQ(u.groups[3], 32);
	CHECK_EQ(u.groups[4], 34);
}

TEST(groups_none)
{
	struct passwd_user u;

	CHECK_EQ(find(passwd, strlen(passwd), "nohome", &u), 0);
	CHECK_EQ(passwd_add_groups(group, strlen(group), &u), 0);
	CHECK_EQ(u.ngroups, 1);
	CHECK_EQ(passwd_add_groups("", 0, &u), 0);
	CHECK_EQ(u.ngroups, 1);
}

TEST(groups_too_many)
{
	size_t size = (PASSWD_GROUPS_MAX + 1) * (size_t)32;
	char *text = malloc(size);
	struct passwd_user u;
	size_t n = 0;

	CHECK(text != NULL);
	if (!text)
		return;
	passwd_builtin_root(&u);
	for (int i = 1; i <= PASSWD_GROUPS_MAX; i++)
		n += (size_t)snprintf(text + n, size - n, "g%d:x:%d:root\n", i, i);
	/* With the primary group, one too many. */
	CHECK_EQ(passwd_add_groups(text, n, &u), -E2BIG);
	CHECK_EQ(u.ngroups, PASSWD_GROUPS_MAX);
	free(text);
}

TEST(builtin_root)
{
	struct passwd_user u;

	passwd_builtin_root(&u);
	CHECK_STR(u.name, "root");
	CHECK_EQ(u.uid, 0);
	CHECK_EQ(u.gid, 0);
	CHECK_STR(u.home, "/root");
	CHECK_STR(u.shell, "/bin/sh");
	CHECK_EQ(u.ngroups, 1);
}

TEST(find_by_uid)
{
	static const char odd[] =
		"broken line\n"
		"x:x:notanumber:1::/x:/bin/sh\n"
		"-bad:x:2000:1::/b:/bin/sh\n"
		"bad name:x:2001:1::/b:/bin/sh\n"
		"averyveryveryveryveryverylongname1:x:2002:1::/b:/bin/sh\n"
		"ok:x:2003:9:::\n"
		"relhome:x:2004:1::home:/bin/sh\n";
	struct passwd_user u;

	memset(&u, 0xaa, sizeof(u));
	CHECK_EQ(passwd_find_uid(passwd, strlen(passwd), 1000, &u), 0);
	CHECK_STR(u.name, "agent");
	CHECK_EQ(u.uid, 1000);
	CHECK_EQ(u.gid, 1000);
	CHECK_STR(u.home, "/home/agent");
	CHECK_STR(u.shell, "/bin/bash");
	CHECK_EQ(u.ngroups, 1);
	/* First line with the uid wins; the name comes from that line. */
	CHECK_EQ(passwd_find_uid(passwd, strlen(passwd), 0, &u), 0);
	CHECK_STR(u.name, "root");
	CHECK_EQ(passwd_find_uid(passwd, strlen(passwd), 1003, &u), 0);
	CHECK_STR(u.name, "last");
	CHECK_EQ(passwd_find_uid(passwd, strlen(passwd), 1004, &u), -ENOENT);
	CHECK_EQ(passwd_find_uid("", 0, 0, &u), -ENOENT);
	/* Unreadable lines are skipped; a name we refuse is refused. */
	CHECK_EQ(passwd_find_uid(odd, strlen(odd), 1, &u), -ENOENT);
	CHECK_EQ(passwd_find_uid(odd, strlen(odd), 2000, &u), -EINVAL);
	CHECK_EQ(passwd_find_uid(odd, strlen(odd), 2001, &u), -EINVAL);
	CHECK_EQ(passwd_find_uid(odd, strlen(odd), 2002, &u), -EINVAL);
	CHECK_EQ(passwd_find_uid(odd, strlen(odd), 2004, &u), -EINVAL);
	CHECK_EQ(passwd_find_uid(odd, strlen(odd), 2003, &u), 0);
	CHECK_STR(u.name, "ok");
	CHECK_EQ(u.gid, 9);
	CHECK_STR(u.home, "/");
}

int main(void)
{
	static const struct check_test tests[] = {
		TEST_ENTRY(finds_user_first_line_wins),
		TEST_ENTRY(name_is_a_whole_field),
		TEST_ENTRY(last_line_without_newline),
		TEST_ENTRY(empty_home_and_shell_get_defaults),
		TEST_ENTRY(malformed_lines_refused),
		TEST_ENTRY(nul_bytes),
		TEST_ENTRY(long_home_refused),
		TEST_ENTRY(names),
		TEST_ENTRY(groups_of_member),
		TEST_ENTRY(groups_none),
		TEST_ENTRY(groups_too_many),
		TEST_ENTRY(builtin_root),
		TEST_ENTRY(find_by_uid),
	};

	return check_run(tests, sizeof(tests) / sizeof(tests[0]));
}
