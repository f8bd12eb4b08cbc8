/* airlock-sync's applier, table by table, over a scratch project (no
 * guest, no socket: the messages are what a guest would send, after the
 * decoder): each refusal class is refused, counted and changes nothing;
 * setuid bits are stripped; protected paths and executable git config go
 * to the quarantine; a change made on both sides keeps both; a mass
 * deletion is held whole, a small one applied; a rename is a rename; a
 * file only touched on the host is no conflict. */
#include "tests/unit/check.h"
#include "tools/sync/quarantine.h"
#include "tools/sync/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], proj[96], state[96];
static struct hsync hs;

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fprintf(stderr, "failed: %s\n", cmd);
}

static void put(const char *rel, const char *text, mode_t mode)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", proj, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		fprintf(stderr, "cannot write %s\n", p);
	if (fd >= 0)
		close(fd);
}

static char *get(const char *rel)
{
	static char buf[4096];
	char p[256];
	ssize_t n;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", proj, rel);
	fd = open(p, O_RDONLY | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return buf;
}

static bool exists(const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", proj, rel);
	return lstat(p, &st) == 0;
}

/* A fresh project with base entries for everything in it. */
static struct hsync *start(const char *setup)
{
	char cmd[1024];

	snprintf(dir, sizeof(dir), "/tmp/airlock-synchost.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(proj, sizeof(proj), "%s/p", dir);
	snprintf(state, sizeof(state), "%s/s", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s && cd %s && %s", proj, state, proj, setup);
	sh(cmd);
	hsync_init(&hs);
	hs.test = true;
	hs.phase = H_RUNNING;
	hs.lim = (struct hlimits){ 1000, 5000, 100 };
	snprintf(hs.root, sizeof(hs.root), "%s", proj);
	hs.project = open(proj, O_RDONLY | O_DIRECTORY);
	hs.state = open(state, O_RDONLY | O_DIRECTORY);
	pathmatch_add(&hs.ignore, "ignored/", 8);
	if (quarantine_rules_load(&hs, NULL, 0) < 0)
		abort();
	/* Everything there now, agreed by both sides. */
	snprintf(cmd, sizeof(cmd), "cd %s && find . -mindepth 1 | sed 's|^./||' > %s/list", proj,
		 dir);
	sh(cmd);
	{
		char lp[128], line[512];
		FILE *f;

		snprintf(lp, sizeof(lp), "%s/list", dir);
		f = fopen(lp, "r");
		while (f && fgets(line, sizeof(line), f)) {
			struct hentry *e;

			line[strcspn(line, "\n")] = 0;
			e = hsync_base_make(&hs, line);
			hsync_current(&hs, line, &e->host, NULL, 0);
			e->guest = e->host;
			e->hash = hsync_hash_path(&hs, line, &e->host);
		}
		if (f)
			fclose(f);
	}
	return &hs;
}

static void finish(void)
{
	char cmd[128];

	quarantine_rules_free(&hs);
	hsync_free(&hs);
	close(hs.project);
	close(hs.state);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd);
}

/* A CHANGE as the decoder would hand it over, content and END included. */
static void change(const char *path, uint8_t kind, uint16_t mode, const char *content)
{
	struct sync_msg *m = &hs.in;

	memset(m, 0, offsetof(struct sync_msg, path));
	m->type = SYNC_MSG_CHANGE;
	m->meta.kind = kind;
	m->meta.mode = mode;
	m->meta.mtime = 1700000000000000000ll;
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->bad = sync_path_check(path, strlen(path));
	if (kind == SYNC_LINK) {
		snprintf(m->target, sizeof(m->target), "%s", content);
		m->meta.size = strlen(content);
	} else if (kind == SYNC_FILE) {
		m->meta.size = strlen(content);
	}
	hsync_guest_msg(&hs, m);
	if (kind != SYNC_FILE)
		return;
	if (*content) {
		memset(m, 0, offsetof(struct sync_msg, path));
		m->type = SYNC_MSG_CHANGE_DATA;
		m->data = (const uint8_t *)content;
		m->len = (uint32_t)strlen(content);
		hsync_guest_msg(&hs, m);
	}
	memset(m, 0, offsetof(struct sync_msg, path));
	m->type = SYNC_MSG_CHANGE_END;
	hsync_guest_msg(&hs, m);
}

static void gone(const char *path)
{
	struct sync_msg *m = &hs.in;

	memset(m, 0, offsetof(struct sync_msg, path));
	m->type = SYNC_MSG_GONE;
	snprintf(m->path, sizeof(m->path), "%s", path);
	hsync_guest_msg(&hs, m);
}

static int held_items(void)
{
	char cmd[256], out[32] = "0";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ls -A %s/quarantine 2>/dev/null | grep -v '^\\.' | wc -l",
		 state);
	f = popen(cmd, "r");
	if (f && fgets(out, sizeof(out), f)) {
		/* read */
	}
	if (f)
		pclose(f);
	return atoi(out);
}

TEST(each_refusal_class)
{
	struct hsync *s = start("echo a > a && mkdir d && ln -s /etc out");
	uint64_t before;

	/* Names. */
	change("../x", SYNC_FILE, 0644, "x");
	change("d/../../x", SYNC_FILE, 0644, "x");
	change("ctl\x1bname", SYNC_FILE, 0644, "x");
	change(".airlock-tmp-0123", SYNC_FILE, 0644, "x");
	change("l", SYNC_LINK, 0777, "a\x1b[2J");
	CHECK_EQ(s->count.refused, 5);
	/* Kinds. */
	change("fifo", SYNC_FIFO, 0644, "");
	change("sock", SYNC_SOCK, 0644, "");
	change("dev", SYNC_CHR, 0644, "");
	CHECK_EQ(s->count.refused, 8);
	/* Through a link, or into a folder that is not there. */
	change("out/passwd", SYNC_FILE, 0644, "owned");
	change("nodir/f", SYNC_FILE, 0644, "x");
	CHECK_EQ(s->count.refused, 10);
	/* Left out by the patterns. */
	change("ignored/x", SYNC_FILE, 0644, "x");
	CHECK_EQ(s->count.refused, 11);
	/* Limits: per file (1000), per run (5000), paths (100). */
	{
		static char big[1100], mid[900];

		memset(big, 'b', sizeof(big) - 1);
		memset(mid, 'm', sizeof(mid) - 1);
		change("big", SYNC_FILE, 0644, big);
		CHECK_EQ(s->count.refused, 12);
		before = s->count.refused;
		for (int i = 0; i < 7; i++) {
			char name[16];

			snprintf(name, sizeof(name), "m%d", i);
			change(name, SYNC_FILE, 0644, mid);
		}
		CHECK_EQ(s->count.refused, before + 2);	/* 5 x 899 fit in 5000 */
		CHECK(exists("m4") && !exists("m5"));
		s->lim.max_files = s->base.count;
		change("one-more", SYNC_FILE, 0644, "x");
		CHECK(!exists("one-more"));
		CHECK_EQ(s->count.refused, before + 3);
	}
	/* Nothing of it on the host; /etc untouched. */
	CHECK(!exists("x") && !exists("fifo") && !exists("ctl\x1bname") && !exists("big"));
	CHECK(access("/etc/owned", F_OK) != 0);
	CHECK_STR(get("a"), "a\n");
	finish();
}

TEST(setuid_stripped_and_file_whole)
{
	struct hsync *s = start("true");
	struct stat st;
	char p[256];

	change("tool", SYNC_FILE, 06755, "#!/bin/sh\n");
	snprintf(p, sizeof(p), "%s/tool", proj);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0755);
	CHECK_EQ(st.st_mtim.tv_sec, 1700000000);
	CHECK_EQ(s->count.stripped, 1);
	CHECK_EQ(s->count.back, 1);
	change("dir", SYNC_DIR, 01777, "");
	snprintf(p, sizeof(p), "%s/dir", proj);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0777);
	change("dir/l", SYNC_LINK, 0777, "../../../etc/shadow");
	snprintf(p, sizeof(p), "%s/dir/l", proj);
	CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode));
	finish();
}

TEST(protected_paths_held)
{
	struct hsync *s = start("mkdir -p .git/hooks && printf '[core]\\n\\tbare = false\\n' > "
				".git/config && echo ok > .git/hooks/pre-commit");

	change(".git/hooks/pre-commit", SYNC_FILE, 0755, "#!/bin/sh\ncurl evil\n");
	change(".git/hooks/post-checkout", SYNC_FILE, 0755, "evil");
	change(".git/hooks/pre-push.sample", SYNC_FILE, 0755, "sample");
	change(".envrc", SYNC_FILE, 0644, "evil");
	change(".vscode", SYNC_DIR, 0755, "");
	change(".github", SYNC_DIR, 0755, "");
	change(".github/workflows", SYNC_DIR, 0755, "");
	change(".mcp.json", SYNC_FILE, 0644, "{}");
	CHECK_STR(get(".git/hooks/pre-commit"), "ok\n");
	CHECK(!exists(".git/hooks/post-checkout") && !exists(".envrc") && !exists(".vscode"));
	CHECK(exists(".git/hooks/pre-push.sample"));	/* git never runs samples */
	CHECK(exists(".github") && !exists(".github/workflows"));
	CHECK_EQ(s->count.held, 6);
	CHECK_EQ(held_items(), 6);
	/* .git/config: a harmless key goes in, one that runs a program not. */
	change(".git/config", SYNC_FILE, 0644,
	       "[core]\n\tbare = false\n[branch \"x\"]\n\tremote = origin\n");
	CHECK(strstr(get(".git/config"), "branch") != NULL);
	change(".git/config", SYNC_FILE, 0644, "[core]\n\tbare = false\n\tfsmonitor = evil\n");
	CHECK(strstr(get(".git/config"), "fsmonitor") == NULL);
	CHECK_EQ(s->count.held, 7);
	/* .gitattributes naming a filter is held; plain attributes are not. */
	change(".gitattributes", SYNC_FILE, 0644, "*.c text\n");
	CHECK(exists(".gitattributes"));
	change(".gitattributes", SYNC_FILE, 0644, "*.c text\n*.c filter=evil\n");
	CHECK_STR(get(".gitattributes"), "*.c text\n");
	CHECK_EQ(s->count.held, 8);
	/* Deleting a hook is held too. */
	gone(".git/hooks/pre-commit");
	hsync_deletions(s, true);
	CHECK(exists(".git/hooks/pre-commit"));
	finish();
}

TEST(conflict_keeps_both)
{
	struct hsync *s = start("echo base > f && echo base > g");

	/* The host changed f since; the guest too. */
	put("f", "host version\n", 0644);
	change("f", SYNC_FILE, 0644, "guest version\n");
	CHECK_STR(get("f"), "host version\n");
	CHECK_EQ(s->count.conflicts, 1);
	{
		char cmd[256], name[256] = "";
		FILE *p;

		snprintf(cmd, sizeof(cmd), "cd %s && ls f.airlock-conflict-guest-*", proj);
		p = popen(cmd, "r");
		if (p && fgets(name, sizeof(name), p))
			name[strcspn(name, "\n")] = 0;
		if (p)
			pclose(p);
		CHECK(name[0] != 0);
		if (name[0])
			CHECK_STR(get(name), "guest version\n");
	}
	/* Made the same on both sides: no conflict. */
	put("g", "same\n", 0644);
	change("g", SYNC_FILE, 0644, "same\n");
	CHECK_EQ(s->count.conflicts, 1);
	/* Only touched on the host (same content): the guest's goes in. */
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "touch -d @1 %s/g", proj);
		sh(cmd);
		hsync_base(s, "g")->hash = hsync_hash_path(s, "g", &hsync_base(s, "g")->host);
		change("g", SYNC_FILE, 0644, "guest only\n");
		CHECK_EQ(s->count.conflicts, 1);
	}
	finish();
}

TEST(mass_deletion_held_small_applied)
{
	struct hsync *s = start("for i in 0 1 2 3 4 5 6 7 8 9; do echo $i > f$i; done");

	/* Six of ten at once: held. */
	for (int i = 0; i < 6; i++) {
		char n[8];

		snprintf(n, sizeof(n), "f%d", i);
		gone(n);
	}
	hsync_deletions(s, true);
	CHECK(exists("f0") && exists("f5"));
	CHECK_EQ(s->count.held, 1);
	CHECK_EQ(held_items(), 1);
	/* Two: applied. */
	gone("f8");
	gone("f9");
	hsync_deletions(s, true);
	CHECK(!exists("f8") && !exists("f9") && exists("f7"));
	CHECK_EQ(s->count.back, 2);
	/* A folder: what is in it too, deepest first. */
	finish();
	s = start("mkdir -p a/b && echo 1 > a/b/x && echo 2 > a/y && for i in 1 2 3 4 5 6; do "
		  "echo > k$i; done");
	gone("a");
	hsync_deletions(s, true);
	CHECK(!exists("a"));
	CHECK_EQ(s->count.back, 4);
	finish();
}

TEST(rename_is_a_rename)
{
	struct hsync *s = start("mkdir d && echo content > d/file && echo x > other");
	struct sync_msg *m = &hs.in;
	struct stat before, after;
	char p[256];

	snprintf(p, sizeof(p), "%s/d/file", proj);
	CHECK(stat(p, &before) == 0);
	memset(m, 0, offsetof(struct sync_msg, path));
	m->type = SYNC_MSG_MOVE;
	m->meta = hsync_base(s, "d")->guest;
	strcpy(m->path, "d");
	strcpy(m->to, "e");
	hsync_guest_msg(s, m);
	snprintf(p, sizeof(p), "%s/e/file", proj);
	CHECK(stat(p, &after) == 0 && after.st_ino == before.st_ino);	/* moved, not copied */
	CHECK(!exists("d"));
	CHECK(hsync_base(s, "e/file") != NULL && hsync_base(s, "d/file") == NULL);
	CHECK_EQ(s->count.back, 1);
	finish();
}

CHECK_MAIN(TEST_ENTRY(each_refusal_class), TEST_ENTRY(setuid_stripped_and_file_whole),
	   TEST_ENTRY(protected_paths_held), TEST_ENTRY(conflict_keeps_both),
	   TEST_ENTRY(mass_deletion_held_small_applied), TEST_ENTRY(rename_is_a_rename))
