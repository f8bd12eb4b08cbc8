/* netns_up: a sandbox's network without a VM, for tests and benchmarks of
 * the gateway. Makes sandbox NAME's folder under $AIRLOCK_HOME if need be,
 * brings its network up as `airlock run` does (namespace, gateway, policy
 * feeder), prints the pid of a process inside the namespace (the opener:
 * `nsenter -t PID -n [-U --preserve-credentials]` is then "the guest",
 * minus the TAP) and the kernel parameter, and keeps it all up until its
 * stdin closes. Then it says whether the gateway had gone away.
 *
 *   netns_up NAME [--allow RULE]... [--network allowlist|open]
 */
#include "tools/airlock/net.h"
#include "tools/airlock/sandbox.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static struct sandbox_net net;
	struct net_opts o = { .network = "allowlist" };
	struct airlock_paths paths;
	struct sandbox sb = { .lock_fd = -1 };
	char buf[PATH_MAX + 16];
	int r;

	if (argc < 2 || paths_resolve(&paths))
		return 2;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--allow") == 0 && o.nallow < NET_MAX_ALLOW)
			o.allow[o.nallow++] = argv[i + 1];
		else if (strcmp(argv[i], "--network") == 0)
			o.network = argv[i + 1];
		else
			return 2;
	}
	snprintf(sb.name, sizeof(sb.name), "%s", argv[1]);
	if (snprintf(sb.dir, sizeof(sb.dir), "%s/sandboxes/%s", paths.home, argv[1]) >= (int)sizeof(sb.dir))
		return 2;
	snprintf(buf, sizeof(buf), "%s/sandboxes", paths.home);
	mkdir(paths.home, 0700);
	mkdir(buf, 0700);
	mkdir(sb.dir, 0700);
	if (sandbox_net_start(&net, &sb, &paths, &o))
		return 1;
	printf("%d %s\n", (int)net.ns.pid, net.param);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	r = sandbox_net_stop(&net, &sb);
	return r ? 3 : 0;
}
