/* An airlock-vmm process: the files it runs on, starting it jailed with
 * exactly those (lib/spawn.h), and watching it until it has ended. The
 * supervisor (supervise.h) starts a sandbox's VMM through it, and the
 * snapshots (snapshot.h) theirs. */
#ifndef AIRLOCK_TOOLS_VMM_PROC_H
#define AIRLOCK_TOOLS_VMM_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tools/airlock/sandbox.h"

/* What a VMM runs on: its files, open. -1 where absent: kernel and initrd
 * when restoring, the TAP without a network, the snapshot files when there
 * is no snapshot. */
struct vmm_files {
	int kernel, initrd, template_img, disk, vsock, console, kvm, tap, log;
	int snap_state, snap_mem;
	bool snap_out;		/* write the snapshot, else start from it */
	const char *snap_key;	/* --snapshot-key, hex */
};

#define VMM_FILES_NONE { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, false, NULL }

/* Closes every file but the TAP (the network's to close), and sets them -1. */
void vmm_files_close(struct vmm_files *f);

/* Starts airlock-vmm in namespaces of its own, jailed (as its own system
 * user when we are root), with exactly these files (and /dev/null as stdin
 * and stdout, f->log as stderr): cpus vCPUs, mem_mib of memory, cmdline
 * (unused when restoring). With done, also the write end of a pipe as its
 * --done, whose read end *done gets: the VMM writes its status there once
 * the VM has ended, before the kernel frees it. Returns its pid, or -errno
 * after saying why. */
pid_t vmm_spawn(const struct airlock_paths *p, const struct vmm_files *f, unsigned int cpus,
		uint64_t mem_mib, const char *cmdline, int *done);

/* A started VMM, watched through its pidfd and its --done pipe. It has
 * ended once its VM has (the byte on the pipe) or its process has: then
 * nothing of its guest runs or is served any more, though the process may
 * still be freeing the VM. */
struct vmm_proc {
	pid_t pid;		/* 0: none */
	int pidfd;		/* -1: none (or the kernel has no pidfds) */
	int done_fd;		/* -1: none, or read already */
	int status;		/* wait status once ended (from --done: exited) */
	bool ended;
	bool reaped;		/* and the process waited for */
};

#define VMM_PROC_NONE { 0, -1, -1, 0, false, false }

/* Watches pid (from vmm_spawn, with its done fd or -1) from now on, in
 * place of any before. */
void vmm_proc_adopt(struct vmm_proc *v, pid_t pid, int done);

/* True until it has ended (reaps the process if that is how). A
 * callback's shape (lib/vsock_client.h): arg is the struct vmm_proc. */
bool vmm_proc_alive(void *arg);

/* Waits up to ms for it to end, taking nothing (any thread): true once it
 * has. */
bool vmm_proc_ended_within(const struct vmm_proc *v, int ms);

/* Waits up to ms for it to end: true once it has. */
bool vmm_proc_gone_within(struct vmm_proc *v, int ms);

/* SIGKILL, unless its process was reaped (not waited for after). */
void vmm_proc_kill(const struct vmm_proc *v);

/* Forgets it (closes its fds); it is reaped by now, or init's once we
 * are gone. */
void vmm_proc_forget(struct vmm_proc *v);

#endif
