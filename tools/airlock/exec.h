/* The host side of the exec protocol (docs/protocol.md): runs one command in
 * a booted sandbox through airlock-init's exec port and relays this
 * process's stdin, stdout and stderr to it; and asks airlock-init to end the
 * VM cleanly through the control port. Both reach the guest through the
 * VMM's vsock Unix socket (airlock-vmm --vsock PATH). docs/cli.md says how
 * the relay behaves for a user. */
#ifndef AIRLOCK_TOOLS_AIRLOCK_EXEC_H
#define AIRLOCK_TOOLS_AIRLOCK_EXEC_H

#include <stdbool.h>
#include <stdint.h>

struct exec_opts {
	/* The command. NULL or empty: the user's login shell
	 * (/bin/sh -c 'exec "$SHELL" -l'). */
	char *const *argv;
	/* "KEY=VALUE" entries, NULL-terminated (NULL: none). Exactly these
	 * enter the guest, on top of the user's login environment there
	 * (HOME, USER, LOGNAME, SHELL, PATH, LANG, TERM=linux); on a TTY the
	 * host's TERM is added unless an entry sets TERM. */
	char *const *env;
	const char *cwd;	/* NULL: the guest's default; else absolute */
	/* NULL: the guest's default (agent). A name, or a uid in decimal. */
	const char *user;
	/* -1: a TTY if stdin and stdout are both terminals; 0: three pipes
	 * (stdout and stderr apart, stdin's EOF delivered); 1: a TTY. */
	int tty;
	/* Called once the command has started (NULL: nothing to call). */
	void (*started)(void *arg);
	void *started_arg;
	/* If not NULL: set to whether the user ended the session here (~.
	 * or a second signal), when the guest may not have. */
	bool *ended_locally;
};

/* Connects to the guest's exec port through the VMM's vsock socket at
 * vsock_path, retrying every 10 ms while the guest boots, for up to
 * timeout_ms (giving up early once alive(arg) returns false; alive may be
 * NULL), runs the command and relays this process's stdin, stdout and
 * stderr until it ends.
 *
 * Returns the status to exit with: the command's exit code, 128+N if
 * signal N killed it, or for a command that could not start 127 (not
 * found), 126 (not executable), 125 (anything else: bad user, cwd, ...),
 * after printing airlock-init's reason on stderr. If the user ended the
 * session here, after one line saying so: 255 for `~.` typed at the start
 * of a line (a TTY session), 128+N for a second SIGINT or SIGTERM (N)
 * within 3 s of the first. On a failure of the host
 * side or the connection it prints one message on stderr ("airlock: ...")
 * and returns a negative errno: -ETIMEDOUT (no exec service within
 * timeout_ms), -ESRCH (alive() said the VM is gone), -ECONNRESET (the
 * connection ended before the command did), -EPROTO /
 * -EPROTONOSUPPORT (airlock-init spoke garbage or another version),
 * -E2BIG / -EINVAL (the request cannot be sent as given), or what a
 * system call returned.
 *
 * While it runs it owns this process's stdio and these signals: SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT are forwarded to the command's process
 * group (the relay goes on until the command ends; a second SIGINT or
 * SIGTERM within 3 s ends it here), SIGWINCH and SIGCONT are handled on a
 * TTY, SIGPIPE is ignored. With a TTY, stdin is put in raw mode. Output to
 * a terminal passes the terminal filter (lib/termfilter.h); to a pipe or
 * file it is byte-exact. Everything (signal mask and dispositions,
 * terminal modes the guest switched on, terminal mode, fd flags) is
 * restored before it returns, on every path. Not thread-safe. */
int exec_run(const char *vsock_path, const struct exec_opts *o, int timeout_ms,
	     bool (*alive)(void *arg), void *arg);

/* Asks airlock-init to end the VM (control port, POWEROFF). Returns 0 once
 * it accepted (the VMM then exits 0 when the sandbox disk is clean), or
 * -ETIMEDOUT, -ECONNRESET, -EPROTO, -ESRCH (alive() said the VM is gone)
 * or another -errno. Retries the connection like exec_run() for up to
 * timeout_ms (alive may be NULL). Prints nothing. */
int exec_poweroff(const char *vsock_path, int timeout_ms, bool (*alive)(void *arg),
		  void *arg);

/* Resumes a guest restored from a snapshot (control port, RESUME): fresh
 * random bytes for its kernel's RNG, this host's time, and the size of its
 * sandbox disk now (0: none). Returns 0 once airlock-init has reseeded,
 * set its clock and sees the disk as it is (its ACK), or an -errno as
 * exec_poweroff() does. Prints nothing. */
int exec_resume(const char *vsock_path, uint64_t upper_size, int timeout_ms,
		bool (*alive)(void *arg), void *arg);

#endif
