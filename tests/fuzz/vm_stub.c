/* The VM's I/O loop, for fuzz targets that drive a virtio device without a
 * VM: the devices under test must never register with it there. */
#include "vmm/vm.h"

#include <stdlib.h>

int vm_event_add(struct vm *vm, struct vm_event *ev, uint32_t events)
{
	(void)vm;
	(void)ev;
	(void)events;
	abort();
}

int vm_event_mod(struct vm *vm, struct vm_event *ev, uint32_t events)
{
	(void)vm;
	(void)ev;
	(void)events;
	abort();
}

void vm_event_del(struct vm *vm, struct vm_event *ev)
{
	(void)vm;
	(void)ev;
	abort();
}

int vm_vcpu_may_write(struct vm *vm, int fd)
{
	(void)vm;
	(void)fd;
	abort();
}
