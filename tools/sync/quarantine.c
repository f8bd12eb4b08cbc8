/* The quarantine: which paths are protected (protected.list, compiled in,
 * plus a per-project addition) and the held changes themselves, one
 * folder each under sync/quarantine/ in the sandbox's folder:
 *   path      the path, exactly its bytes
 *   meta      "kind file|dir|link|delete|deletions", mode, mtime, size,
 *             time, reason: one "key value" line each
 *   content   a file's bytes or a link's target
 *   paths     for a mass deletion: the paths, NUL-separated
 * A folder is written under a temporary name and renamed in, so an item
 * is whole or absent; a newer change to the same path replaces it. */
#include "tools/sync/sync.h"
#include "tools/sync/gitconfig.h"
#include "tools/sync/quarantine.h"
#include "lib/hash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Git config and attributes files are read whole to judge a change: past
 * this size a change to one is simply held. */
#define CONTENT_MAX (1u << 20)

struct quarantine_rules {
	struct gitcfg_rule *keys;
	size_t nkeys;
	char **attrs;
	size_t nattrs;
	struct pathmatch config_files;
	struct pathmatch attr_files;
};

extern const char protected_list[];

/* ---- rules ---- */

enum section { SEC_NONE, SEC_PATHS, SEC_CFG_FILES, SEC_CFG_KEYS, SEC_ATTR_FILES, SEC_ATTRS };

static int rules_add_text(struct hsync *s, const char *text, size_t len)
{
	struct quarantine_rules *q = s->rules;
	enum section sec = SEC_NONE;
	size_t i = 0;
	int r = 0;

	while (i < len && r == 0) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		const char *line = text + i;
		char buf[1100];

		i += n + 1;
		while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			n--;
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '[') {
			if (n == 7 && memcmp(line, "[paths]", 7) == 0)
				sec = SEC_PATHS;
			else if (n == 18 && memcmp(line, "[git-config-files]", 18) == 0)
				sec = SEC_CFG_FILES;
			else if (n == 17 && memcmp(line, "[git-config-keys]", 17) == 0)
				sec = SEC_CFG_KEYS;
			else if (n == 22 && memcmp(line, "[git-attributes-files]", 22) == 0)
				sec = SEC_ATTR_FILES;
			else if (n == 16 && memcmp(line, "[git-attributes]", 16) == 0)
				sec = SEC_ATTRS;
			else
				sec = SEC_NONE;	/* a newer section: skipped */
			continue;
		}
		if (n >= sizeof(buf))
			continue;
		memcpy(buf, line, n);
		buf[n] = 0;
		switch (sec) {
		case SEC_PATHS:
			r = pathmatch_add(&s->protect, buf, n);
			break;
		case SEC_CFG_FILES:
			r = pathmatch_add(&q->config_files, buf, n);
			break;
		case SEC_ATTR_FILES:
			r = pathmatch_add(&q->attr_files, buf, n);
			break;
		case SEC_CFG_KEYS: {
			struct gitcfg_rule *k = realloc(q->keys, (q->nkeys + 1) * sizeof(*k));

			if (!k)
				return -ENOMEM;
			q->keys = k;
			if (gitcfg_rule_parse(buf, &q->keys[q->nkeys]) == 0)
				q->nkeys++;
			break;
		}
		case SEC_ATTRS: {
			char **a = realloc(q->attrs, (q->nattrs + 1) * sizeof(*a));

			if (!a)
				return -ENOMEM;
			q->attrs = a;
			if ((q->attrs[q->nattrs] = strdup(buf)))
				q->nattrs++;
			break;
		}
		default:
			break;
		}
	}
	return r;
}

int quarantine_rules_load(struct hsync *s, const char *extra, size_t len)
{
	int r;

	s->rules = calloc(1, sizeof(*s->rules));
	if (!s->rules)
		return -ENOMEM;
	pathmatch_init(&s->rules->config_files);
	pathmatch_init(&s->rules->attr_files);
	r = rules_add_text(s, protected_list, strlen(protected_list));
	if (r == 0 && extra)
		r = rules_add_text(s, extra, len);
	return r;
}

void quarantine_rules_free(struct hsync *s)
{
	struct quarantine_rules *q = s->rules;

	if (!q)
		return;
	for (size_t i = 0; i < q->nkeys; i++)
		gitcfg_rule_free(&q->keys[i]);
	free(q->keys);
	for (size_t i = 0; i < q->nattrs; i++)
		free(q->attrs[i]);
	free(q->attrs);
	pathmatch_free(&q->config_files);
	pathmatch_free(&q->attr_files);
	pathmatch_free(&s->protect);
	free(q);
	s->rules = NULL;
}

const char *quarantine_protected(const struct hsync *s, const char *path, uint8_t kind)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	/* A .git that is a file (gitdir: elsewhere) sends git to another
	 * repository's config and hooks. */
	if (strcmp(base, ".git") == 0 && kind != SYNC_DIR && kind != SYNC_NONE)
		return "a .git file points git at another repository";
	if (pathmatch_match(&s->protect, path, kind == SYNC_DIR))
		return "a path the host may run without asking (protected.list)";
	return NULL;
}

bool quarantine_needs_content(const struct hsync *s, const char *path)
{
	return pathmatch_match(&s->rules->config_files, path, false) ||
	       pathmatch_match(&s->rules->attr_files, path, false);
}

/* Up to CONTENT_MAX bytes of fd from its start; NULL if more or
 * unreadable. fd < 0 reads as empty. */
static char *slurp(int fd, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return strdup("");
	if (fstat(fd, &st) < 0 || st.st_size > CONTENT_MAX)
		return NULL;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return NULL;
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

const char *quarantine_content_reason(const struct hsync *s, const char *path,
				      int oldfd, int newfd, char *why, size_t size)
{
	const struct quarantine_rules *q = s->rules;
	bool cfg = pathmatch_match(&q->config_files, path, false);
	struct strlist a = { 0 }, b = { 0 };
	size_t olen, nlen;
	char *old = slurp(oldfd, &olen), *new_ = slurp(newfd, &nlen);
	const char *added, *reason = NULL;
	int ra, rb;

	if (!new_) {
		reason = "too large to judge (over 1 MiB)";
		goto out;
	}
	if (!old) {
		/* The host's own is unreadable or huge: judge the new one alone. */
		old = strdup("");
		olen = 0;
	}
	if (cfg) {
		ra = gitcfg_collect(old, olen, q->keys, q->nkeys, &a);
		rb = gitcfg_collect(new_, nlen, q->keys, q->nkeys, &b);
	} else {
		ra = gitattr_collect(old, olen, q->attrs, q->nattrs, &a);
		rb = gitattr_collect(new_, nlen, q->attrs, q->nattrs, &b);
	}
	if (rb < 0) {
		reason = cfg ? "git config that airlock cannot read" :
			       "attributes that airlock cannot read";
		goto out;
	}
	if (ra < 0)
		strlist_free(&a);	/* the host's was unreadable: all of it is new */
	added = strlist_added(&a, &b);
	if (added) {
		char shown[200];

		hsync_escape(added, shown, sizeof(shown));
		snprintf(why, size, "%s '%s'", cfg ? "it sets a git config key that runs "
			 "a program:" : "it names a git filter or driver:", shown);
		reason = why;
	}
out:
	strlist_free(&a);
	strlist_free(&b);
	free(old);
	free(new_);
	return reason;
}

/* ---- held items ---- */

static int qdir(struct hsync *s)
{
	if (mkdirat(s->state, "quarantine", 0700) < 0 && errno != EEXIST)
		return -errno;
	return openat(s->state, "quarantine", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

void quarantine_id(const char *path, char *id, size_t size)
{
	snprintf(id, size, "%016" PRIx64, hash64(path, strlen(path)));
}

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_file_at(int dfd, const char *name, const void *p, size_t len)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, p, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static void rm_dir_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;

	if (fd >= 0 && (d = fdopendir(fd))) {
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static const char *kind_name(uint8_t k)
{
	switch (k) {
	case SYNC_FILE:
		return "file";
	case SYNC_DIR:
		return "dir";
	case SYNC_LINK:
		return "link";
	default:
		return "delete";
	}
}

/* A new item's folder under a temporary name: its fd, the name in tmp. */
static int item_begin(struct hsync *s, char *tmp, size_t size, int *q)
{
	static unsigned int seq;
	int fd;

	*q = qdir(s);
	if (*q < 0)
		return *q;
	snprintf(tmp, size, ".new-%d-%u", (int)getpid(), seq++);
	rm_dir_at(*q, tmp);
	if (mkdirat(*q, tmp, 0700) < 0 ||
	    (fd = openat(*q, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		int r = -errno;

		close(*q);
		return r;
	}
	return fd;
}

/* Writes path and meta, then moves the folder to its id (replacing). */
static int item_finish(struct hsync *s, int q, int dfd, const char *tmp, const char *id,
		       const char *path, const char *kind, const struct sync_meta *m,
		       const char *reason)
{
	char meta[1024], old[64];
	int n, r;

	n = snprintf(meta, sizeof(meta), "kind %s\nmode %o\nmtime %" PRId64 "\nsize %" PRIu64
		     "\ntime %lld\nreason %s\n", kind, m->mode & 07777, m->mtime, m->size,
		     (long long)time(NULL), reason);
	r = write_file_at(dfd, "path", path, strlen(path));
	if (r == 0)
		r = write_file_at(dfd, "meta", meta, (size_t)n < sizeof(meta) ? (size_t)n :
				  sizeof(meta) - 1);
	if (r == 0) {
		fsync(dfd);
		snprintf(old, sizeof(old), ".old-%s", id);
		rm_dir_at(q, old);
		if (renameat(q, id, q, old) < 0 && errno != ENOENT)
			r = -errno;
		if (r == 0 && renameat(q, tmp, q, id) < 0)
			r = -errno;
		rm_dir_at(q, old);
		fsync(q);
	}
	if (r < 0)
		rm_dir_at(q, tmp);
	(void)s;
	return r;
}

int quarantine_open(struct hsync *s, const char *path, char *tmp, size_t size, int *qfd,
		    int *dfd)
{
	int fd;

	(void)path;
	*dfd = item_begin(s, tmp, size, qfd);
	if (*dfd < 0)
		return *dfd;
	fd = openat(*dfd, "content", O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int r = -errno;

		close(*dfd);
		rm_dir_at(*qfd, tmp);
		close(*qfd);
		return r;
	}
	return fd;
}

int quarantine_commit(struct hsync *s, const char *tmp, int qfd, int dfd, int fd,
		      const char *path, const struct sync_meta *m, const char *reason)
{
	char id[40];
	int r = fsync(fd) < 0 ? -errno : 0;

	close(fd);
	quarantine_id(path, id, sizeof(id));
	if (r == 0)
		r = item_finish(s, qfd, dfd, tmp, id, path, kind_name(m->kind), m, reason);
	else
		rm_dir_at(qfd, tmp);
	close(dfd);
	close(qfd);
	return r;
}

void quarantine_abort(struct hsync *s, const char *tmp, int qfd, int dfd, int fd)
{
	(void)s;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (qfd >= 0) {
		rm_dir_at(qfd, tmp);
		close(qfd);
	}
}

int quarantine_hold(struct hsync *s, const char *path, const struct sync_meta *m,
		    int content_fd, const char *target, const char *reason)
{
	char tmp[64];
	int q, d, fd, r = 0;

	fd = quarantine_open(s, path, tmp, sizeof(tmp), &q, &d);
	if (fd < 0)
		return fd;
	if (target) {
		r = write_all(fd, target, strlen(target));
	} else if (content_fd >= 0) {
		uint8_t buf[65536];
		off_t off = 0;
		ssize_t n;

		while ((n = pread(content_fd, buf, sizeof(buf), off)) > 0 && r == 0) {
			r = write_all(fd, buf, (size_t)n);
			off += n;
		}
		if (n < 0)
			r = -errno;
	}
	if (r < 0) {
		quarantine_abort(s, tmp, q, d, fd);
		return r;
	}
	return quarantine_commit(s, tmp, q, d, fd, path, m, reason);
}

int quarantine_hold_deletions(struct hsync *s, char *const *paths, size_t n,
			      const char *reason)
{
	struct sync_meta none = { 0 };
	char tmp[64], id[64];
	int q, d, fd, r = 0;

	fd = quarantine_open(s, "", tmp, sizeof(tmp), &q, &d);
	if (fd < 0)
		return fd;
	close(fd);
	unlinkat(d, "content", 0);
	fd = openat(d, "paths", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		r = -errno;
	for (size_t i = 0; i < n && r == 0; i++)
		r = write_all(fd, paths[i], strlen(paths[i]) + 1);
	if (fd >= 0) {
		if (r == 0 && fsync(fd) < 0)
			r = -errno;
		close(fd);
	}
	snprintf(id, sizeof(id), "deletions-%lld", (long long)time(NULL));
	if (r == 0) {
		none.size = n;
		r = item_finish(s, q, d, tmp, id, n ? paths[0] : "", "deletions", &none, reason);
	} else {
		rm_dir_at(q, tmp);
	}
	close(d);
	close(q);
	return r;
}

void quarantine_drop(struct hsync *s, const char *path)
{
	char id[40], held[SYNC_MAX_PATH + 1];
	int q = openat(s->state, "quarantine", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int fd;
	ssize_t n;

	if (q < 0)
		return;
	quarantine_id(path, id, sizeof(id));
	fd = openat(q, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		int pf = openat(fd, "path", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		n = pf >= 0 ? read(pf, held, sizeof(held) - 1) : -1;
		if (pf >= 0)
			close(pf);
		if (n >= 0) {
			held[n] = 0;
			if (strcmp(held, path) == 0)
				rm_dir_at(q, id);
		}
		close(fd);
	}
	close(q);
}
