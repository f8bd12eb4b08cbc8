/* The guest's network, when the host gives it one (airlock.net=): eth0,
 * the virtio-net device, gets its IPv4 address and a default route through
 * the gateway, which is also the resolver (/etc/resolv.conf); IPv6 is off
 * on it, since the gateway carries IPv4 only. Plain ioctls: airlock-init
 * has no `ip`. Nothing here is a security boundary (the host's namespace
 * and gateway are); a failure is reported and the boot goes on. */
#include "guest/init.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define IFNAME "eth0"

static struct sockaddr *sin_of(struct sockaddr *sa, uint32_t host_order)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(host_order);
	return sa;
}

static int write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | flags, 0644), r = 0;
	size_t len = strlen(text);

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int configure(int s, const struct netparam *n, const char **step)
{
	struct ifreq ifr = { .ifr_name = IFNAME };
	struct rtentry rt;

	*step = "find " IFNAME " (is there a virtio-net device?)";
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	*step = "set its address";
	sin_of(&ifr.ifr_addr, n->addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		return -errno;
	*step = "set its netmask";
	sin_of(&ifr.ifr_netmask, ~0u << (32 - n->prefix));
	if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0)
		return -errno;
	*step = "bring it up";
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return -errno;
	*step = "add the default route";
	memset(&rt, 0, sizeof(rt));
	sin_of(&rt.rt_dst, 0);
	sin_of(&rt.rt_genmask, 0);
	sin_of(&rt.rt_gateway, n->gateway);
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = (char *)IFNAME;
	if (ioctl(s, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

void init_net_setup(struct init_ctx *ctx, const struct init_params *p)
{
	char resolv[160], gw[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = htonl(p->net.gateway) };
	const char *step = "";
	int s, r;

	if (!p->has_net)
		return;
	/* Before the link is up, so no IPv6 address is ever configured. A
	 * kernel without IPv6 has no such file: nothing to turn off. */
	r = write_file("/proc/sys/net/ipv6/conf/" IFNAME "/disable_ipv6", "1", 0);
	if (r < 0 && r != -ENOENT)
		init_log(ctx, "cannot turn IPv6 off on %s: %s", IFNAME, strerror(-r));

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		init_log(ctx, "no network: socket: %s", strerror(errno));
		return;
	}
	r = configure(s, &p->net, &step);
	close(s);
	if (r < 0) {
		init_log(ctx, "no network: cannot %s: %s", step, strerror(-r));
		return;
	}
	inet_ntop(AF_INET, &a, gw, sizeof(gw));
	snprintf(resolv, sizeof(resolv),
		 "# airlock-init: the sandbox's gateway answers DNS for the names "
		 "its policy allows\nnameserver %s\n", gw);
	/* The template's file is a placeholder (rootfs/build); the overlay's
	 * upper layer takes ours. A link there is not followed. */
	unlink("/etc/resolv.conf");
	r = write_file("/etc/resolv.conf", resolv, O_CREAT | O_TRUNC);
	if (r < 0)
		init_log(ctx, "cannot write /etc/resolv.conf: %s", strerror(-r));
}

void init_net_forget_gateway(struct init_ctx *ctx, const struct init_params *p)
{
	struct arpreq req = { .arp_dev = IFNAME };
	struct sockaddr_in *sa = (struct sockaddr_in *)&req.arp_pa;
	int s;

	if (!p->has_net)
		return;
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(p->net.gateway);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	/* No entry (ENXIO) is the usual case: nothing was sent yet. */
	if (s < 0 || (ioctl(s, SIOCDARP, &req) < 0 && errno != ENXIO))
		init_log(ctx, "cannot forget the gateway's link address: %s", strerror(errno));
	if (s >= 0)
		close(s);
}
