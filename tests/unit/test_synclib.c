/* lib/ for the workspace sync: the content hash (XXH64 reference values
 * from xxhsum), gitignore-style patterns, the path map, the confined file
 * operations (nothing escapes the root, no link is followed, a file
 * appears whole or not at all), the tree walk and the inotify tree. */
#include "tests/unit/check.h"
#include "lib/hash.h"
#include "lib/pathmap.h"
#include "lib/pathmatch.h"
#include "lib/safefs.h"
#include "lib/scan.h"
#include "lib/watch.h"
#include "proto/sync.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- hash ---- */

TEST(hash_reference_values)
{
	static const char alnum[] =
		"0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char x[1000];
	struct hash64 h;

	CHECK(hash64("", 0) == 0xef46db3751d8e999ull);
	CHECK(hash64("a", 1) == 0xd24ec4f1a98c6e5bull);
	CHECK(hash64("abc", 3) == 0x44bc2cf5ad770999ull);
	CHECK(hash64(alnum, strlen(alnum)) == 0x4d5c1ea57e188ac2ull);
	memset(x, 'x', sizeof(x));
	CHECK(hash64(x, sizeof(x)) == 0x4cb9a3b69cb700e1ull);
	/* Any chunking gives the same digest. */
	for (size_t step = 1; step < 70; step += 3) {
		hash64_init(&h);
		for (size_t off = 0; off < sizeof(x); off += step)
			hash64_update(&h, x + off, off + step > sizeof(x) ? sizeof(x) - off : step);
		CHECK(hash64_final(&h) == 0x4cb9a3b69cb700e1ull);
	}
}

/* ---- patterns ---- */

static bool m(const char *patterns, const char *path, bool is_dir)
{
	struct pathmatch pm;
	bool r;

	pathmatch_init(&pm);
	pathmatch_add_text(&pm, patterns, strlen(patterns));
	r = pathmatch_match(&pm, path, is_dir);
	pathmatch_free(&pm);
	return r;
}

TEST(pathmatch_gitignore_rules)
{
	static const struct {
		const char *pat, *path;
		bool is_dir, want;
	} t[] = {
		/* A name at any depth. */
		{ "node_modules", "node_modules", true, true },
		{ "node_modules", "a/b/node_modules", true, true },
		{ "node_modules", "a/node_modules/x/y.js", false, true },
		{ "node_modules", "node_modules_x", true, false },
		{ "*.log", "x.log", false, true },
		{ "*.log", "d/e/x.log", false, true },
		{ "*.log", "x.log.txt", false, false },
		/* Directory only. */
		{ "build/", "build", true, true },
		{ "build/", "build", false, false },
		{ "build/", "a/build/x", false, true },
		/* Anchored. */
		{ "/build", "build", false, true },
		{ "/build", "a/build", false, false },
		{ "doc/*.txt", "doc/a.txt", false, true },
		{ "doc/*.txt", "doc/x/a.txt", false, false },
		{ "doc/*.txt", "y/doc/a.txt", false, false },
		/* ** */
		{ "**/foo", "foo", false, true },
		{ "**/foo", "a/b/foo", false, true },
		{ "a/**/b", "a/b", false, true },
		{ "a/**/b", "a/x/y/b", false, true },
		{ "a/**", "a/x/y", false, true },
		{ "a/**", "a", true, false },
		{ ".git/hooks/**", ".git/hooks/pre-commit", false, true },
		{ ".git/hooks/**", ".git/hooks", true, false },
		/* ? and classes stop at '/'. */
		{ "a?c", "abc", false, true },
		{ "a?c", "a/c", false, false },
		{ "[ab]x", "bx", false, true },
		{ "[!ab]x", "bx", false, false },
		{ "[a-c]x", "cx", false, true },
		{ "[a-c]x", "dx", false, false },
		/* Comments, blanks, escapes, trailing spaces. */
		{ "# x\n\n  \nfoo  ", "foo", false, true },
		{ "\\#x", "#x", false, true },
		{ "\\!x", "!x", false, true },
		/* Negation: the last match wins... */
		{ "*.txt\n!keep.txt", "keep.txt", false, false },
		{ "*.txt\n!keep.txt", "drop.txt", false, true },
		/* ...but a matched directory takes all below it. */
		{ "d/\n!d/keep", "d/keep", false, true },
		{ "", "anything", false, false },
	};

	for (size_t i = 0; i < NELEM(t); i++) {
		bool got = m(t[i].pat, t[i].path, t[i].is_dir);

		if (got != t[i].want)
			fprintf(stderr, "pattern '%s' path '%s' dir %d: %d\n", t[i].pat,
				t[i].path, t[i].is_dir, got);
		CHECK(got == t[i].want);
	}
}

/* ---- path map ---- */

struct rec {
	struct pathmap_node n;
	int v;
};

TEST(pathmap_put_get_del_subtree)
{
	static const char *const paths[] = { "a", "a/b", "a/b/c", "a b", "a-c", "ab",
					     "z/y", "a/bb" };
	struct rec recs[2000];
	char names[2000][16];
	struct pathmap pm;
	struct pathmap_node **l;
	size_t n;

	pathmap_init(&pm);
	for (size_t i = 0; i < NELEM(paths); i++) {
		recs[i].n.path = (char *)paths[i];
		recs[i].v = (int)i;
		CHECK_EQ(pathmap_put(&pm, &recs[i].n), 0);
	}
	CHECK_EQ(pathmap_put(&pm, &recs[0].n), -EEXIST);
	CHECK(pathmap_get(&pm, "a/b") == &recs[1].n);
	CHECK(pathmap_get(&pm, "nope") == NULL);
	l = pathmap_subtree(&pm, "a", &n, true);
	CHECK_EQ(n, 4);
	if (n == 4) {
		CHECK_STR(l[0]->path, "a");
		CHECK_STR(l[1]->path, "a/b");
		CHECK_STR(l[2]->path, "a/b/c");
		CHECK_STR(l[3]->path, "a/bb");
	}
	free(l);
	CHECK(pathmap_under("a/b", "a"));
	CHECK(!pathmap_under("ab", "a"));
	CHECK(pathmap_del(&pm, "a/b") == &recs[1].n);
	CHECK(pathmap_get(&pm, "a/b") == NULL);
	CHECK(pathmap_get(&pm, "a/b/c") == &recs[2].n);
	/* Many, through growth and deletions. */
	for (size_t i = 0; i < 2000; i++) {
		snprintf(names[i], sizeof(names[i]), "f/%zu", i);
		recs[i].n.path = names[i];
	}
	pathmap_free(&pm);
	for (size_t i = 0; i < 2000; i++)
		CHECK_EQ(pathmap_put(&pm, &recs[i].n), 0);
	for (size_t i = 0; i < 2000; i += 2)
		CHECK(pathmap_del(&pm, names[i]) == &recs[i].n);
	for (size_t i = 0; i < 2000; i++)
		CHECK((pathmap_get(&pm, names[i]) != NULL) == (i % 2 == 1));
	CHECK_EQ(pm.count, 1000);
	l = pathmap_list(&pm, &n, false);
	CHECK_EQ(n, 1000);
	free(l);
	pathmap_free(&pm);
}

/* ---- confined file operations ---- */

static char tmpl[64];

static int make_root(void)
{
	snprintf(tmpl, sizeof(tmpl), "/tmp/airlock-synclib.XXXXXX");
	if (!mkdtemp(tmpl))
		return -1;
	return open(tmpl, O_RDONLY | O_DIRECTORY);
}

static void rm_root(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpl);
}

static int write_file(int root, const char *path, const char *text, mode_t mode)
{
	struct safefs_attr a = { .mode = mode, .mtime = 1000000000123ll,
				 .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct safefs_tmp t;
	const char *name;
	int r = safefs_tmp_open(root, path, &t, &name);

	if (r < 0)
		return r;
	if (write(t.fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		safefs_tmp_abort(&t);
		return -EIO;
	}
	return safefs_tmp_commit(&t, name, &a, false);
}

TEST(safefs_confined)
{
	struct safefs_attr dir = { .mode = 0755, .mtime = INT64_MIN, .uid = (uid_t)-1,
				   .gid = (gid_t)-1 };
	struct safefs_attr a = dir;
	int root = make_root(), outside;
	char buf[64], out[96];
	struct stat st;

	CHECK(root >= 0);
	if (root < 0)
		return;
	/* A directory outside the root, and links pointing at it. */
	snprintf(out, sizeof(out), "%s-outside", tmpl);
	CHECK(mkdir(out, 0755) == 0);
	outside = open(out, O_RDONLY | O_DIRECTORY);
	CHECK(symlinkat(out, root, "abs") == 0);
	CHECK(symlinkat("..", root, "up") == 0);
	CHECK(mkdirat(root, "d", 0755) == 0);
	CHECK(symlinkat("../../", root, "d/up2") == 0);

	/* Writes through a link are refused; nothing appears outside. */
	CHECK_EQ(write_file(root, "abs/x", "no", 0644), -ENOTDIR);
	CHECK_EQ(write_file(root, "up/x", "no", 0644), -ENOTDIR);
	CHECK_EQ(write_file(root, "d/up2/x", "no", 0644), -ENOTDIR);
	CHECK_EQ(safefs_mkdir(root, "abs/d", &dir, false), -ENOTDIR);
	CHECK_EQ(safefs_symlink(root, "abs/l", "x", &a), -ENOTDIR);
	CHECK_EQ(safefs_remove(root, "abs/anything"), -ENOTDIR);
	CHECK_EQ(safefs_rename(root, "d", "abs/d", false), -ENOTDIR);
	CHECK_EQ(faccessat(outside, "x", F_OK, 0), -1);
	CHECK_EQ(faccessat(outside, "d", F_OK, 0), -1);
	CHECK_EQ(faccessat(outside, "l", F_OK, 0), -1);

	/* Writing over a link replaces the link, never its target. */
	CHECK(symlinkat("/etc/passwd", root, "victim") == 0);
	CHECK_EQ(write_file(root, "victim", "mine", 0600), 0);
	CHECK(fstatat(root, "victim", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, 4);
	CHECK_EQ(st.st_mtim.tv_sec, 1000);
	CHECK_EQ(st.st_mtim.tv_nsec, 123);
	CHECK_EQ(st.st_mode & 07777, 0600);
	/* chmod/mtime on a link name leave the target alone. */
	CHECK(symlinkat(out, root, "l2") == 0);
	a.mode = 0700;
	a.mtime = 5000000000ll;
	CHECK_EQ(safefs_set_attr(root, "l2", &a, true, true), 0);
	CHECK(stat(out, &st) == 0 && (st.st_mode & 07777) == 0755);

	/* A file appears whole; a link's target is kept as it is. */
	CHECK_EQ(write_file(root, "d/f", "hello", 0755), 0);
	CHECK_EQ(safefs_readlink(root, "abs", buf, sizeof(buf)), (int)strlen(out));
	CHECK_EQ(safefs_symlink(root, "d/l", "../../../etc", &dir), 0);
	CHECK_EQ(safefs_readlink(root, "d/l", buf, sizeof(buf)), 12);
	CHECK_STR(buf, "../../../etc");
	/* Opening for read refuses links and non-files. */
	CHECK(safefs_open_read(root, "d/l") < 0);
	CHECK(safefs_open_read(root, "d") < 0);
	CHECK(mkfifoat(root, "fifo", 0600) == 0);
	CHECK_EQ(safefs_open_read(root, "fifo"), -EINVAL);
	{
		int fd = safefs_open_read(root, "d/f");

		CHECK(fd >= 0);
		if (fd >= 0) {
			CHECK_EQ(read(fd, buf, sizeof(buf)), 5);
			close(fd);
		}
	}
	/* A non-empty directory is never replaced; an empty one may be. */
	CHECK_EQ(write_file(root, "d", "x", 0644), -ENOTEMPTY);
	CHECK(mkdirat(root, "e", 0755) == 0);
	CHECK_EQ(write_file(root, "e", "x", 0644), 0);
	/* mkdir over a file only with replace. */
	CHECK_EQ(safefs_mkdir(root, "e", &dir, false), -EEXIST);
	CHECK_EQ(safefs_mkdir(root, "e", &dir, true), 0);
	CHECK_EQ(safefs_remove(root, "d"), -ENOTEMPTY);
	CHECK_EQ(safefs_rename(root, "d/f", "e/f", false), 0);
	CHECK_EQ(safefs_rename(root, "e/f", "d/l", false), -EEXIST);
	CHECK_EQ(safefs_lstat(root, "e/f", &st), 0);
	CHECK_EQ(safefs_lstat(root, "abs/x", &st), -ENOTDIR);
	/* Temporary files left behind are ours to clean; nothing else. */
	CHECK(openat(root, ".airlock-tmp-0123456789abcdef", O_CREAT | O_WRONLY, 0600) >= 0);
	safefs_clean_tmp(root);
	CHECK_EQ(faccessat(root, ".airlock-tmp-0123456789abcdef", F_OK, AT_SYMLINK_NOFOLLOW), -1);
	CHECK_EQ(faccessat(root, "victim", F_OK, AT_SYMLINK_NOFOLLOW), 0);

	close(outside);
	close(root);
	rm_root();
	snprintf(buf, sizeof(buf), "rm -rf '%s'", out);
	if (system(buf) != 0)
		fprintf(stderr, "could not remove %s\n", out);
}

/* ---- scan ---- */

struct seen {
	char paths[32][64];
	int n, excluded, bad;
};

static int on_entry(void *arg, const char *path, const struct stat *st, const char *target)
{
	struct seen *s = arg;

	(void)st;
	(void)target;
	if (s->n < 32)
		snprintf(s->paths[s->n++], 64, "%s%s", path, S_ISDIR(st->st_mode) ? "/" : "");
	return 0;
}

static void on_excluded(void *arg, const char *path, bool is_dir)
{
	(void)path;
	(void)is_dir;
	((struct seen *)arg)->excluded++;
}

static void on_bad(void *arg, int dirfd, const char *dir, const char *name, int bad)
{
	(void)dirfd;
	(void)dir;
	(void)name;
	(void)bad;
	((struct seen *)arg)->bad++;
}

static bool has(const struct seen *s, const char *p)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->paths[i], p) == 0)
			return true;
	return false;
}

TEST(scan_walks_without_following)
{
	struct pathmatch ign;
	struct seen s = { 0 };
	struct scan_ops ops = { .ignore = &ign, .entry = on_entry, .excluded = on_excluded,
				.bad = on_bad, .arg = &s };
	int root = make_root();

	CHECK(root >= 0);
	if (root < 0)
		return;
	pathmatch_init(&ign);
	pathmatch_add_text(&ign, "node_modules/\n*.o", 17);
	CHECK(mkdirat(root, "src", 0755) == 0);
	CHECK(mkdirat(root, "src/node_modules", 0755) == 0);
	CHECK(close(openat(root, "src/node_modules/x", O_CREAT | O_WRONLY, 0644)) == 0);
	CHECK(close(openat(root, "src/a.c", O_CREAT | O_WRONLY, 0644)) == 0);
	CHECK(close(openat(root, "src/a.o", O_CREAT | O_WRONLY, 0644)) == 0);
	/* A name the format refuses (one of our temporary files) is reported
	 * apart; a control character is the host's rule, not the walk's. */
	CHECK(close(openat(root, ".airlock-tmp-1", O_CREAT | O_WRONLY, 0644)) == 0);
	CHECK(close(openat(root, "ctl\nname", O_CREAT | O_WRONLY, 0644)) == 0);
	CHECK(symlinkat("/", root, "rootlink") == 0);
	CHECK_EQ(scan_tree(root, "", &ops), 0);
	CHECK(has(&s, "src/"));
	CHECK(has(&s, "src/a.c"));
	CHECK(has(&s, "rootlink"));
	CHECK(has(&s, "ctl\nname"));
	CHECK(!has(&s, "src/a.o"));
	CHECK_EQ(s.n, 4);
	CHECK_EQ(s.excluded, 2);
	CHECK_EQ(s.bad, 1);
	pathmatch_free(&ign);
	close(root);
	rm_root();
}

/* ---- watch ---- */

struct events {
	char dirty[64][64];
	int ndirty;
	char from[64], to[64];
	int nmoved, overflows;
};

static void ev_dirty(void *arg, const char *path)
{
	struct events *e = arg;

	if (e->ndirty < 64)
		snprintf(e->dirty[e->ndirty++], 64, "%s", path);
}

static void ev_moved(void *arg, const char *from, const char *to, bool is_dir)
{
	struct events *e = arg;

	(void)is_dir;
	snprintf(e->from, sizeof(e->from), "%s", from);
	snprintf(e->to, sizeof(e->to), "%s", to);
	e->nmoved++;
}

static void ev_overflow(void *arg)
{
	((struct events *)arg)->overflows++;
}

static bool dirty(const struct events *e, const char *p)
{
	for (int i = 0; i < e->ndirty; i++)
		if (strcmp(e->dirty[i], p) == 0)
			return true;
	return false;
}

TEST(watch_follows_renamed_directories)
{
	struct events e = { 0 };
	struct fswatch_cb cb = { ev_dirty, ev_moved, ev_overflow, &e };
	struct fswatch w;
	int root = make_root();

	CHECK(root >= 0);
	if (root < 0)
		return;
	CHECK(mkdirat(root, "a", 0755) == 0);
	CHECK_EQ(fswatch_init(&w, root, NULL), 0);
	/* A new directory is watched at once. */
	CHECK(mkdirat(root, "a/b", 0755) == 0);
	fswatch_drain(&w, &cb);
	CHECK(dirty(&e, "a/b"));
	CHECK(close(openat(root, "a/b/f", O_CREAT | O_WRONLY, 0644)) == 0);
	fswatch_drain(&w, &cb);
	CHECK(dirty(&e, "a/b/f"));
	/* A rename is one event, and the moved directory's watch follows. */
	CHECK(renameat(root, "a", root, "z") == 0);
	fswatch_drain(&w, &cb);
	CHECK_EQ(e.nmoved, 1);
	CHECK_STR(e.from, "a");
	CHECK_STR(e.to, "z");
	e.ndirty = 0;
	CHECK(close(openat(root, "z/b/g", O_CREAT | O_WRONLY, 0644)) == 0);
	fswatch_drain(&w, &cb);
	CHECK(dirty(&e, "z/b/g"));
	/* Our own temporary files are not reported. */
	e.ndirty = 0;
	CHECK(close(openat(root, ".airlock-tmp-1", O_CREAT | O_WRONLY, 0644)) == 0);
	fswatch_drain(&w, &cb);
	CHECK_EQ(e.ndirty, 0);
	/* Removal. */
	CHECK(unlinkat(root, "z/b/g", 0) == 0);
	fswatch_drain(&w, &cb);
	CHECK(dirty(&e, "z/b/g"));
	CHECK_EQ(e.overflows, 0);
	fswatch_close(&w);
	close(root);
	rm_root();
}

CHECK_MAIN(TEST_ENTRY(hash_reference_values), TEST_ENTRY(pathmatch_gitignore_rules),
	   TEST_ENTRY(pathmap_put_get_del_subtree), TEST_ENTRY(safefs_confined),
	   TEST_ENTRY(scan_walks_without_following),
	   TEST_ENTRY(watch_follows_renamed_directories))
