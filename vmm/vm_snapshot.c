/* A whole VM into a snapshot and back: see vm_snapshot.h. */
#include "vmm/vm_snapshot.h"
#include "vmm/arch/x86/vm_save.h"
#include "vmm/serial_save.h"
#include "vmm/snapshot_mem.h"
#include "vmm/virtio/state.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* A state file's size, generously: headers, the VM-wide state, devices,
 * and per vCPU its XSAVE area, CPUID, MSRs, LAPIC and registers. */
static size_t state_room(unsigned int nr_vcpus, size_t xsave_size)
{
	return 64 * 1024 + (size_t)nr_vcpus * (xsave_size + 24 * 1024);
}

/* Guest RAM becomes the memory file's image, copy-on-write: every region
 * keeps its host address, so KVM's slots and gm_ptr() stay as they are
 * (KVM follows the new mapping through its MMU notifier; no vCPU has run
 * yet). What this guest writes is its own; what it only reads is the page
 * cache's, shared with every sandbox of this snapshot. */
static int map_ram(struct vm *vm, int fd)
{
	void *p = mmap(vm->mem.base, vm->mem.base_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, (off_t)SNAP_MEM_DATA_OFF);

	if (p == MAP_FAILED)
		return -errno;
	madvise(vm->mem.base, vm->mem.base_size, MADV_DONTDUMP);
	return 0;
}

int vm_snapshot_arm(struct vm *vm, const struct snap_key *key,
		    const char *vmm_version, int mem_fd, const char **why)
{
	struct vm_snapshot *s = calloc(1, sizeof(*s));
	int r;

	*why = "out of memory";
	if (!s)
		return -ENOMEM;
	vm->snap = s;
	s->mem_fd = mem_fd;
	s->xsave_size = x86_xsave_size(vm->vm_fd);
	s->vcpu = calloc(vm->nr_vcpus, sizeof(*s->vcpu));
	s->vcpu_err = calloc(vm->nr_vcpus, sizeof(*s->vcpu_err));
	s->vcpu_what = calloc(vm->nr_vcpus, sizeof(*s->vcpu_what));
	if (!s->vcpu || !s->vcpu_err || !s->vcpu_what)
		return -ENOMEM;
	if (getrandom(s->id, sizeof(s->id), 0) != (ssize_t)sizeof(s->id)) {
		*why = "getrandom() failed";
		return -EIO;
	}
	if ((r = x86_msr_list_get(vm->kvm_fd, &s->msrs))) {
		*why = "KVM_GET_MSR_INDEX_LIST failed";
		return r;
	}
	snap_writer_init(&s->w, key, s->id, vmm_version);
	if ((r = snap_writer_reserve(&s->w, state_room(vm->nr_vcpus, s->xsave_size))))
		return r;
	if ((r = snap_mem_init(mem_fd, vm->mem.base_size, s->id))) {
		*why = "cannot write the memory file";
		return r;
	}
	return 0;
}

void vm_snapshot_free(struct vm_snapshot *s)
{
	if (!s)
		return;
	snap_writer_free(&s->w);
	free(s->vcpu);
	free(s->vcpu_err);
	free(s->vcpu_what);
	free(s);
}

void vm_snapshot_vcpu(struct vcpu *v)
{
	struct vm_snapshot *s = v->vm->snap;

	/* KVM completes a port or MMIO access only on the next KVM_RUN; with
	 * immediate_exit set that returns at once (EINTR) with it done, so the
	 * state read next is at an instruction boundary. */
	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, 0) < 0 && errno != EINTR) {
		s->vcpu_err[v->id] = -errno;
		s->vcpu_what[v->id] = "KVM_RUN (to complete pending I/O)";
		return;
	}
	s->vcpu_err[v->id] = x86_vcpu_save(v->fd, &s->msrs, s->xsave_size,
					   &s->vcpu[v->id], &s->vcpu_what[v->id]);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	uint64_t off = 0;

	while (off < len) {
		ssize_t n = pwrite(fd, p + off, len - off, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (uint64_t)n;
	}
	return 0;
}

static int save_devices(const struct vm_snap_board *b, struct snap_writer *w)
{
	for (unsigned int i = 0; i < b->nuarts; i++)
		serial_save(b->uart[i], i, w);
	for (unsigned int i = 0; i < b->ndevs; i++) {
		switch (b->dev[i].kind) {
		case VM_SNAP_BLK:
			virtio_blk_save(b->dev[i].dev, b->dev[i].slot, w);
			break;
		case VM_SNAP_RNG:
			virtio_rng_save(b->dev[i].dev, b->dev[i].slot, w);
			break;
		case VM_SNAP_VSOCK:
			if (virtio_vsock_save(b->dev[i].dev, b->dev[i].slot, w))
				return -EBUSY;
			break;
		case VM_SNAP_NET:
			virtio_net_save(b->dev[i].dev, b->dev[i].slot, w);
			break;
		}
	}
	return 0;
}

int vm_snapshot_save(struct vm *vm, const struct vm_snap_board *b, int state_fd,
		     const char **why)
{
	struct vm_snapshot *s = vm->snap;
	struct x86_vm_snap vs;
	uint8_t *buf;
	size_t len;
	int r;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (s->vcpu_err[i]) {
			*why = s->vcpu_what[i];
			return s->vcpu_err[i];
		}
	if ((r = x86_vm_save(vm->vm_fd, &vs, why)))
		return r;
	snap_mem_section_write(&vm->mem, &s->w);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		x86_vcpu_snap_write(&s->vcpu[i], i, &s->w);
	x86_vm_snap_write(&vs, &s->w);
	if (save_devices(b, &s->w)) {
		*why = "a vsock stream was open";
		return -EBUSY;
	}
	if ((r = snap_finish(&s->w, &buf, &len))) {
		*why = "the state is larger than the room kept for it";
		return r;
	}
	/* Both durable, so that a crash cannot leave a state file beside an
	 * older memory image. */
	/* Guest RAM is copied once, here: only the memfd's data, and of
	 * that only pages that are not all zero. */
	if ((r = snap_mem_copy(s->mem_fd, &vm->mem, vm->mem_fd)))
		*why = "cannot write the memory file";
	if (r == 0 && ((r = write_all(state_fd, buf, len)) || ftruncate(state_fd, (off_t)len) < 0 ||
	    fdatasync(state_fd) < 0 || fdatasync(s->mem_fd) < 0)) {
		*why = "cannot write the snapshot files";
		r = r ? r : -errno;
	}
	s->w.buf = buf;		/* freed with the writer */
	return r;
}

/* ---- restoring ---------------------------------------------------------- */

int vm_restore_open(struct vm_restore *rs, int state_fd, int mem_fd,
		    const struct snap_key *key, const char *vmm_version,
		    const char **why)
{
	struct stat st;
	size_t got = 0;
	int r;

	memset(rs, 0, sizeof(*rs));
	if (fstat(state_fd, &st) < 0) {
		*why = "cannot read the state file";
		return -errno;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (uint64_t)st.st_size > SNAP_MAX_SIZE) {
		*why = "the state file is not a regular file of a state file's size";
		return -EBADMSG;
	}
	rs->len = (size_t)st.st_size;
	rs->buf = malloc(rs->len);
	if (!rs->buf) {
		*why = "out of memory";
		return -ENOMEM;
	}
	while (got < rs->len) {
		ssize_t n = pread(state_fd, rs->buf + got, rs->len - got, (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*why = "cannot read the state file";
			return -errno;
		}
		if (n == 0)
			break;	/* it shrank meanwhile: the parser says so */
		got += (size_t)n;
	}
	rs->len = got;
	if ((r = snap_parse(&rs->f, rs->buf, rs->len, key, vmm_version, why)))
		return r;
	return snap_mem_check(mem_fd, key->mem_size, rs->f.hdr.id, why);
}

int vm_restore_map(struct vm_restore *rs, struct vm *vm, int mem_fd, const char **why)
{
	int r = snap_mem_section_read(&rs->f, &vm->mem, why);

	if (r)
		return r;
	if ((r = map_ram(vm, mem_fd)))
		*why = "cannot map the memory file as guest RAM";
	return r;
}

/* Why, with where: "vCPU 1: a LAPIC whose id is not its vCPU's". */
static int where(struct vm_restore *rs, int r, const char **why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int where(struct vm_restore *rs, int r, const char **why, const char *fmt, ...)
{
	char place[48], reason[sizeof(rs->msg) - sizeof(place) - 2];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(place, sizeof(place), fmt, ap);
	va_end(ap);
	/* *why may be rs->msg itself already. */
	snprintf(reason, sizeof(reason), "%s", *why);
	snprintf(rs->msg, sizeof(rs->msg), "%s: %s", place, reason);
	*why = rs->msg;
	return r;
}

static int restore_vcpus(struct vm_restore *rs, struct vm *vm, const char **why)
{
	struct x86_vcpu_snap *s = calloc(1, sizeof(*s));
	struct x86_vcpu_snap *now = calloc(1, sizeof(*now));
	int r = 0;

	if (!s || !now) {
		*why = "out of memory";
		r = -ENOMEM;
		goto out;
	}
	for (unsigned int i = 0; i < vm->nr_vcpus && r == 0; i++) {
		struct snap_section *sec = snap_find(&rs->f, SNAP_SEC_VCPU, i);
		struct x86_vcpu_expect e = { .id = i, .xsave_size = x86_xsave_size(vm->vm_fd) };

		/* What this VM gave the vCPU, as a cold boot would. */
		now->ncpuid = X86_SNAP_MAX_CPUID;
		if (ioctl(vm->vcpus[i].fd, KVM_GET_CPUID2, (struct kvm_cpuid2 *)&now->ncpuid) < 0) {
			*why = "KVM_GET_CPUID2 failed";
			r = where(rs, -errno, why, "vCPU %u", i);
			break;
		}
		e.ncpuid = now->ncpuid;
		e.cpuid = now->cpuid;
		r = sec ? x86_vcpu_snap_read(sec, &e, s, why) : -EBADMSG;
		if (r == 0)
			r = x86_vcpu_restore(vm->vcpus[i].fd, s, why);
		if (r)
			r = where(rs, r, why, "vCPU %u", i);
	}
out:
	free(s);
	free(now);
	return r;
}

static int load_device(struct vm_restore *rs, const struct vm_snap_board *b,
		       unsigned int i, const char **why)
{
	void *d = b->dev[i].dev;
	uint32_t slot = b->dev[i].slot;

	switch (b->dev[i].kind) {
	case VM_SNAP_BLK:
		return virtio_blk_load(d, &rs->f, slot, why);
	case VM_SNAP_RNG:
		return virtio_rng_load(d, &rs->f, slot, why);
	case VM_SNAP_VSOCK:
		return virtio_vsock_load(d, &rs->f, slot, why);
	case VM_SNAP_NET:
		return virtio_net_load(d, &rs->f, slot, why);
	}
	return -EINVAL;
}

static struct virtio_mmio *mmio_of(const struct vm_snap_board *b, unsigned int i)
{
	switch (b->dev[i].kind) {
	case VM_SNAP_BLK:
		return &((struct virtio_blk *)b->dev[i].dev)->mmio;
	case VM_SNAP_RNG:
		return &((struct virtio_rng *)b->dev[i].dev)->mmio;
	case VM_SNAP_VSOCK:
		return &((struct virtio_vsock *)b->dev[i].dev)->mmio;
	case VM_SNAP_NET:
		return &((struct virtio_net *)b->dev[i].dev)->mmio;
	}
	return NULL;
}

/* Kicks the guest sent that the old VMM had not yet taken are gone with
 * its eventfds: look at every running queue once. An interrupt raised
 * just before the snapshot may not have reached the irqchip: raise again
 * what the driver has not acknowledged (a spare one costs it a look). */
static void wake_devices(const struct vm_snap_board *b)
{
	uint64_t one = 1;

	for (unsigned int i = 0; i < b->ndevs; i++) {
		struct virtio_mmio *m = mmio_of(b, i);

		for (unsigned int q = 0; q < m->ops->nqueues; q++)
			virtio_mmio_kick(m, q);
		pthread_mutex_lock(&m->lock);
		if (m->int_status && write(m->irq_fd, &one, sizeof(one)) < 0) {
			/* pending already */
		}
		pthread_mutex_unlock(&m->lock);
	}
}

int vm_restore_apply(struct vm_restore *rs, struct vm *vm, const struct vm_snap_board *b,
		     const char **why)
{
	struct x86_vm_snap vs;
	int r;

	/* VM-wide first: the vCPUs' kvmclock MSRs refer to the clock. */
	if ((r = x86_vm_snap_read(&rs->f, &vs, why)) || (r = x86_vm_restore(vm->vm_fd, &vs, why)))
		return where(rs, r, why, "VM state");
	if ((r = restore_vcpus(rs, vm, why)))
		return r;
	for (unsigned int i = 0; i < b->nuarts; i++)
		if ((r = serial_load(b->uart[i], &rs->f, i, why)))
			return where(rs, r, why, "UART %u", i);
	for (unsigned int i = 0; i < b->ndevs; i++)
		if ((r = load_device(rs, b, i, why)))
			return where(rs, r, why, "virtio device in slot %u", b->dev[i].slot);
	if ((r = snap_file_done(&rs->f, why)))
		return r;
	wake_devices(b);
	return 0;
}

void vm_restore_close(struct vm_restore *rs)
{
	snap_file_free(&rs->f);
	free(rs->buf);
	rs->buf = NULL;
}
