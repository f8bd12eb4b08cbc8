/* Serve mode of airlock-init (no airlock.cmd= on the kernel command line):
 * one epoll loop serving exec streams on vsock port 1000 (session.c, one
 * session per stream, its command started by spawn.c) and the control port
 * 1002 (agent.c), while PID 1 reaps every process that ends. No threads:
 * every descriptor is non-blocking and registered edge-triggered, and what
 * it is ready for is remembered in flags until a call returns EAGAIN. */
#ifndef AIRLOCK_GUEST_SERVE_H
#define AIRLOCK_GUEST_SERVE_H

#include "guest/init.h"
#include "lib/ratelog.h"
#include "proto/exec.h"
#include "proto/frame.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Exec streams served at once; one more is answered with ERROR
 * EXEC_ERR_RESOURCES. Each costs ~200 KiB of buffers. */
#define SERVE_MAX_SESSIONS 64
/* Control connections open at once. */
#define SERVE_MAX_CONTROL 4

/* What an epoll event points at. */
enum watch_kind {
	W_SIGNAL,	/* the signalfd (SIGCHLD) */
	W_EXEC_LISTEN,	/* vsock listener, exec port */
	W_CTL_LISTEN,	/* vsock listener, control port */
	W_CTL,		/* one control connection */
	W_SOCK,		/* a session's vsock stream */
	W_REPORT,	/* a session's child setup report pipe */
	W_OUT0,		/* stdout pipe, or the PTY master (also stdin) */
	W_OUT1,		/* stderr pipe */
	W_IN,		/* stdin pipe */
};

struct watch {
	enum watch_kind kind;
	void *owner;	/* struct session, struct control_conn, or NULL */
};

/* The loop's state, shared with the sessions. */
struct agent {
	struct init_ctx *ctx;
	const struct init_params *params;
	const struct init_user *user;	/* the default user, looked up at boot */
	int epfd;
	int sigfd;
	int exec_lfd, ctl_lfd;
	struct watch w_sig, w_exec, w_ctl;
	struct session *sessions[SERVE_MAX_SESSIONS];
	struct control_conn *ctl[SERVE_MAX_CONTROL];
	bool poweroff;		/* a POWEROFF was accepted */
	int poweroff_fd;	/* its connection, kept until the host closes it */
	struct ratelog strangers;	/* refused peers (not the host): logged */
};

/* Registers fd (edge-triggered, in and out) with w; -errno on failure. */
int serve_watch(struct agent *a, int fd, struct watch *w, enum watch_kind kind,
		void *owner);

/* session.c: one exec stream. */
struct session *session_new(struct agent *a, int sock);
/* An epoll event for one of the session's descriptors. */
void session_event(struct session *s, const struct watch *w, uint32_t events);
/* The pid of its command while it may still be running, else 0. */
pid_t session_pid(const struct session *s);
void session_child_exited(struct session *s, int wstatus);
/* Does what the session's descriptors and buffers allow. Returns 1 if it
 * is finished (free it), 0 otherwise; *more is set if it stopped with work
 * left (to be called again without waiting for an event). */
int session_pump(struct session *s, bool *more);
/* When session_pump() must run again at the latest (ms), or -1. */
int64_t session_deadline(const struct session *s);
/* Closes everything; hang_up: SIGHUP to the command first. */
void session_free(struct session *s, bool hang_up);

/* spawn.c: the command of one request, started as its user. */
struct spawn {
	pid_t pid;
	int report;		/* read end of the child's report pipe */
	int master;		/* TTY: the PTY master; else -1 */
	int in, out, err;	/* pipes: init's ends; else -1 */
};
/* Sets up the PTY or the pipes, forks, and in the child becomes the
 * command. Returns 0 with sp filled (all descriptors non-blocking and
 * close-on-exec), or an EXEC_ERR_* code with why[] saying what failed. */
int spawn_command(const struct agent *a, const struct exec_request *req,
		  struct spawn *sp, char *why, size_t size);
/* Reads the child's report: -EAGAIN if it has not exec'd yet (try again
 * when the pipe is readable), 0 if it has, or an EXEC_ERR_* code with why[]
 * saying what failed. */
int spawn_result(int report, char *why, size_t size);

/* agent.c: the loop. Never returns: the VM ends on POWEROFF. */
__attribute__((noreturn)) void init_serve(struct init_ctx *ctx,
					  const struct init_params *p,
					  const struct init_user *u);

#endif
