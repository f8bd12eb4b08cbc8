/* Agent presets: see agents.h. The JSON is the project's own, compiled in,
 * but it decides what a sandbox may reach, so it is checked as strictly as
 * user input: unknown keys, wrong types and malformed names are errors. */
#include "tools/airlock/agents.h"
#include "tools/airlock/args.h"
#include "tools/airlock/sandbox.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARG_MAX_LEN 4096

__attribute__((format(printf, 3, 4)))
static int bad(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool var_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

/* NAME=VALUE with a variable name before the '='. */
static bool env_entry_ok(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq && var_name_ok(s, (size_t)(eq - s)) && strlen(s) <= ARG_MAX_LEN;
}

/* A DNS name as the gateway's rules take it: lower-case labels of letters,
 * digits and '-', not starting or ending with '-', at least two of them,
 * the last not all digits. */
static bool host_ok(const char *s)
{
	size_t len = strlen(s), label = 0, labels = 1;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			labels++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	/* An address is a CIDR rule's business: the last label has a letter. */
	if (strspn(strrchr(s, '.') ? strrchr(s, '.') + 1 : s, "0123456789") == label)
		return false;
	return label > 0 && s[len - 1] != '-' && labels >= 2;
}

static bool preset_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > AGENT_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      (i > 0 && (c == '-' || c == '_'))))
			return false;
	}
	return true;
}

static int get_string(json_t *o, const char *key, bool required, const char **out,
		      char *why, size_t size)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > ARG_MAX_LEN ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return bad(why, size, "\"%s\" must be a non-empty string", key);
	*out = json_string_value(v);
	return 0;
}

enum list_kind { L_ARG, L_ENV, L_PATH };

/* An array of strings into out (NULL-terminated); at least min of them. */
static int get_list(json_t *o, const char *key, enum list_kind kind, size_t min,
		    const char **out, char *why, size_t size)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;

	out[0] = NULL;
	if (!json_is_array(a))
		return bad(why, size, "\"%s\" must be an array of strings", key);
	if (json_array_size(a) < min || json_array_size(a) > AGENT_LIST_MAX)
		return bad(why, size, "\"%s\" must hold %zu to %d entries", key, min,
			   AGENT_LIST_MAX);
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);

		if (!s || json_string_length(v) == 0 || strlen(s) != json_string_length(v) ||
		    json_string_length(v) > ARG_MAX_LEN)
			return bad(why, size, "\"%s\"[%zu] must be a non-empty string", key, i);
		if (kind == L_ENV && !env_entry_ok(s))
			return bad(why, size, "\"%s\"[%zu] '%s' is not NAME=VALUE", key, i, s);
		if (kind == L_PATH && strncmp(s, "~/", 2) != 0 && s[0] != '/')
			return bad(why, size, "\"%s\"[%zu] '%s' must start with ~/ or /", key,
				   i, s);
		out[i] = s;
		out[i + 1] = NULL;
	}
	return 0;
}

/* [{ "host"|"env": NAME, "for": WHY }, ...] */
static int get_items(json_t *o, const char *key, const char *name_key, bool hosts,
		     struct agent_item *out, unsigned int *n, char *why, size_t size)
{
	json_t *a = json_object_get(o, key), *v;
	size_t i;

	*n = 0;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > AGENT_LIST_MAX)
		return bad(why, size, "\"%s\" must be an array of 1 to %d objects", key,
			   AGENT_LIST_MAX);
	json_array_foreach(a, i, v) {
		const char *k;
		json_t *x;
		int r;

		if (!json_is_object(v))
			return bad(why, size, "\"%s\"[%zu] must be an object", key, i);
		json_object_foreach(v, k, x)
			if (strcmp(k, name_key) != 0 && strcmp(k, "for") != 0)
				return bad(why, size, "\"%s\"[%zu]: unknown key \"%s\"", key, i, k);
		r = get_string(v, name_key, true, &out[i].name, why, size);
		if (r == 0)
			r = get_string(v, "for", true, &out[i].why, why, size);
		if (r)
			return r;
		if (hosts && !host_ok(out[i].name))
			return bad(why, size, "\"%s\"[%zu]: '%s' is not a host name", key, i,
				   out[i].name);
		if (!hosts && !var_name_ok(out[i].name, strlen(out[i].name)))
			return bad(why, size, "\"%s\"[%zu]: '%s' is not a variable name", key,
				   i, out[i].name);
		*n = (unsigned int)i + 1;
	}
	return 0;
}

static int check(struct agent_preset *p, const char *name, char *why, size_t size)
{
	static const char *const keys[] = {
		"name", "title", "template", "command", "permissions_off", "unattended",
		"hosts", "credentials", "config", "login", "env",
	};
	json_t *o = p->root, *perm, *x;
	const char *k;
	bool prompt = false;
	int r;

	if (!json_is_object(o))
		return bad(why, size, "not a JSON object");
	json_object_foreach(o, k, x) {
		bool known = false;

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			known |= strcmp(k, keys[i]) == 0;
		if (!known)
			return bad(why, size, "unknown key \"%s\"", k);
	}
	if ((r = get_string(o, "name", true, &p->name, why, size)) ||
	    (r = get_string(o, "title", true, &p->title, why, size)) ||
	    (r = get_string(o, "template", true, &p->template_name, why, size)) ||
	    (r = get_string(o, "login", false, &p->login, why, size)))
		return r;
	if (!preset_name_ok(p->name) || strcmp(p->name, name) != 0)
		return bad(why, size, "\"name\" '%s' must be '%s' (the file's name)", p->name,
			   name);
	if (!args_name_ok(p->template_name, 63))
		return bad(why, size, "\"template\" '%s' is not a template name",
			   p->template_name);
	if ((r = get_list(o, "command", L_ARG, 1, p->command, why, size)) ||
	    (r = get_list(o, "unattended", L_ARG, 1, p->unattended, why, size)) ||
	    (r = get_list(o, "config", L_PATH, 1, p->config, why, size)) ||
	    (r = get_list(o, "env", L_ENV, 0, p->env, why, size)))
		return r;
	for (size_t i = 0; p->unattended[i]; i++)
		prompt |= strcmp(p->unattended[i], "{prompt}") == 0;
	if (!prompt)
		return bad(why, size, "\"unattended\" must hold \"{prompt}\"");
	perm = json_object_get(o, "permissions_off");
	if (!json_is_object(perm))
		return bad(why, size, "\"permissions_off\" must be an object");
	json_object_foreach(perm, k, x)
		if (strcmp(k, "args") != 0 && strcmp(k, "env") != 0)
			return bad(why, size, "\"permissions_off\": unknown key \"%s\"", k);
	if ((r = get_list(perm, "args", L_ARG, 0, p->perm_args, why, size)) ||
	    (r = get_list(perm, "env", L_ENV, 0, p->perm_env, why, size)))
		return r;
	if (!p->perm_args[0] && !p->perm_env[0])
		return bad(why, size, "\"permissions_off\" names neither arguments nor env");
	if ((r = get_items(o, "hosts", "host", true, p->hosts, &p->nhosts, why, size)) ||
	    (r = get_items(o, "credentials", "env", false, p->creds, &p->ncreds, why,
			   size)))
		return r;
	return 0;
}

int agent_preset_parse(const char *text, size_t len, const char *name,
		       struct agent_preset *p, char *why, size_t size)
{
	json_error_t err;
	int r;

	*p = (struct agent_preset){ 0 };
	p->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!p->root)
		return bad(why, size, "line %d: %s", err.line, err.text);
	r = check(p, name, why, size);
	if (r) {
		json_decref(p->root);
		*p = (struct agent_preset){ 0 };
	}
	return r;
}

int agent_preset_find(const char *name, struct agent_preset *p, char *why,
		      size_t size)
{
	for (const struct agent_blob *b = agent_blobs; b->name; b++)
		if (strcmp(b->name, name) == 0)
			return agent_preset_parse(b->text, b->len, name, p, why, size);
	return -ENOENT;
}

void agent_preset_free(struct agent_preset *p)
{
	json_decref(p->root);
	*p = (struct agent_preset){ 0 };
}

bool agent_is_credential(const char *var)
{
	for (const struct agent_blob *b = agent_blobs; b->name; b++) {
		struct agent_preset p;
		char why[8];
		bool hit = false;

		if (agent_preset_parse(b->text, b->len, b->name, &p, why, sizeof(why)))
			continue;
		for (unsigned int i = 0; i < p.ncreds; i++)
			hit |= strcmp(p.creds[i].name, var) == 0;
		agent_preset_free(&p);
		if (hit)
			return true;
	}
	return false;
}

int agent_argv(const struct agent_preset *p, int argc, char *const *args,
	       const char **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; p->command[i]; i++) {
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = p->command[i];
	}
	for (size_t i = 0; p->perm_args[i]; i++) {
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = p->perm_args[i];
	}
	for (int i = 0; i < argc; i++) {
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = args[i];
	}
	if (n >= cap)
		return -E2BIG;
	out[n] = NULL;
	return (int)n;
}

static bool same_name(const char *a, const char *b)
{
	size_t ka = strcspn(a, "="), kb = strcspn(b, "=");

	return ka == kb && memcmp(a, b, ka) == 0;
}

static int add_unless_set(const char *e, const char *const *user, const char **out,
			  size_t *n, size_t cap)
{
	for (size_t j = 0; user && user[j]; j++)
		if (same_name(e, user[j]))
			return 0;
	if (*n + 1 >= cap)
		return -E2BIG;
	out[(*n)++] = e;
	return 0;
}

int agent_env(const struct agent_preset *p, const char *const *user,
	      const char **out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; p->env[i]; i++)
		if (add_unless_set(p->env[i], user, out, &n, cap))
			return -E2BIG;
	for (size_t i = 0; p->perm_env[i]; i++)
		if (add_unless_set(p->perm_env[i], user, out, &n, cap))
			return -E2BIG;
	for (size_t j = 0; user && user[j]; j++) {
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = user[j];
	}
	if (n >= cap)
		return -E2BIG;
	out[n] = NULL;
	return (int)n;
}

static const char *const net_names[] = {
	[AGENT_NET_AGENT] = "agent",
	[AGENT_NET_DEV] = "dev",
	[AGENT_NET_OPEN] = "open",
};

int agent_network_parse(const char *s, enum agent_network *n)
{
	for (size_t i = 0; i < sizeof(net_names) / sizeof(net_names[0]); i++) {
		if (strcmp(s, net_names[i]) == 0) {
			*n = (enum agent_network)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *agent_network_name(enum agent_network n)
{
	return (size_t)n < sizeof(net_names) / sizeof(net_names[0]) ? net_names[n] : "?";
}

void agent_sandbox_name(const char *dir, const char *agent, char *out, size_t size)
{
	char stem[64];
	size_t a = strlen(agent) < AGENT_NAME_MAX ? strlen(agent) : AGENT_NAME_MAX;

	/* stem + '-' + 6 hex digits + '-' + agent, as sandbox_name_for_dir. */
	args_name_stem(dir, stem, SANDBOX_STEM_MAX);
	snprintf(out, size, "%s-%06llx-%.*s", stem,
		 (unsigned long long)(args_hash(dir) & 0xffffff), (int)a, agent);
}
