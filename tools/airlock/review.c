/* airlock diff, accept and reject: the changes a sandbox's sync held back
 * for review (docs/sync.md, "Quarantine"). diff shows each against the
 * host's file (a unified diff for text, sizes for binaries), accept
 * applies it through airlock-sync's confined file operations, reject drops
 * it and has the next run put the host's version back into the sandbox.
 * Everything a guest wrote is escaped before it reaches the terminal. */
#include "tools/airlock/review.h"
#include "tools/airlock/msg.h"
#include "tools/airlock/sandbox.h"
#include "tools/sync/items.h"
#include "tools/sync/quarantine.h"
#include "tools/sync/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2
#define SHOWN_DELETIONS 20

static const char usage[] =
	"usage: airlock diff [NAME] [PATH...]\n"
	"       airlock accept [NAME] [PATH...]\n"
	"       airlock reject [NAME] [PATH...]\n"
	"\n"
	"What the sandbox's workspace sync held back for review instead of writing\n"
	"into the project: files the host runs without asking (git hooks, git config\n"
	"keys that run programs, .envrc, editor and CI configuration...) and mass\n"
	"deletions. diff shows them, accept applies them, reject drops them (the next\n"
	"run puts the host's version back in the sandbox). NAME is the sandbox (default:\n"
	"the current folder's); PATHs (relative to the project) pick items, each with\n"
	"all below it. accept and reject need the sandbox stopped.\n";

/* Prints bytes with everything a terminal would act on made visible:
 * control characters (but tab and newline) and invalid UTF-8 as \xNN. */
static void print_safe(const char *s, size_t len)
{
	char buf[4 * 4096 + 8];
	size_t i = 0;

	while (i < len) {
		size_t n = len - i < 4096 ? len - i : 4096;
		char chunk[4097];
		size_t o = 0;

		memcpy(chunk, s + i, n);
		chunk[n] = 0;
		/* hsync_escape stops at NUL and escapes newlines and tabs too:
		 * keep those two as they are. */
		for (size_t k = 0; k < n; k++) {
			if (chunk[k] == '\n' || chunk[k] == '\t') {
				chunk[k] = 0;
				hsync_escape(chunk + o, buf, sizeof(buf));
				fputs(buf, stdout);
				fputc(s[i + k], stdout);
				o = k + 1;
			} else if (chunk[k] == 0) {
				chunk[k] = 0;
				hsync_escape(chunk + o, buf, sizeof(buf));
				fputs(buf, stdout);
				fputs("\\x00", stdout);
				o = k + 1;
			}
		}
		if (o < n) {
			hsync_escape(chunk + o, buf, sizeof(buf));
			fputs(buf, stdout);
		}
		i += n;
	}
}

static void print_path(const char *p)
{
	char e[4 * SYNC_MAX_PATH + 8];

	hsync_escape(p, e, sizeof(e));
	fputs(e, stdout);
}

/* ---- finding the sandbox ---- */

struct review {
	struct sandbox sb;
	char state[PATH_MAX + 8];
	char root[PATH_MAX];
	int state_fd, project;
	struct qitem *items;
	size_t n;
	char **paths;
	int npaths;
};

static int open_review(const struct airlock_paths *p, int argc, char **argv,
		       struct review *r, bool need_project)
{
	char cwd[PATH_MAX], name[SANDBOX_NAME_MAX + 1];
	int first = 0, ret;

	memset(r, 0, sizeof(*r));
	r->state_fd = r->project = -1;
	/* A first argument that names a sandbox is the sandbox. */
	if (argc > 0 && sandbox_name_ok(argv[0])) {
		struct sandbox t;
		char dir[PATH_MAX + 16];
		struct stat st;

		snprintf(dir, sizeof(dir), "%s/sandboxes/%s", p->home, argv[0]);
		if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
		    sandbox_open(&t, p, argv[0]) == 0) {
			snprintf(name, sizeof(name), "%s", argv[0]);
			first = 1;
		}
	}
	if (!first) {
		if (!getcwd(cwd, sizeof(cwd))) {
			say("cannot tell the current folder: %s", strerror(errno));
			return -errno;
		}
		sandbox_name_for_dir(cwd, name, sizeof(name));
	}
	ret = sandbox_open(&r->sb, p, name);
	if (ret == -ENOENT)
		say("no sandbox '%s' (airlock ls lists them)", name);
	if (ret)
		return ret;
	r->paths = argv + first;
	r->npaths = argc - first;
	snprintf(r->state, sizeof(r->state), "%s/sync", r->sb.dir);
	r->state_fd = open(r->state, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->state_fd < 0) {
		if (errno == ENOENT)
			return 1;	/* never synced: nothing held */
		say("cannot open %s: %s", r->state, strerror(errno));
		return -errno;
	}
	ret = qitems_load(r->state_fd, &r->items, &r->n);
	if (ret < 0) {
		say("cannot read the held changes in %s: %s", r->state, strerror(-ret));
		return ret;
	}
	if (qstate_root(r->state_fd, r->root, sizeof(r->root)) < 0) {
		r->root[0] = 0;
	} else {
		r->project = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (need_project && r->n && r->project < 0) {
		say("the project folder %s of sandbox '%s' cannot be opened: %s",
		    r->root[0] ? r->root : "(unknown)", name, strerror(errno));
		return -ENOENT;
	}
	return 0;
}

static void close_review(struct review *r)
{
	qitems_free(r->items, r->n);
	if (r->state_fd >= 0)
		close(r->state_fd);
	if (r->project >= 0)
		close(r->project);
}

static bool wanted(const struct review *r, const struct qitem *it)
{
	if (!r->npaths)
		return true;
	for (int i = 0; i < r->npaths; i++)
		if (qitem_matches(it, r->paths[i]))
			return true;
	return false;
}

/* ---- diff ---- */

static bool looks_binary(int fd)
{
	char buf[8192];
	ssize_t n = fd < 0 ? 0 : pread(fd, buf, sizeof(buf), 0);

	return n > 0 && memchr(buf, 0, (size_t)n) != NULL;
}

static off_t size_of(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? st.st_size : 0;
}

/* diff -u of the host's file (fd a, -1: none) and the held one (fd b),
 * through a pipe, escaped. */
static void unified(const char *path, int a, int b)
{
	char la[64 + SYNC_MAX_PATH], lb[64 + SYNC_MAX_PATH], buf[65536];
	int pfd[2];
	ssize_t n;
	pid_t pid;

	snprintf(la, sizeof(la), "host/%s", path);
	snprintf(lb, sizeof(lb), "sandbox/%s", path);
	if (pipe(pfd) < 0)
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (dup2(a >= 0 ? a : devnull, 3) < 0 || dup2(b, 4) < 0)
			_exit(127);
		execlp("diff", "diff", "-u", "--label", la, "--label", lb, "/proc/self/fd/3",
		       "/proc/self/fd/4", (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], buf, sizeof(buf))) > 0)
		print_safe(buf, (size_t)n);
	close(pfd[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void show(const struct review *r, const struct qitem *it)
{
	char when[32];
	struct tm tm;
	time_t t = it->when;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	fputs("=== ", stdout);
	if (strcmp(it->kind, "deletions") == 0) {
		printf("%zu deletions (%s)\n", it->npaths, when);
		print_safe(it->reason, strlen(it->reason));
		fputs(":\n", stdout);
		for (size_t i = 0; i < it->npaths && i < SHOWN_DELETIONS; i++) {
			fputs("  deleted: ", stdout);
			print_path(it->paths[i]);
			fputc('\n', stdout);
		}
		if (it->npaths > SHOWN_DELETIONS)
			printf("  ... and %zu more\n", it->npaths - SHOWN_DELETIONS);
		return;
	}
	print_path(it->path);
	printf(" (%s)\nheld: ", when);
	print_safe(it->reason, strlen(it->reason));
	fputc('\n', stdout);
	if (strcmp(it->kind, "delete") == 0) {
		fputs("deleted in the sandbox\n", stdout);
		return;
	}
	if (it->meta.kind == SYNC_DIR) {
		printf("a new folder, mode %04o\n", it->meta.mode & 0777);
		return;
	}
	{
		int b = qitem_content(r->state_fd, it);
		int a = r->project >= 0 ? safefs_open_read(r->project, it->path) : -1;
		struct sync_meta h = { 0 };

		if (r->project >= 0) {
			struct stat st;

			if (safefs_lstat(r->project, it->path, &st) == 0)
				hsync_meta(&st, &h);
		}
		if (it->meta.kind == SYNC_LINK) {
			char target[SYNC_MAX_TARGET + 1];
			ssize_t n = b >= 0 ? read(b, target, SYNC_MAX_TARGET) : -1;

			target[n > 0 ? n : 0] = 0;
			fputs("a link to ", stdout);
			print_path(target);
			fputc('\n', stdout);
		} else if (b < 0) {
			fputs("(its content is missing from the quarantine)\n", stdout);
		} else {
			if (h.kind == SYNC_FILE && (h.mode & 0777) != (it->meta.mode & 0777))
				printf("mode %04o -> %04o\n", h.mode & 0777, it->meta.mode & 0777);
			else if (h.kind != SYNC_FILE)
				printf("a new file, mode %04o\n", it->meta.mode & 0777);
			if (looks_binary(a) || looks_binary(b))
				printf("binary: %lld bytes in the sandbox, %lld on the host\n",
				       (long long)size_of(b), (long long)size_of(a));
			else
				unified(it->path, a, b);
		}
		if (a >= 0)
			close(a);
		if (b >= 0)
			close(b);
	}
}

static int cmd_diff(const struct airlock_paths *p, int argc, char **argv)
{
	struct review r;
	int shown = 0, ret = open_review(p, argc, argv, &r, false);

	if (ret < 0) {
		close_review(&r);
		return 1;
	}
	for (size_t i = 0; i < r.n; i++) {
		if (!wanted(&r, &r.items[i]))
			continue;
		if (shown++)
			fputc('\n', stdout);
		show(&r, &r.items[i]);
	}
	if (!shown)
		printf("nothing held for review in sandbox '%s'\n", r.sb.name);
	else
		printf("\n%d held in sandbox '%s': airlock accept %s [PATH...] applies, "
		       "airlock reject %s [PATH...] drops\n", shown, r.sb.name, r.sb.name,
		       r.sb.name);
	close_review(&r);
	return 0;
}

/* ---- accept, reject ---- */

static int decide(const struct airlock_paths *p, int argc, char **argv, bool accept)
{
	struct review r;
	struct hsync s;
	int done = 0, failed = 0, ret = open_review(p, argc, argv, &r, accept);

	if (ret < 0) {
		close_review(&r);
		return 1;
	}
	if (ret == 0 && sandbox_running(&r.sb)) {
		say("sandbox '%s' is running: its sync owns the held changes until it "
		    "stops", r.sb.name);
		close_review(&r);
		return 1;
	}
	hsync_init(&s);
	s.project = r.project;
	s.state = r.state_fd;
	snprintf(s.root, sizeof(s.root), "%s", r.root);
	if (r.n && hsync_state_load(&s) < 0) {
		say("cannot read the sync state of sandbox '%s'", r.sb.name);
		failed = 1;
	}
	/* Folders before what goes in them (the list is sorted). */
	for (size_t i = 0; i < r.n && !failed; i++) {
		const struct qitem *it = &r.items[i];
		char why[512];

		if (!wanted(&r, it))
			continue;
		ret = accept ? qitem_accept(&s, it, why, sizeof(why)) :
			       qitem_reject(&s, it, why, sizeof(why));
		if (ret < 0) {
			fprintf(stderr, "airlock: cannot %s ", accept ? "accept" : "reject");
			fflush(stderr);
			{
				char e[4 * SYNC_MAX_PATH + 8];

				hsync_escape(it->path, e, sizeof(e));
				fprintf(stderr, "%s: %s\n", e, why[0] ? why : strerror(-ret));
			}
			failed++;
			continue;
		}
		fputs(accept ? "accepted: " : "rejected: ", stdout);
		print_path(strcmp(it->kind, "deletions") ? it->path : "(mass deletion)");
		fputc('\n', stdout);
		done++;
	}
	if (done && hsync_state_save(&s) < 0)
		failed++;
	if (!done && !failed)
		printf("nothing held for review%s in sandbox '%s'\n", r.npaths ? " there" : "",
		       r.sb.name);
	s.project = s.state = -1;
	hsync_free(&s);
	close_review(&r);
	return failed ? 1 : 0;
}

int review_main(const struct airlock_paths *p, const char *cmd, int argc, char **argv)
{
	if (argc > 0 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 0 && argv[0][0] == '-' && strcmp(argv[0], "--")) {
		say("%s: unknown option '%s' (airlock %s --help)", cmd, argv[0], cmd);
		return EXIT_USAGE;
	}
	if (argc > 0 && strcmp(argv[0], "--") == 0) {
		argc--;
		argv++;
	}
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(p, argc, argv);
	return decide(p, argc, argv, strcmp(cmd, "accept") == 0);
}
