/* Sandboxes on the host: a folder each under $AIRLOCK_HOME/sandboxes/NAME
 * holding the sparse writable disk, the settings, the lock, and while it
 * runs its sockets and logs; templates under $AIRLOCK_HOME/templates/NAME.
 * Running one is the supervisor's job (supervise.h). */
#ifndef AIRLOCK_TOOLS_SANDBOX_H
#define AIRLOCK_TOOLS_SANDBOX_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>

#define SANDBOX_NAME_MAX 63
/* A name made from a folder keeps at most this much of the folder's own
 * name (then '-' and 6 hex digits): its Unix socket paths must fit in 108
 * bytes under $AIRLOCK_HOME/sandboxes/, ~/.local/share/airlock by default. */
#define SANDBOX_STEM_MAX 24
#define TEMPLATE_NAME_MAX 63
#define SANDBOX_DEFAULT_TEMPLATE "base"
#define SANDBOX_DEFAULT_MEM_MIB 1024
#define SANDBOX_DEFAULT_CPUS 2
#define SANDBOX_MAX_CPUS 64
/* Processes each command may have at once (guest/pids.c). */
#define SANDBOX_DEFAULT_PIDS 4096
/* The guest kernel's command line for a sandbox: the template is vda, the
 * sandbox disk vdb (snapshots add airlock.snapshot=1). */
#define SANDBOX_CMDLINE "airlock.root=vda airlock.upper=vdb quiet"
/* Sparse: an empty ext4 of this size takes ~4 MiB on the host. */
#define SANDBOX_DEFAULT_DISK (16ull << 30)

/* Where things are; each from the environment or a default (paths.c). */
struct airlock_paths {
	char home[PATH_MAX];	/* $AIRLOCK_HOME, else $XDG_DATA_HOME/airlock */
	char vmm[PATH_MAX];	/* $AIRLOCK_VMM, else the build's airlock-vmm */
	char kernel[PATH_MAX];	/* $AIRLOCK_KERNEL, else HOME/kernel/vmlinux */
	char initrd[PATH_MAX];	/* $AIRLOCK_INITRD, else the build's initramfs */
};

/* Fills p; the files themselves are checked when a VM boots. -errno after
 * printing why (no home directory to put the state in, say). */
int paths_resolve(struct airlock_paths *p);
/* Checks that the VMM, kernel and initramfs are there, saying which is
 * not and how to get it. */
int paths_check(const struct airlock_paths *p);

/* A template: NAME under HOME/templates, or a path to a template folder
 * (anything with a '/'). */
struct template_ref {
	char name[TEMPLATE_NAME_MAX + 1];
	char dir[PATH_MAX];
	char image[PATH_MAX];	/* dir/rootfs.ext4 */
};

int template_find(const struct airlock_paths *p, const char *what,
		  struct template_ref *t);

/* What a sandbox keeps between runs (settings.json). */
struct sandbox_settings {
	char template_name[TEMPLATE_NAME_MAX + 1];
	char template_dir[PATH_MAX];
	uint64_t mem_mib;
	unsigned int cpus;
	uint64_t disk_bytes;
	int64_t created;	/* seconds since the epoch */
	unsigned int pids_max;	/* this boot's airlock.pids= (0: none); not saved */
};

struct net_opts;
struct sandbox_net;

struct sandbox {
	char name[SANDBOX_NAME_MAX + 1];
	char dir[PATH_MAX];
	char sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sandbox_settings set;
	int lock_fd;		/* held while this process runs its VM */
};

/* [A-Za-z0-9][A-Za-z0-9_.-]*, at most SANDBOX_NAME_MAX bytes (as Docker's
 * container names). Template names follow the same rule. */
bool sandbox_name_ok(const char *name);

/* The default name of the sandbox for a project folder: its base name made
 * name-safe, "-", and 6 hex digits of a hash of the whole path, so two
 * folders called "app" get two sandboxes. */
void sandbox_name_for_dir(const char *dir, char *out, size_t size);
/* A fresh unique name from a base: base-XXXXXX with 6 random hex digits. */
void sandbox_name_random(const char *base, char *out, size_t size);

/* Opens sandbox NAME's folder: -ENOENT if it does not exist. */
int sandbox_open(struct sandbox *sb, const struct airlock_paths *p,
		 const char *name);
/* Makes a new sandbox NAME with these settings and its disk: -EEXIST if
 * the name is taken. On failure nothing is left behind. */
int sandbox_create(struct sandbox *sb, const struct airlock_paths *p,
		   const char *name, const struct sandbox_settings *set);
int sandbox_save_settings(const struct sandbox *sb);
/* --disk-size SIZE (airlock run, airlock template warm): 64M to 16T into
 * *bytes; -EINVAL after saying what is wrong. */
int sandbox_disk_size_parse(const char *arg, uint64_t *bytes);
/* Makes path (which must not exist) an empty sandbox disk of bytes: a
 * copy of the blank of that size, made first if need be (blank.h). 0, or
 * -errno after saying why. */
int sandbox_new_disk(const struct airlock_paths *p, const char *path, uint64_t bytes);

/* Takes the sandbox's lock: -EBUSY if a VM runs on it already. */
int sandbox_lock(struct sandbox *sb);
/* True if some process holds the lock (a supervisor runs the sandbox,
 * or is removing it). */
bool sandbox_running(const struct sandbox *sb);

void sandbox_close(struct sandbox *sb);

/* Removes a stopped sandbox's folder and everything in it. -EBUSY if it
 * is running. */
int sandbox_remove(const struct airlock_paths *p, const char *name);

#endif
