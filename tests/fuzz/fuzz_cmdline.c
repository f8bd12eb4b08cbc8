/* libFuzzer target: arbitrary bytes as a kernel command line through
 * cmdline_find() and cmdline_decode_argv(), as airlock-init parses
 * /proc/cmdline. Checks what the decoder promises about its output. */
#include "proto/cmdline.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cmdline, *buf;
	char *argv[MAX_ARGS + 1];
	const char *tok;
	size_t len, bufsize;
	int argc;

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
		/* Exactly-sized buffer: ASan catches a write one past it. The
		 * size is varied by the first byte to reach the E2BIG paths. */
		bufsize = size ? len + 1 - (len ? data[0] % 2 : 0) : len + 1;
		buf = malloc(bufsize);
		if (buf) {
			argc = cmdline_decode_argv(tok, len, buf, bufsize, argv,
						   MAX_ARGS);
			if (argc > MAX_ARGS || argc == 0)
				abort();
			if (argc > 0) {
				if (argv[argc] != NULL)
					abort();
				for (int i = 0; i < argc; i++)
					if (argv[i] < buf || argv[i] >= buf + bufsize ||
					    argv[i] + strlen(argv[i]) >= buf + bufsize)
						abort();
			}
			free(buf);
		}
	}
	free(cmdline);
	return 0;
}
