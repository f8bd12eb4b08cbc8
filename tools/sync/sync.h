/* airlock-sync, the host end of the workspace sync (docs/sync.md): its own
 * process holding the project's directory fd, the sandbox's sync state
 * directory, the stream to the guest (vsock port 1001) and a socketpair to
 * its supervisor. It copies the project in, applies the guest's changes
 * only through the checks in apply.c (a hostile guest can at worst write
 * ordinary files inside the project), holds back what the host would run
 * (quarantine.c), keeps both versions on a conflict, and pushes the host's
 * own changes to the guest. This header is the state its parts share. */
#ifndef AIRLOCK_TOOLS_SYNC_H
#define AIRLOCK_TOOLS_SYNC_H

#include "lib/hash.h"
#include "lib/pathmap.h"
#include "lib/pathmatch.h"
#include "lib/safefs.h"
#include "lib/watch.h"
#include "proto/sync.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Defaults of the limits on what the guest may write back. */
#define HSYNC_MAX_FILE (1ull << 30)		/* one file */
#define HSYNC_MAX_TOTAL (16ull << 30)		/* all files of one run */
#define HSYNC_MAX_FILES 500000ull		/* paths in the project */
/* Host changes are pushed once quiet this long (or MAX_DELAY after the
 * first). */
#define HSYNC_DEBOUNCE_MS 20
#define HSYNC_MAX_DELAY_MS 100
/* Guest deletions wait this long for more, so that a whole `rm -rf` is
 * judged at once (the mass-deletion guard). */
#define HSYNC_DELETE_SETTLE_MS 400
#define HSYNC_OUT_HIGH (1u << 20)
/* While things change, a FLUSH barrier this often, whose answer saves the
 * state (reconcile.c). */
#define HSYNC_SAVE_MS 2000

/* What both sides agreed on at a path: the base of three-way decisions. */
struct hentry {
	struct pathmap_node n;
	struct sync_meta host;	/* the host's file as last synced */
	struct sync_meta guest;	/* the guest's, as it reported it */
	uint64_t hash;		/* content (files) or target (links) */
	uint32_t inflight;	/* PUT/DEL sent, not yet answered */
	/* A push the guest could not take: not retried until the host's
	 * file differs from this. */
	struct sync_meta failed;
	bool force;		/* push the host's version even if unchanged */
};

/* A PUT or DEL sent, waiting for APPLIED or REJECTED (FIFO: the guest
 * answers in order). */
struct hpush {
	char *path;
	struct sync_meta host;	/* what was sent (NONE for DEL) */
	uint64_t hash;
	bool copyin;		/* part of the first sync (progress) */
};

/* A host path to look at (host side changed, or to push). */
struct hdirty {
	struct pathmap_node n;
};

/* The file whose content is arriving from the guest. */
enum hin_dest {
	IN_DISCARD,	/* refused: content skipped */
	IN_PROJECT,	/* a temporary file beside its final name */
	IN_QUARANTINE,	/* a held item's content file */
};

struct hin {
	bool active;
	enum hin_dest dest;
	struct sync_meta meta;
	char path[SYNC_MAX_PATH + 1];
	struct safefs_tmp tmp;	/* IN_PROJECT */
	const char *name;
	char qtmp[64];		/* IN_QUARANTINE */
	int qfd, qdir, qcontent;
	const char *reason;
	struct hash64 hash;
	int err;		/* a write failed: refused at END */
};

/* Counts for the summary. */
struct hcounts {
	uint64_t in_files, in_bytes;	/* pushed to the guest */
	uint64_t back;			/* guest changes applied */
	uint64_t held;			/* put in quarantine */
	uint64_t conflicts;
	uint64_t refused;
	uint64_t stripped;		/* setuid/setgid/sticky removed */
	uint64_t back_bytes;
};

struct hlimits {
	uint64_t max_file, max_total, max_files;
};

struct hsync {
	int project;		/* O_DIRECTORY fd of the project */
	int state;		/* O_DIRECTORY fd of the sync state folder */
	int guest;		/* the stream to the guest; -1 in tests */
	int ctl;		/* the socketpair to the supervisor; -1: none */
	char root[SYNC_MAX_PATH + 1];	/* the project's absolute path */
	char key[SYNC_KEY_LEN + 1];
	struct hlimits lim;
	bool test;		/* fuzz/test: no guest socket, output dropped */

	struct pathmatch ignore;	/* .airlockignore + --exclude */
	char **ignore_lines;
	size_t nignore;
	struct pathmatch protect;	/* protected path patterns */
	struct quarantine_rules *rules;	/* the rest of protected.list */

	struct pathmap base;		/* path -> struct hentry */
	uint8_t epoch[SYNC_EPOCH_LEN];
	bool base_dirty;
	int64_t saved_ms;

	/* The stream. */
	struct frame_decoder *dec;
	struct sync_seq seq_in;
	struct sync_msg in, out, scratch;
	uint8_t *rbuf;
	size_t r_off, r_len;
	uint8_t *obuf;
	size_t o_off, o_len, o_cap;
	uint8_t *later;			/* messages held while a file streams */
	size_t later_len;
	bool rd, wr, dead;

	enum { H_WELCOME, H_LISTING, H_RECONCILE, H_RUNNING, H_FINISHING, H_DONE } phase;
	struct pathmap listing;		/* the guest's ENTRYs during H_LISTING */
	uint32_t flush_seq;		/* last FLUSH sent */
	uint32_t initial_seq, final_seq, ctl_flush_seq, save_seq;
	bool initial_sent, final_sent, ctl_flush_wanted;
	bool finish_wanted;

	/* Pushes. */
	struct hpush *pushes;
	size_t push_head, push_len, push_cap;
	struct pathmap dirty;		/* host paths to look at */
	int64_t dirty_first, dirty_last;
	bool dirty_all;
	struct hdirty **hbatch;
	size_t nhbatch, ihbatch;
	int src;			/* a host file being sent */
	uint64_t src_left;
	struct sync_meta src_meta;
	char src_path[SYNC_MAX_PATH + 1];
	struct hash64 srchash;
	bool src_copyin;
	uint64_t copyin_total, copyin_done, copyin_bytes_total;
	bool copyin_active;
	int64_t progress_ms;

	/* Guest deletions waiting for the burst to end. */
	struct pathmap gone;
	int64_t gone_last;

	struct hin cin;			/* CHANGE content arriving */

	struct fswatch fw;
	bool watching;

	struct hcounts count;
	FILE *log;
	uint64_t log_lines;
};

/* ---- log.c ---- */
void hsync_log_open(struct hsync *s);
/* One line in the sync log: "TIME KIND PATH: text"; path may be NULL.
 * Paths and text are escaped; lines stop after a bound per run. */
void hsync_log(struct hsync *s, const char *kind, const char *path,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A refusal: logged and counted. */
void hsync_refuse(struct hsync *s, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Copies s into out with every byte that is not printable UTF-8 as \xNN. */
void hsync_escape(const char *s, char *out, size_t size);

/* ---- state.c ---- */
/* An empty context (no fds, default limits); and all it holds freed
 * (not the fds, not the rules). */
void hsync_init(struct hsync *s);
void hsync_free(struct hsync *s);
struct hentry *hsync_base(struct hsync *s, const char *path);
struct hentry *hsync_base_make(struct hsync *s, const char *path);
void hsync_base_del(struct hsync *s, const char *path);	/* and below */
void hsync_base_move(struct hsync *s, const char *from, const char *to);
void hsync_base_clear(struct hsync *s);
/* Loads the state (a missing or damaged file: an empty base and a new
 * epoch). Returns 0 or -errno. */
int hsync_state_load(struct hsync *s);
int hsync_state_save(struct hsync *s);
/* Base entries with something on the host (for the guard and limits). */
size_t hsync_base_count(const struct hsync *s);

/* ---- meta helpers (apply.c) ---- */
void hsync_meta(const struct stat *st, struct sync_meta *m);
/* What is at path on the host now (NONE if nothing). target gets a
 * link's target if not NULL. */
void hsync_current(struct hsync *s, const char *path, struct sync_meta *m,
		   char *target, size_t tsize);
/* Same for decisions: kind, and for files mode, size, mtime; for links
 * size and mtime; for directories the kind only. */
bool hsync_same(const struct sync_meta *a, const struct sync_meta *b);
/* The content hash of a host file or link target (0 if unreadable). */
uint64_t hsync_hash_path(struct hsync *s, const char *path, const struct sync_meta *m);

/* ---- apply.c: what the guest sends ---- */
void hsync_guest_msg(struct hsync *s, const struct sync_msg *m);
/* Applies (or holds) the pending guest deletions now. */
void hsync_deletions(struct hsync *s, bool now);
/* A directory, link or file already on hand (the listing): the same path
 * a CHANGE takes, without content. */
void hsync_apply_entry(struct hsync *s, const char *path, const struct sync_meta *g,
		       const char *target);
void hsync_apply_close(struct hsync *s);

/* ---- push.c: the host's changes to the guest ---- */
void hsync_dirty(struct hsync *s, const char *path);
void hsync_push_reply(struct hsync *s, const struct sync_msg *m);
/* Does what is due; true if more can be done without waiting. */
bool hsync_push_pump(struct hsync *s);
int64_t hsync_push_deadline(const struct hsync *s);
void hsync_push_close(struct hsync *s);
/* Queues a whole frame for the guest. */
bool hsync_send(struct hsync *s, const struct sync_msg *m);

/* ---- reconcile.c ---- */
void hsync_listing_entry(struct hsync *s, const struct sync_msg *m);
void hsync_reconcile(struct hsync *s);
/* The FLUSH barriers, sent when due; true if one went. */
bool hsync_reconcile_pump(struct hsync *s);
/* FLUSHED arrived. */
void hsync_flushed(struct hsync *s, uint32_t seq);

/* ---- ctl.c: the supervisor ---- */
void hsync_ctl_say(struct hsync *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Reads the supervisor's requests ("finish", "flush"); false once it
 * is gone. */
bool hsync_ctl_read(struct hsync *s);

#endif
