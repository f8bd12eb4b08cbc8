/* Seccomp allowlists as data: see sysfilter.h. */
#include "lib/sysfilter.h"

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sf_filter {
	scmp_filter_ctx ctx;
	int err;		/* the first failure */
	int err_nr;		/* and its system call */
};

struct sf_filter *sf_new(void)
{
	struct sf_filter *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!f->ctx)
		f->err = -ENOMEM;
	return f;
}

void sf_add1(struct sf_filter *f, int nr, unsigned int nargs, const struct sf_arg *a)
{
	struct scmp_arg_cmp cmp[SF_MAX_ARGS];
	int r;

	if (!f || f->err)
		return;
	if (nargs > SF_MAX_ARGS) {
		f->err = -EINVAL;
		f->err_nr = nr;
		return;
	}
	for (unsigned int i = 0; i < nargs; i++) {
		switch (a[i].op) {
		case SF_EQ:
			cmp[i] = (struct scmp_arg_cmp){ a[i].arg, SCMP_CMP_EQ, a[i].v, 0 };
			break;
		case SF_EQ32:
			/* Only the low half: whatever a caller left in the
			 * upper half of the register. */
			cmp[i] = (struct scmp_arg_cmp){ a[i].arg, SCMP_CMP_MASKED_EQ,
							0xffffffffu, (uint32_t)a[i].v };
			break;
		case SF_MASK0:
			cmp[i] = (struct scmp_arg_cmp){ a[i].arg, SCMP_CMP_MASKED_EQ,
							a[i].v, 0 };
			break;
		}
	}
	r = seccomp_rule_add_array(f->ctx, SCMP_ACT_ALLOW, nr, nargs, cmp);
	if (r < 0) {
		f->err = r;
		f->err_nr = nr;
	}
}

void sf_add(struct sf_filter *f, const struct sf_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sf_add1(f, rules[i].nr, rules[i].nargs, rules[i].a);
}

int sf_load(struct sf_filter *f, const char *who, char *err, size_t errlen)
{
	int r;

	if (!f) {
		snprintf(err, errlen, "cannot build the %s seccomp filter: out of memory", who);
		return -ENOMEM;
	}
	r = f->err;
	if (r == 0)
		r = seccomp_load(f->ctx);
	if (r < 0) {
		char *name = f->err ? seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, f->err_nr)
				    : NULL;

		if (name)
			snprintf(err, errlen, "cannot install the %s seccomp filter (rule for "
				 "%s): %s", who, name, strerror(-r));
		else
			snprintf(err, errlen, "cannot install the %s seccomp filter: %s", who,
				 strerror(-r));
		free(name);
	}
	if (f->ctx)
		seccomp_release(f->ctx);
	free(f);
	return r;
}

static const char *reporter_prog = "airlock";
static int reporter_status = 125;

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[160];
	int n;

	(void)sig;
	(void)uc;
	/* Async-signal-safe: no name lookup here, the number says it. */
	n = snprintf(msg, sizeof(msg), "%s: seccomp: forbidden system call %d; stopping\n",
		     reporter_prog, si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* nowhere left to report to */
	}
	_exit(reporter_status);
}

int sf_install_reporter(const char *prog, int status)
{
	struct sigaction sa = { .sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO };

	reporter_prog = prog;
	reporter_status = status;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}
