/* tools/sync/gitconfig: git config syntax as git reads it (sections,
 * "subsections", [legacy.dotted] ones, continuation lines, quoting and
 * escapes, comments, keys alone), which keys a rule matches, which
 * .gitattributes lines name drivers, and what a change adds. */
#include "tests/unit/check.h"
#include "tools/sync/gitconfig.h"

#include <errno.h>
#include <stdlib.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const rule_text[] = {
	"core.fsmonitor", "core.hooksPath", "diff.*.textconv", "filter.*", "alias.*=!*",
	"include.path", "includeIf.*.path", "credential.helper", "credential.*.helper",
	"remote.*.uploadpack",
};
static struct gitcfg_rule rules[NELEM(rule_text)];

static void load_rules(void)
{
	for (size_t i = 0; i < NELEM(rule_text); i++)
		CHECK_EQ(gitcfg_rule_parse(rule_text[i], &rules[i]), 0);
}

static void free_rules(void)
{
	for (size_t i = 0; i < NELEM(rule_text); i++)
		gitcfg_rule_free(&rules[i]);
}

/* The items of text, joined by '|', or "ERR". */
static const char *items(const char *text)
{
	static char out[2048];
	struct strlist l = { 0 };
	size_t o = 0;

	if (gitcfg_collect(text, strlen(text), rules, NELEM(rules), &l) < 0) {
		strlist_free(&l);
		return "ERR";
	}
	out[0] = 0;
	for (size_t i = 0; i < l.n; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "|" : "", l.s[i]);
	strlist_free(&l);
	return out;
}

TEST(config_syntax)
{
	static const struct {
		const char *text, *want;
	} t[] = {
		{ "", "" },
		{ "[core]\n\tbare = false\n\trepositoryformatversion = 0\n", "" },
		{ "[core]\n\tfsmonitor = /tmp/x\n", "core.fsmonitor=/tmp/x" },
		/* Case: section and key fold, the value does not. */
		{ "[CORE]\n\tFsMonitor = Evil\n", "core.fsmonitor=Evil" },
		{ "[core]\n\thookspath=.githooks", "core.hookspath=.githooks" },
		/* Subsections: quoted (kept as is, escapes), legacy dotted. */
		{ "[diff \"pdf\"]\n\ttextconv = pdftotext\n", "diff.pdf.textconv=pdftotext" },
		{ "[diff \"a\\\"b\"]\n\ttextconv = x\n", "diff.a\"b.textconv=x" },
		{ "[diff.pdf]\n\ttextconv = y\n", "diff.pdf.textconv=y" },
		{ "[diff \"pdf\"]\n\tcommand = y\n", "" },
		/* Any key of filter.*, with or without a subsection. */
		{ "[filter \"lfs\"]\n\tclean = git-lfs clean\n\tsmudge = x\n",
		  "filter.lfs.clean=git-lfs clean|filter.lfs.smudge=x" },
		/* Aliases: only those that run a shell. */
		{ "[alias]\n\tco = checkout\n\tx = !sh -c 'id'\n", "alias.x=!sh -c 'id'" },
		/* Quoting, escapes, comments, continuation lines. */
		{ "[core]\n\tfsmonitor = \"a b\" c ; comment\n", "core.fsmonitor=a b c" },
		{ "[core]\n\tfsmonitor = \"semi;colon\" # x\n", "core.fsmonitor=semi;colon" },
		{ "[core]\n\tfsmonitor = one\\\n two\n", "core.fsmonitor=one two" },
		{ "[core]\n\tfsmonitor = tab\\there\n", "core.fsmonitor=tab\there" },
		{ "# comment\n; another\n[core] fsmonitor = same-line\n", "core.fsmonitor=same-line" },
		/* A key alone is true. */
		{ "[core]\n\tfsmonitor\n", "core.fsmonitor=true" },
		/* includes. */
		{ "[include]\n\tpath = ~/evil\n", "include.path=~/evil" },
		{ "[includeIf \"gitdir:~/w/\"]\n\tpath = x\n", "includeif.gitdir:~/w/.path=x" },
		{ "[credential]\n\thelper = store\n[credential \"https://x\"]\n\thelper = y\n",
		  "credential.helper=store|credential.https://x.helper=y" },
		{ "[remote \"o\"]\n\turl = x\n\tuploadpack = evil\n", "remote.o.uploadpack=evil" },
		/* Not git config: refused (the change is then held). */
		{ "fsmonitor = x\n", "ERR" },
		{ "[core\n", "ERR" },
		{ "[core \"x]\n", "ERR" },
		{ "[core]\n\tfsmonitor = \"open\n", "ERR" },
		{ "[core]\n\tfsmonitor = bad\\qescape\n", "ERR" },
		{ "[core]\n\t1key = x\n", "ERR" },
	};

	load_rules();
	for (size_t i = 0; i < NELEM(t); i++) {
		const char *got = items(t[i].text);

		if (strcmp(got, t[i].want))
			fprintf(stderr, "config %zu: '%s', expected '%s'\n", i, got, t[i].want);
		CHECK_STR(got, t[i].want);
	}
	free_rules();
}

TEST(config_change_adds)
{
	struct strlist a = { 0 }, b = { 0 };
	static const char old[] = "[core]\n\tbare = false\n\tfsmonitor = x\n";
	static const char same_moved[] = "[user]\n\tname = A\n[core]\n\tfsmonitor = x\n";
	static const char altered[] = "[core]\n\tfsmonitor = y\n";
	static const char removed[] = "[core]\n\tbare = true\n";

	load_rules();
	CHECK_EQ(gitcfg_collect(old, strlen(old), rules, NELEM(rules), &a), 0);
	CHECK_EQ(gitcfg_collect(same_moved, strlen(same_moved), rules, NELEM(rules), &b), 0);
	CHECK(strlist_added(&a, &b) == NULL);	/* nothing new runs */
	strlist_free(&b);
	CHECK_EQ(gitcfg_collect(altered, strlen(altered), rules, NELEM(rules), &b), 0);
	CHECK_STR(strlist_added(&a, &b), "core.fsmonitor=y");
	strlist_free(&b);
	CHECK_EQ(gitcfg_collect(removed, strlen(removed), rules, NELEM(rules), &b), 0);
	CHECK(strlist_added(&a, &b) == NULL);	/* removing is not adding */
	strlist_free(&b);
	/* A second copy of a key counts. */
	CHECK_EQ(gitcfg_collect("[core]\nfsmonitor=x\nfsmonitor=x\n", 30, rules, NELEM(rules), &b), 0);
	CHECK_STR(strlist_added(&a, &b), "core.fsmonitor=x");
	strlist_free(&a);
	strlist_free(&b);
	free_rules();
	{
		struct gitcfg_rule r;

		CHECK_EQ(gitcfg_rule_parse("nodot", &r), -EINVAL);
		CHECK_EQ(gitcfg_rule_parse("trailing.", &r), -EINVAL);
	}
}

TEST(attributes)
{
	static char *attrs[] = { "filter", "diff", "merge" };
	static const char text[] =
		"# comment\n"
		"*.c text eol=lf\n"
		"*.pdf diff=pdf\n"
		"*.bin -diff binary\n"
		"\"with space\" filter=lfs -text\n"
		"[attr]evil filter=x\n"
		"*.x merge=ours\n";
	struct strlist l = { 0 }, o = { 0 };

	CHECK_EQ(gitattr_collect(text, strlen(text), attrs, 3, &l), 0);
	CHECK_EQ(l.n, 4);
	if (l.n == 4) {
		CHECK_STR(l.s[0], "*.pdf diff=pdf");
		CHECK_STR(l.s[1], "\"with space\" filter=lfs -text");
		CHECK_STR(l.s[2], "[attr]evil filter=x");
		CHECK_STR(l.s[3], "*.x merge=ours");
	}
	/* The same lines reordered add nothing; one more does. */
	CHECK_EQ(gitattr_collect("*.x merge=ours\n*.pdf   diff=pdf\n", 32, attrs, 3, &o), 0);
	CHECK(strlist_added(&l, &o) == NULL);
	strlist_free(&o);
	CHECK_EQ(gitattr_collect("*.md filter=evil\n", 17, attrs, 3, &o), 0);
	CHECK_STR(strlist_added(&l, &o), "*.md filter=evil");
	strlist_free(&o);
	strlist_free(&l);
}

CHECK_MAIN(TEST_ENTRY(config_syntax), TEST_ENTRY(config_change_adds),
	   TEST_ENTRY(attributes))
