/* A whole VM into a snapshot, and a new VM out of one (docs/snapshot.md).
 *
 * Taking one: vm_snapshot_arm() before the guest boots starts the memory
 * file and asks KVM what saving needs. The guest's PVPORT_EV_SNAPSHOT_READY
 * ends the VM (VM_END_SNAPSHOT); each vCPU thread, on its way out, completes
 * the I/O its vCPU was in and reads its state (vm_snapshot_vcpu());
 * vm_snapshot_save() then copies guest RAM into the memory file and
 * writes the state file: memory layout, vCPUs, irqchip, PIT, clock, UARTs,
 * every virtio device.
 *
 * Starting from one: vm_restore_open() reads and checks the state file
 * against this VM's key and the memory file's header, before anything is
 * built; vm_restore_map() maps the memory file copy-on-write (MAP_PRIVATE)
 * as guest RAM; vm_restore_apply(), once devices and vCPUs exist, puts the
 * VM-wide, vCPU, UART and device state in, then lets the devices look at
 * their queues once (kicks that were in flight when the snapshot was taken
 * are not) and raises the interrupts the guest had not yet acknowledged. */
#ifndef AIRLOCK_VMM_VM_SNAPSHOT_H
#define AIRLOCK_VMM_VM_SNAPSHOT_H

#include <stdint.h>

#include "vmm/arch/x86/vcpu_save.h"
#include "vmm/serial.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#define VM_SNAP_MAX_DEVS 16
#define VM_SNAP_MAX_UARTS 2

/* What the board has: its UARTs and its virtio devices by MMIO slot. */
enum vm_snap_dev_kind { VM_SNAP_BLK, VM_SNAP_RNG, VM_SNAP_VSOCK, VM_SNAP_NET };

struct vm_snap_board {
	struct serial *uart[VM_SNAP_MAX_UARTS];
	unsigned int nuarts;
	struct {
		enum vm_snap_dev_kind kind;
		uint32_t slot;
		void *dev;		/* struct virtio_blk, _rng, _vsock, _net */
	} dev[VM_SNAP_MAX_DEVS];
	unsigned int ndevs;
};

/* Hung on struct vm while a snapshot is to be taken. */
struct vm_snapshot {
	struct x86_msr_list msrs;
	size_t xsave_size;
	int mem_fd;
	uint8_t id[SNAP_ID_LEN];
	struct snap_writer w;		/* room reserved before seccomp */
	struct x86_vcpu_snap *vcpu;	/* one per vCPU, filled by its thread */
	int *vcpu_err;			/* 0, or what saving vCPU i failed with */
	const char **vcpu_what;
};

/* Before seccomp: the memory file mem_fd is started (header, size), and
 * what saving needs is asked of KVM and allocated. 0, or -errno with *why. */
int vm_snapshot_arm(struct vm *vm, const struct snap_key *key,
		    const char *vmm_version, int mem_fd, const char **why);

/* Releases what vm_snapshot_arm() took (NULL: nothing). */
void vm_snapshot_free(struct vm_snapshot *s);

/* On vCPU v's thread, once it left KVM_RUN for VM_END_SNAPSHOT. */
void vm_snapshot_vcpu(struct vcpu *v);

/* With every vCPU stopped: guest RAM into the memory file, the state file
 * whole into state_fd, both synced. 0, or -errno with *why. */
int vm_snapshot_save(struct vm *vm, const struct vm_snap_board *b, int state_fd,
		     const char **why);

struct vm_restore {
	uint8_t *buf;
	size_t len;
	struct snap_file f;
	char msg[192];		/* what *why points at, with context */
};

/* Reads state_fd and checks it (snap_parse) against key and vmm_version,
 * and mem_fd's header against it. 0; -EBADMSG (damaged), -ESTALE (made
 * for something else), or -errno; with *why. vm_restore_close() either
 * way. */
int vm_restore_open(struct vm_restore *rs, int state_fd, int mem_fd,
		    const struct snap_key *key, const char *vmm_version,
		    const char **why);
/* After vm_create(): guest RAM becomes mem_fd's image, copy-on-write. */
int vm_restore_map(struct vm_restore *rs, struct vm *vm, int mem_fd, const char **why);
/* Devices set up, vCPUs created and given their CPUID (x86_vcpu_init), no
 * vCPU running: put every piece of state in. */
int vm_restore_apply(struct vm_restore *rs, struct vm *vm, const struct vm_snap_board *b,
		     const char **why);
void vm_restore_close(struct vm_restore *rs);

#endif
