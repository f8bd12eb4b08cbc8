/* Agent presets (tools/airlock/agents.h): every built-in one parses and
 * holds what `airlock run AGENT` needs; malformed presets are refused with
 * a reason; the command line and environment an agent run gets. */
#include "tests/unit/check.h"
#include "tools/airlock/agents.h"
#include "tools/airlock/sandbox.h"
#include "tools/airlock/args.h"

#include <errno.h>
#include <stdlib.h>

/* A valid preset with one field replaced (or dropped with a NULL value):
 * each case differs from it by exactly what it tests. */
static char *preset_with(const char *key, const char *json_value)
{
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:[s], s:{s:[s], s:[]}, s:[s, s], s:[{s:s, s:s}],"
		" s:[{s:s, s:s}], s:[s], s:s, s:[s]}",
		"name", "demo", "title", "Demo", "template", "demo",
		"command", "demo",
		"permissions_off", "args", "--yes", "env",
		"unattended", "-p", "{prompt}",
		"hosts", "host", "api.example.com", "for", "the API",
		"credentials", "env", "DEMO_KEY", "for", "a key",
		"config", "~/.demo",
		"login", "demo login",
		"env", "DEMO_QUIET=1");
	char *s;

	if (key) {
		if (json_value) {
			json_error_t err;
			json_t *v = json_loads(json_value, JSON_DECODE_ANY, &err);

			if (!v) {
				fprintf(stderr, "  bad test value %s: %s\n", json_value, err.text);
				abort();
			}
			json_object_set_new(o, key, v);
		} else {
			json_object_del(o, key);
		}
	}
	s = json_dumps(o, 0);
	json_decref(o);
	return s;
}

static int parse(const char *text, struct agent_preset *p, char *why, size_t size)
{
	return agent_preset_parse(text, strlen(text), "demo", p, why, size);
}

TEST(builtin_presets_parse)
{
	static const char *const names[] = { "claude", "codex", "gemini", "opencode" };
	size_t n = 0;

	for (const struct agent_blob *b = agent_blobs; b->name; b++)
		n++;
	CHECK_EQ(n, 4);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct agent_preset p;
		char why[256] = "";
		int r = agent_preset_find(names[i], &p, why, sizeof(why));

		if (r)
			fprintf(stderr, "  %s: %s\n", names[i], why);
		CHECK_EQ(r, 0);
		if (r)
			continue;
		CHECK_STR(p.name, names[i]);
		CHECK_STR(p.template_name, names[i]);
		CHECK(p.nhosts >= 1);
		CHECK(p.ncreds >= 1);
		CHECK(p.perm_args[0] || p.perm_env[0]);
		agent_preset_free(&p);
	}
	{
		struct agent_preset p;
		char why[64];

		CHECK_EQ(agent_preset_find("nope", &p, why, sizeof(why)), -ENOENT);
	}
}

TEST(builtin_switches)
{
	static const struct {
		const char *name, *arg, *env;
	} t[] = {
		{ "claude", "--dangerously-skip-permissions", NULL },
		{ "codex", "--dangerously-bypass-approvals-and-sandbox", NULL },
		{ "gemini", "--yolo", NULL },
		{ "opencode", NULL, "OPENCODE_PERMISSION={\"*\":\"allow\"}" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct agent_preset p;
		char why[256];

		if (agent_preset_find(t[i].name, &p, why, sizeof(why))) {
			CHECK(!"preset missing");
			continue;
		}
		if (t[i].arg)
			CHECK_STR(p.perm_args[0], t[i].arg);
		if (t[i].env)
			CHECK_STR(p.perm_env[0], t[i].env);
		agent_preset_free(&p);
	}
}

TEST(malformed_presets_refused)
{
	static const struct {
		const char *key, *value, *why;
	} t[] = {
		{ "name", "\"other\"", "must be 'demo'" },
		{ "name", "\"Demo\"", "must be 'demo'" },
		{ "name", NULL, "\"name\" must be a non-empty string" },
		{ "title", "\"\"", "\"title\" must be a non-empty string" },
		{ "template", "\"../x\"", "not a template name" },
		{ "command", "[]", "\"command\" must hold 1 to" },
		{ "command", "\"demo\"", "\"command\" must be an array" },
		{ "command", "[\"\"]", "\"command\"[0] must be a non-empty string" },
		{ "command", "[1]", "\"command\"[0] must be a non-empty string" },
		{ "unattended", "[\"-p\"]", "must hold \"{prompt}\"" },
		{ "permissions_off", "{\"args\": [], \"env\": []}", "names neither" },
		{ "permissions_off", "{\"args\": [\"-y\"]}", "\"env\" must be an array" },
		{ "permissions_off", "{\"args\": [\"-y\"], \"env\": [], \"x\": 1}", "unknown key \"x\"" },
		{ "permissions_off", "{\"args\": [], \"env\": [\"NOEQUALS\"]}", "not NAME=VALUE" },
		{ "env", "[\"=1\"]", "not NAME=VALUE" },
		{ "env", "[\"A B=1\"]", "not NAME=VALUE" },
		{ "env", "[\"1A=1\"]", "not NAME=VALUE" },
		{ "config", "[\"relative\"]", "must start with ~/ or /" },
		{ "hosts", "[]", "\"hosts\" must be an array of 1 to" },
		{ "hosts", "[{\"host\": \"API.example.com\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"localhost\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"10.0.0.1\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"a..b\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"-a.b\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"a-.b\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"*.example.com\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"example.com:8443\", \"for\": \"x\"}]", "not a host name" },
		{ "hosts", "[{\"host\": \"example.com\"}]", "\"for\" must be a non-empty string" },
		{ "hosts", "[{\"host\": \"example.com\", \"for\": \"x\", \"port\": 1}]", "unknown key \"port\"" },
		{ "hosts", "[\"example.com\"]", "must be an object" },
		{ "credentials", "[{\"env\": \"A-B\", \"for\": \"x\"}]", "not a variable name" },
		{ "login", "5", "\"login\" must be a non-empty string" },
		{ "colour", "\"red\"", "unknown key \"colour\"" },
	};
	struct agent_preset p;
	char why[256], *s;

	s = preset_with(NULL, NULL);
	CHECK_EQ(parse(s, &p, why, sizeof(why)), 0);
	CHECK_STR(p.hosts[0].name, "api.example.com");
	CHECK_STR(p.creds[0].name, "DEMO_KEY");
	CHECK_STR(p.env[0], "DEMO_QUIET=1");
	CHECK(p.env[1] == NULL);
	agent_preset_free(&p);
	free(s);
	/* Optional: login. */
	s = preset_with("login", NULL);
	CHECK_EQ(parse(s, &p, why, sizeof(why)), 0);
	CHECK(p.login == NULL);
	agent_preset_free(&p);
	free(s);

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r;

		s = preset_with(t[i].key, t[i].value);
		why[0] = '\0';
		r = parse(s, &p, why, sizeof(why));
		if (r != -EINVAL || !strstr(why, t[i].why))
			fprintf(stderr, "  case %s=%s: %d '%s'\n", t[i].key,
				t[i].value ? t[i].value : "(none)", r, why);
		CHECK_EQ(r, -EINVAL);
		CHECK(strstr(why, t[i].why) != NULL);
		CHECK(p.root == NULL);
		free(s);
	}
	/* Not JSON, not an object, a key twice. */
	CHECK_EQ(parse("{", &p, why, sizeof(why)), -EINVAL);
	CHECK_EQ(parse("[]", &p, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "not a JSON object") != NULL);
	CHECK_EQ(parse("{\"name\": \"demo\", \"name\": \"demo\"}", &p, why, sizeof(why)),
		 -EINVAL);
}

TEST(argv_and_env)
{
	static char *args[] = { "-p", "fix it" };
	const char *out[8], *env[8];
	const char *user[] = { "DEMO_KEY=k", "DEMO_QUIET=0", NULL };
	struct agent_preset p;
	char why[256], *s = preset_with(NULL, NULL);

	CHECK_EQ(parse(s, &p, why, sizeof(why)), 0);
	CHECK_EQ(agent_argv(&p, 2, args, out, 8), 4);
	CHECK_STR(out[0], "demo");
	CHECK_STR(out[1], "--yes");
	CHECK_STR(out[2], "-p");
	CHECK_STR(out[3], "fix it");
	CHECK(out[4] == NULL);
	CHECK_EQ(agent_argv(&p, 0, args, out, 8), 2);
	CHECK(out[2] == NULL);
	CHECK_EQ(agent_argv(&p, 2, args, out, 4), -E2BIG);
	CHECK_EQ(agent_argv(&p, 2, args, out, 5), 4);

	/* -e DEMO_QUIET=0 replaces the preset's; the key goes in as given. */
	CHECK_EQ(agent_env(&p, user, env, 8), 2);
	CHECK_STR(env[0], "DEMO_KEY=k");
	CHECK_STR(env[1], "DEMO_QUIET=0");
	CHECK(env[2] == NULL);
	CHECK_EQ(agent_env(&p, NULL, env, 8), 1);
	CHECK_STR(env[0], "DEMO_QUIET=1");
	CHECK_EQ(agent_env(&p, user, env, 2), -E2BIG);
	agent_preset_free(&p);
	free(s);

	/* The permission switch's environment comes in too. */
	s = preset_with("permissions_off", "{\"args\": [], \"env\": [\"DEMO_ALLOW=all\"]}");
	CHECK_EQ(parse(s, &p, why, sizeof(why)), 0);
	CHECK_EQ(agent_argv(&p, 0, args, out, 8), 1);
	CHECK_EQ(agent_env(&p, NULL, env, 8), 2);
	CHECK_STR(env[0], "DEMO_QUIET=1");
	CHECK_STR(env[1], "DEMO_ALLOW=all");
	agent_preset_free(&p);
	free(s);
}

TEST(credentials_and_networks)
{
	enum agent_network n = AGENT_NET_OPEN;

	CHECK(agent_is_credential("ANTHROPIC_API_KEY"));
	CHECK(agent_is_credential("OPENAI_API_KEY"));
	CHECK(agent_is_credential("GEMINI_API_KEY"));
	CHECK(!agent_is_credential("PATH"));
	CHECK(!agent_is_credential("ANTHROPIC_API_KEY2"));
	CHECK_EQ(agent_network_parse("agent", &n), 0);
	CHECK_EQ(n, AGENT_NET_AGENT);
	CHECK_EQ(agent_network_parse("dev", &n), 0);
	CHECK_EQ(n, AGENT_NET_DEV);
	CHECK_EQ(agent_network_parse("open", &n), 0);
	CHECK_EQ(n, AGENT_NET_OPEN);
	CHECK_EQ(agent_network_parse("none", &n), -EINVAL);
	CHECK_EQ(agent_network_parse("", &n), -EINVAL);
	CHECK_STR(agent_network_name(AGENT_NET_DEV), "dev");
}

TEST(sandbox_names)
{
	char out[80];

	agent_sandbox_name("/home/u/src/app", "claude", out, sizeof(out));
	CHECK(strncmp(out, "app-", 4) == 0);
	CHECK_EQ(strlen(out), strlen("app-123456-claude"));
	CHECK_STR(out + strlen(out) - 7, "-claude");
	/* Another folder of the same name: another sandbox. */
	{
		char other[80];

		agent_sandbox_name("/tmp/app", "claude", other, sizeof(other));
		CHECK(strcmp(out, other) != 0);
	}
	/* A long folder name is cut (SANDBOX_STEM_MAX) so the sandbox's
	 * socket paths fit. */
	agent_sandbox_name("/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
			   "opencode", out, sizeof(out));
	CHECK_EQ(strlen(out), SANDBOX_STEM_MAX + 7 + 9);
	CHECK(args_name_ok(out, 63));
	CHECK_STR(out + SANDBOX_STEM_MAX + 7, "-opencode");
}

CHECK_MAIN(TEST_ENTRY(builtin_presets_parse), TEST_ENTRY(builtin_switches),
	   TEST_ENTRY(malformed_presets_refused), TEST_ENTRY(argv_and_env),
	   TEST_ENTRY(credentials_and_networks), TEST_ENTRY(sandbox_names))
