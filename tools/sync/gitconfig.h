/* Just enough of git's own file formats to tell whether a change to a
 * repository's config or attributes adds something git would run: the
 * config syntax (sections, "subsections", [legacy.dotted] ones, quoting
 * and escapes, continuation lines, comments, keys without a value) and
 * .gitattributes lines naming filter, diff or merge drivers. Pure code
 * (tests/unit/test_gitconfig.c); the rules themselves are data
 * (protected.list). */
#ifndef AIRLOCK_TOOLS_SYNC_GITCONFIG_H
#define AIRLOCK_TOOLS_SYNC_GITCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* A key rule: "section.key", "section.*.key" (any subsection),
 * "section.*" (any key, with or without a subsection), optionally with
 * "=GLOB" on the value (alias.*=!* : aliases that run a shell). Section
 * and key compare without case, as git does; subsections with. */
struct gitcfg_rule {
	char *section, *sub, *key, *value;	/* sub NULL: none; "*": any */
	bool any_sub;				/* "section.*" */
};

/* Parses one rule; -EINVAL if malformed. */
int gitcfg_rule_parse(const char *text, struct gitcfg_rule *r);
void gitcfg_rule_free(struct gitcfg_rule *r);

/* A list of strings (a multiset). */
struct strlist {
	char **s;
	size_t n, cap;
};
void strlist_free(struct strlist *l);

/* Every "key=value" of text whose key a rule matches, keys spelt
 * "section.subsection.key" with section and key in lower case. -EINVAL if
 * text is not git config syntax (the caller then holds the change). */
int gitcfg_collect(const char *text, size_t len, const struct gitcfg_rule *rules,
		   size_t nrules, struct strlist *out);

/* Every line of .gitattributes text that sets one of the given attributes
 * to a value (filter=x, diff=x, merge=x): "pattern attr=value ...". */
int gitattr_collect(const char *text, size_t len, char *const *attrs, size_t nattrs,
		    struct strlist *out);

/* The first string of new that old does not have (as many times), or
 * NULL: what a change adds or alters. */
const char *strlist_added(const struct strlist *old, const struct strlist *new_);

#endif
