/* airlock-init, PID 1 of every guest: the context its parts share and the
 * steps main() runs in order (init.c). Each step lives in its own file. */
#ifndef AIRLOCK_GUEST_INIT_H
#define AIRLOCK_GUEST_INIT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/passwd.h"
#include "proto/guestparams.h"
#include "proto/netparam.h"
#include "proto/pvport.h"

/* The most arguments airlock.cmd= can carry: x86's command line is at most
 * 2048 bytes, so every one of them being a ',' stays under this. */
#define INIT_MAX_ARGS 2048
/* Room for /proc/cmdline; more than any architecture's COMMAND_LINE_SIZE. */
#define INIT_CMDLINE_MAX 8192

struct init_ctx {
	bool pvport;	/* ioperm granted: reports reach the VMM */
	int con;	/* /dev/console, for init's own messages; -1: use fd 2 */
	int null;	/* /dev/null: the command's stdin */
	int out;	/* the command's stdout and stderr (a tty) */
	const char *out_name;
	int upper_fd;	/* the sandbox disk's root (O_PATH), to make it clean
			 * before the VM ends; -1: none, or already done */
};

/* What /proc/cmdline asks for, validated (params.c). */
struct init_params {
	char cmdbuf[INIT_CMDLINE_MAX];
	char *argv[INIT_MAX_ARGS + 1];	/* argv[0] NULL: no airlock.cmd=, serve */
	char root[GUESTPARAM_DEV_MAX + 1];	/* "": no template */
	char upper[GUESTPARAM_DEV_MAX + 1];	/* "": tmpfs upper layer */
	char user[PASSWD_NAME_MAX + 1];		/* default filled in */
	char cwd[PATH_MAX];			/* "": the user's home */
	bool has_net;				/* airlock.net= was given */
	struct netparam net;
	unsigned int pids_max;			/* 0: no limit */
};

/* log.c: a line on the console; an event on the PV port for the VMM. */
void init_log(const struct init_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void init_report(const struct init_ctx *ctx, enum pvport_event ev,
		 uint32_t arg);
/* end.c. Both end the VM (the kernel resets, which the VMM takes as the end) after
 * killing what is left and making the sandbox disk clean; only then do they
 * tell the VMM the command's status, or why init failed (errno). */
__attribute__((noreturn)) void init_fail(struct init_ctx *ctx, int err);
__attribute__((noreturn)) void init_exit(struct init_ctx *ctx, int status);

/* mounts.c: /dev first (so the console and /dev/null exist), then /proc
 * and /sys (to read the command line; a template root takes all three
 * along), then the rest in the final root. Failures are reported on the
 * console and are not fatal. */
void init_mount_dev(struct init_ctx *ctx);
void init_mount_kernel(struct init_ctx *ctx);
void init_mount_rest(struct init_ctx *ctx);
void init_system_setup(struct init_ctx *ctx);

/* params.c: reads a whole small file into buf (NUL-terminated). Returns
 * its length, -E2BIG if it does not fit in size - 1 bytes, or -errno. */
int init_read_file(const char *path, char *buf, size_t size);
int init_params_read(const struct init_ctx *ctx, struct init_params *p);

/* root.c: the template (read-only) under an upper layer (the sandbox disk
 * or a tmpfs) as an overlay, which becomes the root; /dev, /proc and /sys
 * move along, in two steps so that a snapshot can be taken between them:
 * the template alone, then the upper layer, the overlay and the switch.
 * Each returns -errno after saying what failed. */
#define INIT_TEMPLATE_DIR "/layers/template"	/* the template, mounted read-only */
/* On the sandbox disk, beside the upper layer: the workspace sync's stores
 * (sync_ws.c), out of the agent's reach. */
#define INIT_SYNC_STORES "sync"
int init_root_template(struct init_ctx *ctx, const struct init_params *p);
int init_root_finish(struct init_ctx *ctx, const struct init_params *p);
/* Flushes the sandbox disk and remounts it read-only, so that it is clean
 * when the VM ends. Does nothing without one, or a second time. */
void init_root_persist(struct init_ctx *ctx);

/* snapshot.c: the points a snapshot is taken at, airlock.snapshot=N. */
enum init_snapshot_stage {
	/* 1: the template mounted, nothing of the sandbox disk read. */
	INIT_SNAPSHOT_BEFORE_DISK = 1,
	/* 2: the sandbox disk mounted, the root, /etc and the network ready;
	 * the disk synced, so that a copy of it fits the snapshot. */
	INIT_SNAPSHOT_WITH_DISK = 2,
};

/* If this boot's snapshot is taken at stage, takes it: waits for the
 * host's RESUME, then reseeds the kernel's RNG, sets the wall clock and
 * (before the disk) makes sure the sandbox disk is seen as it is now.
 * Returns 0 at once if not, or -errno after saying what failed. The host
 * gets its ACK at once, or with ack_later, once the caller sends it
 * (init_snapshot_ack on *ack_later, -1 if no snapshot was taken here). */
int init_snapshot_point(struct init_ctx *ctx, const struct init_params *p,
			enum init_snapshot_stage stage, int *ack_later);
/* Sends the ACK a restored guest owes the host on fd (if fd >= 0), and
 * closes it. */
void init_snapshot_ack(const struct init_ctx *ctx, int fd);

/* net.c: with airlock.net=, brings up eth0 with the address, a default
 * route through the gateway, IPv6 off on it, and /etc/resolv.conf naming
 * the gateway. A failure is reported and the boot goes on. */
void init_net_setup(struct init_ctx *ctx, const struct init_params *p);
/* After a restore: the gateway a snapshot VM may have met had another
 * link address than this sandbox's; its ARP entry, if any, goes. */
void init_net_forget_gateway(struct init_ctx *ctx, const struct init_params *p);

/* user.c: looks the user up in the root's /etc/passwd and /etc/group, and
 * builds the command's environment. Returns -errno after saying why. */
struct init_user {
	struct passwd_user pw;
	char env_home[sizeof("HOME=") + PASSWD_PATH_MAX];
	char env_shell[sizeof("SHELL=") + PASSWD_PATH_MAX];
	char env_user[sizeof("USER=") + PASSWD_NAME_MAX];
	char env_logname[sizeof("LOGNAME=") + PASSWD_NAME_MAX];
	char *envp[8];	/* the environment, NULL-terminated */
};
int init_user_lookup(const struct init_ctx *ctx, const char *name,
		     struct init_user *u);
/* The same by name, or by uid when name is NULL, for an exec request:
 * returns -errno with why[] saying what is wrong (nothing is logged). */
int init_user_find(const char *name, uid_t uid, struct init_user *u,
		   char *why, size_t size);
/* In the command's process: groups, gid, uid, each checked, and checked
 * again afterwards. Returns 0, or -errno and *what names the step. */
int init_user_become(const struct passwd_user *pw, const char **what);

/* pids.c: each command in a cgroup of its own whose pids.max is
 * airlock.pids= (init and the cgroup root stay unlimited). Setup mounts
 * cgroup2 and enables the pids and cpu controllers; if it cannot, it says
 * so once and sets p->pids_max to 0 (commands then run unlimited). */
void init_pids_setup(struct init_ctx *ctx, struct init_params *p);
/* In a command's process, still root: makes its cgroup (airlock-cmd-PID),
 * sets pids.max and moves the process in; first removes the cgroups of
 * commands that are gone. Nothing if max is 0. Returns 0, or -errno with
 * *what naming the step. */
int init_pids_enter(unsigned int max, const char **what);

/* stdio.c: opens /dev/console for init and makes fds 0-2 valid; then
 * chooses the command's output tty and puts it in raw mode. */
void init_console_open(struct init_ctx *ctx);
int init_stdio_open(struct init_ctx *ctx);

/* command.c: runs the command as the user to its end, reaping every zombie
 * meanwhile. Returns its exit status (128+N if killed by signal N), or
 * -errno if it could not start (after saying why). */
int init_command_run(struct init_ctx *ctx, const struct init_params *p,
		     const struct init_user *u);
/* SIGKILLs every process but init and reaps them (waiting at most ~2 s). */
void init_command_kill_rest(struct init_ctx *ctx);

#endif
