/* The command to run travels to airlock-init on the kernel command line as
 * one parameter, "airlock.cmd=TOKEN". TOKEN is the argv, each argument
 * percent-encoded and joined with ',', so that quotes, spaces, '=' and
 * non-ASCII bytes survive the kernel's own splitting untouched. The dot in
 * the name makes the kernel keep it away from init's argv and envp; init reads
 * it back from /proc/cmdline. Pure code, no I/O. */
#ifndef AIRLOCK_PROTO_CMDLINE_H
#define AIRLOCK_PROTO_CMDLINE_H

#include <stddef.h>

#define CMDLINE_CMD_KEY "airlock.cmd="

/* Encode argv[0..argc) into buf (NUL-terminated). Returns the length written
 * without the NUL, or -ENOSPC if buf is too small, -EINVAL if argc < 1. */
int cmdline_encode_argv(char *buf, size_t size, int argc, char *const argv[]);

/* Decode a token (not NUL-terminated, len bytes) in place into buf: the
 * arguments are stored NUL-separated in buf and argv[] points into it,
 * argv[argc] = NULL. Returns argc, or -EINVAL for a malformed token (bad
 * escape, raw byte that should have been escaped), -E2BIG if more than
 * max_args arguments or buf is too small. argv needs max_args + 1 slots. */
int cmdline_decode_argv(const char *tok, size_t len, char *buf, size_t size,
			char *argv[], int max_args);

/* Find "KEY" as a whole parameter in a kernel command line. Returns a pointer
 * to the value and sets *len, or NULL. Quoted parameters are not ours and
 * are skipped as a whole. */
const char *cmdline_find(const char *cmdline, const char *key, size_t *len);

#endif
