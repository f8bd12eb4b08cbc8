/* See msg.h. */
#include "tools/airlock/msg.h"

#include <stdarg.h>
#include <stdio.h>

void say(const char *fmt, ...)
{
	va_list ap;

	fputs("airlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
