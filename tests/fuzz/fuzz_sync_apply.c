/* libFuzzer target for airlock-sync's applier (tools/sync/apply.c and
 * what it calls): the input describes what a hostile guest sends once the
 * sync runs (CHANGE with content, GONE, MOVE, ...: one op byte, then paths
 * from a dictionary of nasty ones or raw bytes, modes, sizes, content),
 * which is encoded, framed, decoded and ordered by the real code (a raw op
 * adds arbitrary bytes to the stream), and applied to a scratch project
 * that holds links pointing out of it (relative and absolute) and
 * protected paths. After every input:
 *   - nothing outside the project and the state folder changed: the
 *     folder the links point at holds exactly what it held, with the same
 *     content; nothing new beside the project;
 *   - nothing in the project is setuid, setgid or sticky, a hard link, a
 *     FIFO, socket or device, or named with a control character;
 *   - the protected file is as it was (its changes go to the quarantine).
 * Any of these broken aborts. The first input byte picks the limits (tiny
 * or roomy) and whether deletions are settled along the way. */
#include "tools/sync/sync.h"
#include "tools/sync/quarantine.h"

#include "tests/fuzz/fuzz_input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64], outside[96], project[96], state[96];
static struct hsync hs;
static struct frame_decoder dec;
static const char canary[] = "outside the project: never written";

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	return (flag == FTW_DP ? rmdir(p) : unlink(p)) < 0 ? -1 : 0;
}

static void rm_rf(const char *dir)
{
	if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
		abort();
}

static void write_at(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

static void cleanup(void)
{
	rm_rf(scratch);
}

static void setup_once(void)
{
	char link[256];

	if (scratch[0])
		return;
	/* tmpfs where there is one: every write is fsynced. */
	snprintf(scratch, sizeof(scratch), "%s/fuzz-sync-apply.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(scratch))
		abort();
	snprintf(outside, sizeof(outside), "%s/outside", scratch);
	snprintf(project, sizeof(project), "%s/project", scratch);
	snprintf(state, sizeof(state), "%s/state", scratch);
	if (mkdir(outside, 0755) < 0)
		abort();
	atexit(cleanup);
	write_at(outside, "canary", canary, 0644);
	snprintf(link, sizeof(link), "%s/sub", outside);
	if (mkdir(link, 0755) < 0)
		abort();
}

/* The project as every input finds it. */
static void reset(void)
{
	char path[256];

	rm_rf(project);
	rm_rf(state);
	if (mkdir(project, 0755) < 0 || mkdir(state, 0700) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/d", project);
	if (mkdir(path, 0755) < 0)
		abort();
	write_at(project, "d/f", "file", 0644);
	write_at(project, "a", "alpha", 0644);
	snprintf(path, sizeof(path), "%s/.git", project);
	if (mkdir(path, 0755) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/.git/hooks", project);
	if (mkdir(path, 0755) < 0)
		abort();
	write_at(project, ".git/hooks/pre-commit", "#!/bin/sh\nexit 0\n", 0755);
	write_at(project, ".git/config", "[core]\n\tbare = false\n", 0644);
	snprintf(path, sizeof(path), "%s/out", project);
	if (symlink("../outside", path) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/abs", project);
	if (symlink(outside, path) < 0)
		abort();
	snprintf(path, sizeof(path), "%s/d/up", project);
	if (symlink("../../outside/sub", path) < 0)
		abort();
}

/* ---- the checks ---- */

static int outside_entries;

static int count_outside(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p;
	(void)st;
	(void)flag;
	(void)f;
	outside_entries++;
	return 0;
}

static int check_project(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	const char *name = p + f->base;

	(void)flag;
	if (st->st_mode & 07000)
		abort();	/* setuid, setgid or sticky made it in */
	if (S_ISREG(st->st_mode) && st->st_nlink != 1)
		abort();	/* a hard link */
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode) && !S_ISLNK(st->st_mode))
		abort();	/* FIFO, socket, device */
	if (sync_path_printable(name, strlen(name)))
		abort();	/* a control character in a name */
	return 0;
}

static void check(void)
{
	char buf[128], path[256];
	struct stat st;
	DIR *d;
	struct dirent *e;
	int fd, n = 0;
	ssize_t len;

	/* Outside: the canary whole, the folder as it was. */
	snprintf(path, sizeof(path), "%s/canary", outside);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		abort();
	len = read(fd, buf, sizeof(buf));
	close(fd);
	if (len != (ssize_t)strlen(canary) || memcmp(buf, canary, (size_t)len))
		abort();
	outside_entries = 0;
	if (nftw(outside, count_outside, 8, FTW_PHYS) < 0 || outside_entries != 3)
		abort();	/* outside, canary, sub: nothing else */
	/* Beside the project: only what was there. */
	d = opendir(scratch);
	if (!d)
		abort();
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	if (n != 3)
		abort();
	if (nftw(project, check_project, 16, FTW_PHYS) < 0)
		abort();
	/* The hook was never replaced with what the guest sent. */
	snprintf(path, sizeof(path), "%s/.git/hooks/pre-commit", project);
	if (lstat(path, &st) == 0) {
		fd = open(path, O_RDONLY | O_NOFOLLOW);
		if (fd < 0)
			abort();
		len = read(fd, buf, sizeof(buf));
		close(fd);
		if (len != 17 || memcmp(buf, "#!/bin/sh\nexit 0\n", 17))
			abort();
	}
}


/* ---- building the guest's stream ---- */

static const char *const paths[] = {
	"a", "b", "d", "d/f", "d/g", "d/up", "d/up/x", "out", "out/x", "abs", "abs/x",
	"abs/canary", "out/canary", "out/sub/x", ".git", ".git/hooks",
	".git/hooks/pre-commit", ".git/hooks/post-merge", ".git/hooks/x.sample",
	".git/config", ".git/commondir", ".gitattributes", "d/.gitattributes",
	".vscode", ".vscode/tasks.json", ".envrc", ".mcp.json", ".airlockignore",
	"ignored", "ignored/x", "new", "new/deep", "new/deep/file", "a/b", "..",
	"../x", "d/../../x", "x\x1bname", ".airlock-tmp-1", "d/.airlock-tmp-2",
	"a.airlock-conflict-guest-20260101-000000", "/abs", "d//f",
};
static const char *const targets[] = {
	"../outside", "..", "/", "a", "d/f", "../../outside/canary", "\x1b[2J", "x",
};
static const char *const configs[] = {
	"[core]\n\tbare = false\n",
	"[core]\n\tfsmonitor = /tmp/evil\n",
	"[alias]\n\tx = !sh -c evil\n\ty = log\n",
	"[core]\n\tbare = false\n[include]\n\tpath = /tmp/x\n",
	"[remote \"o\"]\n\turl = x\n\tuploadpack = evil\n",
	"[core]\n\tbare = \"unterminated\n",
	"*.c filter=evil\n",
	"*.c text eol=lf\n",
};

struct gen {
	struct fuzz_input in;
	uint8_t *buf;
	size_t len, cap;
	struct sync_msg m;
};

static void emit(struct gen *g, const struct sync_msg *m)
{
	int n;

	if (g->cap - g->len < FRAME_MAX_SIZE)
		return;
	n = sync_msg_encode(g->buf + g->len, g->cap - g->len, m);
	if (n > 0)
		g->len += (size_t)n;
}

static void pick_path(struct gen *g, char *out, size_t size)
{
	unsigned int k = (unsigned int)fuzz_take(&g->in, 1);

	if (k < 200) {
		snprintf(out, size, "%s", paths[k % (sizeof(paths) / sizeof(paths[0]))]);
		return;
	}
	/* Raw bytes after a known folder. */
	{
		size_t n = fuzz_take(&g->in, 1) % 24, o;

		o = (size_t)snprintf(out, size, "%s/", k & 1 ? "d" : "new");
		for (size_t i = 0; i < n && o + 1 < size; i++)
			out[o++] = (char)fuzz_take(&g->in, 1);
		out[o] = 0;
	}
}

static void change_file(struct gen *g, uint8_t op, bool tiny)
{
	struct sync_msg *m = &g->m;
	size_t size, sent = 0;
	const char *text = NULL;
	uint8_t chunk[128];

	memset(m, 0, sizeof(*m));
	m->type = SYNC_MSG_CHANGE;
	pick_path(g, m->path, sizeof(m->path));
	m->meta.kind = SYNC_FILE;
	m->meta.mode = (uint16_t)(fuzz_take(&g->in, 2) & 07777);
	m->meta.mtime = (int64_t)fuzz_take(&g->in, 4) * 1000;
	if (strstr(m->path, "config") || strstr(m->path, "attributes"))
		text = configs[fuzz_take(&g->in, 1) % (sizeof(configs) / sizeof(configs[0]))];
	size = text ? strlen(text) : fuzz_take(&g->in, 1) % (tiny ? 100 : 300);
	m->meta.size = size;
	if (op & 0x10) {
		m->flags = SYNC_F_META_ONLY;
		emit(g, m);
		return;
	}
	emit(g, m);
	while (sent < size) {
		size_t n = size - sent < sizeof(chunk) ? size - sent : sizeof(chunk);

		for (size_t i = 0; i < n; i++)
			chunk[i] = text ? (uint8_t)text[sent + i] : (uint8_t)fuzz_take(&g->in, 1);
		memset(m, 0, sizeof(*m));
		m->type = SYNC_MSG_CHANGE_DATA;
		m->data = chunk;
		m->len = (uint32_t)n;
		emit(g, m);
		sent += n;
		if ((op & 0x20) && sent >= size / 2)
			break;	/* abandoned half-way */
	}
	memset(m, 0, sizeof(*m));
	m->type = SYNC_MSG_CHANGE_END;
	m->flags = sent < size ? SYNC_END_ABANDONED : SYNC_END_DONE;
	emit(g, m);
}

static void generate(struct gen *g, struct hsync *s, bool tiny)
{
	for (int ops = 0; g->in.n && ops < 48; ops++) {
		uint8_t op = (uint8_t)fuzz_take(&g->in, 1);
		struct sync_msg *m = &g->m;

		memset(m, 0, sizeof(*m));
		switch (op % 8) {
		case 0:
			change_file(g, op, tiny);
			continue;
		case 1:
			m->type = SYNC_MSG_CHANGE;
			m->meta.kind = SYNC_DIR;
			m->meta.mode = (uint16_t)(fuzz_take(&g->in, 2) & 07777);
			pick_path(g, m->path, sizeof(m->path));
			break;
		case 2:
			m->type = SYNC_MSG_CHANGE;
			m->meta.kind = SYNC_LINK;
			pick_path(g, m->path, sizeof(m->path));
			snprintf(m->target, sizeof(m->target), "%s",
				 targets[fuzz_take(&g->in, 1) % (sizeof(targets) / sizeof(targets[0]))]);
			m->meta.size = strlen(m->target);
			m->meta.mode = 0777;
			break;
		case 3:
			m->type = SYNC_MSG_GONE;
			pick_path(g, m->path, sizeof(m->path));
			break;
		case 4: {
			struct hentry *e;

			m->type = SYNC_MSG_MOVE;
			pick_path(g, m->path, sizeof(m->path));
			pick_path(g, m->to, sizeof(m->to));
			/* Often what the base says, so that renames happen. */
			e = hsync_base(s, m->path);
			if (e && (op & 0x10) && sync_kind_is_entry(e->guest.kind))
				m->meta = e->guest;
			else
				m->meta = (struct sync_meta){ SYNC_FILE, 0644, 5, 0 };
			break;
		}
		case 5:
			m->type = SYNC_MSG_CHANGE;
			m->meta.kind = (uint8_t)(SYNC_FIFO + (op >> 4) % 4);
			pick_path(g, m->path, sizeof(m->path));
			break;
		case 6:
			m->type = SYNC_MSG_BATCH;
			break;
		default: {
			/* Arbitrary bytes into the stream. */
			size_t n = fuzz_take(&g->in, 1) % 32;

			for (size_t i = 0; i < n && g->len < g->cap; i++)
				g->buf[g->len++] = (uint8_t)fuzz_take(&g->in, 1);
			continue;
		}
		}
		emit(g, m);
	}
}

/* ---- one input ---- */

static void feed(struct hsync *s, const uint8_t *data, size_t size, bool settle)
{
	const uint8_t *p = data;
	size_t left = size;
	struct frame f;
	int r, n = 0;

	while (!s->dead && (r = frame_decoder_next(&dec, &p, &left, &f)) > 0) {
		if (sync_msg_decode(f.type, f.payload, f.len, &s->in) < 0 ||
		    sync_seq_to_host(&s->seq_in, &s->in) < 0)
			break;
		if (s->in.type == SYNC_MSG_FAIL)
			break;
		hsync_guest_msg(s, &s->in);
		if (settle && ++n % 8 == 0)
			hsync_deletions(s, true);
	}
	hsync_deletions(s, true);
	/* The host's side looks at what changed and "pushes" (dropped). */
	hsync_push_pump(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsync *s = &hs;
	struct sync_msg m = { 0 };
	bool tiny;

	if (size < 1)
		return 0;
	setup_once();
	reset();
	tiny = data[0] & 1;
	hsync_init(s);
	s->test = true;
	s->phase = H_RUNNING;
	s->lim = tiny ? (struct hlimits){ 64, 256, 12 } :
			(struct hlimits){ 1 << 20, 4 << 20, 1000 };
	snprintf(s->root, sizeof(s->root), "%s", project);
	s->project = open(project, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	s->state = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->project < 0 || s->state < 0)
		abort();
	pathmatch_add(&s->ignore, "ignored/", 8);
	/* The rules once: parsing them is not what is tested here. */
	{
		static struct hsync rules;

		if (!rules.rules && quarantine_rules_load(&rules, NULL, 0) < 0)
			abort();
		s->rules = rules.rules;
		s->protect = rules.protect;
	}
	/* The base: the project as both sides agreed on it. */
	{
		static const char *const paths[] = { "a", "d", "d/f", "d/up", "out", "abs",
						     ".git", ".git/hooks",
						     ".git/hooks/pre-commit", ".git/config" };

		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct hentry *e = hsync_base_make(s, paths[i]);

			if (!e)
				abort();
			hsync_current(s, paths[i], &e->host, NULL, 0);
			e->guest = e->host;
		}
	}
	frame_decoder_init(&dec, sync_type_to_host);
	sync_seq_init(&s->seq_in);
	m.type = SYNC_MSG_WELCOME;
	sync_seq_to_host(&s->seq_in, &m);
	m.type = SYNC_MSG_LIST_END;
	sync_seq_to_host(&s->seq_in, &m);

	{
		static uint8_t stream[64 * FRAME_MAX_SIZE];
		static struct gen g;

		g = (struct gen){ .in = { data + 1, size - 1 }, .buf = stream,
				  .cap = sizeof(stream) };
		generate(&g, s, tiny);
		feed(s, stream, g.len, data[0] & 2);
	}
	check();

	/* The rules are the static copy's. */
	s->rules = NULL;
	pathmatch_init(&s->protect);
	hsync_free(s);
	close(s->project);
	close(s->state);
	return 0;
}
