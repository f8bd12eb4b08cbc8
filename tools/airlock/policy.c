/* Policy files on the host and `airlock policy` (policy.h). Files are read
 * with jansson, strictly (an unknown key is a typo to report, not to
 * skip), and written whole through a rename, so the running sandbox's
 * policy feeder never reads half a file. */
#include "tools/airlock/policy.h"
#include "tools/airlock/msg.h"
#include "tools/airlock/sandbox.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

/* One policy file, parsed. */
struct pfile {
	char path[PATH_MAX];
	bool exists;
	char preset[16];	/* "" if it names none */
	json_t *allow, *deny;	/* arrays of strings (owned) */
};

static void pfile_free(struct pfile *f)
{
	json_decref(f->allow);
	json_decref(f->deny);
	f->allow = f->deny = NULL;
}

static int file_path(char *out, size_t size, const char *home, const char *name)
{
	int n = name ? snprintf(out, size, "%s/sandboxes/%s/policy.json", home, name) :
		       snprintf(out, size, "%s/policy.json", home);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Reads path (missing is fine: empty). -EINVAL after saying why. */
static int pfile_load(struct pfile *f, const char *path)
{
	json_error_t jerr;
	const char *key;
	json_t *j, *v;
	int r = 0;

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->allow = json_array();
	f->deny = json_array();
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		say("%s: %s (line %d)", path, jerr.text, jerr.line);
		return -EINVAL;
	}
	f->exists = true;
	if (!json_is_object(j)) {
		say("%s: a policy file holds one object: {\"preset\": ..., \"allow\": "
		    "[...], \"deny\": [...]}", path);
		json_decref(j);
		return -EINVAL;
	}
	json_object_foreach(j, key, v) {
		if (strcmp(key, "preset") == 0) {
			if (!json_is_string(v) || !policy_preset(json_string_value(v))) {
				say("%s: \"preset\" is one of \"none\", \"dev\", \"open\"", path);
				r = -EINVAL;
				break;
			}
			snprintf(f->preset, sizeof(f->preset), "%s", json_string_value(v));
		} else if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0) {
			size_t i;
			json_t *e;

			if (!json_is_array(v)) {
				say("%s: \"%s\" is a list of rules", path, key);
				r = -EINVAL;
				break;
			}
			json_array_foreach(v, i, e) {
				if (!json_is_string(e)) {
					say("%s: \"%s\" holds a non-string", path, key);
					r = -EINVAL;
					break;
				}
			}
			if (r)
				break;
			json_array_extend(key[0] == 'a' ? f->allow : f->deny, v);
		} else {
			say("%s: unknown key \"%s\" (preset, allow, deny)", path, key);
			r = -EINVAL;
			break;
		}
	}
	json_decref(j);
	return r;
}

static int add_list(struct policy *p, json_t *list, bool deny, const char *source)
{
	char why[300];
	size_t i;
	json_t *e;

	json_array_foreach(list, i, e) {
		if (policy_add_text(p, deny, json_string_value(e), source, why,
				    sizeof(why))) {
			say("%s: %s", source, why);
			return -EINVAL;
		}
	}
	return 0;
}

int policy_compose(const char *home, const char *name, const struct net_opts *o,
		   struct policy *p)
{
	struct pfile g = { 0 }, s = { 0 };
	char path[PATH_MAX], why[300];
	const char *preset = POLICY_DEFAULT_PRESET;
	int r;

	memset(p, 0, sizeof(*p));
	r = file_path(path, sizeof(path), home, NULL);
	if (r == 0)
		r = pfile_load(&g, path);
	if (r == 0 && name && (r = file_path(path, sizeof(path), home, name)) == 0)
		r = pfile_load(&s, path);
	if (r)
		goto out;
	if (s.preset[0])
		preset = s.preset;
	else if (g.preset[0])
		preset = g.preset;
	/* --network open: the open preset in place of the files' one. */
	if (o && o->network && strcmp(o->network, "open") == 0)
		preset = "open";
	r = policy_add_preset(p, preset, why, sizeof(why));
	if (r)
		say("%s", why);
	if (r == 0)
		r = add_list(p, g.allow, false, g.path);
	if (r == 0)
		r = add_list(p, g.deny, true, g.path);
	if (r == 0)
		r = add_list(p, s.allow, false, s.path);
	if (r == 0)
		r = add_list(p, s.deny, true, s.path);
	for (size_t i = 0; r == 0 && o && i < o->nallow; i++)
		if (policy_add_text(p, false, o->allow[i], "airlock run --allow", why,
				    sizeof(why))) {
			say("--allow: %s", why);
			r = -EINVAL;
		}
out:
	pfile_free(&g);
	pfile_free(&s);
	return r;
}

/* --- airlock policy ------------------------------------------------------- */

static const char policy_usage[] =
	"usage: airlock policy show [NAME|--global]\n"
	"       airlock policy allow NAME|--global RULE...\n"
	"       airlock policy deny NAME|--global RULE...\n"
	"       airlock policy log NAME [--json] [-f]\n"
	"\n"
	"A sandbox reaches the network only through its gateway, which allows\n"
	"what these rules allow and denies everything else. Rules: host,\n"
	"*.domain, host:port, * (any name), CIDR (10.1.2.0/24, 1.2.3.4:22). A\n"
	"name rule without a port is for ports 80 and 443; a deny rule without a\n"
	"port denies every port; deny beats allow. The preset (none, dev, open;\n"
	"default dev) and the global rules come from $AIRLOCK_HOME/policy.json,\n"
	"a sandbox's own from sandboxes/NAME/policy.json. Changes reach a running\n"
	"sandbox at once, for its new connections.\n"
	"\n"
	"  show   the rules in force and where each comes from\n"
	"  allow  add rules to the sandbox's (or the global) allow list\n"
	"  deny   add rules to its deny list\n"
	"  log    the gateway's decisions: time, name, port, allow/deny, rule,\n"
	"         bytes each way (--json: as stored; -f: keep following)\n";

static int print_policy(const struct policy *p)
{
	uint16_t ports[POLICY_MAX_PORTS];
	size_t n = policy_ports(p, ports, POLICY_MAX_PORTS);

	printf("%-6s %-36s %s\n", "ACTION", "RULE", "FROM");
	for (size_t i = 0; i < p->n; i++)
		printf("%-6s %-36s %s\n", p->rules[i].deny ? "deny" : "allow",
		       p->rules[i].text, p->sources[p->rules[i].source]);
	if (!p->n)
		puts("(no rules: nothing is allowed)");
	printf("ports the sandbox listens on:");
	for (size_t i = 0; i < n; i++)
		printf(" %u", ports[i]);
	putchar('\n');
	return 0;
}

/* The last "policy" record in a running sandbox's network.log: what its
 * gateway has in force, --allow rules included. */
static int running_policy(const char *logpath, struct policy *p)
{
	char line[65536 + 16];
	json_t *last = NULL, *rules, *e;
	FILE *f = fopen(logpath, "re");
	size_t i;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		json_t *j;

		if (!strstr(line, "\"kind\":\"policy\""))
			continue;
		j = json_loads(line, 0, NULL);
		if (j) {
			json_decref(last);
			last = j;
		}
	}
	fclose(f);
	rules = json_object_get(last, "rules");
	if (!json_is_array(rules))
		goto out;
	memset(p, 0, sizeof(*p));
	json_array_foreach(rules, i, e) {
		const char *a = json_string_value(json_object_get(e, "action"));
		const char *rule = json_string_value(json_object_get(e, "rule"));
		const char *src = json_string_value(json_object_get(e, "source"));
		char why[300];

		if (!a || !rule || !src ||
		    policy_add_text(p, strcmp(a, "deny") == 0, rule, src, why, sizeof(why)))
			goto out;
	}
	r = 0;
out:
	json_decref(last);
	return r;
}

static int policy_show(const struct airlock_paths *paths, const char *name)
{
	static struct policy p;
	struct sandbox sb;
	char log[PATH_MAX + 16];

	if (name) {
		int r = sandbox_open(&sb, paths, name);

		if (r == -ENOENT)
			say("no sandbox '%s' (airlock ls lists them)", name);
		if (r)
			return 1;
		snprintf(log, sizeof(log), "%s/network.log", sb.dir);
		if (sandbox_running(&sb) && running_policy(log, &p) == 0) {
			printf("sandbox %s is running; its gateway has these rules in "
			       "force:\n", name);
			return print_policy(&p);
		}
	}
	if (policy_compose(paths->home, name, NULL, &p))
		return 1;
	if (name)
		printf("sandbox %s (its next run, before any --allow):\n", name);
	else
		printf("global defaults (every sandbox starts from these):\n");
	return print_policy(&p);
}

/* Adds rules to the allow or deny list of a policy file (and takes them
 * off the other list), written whole through a rename. */
static int policy_change(const struct airlock_paths *paths, const char *name,
			 bool deny, int nrules, char **rules)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], why[300];
	struct pfile f;
	struct sandbox sb;
	json_t *j, *add, *other;
	int r;

	for (int i = 0; i < nrules; i++) {
		struct rule rule;

		if (rule_parse(rules[i], &rule, why, sizeof(why))) {
			say("%s", why);
			return EXIT_USAGE;
		}
	}
	if (name) {
		r = sandbox_open(&sb, paths, name);
		if (r == -ENOENT)
			say("no sandbox '%s' (airlock ls lists them; `airlock policy %s "
			    "--global` changes the defaults)", name, deny ? "deny" : "allow");
		if (r)
			return 1;
	} else if (mkdir(paths->home, 0700) < 0 && errno != EEXIST) {
		say("cannot create %s: %s", paths->home, strerror(errno));
		return 1;
	}
	if (file_path(path, sizeof(path), paths->home, name)) {
		say("%s: path too long", paths->home);
		return 1;
	}
	if (pfile_load(&f, path))
		return 1;
	add = deny ? f.deny : f.allow;
	other = deny ? f.allow : f.deny;
	for (int i = 0; i < nrules; i++) {
		struct rule rule;
		bool have = false;
		size_t k;
		json_t *e;

		rule_parse(rules[i], &rule, why, sizeof(why));
		/* Compared in canonical form: "GitHub.com" is "github.com". */
		json_array_foreach(add, k, e) {
			struct rule old;

			if (rule_parse(json_string_value(e), &old, why, sizeof(why)) == 0 &&
			    strcmp(old.text, rule.text) == 0)
				have = true;
		}
		for (k = json_array_size(other); k-- > 0;) {
			struct rule old;

			if (rule_parse(json_string_value(json_array_get(other, k)), &old, why,
				       sizeof(why)) == 0 && strcmp(old.text, rule.text) == 0) {
				json_array_remove(other, k);
				printf("%s: no longer %s\n", rule.text, deny ? "allowed" : "denied");
			}
		}
		if (!have)
			json_array_append_new(add, json_string(rule.text));
		printf("%s: %s%s\n", rule.text, deny ? "denied" : "allowed",
		       have ? " (already)" : "");
	}
	j = json_object();
	if (f.preset[0])
		json_object_set_new(j, "preset", json_string(f.preset));
	json_object_set(j, "allow", f.allow);
	json_object_set(j, "deny", f.deny);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	r = 0;
	if (json_dump_file(j, tmp, JSON_INDENT(2)) < 0 || rename(tmp, path) < 0) {
		say("cannot write %s: %s", path, strerror(errno ? errno : EIO));
		unlink(tmp);
		r = 1;
	}
	json_decref(j);
	pfile_free(&f);
	if (r == 0 && name)
		printf(sandbox_running(&sb) ? "sandbox %s is running: its new connections "
		       "follow this now\n" : "sandbox %s follows this from its next run\n",
		       name);
	return r;
}

/* --- airlock policy log --------------------------------------------------- */

static void print_entry(const char *line)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *kind, *name, *addr, *action, *rule, *reason, *t, *qtype, *answer;
	json_int_t port, sent, received;
	char what[400], bytes[64] = "";

	if (!j)
		return;		/* a line cut by the log's halving */
	t = json_string_value(json_object_get(j, "time"));
	kind = json_string_value(json_object_get(j, "kind"));
	name = json_string_value(json_object_get(j, "name"));
	addr = json_string_value(json_object_get(j, "addr"));
	action = json_string_value(json_object_get(j, "action"));
	rule = json_string_value(json_object_get(j, "rule"));
	reason = json_string_value(json_object_get(j, "reason"));
	qtype = json_string_value(json_object_get(j, "qtype"));
	answer = json_string_value(json_object_get(j, "answer"));
	port = json_integer_value(json_object_get(j, "port"));
	sent = json_integer_value(json_object_get(j, "sent"));
	received = json_integer_value(json_object_get(j, "received"));
	if (!kind || !t) {
		json_decref(j);
		return;
	}
	if (strcmp(kind, "policy") == 0) {
		printf("%s  policy  %zu rules in force\n", t,
		       json_array_size(json_object_get(j, "rules")));
		json_decref(j);
		return;
	}
	if (strcmp(kind, "dns") == 0)
		snprintf(what, sizeof(what), "%s %s%s%s", qtype ? qtype : "?",
			 name ? name : "?", answer && *answer ? " -> " : "",
			 answer ? answer : "");
	else if (name)
		snprintf(what, sizeof(what), "%s:%lld (%s)", name, (long long)port,
			 addr ? addr : "?");
	else
		snprintf(what, sizeof(what), "%s:%lld", addr ? addr : "-", (long long)port);
	if (strcmp(kind, "tcp") == 0 && json_object_get(j, "sent"))
		snprintf(bytes, sizeof(bytes), " sent %lld received %lld",
			 (long long)sent, (long long)received);
	printf("%s  %-5s %-4s %s%s%s%s%s%s\n", t, action ? action : "-", kind, what,
	       rule ? "  rule " : "", rule ? rule : "", bytes, reason ? "  " : "",
	       reason ? reason : "");
	json_decref(j);
}

static int policy_log(const struct airlock_paths *paths, const char *name,
		      bool json, bool follow)
{
	char path[PATH_MAX + 16], line[65536 + 16], last[65536 + 16] = "";
	struct sandbox sb;
	off_t pos = 0;
	int r = sandbox_open(&sb, paths, name);
	FILE *f;

	if (r == -ENOENT)
		say("no sandbox '%s' (airlock ls lists them)", name);
	if (r)
		return 1;
	snprintf(path, sizeof(path), "%s/network.log", sb.dir);
	for (;;) {
		struct stat st;
		bool skip = false;

		f = fopen(path, "re");
		if (!f && errno != ENOENT) {
			say("cannot read %s: %s", path, strerror(errno));
			return 1;
		}
		if (f && fstat(fileno(f), &st) == 0 && st.st_size < pos) {
			/* The log dropped its older half: go on after the
			 * last line shown, wherever it is now. */
			skip = last[0] != '\0';
			pos = 0;
		}
		if (f && fseeko(f, pos, SEEK_SET) == 0) {
			while (fgets(line, sizeof(line), f)) {
				size_t len = strlen(line);

				if (len == 0 || line[len - 1] != '\n')
					break;	/* being written: next time */
				pos += (off_t)len;
				if (skip) {
					skip = strcmp(line, last) != 0;
					continue;
				}
				snprintf(last, sizeof(last), "%s", line);
				if (json)
					fputs(line, stdout);
				else
					print_entry(line);
			}
		}
		if (f)
			fclose(f);
		fflush(stdout);
		if (!follow)
			return 0;
		usleep(250 * 1000);
	}
}

int cmd_policy(int argc, char **argv)
{
	struct airlock_paths paths;
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		fputs(policy_usage, sub ? stdout : stderr);
		return sub ? 0 : EXIT_USAGE;
	}
	if (paths_resolve(&paths))
		return 1;
	if (strcmp(sub, "show") == 0) {
		if (argc > 3) {
			fputs(policy_usage, stderr);
			return EXIT_USAGE;
		}
		return policy_show(&paths, argc == 3 && strcmp(argv[2], "--global") ?
				   argv[2] : NULL);
	}
	if (strcmp(sub, "allow") == 0 || strcmp(sub, "deny") == 0) {
		if (argc < 4) {
			say("policy %s: NAME (or --global) and at least one rule, e.g. "
			    "airlock policy %s NAME github.com", sub, sub);
			return EXIT_USAGE;
		}
		return policy_change(&paths, strcmp(argv[2], "--global") ? argv[2] : NULL,
				     sub[0] == 'd', argc - 3, argv + 3);
	}
	if (strcmp(sub, "log") == 0) {
		const char *name = NULL;
		bool json = false, follow = false;

		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--json") == 0)
				json = true;
			else if (strcmp(argv[i], "-f") == 0 || strcmp(argv[i], "--follow") == 0)
				follow = true;
			else if (argv[i][0] != '-' && !name)
				name = argv[i];
			else {
				say("policy log: unexpected '%s'", argv[i]);
				return EXIT_USAGE;
			}
		}
		if (!name) {
			say("policy log: which sandbox? (airlock policy log NAME)");
			return EXIT_USAGE;
		}
		return policy_log(&paths, name, json, follow);
	}
	say("policy: unknown subcommand '%s' (show, allow, deny, log)", sub);
	return EXIT_USAGE;
}
