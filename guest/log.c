/* How airlock-init speaks (init.h): lines on the console, and events on
 * the PV port for the VMM. */
#include "guest/init.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>

void init_log(const struct init_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n = (int)strlen("airlock-init: "), k;

	memcpy(msg, "airlock-init: ", (size_t)n);
	va_start(ap, fmt);
	k = vsnprintf(msg + n, sizeof(msg) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	/* vsnprintf returns the untruncated length: keep the '\n' slot. */
	n += k < 0 ? 0 : k;
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	/* One write, so a message is not interleaved with the command's. */
	if (write(ctx->con >= 0 ? ctx->con : 2, msg, (size_t)n) < 0) {
		/* Nowhere left to complain to. */
	}
}

void init_report(const struct init_ctx *ctx, enum pvport_event ev,
		 uint32_t arg)
{
	if (ctx->pvport)
		outl(pvport_encode(ev, arg), PVPORT_BASE);
}
