/* Accounts from the passwd file: see account.h. */
#include "tools/airlock/account.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

int account_find_in(const char *file, const char *name, uid_t uid, struct account *a)
{
	char buf[3 * PATH_MAX];	/* a whole line: a home up to PATH_MAX and more */
	struct passwd pw, *e;
	FILE *f = fopen(file, "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	for (;;) {
		int err = fgetpwent_r(f, &pw, buf, sizeof(buf), &e);

		/* ENOENT: the end. A line longer than buf (ERANGE) is left
		 * where it is, to be read again with more room: a passwd file
		 * with one is not one we read. */
		if (err) {
			if (err != ENOENT)
				r = -err;
			break;
		}
		if (name ? strcmp(e->pw_name, name) != 0 : e->pw_uid != uid)
			continue;
		a->uid = e->pw_uid;
		a->gid = e->pw_gid;
		r = snprintf(a->home, sizeof(a->home), "%s", e->pw_dir) >= (int)sizeof(a->home)
			    ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return r;
}
