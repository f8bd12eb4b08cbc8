/* A sandbox's network at run time: its namespace (lib/netns.h), its
 * gateway (airlock-gateway, started with the namespace's listeners and the
 * policy) and the policy feeder that hands the gateway every change of the
 * policy files. What the VMM gets: the TAP and a kernel command-line
 * parameter for airlock-init. */
#ifndef AIRLOCK_TOOLS_NET_H
#define AIRLOCK_TOOLS_NET_H

#include <stdbool.h>
#include <sys/types.h>

#include "lib/netns.h"
#include "tools/airlock/policy.h"

struct sandbox;
struct airlock_paths;

/* The link between guest and gateway: a /30 of its own in every
 * sandbox's namespace. The gateway's side is also the guest's resolver. */
#define NET_LINK_ADDR "10.0.2.1"
#define NET_GUEST_ADDR "10.0.2.2"
#define NET_PREFIX 30

struct sandbox_net {
	struct netns ns;	/* ns.tap is the VMM's; the rest the gateway's */
	pid_t gateway, feeder;
	int ctl, errfd;		/* until ready: to the gateway, its log */
	int gateway_status;
	bool gateway_reaped;
	char param[64];		/* "airlock.net=..." for the kernel command line */
};

/* Makes the namespace and starts the gateway with the policy for sandbox
 * sb, without waiting for it (the VM starts meanwhile). 0, or -errno after
 * saying why (what is missing, and how to fix it or run without a
 * network). */
int sandbox_net_start(struct sandbox_net *n, const struct sandbox *sb,
		      const struct airlock_paths *p, const struct net_opts *o);
/* Then waits until the gateway serves, and starts the feeder. 0, or -errno
 * after saying why (the network is ended then). */
int sandbox_net_ready(struct sandbox_net *n, const struct sandbox *sb,
		      const struct airlock_paths *p, const struct net_opts *o);
/* The VMM has its copy of the TAP: ours goes. */
void sandbox_net_tap_handed(struct sandbox_net *n);
/* True while the gateway runs (reaps it when it has ended). */
bool sandbox_net_alive(struct sandbox_net *n);
/* Ends the gateway and the feeder. If the gateway had ended by itself
 * meanwhile, says that the sandbox's network went away, and returns
 * -EPIPE; else 0. With discard (the sandbox is removed right after), kills
 * them and does not wait for their end. */
int sandbox_net_stop(struct sandbox_net *n, const struct sandbox *sb, bool discard);

#endif
