/* airlock-sync: the host end of the workspace sync (sync.h, docs/sync.md).
 * Started by the supervisor with its descriptors already open and their
 * numbers on the command line; it opens nothing by path but under them.
 * It reads its settings, opens the log and the last synced state, installs
 * its seccomp filter, then runs one event loop until the supervisor says
 * "finish" (or a side goes away). Exit: 0 after a clean finish, 1 if the
 * sync ended early (the supervisor was told why), 2 on bad usage. */
#include "tools/sync/quarantine.h"
#include "tools/sync/filter.h"
#include "tools/sync/sync.h"
#include "lib/clock.h"
#include "lib/size.h"
#include "lib/sendq.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGRESS_MS 250
#define RBUF_SIZE (256u * 1024)
#define IGNORE_FILE_MAX (1u << 20)
#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char usage[] =
	"usage: airlock-sync --project-fd N --state-fd N --guest-fd N --control-fd N\n"
	"                    --root PATH [--exclude PATTERN]... [--max-file SIZE]\n"
	"                    [--max-total SIZE] [--max-files N]\n"
	"Started by `airlock run`: see docs/sync.md.\n";

static int fd_arg(const char *s, int *fd)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end || v < 0 || v > 1 << 20)
		return -EINVAL;
	*fd = (int)v;
	return 0;
}

/* The patterns: .airlockignore from the project (read here, on the host)
 * and every --exclude, kept as lines for the guest too. */
static int add_ignore(struct hsync *s, const char *line, size_t len)
{
	char **l = realloc(s->ignore_lines, (s->nignore + 1) * sizeof(*l));

	if (!l)
		return -ENOMEM;
	s->ignore_lines = l;
	if (len == 0 || len > SYNC_MAX_PATTERN || sync_path_printable(line, len) ||
	    memchr(line, 0, len) || line[0] == '#')
		return pathmatch_add(&s->ignore, line, len);
	l[s->nignore] = strndup(line, len);
	if (!l[s->nignore])
		return -ENOMEM;
	s->nignore++;
	return pathmatch_add(&s->ignore, line, len);
}

static int read_ignore_file(struct hsync *s)
{
	char *buf;
	ssize_t n;
	size_t i = 0;
	int fd = safefs_open_read(s->project, ".airlockignore"), r = 0;

	if (fd < 0)
		return 0;
	buf = malloc(IGNORE_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, buf, IGNORE_FILE_MAX + 1);
	close(fd);
	if (n < 0 || n > IGNORE_FILE_MAX) {
		free(buf);
		return n < 0 ? -errno : -EFBIG;
	}
	while (i < (size_t)n && r == 0) {
		const char *nl = memchr(buf + i, '\n', (size_t)n - i);
		size_t len = nl ? (size_t)(nl - (buf + i)) : (size_t)n - i;

		if (len && buf[i + len - 1] == '\r')
			len--;
		r = add_ignore(s, buf + i, len);
		i = nl ? (size_t)(nl - buf) + 1 : (size_t)n;
	}
	free(buf);
	return r;
}

/* The per-project addition to protected.list: copied into the state
 * folder by the supervisor before the start. */
static char *read_extra(struct hsync *s, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	int fd = openat(s->state, "protected.local", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < IGNORE_FILE_MAX &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		ssize_t n = read(fd, buf, (size_t)st.st_size);

		*len = n > 0 ? (size_t)n : 0;
		buf[*len] = 0;
	}
	close(fd);
	return buf;
}

/* ---- the stream ---- */

static void fail(struct hsync *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct hsync *s, const char *fmt, ...)
{
	char text[600], esc[2400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	hsync_escape(text, esc, sizeof(esc));
	hsync_log(s, "error", NULL, "%s", esc);
	hsync_ctl_say(s, "error %s", esc);
	s->dead = true;
}

static void handle(struct hsync *s, const struct frame *f)
{
	struct sync_msg *m = &s->in;
	int r = sync_msg_decode(f->type, f->payload, f->len, m);

	if (r == -EPROTONOSUPPORT) {
		fail(s, "the sandbox speaks sync protocol %u, this airlock %u: the CLI "
		     "and the initramfs are from different builds", m->version,
		     SYNC_PROTO_VERSION);
		return;
	}
	if (r < 0) {
		fail(s, "the sandbox sent a malformed sync message (type 0x%02x: %s)",
		     f->type, strerror(-r));
		return;
	}
	if (sync_seq_to_host(&s->seq_in, m) < 0) {
		fail(s, "the sandbox sent a sync message out of order (type 0x%02x)", f->type);
		return;
	}
	switch (m->type) {
	case SYNC_MSG_FAIL:
		fail(s, "the sandbox cannot sync: %s", m->text);
		return;
	case SYNC_MSG_WELCOME:
		/* Its copy is not the one the base describes: compare with
		 * nothing, so nothing is taken for deleted. */
		if (memcmp(m->epoch, s->epoch, SYNC_EPOCH_LEN) != 0)
			hsync_base_clear(s);
		s->phase = H_LISTING;
		return;
	case SYNC_MSG_ENTRY:
		hsync_listing_entry(s, m);
		return;
	case SYNC_MSG_LIST_END:
		hsync_reconcile(s);
		return;
	default:
		hsync_guest_msg(s, m);
	}
}

static bool read_guest(struct hsync *s)
{
	bool progress = false;

	for (int reads = 0; !s->dead && s->rd && reads < 16; reads++) {
		const uint8_t *p;
		size_t left;
		ssize_t n;

		/* A guest that stops reading stops being read (its answers
		 * only ever add to our output). */
		if (s->o_len > 4 * HSYNC_OUT_HIGH)
			break;
		n = recv(s->guest, s->rbuf, RBUF_SIZE, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			s->rd = false;
			break;
		}
		if (n <= 0) {
			if (s->phase != H_DONE)
				fail(s, "the sandbox closed the sync stream%s",
				     s->phase < H_RUNNING ? " before the copy-in was done" : "");
			return true;
		}
		p = s->rbuf;
		left = (size_t)n;
		while (left && !s->dead) {
			struct frame f;
			int r = frame_decoder_next(s->dec, &p, &left, &f);

			if (r < 0) {
				fail(s, "the sandbox sent a malformed sync frame: %s", strerror(-r));
				break;
			}
			if (r == 0)
				break;
			handle(s, &f);
		}
		progress = true;
	}
	return progress;
}

static bool flush_out(struct hsync *s)
{
	int r = sendq_flush(s->guest, s->obuf, &s->o_off, &s->o_len, &s->wr);

	if (r < 0 && s->phase != H_DONE)
		fail(s, "the sync stream to the sandbox broke: %s",
		     r == -EPIPE ? "closed" : strerror(-r));
	return r != 0;
}

/* ---- the host's watcher ---- */

static void on_dirty(void *arg, const char *path)
{
	hsync_dirty(arg, path);
}

static void on_moved(void *arg, const char *from, const char *to, bool is_dir)
{
	(void)is_dir;
	hsync_dirty(arg, from);
	hsync_dirty(arg, to);
}

static void on_overflow(void *arg)
{
	((struct hsync *)arg)->dirty_all = true;
	hsync_dirty(arg, ".");	/* starts the debounce */
}

/* ---- the loop ---- */

static int timeout_ms(struct hsync *s, bool more)
{
	int64_t now = clock_ms(), best = -1, d[4];

	if (more)
		return 0;
	d[0] = hsync_push_deadline(s);
	d[1] = s->gone.count ? s->gone_last + HSYNC_DELETE_SETTLE_MS : -1;
	/* A save barrier waits for the end of a file or batch being sent
	 * (and for room): their own readiness brings the loop back. */
	d[2] = s->base_dirty && s->phase == H_RUNNING && !s->save_seq && s->src < 0 &&
	       s->ihbatch == s->nhbatch && s->o_len < HSYNC_OUT_HIGH ?
	       s->saved_ms + HSYNC_SAVE_MS : -1;
	d[3] = s->copyin_active ? s->progress_ms + PROGRESS_MS : -1;
	for (int i = 0; i < 4; i++) {
		if (d[i] < 0)
			continue;
		if (best < 0 || d[i] < best)
			best = d[i];
	}
	if (best < 0)
		return -1;
	return best <= now ? 0 : (int)(best - now > 60000 ? 60000 : best - now);
}

/* The last thing said: once the supervisor has read it, nothing of ours
 * touches the sandbox's folder any more (the log line, which may rotate
 * the log, comes first), so a --rm run removes the folder at once. */
static void summary(struct hsync *s)
{
	hsync_log(s, "summary", NULL, "%llu in, %llu back, %llu held, %llu conflicts, "
		  "%llu refused", (unsigned long long)s->count.in_files,
		  (unsigned long long)s->count.back, (unsigned long long)s->count.held,
		  (unsigned long long)s->count.conflicts,
		  (unsigned long long)s->count.refused);
	if (s->log)
		fflush(s->log);
	hsync_ctl_say(s, "summary in=%llu back=%llu held=%llu conflicts=%llu refused=%llu "
		      "stripped=%llu", (unsigned long long)s->count.in_files,
		      (unsigned long long)s->count.back, (unsigned long long)s->count.held,
		      (unsigned long long)s->count.conflicts,
		      (unsigned long long)s->count.refused,
		      (unsigned long long)s->count.stripped);
}

static int run(struct hsync *s)
{
	struct fswatch_cb cb = { on_dirty, on_moved, on_overflow, s };
	struct epoll_event ev, evs[8];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	bool more = false, ino_added = false;

	if (ep < 0)
		return -errno;
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
				   .data.u32 = 0 };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->guest, &ev) < 0)
		return -errno;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 1 };
	if (s->ctl >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s->ctl, &ev) < 0)
		return -errno;
	s->rd = s->wr = true;
	while (!s->dead && s->phase != H_DONE) {
		int n = epoll_wait(ep, evs, 8, timeout_ms(s, more));
		bool progress = true;

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case 0:
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
					s->rd = true;
				if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
					s->wr = true;
				break;
			case 1:
				if (!hsync_ctl_read(s)) {
					/* The supervisor is gone. The state stays as the
					 * last barrier left it (reconcile.c says why). */
					return -EPIPE;
				}
				break;
			default:
				fswatch_drain(&s->fw, &cb);
				break;
			}
		}
		if (s->watching && !ino_added) {
			ev = (struct epoll_event){ .events = EPOLLIN, .data.u32 = 2 };
			ino_added = epoll_ctl(ep, EPOLL_CTL_ADD, s->fw.ifd, &ev) == 0;
		}
		for (int round = 0; progress && round < 8 && !s->dead; round++) {
			progress = flush_out(s);
			progress |= read_guest(s);
			hsync_deletions(s, false);
			hsync_push_pump(s);
			progress |= hsync_reconcile_pump(s);
			progress |= flush_out(s);
		}
		more = progress;
		if (s->copyin_active && clock_ms() >= s->progress_ms + PROGRESS_MS) {
			s->progress_ms = clock_ms();
			hsync_ctl_say(s, "progress %llu %llu", (unsigned long long)s->copyin_done,
				      (unsigned long long)s->copyin_total);
		}

	}
	/* What is queued for the guest (EPOCH, the last answers) goes out. */
	for (int i = 0; i < 100 && s->o_len && !s->dead; i++) {
		s->wr = true;
		if (!flush_out(s))
			clock_sleep_ms(10);
	}
	close(ep);
	return s->dead ? -EIO : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "project-fd", required_argument, NULL, 'p' },
		{ "state-fd", required_argument, NULL, 's' },
		{ "guest-fd", required_argument, NULL, 'g' },
		{ "control-fd", required_argument, NULL, 'c' },
		{ "root", required_argument, NULL, 'r' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "max-file", required_argument, NULL, 'F' },
		{ "max-total", required_argument, NULL, 'T' },
		{ "max-files", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct hsync hs;
	static struct frame_decoder dec;
	struct hsync *s = &hs;
	struct sync_msg *m;
	char err[256], *extra;
	const char **excludes = calloc((size_t)argc + 1, sizeof(*excludes));
	size_t nex = 0, elen;
	struct stat st;
	int opt, r;

	hsync_init(s);
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		uint64_t v;

		switch (opt) {
		case 'p':
		case 's':
		case 'g':
		case 'c':
			if (fd_arg(optarg, opt == 'p' ? &s->project : opt == 's' ? &s->state :
				   opt == 'g' ? &s->guest : &s->ctl) < 0) {
				fprintf(stderr, "airlock-sync: bad descriptor '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			snprintf(s->root, sizeof(s->root), "%s", optarg);
			break;
		case 'x':
			if (excludes)
				excludes[nex++] = optarg;
			break;
		case 'F':
		case 'T':
		case 'N':
			if (size_parse(optarg, 1, 1ull << 50, &v) < 0 || v == 0) {
				fprintf(stderr, "airlock-sync: bad limit '%s'\n", optarg);
				return EXIT_USAGE;
			}
			*(opt == 'F' ? &s->lim.max_file : opt == 'T' ? &s->lim.max_total :
			  &s->lim.max_files) = v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (s->project < 0 || s->state < 0 || s->guest < 0 || !s->root[0] || !excludes) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	if (fstat(s->project, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    fstat(s->state, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    fstat(s->guest, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "airlock-sync: the project and state descriptors must be "
			"folders and the guest's a socket\n");
		return EXIT_USAGE;
	}
	snprintf(s->key, sizeof(s->key), "%016llx",
		 (unsigned long long)hash64(s->root, strlen(s->root)));
	hsync_log_open(s);
	r = read_ignore_file(s);
	for (size_t i = 0; r == 0 && i < nex; i++)
		r = add_ignore(s, excludes[i], strlen(excludes[i]));
	extra = read_extra(s, &elen);
	if (r == 0)
		r = quarantine_rules_load(s, extra, elen);
	free(extra);
	if (r == 0)
		r = hsync_state_load(s);
	s->rbuf = malloc(RBUF_SIZE);
	s->dec = &dec;
	if (r < 0 || !s->rbuf) {
		hsync_ctl_say(s, "error cannot start the sync: %s", strerror(r < 0 ? -r : ENOMEM));
		return EXIT_FAILED;
	}
	frame_decoder_init(s->dec, sync_type_to_host);
	sync_seq_init(&s->seq_in);
	/* No core file: it would hold project contents and the guest's. */
	if (setrlimit(RLIMIT_CORE, &(const struct rlimit){ 0, 0 }) < 0) {
		hsync_ctl_say(s, "error cannot turn core files off: %s", strerror(errno));
		return EXIT_FAILED;
	}
	r = hsync_seccomp_install(s->guest, s->ctl, err, sizeof(err));
	if (r < 0) {
		hsync_ctl_say(s, "error %s", err);
		return EXIT_FAILED;
	}

	m = &s->out;
	m->type = SYNC_MSG_HELLO;
	memcpy(m->key, s->key, sizeof(m->key));
	snprintf(m->text, sizeof(m->text), "%s", s->root);
	if (!hsync_send(s, m)) {
		hsync_ctl_say(s, "error the workspace path cannot be sent to the sandbox");
		return EXIT_FAILED;
	}
	for (size_t i = 0; i < s->nignore; i++) {
		m->type = SYNC_MSG_IGNORE;
		snprintf(m->text, sizeof(m->text), "%s", s->ignore_lines[i]);
		hsync_send(s, m);
	}
	m->type = SYNC_MSG_START;
	hsync_send(s, m);

	r = run(s);
	if (r == 0) {
		summary(s);
		return 0;
	}
	summary(s);
	return EXIT_FAILED;
}
