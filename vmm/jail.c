/* The VMM's jail: see jail.h. Every step is checked; a jail that cannot be
 * entered whole is an error, never a VMM running half-jailed. */
#include "vmm/jail.h"
#include "lib/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Open files: the images, disks and console handed in, KVM's VM and vCPU
 * fds, eventfds per queue, and vsock's streams (64) with room to spare. */
#define JAIL_NOFILE 512
/* Address space beyond guest RAM: code, heap, vsock's stream buffers
 * (16 MiB, mapped at start), each vCPU thread's stack and kvm_run. */
#define JAIL_AS_BASE (256ull << 20)
#define JAIL_AS_PER_CPU (16ull << 20)
/* Where the empty root is mounted before it becomes "/": any directory
 * will do in our own mount namespace; /proc always exists here. */
#define JAIL_STAGE "/proc"

static int fail(char *err, size_t errlen, const char *what)
{
	int e = errno ? errno : EPERM;

	snprintf(err, errlen, "cannot jail the VMM: %s: %s", what, strerror(e));
	return -e;
}

/* Are we still in the initial user namespace (no mapping made for us)? */
static bool initial_userns(void)
{
	char buf[128];
	int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned long a, b, c;

	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	return sscanf(buf, "%lu %lu %lu", &a, &b, &c) == 3 && a == 0 && b == 0 &&
	       c == 4294967295ul;
}

/* A user namespace of our own where we are root (mapped to who we are),
 * for the mounts; every capability goes again below. */
static int own_userns(char *err, size_t errlen)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int r;

	if (unshare(CLONE_NEWUSER) < 0)
		return fail(err, errlen, "a user namespace (unshare)");
	r = userns_map_root(0, uid, gid);
	if (r < 0) {
		errno = -r;
		return fail(err, errlen, "mapping our uid and gid in it");
	}
	return 0;
}

/* "/" becomes an empty read-only tmpfs; the old root is detached. */
static int empty_root(char *err, size_t errlen)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fail(err, errlen, "making mounts private");
	if (mount("airlock-vmm", JAIL_STAGE, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=2,mode=0555") < 0)
		return fail(err, errlen, "mounting the empty root");
	if (chdir(JAIL_STAGE) < 0)
		return fail(err, errlen, "entering the empty root");
	/* pivot_root(".", "."): the old root is stacked under the new one
	 * and detached right away, so no directory for it is needed. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return fail(err, errlen, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return fail(err, errlen, "detaching the old root");
	if (chdir("/") < 0)
		return fail(err, errlen, "chdir /");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
		  MS_NOEXEC, NULL) < 0)
		return fail(err, errlen, "making the empty root read-only");
	return 0;
}

static int limits(const struct jail_limits *lim, char *err, size_t errlen)
{
	struct rlimit none = { 0, 0 };
	struct rlimit files = { JAIL_NOFILE, JAIL_NOFILE };
	uint64_t as = lim->mem_bytes + JAIL_AS_BASE + lim->cpus * JAIL_AS_PER_CPU;
	struct rlimit asl = { as, as };
	struct rlimit fsize = { lim->max_file ? lim->max_file : RLIM_INFINITY,
				lim->max_file ? lim->max_file : RLIM_INFINITY };

	if (setrlimit(RLIMIT_CORE, &none) < 0 || setrlimit(RLIMIT_MEMLOCK, &none) < 0)
		return fail(err, errlen, "RLIMIT_CORE/MEMLOCK");
	if (setrlimit(RLIMIT_NOFILE, &files) < 0)
		return fail(err, errlen, "RLIMIT_NOFILE");
	if (setrlimit(RLIMIT_AS, &asl) < 0)
		return fail(err, errlen, "RLIMIT_AS");
	if (setrlimit(RLIMIT_FSIZE, &fsize) < 0)
		return fail(err, errlen, "RLIMIT_FSIZE");
	return 0;
}

static int drop_bounding_set(void)
{
	for (int c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	return 0;
}

static int drop_all_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/* Started as root: become j->uid:j->gid, which holds nothing. */
static int become_user(const struct vmm_jail_opts *j, char *err, size_t errlen)
{
	if (drop_bounding_set() < 0)
		return fail(err, errlen, "emptying the capability bounding set");
	if (setgroups(0, NULL) < 0)
		return fail(err, errlen, "setgroups");
	if (setresgid(j->gid, j->gid, j->gid) < 0)
		return fail(err, errlen, "setresgid");
	if (setresuid(j->uid, j->uid, j->uid) < 0)
		return fail(err, errlen, "setresuid");
	/* Every capability went with uid 0; make sure. */
	if (drop_all_caps() < 0)
		return fail(err, errlen, "dropping capabilities");
	return 0;
}

/* Started as a user: root of our user namespace only, and not even that:
 * no capability, none to regain (securebits locked), none to inherit. */
static int shed_userns_root(char *err, size_t errlen)
{
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
		  SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE |
		  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED, 0, 0, 0) < 0)
		return fail(err, errlen, "securebits");
	if (drop_bounding_set() < 0)
		return fail(err, errlen, "emptying the capability bounding set");
	if (drop_all_caps() < 0)
		return fail(err, errlen, "dropping capabilities");
	return 0;
}

int jail_enter(const struct vmm_jail_opts *j, const struct jail_limits *lim,
	       char *err, size_t errlen)
{
	bool root = geteuid() == 0 && initial_userns();
	int r, death_sig = 0;

	errno = 0;
	/* A new identity clears the parent-death signal our supervisor asked
	 * for (so that we die with it): armed again at the end. */
	prctl(PR_GET_PDEATHSIG, &death_sig);
	if (root && (!j->uid || !j->gid)) {
		snprintf(err, errlen, "cannot jail the VMM: started as root, it needs "
			 "--jail=UID:GID, an identity of its own to run as");
		return -EINVAL;
	}
	if (!root && geteuid() != 0 && (r = own_userns(err, errlen)) < 0)
		return r;
	if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return fail(err, errlen, "new mount, network, IPC and UTS namespaces");
	if ((r = empty_root(err, errlen)) < 0 || (r = limits(lim, err, errlen)) < 0)
		return r;
	r = root ? become_user(j, err, errlen) : shed_userns_root(err, errlen);
	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, errlen, "no_new_privs");
	if (death_sig && prctl(PR_SET_PDEATHSIG, death_sig) < 0)
		return fail(err, errlen, "the parent-death signal");
	return 0;
}
