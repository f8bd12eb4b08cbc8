/* airlock-sync's seccomp allowlist (lib/sysfilter.h), installed once its
 * descriptors are open: file calls on the descriptors it holds (every
 * path is resolved by openat2 under the project or state fd, but a path
 * argument cannot be filtered, so the confinement is safefs's, and this
 * list keeps out the rest of the kernel: no sockets or connections, no
 * exec, no ptrace, no mounts, no chown, no setuid or setgid bit, no
 * executable memory). Streams are read and written only on the two it was
 * given. Anything else traps; the reporter names the call and ends the
 * process. Every rule says why. */
#include "tools/sync/filter.h"
#include "lib/sysfilter.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define EXIT_SECCOMP 125

static const struct sf_rule allowed[] = {
	{ SCMP_SYS(read), 0, { { 0 } }, "the guest stream, the supervisor, inotify, project files" },
	{ SCMP_SYS(write), 0, { { 0 } }, "project and state files, the sync log" },
	{ SCMP_SYS(pread64), 0, { { 0 } }, "reading back a held or judged file from its start" },
	{ SCMP_SYS(openat), 0, { { 0 } }, "files and folders under the project and state fds" },
	{ SCMP_SYS(openat2), 0, { { 0 } }, "the confined lookup every project path goes through" },
	{ SCMP_SYS(close), 0, { { 0 } }, "every fd opened for one file" },
	{ SCMP_SYS(fstat), 0, { { 0 } }, "what a file is once open" },
	{ SCMP_SYS(newfstatat), 0, { { 0 } }, "lstat of a path under a folder fd" },
	{ SCMP_SYS(statx), 0, { { 0 } }, "glibc's fstatat on newer systems" },
	{ SCMP_SYS(lseek), 0, { { 0 } }, "directory streams (readdir)" },
	{ SCMP_SYS(getdents64), 0, { { 0 } }, "listing folders (scans, new folders)" },
	{ SCMP_SYS(mkdirat), 0, { { 0 } }, "folders the guest made; the quarantine" },
	{ SCMP_SYS(unlinkat), 0, { { 0 } }, "files and folders the guest deleted; temporary files" },
	{ SCMP_SYS(renameat), 0, { { 0 } }, "a written file into place" },
	{ SCMP_SYS(renameat2), 0, { { 0 } }, "the same with RENAME_NOREPLACE; the guest's renames" },
	{ SCMP_SYS(symlinkat), 0, { { 0 } }, "links the guest made (stored, never followed)" },
	{ SCMP_SYS(readlinkat), 0, { { 0 } }, "link targets, compared and sent" },
	{ SCMP_SYS(linkat), 0, { { 0 } }, "naming an O_TMPFILE file before its rename" },
	{ SCMP_SYS(utimensat), 0, { { 0 } }, "the guest's mtimes (futimens too)" },
	{ SCMP_SYS(fsync), 0, { { 0 } }, "a file and its folder, before and after the rename" },
	{ SCMP_SYS(fcntl), 0, { { 0 } }, "fdopendir checks its fd" },
	{ SCMP_SYS(inotify_init1), 0, { { 0 } }, "watching the project, set up once the guest is listed" },
	{ SCMP_SYS(inotify_add_watch), 0, { { 0 } }, "new project folders, through /proc/self/fd" },
	{ SCMP_SYS(inotify_rm_watch), 0, { { 0 } }, "folders moved out of the project" },
	{ SCMP_SYS(epoll_wait), 0, { { 0 } }, "the event loop" },
	{ SCMP_SYS(epoll_pwait), 0, { { 0 } }, "the same, where glibc uses it" },
	{ SCMP_SYS(epoll_ctl), 0, { { 0 } }, "the event loop's descriptors" },
	{ SCMP_SYS(epoll_create1), 0, { { 0 } }, "the event loop, made once set up" },
	{ SCMP_SYS(getrandom), 0, { { 0 } }, "temporary names, a new epoch" },
	{ SCMP_SYS(getpid), 0, { { 0 } }, "quarantine folder names" },
	{ SCMP_SYS(clock_gettime), 0, { { 0 } }, "debounce timing, where the vDSO is unavailable" },
	{ SCMP_SYS(brk), 0, { { 0 } }, "malloc" },
	{ SCMP_SYS(sysinfo), 0, { { 0 } }, "glibc's qsort sizes its buffer by the memory there is" },
	{ SCMP_SYS(munmap), 0, { { 0 } }, "free of large buffers" },
	{ SCMP_SYS(mremap), 0, { { 0 } }, "realloc of large buffers" },
	{ SCMP_SYS(madvise), 0, { { 0 } }, "glibc returning freed memory" },
	{ SCMP_SYS(rt_sigreturn), 0, { { 0 } }, "return from the SIGSYS handler's frame" },
	{ SCMP_SYS(rt_sigprocmask), 0, { { 0 } }, "glibc around abort" },
	{ SCMP_SYS(exit_group), 0, { { 0 } }, "the end (also from the SIGSYS handler)" },
	{ SCMP_SYS(exit), 0, { { 0 } }, "the end" },
	{ SCMP_SYS(restart_syscall), 0, { { 0 } }, "a wait interrupted by a signal resumes" },
};

/* Modes never carry setuid or setgid (the applier strips them first; a
 * hijacked applier still cannot set them), memory is never executable. */
static const struct sf_rule with_args[] = {
	{ SCMP_SYS(fchmod), 1, { { 1, SF_MASK0, S_ISUID | S_ISGID } },
	  "the mode of a written file, never setuid or setgid" },
	{ SCMP_SYS(fchmodat), 1, { { 2, SF_MASK0, S_ISUID | S_ISGID } },
	  "a mode change through the no-follow fd's /proc entry, the same" },
	{ SCMP_SYS(mmap), 1, { { 2, SF_MASK0, PROT_EXEC } }, "malloc of large buffers, never executable" },
};

/* Socket calls name their fd: the guest stream and the supervisor's
 * socketpair, nothing else (it has no other socket and can make none). */
static void add_stream(struct sf_filter *f, int fd)
{
	struct sf_arg a = { 0, SF_EQ32, (uint64_t)(unsigned int)fd };

	if (fd < 0)
		return;
	sf_add1(f, SCMP_SYS(recvfrom), 1, &a);
	sf_add1(f, SCMP_SYS(sendto), 1, &a);
}

int hsync_seccomp_install(int guest, int ctl, char *err, size_t errlen)
{
	struct sf_filter *f;
	int r;

	r = sf_install_reporter("airlock-sync", EXIT_SECCOMP);
	if (r) {
		snprintf(err, errlen, "cannot install the SIGSYS handler");
		return r;
	}
	f = sf_new();
	if (!f) {
		snprintf(err, errlen, "cannot build the seccomp filter");
		return -ENOMEM;
	}
	sf_add(f, allowed, SF_COUNT(allowed));
	sf_add(f, with_args, SF_COUNT(with_args));
	add_stream(f, guest);
	add_stream(f, ctl);
	return sf_load(f, "airlock-sync", err, errlen);
}
