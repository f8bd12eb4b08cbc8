/* The paravirtual port airlock-init reports through (proto/pvport.h):
 * boot milestones for --boot-timing and the command's exit status. The
 * values are the guest's word only: an exit status outside 0..255 is
 * refused, and only the first one counts. */
#include "vmm/devices.h"
#include "proto/pvport.h"
#include "lib/clock.h"

#include <stdio.h>
#include <string.h>

static void mark(_Atomic uint64_t *t)
{
	uint64_t zero = 0;

	atomic_compare_exchange_strong(t, &zero, clock_ns());
}

static void pvport_io(void *opaque, uint16_t off, uint8_t *data, uint8_t size,
		      bool is_write)
{
	struct vm *vm = opaque;
	uint32_t v, arg;
	int none = -1;

	if (!is_write) {
		memset(data, 0xff, size);
		return;
	}
	if (off != 0 || size != 4)
		return;		/* only whole 32-bit writes mean something */
	memcpy(&v, data, 4);
	arg = pvport_arg_of(v);
	switch (pvport_event_of(v)) {
	case PVPORT_EV_INIT_REACHED:
		mark(&vm->t.init);
		break;
	case PVPORT_EV_CMD_STARTED:
		mark(&vm->t.cmd);
		break;
	case PVPORT_EV_EXIT_STATUS:
		if (arg > 255)
			break;
		if (atomic_compare_exchange_strong(&vm->exit_status, &none, (int)arg))
			mark(&vm->t.exit);
		break;
	case PVPORT_EV_INIT_FAILED:
		atomic_store(&vm->init_errno, arg > 0 && arg < 4096 ? (int)arg : 1);
		break;
	case PVPORT_EV_SNAPSHOT_READY:
		/* Only a VM armed for one takes it; any other ignores it (and
		 * its guest waits for a RESUME that a cold boot never sends). */
		if (vm->snap)
			vm_request_end(vm, VM_END_SNAPSHOT);
		break;
	default:
		break;
	}
}

int pvport_init(struct vm *vm)
{
	return io_bus_add(&vm->pio, PVPORT_BASE, PVPORT_SIZE, pvport_io, vm);
}
