/* Seccomp allowlists as data: each rule is a system call, up to three
 * argument conditions, and the one-line reason it is there. Every host
 * process of airlock builds its filters from such tables (libseccomp does
 * the BPF), and installs the same reporter: a forbidden call is named on
 * stderr and ends the process, instead of a mystery kill. */
#ifndef AIRLOCK_LIB_SYSFILTER_H
#define AIRLOCK_LIB_SYSFILTER_H

#include <stddef.h>
#include <stdint.h>

enum sf_op {
	SF_EQ,		/* the whole 64-bit argument equals v */
	SF_EQ32,	/* its low 32 bits equal v (an int: fds, flags, pids) */
	SF_MASK0,	/* (arg & v) == 0: none of these flag bits set */
};

struct sf_arg {
	unsigned int arg;	/* 0..5 */
	enum sf_op op;
	uint64_t v;
};

#define SF_MAX_ARGS 3

struct sf_rule {
	int nr;			/* SCMP_SYS(name) */
	unsigned int nargs;
	struct sf_arg a[SF_MAX_ARGS];
	const char *why;
};

/* A filter being built: rules are added, then installed at once. */
struct sf_filter;

/* A filter whose default is to trap (SIGSYS, for the reporter). */
struct sf_filter *sf_new(void);
/* Adds rules; -errno (the first failure) is remembered for sf_load. */
void sf_add(struct sf_filter *f, const struct sf_rule *rules, size_t n);
/* One rule built at run time (an fd known only then). */
void sf_add1(struct sf_filter *f, int nr, unsigned int nargs, const struct sf_arg *a);
/* Installs the filter on the calling thread (no_new_privs is set too)
 * and frees it. Returns 0 or -errno; err says which rule failed. */
int sf_load(struct sf_filter *f, const char *who, char *err, size_t errlen);

/* SIGSYS handler: "<prog>: seccomp: forbidden system call N (name)", then
 * _exit(status). prog must live as long as the process. */
int sf_install_reporter(const char *prog, int status);

#define SF_COUNT(t) (sizeof(t) / sizeof((t)[0]))

#endif
