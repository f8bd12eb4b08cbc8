/* The last synced state of a sandbox's workspace (sync/state in its
 * folder): per path the host's and the guest's meta and the content hash,
 * the workspace's path and an epoch that the guest keeps too, so that the
 * next run compares three ways and knows whether the guest's copy is the
 * one this state describes. Written whole to a temporary file, fsynced and
 * renamed; a damaged or foreign file reads as "nothing synced yet", which
 * costs a full comparison, never data. */
#include "tools/sync/sync.h"
#include "lib/clock.h"
#include "lib/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[] = "AIRLOCK-SYNC-STATE-1\n";
#define MAGIC_LEN (sizeof(magic) - 1)
#define STATE_MAX (1u << 30)

/* ---- the base map ---- */

struct hentry *hsync_base(struct hsync *s, const char *path)
{
	return (struct hentry *)pathmap_get(&s->base, path);
}

struct hentry *hsync_base_make(struct hsync *s, const char *path)
{
	struct hentry *e = hsync_base(s, path);

	if (e)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e || !(e->n.path = strdup(path))) {
		free(e);
		return NULL;
	}
	if (pathmap_put(&s->base, &e->n) < 0) {
		free(e->n.path);
		free(e);
		return NULL;
	}
	s->base_dirty = true;
	return e;
}

void hsync_base_del(struct hsync *s, const char *path)
{
	size_t n;
	struct pathmap_node **l = pathmap_subtree(&s->base, path, &n, false);

	for (size_t i = 0; i < n; i++) {
		/* One still waiting for the guest's answer stays: the answer
		 * finds it. Its sides are forgotten. */
		struct hentry *e = (struct hentry *)l[i];

		if (e->inflight) {
			e->host = e->guest = (struct sync_meta){ 0 };
			continue;
		}
		pathmap_del(&s->base, l[i]->path);
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
	s->base_dirty = true;
}

void hsync_base_move(struct hsync *s, const char *from, const char *to)
{
	size_t n, flen = strlen(from), tlen = strlen(to);
	struct pathmap_node **l;

	hsync_base_del(s, to);
	l = pathmap_subtree(&s->base, from, &n, false);
	for (size_t i = 0; i < n; i++)
		pathmap_del(&s->base, l[i]->path);
	for (size_t i = 0; i < n; i++) {
		size_t rest = strlen(l[i]->path) - flen;
		char *p = tlen + rest <= SYNC_MAX_PATH ? malloc(tlen + rest + 1) : NULL;

		if (p) {
			memcpy(p, to, tlen);
			memcpy(p + tlen, l[i]->path + flen, rest + 1);
		}
		free(l[i]->path);
		l[i]->path = p;
		if (!p || pathmap_put(&s->base, l[i]) < 0) {
			free(p);
			free(l[i]);
		}
	}
	free(l);
	s->base_dirty = true;
}

size_t hsync_base_count(const struct hsync *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->base.cap; i++) {
		const struct hentry *e = (const struct hentry *)s->base.slot[i];

		if (e && e->host.kind != SYNC_NONE)
			n++;
	}
	return n;
}

/* ---- the file ---- */

static void put_meta(uint8_t *p, const struct sync_meta *m)
{
	p[0] = m->kind;
	frame_put_u16(p + 1, m->mode);
	frame_put_u32(p + 3, (uint32_t)m->size);
	frame_put_u32(p + 7, (uint32_t)(m->size >> 32));
	frame_put_u32(p + 11, (uint32_t)m->mtime);
	frame_put_u32(p + 15, (uint32_t)((uint64_t)m->mtime >> 32));
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)frame_get_u32(p) | (uint64_t)frame_get_u32(p + 4) << 32;
}

static void get_meta(const uint8_t *p, struct sync_meta *m)
{
	m->kind = p[0];
	m->mode = frame_get_u16(p + 1);
	m->size = get64(p + 3);
	m->mtime = (int64_t)get64(p + 11);
}

static bool meta_ok(const struct sync_meta *m)
{
	return m->kind <= SYNC_LINK && m->mode <= 07777;
}

#define ENTRY_FIXED (2u + 19u + 19u + 8u)

static void new_epoch(struct hsync *s)
{
	if (getrandom(s->epoch, sizeof(s->epoch), 0) != sizeof(s->epoch)) {
		uint64_t t = clock_ns() ^ (uint64_t)getpid() << 32;

		memcpy(s->epoch, &t, sizeof(t));
		memcpy(s->epoch + 8, &t, sizeof(t));
	}
	s->epoch[0] |= 1;	/* never all zero: that means "none" */
}

static int parse(struct hsync *s, const uint8_t *p, size_t len)
{
	size_t off = MAGIC_LEN, rootlen;
	uint32_t count;

	if (len < MAGIC_LEN + SYNC_EPOCH_LEN + 2 + 4 + 8 ||
	    memcmp(p, magic, MAGIC_LEN) != 0 ||
	    hash64(p, len - 8) != get64(p + len - 8))
		return -EINVAL;
	len -= 8;
	memcpy(s->epoch, p + off, SYNC_EPOCH_LEN);
	off += SYNC_EPOCH_LEN;
	rootlen = frame_get_u16(p + off);
	off += 2;
	if (len - off < rootlen + 4)
		return -EINVAL;
	/* Another workspace's state (the same sandbox, another folder):
	 * nothing of it applies here. */
	if (rootlen != strlen(s->root) || memcmp(p + off, s->root, rootlen) != 0)
		return -ESTALE;
	off += rootlen;
	count = frame_get_u32(p + off);
	off += 4;
	for (uint32_t i = 0; i < count; i++) {
		char path[SYNC_MAX_PATH + 1];
		struct hentry *e;
		size_t plen;

		if (len - off < ENTRY_FIXED)
			return -EINVAL;
		plen = frame_get_u16(p + off);
		if (plen > SYNC_MAX_PATH || len - off - ENTRY_FIXED < plen)
			return -EINVAL;
		memcpy(path, p + off + 2, plen);
		path[plen] = 0;
		if (sync_path_check(path, plen))
			return -EINVAL;
		off += 2 + plen;
		e = hsync_base_make(s, path);
		if (!e)
			return -ENOMEM;
		get_meta(p + off, &e->host);
		get_meta(p + off + 19, &e->guest);
		e->hash = get64(p + off + 38);
		off += 46;
		if (!meta_ok(&e->host) || !meta_ok(&e->guest))
			return -EINVAL;
	}
	return off == len ? 0 : -EINVAL;
}

void hsync_base_clear(struct hsync *s)
{
	size_t n;
	struct pathmap_node **l = pathmap_list(&s->base, &n, false);

	for (size_t i = 0; i < n; i++) {
		pathmap_del(&s->base, l[i]->path);
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
}

int hsync_state_load(struct hsync *s)
{
	int fd = openat(s->state, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r;
	struct stat st;
	uint8_t *buf;

	if (fd < 0) {
		new_epoch(s);
		return errno == ENOENT ? 0 : -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > STATE_MAX ||
	    !(buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		new_epoch(s);
		return 0;
	}
	r = read(fd, buf, (size_t)st.st_size) == st.st_size ? 0 : -EIO;
	close(fd);
	if (r == 0)
		r = parse(s, buf, (size_t)st.st_size);
	free(buf);
	if (r < 0) {
		if (r != -ESTALE)
			hsync_log(s, "note", NULL, "the last synced state could not be "
				  "read: everything is compared afresh");
		hsync_base_clear(s);
		new_epoch(s);
	}
	s->base_dirty = false;
	return 0;
}

int hsync_state_save(struct hsync *s)
{
	struct safefs_attr a = { .mode = 0600, .mtime = INT64_MIN, .uid = (uid_t)-1,
				 .gid = (gid_t)-1, .sync = true };
	size_t n, rootlen = strlen(s->root), size, off = 0;
	struct pathmap_node **l = pathmap_list(&s->base, &n, false);
	struct safefs_tmp t;
	const char *name;
	uint32_t count = 0;
	uint8_t *buf;
	int r;

	size = MAGIC_LEN + SYNC_EPOCH_LEN + 2 + rootlen + 4 + 8;
	for (size_t i = 0; i < n; i++)
		size += ENTRY_FIXED + strlen(l[i]->path);
	buf = malloc(size);
	if (!buf) {
		free(l);
		return -ENOMEM;
	}
	memcpy(buf, magic, MAGIC_LEN);
	off = MAGIC_LEN;
	memcpy(buf + off, s->epoch, SYNC_EPOCH_LEN);
	off += SYNC_EPOCH_LEN;
	frame_put_u16(buf + off, (uint16_t)rootlen);
	memcpy(buf + off + 2, s->root, rootlen);
	off += 2 + rootlen + 4;
	for (size_t i = 0; i < n; i++) {
		const struct hentry *e = (const struct hentry *)l[i];
		size_t plen = strlen(e->n.path);

		/* Only what both sides agreed on is kept. */
		if (e->host.kind == SYNC_NONE && e->guest.kind == SYNC_NONE)
			continue;
		frame_put_u16(buf + off, (uint16_t)plen);
		memcpy(buf + off + 2, e->n.path, plen);
		off += 2 + plen;
		put_meta(buf + off, &e->host);
		put_meta(buf + off + 19, &e->guest);
		frame_put_u32(buf + off + 38, (uint32_t)e->hash);
		frame_put_u32(buf + off + 42, (uint32_t)(e->hash >> 32));
		off += 46;
		count++;
	}
	free(l);
	frame_put_u32(buf + MAGIC_LEN + SYNC_EPOCH_LEN + 2 + rootlen, count);
	{
		uint64_t h = hash64(buf, off);

		frame_put_u32(buf + off, (uint32_t)h);
		frame_put_u32(buf + off + 4, (uint32_t)(h >> 32));
		off += 8;
	}
	r = safefs_tmp_open(s->state, "state", &t, &name);
	if (r == 0) {
		size_t done = 0;

		while (done < off) {
			ssize_t w = write(t.fd, buf + done, off - done);

			if (w <= 0) {
				r = w < 0 ? -errno : -EIO;
				break;
			}
			done += (size_t)w;
		}
		if (r == 0)
			r = safefs_tmp_commit(&t, name, &a, false);
		else
			safefs_tmp_abort(&t);
	}
	free(buf);
	if (r == 0) {
		s->base_dirty = false;
	} else {
		hsync_log(s, "error", NULL, "cannot write the sync state: %s", strerror(-r));
	}
	return r;
}

/* ---- the context ---- */

void hsync_init(struct hsync *s)
{
	*s = (struct hsync){ .project = -1, .state = -1, .guest = -1, .ctl = -1, .src = -1,
			     .lim = { HSYNC_MAX_FILE, HSYNC_MAX_TOTAL, HSYNC_MAX_FILES } };
	s->cin.tmp.fd = s->cin.tmp.dirfd = -1;
	pathmatch_init(&s->ignore);
	pathmatch_init(&s->protect);
	pathmap_init(&s->base);
	pathmap_init(&s->listing);
	pathmap_init(&s->dirty);
	pathmap_init(&s->gone);
}

static void free_dirty_map(struct pathmap *m)
{
	size_t n;
	struct pathmap_node **l = pathmap_list(m, &n, false);

	for (size_t i = 0; i < n; i++) {
		pathmap_del(m, l[i]->path);
		free(l[i]->path);
		free(l[i]);
	}
	free(l);
	pathmap_free(m);
}

void hsync_free(struct hsync *s)
{
	hsync_apply_close(s);
	hsync_push_close(s);
	hsync_base_clear(s);
	pathmap_free(&s->base);
	free_dirty_map(&s->gone);
	pathmatch_free(&s->ignore);
	for (size_t i = 0; i < s->nignore; i++)
		free(s->ignore_lines[i]);
	free(s->ignore_lines);
	free(s->obuf);
	free(s->rbuf);
	if (s->log)
		fclose(s->log);
	if (s->watching)
		fswatch_close(&s->fw);
}
