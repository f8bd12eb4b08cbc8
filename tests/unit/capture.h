/* What code under test writes to stderr, caught in a temporary file: for
 * checking log lines. Header only. */
#ifndef AIRLOCK_TESTS_UNIT_CAPTURE_H
#define AIRLOCK_TESTS_UNIT_CAPTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct capture {
	int fd;		/* the file stderr goes to meanwhile */
	int saved;	/* the real stderr */
};

/* From now on stderr goes to a fresh unlinked file. Returns 0 or -1. */
static inline int capture_start(struct capture *c)
{
	char path[] = "/tmp/airlock-test-stderr.XXXXXX";

	c->fd = mkstemp(path);
	c->saved = dup(STDERR_FILENO);
	if (c->fd < 0 || c->saved < 0)
		return -1;
	unlink(path);
	fflush(stderr);
	return dup2(c->fd, STDERR_FILENO) < 0 ? -1 : 0;
}

/* stderr back; what was caught into buf (NUL-terminated, cut to fit).
 * Returns the number of lines caught. */
static inline int capture_end(struct capture *c, char *buf, size_t size)
{
	ssize_t n;
	int lines = 0;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	n = pread(c->fd, buf, size - 1, 0);
	close(c->fd);
	buf[n > 0 ? n : 0] = '\0';
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	return lines;
}

#endif
