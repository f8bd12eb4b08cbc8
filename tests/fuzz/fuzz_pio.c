/* libFuzzer target: a hostile guest's port I/O. Every input is a sequence
 * of accesses (port, width, direction, value) to the devices a VM has on
 * its port bus: the two UARTs, the i8042 and the PV port. Nothing may crash
 * or leave the interrupt line in a state other than 0 or 1. */
#include "vmm/devices.h"
#include "vmm/io.h"
#include "vmm/serial.h"
#include "vmm/vm.h"
#include "proto/pvport.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The devices reach the VM only through this. */
void vm_request_end(struct vm *vm, enum vm_end why)
{
	int running = VM_RUNNING;

	atomic_compare_exchange_strong(&vm->end, &running, (int)why);
}

static int irq_level[2];

static int set_irq(void *opaque, uint32_t irq, int level)
{
	if (level != 0 && level != 1)
		abort();
	irq_level[irq == 4] = level;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = { 0x3f8, 0x2f8, 0x60, 0x64, PVPORT_BASE };
	static char ring[SERIAL_RING + 1];
	static char tail[SERIAL_RING + 1];
	struct vm *vm = calloc(1, sizeof(*vm));
	struct serial con, out;

	if (!vm)
		return 0;
	vm->end_efd = -1;
	atomic_store(&vm->exit_status, -1);
	serial_init(&con, 4, set_irq, NULL, -1, ring);
	serial_init(&out, 3, set_irq, NULL, -1, NULL);
	if (io_bus_add(&vm->pio, 0x3f8, SERIAL_PORTS, serial_io, &con) ||
	    io_bus_add(&vm->pio, 0x2f8, SERIAL_PORTS, serial_io, &out) ||
	    i8042_init(vm) || pvport_init(vm))
		abort();

	while (size >= 6) {
		uint8_t sel = data[0], width = data[1], dir = data[2];
		uint8_t buf[4];
		uint16_t port;
		uint8_t len = (uint8_t)(1u << (width % 3));	/* 1, 2 or 4 */

		/* Mostly the devices, sometimes anywhere at all. */
		if (sel & 0x80)
			port = (uint16_t)(data[3] | data[4] << 8);
		else
			port = (uint16_t)(ports[sel % 5] + (data[3] & 7));
		memcpy(buf, data + 2, 4);
		io_bus_access(&vm->pio, port, buf, len, dir & 1);
		data += 6;
		size -= 6;
	}
	serial_ring_read(&con, tail, sizeof(tail));
	if (strlen(tail) > SERIAL_RING)
		abort();
	{
		int st = atomic_load(&vm->exit_status);

		if (st < -1 || st > 255)
			abort();	/* the PV port must refuse anything else */
	}
	pthread_mutex_destroy(&con.lock);
	pthread_mutex_destroy(&out.lock);
	free(vm);
	return 0;
}
