/* newc cpio writer: see cpio.h. Records are a 110-byte ASCII header, the
 * NUL-terminated name and the content, name and content each padded to a
 * multiple of 4 bytes from the start of the archive. */
#include "tools/cpio/cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CPIO_HDR_LEN 110
#define CPIO_TRAILER "TRAILER!!!"
#define CPIO_BLOCK 512

struct cpio_writer {
	cpio_write_fn fn;
	void *ctx;
	int fd;			/* for cpio_writer_new_fd's sink */
	bool gzip;
	z_stream zs;
	int error;		/* sticky: first failure, as -errno */
	bool finished;
	uint64_t offset;	/* uncompressed bytes so far, for padding */
	uint32_t next_ino;
	unsigned char zbuf[64 * 1024];
};

static int fd_write(void *ctx, const void *buf, size_t len)
{
	struct cpio_writer *w = ctx;
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cpio_membuf_write(void *ctx, const void *buf, size_t len)
{
	struct cpio_membuf *m = ctx;

	if (len > SIZE_MAX - m->len)
		return -ENOMEM;
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap : 4096;
		unsigned char *p;

		while (cap < m->len + len) {
			if (cap > SIZE_MAX / 2)
				return -ENOMEM;
			cap *= 2;
		}
		p = realloc(m->data, cap);
		if (!p)
			return -ENOMEM;
		m->data = p;
		m->cap = cap;
	}
	memcpy(m->data + m->len, buf, len);
	m->len += len;
	return 0;
}

int cpio_writer_new(struct cpio_writer **out, cpio_write_fn fn, void *ctx,
		    unsigned flags)
{
	struct cpio_writer *w;

	if (!fn || (flags & ~CPIO_GZIP))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	w->fd = -1;
	w->next_ino = 1;
	if (flags & CPIO_GZIP) {
		/* windowBits 15 + 16 asks for a gzip wrapper; zlib writes
		 * mtime 0 in its header, so the output stays reproducible. */
		if (deflateInit2(&w->zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16,
				 9, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(w);
			return -ENOMEM;
		}
		w->gzip = true;
	}
	*out = w;
	return 0;
}

int cpio_writer_new_fd(struct cpio_writer **out, int fd, unsigned flags)
{
	int ret;

	if (fd < 0)
		return -EBADF;
	ret = cpio_writer_new(out, fd_write, NULL, flags);
	if (ret < 0)
		return ret;
	(*out)->ctx = *out;
	(*out)->fd = fd;
	return 0;
}

void cpio_writer_free(struct cpio_writer *w)
{
	if (!w)
		return;
	if (w->gzip)
		deflateEnd(&w->zs);
	free(w);
}

/* Feed len bytes through the compressor to the sink. flush is
 * Z_NO_FLUSH or Z_FINISH. */
static int deflate_out(struct cpio_writer *w, const void *buf, size_t len,
		       int flush)
{
	int zret;

	w->zs.next_in = (unsigned char *)buf;
	/* avail_in is 32 bits: callers never pass more than 64 KiB at once. */
	w->zs.avail_in = (uInt)len;
	do {
		size_t have;

		w->zs.next_out = w->zbuf;
		w->zs.avail_out = sizeof(w->zbuf);
		zret = deflate(&w->zs, flush);
		if (zret == Z_STREAM_ERROR)
			return -EIO;
		have = sizeof(w->zbuf) - w->zs.avail_out;
		if (have > 0) {
			int ret = w->fn(w->ctx, w->zbuf, have);

			if (ret < 0)
				return ret;
		}
	} while (w->zs.avail_out == 0 ||
		 (flush == Z_FINISH && zret != Z_STREAM_END));
	return 0;
}

static int emit(struct cpio_writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int ret = 0;

	if (w->error)
		return w->error;
	while (len > 0) {
		size_t chunk = len > 65536 ? 65536 : len;

		ret = w->gzip ? deflate_out(w, p, chunk, Z_NO_FLUSH) :
				w->fn(w->ctx, p, chunk);
		if (ret < 0)
			break;
		w->offset += chunk;
		p += chunk;
		len -= chunk;
	}
	if (ret < 0)
		w->error = ret;
	return ret;
}

static int pad(struct cpio_writer *w, unsigned align)
{
	static const unsigned char zeros[CPIO_BLOCK];
	size_t n = (size_t)((align - w->offset % align) % align);

	return n ? emit(w, zeros, n) : 0;
}

bool cpio_path_valid(const char *path, size_t len)
{
	size_t i = 0;

	if (!path || memchr(path, '\0', len))
		return false;
	while (i < len && path[i] == '/')
		i++;
	if (i == len || len - i >= CPIO_PATH_MAX)
		return false;
	while (i < len) {
		size_t start = i;

		while (i < len && path[i] != '/')
			i++;
		if (i - start == 2 && path[start] == '.' && path[start + 1] == '.')
			return false;
		i++;
	}
	return true;
}

/* Header plus name; the caller writes filesize bytes of content and pads. */
static int put_header(struct cpio_writer *w, const char *path, uint32_t ino,
		      uint32_t mode, unsigned uid, unsigned gid, uint32_t nlink,
		      uint64_t filesize, unsigned rmajor, unsigned rminor)
{
	char hdr[CPIO_HDR_LEN + 1];
	size_t namesize;
	int n, ret;

	if (w->error)
		return w->error;
	if (w->finished)
		return -EINVAL;
	if (filesize > UINT32_MAX)
		return -EFBIG;
	while (*path == '/')
		path++;
	namesize = strlen(path) + 1;
	n = snprintf(hdr, sizeof(hdr),
		     "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		     ino, mode, uid, gid, nlink, 0u /* mtime */,
		     (unsigned)filesize, 0u, 0u, rmajor, rminor,
		     (unsigned)namesize, 0u /* check: newc has none */);
	if (n != CPIO_HDR_LEN)
		return -EINVAL;
	ret = emit(w, hdr, CPIO_HDR_LEN);
	if (ret == 0)
		ret = emit(w, path, namesize);
	if (ret == 0)
		ret = pad(w, 4);
	return ret;
}

static int check_record(const char *path, unsigned perm)
{
	if (!path || !cpio_path_valid(path, strlen(path)))
		return -EINVAL;
	if (perm & ~07777u)
		return -EINVAL;
	return 0;
}

int cpio_add_dir(struct cpio_writer *w, const char *path, unsigned perm,
		 unsigned uid, unsigned gid)
{
	int ret = check_record(path, perm);

	if (ret < 0)
		return ret;
	return put_header(w, path, w->next_ino++, S_IFDIR | perm, uid, gid, 2,
			  0, 0, 0);
}

int cpio_add_file_mem(struct cpio_writer *w, const char *path, const void *data,
		      size_t len, unsigned perm, unsigned uid, unsigned gid)
{
	int ret = check_record(path, perm);

	if (ret < 0)
		return ret;
	if (len > 0 && !data)
		return -EINVAL;
	ret = put_header(w, path, w->next_ino++, S_IFREG | perm, uid, gid, 1,
			 len, 0, 0);
	if (ret == 0 && len > 0)
		ret = emit(w, data, len);
	if (ret == 0)
		ret = pad(w, 4);
	return ret;
}

int cpio_add_file_path(struct cpio_writer *w, const char *path,
		       const char *hostpath, unsigned perm, unsigned uid,
		       unsigned gid)
{
	unsigned char buf[65536];
	struct stat st;
	uint64_t left;
	int fd, ret = check_record(path, perm);

	if (ret < 0)
		return ret;
	fd = open(hostpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	ret = put_header(w, path, w->next_ino++, S_IFREG | perm, uid, gid, 1,
			 (uint64_t)st.st_size, 0, 0);
	if (ret < 0)
		goto out;
	/* The header already promised st_size bytes: a file that shrinks or
	 * grows meanwhile would corrupt the archive, so it is an error. */
	for (left = (uint64_t)st.st_size; left > 0;) {
		ssize_t n = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto fail;
		}
		ret = emit(w, buf, (size_t)n);
		if (ret < 0)
			goto out;
		left -= (uint64_t)n;
	}
	if (read(fd, buf, 1) != 0) {
		ret = -EIO;
		goto fail;
	}
	ret = pad(w, 4);
	goto out;
fail:
	w->error = ret;
out:
	close(fd);
	return ret;
}

int cpio_add_symlink(struct cpio_writer *w, const char *path,
		     const char *target, unsigned perm, unsigned uid,
		     unsigned gid)
{
	size_t tlen;
	int ret = check_record(path, perm);

	if (ret < 0)
		return ret;
	/* The target is content, not a name in the archive: ".." is fine. */
	if (!target || !(tlen = strlen(target)) || tlen >= CPIO_PATH_MAX)
		return -EINVAL;
	ret = put_header(w, path, w->next_ino++, S_IFLNK | perm, uid, gid, 1,
			 tlen, 0, 0);
	if (ret == 0)
		ret = emit(w, target, tlen);
	if (ret == 0)
		ret = pad(w, 4);
	return ret;
}

int cpio_add_node(struct cpio_writer *w, const char *path, char type,
		  unsigned perm, unsigned uid, unsigned gid, unsigned major,
		  unsigned minor)
{
	int ret = check_record(path, perm);

	if (ret < 0)
		return ret;
	if (type != 'c' && type != 'b')
		return -EINVAL;
	/* Linux dev_t: 12-bit major, 20-bit minor. */
	if (major > 0xfff || minor > 0xfffff)
		return -EINVAL;
	return put_header(w, path, w->next_ino++,
			  (type == 'c' ? S_IFCHR : S_IFBLK) | perm, uid, gid, 1,
			  0, major, minor);
}

int cpio_finish(struct cpio_writer *w)
{
	int ret;

	if (w->finished)
		return -EINVAL;
	/* Like GNU cpio and gen_init_cpio: inode 0, one link. */
	ret = put_header(w, CPIO_TRAILER, 0, 0, 0, 0, 1, 0, 0, 0);
	if (ret == 0)
		ret = pad(w, CPIO_BLOCK);
	if (ret == 0 && w->gzip) {
		ret = deflate_out(w, NULL, 0, Z_FINISH);
		if (ret < 0)
			w->error = ret;
	}
	if (ret == 0)
		w->finished = true;
	return ret;
}
