/* Where output goes. Init's own messages: /dev/console (COM1, the kernel
 * console). The command's stdout and stderr: /dev/ttyS1 (COM2, which the
 * VMM routes to the user's stdout) when that UART exists, else the console,
 * in raw mode so its bytes reach the host unchanged. */
#include "guest/init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/serial.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define CONSOLE "/dev/console"
#define CMD_TTY "/dev/ttyS1"

void init_console_open(struct init_ctx *ctx)
{
	int fd;

	ctx->con = open(CONSOLE, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	ctx->null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ctx->null < 0)
		init_log(ctx, "cannot open /dev/null: %s", strerror(errno));
	/* The kernel leaves fds 0-2 closed if it found no console. Fill
	 * them, so that no later open lands there and gets closed on exec. */
	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* The 8250 driver makes /dev/ttyS1 whether or not a UART answers at its
 * port; without one the port type is unknown and I/O fails with EIO. */
static bool uart_present(int fd)
{
	struct serial_struct ss;

	if (ioctl(fd, TIOCGSERIAL, &ss) == 0 && ss.type == PORT_UNKNOWN)
		return false;
	return write(fd, "", 0) == 0;
}

/* Raw: no \n -> \r\n, no flow control, 8 bits. CLOCAL so that a missing
 * carrier never blocks a write. */
static int make_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &t) < 0)
		return -errno;
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL;
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}

int init_stdio_open(struct init_ctx *ctx)
{
	int fd, flags, ret;

	if (ctx->null < 0)
		return -ENOENT;
	/* O_NONBLOCK only for the open: a serial open may wait for carrier. */
	fd = open(CMD_TTY, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0 && !uart_present(fd)) {
		close(fd);
		fd = -1;
	}
	ctx->out_name = CMD_TTY;
	if (fd < 0) {
		ctx->out_name = CONSOLE;
		fd = open(CONSOLE, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			ret = -errno;
			init_log(ctx, "cannot open %s for the command: %s",
				 CONSOLE, strerror(errno));
			return ret;
		}
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		ret = -errno;
		init_log(ctx, "cannot set %s blocking: %s", ctx->out_name,
			 strerror(errno));
		goto fail;
	}
	ret = make_raw(fd);
	if (ret < 0) {
		init_log(ctx, "cannot set %s to raw mode: %s", ctx->out_name,
			 strerror(-ret));
		goto fail;
	}
	ctx->out = fd;
	return 0;
fail:
	close(fd);
	return ret;
}
