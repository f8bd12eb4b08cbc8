/* The legacy and paravirtual devices every VM has, each in its own file. */
#ifndef AIRLOCK_VMM_DEVICES_H
#define AIRLOCK_VMM_DEVICES_H

#include "vmm/vm.h"

int i8042_init(struct vm *vm);
int pvport_init(struct vm *vm);

#endif
