/* Agent presets: what `airlock run AGENT` starts and lets through, and what
 * `airlock agents` prints. Each preset is data, tools/airlock/agents/
 * NAME.json, compiled into the CLI (agents_data.c, generated) and checked
 * here into a struct before anything uses it (docs/agents.md has the
 * format). */
#ifndef AIRLOCK_TOOLS_AGENTS_H
#define AIRLOCK_TOOLS_AGENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define AGENT_NAME_MAX 31
/* Entries per list (arguments, hosts, credentials, env, config). */
#define AGENT_LIST_MAX 32

/* A host the preset's network allows, or a variable that carries a
 * credential, with what it is for. */
struct agent_item {
	const char *name;
	const char *why;
};

struct agent_preset {
	const char *name;		/* the CLI word: `airlock run NAME` */
	const char *title;
	const char *template_name;	/* the template it runs in */
	const char *login;		/* how its own login works in a sandbox */
	/* NULL-terminated lists. */
	const char *command[AGENT_LIST_MAX + 1];	/* argv, before the switch */
	const char *perm_args[AGENT_LIST_MAX + 1];	/* permission prompts off: */
	const char *perm_env[AGENT_LIST_MAX + 1];	/*   arguments and NAME=VALUE */
	const char *unattended[AGENT_LIST_MAX + 1];	/* non-interactive ARGS, "{prompt}" */
	const char *config[AGENT_LIST_MAX + 1];	/* its folders/files, ~ = agent's home */
	const char *env[AGENT_LIST_MAX + 1];		/* NAME=VALUE: quiet, unattended */
	struct agent_item hosts[AGENT_LIST_MAX];
	unsigned int nhosts;
	struct agent_item creds[AGENT_LIST_MAX];
	unsigned int ncreds;
	json_t *root;			/* owns every string above */
};

/* A preset as compiled in: its name and JSON text (agents_data.c). */
struct agent_blob {
	const char *name;
	const char *text;
	size_t len;
};
extern const struct agent_blob agent_blobs[];	/* ends with a NULL name */

/* Parses text as the preset called name and checks every field (unknown
 * keys, types, names, host names, NAME=VALUE entries). 0, or -EINVAL with
 * why[] saying what is wrong; p needs agent_preset_free() only on 0. */
int agent_preset_parse(const char *text, size_t len, const char *name,
		       struct agent_preset *p, char *why, size_t size);
/* The built-in preset NAME: 0, -ENOENT if there is none, -EINVAL (why) if
 * it is broken (a build mistake; the unit test parses every one). */
int agent_preset_find(const char *name, struct agent_preset *p, char *why,
		      size_t size);
void agent_preset_free(struct agent_preset *p);

/* True if some built-in preset reads VAR as a credential. */
bool agent_is_credential(const char *var);

/* What `airlock run AGENT [-- ARGS]` runs: the command, the permission
 * switch's arguments, then args (argc of them). Writes a NULL-terminated
 * argv into out (cap entries). Returns its length or -E2BIG. */
int agent_argv(const struct agent_preset *p, int argc, char *const *args,
	       const char **out, size_t cap);
/* Its environment: the preset's entries and the permission switch's, each
 * left out if an entry of user (NULL-terminated, -e) sets the same name,
 * then user's. Writes a NULL-terminated list into out (cap entries);
 * returns its length or -E2BIG. */
int agent_env(const struct agent_preset *p, const char *const *user,
	      const char **out, size_t cap);

/* The network an agent run gets (--agent-network): its preset's API hosts
 * alone, those plus the developer preset (package registries, git
 * hosting), or every public address. */
enum agent_network {
	AGENT_NET_AGENT,
	AGENT_NET_DEV,
	AGENT_NET_OPEN,
};
/* "agent", "dev" or "open": 0, or -EINVAL. */
int agent_network_parse(const char *s, enum agent_network *n);
const char *agent_network_name(enum agent_network n);

/* cmd_agents.c: the `airlock agents` subcommand. */
int cmd_agents(int argc, char **argv);

/* agent_run.c: what `airlock run AGENT [-- ARGS]` adds to a run. */
struct agent_run {
	bool is_agent;
	struct agent_preset preset;	/* when is_agent */
	enum agent_network net;		/* --agent-network, else AGENT_NET_AGENT */
	bool net_set;
	const char **argv;		/* the command and env to run, NULL- */
	const char **env;		/* terminated (when is_agent) */
};
/* args (argc of them) are run's words after its options; after_dashdash:
 * they followed "--", so they are a command, never an agent. An agent's
 * name makes it an agent run: its preset, then ARGS (a "--" after the
 * name is dropped). user_env: the -e entries (NULL-terminated). Says what
 * is wrong itself and returns -errno; also says, once, which -e variables
 * carry an agent's credential into the VM (any run). */
int agent_run_prepare(struct agent_run *r, int argc, char **args,
		      bool after_dashdash, const char *const *user_env);
void agent_run_free(struct agent_run *r);
/* The default sandbox of an agent run in folder dir: the folder's own name
 * (docs/cli.md) with "-AGENT" after it, so each agent has its own sandbox
 * per folder (and its own login), apart from plain runs'. At most 63
 * bytes: the folder's part is cut shorter for it. */
void agent_sandbox_name(const char *dir, const char *agent, char *out, size_t size);

#endif
