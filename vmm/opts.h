/* airlock-vmm's command line, parsed and checked before anything is opened.
 * Every file-ish option is either a path (for developers running the VMM by
 * hand; opened at start, before the jail) or "fd:N", a descriptor the
 * supervisor handed in: that is how `airlock run` starts it, so the VMM
 * itself never resolves a path. */
#ifndef AIRLOCK_VMM_OPTS_H
#define AIRLOCK_VMM_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/arch/x86/boot.h"

#define VMM_MAX_DISKS 8
#define VMM_MAX_VSOCK_PORTS 16

/* A file named on the command line: path, or an inherited fd (path NULL). */
struct vmm_file {
	const char *path;
	int fd;			/* -1 unless fd:N */
};

struct vmm_disk {
	struct vmm_file f;
	bool ro;
};

/* How the VMM confines itself once everything is open (vmm/jail.c). */
struct vmm_jail_opts {
	bool enabled;		/* --jail: pivot to an empty root, drop identity */
	uint32_t uid, gid;	/* the identity to run as (when started as root) */
};

struct vmm_opts {
	struct vmm_file kernel, initrd;
	bool have_initrd;
	struct vmm_disk disks[VMM_MAX_DISKS];
	unsigned int ndisks;
	/* vsock: the hybrid Unix listener (a path to bind, or a listening
	 * socket), and the broker that opens guest-initiated streams. */
	struct vmm_file vsock;
	bool have_vsock;
	uint64_t vsock_cid;
	int vsock_broker_fd;	/* -1: none */
	uint32_t vsock_ports[VMM_MAX_VSOCK_PORTS];	/* named host ports */
	unsigned int nvsock_ports;
	/* The kernel console: none (kept in memory to quote a panic),
	 * stdout, stderr, a file path or fd:N. */
	struct vmm_file console;
	enum { CONSOLE_NONE, CONSOLE_STDOUT, CONSOLE_STDERR, CONSOLE_FILE } console_kind;
	uint64_t console_max;	/* bytes into a console file at most; 0: no limit */
	int kvm_fd;		/* fd:N for /dev/kvm, else -1 (opened at start) */
	int net_fd;		/* --net fd:N, the TAP; -1: no network device */
	int done_fd;		/* --done fd:N: the exit status, once the VM ended */
	uint8_t mac[6];		/* the guest's MAC address */
	const char *extra_cmdline;
	unsigned int cpus;
	uint64_t mem_mib;
	enum x86_boot_mode boot;
	struct vmm_jail_opts jail;
	bool boot_timing;
	bool seccomp;
	bool allow_pvm;
	bool verbose;
	/* Snapshots (docs/snapshot.md): the state file to write at the guest's
	 * snapshot point, or to start from; the memory file of either; the
	 * caller's identity of kernel, initramfs and template (3 x 32 bytes). */
	struct vmm_file snapshot_out, restore, snapshot_mem;
	bool have_snapshot_out, have_restore;
	uint8_t snapshot_key[96];
	int argc;		/* the guest command */
	char **argv;
};

/* Parses argv into o. Returns 0, 1 if --help was printed (exit 0), or
 * -EINVAL after printing what is wrong. */
int vmm_opts_parse(int argc, char **argv, struct vmm_opts *o);

/* The descriptors named with fd:N, so that everything else inherited can
 * be closed. Returns how many were written to fds (at most max). */
unsigned int vmm_opts_fds(const struct vmm_opts *o, int *fds, unsigned int max);

#endif
