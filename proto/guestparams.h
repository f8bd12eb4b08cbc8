/* Kernel command-line parameters that tell airlock-init how to boot, next to
 * airlock.cmd= (proto/cmdline.h). The host writes them; airlock-init finds
 * them in /proc/cmdline with cmdline_find(). Shared by host and guest. */
#ifndef AIRLOCK_PROTO_GUESTPARAMS_H
#define AIRLOCK_PROTO_GUESTPARAMS_H

/* The template: a block device name under /dev ("vda"), holding ext4. It is
 * mounted read-only as the overlay's lower layer and becomes the root.
 * Without it the guest runs in the initramfs, as root. */
#define GUESTPARAM_ROOT "airlock.root="
/* The sandbox disk ("vdb"), ext4, read-write: the overlay's upper layer,
 * kept across boots. Without it (but with a template) the upper layer is a
 * tmpfs and every change is gone when the VM ends. */
#define GUESTPARAM_UPPER "airlock.upper="
/* Who runs the command: a name in the template's /etc/passwd. */
#define GUESTPARAM_USER "airlock.user="
/* The command's working directory (default: the user's home). */
#define GUESTPARAM_CWD "airlock.cwd="

/* "1": boot for a snapshot: mount the template, get the vsock listeners
 * ready, report PVPORT_EV_SNAPSHOT_READY, and only go on (sandbox disk,
 * root, commands) once the host sends RESUME on the control port
 * (docs/snapshot.md). "2": the same, but with the sandbox disk mounted
 * and the root set up (synced first): for new sandboxes, whose disk is
 * a copy of the one this snapshot was made with. */
#define GUESTPARAM_SNAPSHOT "airlock.snapshot="

/* The guest's network, IPv4 only: "ADDR/PREFIX,GATEWAY" (proto/netparam.h);
 * the gateway is also the resolver. Without it no network device is
 * expected and nothing is configured. */
#define GUESTPARAM_NET "airlock.net="

/* The most processes each command may have at once, itself and all it
 * starts (a cgroup's pids.max, guest/pids.c): a fork bomb in one command
 * cannot take the processes init and the other commands need. Decimal,
 * 1..GUESTPARAM_PIDS_LIMIT; without it, no limit. */
#define GUESTPARAM_PIDS "airlock.pids="
#define GUESTPARAM_PIDS_LIMIT 4194304	/* the kernel's PID_MAX_LIMIT */

/* airlock.user's default when booting a template; without one it is root. */
#define GUESTPARAM_DEFAULT_USER "agent"

/* Device names are plain: [a-z0-9], starting with a letter, at most this
 * long. airlock.user and airlock.cwd are percent-encoded like one argument
 * of airlock.cmd (cmdline_encode_argv() with argc 1), so a path may hold
 * blanks and ','; a name of plain bytes reads the same encoded or not. */
#define GUESTPARAM_DEV_MAX 31
#define GUESTPARAM_USER_MAX 32

#endif
