/* airlock-exec: runs one command in a sandbox VM that is already up, through
 * the VMM's vsock socket (airlock-vmm --vsock PATH, no command), or asks it
 * to power off. A developer and test tool around exec.c; `airlock run` is
 * what users run. */
#include "tools/airlock/exec.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENV 1024

static void usage(FILE *f)
{
	fputs("usage: airlock-exec [options] SOCKET [--] [CMD [ARGS...]]\n"
	      "       airlock-exec --poweroff SOCKET\n"
	      "       airlock-exec --resume[=BYTES] SOCKET\n"
	      "Runs CMD (default: the user's login shell) in the VM whose vsock\n"
	      "socket is SOCKET, relaying stdin, stdout and stderr; exits with\n"
	      "its status (128+N if killed by signal N; 125 if airlock failed).\n"
	      "  -e NAME[=VALUE]   pass a variable (NAME alone: its value here)\n"
	      "  -w DIR            working directory in the guest\n"
	      "  -u USER           user name or uid (default: the guest's, agent)\n"
	      "  -t, -T            a TTY, or pipes (default: a TTY if stdin and\n"
	      "                    stdout are terminals)\n"
	      "  --timeout MS      wait this long for the guest (default 30000)\n"
	      "  --poweroff        ask airlock-init to end the VM cleanly\n"
	      "  --resume[=BYTES]  resume a VM restored from a snapshot (its sandbox\n"
	      "                    disk now BYTES long; default: none)\n", f);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "timeout", required_argument, NULL, 'o' },
		{ "poweroff", no_argument, NULL, 'p' },
		{ "resume", optional_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char *env[MAX_ENV + 1];
	struct exec_opts o = { .env = env, .tty = -1 };
	int c, nenv = 0, timeout = 30000, ret;
	bool poweroff = false, resume = false;
	unsigned long long upper = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "+e:w:u:tTh", lo, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (nenv == MAX_ENV) {
				fprintf(stderr, "airlock-exec: too many -e\n");
				return 125;
			}
			if (strchr(optarg, '=')) {
				env[nenv++] = optarg;
			} else if (getenv(optarg)) {
				char *kv = malloc(strlen(optarg) +
						  strlen(getenv(optarg)) + 2);

				if (!kv)
					return 125;
				sprintf(kv, "%s=%s", optarg, getenv(optarg));
				env[nenv++] = kv;
			}
			break;
		case 'w':
			o.cwd = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 't':
			o.tty = 1;
			break;
		case 'T':
			o.tty = 0;
			break;
		case 'o':
			timeout = (int)strtol(optarg, &end, 10);
			if (*end || timeout < 0) {
				fprintf(stderr, "airlock-exec: bad --timeout '%s'\n",
					optarg);
				return 125;
			}
			break;
		case 'p':
			poweroff = true;
			break;
		case 'r':
			resume = true;
			if (optarg) {
				upper = strtoull(optarg, &end, 10);
				if (*end || !*optarg) {
					fprintf(stderr, "airlock-exec: bad --resume '%s'\n", optarg);
					return 125;
				}
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 125;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 125;
	}
	if (resume) {
		ret = exec_resume(argv[optind], upper, timeout, NULL, NULL);
		if (ret < 0) {
			fprintf(stderr, "airlock-exec: resume through %s: %s\n",
				argv[optind], strerror(-ret));
			return 1;
		}
		return 0;
	}
	if (poweroff) {
		ret = exec_poweroff(argv[optind], timeout, NULL, NULL);
		if (ret < 0) {
			fprintf(stderr, "airlock-exec: power-off through %s: %s\n",
				argv[optind], strerror(-ret));
			return 1;
		}
		return 0;
	}
	o.argv = argv + optind + 1;
	if (o.argv[0] && strcmp(o.argv[0], "--") == 0)
		o.argv++;
	ret = exec_run(argv[optind], &o, timeout, NULL, NULL);
	return ret < 0 ? 125 : ret;
}
