/* `airlock run AGENT [-- ARGS]`: the agent's preset becomes the run's
 * command (permission prompts off, ARGS appended), environment and default
 * template; see agents.h. Credentials go in only when named with -e, and
 * the user is told, once, that they then live inside the VM. */
#include "tools/airlock/agents.h"
#include "tools/airlock/msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* -e entries that carry some agent's credential: named once. */
static void note_credentials(const char *const *user_env)
{
	char names[512] = "";
	size_t n = 0, len = 0;

	for (size_t i = 0; user_env && user_env[i]; i++) {
		char var[129];
		size_t k = strcspn(user_env[i], "=");

		if (k == 0 || k >= sizeof(var))
			continue;
		memcpy(var, user_env[i], k);
		var[k] = '\0';
		if (!agent_is_credential(var))
			continue;
		if (len + k + 3 < sizeof(names)) {
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
						n ? ", " : "", var);
		}
		n++;
	}
	if (n)
		say("%s %s into the sandbox: for this run %s inside the VM, where the agent "
		    "and everything it runs can read %s (and send %s wherever the "
		    "sandbox's network allows)", names, n > 1 ? "go" : "goes",
		    n > 1 ? "they live" : "it lives", n > 1 ? "them" : "it",
		    n > 1 ? "them" : "it");
}

int agent_run_prepare(struct agent_run *r, int argc, char **args,
		      bool after_dashdash, const char *const *user_env)
{
	char why[256];
	size_t nenv = 0, cap;
	int ret;

	note_credentials(user_env);
	if (argc > 0 && !after_dashdash) {
		ret = agent_preset_find(args[0], &r->preset, why, sizeof(why));
		if (ret == -EINVAL) {
			say("the built-in preset '%s' is broken: %s", args[0], why);
			return ret;
		}
		r->is_agent = ret == 0;
	}
	if (!r->is_agent) {
		if (r->net_set) {
			say("--agent-network is for an agent run: airlock run "
			    "--agent-network %s AGENT (airlock agents lists them)",
			    agent_network_name(r->net));
			return -EINVAL;
		}
		return 0;
	}
	args++;
	argc--;
	if (argc > 0 && strcmp(args[0], "--") == 0) {
		args++;
		argc--;
	}
	cap = (size_t)argc + 2 * AGENT_LIST_MAX + 1;
	while (user_env && user_env[nenv])
		nenv++;
	r->argv = calloc(cap, sizeof(*r->argv));
	r->env = calloc(nenv + 2 * AGENT_LIST_MAX + 1, sizeof(*r->env));
	if (!r->argv || !r->env) {
		say("out of memory");
		return -ENOMEM;
	}
	if (agent_argv(&r->preset, argc, args, r->argv, cap) < 0 ||
	    agent_env(&r->preset, user_env, r->env, nenv + 2 * AGENT_LIST_MAX + 1) < 0) {
		say("%s: too many arguments", r->preset.name);
		return -E2BIG;
	}
	return 0;
}

void agent_run_free(struct agent_run *r)
{
	free(r->argv);
	free(r->env);
	if (r->is_agent)
		agent_preset_free(&r->preset);
	r->argv = r->env = NULL;
	r->is_agent = false;
}
