/* tools/cpio: archives written to memory are parsed back record by record
 * (header fields, names, padding, trailer), gzip output inflates to the same
 * bytes, bad paths are refused, and GNU cpio lists what we wrote. */
#include "tools/cpio/cpio.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

struct rec {
	unsigned ino, mode, uid, gid, nlink, mtime, filesize;
	unsigned devmajor, devminor, rdevmajor, rdevminor, namesize, check;
	const char *name;
	const unsigned char *data;
};

/* Parses the record at *off, checking what newc demands of every record:
 * magic, hex fields, NUL-terminated name, zero padding to 4 bytes. */
static bool parse_rec(const unsigned char *buf, size_t len, size_t *off,
		      struct rec *r)
{
	unsigned *fields[] = { &r->ino, &r->mode, &r->uid, &r->gid, &r->nlink,
			       &r->mtime, &r->filesize, &r->devmajor,
			       &r->devminor, &r->rdevmajor, &r->rdevminor,
			       &r->namesize, &r->check };
	size_t p = *off;

	if (p % 4 || len - p < 110 || memcmp(buf + p, "070701", 6) != 0)
		return false;
	for (size_t i = 0; i < 13; i++) {
		char hex[9], *end;

		memcpy(hex, buf + p + 6 + 8 * i, 8);
		hex[8] = '\0';
		*fields[i] = (unsigned)strtoul(hex, &end, 16);
		if (*end)
			return false;
	}
	p += 110;
	if (r->namesize == 0 || len - p < r->namesize ||
	    buf[p + r->namesize - 1] != '\0' ||
	    strlen((const char *)buf + p) != r->namesize - 1)
		return false;
	r->name = (const char *)buf + p;
	p += r->namesize;
	for (; p % 4; p++)
		if (p >= len || buf[p])
			return false;
	if (len - p < r->filesize)
		return false;
	r->data = buf + p;
	p += r->filesize;
	for (; p % 4; p++)
		if (p >= len || buf[p])
			return false;
	*off = p;
	return true;
}

/* The same small tree, into a fresh writer; returns the bytes. */
static int build_sample(struct cpio_membuf *m, unsigned flags)
{
	struct cpio_writer *w;
	int ret;

	ret = cpio_writer_new(&w, cpio_membuf_write, m, flags);
	if (ret < 0)
		return ret;
	if ((ret = cpio_add_dir(w, "/dev", 0755, 0, 0)) ||
	    (ret = cpio_add_node(w, "/dev/console", 'c', 0600, 0, 0, 5, 1)) ||
	    (ret = cpio_add_node(w, "dev/sda", 'b', 0660, 0, 6, 8, 0)) ||
	    (ret = cpio_add_file_mem(w, "/init", "#!/bin/sh\n", 10, 0755, 0,
				     0)) ||
	    (ret = cpio_add_file_mem(w, "/empty", NULL, 0, 0644, 1000, 1000)) ||
	    (ret = cpio_add_symlink(w, "/bin/sh", "busybox", 0777, 0, 0)) ||
	    (ret = cpio_add_dir(w, "/tmp", 01777, 0, 0)))
		goto out;
	ret = cpio_finish(w);
out:
	cpio_writer_free(w);
	return ret;
}

TEST(records_parse_back)
{
	struct cpio_membuf m = { 0 };
	struct rec r;
	size_t off = 0;
	static const struct {
		const char *name;
		unsigned mode, uid, gid, nlink, size, rmaj, rmin;
		const char *data;
	} want[] = {
		{ "dev", 040755, 0, 0, 2, 0, 0, 0, "" },
		{ "dev/console", 020600, 0, 0, 1, 0, 5, 1, "" },
		{ "dev/sda", 060660, 0, 6, 1, 0, 8, 0, "" },
		{ "init", 0100755, 0, 0, 1, 10, 0, 0, "#!/bin/sh\n" },
		{ "empty", 0100644, 1000, 1000, 1, 0, 0, 0, "" },
		{ "bin/sh", 0120777, 0, 0, 1, 7, 0, 0, "busybox" },
		{ "tmp", 041777, 0, 0, 2, 0, 0, 0, "" },
	};

	CHECK_EQ(build_sample(&m, 0), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!parse_rec(m.data, m.len, &off, &r)) {
			CHECK(!"record parses");
			goto out;
		}
		CHECK_STR(r.name, want[i].name);
		CHECK_EQ(r.ino, i + 1);
		CHECK_EQ(r.mode, want[i].mode);
		CHECK_EQ(r.uid, want[i].uid);
		CHECK_EQ(r.gid, want[i].gid);
		CHECK_EQ(r.nlink, want[i].nlink);
		CHECK_EQ(r.mtime, 0);
		CHECK_EQ(r.filesize, want[i].size);
		CHECK_EQ(r.devmajor, 0);
		CHECK_EQ(r.devminor, 0);
		CHECK_EQ(r.rdevmajor, want[i].rmaj);
		CHECK_EQ(r.rdevminor, want[i].rmin);
		CHECK_EQ(r.namesize, strlen(want[i].name) + 1);
		CHECK_EQ(r.check, 0);
		CHECK(memcmp(r.data, want[i].data, r.filesize) == 0);
	}
	CHECK(parse_rec(m.data, m.len, &off, &r));
	CHECK_STR(r.name, "TRAILER!!!");
	CHECK_EQ(r.ino, 0);
	CHECK_EQ(r.mode, 0);
	CHECK_EQ(r.nlink, 1);
	CHECK_EQ(r.filesize, 0);
	/* After the trailer: zeros up to a 512-byte block, nothing more. */
	CHECK_EQ(m.len % 512, 0);
	for (; off < m.len; off++)
		CHECK_EQ(m.data[off], 0);
out:
	free(m.data);
}

TEST(header_bytes_exact)
{
	struct cpio_membuf m = { 0 };
	struct cpio_writer *w;
	/* A 1-byte file "a": 110-byte header, "a\0" (already 4-aligned at
	 * 112), content "x" and 3 bytes of padding. */
	static const char hdr[] =
		"070701" "00000001" "000081A4" "00000003" "00000004"
		"00000001" "00000000" "00000001" "00000000" "00000000"
		"00000000" "00000000" "00000002" "00000000" "a";

	CHECK_EQ(cpio_writer_new(&w, cpio_membuf_write, &m, 0), 0);
	CHECK_EQ(cpio_add_file_mem(w, "a", "x", 1, 0644, 3, 4), 0);
	CHECK_EQ(m.len, 116);
	CHECK(m.len >= sizeof(hdr) && memcmp(m.data, hdr, sizeof(hdr)) == 0);
	CHECK(m.len == 116 && m.data[112] == 'x' && !m.data[113] &&
	      !m.data[114] && !m.data[115]);
	CHECK_EQ(cpio_finish(w), 0);
	CHECK_EQ(cpio_finish(w), -EINVAL);
	CHECK_EQ(cpio_add_dir(w, "late", 0755, 0, 0), -EINVAL);
	cpio_writer_free(w);
	free(m.data);
}

TEST(reproducible)
{
	struct cpio_membuf a = { 0 }, b = { 0 };

	CHECK_EQ(build_sample(&a, CPIO_GZIP), 0);
	CHECK_EQ(build_sample(&b, CPIO_GZIP), 0);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	free(a.data);
	free(b.data);
}

TEST(gzip_inflates_to_same_bytes)
{
	struct cpio_membuf plain = { 0 }, gz = { 0 };
	unsigned char *out = NULL;
	z_stream zs = { 0 };

	CHECK_EQ(build_sample(&plain, 0), 0);
	CHECK_EQ(build_sample(&gz, CPIO_GZIP), 0);
	CHECK(gz.len > 10 && gz.data[0] == 0x1f && gz.data[1] == 0x8b);
	out = malloc(plain.len + 1);
	CHECK_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = gz.data;
	zs.avail_in = (uInt)gz.len;
	zs.next_out = out;
	zs.avail_out = (uInt)plain.len + 1;
	CHECK_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
	CHECK_EQ(zs.total_out, plain.len);
	CHECK_EQ(zs.avail_in, 0);
	CHECK(memcmp(out, plain.data, plain.len) == 0);
	inflateEnd(&zs);
	free(out);
	free(plain.data);
	free(gz.data);
}

TEST(file_from_host_path)
{
	char path[] = "/tmp/airlock-test-cpio-XXXXXX";
	unsigned char content[70000];
	struct cpio_membuf m = { 0 };
	struct cpio_writer *w;
	struct rec r;
	size_t off = 0;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	/* Larger than the writer's 64 KiB copy buffer, odd length. */
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (unsigned char)(i * 7 + 3);
	CHECK_EQ(write(fd, content, sizeof(content) - 1),
		 (long long)sizeof(content) - 1);
	close(fd);

	CHECK_EQ(cpio_writer_new(&w, cpio_membuf_write, &m, 0), 0);
	CHECK_EQ(cpio_add_file_path(w, "/big", path, 0640, 1, 2), 0);
	CHECK_EQ(cpio_add_file_path(w, "/missing", "/nonexistent/x", 0644, 0,
				    0), -ENOENT);
	CHECK_EQ(cpio_add_file_path(w, "/dir", "/tmp", 0644, 0, 0), -EINVAL);
	CHECK_EQ(cpio_finish(w), 0);
	cpio_writer_free(w);
	unlink(path);

	CHECK(parse_rec(m.data, m.len, &off, &r));
	CHECK_STR(r.name, "big");
	CHECK_EQ(r.mode, 0100640);
	CHECK_EQ(r.filesize, sizeof(content) - 1);
	CHECK(memcmp(r.data, content, sizeof(content) - 1) == 0);
	/* The refused files left no record: next is the trailer. */
	CHECK(parse_rec(m.data, m.len, &off, &r));
	CHECK_STR(r.name, "TRAILER!!!");
	free(m.data);
}

TEST(path_validation)
{
	CHECK(cpio_path_valid("a", 1));
	CHECK(cpio_path_valid("/usr/bin/[", 10));
	CHECK(cpio_path_valid("a/..b/c..", 9));
	CHECK(cpio_path_valid(".", 1));
	CHECK(!cpio_path_valid("", 0));
	CHECK(!cpio_path_valid("/", 1));
	CHECK(!cpio_path_valid("///", 3));
	CHECK(!cpio_path_valid("..", 2));
	CHECK(!cpio_path_valid("/..", 3));
	CHECK(!cpio_path_valid("../etc", 6));
	CHECK(!cpio_path_valid("a/../b", 6));
	CHECK(!cpio_path_valid("a/..", 4));
	CHECK(!cpio_path_valid("a\0b", 3));
	CHECK(!cpio_path_valid(NULL, 0));

	char *longp = malloc(CPIO_PATH_MAX + 1);
	memset(longp, 'a', CPIO_PATH_MAX);
	longp[CPIO_PATH_MAX] = '\0';
	CHECK(!cpio_path_valid(longp, CPIO_PATH_MAX));
	CHECK(cpio_path_valid(longp, CPIO_PATH_MAX - 1));
	free(longp);
}

TEST(refusals_write_nothing)
{
	struct cpio_membuf m = { 0 };
	struct cpio_writer *w;

	CHECK_EQ(cpio_writer_new(&w, cpio_membuf_write, &m, 0), 0);
	CHECK_EQ(cpio_add_dir(w, "", 0755, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_dir(w, "/", 0755, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_dir(w, "a/../../etc", 0755, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_dir(w, "a", 010755, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_file_mem(w, "..", "x", 1, 0644, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_file_mem(w, "f", NULL, 1, 0644, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_symlink(w, "l", "", 0777, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_symlink(w, "../l", "x", 0777, 0, 0), -EINVAL);
	CHECK_EQ(cpio_add_node(w, "n", 'p', 0600, 0, 0, 1, 1), -EINVAL);
	CHECK_EQ(cpio_add_node(w, "n", 'c', 0600, 0, 0, 4096, 1), -EINVAL);
	CHECK_EQ(cpio_add_node(w, "n", 'c', 0600, 0, 0, 1, 1u << 20), -EINVAL);
	CHECK_EQ(m.len, 0);
	/* A symlink may point upwards: the target is content, not a name. */
	CHECK_EQ(cpio_add_symlink(w, "l", "../lib", 0777, 0, 0), 0);
	CHECK(m.len > 0);
	cpio_writer_free(w);
	free(m.data);
	CHECK_EQ(cpio_writer_new(&w, cpio_membuf_write, &m, 2), -EINVAL);
	CHECK_EQ(cpio_writer_new(&w, NULL, &m, 0), -EINVAL);
}

static int failing_sink(void *ctx, const void *buf, size_t len)
{
	int *calls = ctx;

	(*calls)++;
	return -ENOSPC;
}

TEST(sink_error_is_sticky)
{
	struct cpio_writer *w;
	int calls = 0;

	CHECK_EQ(cpio_writer_new(&w, failing_sink, &calls, 0), 0);
	CHECK_EQ(cpio_add_dir(w, "a", 0755, 0, 0), -ENOSPC);
	CHECK_EQ(cpio_add_dir(w, "b", 0755, 0, 0), -ENOSPC);
	CHECK_EQ(cpio_finish(w), -ENOSPC);
	CHECK_EQ(calls, 1);
	cpio_writer_free(w);
}

static const char *find_cpio_tool(void)
{
	static const char *const paths[] = { "/usr/bin/cpio", "/bin/cpio" };

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

/* Listed in main() only when GNU cpio is installed, so that its absence
 * shows as a skip, never as a pass. */
TEST(gnu_cpio_lists_archive)
{
	static const char want[] =
		"dev\ndev/console\ndev/sda\ninit\nempty\nbin/sh\ntmp\n";
	char path[] = "/tmp/airlock-test-cpio-XXXXXX", cmd[128], got[512];
	struct cpio_membuf m = { 0 };
	size_t n = 0;
	FILE *p;
	int fd;

	CHECK_EQ(build_sample(&m, 0), 0);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	CHECK_EQ(write(fd, m.data, m.len), (long long)m.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s -it --quiet < %s 2>&1",
		 find_cpio_tool(), path);
	p = popen(cmd, "r");
	CHECK(p != NULL);
	if (p) {
		n = fread(got, 1, sizeof(got) - 1, p);
		CHECK_EQ(pclose(p), 0);
	}
	got[n] = '\0';
	CHECK_STR(got, want);
	unlink(path);
out:
	free(m.data);
}

int main(void)
{
	static const struct check_test tests[] = {
		TEST_ENTRY(records_parse_back),
		TEST_ENTRY(header_bytes_exact),
		TEST_ENTRY(reproducible),
		TEST_ENTRY(gzip_inflates_to_same_bytes),
		TEST_ENTRY(file_from_host_path),
		TEST_ENTRY(path_validation),
		TEST_ENTRY(refusals_write_nothing),
		TEST_ENTRY(sink_error_is_sticky),
		TEST_ENTRY(gnu_cpio_lists_archive),
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);

	if (!find_cpio_tool()) {
		printf("# SKIP gnu_cpio_lists_archive: cpio(1) not installed "
		       "(Debian package cpio); not counted as passed\n");
		n--;
	}
	return check_run(tests, n);
}
