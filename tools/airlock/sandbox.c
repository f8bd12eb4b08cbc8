/* Sandboxes on the host: see sandbox.h. Everything a sandbox owns lives in
 * its folder, so removing the folder removes the sandbox; a lock file in it
 * says whether a VM runs on it. */
#include "tools/airlock/sandbox.h"
#include "tools/airlock/account.h"
#include "lib/size.h"
#include "tools/airlock/args.h"
#include "tools/airlock/blank.h"
#include "tools/airlock/msg.h"
#include "proto/guestparams.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AIRLOCK_BUILD_VMM
#error "AIRLOCK_BUILD_VMM: the build's airlock-vmm, set by meson"
#endif


static int copy_path(char *dst, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int copy_path(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int paths_resolve(struct airlock_paths *p)
{
	const char *v, *home;
	int r = 0;

	v = getenv("AIRLOCK_HOME");
	if (v && *v) {
		r = copy_path(p->home, sizeof(p->home), "%s", v);
	} else if ((v = getenv("XDG_DATA_HOME")) && *v == '/') {
		r = copy_path(p->home, sizeof(p->home), "%s/airlock", v);
	} else {
		static struct account acct;

		home = getenv("HOME");
		if ((!home || *home != '/') && account_find(NULL, getuid(), &acct) == 0)
			home = acct.home;
		if (!home || *home != '/') {
			say("no home directory to keep sandboxes in: set HOME or AIRLOCK_HOME");
			return -ENOENT;
		}
		r = copy_path(p->home, sizeof(p->home), "%s/.local/share/airlock", home);
	}
	v = getenv("AIRLOCK_VMM");
	if (r == 0)
		r = copy_path(p->vmm, sizeof(p->vmm), "%s", v && *v ? v : AIRLOCK_BUILD_VMM);
	v = getenv("AIRLOCK_INITRD");
	if (r == 0)
		r = copy_path(p->initrd, sizeof(p->initrd), "%s",
			      v && *v ? v : AIRLOCK_BUILD_INITRD);
	v = getenv("AIRLOCK_KERNEL");
	if (r == 0 && v && *v)
		r = copy_path(p->kernel, sizeof(p->kernel), "%s", v);
	else if (r == 0)
		r = copy_path(p->kernel, sizeof(p->kernel), "%s/kernel/vmlinux", p->home);
	if (r)
		say("a path from AIRLOCK_HOME, XDG_DATA_HOME or HOME is too long");
	return r;
}

int template_find(const struct airlock_paths *p, const char *what,
		  struct template_ref *t)
{
	char dir[PATH_MAX], manifest[PATH_MAX];
	struct stat st;
	json_t *j, *v;

	if (strchr(what, '/')) {
		if (!realpath(what, dir)) {
			say("template folder '%s': %s", what, strerror(errno));
			return -errno;
		}
	} else {
		if (!args_name_ok(what, TEMPLATE_NAME_MAX)) {
			say("'%s' is not a template name (letters, digits, '_', '.', '-')", what);
			return -EINVAL;
		}
		if (copy_path(manifest, sizeof(manifest), "%s/templates/%s", p->home, what) ||
		    !realpath(manifest, dir)) {
			say("no template '%s' in %s/templates (./dev build makes 'test' and 'base'; "
			    "rootfs/build NAME builds one)", what, p->home);
			return -ENOENT;
		}
	}
	if (copy_path(t->dir, sizeof(t->dir), "%s", dir) ||
	    copy_path(t->image, sizeof(t->image), "%s/rootfs.ext4", dir) ||
	    copy_path(manifest, sizeof(manifest), "%s/manifest.json", dir))
		return -ENAMETOOLONG;
	if (stat(t->image, &st) < 0 || !S_ISREG(st.st_mode) ||
	    access(manifest, R_OK) < 0) {
		say("%s is not a template: it needs rootfs.ext4 and manifest.json", dir);
		return -ENOENT;
	}
	if (!strchr(what, '/')) {
		snprintf(t->name, sizeof(t->name), "%s", what);
		return 0;
	}
	/* A folder: its manifest's name, else the folder's. */
	j = json_load_file(manifest, 0, NULL);
	v = json_object_get(j, "name");
	if (json_is_string(v) && args_name_ok(json_string_value(v), TEMPLATE_NAME_MAX)) {
		snprintf(t->name, sizeof(t->name), "%s", json_string_value(v));
	} else {
		args_name_stem(strrchr(dir, '/') + 1, t->name, sizeof(t->name) - 1);
	}
	json_decref(j);
	return 0;
}

bool sandbox_name_ok(const char *name)
{
	return args_name_ok(name, SANDBOX_NAME_MAX);
}

void sandbox_name_for_dir(const char *dir, char *out, size_t size)
{
	char stem[SANDBOX_NAME_MAX + 1];

	args_name_stem(dir, stem, SANDBOX_STEM_MAX);
	snprintf(out, size, "%s-%06llx", stem,
		 (unsigned long long)(args_hash(dir) & 0xffffff));
}

void sandbox_name_random(const char *base, char *out, size_t size)
{
	char stem[SANDBOX_NAME_MAX + 1];
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 8;
	args_name_stem(base, stem, SANDBOX_STEM_MAX);
	snprintf(out, size, "%s-%06x", stem, r & 0xffffff);
}

static int sandbox_paths(struct sandbox *sb, const struct airlock_paths *p,
			 const char *name)
{
	if (!sandbox_name_ok(name)) {
		say("'%s' is not a sandbox name: 1 to %d letters, digits, '_', '.', '-', "
		    "starting with a letter or digit", name, SANDBOX_NAME_MAX);
		return -EINVAL;
	}
	memset(sb, 0, sizeof(*sb));
	sb->lock_fd = -1;
	snprintf(sb->name, sizeof(sb->name), "%s", name);
	if (copy_path(sb->dir, sizeof(sb->dir), "%s/sandboxes/%s", p->home, name))
		return -ENAMETOOLONG;
	/* The VMM makes "<sock>_<port>" paths beside it: keep room for them. */
	if (copy_path(sb->sock, sizeof(sb->sock) - 11, "%s/vsock.sock", sb->dir)) {
		say("the sandbox folder %s is too deep for a Unix socket path (%zu bytes "
		    "at most): set AIRLOCK_HOME to a shorter path", sb->dir,
		    sizeof(sb->sock) - 12 - strlen("/vsock.sock"));
		return -ENAMETOOLONG;
	}
	return 0;
}

static int load_settings(struct sandbox *sb)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *j, *v;
	struct sandbox_settings *s = &sb->set;

	if (copy_path(path, sizeof(path), "%s/settings.json", sb->dir))
		return -ENAMETOOLONG;
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		say("sandbox '%s': cannot read %s: %s (line %d)", sb->name, path,
		    jerr.text, jerr.line);
		return -EINVAL;
	}
	memset(s, 0, sizeof(*s));
	v = json_object_get(j, "template");
	if (json_is_string(v))
		snprintf(s->template_name, sizeof(s->template_name), "%s", json_string_value(v));
	v = json_object_get(j, "template_dir");
	if (json_is_string(v))
		snprintf(s->template_dir, sizeof(s->template_dir), "%s", json_string_value(v));
	v = json_object_get(j, "memory_mib");
	s->mem_mib = json_is_integer(v) && json_integer_value(v) > 0 ?
		     (uint64_t)json_integer_value(v) : SANDBOX_DEFAULT_MEM_MIB;
	v = json_object_get(j, "cpus");
	s->cpus = json_is_integer(v) && json_integer_value(v) > 0 &&
			  json_integer_value(v) <= SANDBOX_MAX_CPUS ?
		  (unsigned int)json_integer_value(v) : SANDBOX_DEFAULT_CPUS;
	v = json_object_get(j, "disk_bytes");
	s->disk_bytes = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
	v = json_object_get(j, "created");
	s->created = json_is_integer(v) ? json_integer_value(v) : 0;
	json_decref(j);
	if (!s->template_name[0] || !s->template_dir[0]) {
		say("sandbox '%s': %s names no template", sb->name, path);
		return -EINVAL;
	}
	return 0;
}

int sandbox_save_settings(const struct sandbox *sb)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	const struct sandbox_settings *s = &sb->set;
	json_t *j;
	int r = 0;

	if (copy_path(path, sizeof(path), "%s/settings.json", sb->dir) ||
	    copy_path(tmp, sizeof(tmp), "%s/.settings.json.tmp", sb->dir))
		return -ENAMETOOLONG;
	j = json_pack("{s:s, s:s, s:s, s:I, s:i, s:I, s:I}",
		      "name", sb->name,
		      "template", s->template_name,
		      "template_dir", s->template_dir,
		      "memory_mib", (json_int_t)s->mem_mib,
		      "cpus", (int)s->cpus,
		      "disk_bytes", (json_int_t)s->disk_bytes,
		      "created", (json_int_t)s->created);
	if (!j)
		return -ENOMEM;
	/* Whole or not at all: a crash leaves the old file. */
	if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 ||
	    rename(tmp, path) < 0) {
		r = errno ? -errno : -EIO;
		say("cannot write %s: %s", path, strerror(-r));
		unlink(tmp);
	}
	json_decref(j);
	return r;
}

/* The sandbox's folder, without reading its settings. */
static int open_dir(struct sandbox *sb, const struct airlock_paths *p,
		    const char *name)
{
	struct stat st;
	int r;

	r = sandbox_paths(sb, p, name);
	if (r)
		return r;
	if (lstat(sb->dir, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		say("%s is not a sandbox folder", sb->dir);
		return -ENOTDIR;
	}
	return 0;
}

int sandbox_open(struct sandbox *sb, const struct airlock_paths *p,
		 const char *name)
{
	int r = open_dir(sb, p, name);

	return r ? r : load_settings(sb);
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* Removes a folder tree without following links out of it. */
static int rm_tree(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 &&
	    errno != ENOENT)
		return -errno;
	return 0;
}

/* mkfs.ext4 from e2fsprogs: the sbin folders may not be on a user's PATH. */
static const char *find_mkfs(void)
{
	static const char *const where[] = {
		"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4",
	};

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* A sparse ext4 file: nothing is written but the metadata (~300 KiB for
 * 16 GiB), and assume_storage_prezeroed marks the inode tables as zeroed
 * so the guest kernel does not fill them in (and the file) later. */
static int make_disk(const char *path, uint64_t bytes, const char *label)
{
	const char *mkfs = find_mkfs();
	char size[32], log[PATH_MAX + 8];
	int fd, st;
	pid_t pid;

	if (!mkfs) {
		say("mkfs.ext4 not found: install e2fsprogs");
		return -ENOENT;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		say("cannot create the sandbox disk %s: %s", path, strerror(errno));
		return -errno;
	}
	if (ftruncate(fd, (off_t)bytes) < 0) {
		int e = errno;

		say("cannot size the sandbox disk %s: %s", path, strerror(e));
		close(fd);
		return -e;
	}
	close(fd);
	snprintf(size, sizeof(size), "%lluk", (unsigned long long)(bytes >> 10));
	snprintf(log, sizeof(log), "%s.log", path);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (devnull < 0 || fd < 0 || dup2(devnull, 0) < 0 || dup2(fd, 1) < 0 ||
		    dup2(fd, 2) < 0)
			_exit(127);
		/* No resize inode: its 4 MiB of reserved descriptor blocks
		 * would be most of what each new sandbox's disk copies, and
		 * the disk is never grown in place. */
		execl(mkfs, "mkfs.ext4", "-q", "-F", "-m", "0", "-L", label, "-O", "^resize_inode",
		      "-E", "assume_storage_prezeroed=1,nodiscard", path, size,
		      (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		say("mkfs.ext4 could not make the sandbox disk %s (see %s)", path, log);
		return -EIO;
	}
	unlink(log);
	return 0;
}

int sandbox_disk_size_parse(const char *arg, uint64_t *bytes)
{
	uint64_t mib;

	if (size_parse_mib(arg, 1ull << 24, &mib) || mib < 64) {
		say("--disk-size '%s': expected a size from 64M to 16T", arg);
		return -EINVAL;
	}
	*bytes = mib << 20;
	return 0;
}

int sandbox_new_disk(const struct airlock_paths *p, const char *path, uint64_t bytes)
{
	/* A copy of the blank disk of this size if there is one (a mkfs run
	 * costs more than starting the sandbox); else made, and kept as it. */
	int r = blank_copy(p->home, path, bytes);

	if (r != 0) {
		r = make_disk(path, bytes, "airlock-sandbox");
		if (r == 0)
			blank_keep(p->home, path, bytes);
	}
	return r;
}

int sandbox_create(struct sandbox *sb, const struct airlock_paths *p,
		   const char *name, const struct sandbox_settings *set)
{
	char path[PATH_MAX];
	int r;

	r = sandbox_paths(sb, p, name);
	if (r)
		return r;
	sb->set = *set;
	if (!sb->set.created)
		sb->set.created = (int64_t)time(NULL);
	/* The state is the user's alone: the disk holds everything the
	 * agent wrote. */
	if ((mkdir(p->home, 0700) < 0 && errno != EEXIST) ||
	    (copy_path(path, sizeof(path), "%s/sandboxes", p->home) == 0 &&
	     mkdir(path, 0700) < 0 && errno != EEXIST)) {
		say("cannot create %s/sandboxes: %s", p->home, strerror(errno));
		return -errno;
	}
	if (mkdir(sb->dir, 0700) < 0) {
		r = -errno;
		if (r != -EEXIST)
			say("cannot create %s: %s", sb->dir, strerror(errno));
		return r;
	}
	if (copy_path(path, sizeof(path), "%s/disk.ext4", sb->dir))
		r = -ENAMETOOLONG;
	if (r == 0)
		r = sandbox_new_disk(p, path, sb->set.disk_bytes);
	if (r == 0)
		r = sandbox_save_settings(sb);
	if (r) {
		rm_tree(sb->dir);
		return r;
	}
	return 0;
}

static int open_lock(const struct sandbox *sb)
{
	char path[PATH_MAX];

	if (copy_path(path, sizeof(path), "%s/lock", sb->dir))
		return -ENAMETOOLONG;
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
}

int sandbox_lock(struct sandbox *sb)
{
	int fd = open_lock(sb);

	if (fd < 0) {
		say("cannot open the lock of sandbox '%s': %s", sb->name, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	sb->lock_fd = fd;
	return 0;
}

bool sandbox_running(const struct sandbox *sb)
{
	int fd = open_lock(sb);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

static int check_file(const char *what, const char *path, const char *hint)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return 0;
	say("no %s at %s: %s", what, path, hint);
	return -ENOENT;
}

int paths_check(const struct airlock_paths *p)
{
	int r;

	r = check_file("airlock-vmm", p->vmm, "build it (./dev build) or set AIRLOCK_VMM");
	if (r == 0)
		r = check_file("guest kernel", p->kernel,
			       "build it (./dev build) or set AIRLOCK_KERNEL");
	if (r == 0)
		r = check_file("initramfs", p->initrd,
			       "build it (./dev build) or set AIRLOCK_INITRD");
	return r;
}

void sandbox_close(struct sandbox *sb)
{
	if (sb->lock_fd >= 0)
		close(sb->lock_fd);
	sb->lock_fd = -1;
}

int sandbox_remove(const struct airlock_paths *p, const char *name)
{
	struct sandbox sb;
	int r;

	/* Settings are not needed: a sandbox whose settings are damaged is
	 * still the user's to remove. */
	r = open_dir(&sb, p, name);
	if (r == 0)
		r = sandbox_lock(&sb);
	if (r)
		return r;
	/* Held while removing, so no VM can start on a half-removed disk. */
	r = rm_tree(sb.dir);
	close(sb.lock_fd);
	return r;
}
