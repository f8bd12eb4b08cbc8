/* airlock-init, PID 1 of every guest: the context its parts share and the
 * steps main() runs in order (init.c). Each step lives in its own file. */
#ifndef AIRLOCK_GUEST_INIT_H
#define AIRLOCK_GUEST_INIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
};

/* init.c */
void init_log(const struct init_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void init_report(const struct init_ctx *ctx, enum pvport_event ev,
		 uint32_t arg);
/* Tells the VMM why, then ends the VM. */
__attribute__((noreturn)) void init_fail(struct init_ctx *ctx, int err);
/* Ends the VM: the kernel resets (reboot=k), which the VMM takes as the end. */
__attribute__((noreturn)) void init_end_vm(struct init_ctx *ctx);

/* mounts.c: /dev first (so the console and /dev/null exist), then the rest.
 * Failures are reported on the console and are not fatal. */
void init_mount_dev(struct init_ctx *ctx);
void init_mount_rest(struct init_ctx *ctx);
void init_system_setup(struct init_ctx *ctx);

/* stdio.c: opens /dev/console for init and makes fds 0-2 valid; then
 * chooses the command's output tty and puts it in raw mode. */
void init_console_open(struct init_ctx *ctx);
int init_stdio_open(struct init_ctx *ctx);

/* command.c: the command from /proc/cmdline, and running it. */
int init_command_read(const struct init_ctx *ctx, char *buf, size_t size,
		      char *argv[], int max_args);
/* Runs argv to its end, reaping every zombie meanwhile. Returns its exit
 * status (128+N if killed by signal N), or -errno if it could not start. */
int init_command_run(struct init_ctx *ctx, char *const argv[]);

#endif
