/* The network policy on the host: global defaults in $AIRLOCK_HOME/
 * policy.json and each sandbox's rules in sandboxes/NAME/policy.json
 * ({"preset": "dev", "allow": [RULE...], "deny": [RULE...]}), put together
 * with what one `airlock run` adds (--allow, --network); and the `airlock
 * policy` command that shows, changes and logs it (docs/network.md). */
#ifndef AIRLOCK_TOOLS_POLICY_H
#define AIRLOCK_TOOLS_POLICY_H

#include <stddef.h>

#include "tools/gateway/policy.h"

#define NET_MAX_ALLOW 64
#define POLICY_DEFAULT_PRESET "dev"

/* What `airlock run` says about the network. */
struct net_opts {
	const char *network;		/* "allowlist" (NULL too), "open", "none" */
	const char *allow[NET_MAX_ALLOW];	/* --allow, this run only */
	size_t nallow;
};

/* The policy in force for sandbox name (NULL: the global defaults only),
 * with each rule's source. -errno after saying why (a file that is not
 * valid JSON, an unknown key, a bad rule). */
int policy_compose(const char *home, const char *name, const struct net_opts *o,
		   struct policy *p);

/* `airlock policy ...`; argv[0] is "policy". */
int cmd_policy(int argc, char **argv);

#endif
