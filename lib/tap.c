/* See tap.h. */
#include "lib/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TAP_FLAGS (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)

int tap_open(const char *name, char ifname[IFNAMSIZ])
{
	struct ifreq ifr = { .ifr_flags = TAP_FLAGS };
	int fd, e;

	if (name && strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	if (name)
		strcpy(ifr.ifr_name, name);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	if (ifname)
		memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	return fd;
}

int tap_check(int fd, char ifname[IFNAMSIZ])
{
	struct ifreq ifr = { 0 };

	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return errno == EBADFD ? -EBADFD : -ENOTTY;
	/* TUNGETIFF also reports state bits (IFF_NOFILTER, …): only the
	 * three that shape what read and write carry must match. */
	if ((ifr.ifr_flags & (IFF_TUN | TAP_FLAGS)) != TAP_FLAGS)
		return -EINVAL;
	if (ifname) {
		ifr.ifr_name[IFNAMSIZ - 1] = '\0';
		memcpy(ifname, ifr.ifr_name, IFNAMSIZ);
	}
	return 0;
}
