/* airlock-init's sync service (port 1001, docs/sync.md): the guest end of
 * the workspace sync. One connection at a time, from the host only. It
 * sets up the workspace (sync_ws.c: a tree on the sandbox disk mounted at
 * the project's own path), lists it, applies what the host puts
 * (sync_apply.c), and watches it, sending the agent's changes back in
 * debounced batches (sync_send.c). The host is trusted no more than it
 * must be: every path it names is checked and resolved under the
 * workspace, never following a link, as on the host. */
#ifndef AIRLOCK_GUEST_SYNC_H
#define AIRLOCK_GUEST_SYNC_H

#include "guest/serve.h"
#include "lib/pathmap.h"
#include "lib/pathmatch.h"
#include "lib/safefs.h"
#include "lib/watch.h"
#include "proto/sync.h"

#include <limits.h>

/* A batch goes once nothing changed for DEBOUNCE_MS, or MAX_DELAY_MS
 * after its first change, whichever comes first. */
#define SYNC_DEBOUNCE_MS 15
#define SYNC_MAX_DELAY_MS 60
/* Output queued before file contents stop being read. */
#define SYNC_OUT_HIGH (512u * 1024)
/* The most the output may hold (a listing of a very large tree). */
#define SYNC_OUT_MAX (256u << 20)

/* What the guest last saw synced at a path. */
struct gentry {
	struct pathmap_node n;
	struct sync_meta meta;
};

/* A path to look at in the next batch. */
struct gdirty {
	struct pathmap_node n;
	bool force;		/* send even if unchanged (RESEND) */
};

struct gmove {
	char *from, *to;
	bool is_dir;
};

/* A directory whose mtime is put back once its contents are in. */
struct gdirtime {
	char *path;
	int64_t mtime;
};

struct gconn {
	struct gsync *svc;
	struct watch w;
	int fd;
	bool rd, wr, dead;
	struct frame_decoder dec;
	struct sync_seq seq_in;
	struct sync_msg msg;		/* the message being handled */
	struct sync_msg out;		/* the message being sent */
	uint8_t *rbuf;
	size_t r_off, r_len;
	uint8_t *obuf;
	size_t o_off, o_len, o_cap;

	enum { G_HELLO, G_IGNORES, G_RUN } state;
	char root_path[PATH_MAX];
	char key[SYNC_KEY_LEN + 1];
	int root;		/* the workspace tree, O_RDONLY | O_DIRECTORY */
	int store;		/* its store directory (epoch beside the tree) */
	struct pathmatch ignore;
	struct pathmap index;	/* path -> struct gentry */
	struct fswatch fw;
	struct watch w_ino;
	bool watching;

	/* Changes not sent yet. */
	struct pathmap dirty;	/* path -> struct gdirty */
	struct gmove *moves;
	size_t nmoves, cmoves;
	bool overflow;
	int64_t first_ms, last_ms;
	bool flush_wanted;
	uint32_t flush_seq;

	/* The batch being sent. */
	struct gdirty **batch;
	size_t nbatch, cbatch, ibatch;
	bool in_batch, batch_flush;
	uint32_t batch_flush_seq;
	int src;		/* a file being sent */
	uint64_t src_left;
	struct sync_meta src_meta;
	char src_path[SYNC_MAX_PATH + 1];

	/* The PUT being received. */
	bool put_active, put_discard;
	struct safefs_tmp put_tmp;
	const char *put_name;
	char put_path[SYNC_MAX_PATH + 1];
	struct sync_meta put_meta, put_expect;

	struct gdirtime *dirtimes;
	size_t ndirtimes, cdirtimes;
};

struct gsync {
	struct agent *a;
	struct gconn *conn;
	uid_t uid;
	gid_t gid;
	/* The host's changes were applied (or the epoch kept) since the
	 * last syncfs: not all of it is on the disk yet. */
	bool unsynced;
};

/* sync_conn.c */
/* Queues one message for the host; false if the output is over its
 * bound (the connection is then failed). */
bool gsync_send(struct gconn *c, const struct sync_msg *m);
/* Sends what is queued as far as the socket takes it now: true if any
 * went (or the connection broke: c->dead). */
bool gsync_flush(struct gconn *c);
/* Queues FAIL with errno and text, and ends the connection. */
void gsync_fail(struct gconn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The meta of what st describes. */
void gsync_meta(const struct stat *st, struct sync_meta *m);
/* Same for what is compared: kind, and mode, size and mtime except for a
 * directory, whose mtime moves with its contents. */
bool gsync_same(const struct sync_meta *a, const struct sync_meta *b);
struct gentry *gsync_index_get(struct gconn *c, const char *path);
int gsync_index_set(struct gconn *c, const char *path, const struct sync_meta *m);
void gsync_index_drop(struct gconn *c, const char *path);	/* and below */
void gsync_index_move(struct gconn *c, const char *from, const char *to);

/* sync_ws.c: makes the workspace for HELLO's root and key and opens it
 * (c->root, c->store). Returns 0, or -errno with why[] saying what. */
int gsync_ws_open(struct gconn *c, char *why, size_t size);
/* The epoch kept in the store (all 0 if none). */
void gsync_ws_epoch_get(struct gconn *c, uint8_t epoch[SYNC_EPOCH_LEN]);
int gsync_ws_epoch_set(struct gconn *c, const uint8_t epoch[SYNC_EPOCH_LEN]);

/* sync_apply.c: the host's messages in the running phase. */
void gsync_apply(struct gconn *c, const struct sync_msg *m);
/* Directory mtimes put back (after a FLUSH or EPOCH). */
void gsync_dirtimes(struct gconn *c);
void gsync_apply_close(struct gconn *c);

/* sync_send.c */
/* START: the watches, then WELCOME, the listing and LIST_END. */
int gsync_list(struct gconn *c);
/* Marks path to be looked at in the next batch. */
void gsync_dirty(struct gconn *c, const char *path, bool force);
/* Reads the watcher's events. */
void gsync_watch_event(struct watch *w, uint32_t events);
/* Sends what is due; true if it stopped with work left that can go on
 * without waiting (the output has room). */
bool gsync_send_pump(struct gconn *c);
/* When a batch is due (clock_ms()), or -1. */
int64_t gsync_send_deadline(const struct gconn *c);
void gsync_send_close(struct gconn *c);

#endif
