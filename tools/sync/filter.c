/* airlock-sync's seccomp allowlist, installed once its descriptors are
 * open: file calls on the descriptors it holds (every path is resolved by
 * openat2 under the project or state fd, but a path argument cannot be
 * filtered, so the confinement is safefs's, and this list keeps out the
 * rest of the kernel: no new sockets or connections, no exec, no ptrace,
 * no mounts, no chown). Anything else traps; the handler names the call
 * and ends the process. Every rule says why. */
#include "tools/sync/filter.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define EXIT_SECCOMP 125

struct rule {
	int nr;
	const char *why;
};

static const struct rule rules[] = {
	{ SCMP_SYS(read), "the guest stream, the supervisor, inotify, project files" },
	{ SCMP_SYS(write), "project and state files, the sync log" },
	{ SCMP_SYS(pread64), "reading back a held or judged file from its start" },
	{ SCMP_SYS(recvfrom), "the guest stream and the supervisor (recv)" },
	{ SCMP_SYS(sendto), "the guest stream and the supervisor (send)" },
	{ SCMP_SYS(openat), "files and folders under the project and state fds" },
	{ SCMP_SYS(openat2), "the confined lookup every project path goes through" },
	{ SCMP_SYS(close), "every fd opened for one file" },
	{ SCMP_SYS(fstat), "what a file is once open" },
	{ SCMP_SYS(newfstatat), "lstat of a path under a folder fd" },
	{ SCMP_SYS(statx), "glibc's fstatat on newer systems" },
	{ SCMP_SYS(lseek), "directory streams (readdir)" },
	{ SCMP_SYS(getdents64), "listing folders (scans, new folders)" },
	{ SCMP_SYS(mkdirat), "folders the guest made; the quarantine" },
	{ SCMP_SYS(unlinkat), "files and folders the guest deleted; temporary files" },
	{ SCMP_SYS(renameat), "a written file into place" },
	{ SCMP_SYS(renameat2), "the same with RENAME_NOREPLACE; the guest's renames" },
	{ SCMP_SYS(symlinkat), "links the guest made (stored, never followed)" },
	{ SCMP_SYS(readlinkat), "link targets, compared and sent" },
	{ SCMP_SYS(linkat), "naming an O_TMPFILE file before its rename" },
	{ SCMP_SYS(fchmod), "the mode of a written file" },
	{ SCMP_SYS(fchmodat), "a mode change, through the no-follow fd's /proc entry" },
	{ SCMP_SYS(utimensat), "the guest's mtimes (futimens too)" },
	{ SCMP_SYS(fsync), "a file and its folder, before and after the rename" },
	{ SCMP_SYS(fcntl), "fdopendir checks its fd" },
	{ SCMP_SYS(inotify_init1), "watching the project, set up once the guest is listed" },
	{ SCMP_SYS(inotify_add_watch), "new project folders, through /proc/self/fd" },
	{ SCMP_SYS(inotify_rm_watch), "folders moved out of the project" },
	{ SCMP_SYS(epoll_wait), "the event loop" },
	{ SCMP_SYS(epoll_pwait), "the same, where glibc uses it" },
	{ SCMP_SYS(epoll_ctl), "the event loop's descriptors" },
	{ SCMP_SYS(epoll_create1), "the event loop, made once set up" },
	{ SCMP_SYS(getrandom), "temporary names, a new epoch" },
	{ SCMP_SYS(getpid), "quarantine folder names" },
	{ SCMP_SYS(clock_gettime), "debounce timing, where the vDSO is unavailable" },
	{ SCMP_SYS(brk), "malloc" },
	{ SCMP_SYS(sysinfo), "glibc's qsort sizes its buffer by the memory there is" },
	{ SCMP_SYS(mmap), "malloc of large buffers" },
	{ SCMP_SYS(munmap), "free of large buffers" },
	{ SCMP_SYS(mremap), "realloc of large buffers" },
	{ SCMP_SYS(madvise), "glibc returning freed memory" },
	{ SCMP_SYS(rt_sigreturn), "return from the SIGSYS handler's frame" },
	{ SCMP_SYS(rt_sigprocmask), "glibc around abort" },
	{ SCMP_SYS(exit_group), "the end (also from the SIGSYS handler)" },
	{ SCMP_SYS(exit), "the end" },
	{ SCMP_SYS(restart_syscall), "a wait interrupted by a signal resumes" },
};

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n;

	(void)sig;
	(void)uc;
	n = snprintf(msg, sizeof(msg),
		     "airlock-sync: seccomp: forbidden system call %d; stopping\n",
		     si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* nowhere left to report to */
	}
	_exit(EXIT_SECCOMP);
}

int hsync_seccomp_install(char *err, size_t errlen)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx;
	int r = 0;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		snprintf(err, errlen, "cannot install the SIGSYS handler: %s", strerror(errno));
		return -errno;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < sizeof(rules) / sizeof(rules[0]); i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, rules[i].nr, 0);
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(-r));
	return r;
}
