/* libFuzzer target: arbitrary bytes as a kernel command line through
 * cmdline_find() and cmdline_decode_argv(), as airlock-init parses
 * /proc/cmdline. Checks what the decoder promises about its output. */
#include "proto/cmdline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decode into an exactly sized heap buffer, so ASan sees a write one past
 * it; odd sizes shave one byte off to reach the E2BIG paths too. */
static void decode(const char *tok, size_t len, size_t shave)
{
	char *argv[MAX_ARGS + 1];
	size_t bufsize = len + 1 - (len ? shave : 0);
	char *buf = malloc(bufsize);
	int argc;

	if (!buf)
		return;
	argc = cmdline_decode_argv(tok, len, buf, bufsize, argv, MAX_ARGS);
	if (argc == 0 || argc > MAX_ARGS)
		abort();
	if (argc > 0 && argv[argc] != NULL)
		abort();
	for (int i = 0; i < argc; i++)
		if (argv[i] < buf || argv[i] + strlen(argv[i]) >= buf + bufsize)
			abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tok;
	char *cmdline;
	size_t len;

	/* /proc/cmdline is a C string: cut at the first NUL like init does. */
	cmdline = malloc(size + 1);
	if (!cmdline)
		return 0;
	memcpy(cmdline, data, size);
	cmdline[size] = '\0';

	tok = cmdline_find(cmdline, CMDLINE_CMD_KEY, &len);
	if (tok) {
		if (tok < cmdline || tok + len > cmdline + strlen(cmdline))
			abort();
		decode(tok, len, size % 2);
	}
	free(cmdline);
	return 0;
}
