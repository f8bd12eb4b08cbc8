/* libFuzzer target: the snapshot loader on arbitrary bytes: the file
 * format (vmm/snapshot.c), then every consumer as a restore runs them: the
 * memory layout, the VM-wide x86 state, each vCPU's, and virtio-blk, rng,
 * vsock and net devices in slots 0, 1, 2 and 3 over a fake guest (two heap
 * blocks, so ASan sees any access outside guest RAM). The first input byte
 * chooses how: bit 0 reseals the rest (a right checksum, so the fuzzer gets
 * past it into the section walk), bit 1 passes a key to match, bit 2 runs
 * the consumers (else every field is read generically). It must never
 * crash, leak or read outside the input; whatever it returns is fine. A
 * real state file makes a good seed: printf '\5' | cat - state > seed. */
#include "vmm/arch/x86/vcpu_save.h"
#include "vmm/arch/x86/vm_save.h"
#include "vmm/snapshot.h"
#include "vmm/snapshot_mem.h"
#include "vmm/virtio/state.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define A_SIZE 0x10000u
#define B_GPA 0x10000u
#define B_SIZE 0x1000u

static uint8_t *ram_a, *ram_b;
static struct guest_mem gm;
static struct virtio_blk blk;
static struct virtio_rng rng;
static struct virtio_vsock vsock;
static struct virtio_net net;
static int tap[2] = { -1, -1 };	/* a socketpair stands in for the TAP */
static struct x86_vcpu_snap vcpu;
static int disk = -1;

static void close_mmio(struct virtio_mmio *m)
{
	close(m->irq_fd);
	for (unsigned int i = 0; i < m->ops->nqueues; i++)
		close(m->kick_fd[i]);
	pthread_mutex_destroy(&m->lock);
}

/* What a restore does once the file has parsed. */
static void consume(struct snap_file *f)
{
	struct x86_vcpu_expect e = { .xsave_size = 4096 };
	struct x86_vm_snap vm;
	const char *why;

	memset(ram_a, 0, A_SIZE);
	memset(ram_b, 0, B_SIZE);
	snap_mem_section_read(f, &gm, &why);
	x86_vm_snap_read(f, &vm, &why);
	for (uint32_t i = 0; i < f->hdr.nr_vcpus; i++) {
		struct snap_section *s = snap_find(f, SNAP_SEC_VCPU, i);
		static struct kvm_cpuid_entry2 cpuid[X86_SNAP_MAX_CPUID];
		const uint8_t *p;
		size_t n;

		if (!s)
			continue;
		/* The file's own CPUID as what "this VM" gives the vCPU, so that
		 * the fields checked after it are reached too. */
		e.id = i;
		e.ncpuid = 0;
		if (snap_get_var(s, SNAP_F_VCPU_CPUID, &p, &n, sizeof(cpuid[0]),
				 sizeof(cpuid), &why) == 0) {
			memcpy(cpuid, p, n);
			e.ncpuid = (uint32_t)(n / sizeof(cpuid[0]));
		}
		e.cpuid = cpuid;
		x86_vcpu_snap_read(s, &e, &vcpu, &why);
	}
	if (virtio_blk_setup(&blk, &gm, disk, 4096, false, "fuzz") == 0)
		virtio_blk_load(&blk, f, 0, &why);
	close_mmio(&blk.mmio);
	if (virtio_rng_setup(&rng, &gm) == 0)
		virtio_rng_load(&rng, f, 1, &why);
	close_mmio(&rng.mmio);
	if (virtio_vsock_setup(&vsock, &gm, 3, NULL) == 0)
		virtio_vsock_load(&vsock, f, 2, &why);
	virtio_vsock_exit(&vsock);
	{
		static const uint8_t mac[6] = VIRTIO_NET_DEFAULT_MAC;

		if (virtio_net_setup(&net, &gm, tap[0], mac) == 0)
			virtio_net_load(&net, f, 3, &why);
		virtio_net_exit(&net);
	}
	snap_file_done(f, &why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snap_key key = { .nr_vcpus = 1, .mem_size = 128u << 20 };
	struct snap_file f;
	const char *why = NULL;
	uint8_t *buf, mode;

	if (size < 1 || size > SNAP_MAX_SIZE + 1)
		return 0;
	if (!ram_a) {
		ram_a = malloc(A_SIZE);
		ram_b = malloc(B_SIZE);
		gm.base = ram_a;
		gm.base_size = A_SIZE;
		if (!ram_a || !ram_b || gm_add_region(&gm, 0, A_SIZE, ram_a) ||
		    gm_add_region(&gm, B_GPA, B_SIZE, ram_b))
			abort();
		disk = memfd_create("fuzz-disk", MFD_CLOEXEC);
		if (disk < 0 || ftruncate(disk, 4096) < 0 ||
		    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tap) < 0)
			abort();
	}
	mode = data[0];
	size--;
	/* A copy of exactly the input's size, so ASan sees any overread. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size);
	if (mode & 1)
		snap_reseal(buf, size);
	if (snap_parse(&f, buf, size, (mode & 2) ? &key : NULL,
		       (mode & 2) ? "0.1.0" : NULL, &why) == 0) {
		if (mode & 4) {
			consume(&f);
		} else {
			/* Every section and field, the ways a consumer reads one. */
			for (unsigned int i = 0; i < f.nsections; i++) {
				struct snap_section *s = snap_find(&f, f.s[i].type,
								   f.s[i].instance);
				uint8_t small[64];
				const uint8_t *p;
				size_t n;

				for (uint32_t tag = 0; tag < 16; tag++) {
					snap_has(s, tag);
					snap_get(s, tag, small, tag * 4 % sizeof(small), &why);
					if (snap_get_var(s, tag, &p, &n, 8, 4096, &why) == 0 && n)
						small[0] = p[n - 1];	/* its last byte */
				}
				snap_section_done(s, &why);
			}
			snap_file_done(&f, &why);
		}
	}
	snap_file_free(&f);
	free(buf);
	return 0;
}
