/* The x86 board every VM has: where each device sits (I/O ports, MMIO
 * windows, interrupt lines) and how a kernel without ACPI or a device tree
 * learns of the virtio devices (virtio_mmio.device= on its command line).
 * An arm64 board would describe the same in a device tree. */
#ifndef AIRLOCK_VMM_X86_BOARD_H
#define AIRLOCK_VMM_X86_BOARD_H

#include <stddef.h>
#include <stdint.h>

#define BOARD_CONSOLE_PORT 0x3f8	/* COM1: kernel console */
#define BOARD_CONSOLE_IRQ 4
#define BOARD_STDIO_PORT 0x2f8		/* COM2: the command's stdout and stderr */
#define BOARD_STDIO_IRQ 3

/* virtio-mmio windows of 4 KiB in the MMIO gap, below the IOAPIC, one per
 * slot; ISA IRQs from 5 up are free (0 PIT, 1 keyboard, 2 cascade, 3 and 4
 * our UARTs) and the IOAPIC has 24 pins. */
#define BOARD_VIRTIO_BASE 0xd0000000ull
#define BOARD_VIRTIO_IRQ_BASE 5
#define BOARD_VIRTIO_SLOTS 19

static inline uint64_t board_virtio_base(unsigned int slot)
{
	return BOARD_VIRTIO_BASE + slot * 0x1000ull;
}

static inline uint32_t board_virtio_irq(unsigned int slot)
{
	return BOARD_VIRTIO_IRQ_BASE + slot;
}

/* "virtio_mmio.device=4K@ADDR:IRQ" for slots 0..nslots-1, then extra (may
 * be NULL), into buf. Returns the length, or -E2BIG. */
int board_virtio_cmdline(char *buf, size_t size, unsigned int nslots,
			 const char *extra);

#endif
