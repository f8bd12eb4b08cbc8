/* Opening what the options name: see files.h. A path is opened here; an
 * fd:N is checked to be what it claims (a regular file, a disk open for
 * writing, a listening Unix socket) so a caller's mistake is a clear
 * message, not a strange failure later. */
#include "vmm/files.h"
#include "vmm/diag.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_IMAGE (512ull << 20)	/* a kernel or initrd larger than this is a mistake */

const char *vmm_file_name(const struct vmm_file *f, char *buf, size_t size)
{
	if (f->path)
		return f->path;
	snprintf(buf, size, "fd:%d", f->fd);
	return buf;
}

/* The fd to use: the inherited one (must be open), or the path opened. */
static int get_fd(const struct vmm_file *f, int flags)
{
	if (f->path)
		return open(f->path, flags | O_CLOEXEC);
	if (fcntl(f->fd, F_GETFD) < 0)
		return -1;	/* errno EBADF: nothing was handed in there */
	return f->fd;
}

int vmm_open_image(const struct vmm_file *f, size_t *len, const char **why)
{
	struct stat st;
	int fd = get_fd(f, O_RDONLY), r = 0;

	if (fd < 0) {
		*why = strerror(errno);
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		*why = strerror(errno);
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		*why = "not a regular file";
	} else if (st.st_size == 0) {
		r = -EINVAL;
		*why = "the file is empty";
	} else if ((uint64_t)st.st_size > MAX_IMAGE) {
		r = -EFBIG;
		*why = "larger than 512 MiB: surely not a kernel or initrd";
	}
	if (r) {
		close(fd);
		return r;
	}
	*len = (size_t)st.st_size;
	return fd;
}

int vmm_open_disk(const struct vmm_disk *d, uint64_t *size)
{
	char nb[16];
	const char *name = vmm_file_name(&d->f, nb, sizeof(nb));
	struct stat st;
	int fd = get_fd(&d->f, d->ro ? O_RDONLY : O_RDWR), fl;

	if (fd < 0) {
		if (d->f.path && !d->ro && (errno == EACCES || errno == EROFS || errno == EPERM))
			vmm_msg("cannot open disk '%s' read-write: %s (add ,ro to attach it "
				"read-only)", name, strerror(errno));
		else
			vmm_msg("cannot open disk '%s': %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		vmm_msg("disk '%s' is not a regular file or block device", name);
		goto fail;
	}
	fl = fcntl(fd, F_GETFL);
	if (!d->ro && (fl < 0 || (fl & O_ACCMODE) != O_RDWR)) {
		vmm_msg("disk '%s' was not opened for writing: hand it in read-write, or "
			"add ,ro", name);
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0) {
			vmm_msg("disk '%s': cannot read its size: %s", name, strerror(errno));
			goto fail;
		}
	} else {
		*size = (uint64_t)st.st_size;
	}
	if (*size < 512) {
		vmm_msg("disk '%s' is smaller than one 512-byte sector", name);
		goto fail;
	}
	/* Shared for read-only use, exclusive for read-write: two VMs never
	 * write one disk. An fd:N shares its lock with whoever handed it in. */
	if (flock(fd, (d->ro ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		vmm_msg("disk '%s' is in use by another VM (%s)", name, strerror(errno));
		goto fail;
	}
	if (*size % 512)
		vmm_msg("note: disk '%s' is %llu bytes, not a multiple of 512: the guest "
			"sees only the whole sectors", name, (unsigned long long)*size);
	return fd;
fail:
	close(fd);
	return -1;
}

int vmm_open_console(const struct vmm_file *f)
{
	if (f->path)
		return open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	return fcntl(f->fd, F_GETFD) < 0 ? -1 : f->fd;
}

int vmm_check_listener(int fd)
{
	int v;
	socklen_t len = sizeof(v);

	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_UNIX)
		return -ENOTSOCK;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
		return -EINVAL;
	return 0;
}
