/* How airlock-init ends the VM (init.h): nothing left running, the
 * command's last bytes out, the sandbox disk clean, the status told to the
 * VMM, then a reset. */
#include "guest/init.h"

#include <errno.h>
#include <string.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

/* What the VM leaves behind: no process but init, the command's last
 * bytes out of the guest, the sandbox disk clean. */
static void wind_down(struct init_ctx *ctx)
{
	init_command_kill_rest(ctx);
	if (ctx->out >= 0 && tcdrain(ctx->out) < 0)
		init_log(ctx, "tcdrain %s: %s", ctx->out_name, strerror(errno));
	init_root_persist(ctx);
}

__attribute__((noreturn)) static void end_vm(struct init_ctx *ctx)
{
	sync();
	/* The kernel runs with reboot=k; the VMM takes the reset as the end
	 * of the VM. Power-off is no better: without ACPI it only halts. */
	reboot(RB_AUTOBOOT);
	init_log(ctx, "reboot failed: %s; halting here", strerror(errno));
	/* A PID 1 that returns panics the kernel; wait instead. */
	for (;;)
		pause();
}

void init_fail(struct init_ctx *ctx, int err)
{
	wind_down(ctx);
	init_report(ctx, PVPORT_EV_INIT_FAILED, (uint32_t)err);
	end_vm(ctx);
}

void init_exit(struct init_ctx *ctx, int status)
{
	/* Once the VMM hears the status, nothing is left to write. */
	wind_down(ctx);
	init_report(ctx, PVPORT_EV_EXIT_STATUS, (uint32_t)status);
	end_vm(ctx);
}
