/* airlock.net= (proto/guestparams.h): the guest's IPv4 address, prefix
 * length and gateway, "10.0.2.2/30,10.0.2.1", written by the host and read
 * by airlock-init. Pure code (tests/unit/test_netparam.c). */
#ifndef AIRLOCK_PROTO_NETPARAM_H
#define AIRLOCK_PROTO_NETPARAM_H

#include <stddef.h>
#include <stdint.h>

struct netparam {
	uint32_t addr;		/* host byte order */
	unsigned int prefix;	/* 1..30 */
	uint32_t gateway;	/* in the same subnet, not addr */
};

/* Parses the value (len bytes, not NUL-terminated). -EINVAL if it is not
 * exactly ADDR/PREFIX,GATEWAY in dotted quads, or the gateway is not a
 * host of the subnet, or is the address itself. */
int netparam_parse(const char *s, size_t len, struct netparam *p);
/* Writes the value; returns its length or -ENOSPC. */
int netparam_format(const struct netparam *p, char *out, size_t size);

#endif
