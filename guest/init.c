/* airlock-init's main(): mount the basics, read what the kernel command line
 * asks for, switch to the template's root if there is one, then either run
 * the one command it names as its user with clean stdio and end the VM with
 * its status, or (no command) serve commands over vsock until the host asks
 * the VM to end (serve.h). The VMM learns how things went through the PV
 * port (proto/pvport.h). */
#include "guest/init.h"
#include "guest/serve.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static struct init_params params;
	static struct init_user user;
	struct init_ctx ctx = { .con = -1, .null = -1, .out = -1,
				.upper_fd = -1 };
	int ioperm_errno = 0, ack_fd = -1, ret;

	/* Run on a host by mistake, this would mount over /dev and reboot. */
	if (getpid() != 1) {
		fprintf(stderr, "airlock-init: must run as PID 1 of a guest\n");
		return 1;
	}

	/* First, so the VMM can time the boot up to here. */
	if (ioperm(PVPORT_BASE, PVPORT_SIZE, 1) == 0)
		ctx.pvport = true;
	else
		ioperm_errno = errno;
	init_report(&ctx, PVPORT_EV_INIT_REACHED, 0);

	init_mount_dev(&ctx);
	init_console_open(&ctx);
	if (ioperm_errno)
		init_log(&ctx, "no access to the status port 0x%x (ioperm: %s); "
			 "running without reports to the VMM", PVPORT_BASE,
			 strerror(ioperm_errno));
	init_mount_kernel(&ctx);

	/* Whatever was wrong with it, the command line was invalid. */
	if (init_params_read(&ctx, &params) < 0)
		init_fail(&ctx, EINVAL);
	ret = params.root[0] ? init_root_template(&ctx, &params) : 0;
	/* A snapshot for any sandbox sees the template but not its disk. */
	if (ret == 0)
		ret = init_snapshot_point(&ctx, &params, INIT_SNAPSHOT_BEFORE_DISK, NULL);
	if (ret == 0 && params.root[0])
		ret = init_root_finish(&ctx, &params);
	if (ret < 0)
		init_fail(&ctx, -ret);
	init_mount_rest(&ctx);
	init_system_setup(&ctx);
	init_pids_setup(&ctx, &params);

	ret = init_user_lookup(&ctx, params.user, &user);
	if (ret < 0)
		init_fail(&ctx, -ret);
	init_net_setup(&ctx, &params);
	/* One for new sandboxes has all of the above done: its ACK waits for
	 * the services, which are all that is left. */
	ret = init_snapshot_point(&ctx, &params, INIT_SNAPSHOT_WITH_DISK, &ack_fd);
	if (ret < 0)
		init_fail(&ctx, -ret);
	if (!params.argv[0])
		init_serve(&ctx, &params, &user, ack_fd);
	init_snapshot_ack(&ctx, ack_fd);

	ret = init_stdio_open(&ctx);
	if (ret < 0)
		init_fail(&ctx, -ret);

	ret = init_command_run(&ctx, &params, &user);
	if (ret < 0)
		init_fail(&ctx, -ret);
	init_exit(&ctx, ret);
}
