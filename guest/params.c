/* What the host asks of this boot, from /proc/cmdline: the command
 * (airlock.cmd=, proto/cmdline.h) and the template, sandbox disk, user and
 * working directory (proto/guestparams.h). Each value is checked here, so
 * the steps after it act on a validated struct. */
#include "guest/init.h"
#include "guest/passwd.h"
#include "proto/cmdline.h"
#include "proto/guestparams.h"
#include "proto/netparam.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int init_read_file(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (n < size - 1) {
		ssize_t r = read(fd, buf + n, size - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	ret = n == size - 1 ? -E2BIG : (int)n;
	buf[n] = '\0';
out:
	close(fd);
	return ret;
}

static int read_command(const struct init_ctx *ctx, const char *cmdline,
			struct init_params *p)
{
	const char *tok;
	size_t len;
	int ret;

	tok = cmdline_find(cmdline, CMDLINE_CMD_KEY, &len);
	if (!tok) {
		p->argv[0] = NULL;	/* serve mode: commands come over vsock */
		return 0;
	}
	ret = cmdline_decode_argv(tok, len, p->cmdbuf, sizeof(p->cmdbuf),
				  p->argv, INIT_MAX_ARGS);
	if (ret == -E2BIG) {
		init_log(ctx, "%s holds too many arguments (at most %d)",
			 CMDLINE_CMD_KEY, INIT_MAX_ARGS);
		return ret;
	}
	if (ret < 0) {
		init_log(ctx, "malformed %s: a bad %%-escape or a byte that "
			 "should have been escaped", CMDLINE_CMD_KEY);
		return ret;
	}
	if (p->argv[0][0] == '\0') {
		init_log(ctx, "empty command in %s", CMDLINE_CMD_KEY);
		return -EINVAL;
	}
	return 0;
}

/* A block device name: [a-z][a-z0-9]*, so "/dev/" + it stays in /dev. */
static int read_dev(const struct init_ctx *ctx, const char *cmdline,
		    const char *key, char *out, size_t size)
{
	size_t len;
	const char *tok = cmdline_find(cmdline, key, &len);

	out[0] = '\0';
	if (!tok)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = tok[i];

		if (!((c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')))
			goto bad;
	}
	if (len == 0 || len >= size)
		goto bad;
	memcpy(out, tok, len);
	out[len] = '\0';
	return 0;
bad:
	init_log(ctx, "bad %s'%.*s': want a block device name such as vda",
		 key, (int)(len > 64 ? 64 : len), tok);
	return -EINVAL;
}

/* One percent-encoded value (like one argument of airlock.cmd) into out;
 * *present tells whether the parameter was there at all. */
static int read_encoded(const struct init_ctx *ctx, const char *cmdline,
			const char *key, char *out, size_t size, bool *present)
{
	char *argv[2];
	const char *tok;
	size_t len;
	int ret;

	*present = false;
	tok = cmdline_find(cmdline, key, &len);
	if (!tok)
		return 0;
	ret = cmdline_decode_argv(tok, len, out, size, argv, 1);
	/* "%00" would cut the value short without anyone noticing. */
	if (ret < 0 || strlen(out) == 0 ||
	    memmem(tok, len, "%00", 3) != NULL) {
		init_log(ctx, "malformed %s: empty, too long, %%00, a bad "
			 "%%-escape, or a ',' or byte that should have been "
			 "escaped", key);
		return -EINVAL;
	}
	*present = true;
	return 0;
}

static int read_net(const struct init_ctx *ctx, const char *cmdline,
		    struct init_params *p)
{
	size_t len;
	const char *tok = cmdline_find(cmdline, GUESTPARAM_NET, &len);

	p->has_net = tok != NULL;
	if (tok && netparam_parse(tok, len, &p->net) < 0) {
		init_log(ctx, "bad %s'%.*s': want ADDR/PREFIX,GATEWAY such as "
			 "10.0.2.2/30,10.0.2.1", GUESTPARAM_NET,
			 (int)(len > 64 ? 64 : len), tok);
		return -EINVAL;
	}
	return 0;
}

int init_params_read(const struct init_ctx *ctx, struct init_params *p)
{
	static char cmdline[INIT_CMDLINE_MAX];
	bool have_user = false, have_cwd = false;
	int ret;

	ret = init_read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (ret < 0) {
		init_log(ctx, "cannot read /proc/cmdline: %s", strerror(-ret));
		return ret;
	}
	ret = read_command(ctx, cmdline, p);
	if (ret == 0)
		ret = read_dev(ctx, cmdline, GUESTPARAM_ROOT, p->root,
			       sizeof(p->root));
	if (ret == 0)
		ret = read_dev(ctx, cmdline, GUESTPARAM_UPPER, p->upper,
			       sizeof(p->upper));
	if (ret == 0)
		ret = read_encoded(ctx, cmdline, GUESTPARAM_USER, p->user,
				   sizeof(p->user), &have_user);
	if (ret == 0)
		ret = read_encoded(ctx, cmdline, GUESTPARAM_CWD, p->cwd,
				   sizeof(p->cwd), &have_cwd);
	if (ret == 0)
		ret = read_net(ctx, cmdline, p);
	if (ret < 0)
		return ret;

	if (p->upper[0] && !p->root[0]) {
		init_log(ctx, "%s%s needs a template (%s) to lie over",
			 GUESTPARAM_UPPER, p->upper, GUESTPARAM_ROOT);
		return -EINVAL;
	}
	if (p->upper[0] && strcmp(p->upper, p->root) == 0) {
		init_log(ctx, "%s and %s name the same device %s",
			 GUESTPARAM_ROOT, GUESTPARAM_UPPER, p->root);
		return -EINVAL;
	}
	if (!have_user)
		snprintf(p->user, sizeof(p->user), "%s",
			 p->root[0] ? GUESTPARAM_DEFAULT_USER : "root");
	if (!passwd_name_valid(p->user)) {
		init_log(ctx, "bad %s'%s': a user name is 1 to %d of "
			 "[A-Za-z0-9._-], not starting with '-'",
			 GUESTPARAM_USER, p->user, PASSWD_NAME_MAX);
		return -EINVAL;
	}
	if (have_cwd && p->cwd[0] != '/') {
		init_log(ctx, "bad %s'%s': the working directory must be an "
			 "absolute path", GUESTPARAM_CWD, p->cwd);
		return -EINVAL;
	}
	if (!have_cwd)
		p->cwd[0] = '\0';
	return 0;
}
