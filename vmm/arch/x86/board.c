/* The x86 board: see board.h. */
#include "vmm/arch/x86/board.h"

#include <errno.h>
#include <stdio.h>

int board_virtio_cmdline(char *buf, size_t size, unsigned int nslots,
			 const char *extra)
{
	size_t n = 0;
	int k;

	if (nslots > BOARD_VIRTIO_SLOTS || size == 0)
		return -E2BIG;
	buf[0] = '\0';
	for (unsigned int i = 0; i < nslots; i++) {
		k = snprintf(buf + n, size - n, "%svirtio_mmio.device=4K@0x%llx:%u",
			     n ? " " : "", (unsigned long long)board_virtio_base(i),
			     board_virtio_irq(i));
		if (k < 0 || (size_t)k >= size - n)
			return -E2BIG;
		n += (size_t)k;
	}
	if (extra && *extra) {
		k = snprintf(buf + n, size - n, "%s%s", n ? " " : "", extra);
		if (k < 0 || (size_t)k >= size - n)
			return -E2BIG;
		n += (size_t)k;
	}
	return (int)n;
}
