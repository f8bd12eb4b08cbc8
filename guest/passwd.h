/* The user the command runs as, looked up in the text of /etc/passwd and
 * /etc/group. Hand-parsed on purpose: a static glibc's getpwnam() needs NSS
 * modules the guest does not have. Pure code, no I/O: the caller reads the
 * files; the text may be anything (the sandbox disk persists what a root
 * process in the guest once wrote there). */
#ifndef AIRLOCK_GUEST_PASSWD_H
#define AIRLOCK_GUEST_PASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PASSWD_NAME_MAX 32
#define PASSWD_PATH_MAX 4096
/* Supplementary groups kept, the primary one included. The kernel allows
 * 65536; a user in more than this many groups is a broken template. */
#define PASSWD_GROUPS_MAX 256

struct passwd_user {
	char name[PASSWD_NAME_MAX + 1];
	uid_t uid;
	gid_t gid;
	char home[PASSWD_PATH_MAX];	/* "/" if the entry has none */
	char shell[PASSWD_PATH_MAX];	/* "/bin/sh" if the entry has none */
	gid_t groups[PASSWD_GROUPS_MAX];	/* groups[0] is gid */
	size_t ngroups;
};

/* True for a name this parser accepts: 1..PASSWD_NAME_MAX bytes of
 * [A-Za-z0-9._-], not starting with '-'. */
bool passwd_name_valid(const char *name);

/* Looks name up in passwd text (len bytes, NUL bytes allowed): the first
 * line "name:pw:uid:gid:gecos:home:shell" wins, as with glibc's files
 * backend. Fills u (groups[] holds only gid). Returns 0, -ENOENT if no line
 * names the user, -EINVAL if that line is malformed (field count, an id that
 * is not a decimal number below 2^32-1, a NUL byte), -ENAMETOOLONG if its
 * home or shell does not fit. */
int passwd_find(const char *text, size_t len, const char *name,
		struct passwd_user *u);

/* Looks uid up: the first line whose uid field is uid (lines that cannot be
 * parsed are skipped). Fills u as passwd_find() does. Returns 0, -ENOENT if
 * no line has that uid, -EINVAL if the one that does has a name this
 * parser refuses or is malformed, -ENAMETOOLONG as above. */
int passwd_find_uid(const char *text, size_t len, uid_t uid,
		    struct passwd_user *u);

/* Adds to u->groups the gid of every line "group:pw:gid:a,b,c" of group
 * text whose member list names u->name, once each. Malformed lines are
 * skipped. Returns 0, or -E2BIG if more than PASSWD_GROUPS_MAX. */
int passwd_add_groups(const char *text, size_t len, struct passwd_user *u);

/* The user when there is no /etc/passwd entry for root: uid 0, /root. */
void passwd_builtin_root(struct passwd_user *u);

#endif
