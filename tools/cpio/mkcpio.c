/* mkcpio: build a newc cpio archive (an initramfs) from a manifest in the
 * kernel's gen_init_cpio format, without root. Writes a temporary file next
 * to OUT and renames it, so a failed run leaves no partial archive behind. */
#include "tools/cpio/cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FIELDS 9

static const char usage[] =
	"usage: mkcpio OUT [MANIFEST]\n"
	"Writes a newc cpio archive to OUT (gzip if OUT ends in .gz) from MANIFEST\n"
	"(standard input if omitted), one entry a line:\n"
	"  dir PATH MODE UID GID\n"
	"  file PATH HOSTPATH MODE UID GID\n"
	"  nod PATH MODE UID GID c|b MAJOR MINOR\n"
	"  slink PATH TARGET MODE UID GID\n"
	"MODE is octal; '#' starts a comment line. Exit status: 0 done, 1 cannot\n"
	"write OUT, 2 bad usage or manifest.\n";

struct mkcpio {
	const char *manifest_name;
	unsigned long line;
	int out_fd;
	int out_errno;		/* set when the failure was writing OUT */
};

static void line_error(const struct mkcpio *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line_error(const struct mkcpio *m, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mkcpio: %s:%lu: ", m->manifest_name, m->line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int out_write(void *ctx, const void *buf, size_t len)
{
	struct mkcpio *m = ctx;
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(m->out_fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			m->out_errno = errno;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Whole-string unsigned number in base 8 or 10, at most max. */
static int parse_num(const char *s, int base, unsigned long max,
		     unsigned *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* MODE UID GID starting at f[0]. */
static int parse_attrs(const struct mkcpio *m, char **f, unsigned *mode,
		       unsigned *uid, unsigned *gid)
{
	if (parse_num(f[0], 8, 07777, mode) < 0) {
		line_error(m, "bad mode '%s' (octal permission bits, at most 7777)",
			   f[0]);
		return -EINVAL;
	}
	if (parse_num(f[1], 10, UINT_MAX, uid) < 0 ||
	    parse_num(f[2], 10, UINT_MAX, gid) < 0) {
		line_error(m, "bad uid/gid '%s %s' (decimal numbers)", f[1],
			   f[2]);
		return -EINVAL;
	}
	return 0;
}

/* One manifest entry, split into nf fields. Returns 0, or -errno after
 * printing a message. */
static int add_entry(struct mkcpio *m, struct cpio_writer *w, char **f,
		     int nf)
{
	static const struct {
		const char *type;
		int nf;
		const char *syntax;
	} kinds[] = {
		{ "dir", 5, "dir PATH MODE UID GID" },
		{ "file", 6, "file PATH HOSTPATH MODE UID GID" },
		{ "nod", 8, "nod PATH MODE UID GID c|b MAJOR MINOR" },
		{ "slink", 6, "slink PATH TARGET MODE UID GID" },
	};
	unsigned mode, uid, gid, major, minor;
	size_t k;
	int ret;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(f[0], kinds[k].type))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0])) {
		line_error(m, "unknown entry type '%s' (dir, file, nod or slink)",
			   f[0]);
		return -EINVAL;
	}
	if (nf != kinds[k].nf) {
		line_error(m, "%d fields, expected: %s", nf, kinds[k].syntax);
		return -EINVAL;
	}
	if (!cpio_path_valid(f[1], strlen(f[1]))) {
		line_error(m, "bad path '%s' (empty, '..' component or too long)",
			   f[1]);
		return -EINVAL;
	}

	switch (f[0][0]) {
	case 'd':
		ret = parse_attrs(m, f + 2, &mode, &uid, &gid);
		if (ret == 0)
			ret = cpio_add_dir(w, f[1], mode, uid, gid);
		break;
	case 'f':
		ret = parse_attrs(m, f + 3, &mode, &uid, &gid);
		if (ret < 0)
			break;
		ret = cpio_add_file_path(w, f[1], f[2], mode, uid, gid);
		if (ret == -EINVAL)
			line_error(m, "'%s' is not a regular file", f[2]);
		else if (ret < 0 && !m->out_errno)
			line_error(m, "cannot read '%s': %s", f[2],
				   strerror(-ret));
		break;
	case 'n':
		ret = parse_attrs(m, f + 2, &mode, &uid, &gid);
		if (ret < 0)
			break;
		if (strcmp(f[5], "c") != 0 && strcmp(f[5], "b") != 0) {
			line_error(m, "bad node type '%s' (c or b)", f[5]);
			return -EINVAL;
		}
		if (parse_num(f[6], 10, 0xfff, &major) < 0 ||
		    parse_num(f[7], 10, 0xfffff, &minor) < 0) {
			line_error(m, "bad device number '%s %s'", f[6], f[7]);
			return -EINVAL;
		}
		ret = cpio_add_node(w, f[1], f[5][0], mode, uid, gid, major,
				    minor);
		break;
	default:
		ret = parse_attrs(m, f + 3, &mode, &uid, &gid);
		if (ret < 0)
			break;
		ret = cpio_add_symlink(w, f[1], f[2], mode, uid, gid);
		if (ret == -EINVAL)
			line_error(m, "bad symlink target '%s'", f[2]);
		break;
	}
	return ret;
}

static int process(struct mkcpio *m, FILE *in, struct cpio_writer *w)
{
	char *line = NULL, *f[MAX_FIELDS + 1];
	size_t cap = 0;
	ssize_t len;
	int ret = 0;

	while ((len = getline(&line, &cap, in)) >= 0) {
		char *save = NULL, *tok;
		int nf = 0;

		m->line++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (strlen(line) != (size_t)len) {
			line_error(m, "NUL byte in line");
			ret = -EINVAL;
			break;
		}
		for (tok = strtok_r(line, " \t\r", &save); tok && nf <= MAX_FIELDS;
		     tok = strtok_r(NULL, " \t\r", &save))
			f[nf++] = tok;
		if (nf == 0 || f[0][0] == '#')
			continue;
		if (nf > MAX_FIELDS) {
			line_error(m, "too many fields");
			ret = -EINVAL;
			break;
		}
		ret = add_entry(m, w, f, nf);
		if (ret < 0)
			break;
	}
	if (ret == 0 && ferror(in)) {
		fprintf(stderr, "mkcpio: reading %s: %s\n", m->manifest_name,
			strerror(errno));
		ret = -EIO;
	}
	free(line);
	return ret;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

int main(int argc, char **argv)
{
	struct mkcpio m = { .out_fd = -1 };
	struct cpio_writer *w = NULL;
	const char *out;
	char *tmp = NULL;
	FILE *in = stdin;
	struct stat st;
	mode_t mask;
	int ret, status = 2;

	if (argc < 2 || argc > 3 || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "--help")) {
		fputs(usage, argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : 2;
	}
	out = argv[1];
	m.manifest_name = argc == 3 ? argv[2] : "<stdin>";
	if (argc == 3 && !(in = fopen(argv[2], "re"))) {
		fprintf(stderr, "mkcpio: cannot open manifest %s: %s\n", argv[2],
			strerror(errno));
		return 2;
	}

	/* The rename at the end replaces OUT: never a device or a directory. */
	if (lstat(out, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
		fprintf(stderr, "mkcpio: %s exists and is not a regular file\n",
			out);
		status = 1;
		goto out;
	}
	if (asprintf(&tmp, "%s.tmpXXXXXX", out) < 0) {
		fprintf(stderr, "mkcpio: out of memory\n");
		goto out;
	}
	m.out_fd = mkostemp(tmp, O_CLOEXEC);
	if (m.out_fd < 0) {
		fprintf(stderr, "mkcpio: cannot create %s: %s\n", tmp,
			strerror(errno));
		free(tmp);
		tmp = NULL;
		status = 1;
		goto out;
	}
	/* mkstemp makes 0600; give the archive the mode a plain creat would. */
	mask = umask(0);
	umask(mask);
	if (fchmod(m.out_fd, 0666 & ~mask) < 0) {
		fprintf(stderr, "mkcpio: chmod %s: %s\n", tmp, strerror(errno));
		status = 1;
		goto out;
	}

	ret = cpio_writer_new(&w, out_write, &m,
			      ends_with(out, ".gz") ? CPIO_GZIP : 0);
	if (ret < 0) {
		fprintf(stderr, "mkcpio: %s\n", strerror(-ret));
		goto out;
	}
	ret = process(&m, in, w);
	if (ret == 0)
		ret = cpio_finish(w);
	if (ret == 0 && fsync(m.out_fd) < 0)
		m.out_errno = errno;
	if (m.out_errno) {
		fprintf(stderr, "mkcpio: writing %s: %s\n", out,
			strerror(m.out_errno));
		status = 1;
		goto out;
	}
	if (ret < 0)
		goto out;
	if (close(m.out_fd) < 0) {
		m.out_fd = -1;
		fprintf(stderr, "mkcpio: writing %s: %s\n", out, strerror(errno));
		status = 1;
		goto out;
	}
	m.out_fd = -1;
	if (rename(tmp, out) < 0) {
		fprintf(stderr, "mkcpio: rename %s to %s: %s\n", tmp, out,
			strerror(errno));
		status = 1;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	status = 0;
out:
	cpio_writer_free(w);
	if (m.out_fd >= 0)
		close(m.out_fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (in != stdin)
		fclose(in);
	return status;
}
