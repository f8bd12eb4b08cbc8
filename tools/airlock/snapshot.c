/* Snapshots of a booted template: see snapshot.h and docs/snapshot.md.
 *
 * A snapshot folder is $AIRLOCK_HOME/snapshots/<template>-<key>, <key> 16
 * hex digits of a SHA-256 over everything that shapes the guest a snapshot
 * holds: the template (its manifest's image hash and the image file's
 * identity), the kernel, the initramfs and airlock-vmm (each by file
 * identity: path, device, inode, size, modification time; hashing a 20 MiB
 * kernel on every start would cost more than the restore), the vCPUs, the
 * memory and the guest command line (which names the network, if the
 * sandbox has one: then the snapshot's VM has a virtio-net device too, on
 * a TAP of its own). Anything that changes makes another
 * key, so a stale snapshot is never found; the VMM checks the kernel,
 * initramfs and template identities again (--snapshot-key) and refuses a
 * snapshot made for others. One process makes a folder at a time (a lock
 * beside it), in a temporary folder renamed into place when complete. The
 * VMM that makes one, and each that restores one, is started as the
 * supervisor starts any (vmm_proc.h): jailed, with descriptors only. */
#include "tools/airlock/snapshot.h"
#include "tools/airlock/args.h"
#include "tools/airlock/exec.h"
#include "tools/airlock/blank.h"
#include "tools/airlock/msg.h"
#include "tools/airlock/net.h"
#include "lib/clock.h"
#include "lib/escape.h"
#include "lib/netns.h"
#include "lib/sha256.h"
#include "lib/size.h"
#include "lib/unixsock.h"
#include "proto/guestparams.h"
#include "proto/netparam.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
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
#define LAYOUT "airlock-snapshot-2"
#define KEY_HEX 16			/* digits of the key in a folder's name */
#define IDENTS 3			/* kernel, initramfs, template: as the VMM wants */
#define IDENT_LEN SHA256_LEN
#define SCRATCH_SIZE (1u << 20)		/* the snapshot VM's stand-in sandbox disk */
#define MAKE_TIMEOUT_MS 180000		/* a boot in an emulated test host is slow */
#define RESUME_TIMEOUT_MS 30000
#define VMM_EXIT_SNAPSHOT 3		/* airlock-vmm: the snapshot cannot be used */
#define CMDLINE_MAX 256

struct snap_ref {
	char name[TEMPLATE_NAME_MAX + 2 + KEY_HEX];	/* <template>-<key> */
	char dir[PATH_MAX];
	char state[PATH_MAX], mem[PATH_MAX];
	char key_hex[2 * IDENTS * IDENT_LEN + 1];	/* for --snapshot-key */
	char template_name[TEMPLATE_NAME_MAX + 1];
	char template_dir[PATH_MAX];
	unsigned int cpus;
	uint64_t mem_mib;
	char cmdline[CMDLINE_MAX];	/* the snapshot VM's: the boot's + airlock.snapshot=N */
	bool net;			/* with a virtio-net device */
	/* 1: before the sandbox disk, for any sandbox; 2: with a new
	 * sandbox disk of disk_bytes mounted (kept as "disk" beside the
	 * state), for new sandboxes, which get a copy of that disk. */
	unsigned int stage;
	uint64_t disk_bytes;		/* stage 2 */
	char disk[PATH_MAX];		/* stage 2 */
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
		   unsigned int cpus, uint64_t mem_mib, const char *cmdline, bool net,
		   unsigned int stage, uint64_t disk_bytes)
{
	char kernel[PATH_MAX + 96], initrd[PATH_MAX + 96], tmpl[2 * PATH_MAX];
	char vmm[PATH_MAX + 96], all[6 * PATH_MAX], key[2 * IDENT_LEN + 1];
	uint8_t ident[IDENTS][IDENT_LEN], sum[IDENT_LEN];
	int r;

	memset(ref, 0, sizeof(*ref));
	ref->cpus = cpus;
	ref->mem_mib = mem_mib;
	ref->net = net;
	ref->stage = stage;
	ref->disk_bytes = stage == 2 ? disk_bytes : 0;
	if ((r = fmt(ref->cmdline, sizeof(ref->cmdline), "%s " GUESTPARAM_SNAPSHOT "%u", cmdline,
		     stage)))
		return r;
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
	if ((r = fmt(all, sizeof(all), LAYOUT "\n%s\nvmm %s\ncpus %u memory %llu\nnet %d\n"
		     "cmdline %s\ndisk %llu\n", ref->key_hex, vmm, cpus, (unsigned long long)mem_mib,
		     (int)net, ref->cmdline, (unsigned long long)ref->disk_bytes)))
		return r;
	sha256(all, strlen(all), sum);
	hex(sum, KEY_HEX / 2, key);
	if ((r = fmt(ref->name, sizeof(ref->name), "%s-%s", template_name, key)) ||
	    (r = fmt(ref->dir, sizeof(ref->dir), "%s/snapshots/%s", p->home, ref->name)) ||
	    (r = fmt(ref->state, sizeof(ref->state), "%s/state", ref->dir)) ||
	    (r = fmt(ref->mem, sizeof(ref->mem), "%s/memory", ref->dir)) ||
	    (r = fmt(ref->disk, sizeof(ref->disk), "%s/disk", ref->dir)))
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
	/* The VMM quotes the guest: escaped, so that it cannot talk to the
	 * terminal. */
	while (fgets(line, sizeof(line), f)) {
		char shown[1024];
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			n--;
		escape_text(shown, sizeof(shown), line, n);
		fprintf(stderr, "  %s\n", shown);
	}
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

/* Other snapshots of the same template folder for the same vCPUs, memory
 * and command line (network): made with a kernel, initramfs, VMM or image that has changed
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
		const char *td, *cl;

		if (strcmp(e->d_name, ref->name) == 0 || strlen(e->d_name) != tlen + 1 + KEY_HEX ||
		    strncmp(e->d_name, ref->template_name, tlen) || e->d_name[tlen] != '-')
			continue;
		if (fmt(path, sizeof(path), "%s/%s/key.json", dir, e->d_name))
			continue;
		j = json_load_file(path, 0, NULL);
		td = json_string_value(json_object_get(j, "template_dir"));
		cl = json_string_value(json_object_get(j, "cmdline"));
		if (td && strcmp(td, ref->template_dir) == 0 && cl && strcmp(cl, ref->cmdline) == 0 &&
		    json_integer_value(json_object_get(j, "cpus")) == (json_int_t)ref->cpus &&
		    json_integer_value(json_object_get(j, "memory_mib")) == (json_int_t)ref->mem_mib &&
		    json_integer_value(json_object_get(j, "disk_bytes")) ==
			    (json_int_t)ref->disk_bytes &&
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
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:s, s:I, s:s, s:i, s:I}",
		      "template", ref->template_name, "template_dir", ref->template_dir,
		      "kernel", p->kernel, "initramfs", p->initrd, "vmm", p->vmm,
		      "cpus", (int)ref->cpus, "memory_mib", (json_int_t)ref->mem_mib,
		      "cmdline", ref->cmdline, "created", (json_int_t)time(NULL),
		      "snapshot_key", ref->key_hex, "stage", (int)ref->stage,
		      "disk_bytes", (json_int_t)ref->disk_bytes);
	if (!j)
		return -ENOMEM;
	r = json_dump_file(j, path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 ? -EIO : 0;
	json_decref(j);
	return r;
}

/* Opens dir/name with flags (mode 0600), close-on-exec: the fd or -errno. */
static int open_in(const char *dir, const char *name, int flags)
{
	char path[PATH_MAX];
	int fd;

	if (fmt(path, sizeof(path), "%s/%s", dir, name))
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY, 0600);
	return fd < 0 ? -errno : fd;
}

/* A network of its own for the snapshot VM's virtio-net device: the guest
 * does not use it before its snapshot point (airlock-init sets eth0 up
 * after RESUME), but the device must be there, as it will be in the
 * sandboxes. No ports, no gateway. */
static int scratch_net(struct netns *ns, char *why, size_t size)
{
	struct netns_config cfg = { .prefix = NET_PREFIX };

	inet_pton(AF_INET, NET_LINK_ADDR, &cfg.link);
	inet_pton(AF_INET, NET_GUEST_ADDR, &cfg.guest);
	return netns_create(&cfg, ns, why, size);
}

/* Boots the template in a VM that saves itself at its snapshot point,
 * into tmp: 0 once it exited 0, else -errno (its log in tmp/vmm.log). */
static int run_snapshot_vm(const struct airlock_paths *p, const struct snap_ref *ref,
			   const char *tmp)
{
	struct vmm_files f = VMM_FILES_NONE;
	struct netns ns = { .tap = -1, .dns_udp = -1, .dns_tcp = -1, .opener = -1 };
	char image[PATH_MAX], sock[PATH_MAX], disk[PATH_MAX], why[256];
	int64_t deadline = clock_ms() + MAKE_TIMEOUT_MS;
	bool have_ns = false;
	int st, r;
	pid_t pid = -1;

	f.snap_out = true;
	f.snap_key = ref->key_hex;
	if ((r = fmt(image, sizeof(image), "%s/rootfs.ext4", ref->template_dir)) ||
	    (r = fmt(sock, sizeof(sock), "%s/v", tmp)) ||
	    (r = fmt(disk, sizeof(disk), "%s/%s", tmp, ref->stage == 2 ? "disk" : "scratch")))
		return r;
	if ((f.kernel = open(p->kernel, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (f.initrd = open(p->initrd, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (f.template_img = open(image, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (f.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0) {
		r = -errno;
		goto out;
	}
	/* Stage 1: the sandbox disk's stand-in: the guest sees a vdb, never
	 * reads it (the snapshot point is before), and each sandbox brings
	 * its own. Stage 2: an empty sandbox disk, which the guest mounts
	 * and which new sandboxes get copies of. */
	if (ref->stage == 2) {
		r = sandbox_new_disk(p, disk, ref->disk_bytes);
	} else if ((r = open_in(tmp, "scratch", O_WRONLY | O_CREAT | O_EXCL)) >= 0) {
		int fd = r;

		r = ftruncate(fd, SCRATCH_SIZE) < 0 ? -errno : 0;
		close(fd);
	}
	if (r == 0 && (f.disk = open(disk, O_RDWR | O_CLOEXEC)) < 0)
		r = -errno;
	if (r < 0 ||
	    (r = f.console = open_in(tmp, "console.log", O_WRONLY | O_CREAT | O_APPEND)) < 0 ||
	    (r = f.log = open_in(tmp, "vmm.log", O_WRONLY | O_CREAT | O_TRUNC)) < 0 ||
	    (r = f.snap_state = open_in(tmp, "state", O_RDWR | O_CREAT | O_EXCL)) < 0 ||
	    (r = f.snap_mem = open_in(tmp, "memory", O_RDWR | O_CREAT | O_EXCL)) < 0)
		goto out;
	/* Nobody connects: the guest only listens before its snapshot point. */
	if ((r = f.vsock = unix_listen(sock, 1)) < 0)
		goto out;
	if (ref->net) {
		r = scratch_net(&ns, why, sizeof(why));
		if (r) {
			dprintf(f.log, "cannot make the snapshot VM's network: %s\n", why);
			goto out;
		}
		have_ns = true;
		f.tap = ns.tap;
	}
	pid = vmm_spawn(p, &f, ref->cpus, ref->mem_mib, ref->cmdline, NULL);
	if (pid < 0) {
		r = (int)pid;
		goto out;
	}
	while ((r = (int)waitpid(pid, &st, WNOHANG)) == 0 && clock_ms() < deadline)
		clock_sleep_ms(10);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		r = -ETIMEDOUT;
	} else if (r < 0) {
		r = -errno;
	} else {
		r = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
	}
out:
	if (have_ns)
		netns_close(&ns);
	vmm_files_close(&f);
	unlink(sock);
	if (fmt(sock, sizeof(sock), "%s/scratch", tmp) == 0)
		unlink(sock);
	return r;
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

/* The restored VMM did not come up: end it, reaped. */
static void stop_vmm(struct vmm_proc *vmm)
{
	if (vmm_proc_alive(vmm)) {
		vmm_proc_kill(vmm);
		while (!vmm_proc_gone_within(vmm, 60000)) {
			/* SIGKILL ends it; only the kernel decides when */
		}
	}
}

/* Starts sb from ref with the files f, watched by vmm, and resumes it: 0;
 * -EBADMSG if the snapshot is at fault (the VMM refused it, or the restored
 * guest did not resume), with the reason in why; another -errno if starting
 * failed for the sandbox's own reasons (after saying why). */
static int restore(const struct sandbox *sb, const struct airlock_paths *p, struct vmm_files *f,
		   const struct snap_ref *ref, struct vmm_proc *vmm, char *why, size_t size)
{
	char log[PATH_MAX];
	struct stat st;
	pid_t pid;
	int done, r;

	if ((r = fmt(log, sizeof(log), "%s/vmm.log", sb->dir)))
		return r;
	if (fstat(f->disk, &st) < 0) {
		r = -errno;
		say("cannot read the sandbox disk of '%s': %s", sb->name, strerror(errno));
		return r;
	}
	f->snap_state = open(ref->state, O_RDONLY | O_CLOEXEC);
	f->snap_mem = open(ref->mem, O_RDONLY | O_CLOEXEC);
	if (f->snap_state < 0 || f->snap_mem < 0) {
		snprintf(why, size, "cannot open it: %s", strerror(errno));
		r = -EBADMSG;
		goto out;
	}
	f->snap_out = false;
	f->snap_key = ref->key_hex;
	pid = vmm_spawn(p, f, sb->set.cpus, sb->set.mem_mib, NULL, &done);
	if (pid < 0) {
		r = (int)pid;
		goto out;
	}
	vmm_proc_adopt(vmm, pid, done);
	r = exec_resume(sb->sock, (uint64_t)st.st_size, RESUME_TIMEOUT_MS,
			vmm_proc_alive, vmm);
	if (r == 0)
		goto out;
	stop_vmm(vmm);
	if (vmm->ended && WIFEXITED(vmm->status) && WEXITSTATUS(vmm->status) == VMM_EXIT_SNAPSHOT)
		refusal(log, why, size);
	else
		snprintf(why, size, "the restored VM did not resume (%s)", strerror(-r));
	if (!why[0])
		snprintf(why, size, "the VMM refused it");
	r = -EBADMSG;
out:
	/* The VMM has its copies; a boot instead needs none. */
	if (f->snap_state >= 0)
		close(f->snap_state);
	if (f->snap_mem >= 0)
		close(f->snap_mem);
	f->snap_state = f->snap_mem = -1;
	f->snap_key = NULL;
	return r;
}

/* A new sandbox's disk becomes a copy of the one its stage-2 snapshot was
 * made with: the disk the restored guest has mounted. 0; -EBADMSG (why
 * set) if the snapshot has none; another -errno after saying why. */
static int copy_disk(const struct sandbox *sb, struct vmm_files *f, const struct snap_ref *ref,
		     char *why, size_t size)
{
	char disk[PATH_MAX], tmp[PATH_MAX];
	int fd = -1, r;

	if ((r = fmt(disk, sizeof(disk), "%s/disk.ext4", sb->dir)) ||
	    (r = fmt(tmp, sizeof(tmp), "%s/.disk.ext4.new", sb->dir)))
		return r;
	if (access(ref->disk, R_OK) < 0) {
		snprintf(why, size, "its disk is missing: %s", strerror(errno));
		return -EBADMSG;
	}
	unlink(tmp);
	r = blank_sparse_copy(ref->disk, tmp);
	if (r == 0 && rename(tmp, disk) < 0)
		r = -errno;
	if (r == 0 && (fd = open(disk, O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		r = -errno;
	if (r) {
		unlink(tmp);
		say("cannot give sandbox '%s' a copy of %s: %s", sb->name, ref->disk,
		    strerror(-r));
		return r;
	}
	close(f->disk);
	f->disk = fd;
	return 0;
}

int snapshot_start(const struct sandbox *sb, const struct airlock_paths *p,
		   enum snapshot_mode mode, bool fresh, struct vmm_files *f, const char *cmdline,
		   struct vmm_proc *vmm)
{
	const char *then = mode == SNAPSHOT_WARM_ONLY ? " (--warm-only: no cold boot)"
						       : "; booting instead";
	struct snap_ref ref;
	char why[512] = "";
	int r;

	/* A sandbox made by this run has an empty disk: the snapshot with
	 * one mounted fits it, and spares the guest mounting it. */
	r = ref_for(&ref, p, sb->set.template_name, sb->set.template_dir, sb->set.cpus,
		    sb->set.mem_mib, cmdline, f->tap >= 0, fresh ? 2 : 1, sb->set.disk_bytes);
	if (r) {
		say("cannot tell which snapshot fits sandbox '%s' (%s)%s", sb->name,
		    strerror(-r), then);
		goto cold;
	}
	/* First use of this template, VMM, kernel, vCPUs, memory, network
	 * (and disk size, for new sandboxes). */
	if (access(ref.state, F_OK) < 0 && make(p, &ref, then))
		goto cold;
	r = ref.stage == 2 ? copy_disk(sb, f, &ref, why, sizeof(why)) : 0;
	if (r == 0)
		r = restore(sb, p, f, &ref, vmm, why, sizeof(why));
	if (r != -EBADMSG)
		return r;
	/* Damaged, or made for something else after all: the next run
	 * makes it again. */
	rm_tree(ref.dir);
	say("the snapshot %s cannot be used (%s): removed%s", ref.dir, why, then);
cold:
	return mode == SNAPSHOT_WARM_ONLY ? -EAGAIN : 1;
}

/* The command line a sandbox boots with: with a network, airlock.net= as
 * net.c gives it (the same link in every sandbox). */
static int boot_cmdline(char *out, size_t size, bool net)
{
	struct netparam np = { .prefix = NET_PREFIX };
	struct in_addr a;
	char param[64];

	if (!net)
		return fmt(out, size, "%s", SANDBOX_CMDLINE);
	inet_pton(AF_INET, NET_GUEST_ADDR, &a);
	np.addr = ntohl(a.s_addr);
	inet_pton(AF_INET, NET_LINK_ADDR, &a);
	np.gateway = ntohl(a.s_addr);
	if (netparam_format(&np, param, sizeof(param)) < 0)
		return -ENOSPC;
	return fmt(out, size, "%s " GUESTPARAM_NET "%s", SANDBOX_CMDLINE, param);
}

static const char warm_usage[] =
	"usage: airlock template warm [-m SIZE] [--cpus N] [--disk-size SIZE]\n"
	"                             [--network none] TEMPLATE\n"
	"\n"
	"Makes TEMPLATE's snapshots for sandboxes of N vCPUs (default 2) and SIZE of\n"
	"memory (default 1G), with a network (or, with --network none, for sandboxes\n"
	"run with --network none), now rather than at the first `airlock run` that\n"
	"needs them: the one any sandbox starts from, and the one new sandboxes with\n"
	"a disk of --disk-size (default 16G) start from. Prints their folders, in\n"
	"that order.\n";

int snapshot_cmd_warm(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "network", required_argument, NULL, 'n' },
		{ "disk-size", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct airlock_paths paths;
	struct template_ref t;
	struct snap_ref ref;
	uint64_t mem_mib = SANDBOX_DEFAULT_MEM_MIB, disk_bytes = SANDBOX_DEFAULT_DISK;
	unsigned long cpus = SANDBOX_DEFAULT_CPUS;
	char cmdline[CMDLINE_MAX];
	bool net = true;
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
		case 'n':
			if (strcmp(optarg, "allowlist") && strcmp(optarg, "open") &&
			    strcmp(optarg, "none")) {
				say("--network '%s': allowlist, open or none", optarg);
				return 2;
			}
			net = strcmp(optarg, "none") != 0;	/* the others: the same guest */
			break;
		case 'd':
			if (sandbox_disk_size_parse(optarg, &disk_bytes))
				return 2;
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
	r = boot_cmdline(cmdline, sizeof(cmdline), net);
	for (unsigned int stage = 1; stage <= 2; stage++) {
		if (r == 0)
			r = ref_for(&ref, &paths, t.name, t.dir, (unsigned int)cpus, mem_mib, cmdline,
				    net, stage, disk_bytes);
		if (r) {
			say("cannot tell which snapshot fits template '%s': %s", t.name,
			    strerror(-r));
			return 1;
		}
		if (access(ref.state, F_OK) < 0 && make(&paths, &ref, ""))
			return 1;
		puts(ref.dir);
	}
	return 0;
}
