/* `airlock agents [--json] [AGENT...]`: prints the agent presets (agents.h):
 * the template each runs in, its command line with permission prompts off,
 * the API hosts its network allows and why, and the credentials it reads. */
#include "tools/airlock/agents.h"
#include "tools/airlock/msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: airlock agents [--json] [AGENT...]\n"
	"\n"
	"Prints the agent presets `airlock run AGENT` uses: template, command line\n"
	"(permission prompts off), how to run it unattended, the API hosts its\n"
	"network allows and why, the variables it reads credentials from (passed\n"
	"in only with -e), where it keeps its config and how it logs in.\n";

/* An argument as a POSIX shell would take it back. */
static void put_word(FILE *f, const char *s)
{
	if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			      "0123456789-_./=:,@%+") == strlen(s)) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* NAME=VALUE with the value quoted. */
static void put_env(FILE *f, const char *e)
{
	const char *eq = strchr(e, '=');

	fwrite(e, 1, (size_t)(eq - e) + 1, f);
	put_word(f, eq + 1);
}

static void print_text(const struct agent_preset *p)
{
	unsigned int w = 0;

	printf("%s  %s\n", p->name, p->title);
	printf("  %-12s %s\n", "template", p->template_name);
	printf("  %-12s ", "runs");
	for (size_t i = 0; p->perm_env[i]; i++) {
		put_env(stdout, p->perm_env[i]);
		putchar(' ');
	}
	for (size_t i = 0; p->command[i]; i++) {
		put_word(stdout, p->command[i]);
		putchar(' ');
	}
	for (size_t i = 0; p->perm_args[i]; i++) {
		put_word(stdout, p->perm_args[i]);
		putchar(' ');
	}
	puts("[ARGS]");
	printf("  %-12s airlock run %s --", "unattended", p->name);
	for (size_t i = 0; p->unattended[i]; i++) {
		putchar(' ');
		if (strcmp(p->unattended[i], "{prompt}") == 0)
			fputs("\"PROMPT\"", stdout);
		else
			put_word(stdout, p->unattended[i]);
	}
	putchar('\n');
	for (unsigned int i = 0; i < p->nhosts; i++)
		w = strlen(p->hosts[i].name) > w ? (unsigned int)strlen(p->hosts[i].name) : w;
	for (unsigned int i = 0; i < p->ncreds; i++)
		w = strlen(p->creds[i].name) > w ? (unsigned int)strlen(p->creds[i].name) : w;
	for (unsigned int i = 0; i < p->nhosts; i++)
		printf("  %-12s %-*s  %s\n", i ? "" : "API hosts", (int)w, p->hosts[i].name,
		       p->hosts[i].why);
	for (unsigned int i = 0; i < p->ncreds; i++)
		printf("  %-12s %-*s  %s\n", i ? "" : "credentials", (int)w, p->creds[i].name,
		       p->creds[i].why);
	printf("  %-12s", "config");
	for (size_t i = 0; p->config[i]; i++)
		printf(" %s", p->config[i]);
	puts("  (in the sandbox, kept across its runs)");
	if (p->login)
		printf("  %-12s %s\n", "login", p->login);
	if (p->env[0]) {
		printf("  %-12s", "env");
		for (size_t i = 0; p->env[i]; i++) {
			putchar(' ');
			put_env(stdout, p->env[i]);
		}
		putchar('\n');
	}
}

static int print_one(const char *name, json_t *arr, bool first)
{
	struct agent_preset p;
	char why[256];
	int r = agent_preset_find(name, &p, why, sizeof(why));

	if (r == -ENOENT) {
		say("no agent preset '%s' (airlock agents lists them)", name);
		return 1;
	}
	if (r) {
		say("the built-in preset '%s' is broken: %s", name, why);
		return 1;
	}
	if (arr) {
		json_array_append(arr, p.root);
	} else {
		if (!first)
			putchar('\n');
		print_text(&p);
	}
	agent_preset_free(&p);
	return 0;
}

int cmd_agents(int argc, char **argv)
{
	json_t *arr = NULL;
	bool first = true;
	int status = 0, named = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			if (!arr)
				arr = json_array();
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			json_decref(arr);
			return 0;
		} else if (argv[i][0] == '-') {
			say("agents: unknown option '%s'", argv[i]);
			json_decref(arr);
			return 2;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			continue;
		named++;
		status |= print_one(argv[i], arr, first);
		first = false;
	}
	for (const struct agent_blob *b = agent_blobs; !named && b->name; b++) {
		status |= print_one(b->name, arr, first);
		first = false;
	}
	if (arr) {
		char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (s)
			puts(s);
		free(s);
		json_decref(arr);
	}
	return status;
}
