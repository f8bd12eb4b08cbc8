/* netns_up: a sandbox's network without a VM, for tests and benchmarks of
 * the gateway. Makes sandbox NAME's folder under $AIRLOCK_HOME if need be,
 * brings its network up as `airlock run` does (namespace, gateway, policy
 * feeder), prints the pid of a process inside the namespace (the opener:
 * `nsenter -t PID -n [-U --preserve-credentials]` is then "the guest",
 * minus the TAP) and the kernel parameter, and keeps it all up until its
 * stdin closes. Then it says whether the gateway had gone away.
 *
 *   netns_up NAME [--allow RULE]... [--network allowlist|open] [-- CMD...]
 *
 * With CMD, it runs CMD instead of waiting for stdin, with the TAP as fd 3
 * and the kernel parameter in $AIRLOCK_NET_PARAM (an airlock-vmm of one's
 * own: `airlock-vmm --net fd:3 --cmdline "$AIRLOCK_NET_PARAM"`), and exits
 * with its status.
 */
#include "tools/airlock/net.h"
#include "tools/airlock/sandbox.h"

#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static struct sandbox_net net;
	struct net_opts o = { .network = "allowlist" };
	struct airlock_paths paths;
	struct sandbox sb = { .lock_fd = -1 };
	char buf[PATH_MAX + 16];
	char **cmd = NULL;
	int r, st = 0;

	if (argc < 2 || paths_resolve(&paths))
		return 2;
	for (int i = 2; i < argc; i += 2) {
		if (strcmp(argv[i], "--") == 0) {
			cmd = argv + i + 1;
			break;
		}
		if (i + 1 >= argc)
			return 2;
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
	if (sandbox_net_start(&net, &sb, &paths, &o) ||
	    sandbox_net_ready(&net, &sb, &paths, &o))
		return 1;
	if (cmd && cmd[0]) {
		pid_t pid = fork();

		if (pid == 0) {
			if (dup2(fcntl(net.ns.tap, F_DUPFD, 10), 3) < 0)
				_exit(127);
			setenv("AIRLOCK_NET_PARAM", net.param, 1);
			execvp(cmd[0], cmd);
			_exit(127);
		}
		sandbox_net_tap_handed(&net);
		while (pid > 0 && waitpid(pid, &st, 0) < 0)
			;
		r = sandbox_net_stop(&net, &sb, false);
		return r ? 3 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	printf("%d %s\n", (int)net.ns.pid, net.param);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	r = sandbox_net_stop(&net, &sb, false);
	return r ? 3 : 0;
}
