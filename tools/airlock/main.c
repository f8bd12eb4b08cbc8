/* airlock: the command line. Each subcommand parses its options here,
 * then sandbox.c (folders, disks, the VMM) and exec.c (the command in the
 * guest) do the work. Exit statuses follow docker run: the command's own,
 * 125 when airlock itself failed, 126/127 when the command could not run. */
#include "tools/airlock/agents.h"
#include "tools/airlock/args.h"
#include "tools/airlock/control.h"
#include "tools/airlock/exec.h"
#include "tools/airlock/msg.h"
#include "tools/airlock/policy.h"
#include "tools/airlock/review.h"
#include "tools/airlock/sandbox.h"
#include "tools/airlock/snapshot.h"
#include "tools/airlock/supervise.h"
#include "tools/airlock/workspace.h"
#include "lib/clock.h"
#include "lib/size.h"
#include "proto/guestparams.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_AIRLOCK 125	/* airlock failed, not the command */
#define EXIT_USAGE 2		/* bad usage of a subcommand other than run/exec */
#define MAX_ENV 1024		/* as the exec protocol allows */
#define MAX_MEM_MIB (1024ull * 1024)
#define BOOT_TIMEOUT_MS 120000	/* generous: emulated test hosts are slow */
/* After ~. or a second signal: the time the VM gets to power off. */
#define LOCAL_END_POWEROFF_MS 5000
#define LOCAL_END_SYNC_MS 3000	/* and its last changes to come back */
#define EXEC_TIMEOUT_MS 10000	/* a running sandbox answers at once */
#define CONTROL_TIMEOUT_MS 2000	/* a supervisor answers at once */
#define STOP_EXTRA_MS 20000	/* after the grace time: power-off, then kill */
#define VM_END_GRACE_MS 2000	/* the stream ended: the VMM's end follows */

static const char usage_text[] =
	"usage: airlock COMMAND [OPTIONS]\n"
	"\n"
	"Run a command, or an AI coding agent, in a KVM microVM sandbox.\n"
	"\n"
	"commands:\n"
	"  run [OPTIONS] [--] [CMD [ARGS...]]   boot the sandbox, run CMD (default: a\n"
	"                                       login shell), stop the sandbox\n"
	"  run [OPTIONS] AGENT [-- ARGS...]     the same with an AI coding agent:\n"
	"                                       claude, codex, gemini or opencode\n"
	"  agents [--json] [AGENT...]           the agents' presets\n"
	"  exec [OPTIONS] NAME [--] CMD [ARGS...]  run CMD in a running sandbox\n"
	"  ls [--json]                          list sandboxes\n"
	"  stop [-t SECONDS] NAME...            stop running sandboxes\n"
	"  rm NAME...                           remove stopped sandboxes and their disks\n"
	"  policy show|allow|deny|log ...       the network policy of sandboxes\n"
	"  diff [NAME] [PATH...]                what the workspace sync held for review\n"
	"  accept [NAME] [PATH...]              apply held changes to the project\n"
	"  reject [NAME] [PATH...]              drop held changes\n"
	"  template warm [-m SIZE] [--cpus N] T  make template T's snapshot now\n"
	"\n"
	"`airlock COMMAND --help` tells more. State lives in $AIRLOCK_HOME\n"
	"(default ~/.local/share/airlock).\n";

static const char run_usage[] =
	"usage: airlock run [OPTIONS] [--] [CMD [ARGS...]]\n"
	"       airlock run [OPTIONS] AGENT [-- ARGS...]\n"
	"\n"
	"Boots the sandbox, runs CMD in it as the user 'agent' (without CMD: a login\n"
	"shell), stops the sandbox, and exits with CMD's status (128+N if signal N\n"
	"killed it; 125 if airlock failed). With a terminal on stdin and stdout the\n"
	"session is interactive; otherwise stdout and stderr stay apart.\n"
	"\n"
	"AGENT (claude, codex, gemini, opencode; `airlock agents` shows each) runs\n"
	"that agent with its permission prompts off, ARGS appended, in its own\n"
	"template, with its quiet settings; -e VAR passes a credential in.\n"
	"\n"
	"The sandbox is the current folder's (made on first use, kept until\n"
	"`airlock rm`), or NAME's with --name; --rm uses a fresh one and removes it.\n"
	"\n"
	"options:\n"
	"  --name NAME          the sandbox to use (made if it does not exist)\n"
	"  --template T         template for a new sandbox: a name in $AIRLOCK_HOME/\n"
	"                       templates or a template folder (default: base)\n"
	"  -m, --memory SIZE    guest memory: MiB, or with a K/M/G suffix (default 1G)\n"
	"  --cpus N             vCPUs, 1..64 (default 2)\n"
	"  --disk-size SIZE     size of a new sandbox's sparse disk (default 16G)\n"
	"  -e, --env VAR[=VAL]  pass VAR into the sandbox: VAL, or the value VAR has\n"
	"                       here; nothing else from this environment goes in\n"
	"  -w, --workdir DIR    run CMD in DIR (default: the workspace; without one,\n"
	"                       the user's home)\n"
	"  -u, --user USER      run CMD as USER (default: agent)\n"
	"  -t, --tty            use a terminal even if stdin or stdout is not one\n"
	"  -T, --no-tty         use pipes even on a terminal\n"
	"  --rm                 use a new sandbox and remove it afterwards\n"
	"  --allow HOST[:PORT]  allow one more name (any rule) for this run only\n"
	"  --network MODE       allowlist (default: the policy, `airlock policy show`),\n"
	"                       open (every public address), none (no network device)\n"
	"  --pids-limit N       processes each command may have at once, itself\n"
	"                       and all it starts (default 4096)\n"
	"  --agent-network agent|dev|open  an agent's network: its API hosts alone\n"
	"                       (agent, the default), plus package registries and\n"
	"                       git hosting (dev), or every public address (open)\n"
	"  --cold               boot the kernel, not the template's snapshot\n"
	"  --warm-only          start from the template's snapshot or not at all\n"
	"                       (exit 2 where a cold boot would be needed)\n"
	WORKSPACE_USAGE;

static const char exec_usage[] =
	"usage: airlock exec [OPTIONS] NAME [--] CMD [ARGS...]\n"
	"\n"
	"Runs CMD in the running sandbox NAME (started by `airlock run --name NAME`)\n"
	"and exits with its status.\n"
	"\n"
	"options: -e/--env VAR[=VAL], -w/--workdir DIR, -u/--user USER, -t/--tty,\n"
	"-T/--no-tty, as for `airlock run`.\n";

/* Options shared by run and exec: what the command gets. */
struct cmd_opts {
	const char *env[MAX_ENV + 1];
	char *envbuf[MAX_ENV];	/* "VAR=<host value>" strings we made */
	unsigned int nenv;
	const char *cwd, *user;
	int tty;
};

static void cmd_opts_free(struct cmd_opts *c)
{
	for (unsigned int i = 0; i < MAX_ENV; i++)
		free(c->envbuf[i]);
}

static int add_env(struct cmd_opts *c, const char *arg)
{
	char buf[65536];
	const char *e;
	int r;

	if (c->nenv >= MAX_ENV) {
		say("-e: at most %d variables", MAX_ENV);
		return -E2BIG;
	}
	r = args_env(arg, getenv, buf, sizeof(buf), &e);
	if (r == -EINVAL) {
		say("-e '%s': expected VAR or VAR=VALUE", arg);
		return r;
	}
	if (r) {
		say("-e %s: the value here is too long to pass", arg);
		return r;
	}
	if (!e)
		return 0;	/* not set here: nothing to pass, as docker does */
	if (e == buf) {
		c->envbuf[c->nenv] = strdup(buf);
		if (!c->envbuf[c->nenv])
			return -ENOMEM;
		e = c->envbuf[c->nenv];
	}
	c->env[c->nenv++] = e;
	c->env[c->nenv] = NULL;
	return 0;
}

/* The option letters run and exec share; returns 1 if c was one of them,
 * 0 if not, -1 on a bad value. */
enum { O_NAME = 256, O_TEMPLATE, O_CPUS, O_RM, O_DISK_SIZE, O_JSON, O_ALLOW,
       O_NETWORK, O_PIDS, O_AGENT_NET, O_COLD, O_WARM_ONLY };

static int common_opt(struct cmd_opts *c, int opt)
{
	switch (opt) {
	case 'e':
		return add_env(c, optarg) ? -1 : 1;
	case 'w':
		if (optarg[0] != '/') {
			say("--workdir '%s': an absolute path is needed", optarg);
			return -1;
		}
		c->cwd = optarg;
		return 1;
	case 'u':
		c->user = optarg;
		return 1;
	case 't':
		c->tty = 1;
		return 1;
	case 'T':
		c->tty = 0;
		return 1;
	}
	return 0;
}

static void exec_opts_from(struct exec_opts *o, struct cmd_opts *c, int argc,
			   char **argv)
{
	*o = (struct exec_opts){
		.argv = argc > 0 ? argv : NULL,
		.env = (char *const *)c->env,
		.cwd = c->cwd,
		.user = c->user,
		.tty = c->tty,
	};
}

static int cmd_run(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, O_NAME },
		{ "template", required_argument, NULL, O_TEMPLATE },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, O_CPUS },
		{ "disk-size", required_argument, NULL, O_DISK_SIZE },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "tty", no_argument, NULL, 't' },
		{ "no-tty", no_argument, NULL, 'T' },
		{ "rm", no_argument, NULL, O_RM },
		{ "allow", required_argument, NULL, O_ALLOW },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "pids-limit", required_argument, NULL, O_PIDS },
		{ "agent-network", required_argument, NULL, O_AGENT_NET },
		{ "cold", no_argument, NULL, O_COLD },
		{ "warm-only", no_argument, NULL, O_WARM_ONLY },
		{ "help", no_argument, NULL, 'h' },
		WORKSPACE_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	enum snapshot_mode start = SNAPSHOT_AUTO;
	struct cmd_opts c = { .tty = -1 };
	struct net_opts net = { .network = "allowlist" };
	struct agent_run ar = { .net = AGENT_NET_AGENT };
	unsigned int pids = SANDBOX_DEFAULT_PIDS;
	struct workspace_opts wo = { 0 };
	struct workspace ws = { .ctl = -1 };
	sigset_t ends;
	struct airlock_paths paths;
	struct sandbox_settings set = {
		.mem_mib = SANDBOX_DEFAULT_MEM_MIB,
		.cpus = SANDBOX_DEFAULT_CPUS,
		.disk_bytes = SANDBOX_DEFAULT_DISK,
	};
	const char *name = NULL, *template = NULL;
	char namebuf[SANDBOX_NAME_MAX + 1], cwd[PATH_MAX];
	bool rm = false, mem_set = false, cpus_set = false, created = false;
	struct template_ref t;
	struct sandbox sb = { .lock_fd = -1 };
	struct supervisor sv = { .vmm = 0 };
	struct exec_opts eo;
	bool local_end = false;
	unsigned long v;
	uint64_t mib;
	int opt, r, status = EXIT_AIRLOCK;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+m:e:w:u:tTh", lo, NULL)) != -1) {
		r = common_opt(&c, opt);
		if (r == 0)
			r = workspace_opt(&wo, opt, optarg);
		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		switch (opt) {
		case O_NAME:
			if (!sandbox_name_ok(optarg)) {
				say("--name '%s': 1 to %d letters, digits, '_', '.', '-', starting "
				    "with a letter or digit", optarg, SANDBOX_NAME_MAX);
				goto out;
			}
			name = optarg;
			break;
		case O_TEMPLATE:
			template = optarg;
			break;
		case 'm':
			if (size_parse_mib(optarg, MAX_MEM_MIB, &mib)) {
				say("--memory '%s': expected MiB or a size like 512M or 2G", optarg);
				goto out;
			}
			set.mem_mib = mib;
			mem_set = true;
			break;
		case O_CPUS:
			if (args_uint(optarg, 1, SANDBOX_MAX_CPUS, &v)) {
				say("--cpus '%s': expected a number from 1 to %d", optarg,
				    SANDBOX_MAX_CPUS);
				goto out;
			}
			set.cpus = (unsigned int)v;
			cpus_set = true;
			break;
		case O_DISK_SIZE:
			if (sandbox_disk_size_parse(optarg, &set.disk_bytes))
				goto out;
			break;
		case O_RM:
			rm = true;
			break;
		case O_COLD:
			start = SNAPSHOT_COLD;
			break;
		case O_WARM_ONLY:
			start = SNAPSHOT_WARM_ONLY;
			break;
		case O_ALLOW: {
			struct rule rule;
			char why[300];

			if (rule_parse(optarg, &rule, why, sizeof(why))) {
				say("--allow: %s", why);
				goto out;
			}
			if (net.nallow >= NET_MAX_ALLOW) {
				say("--allow: at most %d", NET_MAX_ALLOW);
				goto out;
			}
			net.allow[net.nallow++] = optarg;
			break;
		}
		case O_NETWORK:
			if (strcmp(optarg, "allowlist") && strcmp(optarg, "open") &&
			    strcmp(optarg, "none")) {
				say("--network '%s': allowlist, open or none", optarg);
				goto out;
			}
			net.network = optarg;
			break;
		case O_PIDS:
			if (args_uint(optarg, 1, GUESTPARAM_PIDS_LIMIT, &v)) {
				say("--pids-limit '%s': expected a number from 1 to %d", optarg,
				    GUESTPARAM_PIDS_LIMIT);
				goto out;
			}
			pids = (unsigned int)v;
			break;
		case O_AGENT_NET:
			if (agent_network_parse(optarg, &ar.net)) {
				say("--agent-network '%s': expected agent, dev or open", optarg);
				goto out;
			}
			ar.net_set = true;
			break;
		case 'h':
			fputs(run_usage, stdout);
			status = 0;
			goto out;
		default:
			say("run: unknown option '%s' (airlock run --help lists them)",
			    argv[optind - 1]);
			goto out;
		}
	}
	/* `airlock run claude` is the agent; `airlock run -- claude` a command. */
	r = agent_run_prepare(&ar, argc - optind, argv + optind,
			      optind > 1 && strcmp(argv[optind - 1], "--") == 0, c.env);
	if (r < 0)
		goto out;
	argc -= optind;
	argv += optind;
	if (ar.is_agent && !template)
		template = ar.preset.template_name;
	/* An agent run's network: its API hosts (on 443) and nothing else
	 * (agent), those and the developer preset (dev), or every public
	 * address (open); the user's own rules and --allow on top. */
	if (ar.is_agent && strcmp(net.network, "none") != 0) {
		net.preset = ar.net == AGENT_NET_DEV ? "dev" : ar.net == AGENT_NET_OPEN ? "open"
							     : "none";
		for (unsigned int i = 0; i < ar.preset.nhosts && net.nallow < NET_MAX_ALLOW; i++)
			net.allow[net.nallow++] = ar.preset.hosts[i].name;
	}

	if (paths_resolve(&paths) || paths_check(&paths) || workspace_prepare(&ws, &wo))
		goto out;
	if (!getcwd(cwd, sizeof(cwd))) {
		say("cannot tell the current folder: %s", strerror(errno));
		goto out;
	}
	if (!name && rm) {
		sandbox_name_random(cwd, namebuf, sizeof(namebuf));
		name = namebuf;
	} else if (!name && ar.is_agent) {
		agent_sandbox_name(cwd, ar.preset.name, namebuf, sizeof(namebuf));
		name = namebuf;
	} else if (!name) {
		sandbox_name_for_dir(cwd, namebuf, sizeof(namebuf));
		name = namebuf;
	}

	r = sandbox_open(&sb, &paths, name);
	if (r == 0 && rm) {
		say("sandbox '%s' exists already; --rm wants a new one", name);
		goto out;
	}
	if (r == 0) {
		if (template) {
			if (template_find(&paths, template, &t))
				goto out;
			if (strcmp(t.dir, sb.set.template_dir) != 0) {
				say("sandbox '%s' was made from template '%s' (%s), not '%s': "
				    "airlock rm %s first, or choose another --name", name,
				    sb.set.template_name, sb.set.template_dir, template, name);
				goto out;
			}
		}
	} else if (r == -ENOENT) {
		if (template_find(&paths, template ? template : SANDBOX_DEFAULT_TEMPLATE, &t))
			goto out;
		snprintf(set.template_name, sizeof(set.template_name), "%s", t.name);
		snprintf(set.template_dir, sizeof(set.template_dir), "%s", t.dir);
		r = sandbox_create(&sb, &paths, name, &set);
		if (r == -EEXIST)
			say("sandbox '%s' appeared while it was being made; try again", name);
		if (r)
			goto out;
		created = true;
	} else {
		if (r != -EINVAL && r != -ENOTDIR && r != -ENAMETOOLONG)
			say("cannot open sandbox '%s': %s", name, strerror(-r));
		goto out;
	}

	r = sandbox_lock(&sb);
	if (r == -EBUSY) {
		say("sandbox '%s' is running already: `airlock exec %s -- CMD` runs a "
		    "command in it", name, name);
		goto out_close;
	}
	if (r)
		goto out_close;
	if (!created && (mem_set || cpus_set)) {
		if (mem_set)
			sb.set.mem_mib = set.mem_mib;
		if (cpus_set)
			sb.set.cpus = set.cpus;
		if (sandbox_save_settings(&sb))
			goto out_close;
	}

	sb.set.pids_max = pids;
	sv.net_opts = &net;
	sv.start_mode = start;
	sv.fresh = created;
	r = supervisor_start(&sv, &sb, &paths);
	if (r == -EAGAIN)
		status = EXIT_USAGE;	/* --warm-only, and no snapshot */
	if (r)
		goto out_close;
	/* The project in, before the command starts; its changes back after.
	 * From here on the signals that end a run are taken, not suffered:
	 * while the project goes in, one ends the run cleanly (the VM powered
	 * off); once the command runs, exec_run forwards them to it. */
	sigemptyset(&ends);
	sigaddset(&ends, SIGINT);
	sigaddset(&ends, SIGTERM);
	sigaddset(&ends, SIGHUP);
	sigaddset(&ends, SIGQUIT);
	sigprocmask(SIG_BLOCK, &ends, NULL);
	ws.discard = rm && created;
	if (workspace_start(&ws, &sv, &paths, &wo, BOOT_TIMEOUT_MS) < 0) {
		if (ws.signal)
			status = 128 + ws.signal;
		supervisor_shutdown(&sv);
		goto out_close;
	}
	if (!c.cwd && ws.on)
		c.cwd = ws.root;
	exec_opts_from(&eo, &c, argc, argv);
	if (ar.is_agent) {
		eo.argv = (char *const *)ar.argv;
		eo.env = (char *const *)ar.env;
	}
	eo.started = supervisor_running;
	eo.started_arg = &sv;
	eo.ended_locally = &local_end;
	r = exec_run(sb.sock, &eo, BOOT_TIMEOUT_MS, vmm_proc_alive, &sv.vmm);
	/* A VM's end usually shows first as its stream ending: a moment for
	 * the VMM to be gone too, so that the message says which it was. */
	if (r == -ECONNRESET)
		vmm_proc_gone_within(&sv.vmm, VM_END_GRACE_MS);
	if (r < 0 && !vmm_proc_alive(&sv.vmm)) {
		say(r == -ECONNRESET ? "the sandbox's VM stopped while the command ran:" :
		    "the sandbox's VM stopped before the command could run:");
		supervisor_print_log(&sv);
	}
	status = r < 0 ? EXIT_AIRLOCK : r;
	/* A user who ended the session from here may have done so because
	 * the guest stopped answering: its last changes get a moment, not
	 * minutes (the next run of the sandbox picks up the rest). */
	workspace_finish(&ws, &sv, local_end ? LOCAL_END_SYNC_MS : -1);
	/* The command's status stands even if the VM does not stop cleanly
	 * (supervisor_shutdown says so) or the sync did not finish (said). A
	 * user who ended the session from here may have done so because the
	 * guest stopped answering: the VM gets less time. A sandbox about to
	 * be removed needs no clean disk: supervisor_close() ends its VM and
	 * network at once. */
	if (local_end)
		sv.poweroff_wait_ms = LOCAL_END_POWEROFF_MS;
	if (!(rm && created))
		supervisor_shutdown(&sv);

out_close:
	sv.discard = rm && created;
	workspace_close(&ws);
	supervisor_close(&sv);
	sandbox_close(&sb);
	if (rm && created && sandbox_remove(&paths, name) < 0)
		say("cannot remove sandbox '%s' (%s)", name, sb.dir);
out:
	agent_run_free(&ar);
	cmd_opts_free(&c);
	return status;
}

static bool sandbox_still_running(void *arg)
{
	struct control_status st;

	return control_status(arg, CONTROL_TIMEOUT_MS, &st) == 0;
}

static int cmd_exec(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "tty", no_argument, NULL, 't' },
		{ "no-tty", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_opts c = { .tty = -1 };
	struct airlock_paths paths;
	struct sandbox sb = { .lock_fd = -1 };
	struct exec_opts eo;
	int opt, r, status = EXIT_AIRLOCK;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+e:w:u:tTh", lo, NULL)) != -1) {
		r = common_opt(&c, opt);
		if (r < 0)
			goto out;
		if (r > 0)
			continue;
		if (opt == 'h') {
			fputs(exec_usage, stdout);
			status = 0;
			goto out;
		}
		say("exec: unknown option '%s' (airlock exec --help lists them)",
		    argv[optind - 1]);
		goto out;
	}
	if (optind >= argc) {
		fputs(exec_usage, stderr);
		goto out;
	}
	if (paths_resolve(&paths))
		goto out;
	r = sandbox_open(&sb, &paths, argv[optind]);
	if (r == -ENOENT)
		say("no sandbox '%s' (airlock ls lists them)", argv[optind]);
	if (r)
		goto out;
	{
		struct control_status st;

		if (control_status(&sb, CONTROL_TIMEOUT_MS, &st) < 0) {
			say("sandbox '%s' is not running: `airlock run --name %s` starts it",
			    sb.name, sb.name);
			goto out;
		}
	}
	optind++;
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc) {
		say("exec: no command given");
		goto out;
	}
	exec_opts_from(&eo, &c, argc - optind, argv + optind);
	r = exec_run(sb.sock, &eo, EXEC_TIMEOUT_MS, sandbox_still_running, &sb);
	status = r < 0 ? EXIT_AIRLOCK : r;
out:
	cmd_opts_free(&c);
	return status;
}

/* Blocks the disk really holds, not its (sparse) size. */
static uint64_t disk_used(const struct sandbox *sb)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/disk.ext4", sb->dir) >= (int)sizeof(path) ||
	    stat(path, &st) < 0)
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

static void human(uint64_t bytes, char *out, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, size, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_ls(int argc, char **argv)
{
	char dir[PATH_MAX + 16], *names[4096];
	struct airlock_paths paths;
	bool json = false;
	size_t n = 0;
	json_t *arr = NULL;
	struct dirent *de;
	DIR *d;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			puts("usage: airlock ls [--json]\n\nLists the sandboxes: name, template, "
			     "whether a VM runs on it, memory, vCPUs, disk space used, creation.");
			return 0;
		} else {
			say("ls: unknown argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (paths_resolve(&paths))
		return 1;
	snprintf(dir, sizeof(dir), "%s/sandboxes", paths.home);
	d = opendir(dir);
	if (!d && errno != ENOENT) {
		say("cannot read %s: %s", dir, strerror(errno));
		return 1;
	}
	while (d && (de = readdir(d)) && n < sizeof(names) / sizeof(names[0]))
		if (sandbox_name_ok(de->d_name) && (names[n] = strdup(de->d_name)))
			n++;
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);

	if (json)
		arr = json_array();
	else
		printf("%-28s %-10s %-8s %7s %4s %10s  %s\n", "NAME", "TEMPLATE", "STATUS",
		       "MEMORY", "CPUS", "DISK", "CREATED");
	for (size_t i = 0; i < n; i++) {
		struct sandbox sb;
		struct control_status cst;
		char created[32];
		bool running;
		struct tm tm;
		time_t ct;

		if (sandbox_open(&sb, &paths, names[i]) < 0) {
			status = 1;
			continue;
		}
		running = control_status(&sb, CONTROL_TIMEOUT_MS, &cst) == 0;
		ct = (time_t)sb.set.created;
		strftime(created, sizeof(created), "%Y-%m-%d %H:%M",
			 localtime_r(&ct, &tm));
		if (json) {
			json_t *o = json_pack(
				"{s:s, s:s, s:s, s:s, s:I, s:i, s:I, s:I, s:I}",
				"name", sb.name, "template", sb.set.template_name,
				"template_dir", sb.set.template_dir,
				"status", running ? cst.state : "stopped",
				"memory_mib", (json_int_t)sb.set.mem_mib, "cpus", (int)sb.set.cpus,
				"disk_bytes", (json_int_t)sb.set.disk_bytes,
				"disk_used_bytes", (json_int_t)disk_used(&sb),
				"created", (json_int_t)sb.set.created);

			/* Who runs it: the supervisor and its VMM. */
			if (o && running) {
				json_object_set_new(o, "pid", json_integer(cst.pid));
				json_object_set_new(o, "vmm_pid", json_integer(cst.vmm_pid));
				json_object_set_new(o, "started", json_integer(cst.started));
			}
			json_array_append_new(arr, o);
		} else {
			char used[32];

			human(disk_used(&sb), used, sizeof(used));
			printf("%-28s %-10s %-8s %6lluM %4u %10s  %s\n", sb.name,
			       sb.set.template_name, running ? cst.state : "stopped",
			       (unsigned long long)sb.set.mem_mib, sb.set.cpus, used, created);
		}
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2));

		if (s)
			puts(s);
		free(s);
		json_decref(arr);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	return status;
}

static const char stop_usage[] =
	"usage: airlock stop [-t SECONDS] NAME...\n"
	"\n"
	"Stops each running sandbox as `docker stop` does: its command gets SIGTERM\n"
	"(its `airlock run` then ends with the command's status), and after\n"
	"SECONDS (default 10) the guest is powered off, its disk left clean; if\n"
	"even that does not end it, its `airlock run` is killed. A stopped sandbox\n"
	"is left as it is.\n";

/* Asks the sandbox's supervisor to stop it (SIGTERM to the command,
 * power-off after the grace time, then kill) and waits for it to be gone;
 * a supervisor that does not go in time is killed, and its VMM with it. */
static int stop_one(const struct airlock_paths *paths, const char *name, int64_t grace_ms)
{
	struct sandbox sb;
	pid_t pid = 0;
	int r = sandbox_open(&sb, paths, name);

	if (r == -ENOENT) {
		say("no sandbox '%s' (airlock ls lists them)", name);
		return 1;
	}
	if (r) {
		if (r != -EINVAL && r != -ENOTDIR && r != -ENAMETOOLONG)
			say("cannot open sandbox '%s': %s", name, strerror(-r));
		return 1;
	}
	r = control_stop(&sb, CONTROL_TIMEOUT_MS, (int)grace_ms, (int)grace_ms + STOP_EXTRA_MS,
			 &pid);
	if (r == -ETIMEDOUT && pid > 0) {
		/* Its VMM goes with it (PR_SET_PDEATHSIG). */
		kill(pid, SIGKILL);
		for (int i = 0; i < 100 && sandbox_running(&sb); i++)
			clock_sleep_ms(50);
		r = sandbox_running(&sb) ? -ETIMEDOUT : 0;
	} else if (r == -ENOENT || r == -ECONNREFUSED) {
		r = 0;		/* not running: left as it is */
	}
	if (r) {
		say("sandbox '%s' is still running: its processes could not be stopped (%s)",
		    name, strerror(-r));
		return 1;
	}
	puts(name);
	return 0;
}

static int cmd_stop(int argc, char **argv)
{
	struct airlock_paths paths;
	unsigned long secs = 10;
	int opt, status = 0;

	optind = 1;
	opterr = 0;
	while ((opt = getopt(argc, argv, "+t:h")) != -1) {
		switch (opt) {
		case 't':
			if (args_uint(optarg, 0, 3600, &secs)) {
				say("-t '%s': expected whole seconds from 0 to 3600", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			fputs(stop_usage, stdout);
			return 0;
		default:
			say("stop: unknown option '%s' (airlock stop --help)", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(stop_usage, stderr);
		return EXIT_USAGE;
	}
	if (paths_resolve(&paths))
		return 1;
	for (int i = optind; i < argc; i++)
		if (stop_one(&paths, argv[i], (int64_t)secs * 1000))
			status = 1;
	return status;
}

static int cmd_rm(int argc, char **argv)
{
	struct airlock_paths paths;
	int status = 0;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs("usage: airlock rm NAME...\n\nRemoves each stopped sandbox: its disk, "
		      "settings and logs.\n", argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (paths_resolve(&paths))
		return 1;
	for (int i = 1; i < argc; i++) {
		int r = sandbox_remove(&paths, argv[i]);
		if (r == 0) {
			puts(argv[i]);
			continue;
		}
		status = 1;
		if (r == -ENOENT)
			say("no sandbox '%s' (airlock ls lists them)", argv[i]);
		else if (r == -EBUSY)
			say("sandbox '%s' is running: airlock stop %s first", argv[i], argv[i]);
		else if (r != -EINVAL)
			say("cannot remove sandbox '%s': %s", argv[i], strerror(-r));
	}
	return status;
}

static int cmd_review(int argc, char **argv)
{
	struct airlock_paths paths;

	if (paths_resolve(&paths))
		return 1;
	return review_main(&paths, argv[0], argc - 1, argv + 1);
}

static int cmd_template(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "warm") == 0)
		return snapshot_cmd_warm(argc - 1, argv + 1);
	say("template: expected 'warm' (airlock template warm --help)");
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "run", cmd_run }, { "exec", cmd_exec }, { "ls", cmd_ls },
		{ "list", cmd_ls }, { "stop", cmd_stop }, { "rm", cmd_rm },
		{ "template", cmd_template },
		{ "policy", cmd_policy },
		{ "agents", cmd_agents },
		{ "diff", cmd_review }, { "accept", cmd_review }, { "reject", cmd_review },
	};

	if (argc < 2) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("airlock %s\n", AIRLOCK_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 1, argv + 1);
	say("unknown command '%s' (airlock --help lists them)", argv[1]);
	return EXIT_USAGE;
}
