/* Just enough of the i8042 keyboard controller to end the VM: the guest
 * kernel (booted with reboot=k) resets the machine by writing 0xfe, "pulse
 * reset line", to the command port. There is no keyboard behind it. */
#include "vmm/devices.h"

#define I8042_CMD_RESET 0xfe

static void i8042_data(void *opaque, uint16_t off, uint8_t *data, uint8_t size,
		       bool is_write)
{
	if (!is_write)
		for (uint8_t i = 0; i < size; i++)
			data[i] = 0;	/* no scancodes, ever */
}

static void i8042_cmd(void *opaque, uint16_t off, uint8_t *data, uint8_t size,
		      bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		data[0] = 0;	/* status: both buffers empty, so reboot() proceeds */
		return;
	}
	if (data[0] == I8042_CMD_RESET)
		vm_request_end(vm, VM_END_RESET);
}

int i8042_init(struct vm *vm)
{
	int r = io_bus_add(&vm->pio, 0x60, 1, i8042_data, vm);

	return r ? r : io_bus_add(&vm->pio, 0x64, 1, i8042_cmd, vm);
}
