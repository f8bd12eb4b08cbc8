/* Who runs the command: the user named by airlock.user, found in the root's
 * own /etc/passwd and /etc/group (passwd.c parses them), its login-like
 * environment, and the drop from root to it in the command's process. */
#include "guest/init.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PASSWD_FILE "/etc/passwd"
#define GROUP_FILE "/etc/group"
/* Far beyond any real passwd or group file; bounds what init allocates. */
#define ACCOUNT_FILE_MAX (1u << 20)

/* Nothing from the host: what a login shell would set, and no more. */
#define PATH_USER "PATH=/usr/local/bin:/usr/bin:/bin"
#define PATH_ROOT "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The whole file in a fresh buffer (*text, to free), or -errno. */
static int read_account_file(const char *path, char **text, size_t *len)
{
	struct stat st;
	char *buf;
	int ret;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size >= ACCOUNT_FILE_MAX)
		return -EFBIG;
	/* Sized from stat, but the read is bounded by the buffer whatever
	 * the file does meanwhile. */
	buf = malloc((size_t)st.st_size + 2);
	if (!buf)
		return -ENOMEM;
	ret = init_read_file(path, buf, (size_t)st.st_size + 2);
	if (ret < 0) {
		free(buf);
		return ret == -E2BIG ? -EFBIG : ret;
	}
	*text = buf;
	*len = (size_t)ret;
	return 0;
}

/* The passwd entry of name, or of uid when name is NULL. */
static int find_user(const char *name, uid_t uid, struct passwd_user *pw,
		     char *why, size_t size)
{
	char *text = NULL, who[PASSWD_NAME_MAX + 32];
	size_t len = 0;
	bool root;
	int ret;

	if (name)
		snprintf(who, sizeof(who), "user '%s'", name);
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)uid);
	root = name ? strcmp(name, "root") == 0 : uid == 0;
	ret = read_account_file(PASSWD_FILE, &text, &len);
	if (ret == 0) {
		ret = name ? passwd_find(text, len, name, pw)
			   : passwd_find_uid(text, len, uid, pw);
		free(text);
		if (ret == -ENOENT && root)
			goto builtin_root;
		if (ret == -ENOENT)
			snprintf(why, size, "no %s in %s", who, PASSWD_FILE);
		else if (ret < 0)
			snprintf(why, size, "the line for %s in %s is "
				 "malformed: %s", who, PASSWD_FILE,
				 strerror(-ret));
		return ret;
	}
	/* The initramfs has no /etc/passwd: root is all it knows. */
	if (ret == -ENOENT && root)
		goto builtin_root;
	if (ret == -ENOENT)
		snprintf(why, size, "no %s: there is no %s", who, PASSWD_FILE);
	else
		snprintf(why, size, "cannot read %s to find %s: %s",
			 PASSWD_FILE, who, strerror(-ret));
	return ret;
builtin_root:
	passwd_builtin_root(pw);
	return 0;
}

static int find_groups(struct passwd_user *pw, char *why, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	ret = read_account_file(GROUP_FILE, &text, &len);
	if (ret == -ENOENT)
		return 0;	/* no supplementary groups, like getgrouplist */
	if (ret < 0) {
		snprintf(why, size, "cannot read %s for the groups of '%s': %s",
			 GROUP_FILE, pw->name, strerror(-ret));
		return ret;
	}
	ret = passwd_add_groups(text, len, pw);
	free(text);
	if (ret < 0)
		snprintf(why, size, "user '%s' is in more than %d groups in %s",
			 pw->name, PASSWD_GROUPS_MAX, GROUP_FILE);
	return ret;
}

int init_user_find(const char *name, uid_t uid, struct init_user *u,
		   char *why, size_t size)
{
	size_t n = 0;
	int ret;

	ret = find_user(name, uid, &u->pw, why, size);
	if (ret == 0)
		ret = find_groups(&u->pw, why, size);
	if (ret < 0)
		return ret;

	/* The sizes in init.h hold the longest name and path passwd.c
	 * accepts, so none of these is cut short. */
	snprintf(u->env_home, sizeof(u->env_home), "HOME=%s", u->pw.home);
	snprintf(u->env_shell, sizeof(u->env_shell), "SHELL=%s", u->pw.shell);
	snprintf(u->env_user, sizeof(u->env_user), "USER=%s", u->pw.name);
	snprintf(u->env_logname, sizeof(u->env_logname), "LOGNAME=%s",
		 u->pw.name);
	u->envp[n++] = u->env_home;
	u->envp[n++] = u->env_user;
	u->envp[n++] = u->env_logname;
	u->envp[n++] = u->env_shell;
	u->envp[n++] = u->pw.uid == 0 ? PATH_ROOT : PATH_USER;
	u->envp[n++] = "TERM=linux";
	u->envp[n++] = "LANG=C.UTF-8";
	u->envp[n] = NULL;
	return 0;
}

int init_user_lookup(const struct init_ctx *ctx, const char *name,
		     struct init_user *u)
{
	char why[256];
	int ret = init_user_find(name, 0, u, why, sizeof(why));

	if (ret == -ENOENT)
		init_log(ctx, "%s: the template must have it, or pass "
			 "airlock.user=", why);
	else if (ret < 0)
		init_log(ctx, "%s", why);
	return ret;
}

int init_user_become(const struct passwd_user *pw, const char **what)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	/* Groups and gid first: once the uid is dropped they cannot be. */
	*what = "setgroups";
	if (setgroups(pw->ngroups, pw->groups) < 0)
		return -errno;
	*what = "setgid";
	if (setresgid(pw->gid, pw->gid, pw->gid) < 0)
		return -errno;
	*what = "setuid";
	if (setresuid(pw->uid, pw->uid, pw->uid) < 0)
		return -errno;
	/* Never run as root by accident: check what the kernel now says. */
	*what = "check the new credentials";
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return -errno;
	if (r != pw->uid || e != pw->uid || s != pw->uid ||
	    rg != pw->gid || eg != pw->gid || sg != pw->gid)
		return -EPERM;
	if (pw->uid != 0 && setuid(0) == 0)
		return -EPERM;
	return 0;
}
