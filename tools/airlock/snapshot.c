/* Snapshots of a booted template: see snapshot.h and docs/snapshot.md.
 *
 * A snapshot folder is $AIRLOCK_HOME/snapshots/<template>-<key>, <key> 16
 * hex digits of a SHA-256 over everything that shapes the guest a snapshot
 * holds: the template (its manifest's image hash and the image file's
 * identity), the kernel, the initramfs and airlock-vmm (each by file
 * identity: path, device, inode, size, modification time; hashing a 20 MiB
 * kernel on every start would cost more than the restore), the vCPUs, the
 * memory and the guest command line. Anything that changes makes another
 * key, so a stale snapshot is never found; the VMM checks the kernel,
 * initramfs and template identities again (--snapshot-key) and refuses a
 * snapshot made for others. One process makes a folder at a time (a lock
 * beside it), in a temporary folder renamed into place when complete. */
#include "tools/airlock/snapshot.h"
#include "tools/airlock/exec.h"
#include "tools/airlock/msg.h"
#include "lib/clock.h"
#include "lib/size.h"
#include "tools/airlock/args.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Bump when what a snapshot folder holds, or how it is made, changes. */
#define LAYOUT "airlock-snapshot-1"
#define KEY_HEX 16			/* digits of the key in a folder's name */
#define IDENTS 3			/* kernel, initramfs, template: as the VMM wants */
#define IDENT_LEN 32
#define SCRATCH_SIZE (1u << 20)		/* the snapshot VM's stand-in sandbox disk */
#define MAKE_TIMEOUT_MS 180000		/* a boot in an emulated test host is slow */
#define RESUME_TIMEOUT_MS 30000
#define VMM_EXIT_SNAPSHOT 3		/* airlock-vmm: the snapshot cannot be used */
#define SNAPSHOT_CMDLINE SANDBOX_CMDLINE " airlock.snapshot=1"

struct snap_ref {
	char name[TEMPLATE_NAME_MAX + 2 + KEY_HEX];	/* <template>-<key> */
	char dir[PATH_MAX];
	char state[PATH_MAX], mem[PATH_MAX];
	char key_hex[2 * IDENTS * IDENT_LEN + 1];	/* for --snapshot-key */
	char template_name[TEMPLATE_NAME_MAX + 1];
	char template_dir[PATH_MAX];
	unsigned int cpus;
	uint64_t mem_mib;
};

static int fmt(char *dst, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));

static int fmt(char *dst, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(dst, size, f, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void sha256(const void *p, size_t n, uint8_t out[IDENT_LEN])
{
	unsigned int len = IDENT_LEN;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* "path dev ino size mtime": which file this is, and which version of it. */
static int file_identity(const char *path, char *out, size_t size)
{
	char real[PATH_MAX];
	struct stat st;

	if (!realpath(path, real) || stat(real, &st) < 0)
		return -errno;
	return fmt(out, size, "%s %llu %llu %lld %lld.%09ld", real,
		   (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		   (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* The template: its manifest's hash of the image, and the image file. */
static int template_identity(const char *dir, char *out, size_t size)
{
	char path[PATH_MAX], id[PATH_MAX + 128];
	const char *sha = "none";
	json_t *j, *v;
	int r;

	if ((r = fmt(path, sizeof(path), "%s/manifest.json", dir)))
		return r;
	j = json_load_file(path, 0, NULL);
	v = json_object_get(json_object_get(j, "image"), "sha256");
	if (json_is_string(v))
		sha = json_string_value(v);
	r = fmt(path, sizeof(path), "%s/rootfs.ext4", dir);
	if (r == 0)
		r = file_identity(path, id, sizeof(id));
	if (r == 0)
		r = fmt(out, size, "template %s %s", sha, id);
	json_decref(j);
	return r;
}

static int ref_for(struct snap_ref *ref, const struct airlock_paths *p,
		   const char *template_name, const char *template_dir,
		   unsigned int cpus, uint64_t mem_mib)
{
	char kernel[PATH_MAX + 96], initrd[PATH_MAX + 96], tmpl[2 * PATH_MAX];
	char vmm[PATH_MAX + 96], all[6 * PATH_MAX], key[2 * IDENT_LEN + 1];
	uint8_t ident[IDENTS][IDENT_LEN], sum[IDENT_LEN];
	int r;

	memset(ref, 0, sizeof(*ref));
	ref->cpus = cpus;
	ref->mem_mib = mem_mib;
	snprintf(ref->template_name, sizeof(ref->template_name), "%s", template_name);
	if ((r = fmt(ref->template_dir, sizeof(ref->template_dir), "%s", template_dir)) ||
	    (r = file_identity(p->kernel, kernel, sizeof(kernel))) ||
	    (r = file_identity(p->initrd, initrd, sizeof(initrd))) ||
	    (r = file_identity(p->vmm, vmm, sizeof(vmm))) ||
	    (r = template_identity(template_dir, tmpl, sizeof(tmpl))))
		return r;
	sha256(kernel, strlen(kernel), ident[0]);
	sha256(initrd, strlen(initrd), ident[1]);
	sha256(tmpl, strlen(tmpl), ident[2]);
	hex(&ident[0][0], sizeof(ident), ref->key_hex);
	if ((r = fmt(all, sizeof(all), LAYOUT "\n%s\nvmm %s\ncpus %u memory %llu\ncmdline %s\n",
		     ref->key_hex, vmm, cpus, (unsigned long long)mem_mib, SNAPSHOT_CMDLINE)))
		return r;
	sha256(all, strlen(all), sum);
	hex(sum, KEY_HEX / 2, key);
	if ((r = fmt(ref->name, sizeof(ref->name), "%s-%s", template_name, key)) ||
	    (r = fmt(ref->dir, sizeof(ref->dir), "%s/snapshots/%s", p->home, ref->name)) ||
	    (r = fmt(ref->state, sizeof(ref->state), "%s/state", ref->dir)) ||
	    (r = fmt(ref->mem, sizeof(ref->mem), "%s/memory", ref->dir)))
		return r;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* A running sandbox keeps its mapping of a removed memory file: removing
 * is always safe. */
static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The VMM's messages after a failure, to say why. */
static void print_log(const char *path)
{
	char line[1024];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  %s", line);
	fclose(f);
}

/* The reason in the VMM's log for refusing a snapshot, or "". */
static void refusal(const char *log, char *out, size_t size)
{
	static const char mark[] = "cannot restore the snapshot";
	char line[1024];
	FILE *f = fopen(log, "re");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *m = strstr(line, mark), *why;

		if (!m)
			continue;
		/* "... '<path>': <reason>" */
		why = strstr(m, "': ");
		snprintf(out, size, "%s", why ? why + 3 : m);
		out[strcspn(out, "\n")] = '\0';
	}
	fclose(f);
}

/* Other snapshots of the same template folder for the same vCPUs and
 * memory: made with a kernel, initramfs, VMM or image that has changed
 * since, so superseded by the new one. */
static void remove_older(const struct airlock_paths *p, const struct snap_ref *ref)
{
	char dir[PATH_MAX], path[2 * PATH_MAX];
	size_t tlen = strlen(ref->template_name);
	struct dirent *e;
	DIR *d;

	if (fmt(dir, sizeof(dir), "%s/snapshots", p->home) || !(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		json_t *j;
		const char *td;

		if (strcmp(e->d_name, ref->name) == 0 || strlen(e->d_name) != tlen + 1 + KEY_HEX ||
		    strncmp(e->d_name, ref->template_name, tlen) || e->d_name[tlen] != '-')
			continue;
		if (fmt(path, sizeof(path), "%s/%s/key.json", dir, e->d_name))
			continue;
		j = json_load_file(path, 0, NULL);
		td = json_string_value(json_object_get(j, "template_dir"));
		if (td && strcmp(td, ref->template_dir) == 0 &&
		    json_integer_value(json_object_get(j, "cpus")) == (json_int_t)ref->cpus &&
		    json_integer_value(json_object_get(j, "memory_mib")) == (json_int_t)ref->mem_mib &&
		    fmt(path, sizeof(path), "%s/%s", dir, e->d_name) == 0)
			rm_tree(path);
		json_decref(j);
	}
	closedir(d);
}

/* What a snapshot folder holds for people: what it was made from. */
static int write_key(const struct airlock_paths *p, const struct snap_ref *ref,
		     const char *dir)
{
	char path[PATH_MAX];
	json_t *j;
	int r;

	if ((r = fmt(path, sizeof(path), "%s/key.json", dir)))
		return r;
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:I, s:s}",
		      "template", ref->template_name, "template_dir", ref->template_dir,
		      "kernel", p->kernel, "initramfs", p->initrd, "vmm", p->vmm,
		      "cpus", (int)ref->cpus, "memory_mib", (json_int_t)ref->mem_mib,
		      "cmdline", SNAPSHOT_CMDLINE, "created", (json_int_t)time(NULL),
		      "snapshot_key", ref->key_hex);
	if (!j)
		return -ENOMEM;
	r = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 ? -EIO : 0;
	json_decref(j);
	return r;
}

/* Boots the template in a VM that saves itself at its snapshot point,
 * into tmp: 0 once it exited 0, else -errno (its log in tmp/vmm.log). */
static int run_snapshot_vm(const struct airlock_paths *p, const struct snap_ref *ref,
			   const char *tmp)
{
	char mem[24], cpus[16], tdisk[PATH_MAX + 4], scratch[PATH_MAX], sock[PATH_MAX];
	char console[PATH_MAX], log[PATH_MAX], state[PATH_MAX], memory[PATH_MAX];
	char *const envp[] = { NULL };
	int64_t deadline = clock_ms() + MAKE_TIMEOUT_MS;
	int fd, st, r;
	pid_t pid;

	if ((r = fmt(tdisk, sizeof(tdisk), "%s/rootfs.ext4,ro", ref->template_dir)) ||
	    (r = fmt(scratch, sizeof(scratch), "%s/scratch", tmp)) ||
	    (r = fmt(sock, sizeof(sock), "%s/v", tmp)) ||
	    (r = fmt(console, sizeof(console), "%s/console.log", tmp)) ||
	    (r = fmt(log, sizeof(log), "%s/vmm.log", tmp)) ||
	    (r = fmt(state, sizeof(state), "%s/state", tmp)) ||
	    (r = fmt(memory, sizeof(memory), "%s/memory", tmp)))
		return r;
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)ref->mem_mib);
	snprintf(cpus, sizeof(cpus), "%u", ref->cpus);
	/* The sandbox disk's stand-in: the guest sees a vdb, never reads it
	 * (the snapshot point is before), and each sandbox brings its own. */
	fd = open(scratch, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, SCRATCH_SIZE) < 0) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return r;
	}
	close(fd);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (pid == 0) {
		const char *argv[] = {
			"airlock-vmm", "--kernel", p->kernel, "--initrd", p->initrd,
			"--cpus", cpus, "--memory", mem,
			"--disk", tdisk, "--disk", scratch, "--vsock", sock,
			"--console", console, "--cmdline", SNAPSHOT_CMDLINE,
			"--snapshot-out", state, "--snapshot-mem", memory,
			"--snapshot-key", ref->key_hex, NULL,
		};
		sigset_t none;
		int devnull = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(devnull, 1) < 0 || dup2(fd, 2) < 0)
			_exit(125);
		execve(p->vmm, (char *const *)argv, envp);
		dprintf(2, "airlock: cannot run %s: %s\n", p->vmm, strerror(errno));
		_exit(125);
	}
	close(fd);
	while ((r = (int)waitpid(pid, &st, WNOHANG)) == 0 && clock_ms() < deadline)
		clock_sleep_ms(10);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return -ETIMEDOUT;
	}
	if (r < 0)
		return -errno;
	unlink(scratch);
	unlink(sock);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

/* Makes ref's snapshot unless it exists. 0, or -errno after saying why,
 * then what happens next (then: "; booting instead"). */
static int make(const struct airlock_paths *p, const struct snap_ref *ref, const char *then)
{
	char dir[PATH_MAX], lock[PATH_MAX], tmp[PATH_MAX], log[PATH_MAX + 16];
	int lfd, r;

	if ((r = fmt(dir, sizeof(dir), "%s/snapshots", p->home)) ||
	    (r = fmt(lock, sizeof(lock), "%s/.%s.lock", dir, ref->name)) ||
	    (r = fmt(tmp, sizeof(tmp), "%s/.new-XXXXXX", dir)))
		return r;
	if ((mkdir(p->home, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		r = -errno;
		say("cannot create %s: %s", dir, strerror(errno));
		return r;
	}
	/* Another `airlock run` making the same one: wait for it, use its. */
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX) < 0) {
		r = -errno;
		say("cannot lock %s: %s", lock, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return r;
	}
	if (access(ref->state, F_OK) == 0) {
		close(lfd);
		return 0;
	}
	if (!mkdtemp(tmp)) {
		r = -errno;
		say("cannot create a folder in %s: %s", dir, strerror(errno));
		close(lfd);
		return r;
	}
	r = run_snapshot_vm(p, ref, tmp);
	if (r == 0)
		r = write_key(p, ref, tmp);
	if (r == 0 && rename(tmp, ref->dir) < 0)
		r = -errno;
	if (r) {
		say("cannot make a snapshot of template '%s' (%u vCPUs, %llu MiB): %s%s",
		    ref->template_name, ref->cpus, (unsigned long long)ref->mem_mib,
		    r == -ETIMEDOUT ? "its VM did not reach the snapshot point in time" :
		    r == -EIO ? "its VM failed" : strerror(-r), then);
		snprintf(log, sizeof(log), "%s/vmm.log", tmp);
		print_log(log);
		rm_tree(tmp);
	} else {
		remove_older(p, ref);
	}
	close(lfd);
	return r;
}

static void stop_vmm(struct sandbox *sb)
{
	if (!sandbox_vmm_alive(sb))
		return;
	kill(sb->vmm, SIGKILL);
	while (sandbox_vmm_alive(sb))
		clock_sleep_ms(5);
}

/* Starts sb from ref and resumes it: 0; -EBADMSG if the snapshot is at
 * fault (the VMM refused it, or the restored guest did not resume), with
 * the reason in why; another -errno if starting failed for the sandbox's
 * own reasons (after saying why). */
static int restore(struct sandbox *sb, const struct airlock_paths *p,
		   const struct snap_ref *ref, char *why, size_t size)
{
	const char *args[] = { "--restore", ref->state, "--snapshot-mem", ref->mem,
			       "--snapshot-key", ref->key_hex, NULL };
	char disk[PATH_MAX], log[PATH_MAX];
	struct stat st;
	int r;

	if ((r = fmt(disk, sizeof(disk), "%s/disk.ext4", sb->dir)) ||
	    (r = fmt(log, sizeof(log), "%s/vmm.log", sb->dir)))
		return r;
	if (stat(disk, &st) < 0) {
		r = -errno;
		say("cannot read the sandbox disk %s: %s", disk, strerror(errno));
		return r;
	}
	r = sandbox_boot_vm(sb, p, args);
	if (r)
		return r;
	r = exec_resume(sb->sock, (uint64_t)st.st_size, RESUME_TIMEOUT_MS, sandbox_vmm_alive, sb);
	if (r == 0)
		return 0;
	stop_vmm(sb);
	if (sb->vmm_reaped && WIFEXITED(sb->vmm_status) &&
	    WEXITSTATUS(sb->vmm_status) == VMM_EXIT_SNAPSHOT)
		refusal(log, why, size);
	else
		snprintf(why, size, "the restored VM did not resume (%s)", strerror(-r));
	if (!why[0])
		snprintf(why, size, "the VMM refused it");
	return -EBADMSG;
}

int snapshot_start(struct sandbox *sb, const struct airlock_paths *p,
		   enum snapshot_mode mode)
{
	const char *then = mode == SNAPSHOT_WARM_ONLY ? " (--warm-only: no cold boot)"
						       : "; booting instead";
	struct snap_ref ref;
	char why[512] = "";
	int r;

	if (mode == SNAPSHOT_COLD)
		return sandbox_boot(sb, p);
	r = paths_check(p);
	if (r)
		return r;
	r = ref_for(&ref, p, sb->set.template_name, sb->set.template_dir, sb->set.cpus,
		    sb->set.mem_mib);
	if (r) {
		say("cannot tell which snapshot fits sandbox '%s' (%s)%s", sb->name,
		    strerror(-r), then);
		goto cold;
	}
	/* First use of this template, VMM, kernel, vCPUs and memory. */
	if (access(ref.state, F_OK) < 0 && make(p, &ref, then))
		goto cold;
	r = restore(sb, p, &ref, why, sizeof(why));
	if (r != -EBADMSG)
		return r;
	/* Damaged, or made for something else after all: the next run
	 * makes it again. */
	rm_tree(ref.dir);
	say("the snapshot %s cannot be used (%s): removed%s", ref.dir, why, then);
cold:
	return mode == SNAPSHOT_WARM_ONLY ? -EAGAIN : sandbox_boot(sb, p);
}

static const char warm_usage[] =
	"usage: airlock template warm [-m SIZE] [--cpus N] TEMPLATE\n"
	"\n"
	"Makes TEMPLATE's snapshot for sandboxes of N vCPUs (default 2) and SIZE of\n"
	"memory (default 1G) now, rather than at the first `airlock run` that needs\n"
	"it. Prints its folder.\n";

int snapshot_cmd_warm(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct airlock_paths paths;
	struct template_ref t;
	struct snap_ref ref;
	uint64_t mem_mib = SANDBOX_DEFAULT_MEM_MIB;
	unsigned long cpus = SANDBOX_DEFAULT_CPUS;
	int opt, r;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+m:h", lo, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (size_parse_mib(optarg, 1ull << 20, &mem_mib)) {
				say("--memory '%s': expected MiB or a size like 512M or 2G", optarg);
				return 2;
			}
			break;
		case 'c':
			if (args_uint(optarg, 1, SANDBOX_MAX_CPUS, &cpus)) {
				say("--cpus '%s': expected a number from 1 to %d", optarg,
				    SANDBOX_MAX_CPUS);
				return 2;
			}
			break;
		case 'h':
			fputs(warm_usage, stdout);
			return 0;
		default:
			say("template warm: unknown option '%s'", argv[optind - 1]);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fputs(warm_usage, stderr);
		return 2;
	}
	if (paths_resolve(&paths) || paths_check(&paths) ||
	    template_find(&paths, argv[optind], &t))
		return 1;
	r = ref_for(&ref, &paths, t.name, t.dir, (unsigned int)cpus, mem_mib);
	if (r) {
		say("cannot tell which snapshot fits template '%s': %s", t.name, strerror(-r));
		return 1;
	}
	if (access(ref.state, F_OK) < 0 && make(&paths, &ref, ""))
		return 1;
	puts(ref.dir);
	return 0;
}
