/* Accounts as /etc/passwd lists them, read as a file (fgetpwent_r), not
 * through NSS: the CLI is linked statically, where NSS would load glibc's
 * shared modules at run time. The accounts the CLI looks up are its own
 * system user (made by useradd, so in /etc/passwd) and, only when HOME is
 * not set, the user's home. */
#ifndef AIRLOCK_TOOLS_AIRLOCK_ACCOUNT_H
#define AIRLOCK_TOOLS_AIRLOCK_ACCOUNT_H

#include <limits.h>
#include <sys/types.h>

struct account {
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
};

#define ACCOUNT_FILE "/etc/passwd"

/* The first entry of file named name, or (name NULL) with uid: 0 with *a
 * filled; -ENOENT if there is none, -ENAMETOOLONG if its home does not fit,
 * or -errno if the file cannot be read. */
int account_find_in(const char *file, const char *name, uid_t uid, struct account *a);

static inline int account_find(const char *name, uid_t uid, struct account *a)
{
	return account_find_in(ACCOUNT_FILE, name, uid, a);
}

#endif
