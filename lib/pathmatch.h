/* Path patterns in gitignore syntax, for .airlockignore, --exclude and the
 * protected-path list: `#` comments, `!` re-includes, a trailing `/`
 * matches directories only, a `/` at the start or in the middle anchors
 * the pattern at the root (else it matches a name at any depth), `*`, `?`,
 * `[...]` within one name and `**` across names. As in git, the last
 * matching pattern wins, and nothing below a matched directory can be
 * re-included. Pure code, no I/O (tests/unit/test_pathmatch.c). */
#ifndef AIRLOCK_LIB_PATHMATCH_H
#define AIRLOCK_LIB_PATHMATCH_H

#include <stdbool.h>
#include <stddef.h>

struct pathmatch_pattern {
	char *glob;		/* without !, leading and trailing / */
	bool negate;
	bool dir_only;
	bool anchored;
};

struct pathmatch {
	struct pathmatch_pattern *pat;
	size_t n, cap;
};

void pathmatch_init(struct pathmatch *m);
void pathmatch_free(struct pathmatch *m);

/* Adds one line of a gitignore file (len bytes, no newline): blank lines
 * and comments add nothing. 0, or -ENOMEM. */
int pathmatch_add(struct pathmatch *m, const char *line, size_t len);
/* Adds every line of a whole file's text. */
int pathmatch_add_text(struct pathmatch *m, const char *text, size_t len);

/* Is path (relative, '/'-separated) matched: by a pattern of its own or
 * through a matched parent directory? */
bool pathmatch_match(const struct pathmatch *m, const char *path, bool is_dir);

/* The glob alone, as pathmatch uses it: '*' and '?' stop at '/', "**"
 * as a whole component spans any number of them. */
bool pathmatch_glob(const char *glob, const char *path);

#endif
