/* tools/airlock/account: an account out of a passwd file, by name or by
 * uid; the first match wins; what is missing, too long or unreadable is an
 * error, never a wrong answer (and a line too long to read never loops). */
#include "tools/airlock/account.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char file[64];

static void write_file(const char *text)
{
	FILE *f;
	int fd;

	snprintf(file, sizeof(file), "/tmp/airlock-test-account.XXXXXX");
	fd = mkstemp(file);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

TEST(by_name_and_uid)
{
	struct account a;

	write_file("root:x:0:0:root:/root:/bin/bash\n"
		   "airlock-vmm:x:998:997:airlock sandbox VMMs:/nonexistent:/usr/sbin/nologin\n"
		   "ann:x:1000:1000:Ann:/home/ann:/bin/bash\n"
		   "ann2:x:1000:1001:Ann again:/home/ann2:/bin/bash\n");
	CHECK_EQ(account_find_in(file, "airlock-vmm", 0, &a), 0);
	CHECK_EQ(a.uid, 998);
	CHECK_EQ(a.gid, 997);
	CHECK_STR(a.home, "/nonexistent");
	/* By uid, the first of two. */
	CHECK_EQ(account_find_in(file, NULL, 1000, &a), 0);
	CHECK_STR(a.home, "/home/ann");
	CHECK_EQ(a.gid, 1000);
	/* A prefix of a name is not the name. */
	CHECK_EQ(account_find_in(file, "airlock", 0, &a), -ENOENT);
	CHECK_EQ(account_find_in(file, NULL, 4242, &a), -ENOENT);
	unlink(file);
	CHECK_EQ(account_find_in(file, "root", 0, &a), -ENOENT);
}

TEST(too_long)
{
	static char text[16384];
	struct account a;
	int n;

	/* A home longer than PATH_MAX: refused, not cut. */
	n = snprintf(text, sizeof(text), "deep:x:5:5::/");
	memset(text + n, 'd', PATH_MAX + 10);
	strcpy(text + n + PATH_MAX + 10, ":/bin/sh\n");
	write_file(text);
	CHECK_EQ(account_find_in(file, "deep", 0, &a), -ENAMETOOLONG);
	unlink(file);

	/* A line longer than the reader's buffer, before the one looked
	 * for: an error at once. */
	n = snprintf(text, sizeof(text), "long:x:6:6:");
	memset(text + n, 'g', 14000);
	strcpy(text + n + 14000, ":/home/long:/bin/sh\nann:x:1000:1000::/home/ann:/bin/sh\n");
	write_file(text);
	CHECK_EQ(account_find_in(file, "ann", 0, &a), -ERANGE);
	unlink(file);
}

CHECK_MAIN(TEST_ENTRY(by_name_and_uid), TEST_ENTRY(too_long))
