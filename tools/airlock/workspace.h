/* The workspace of `airlock run`: the project folder copied into the
 * sandbox at its own path before the command starts, kept in sync both
 * ways while it runs, and flushed back before the run ends, by airlock-sync
 * (tools/sync/, docs/sync.md), which this starts and talks to. */
#ifndef AIRLOCK_TOOLS_WORKSPACE_H
#define AIRLOCK_TOOLS_WORKSPACE_H

#include "tools/airlock/sandbox.h"
#include "tools/airlock/supervise.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define WORKSPACE_MAX_EXCLUDES 256

struct workspace_opts {
	const char *path;	/* --workspace; NULL: the current folder */
	bool none;		/* --no-workspace */
	const char *exclude[WORKSPACE_MAX_EXCLUDES];
	unsigned int nexclude;
	const char *max_file, *max_total, *max_files;	/* as given, or NULL */
};

struct workspace_counts {
	unsigned long long in, back, held, conflicts, refused, stripped;
};

struct workspace {
	bool on;
	char root[PATH_MAX];	/* the project's real absolute path */
	char state[PATH_MAX];	/* SANDBOX/sync */
	pid_t pid;		/* airlock-sync */
	int ctl;		/* our end of its socketpair */
	char line[4096];	/* what it said, not yet a whole line */
	size_t nline;
	bool ready, summarised;
	/* The sandbox is removed right after: once airlock-sync has said
	 * its summary, workspace_close does not wait for its end. */
	bool discard;
	int signal;		/* what stopped the copy-in (-EINTR), or 0 */
	char error[1024];
	struct workspace_counts count;
};

/* `airlock run`'s options for the workspace, for its getopt_long table
 * (codes from WORKSPACE_OPT_BASE), and their handling: 1 if opt was one
 * of them, 0 if not, -1 after saying what is wrong with arg. */
#define WORKSPACE_OPT_BASE 0x200
#define WORKSPACE_OPTIONS \
	{ "workspace", required_argument, NULL, WORKSPACE_OPT_BASE }, \
	{ "no-workspace", no_argument, NULL, WORKSPACE_OPT_BASE + 1 }, \
	{ "exclude", required_argument, NULL, WORKSPACE_OPT_BASE + 2 }, \
	{ "sync-max-file", required_argument, NULL, WORKSPACE_OPT_BASE + 3 }, \
	{ "sync-max-total", required_argument, NULL, WORKSPACE_OPT_BASE + 4 }, \
	{ "sync-max-files", required_argument, NULL, WORKSPACE_OPT_BASE + 5 }
#define WORKSPACE_USAGE \
	"  --workspace PATH     the folder copied into the sandbox at its own path and\n" \
	"                       synced both ways (default: the current folder); the\n" \
	"                       command starts there unless -w says otherwise\n" \
	"  --no-workspace       nothing of the host goes in\n" \
	"  --exclude PATTERN    leave PATTERN out (gitignore syntax), as lines of the\n" \
	"                       project's .airlockignore do\n" \
	"  --sync-max-file SIZE, --sync-max-total SIZE, --sync-max-files N\n" \
	"                       what the sandbox may write back: one file (default\n" \
	"                       1G), all files of the run (16G), paths (500000)\n"
int workspace_opt(struct workspace_opts *o, int opt, const char *arg);

/* Checks the options and resolves the project folder (refusing / and the
 * home folder itself). Sets w->on unless --no-workspace. -errno after
 * saying why. */
int workspace_prepare(struct workspace *w, const struct workspace_opts *o);

/* After the VM was started: connects to the guest's sync port (waiting up
 * to timeout_ms while it boots), starts airlock-sync with the project,
 * the state folder, that stream and a socketpair, and waits until the
 * project is in the guest, with a progress line on a terminal when that
 * takes more than a second; says once what was left out. SIGINT, SIGTERM
 * and SIGHUP must be blocked: one that arrives meanwhile stops it (-EINTR,
 * w->signal). -errno after saying why (the run should not go on). */
int workspace_start(struct workspace *w, struct supervisor *sv, const struct airlock_paths *p,
		    const struct workspace_opts *o, int timeout_ms);

/* After the command ended: the guest's last changes come back (waiting up
 * to timeout_ms; -1: ten minutes), then one summary line. Returns 0, or
 * -errno if the sync had failed or was cut short (said). */
int workspace_finish(struct workspace *w, struct supervisor *sv, int timeout_ms);

/* Stops airlock-sync if it still runs (any early exit). */
void workspace_close(struct workspace *w);

#endif
