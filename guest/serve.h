/* Serve mode of airlock-init (no airlock.cmd= on the kernel command line):
 * one epoll loop (agent.c) serving the services listed in services.c, each
 * on its vsock port: exec streams (exec.c, one session per stream, its
 * command started by spawn.c), control requests (control.c), the workspace
 * sync (sync.c, sync.h), while PID 1
 * reaps every process that ends. No threads: every descriptor is
 * non-blocking and registered edge-triggered, and what it is ready for is
 * remembered in flags until a call returns EAGAIN. A service plugs in by
 * filling a struct service; the loop does not know what it serves. */
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
/* Services the loop can hold. */
#define SERVE_MAX_SERVICES 8

/* What an epoll event points at: the callback that handles it and the
 * object it belongs to; tag tells the owner which of its descriptors it
 * is. */
struct watch {
	void (*event)(struct watch *w, uint32_t events);
	void *owner;
	int tag;
};

struct agent;

/* One service of the loop. Every callback may be NULL. */
struct service {
	const char *name;
	unsigned int port;	/* the vsock port it listens on; 0: none */
	/* Once, before the loop runs: *state is passed to every other
	 * callback. -errno ends the boot (after saying why). */
	int (*init)(struct agent *a, void **state);
	/* A connection on its port: non-blocking, close-on-exec. */
	void (*accept)(void *state, int fd);
	/* After every round of events: does what is pending. Returns true if
	 * it stopped with work left (the loop comes back without waiting). */
	bool (*pump)(void *state);
	/* When pump must run at the latest (clock_ms()), or -1. */
	int64_t (*deadline)(void *state);
	/* A child ended: true if it was this service's. */
	bool (*child_exited)(void *state, pid_t pid, int wstatus);
	/* The VM is ending: close what it holds. */
	void (*stop)(void *state);
};

/* services.c: every service, NULL-terminated. */
extern const struct service *const serve_services[];

/* A running service: its state, and its listener if it has a port. */
struct serve_slot {
	struct watch w;
	struct agent *agent;
	int fd;
	const struct service *svc;
	void *state;
};

/* The loop's state, shared with the services. */
struct agent {
	struct init_ctx *ctx;
	const struct init_params *params;
	const struct init_user *user;	/* the default user, looked up at boot */
	int epfd;
	int sigfd;
	struct watch w_sig;
	struct serve_slot slots[SERVE_MAX_SERVICES];
	int nslots;
	bool poweroff;		/* a POWEROFF was accepted */
	/* A command was started in this boot: what it writes, or what it
	 * leaves running writes, may not be on the disk yet. */
	bool commands_started;
	int poweroff_fd;	/* its connection, kept until the host closes it */
	struct ratelog strangers;	/* refused peers (not the host): logged */
};

/* Registers fd with w (event and owner filled in): edge-triggered, in and
 * out. -errno on failure. */
int serve_watch(struct agent *a, int fd, struct watch *w);
/* The same, level-triggered and input only (listeners). */
int serve_watch_in(struct agent *a, int fd, struct watch *w);
/* Unregisters fd, then closes it. Always this, never a bare close() of a
 * registered fd: a child forked meanwhile holds a copy of every fd until
 * it execs, which keeps the file (and its registration) alive, and its
 * events would then point at freed memory. */
void serve_close(struct agent *a, int fd);

/* exec.c, control.c, sync.c: the services. */
extern const struct service exec_service;
extern const struct service control_service;
extern const struct service sync_service;

/* session.c: one exec stream. */
struct session *session_new(struct agent *a, int sock);
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

/* agent.c: the loop. Never returns: the VM ends on POWEROFF. A restored
 * guest's ACK (ack_fd >= 0) goes once every service listens, so that the
 * host's first connection to any of them finds it. */
__attribute__((noreturn)) void init_serve(struct init_ctx *ctx,
					  const struct init_params *p,
					  const struct init_user *u, int ack_fd);

#endif
