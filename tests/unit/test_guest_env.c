/* guest/env: the login environment with the request's entries merged in. */
#include "guest/env.h"
#include "tests/unit/check.h"

#include <errno.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const login[] = {
	"HOME=/home/agent", "USER=agent", "LOGNAME=agent", "SHELL=/bin/bash",
	"PATH=/usr/local/bin:/usr/bin:/bin", "TERM=linux", "LANG=C.UTF-8", NULL,
};

/* out as one string, entries separated by ' ', for easy comparison. */
static const char *joined(const char *const *v, int n)
{
	static char s[1024];
	size_t off = 0;

	s[0] = '\0';
	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, sizeof(s) - off, "%s%s",
					i ? " " : "", v[i]);
	return s;
}

TEST(merge_table)
{
	static const struct {
		const char *name;
		const char *extra[6];
		const char *want;
	} cases[] = {
		{ "nothing added", { NULL },
		  "HOME=/home/agent USER=agent LOGNAME=agent SHELL=/bin/bash "
		  "PATH=/usr/local/bin:/usr/bin:/bin TERM=linux LANG=C.UTF-8" },
		{ "added at the end", { "FOO=bar", "EMPTY=", NULL },
		  "HOME=/home/agent USER=agent LOGNAME=agent SHELL=/bin/bash "
		  "PATH=/usr/local/bin:/usr/bin:/bin TERM=linux LANG=C.UTF-8 "
		  "FOO=bar EMPTY=" },
		{ "TERM replaced", { "TERM=xterm-256color", NULL },
		  "HOME=/home/agent USER=agent LOGNAME=agent SHELL=/bin/bash "
		  "PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "
		  "TERM=xterm-256color" },
		{ "several replaced, order of the request kept",
		  { "PATH=/x", "HOME=/", "A==b", NULL },
		  "USER=agent LOGNAME=agent SHELL=/bin/bash TERM=linux "
		  "LANG=C.UTF-8 PATH=/x HOME=/ A==b" },
		{ "duplicates passed on", { "A=1", "A=2", "LANG=", NULL },
		  "HOME=/home/agent USER=agent LOGNAME=agent SHELL=/bin/bash "
		  "PATH=/usr/local/bin:/usr/bin:/bin TERM=linux A=1 A=2 LANG=" },
		{ "a prefix is not the same key", { "HOM=x", "HOMEX=y", "TER=", NULL },
		  "HOME=/home/agent USER=agent LOGNAME=agent SHELL=/bin/bash "
		  "PATH=/usr/local/bin:/usr/bin:/bin TERM=linux LANG=C.UTF-8 "
		  "HOM=x HOMEX=y TER=" },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *out[32];
		int n = env_merge(login, cases[i].extra, out, NELEM(out));

		CHECK(n >= 0);
		if (n < 0)
			continue;
		CHECK(out[n] == NULL);
		if (strcmp(joined(out, n), cases[i].want) != 0) {
			fprintf(stderr, "  case '%s': got '%s'\n", cases[i].name,
				joined(out, n));
			CHECK(0);
		}
	}
}

TEST(room_is_checked)
{
	const char *extra[] = { "A=1", "B=2", NULL };
	const char *out[10];

	/* 7 + 2 entries and the NULL need 10. */
	CHECK_EQ(env_merge(login, extra, out, 10), 9);
	CHECK_EQ(env_merge(login, extra, out, 9), -E2BIG);
	CHECK_EQ(env_merge(login, extra, out, 1), -E2BIG);
	CHECK_EQ(env_merge(NULL, NULL, out, 1), 0);
	CHECK(out[0] == NULL);
	CHECK_EQ(env_merge(NULL, NULL, out, 0), -E2BIG);
}

TEST(same_key)
{
	CHECK(env_same_key("A=1", "A=2"));
	CHECK(env_same_key("A=", "A=x=y"));
	CHECK(!env_same_key("A=1", "AB=1"));
	CHECK(!env_same_key("AB=1", "A=1"));
	CHECK(!env_same_key("A", "A=1"));
	CHECK(env_same_key("A", "A"));
}

CHECK_MAIN(TEST_ENTRY(merge_table), TEST_ENTRY(room_is_checked),
	   TEST_ENTRY(same_key))
