/* The paravirtual I/O port through which airlock-init tells the VMM how the
 * guest is doing: boot milestones and the command's exit status. One 32-bit
 * OUT per event keeps it to one VM exit each. Shared by host and guest. */
#ifndef AIRLOCK_PROTO_PVPORT_H
#define AIRLOCK_PROTO_PVPORT_H

#include <stdint.h>

/* 0x5e0..0x5e3 is unused on PC-compatible machines (no ISA device, not
 * QEMU's fw_cfg at 0x510), so a guest written for QEMU never touches it. */
#define PVPORT_BASE 0x5e0u
#define PVPORT_SIZE 4u

/* Low byte of the 32-bit value written to PVPORT_BASE: the event. The upper
 * 24 bits carry its argument. */
enum pvport_event {
	PVPORT_EV_INIT_REACHED = 1,	/* airlock-init's first instruction ran */
	PVPORT_EV_CMD_STARTED = 2,	/* about to execve the command */
	PVPORT_EV_EXIT_STATUS = 3,	/* arg = exit status 0..255 (128+N: signal N) */
	PVPORT_EV_INIT_FAILED = 4,	/* arg = errno of what init could not do */
	/* airlock.snapshot=1: the guest is as far as it goes without the
	 * sandbox's own disk, and waits for RESUME on the control port. A VMM
	 * making a snapshot stops the vCPUs and takes it now. */
	PVPORT_EV_SNAPSHOT_READY = 5,
};

static inline uint32_t pvport_encode(enum pvport_event ev, uint32_t arg)
{
	return (uint32_t)ev | (arg << 8);
}

static inline enum pvport_event pvport_event_of(uint32_t v)
{
	return (enum pvport_event)(v & 0xffu);
}

static inline uint32_t pvport_arg_of(uint32_t v)
{
	return v >> 8;
}

#endif
