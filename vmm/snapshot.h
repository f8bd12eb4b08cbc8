/* The snapshot state file: a versioned, self-describing header (magic,
 * format and VMM versions, the key the snapshot fits: vCPUs, memory size,
 * the caller's identity of kernel, initramfs and template, a random id the
 * memory file carries too), then typed, length-prefixed sections (one per
 * vCPU, the irqchip, the PIT, the clock, each device, the memory layout),
 * each a list of tagged, length-prefixed fields. Little-endian, every
 * record 8-byte aligned; a CRC-32 over the whole file catches damage.
 *
 * The writer builds the file in memory. The loader treats the bytes as
 * hostile: every size, count and offset is checked before it is used, a
 * section or field that appears twice or that the format does not know is
 * refused, and a consumer takes a field only at its exact size. Errors are
 * -errno plus a reason string for the user, never a crash. Layout and
 * meaning: docs/snapshot.md. */
#ifndef AIRLOCK_VMM_SNAPSHOT_H
#define AIRLOCK_VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC "ARLKSNAP"		/* 8 bytes, no NUL */
#define SNAP_FORMAT_VERSION 2
#define SNAP_VERSION_LEN 16		/* the VMM version, NUL-padded */
#define SNAP_ID_LEN 16
#define SNAP_IDENT_LEN 32		/* one identity hash (e.g. SHA-256) */
#define SNAP_MAX_SIZE (16u << 20)	/* a state file is a few hundred KiB */
#define SNAP_MAX_VCPUS 64
#define SNAP_MAX_SECTIONS 128		/* vCPUs, devices and VM-wide ones */
#define SNAP_MAX_UARTS 4
#define SNAP_MAX_FIELDS 64		/* per section */
#define SNAP_ALIGN 8

/* What a snapshot fits, and what a restore must match exactly. */
enum snap_ident { SNAP_IDENT_KERNEL, SNAP_IDENT_INITRD, SNAP_IDENT_TEMPLATE,
		  SNAP_NR_IDENTS };

struct snap_key {
	uint32_t nr_vcpus;
	uint64_t mem_size;			/* bytes */
	uint8_t ident[SNAP_NR_IDENTS][SNAP_IDENT_LEN];	/* the caller's, opaque */
};

/* On disk, at offset 0. */
struct snap_header {
	char magic[8];
	uint32_t format;		/* SNAP_FORMAT_VERSION */
	uint32_t header_size;		/* sizeof(struct snap_header) */
	uint64_t file_size;		/* the whole file */
	uint32_t crc;			/* CRC-32 of the file with this field 0 */
	uint32_t nsections;
	char vmm_version[SNAP_VERSION_LEN];
	uint8_t id[SNAP_ID_LEN];
	uint32_t nr_vcpus;
	uint32_t reserved;		/* 0 */
	uint64_t mem_size;
	uint8_t ident[SNAP_NR_IDENTS][SNAP_IDENT_LEN];
} __attribute__((packed));

/* On disk, before each section's fields; size counts the fields only. */
struct snap_section_hdr {
	uint32_t type;
	uint32_t instance;
	uint32_t size;
	uint32_t nfields;
} __attribute__((packed));

/* On disk, before each field's bytes (then padding to SNAP_ALIGN). */
struct snap_field_hdr {
	uint32_t tag;
	uint32_t len;
} __attribute__((packed));

enum snap_section_type {
	SNAP_SEC_MEMORY = 1,	/* instance 0 */
	SNAP_SEC_VCPU = 2,	/* instance = vCPU index */
	SNAP_SEC_IRQCHIP = 3,	/* instance 0: PIC master, slave, IOAPIC */
	SNAP_SEC_PIT = 4,	/* instance 0 */
	SNAP_SEC_CLOCK = 5,	/* instance 0 */
	SNAP_SEC_DEVICE = 6,	/* instance = virtio-mmio slot */
	SNAP_SEC_SERIAL = 7,	/* instance = UART index (0 COM1, 1 COM2) */
	SNAP_SEC_MAX = SNAP_SEC_SERIAL,
};

/* Field tags, per section type (a tag means something only in its own). */
enum {
	/* SNAP_SEC_MEMORY */
	SNAP_F_MEM_REGIONS = 1,		/* struct snap_mem_region[] */
	/* SNAP_SEC_VCPU: KVM's own structures, at their exact size */
	SNAP_F_VCPU_MP_STATE = 1,
	SNAP_F_VCPU_REGS = 2,
	SNAP_F_VCPU_SREGS = 3,
	SNAP_F_VCPU_XSAVE = 4,		/* KVM_GET_XSAVE2's size */
	SNAP_F_VCPU_XCRS = 5,
	SNAP_F_VCPU_DEBUGREGS = 6,
	SNAP_F_VCPU_LAPIC = 7,
	SNAP_F_VCPU_TSC_KHZ = 8,	/* uint32_t */
	SNAP_F_VCPU_CPUID = 9,		/* struct kvm_cpuid_entry2[] */
	SNAP_F_VCPU_MSRS = 10,		/* struct kvm_msr_entry[] */
	SNAP_F_VCPU_EVENTS = 11,
	/* SNAP_SEC_IRQCHIP */
	SNAP_F_PIC_MASTER = 1,		/* struct kvm_irqchip */
	SNAP_F_PIC_SLAVE = 2,
	SNAP_F_IOAPIC = 3,
	/* SNAP_SEC_PIT */
	SNAP_F_PIT = 1,			/* struct kvm_pit_state2 */
	/* SNAP_SEC_CLOCK */
	SNAP_F_CLOCK = 1,		/* struct kvm_clock_data */
	/* SNAP_SEC_DEVICE */
	SNAP_F_DEV_TRANSPORT = 1,	/* struct snap_virtio_transport */
	SNAP_F_DEV_QUEUE0 = 2,		/* ..+3: struct snap_virtq */
	SNAP_F_DEV_BLK = 8,		/* struct snap_virtio_blk */
	SNAP_F_DEV_VSOCK = 9,		/* struct snap_virtio_vsock */
	SNAP_F_DEV_NET = 10,		/* struct snap_virtio_net */
	/* SNAP_SEC_SERIAL */
	SNAP_F_SERIAL = 1,		/* struct snap_serial */
};

/* One RAM region: guest-physical range and where it is in the memory file
 * (after the file's header page). */
struct snap_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t file_off;
} __attribute__((packed));

/* ---- writing ------------------------------------------------------------ */

/* The file as it grows; err sticks at the first failure (-ENOMEM, -E2BIG,
 * -EINVAL for a misuse) so callers check once, at snap_finish(). */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	int err;
	size_t sec;		/* offset of the open section's header; 0: none */
	uint32_t nsections;
};

void snap_writer_init(struct snap_writer *w, const struct snap_key *key,
		      const uint8_t id[SNAP_ID_LEN], const char *vmm_version);
/* Makes room for cap bytes now, so that writing up to that much later
 * allocates nothing (a VMM under seccomp may not). 0 or -ENOMEM/-E2BIG. */
int snap_writer_reserve(struct snap_writer *w, size_t cap);
void snap_begin(struct snap_writer *w, uint32_t type, uint32_t instance);
void snap_field(struct snap_writer *w, uint32_t tag, const void *data, size_t len);
void snap_end(struct snap_writer *w);
/* Seals the file (sizes, CRC). Returns 0 with *buf and *len the file (the
 * caller frees buf), or the first error. */
int snap_finish(struct snap_writer *w, uint8_t **buf, size_t *len);
void snap_writer_free(struct snap_writer *w);

/* Recomputes the CRC of a file of len bytes (at least a header) in place:
 * for tests and fuzzers that change a file and want the loader to look
 * past the checksum. */
void snap_reseal(uint8_t *buf, size_t len);

/* ---- loading ------------------------------------------------------------ */

struct snap_field_ref {
	uint32_t tag;
	uint32_t len;
	const uint8_t *data;	/* inside the file's buffer */
	bool taken;		/* a consumer read it */
};

struct snap_section {
	uint32_t type;
	uint32_t instance;
	unsigned int nfields;
	struct snap_field_ref f[SNAP_MAX_FIELDS];
	bool taken;
};

/* A parsed, checked file. Points into the caller's buffer, which must stay
 * alive and unchanged while it is used. */
struct snap_file {
	struct snap_header hdr;		/* a copy */
	unsigned int nsections;
	struct snap_section *s;		/* nsections of them */
};

/* Checks and indexes buf: magic, versions, sizes, CRC, every section and
 * field header, no duplicates, known section types, vCPU sections for
 * exactly 0..nr_vcpus-1, one of each VM-wide section. If key is not NULL
 * the file must have been made for it (and by vmm_version if not NULL).
 * Returns 0; -EBADMSG (damaged or malformed), -ESTALE (made for another
 * key, VMM or format version) or -ENOMEM, with *why saying what is wrong.
 * snap_file_free() either way. */
int snap_parse(struct snap_file *f, const uint8_t *buf, size_t len,
	       const struct snap_key *key, const char *vmm_version,
	       const char **why);
void snap_file_free(struct snap_file *f);

/* The section of this type and instance, or NULL. */
struct snap_section *snap_find(struct snap_file *f, uint32_t type,
			       uint32_t instance);

/* Copies field tag of s into out, which must be exactly len bytes long.
 * -EBADMSG (with *why) if s has no such field or its size differs. */
int snap_get(struct snap_section *s, uint32_t tag, void *out, size_t len,
	     const char **why);
/* A field of variable size: *data and *len, at most max bytes and a
 * multiple of unit. -EBADMSG with *why if missing or of a bad size. */
int snap_get_var(struct snap_section *s, uint32_t tag, const uint8_t **data,
		 size_t *len, size_t unit, size_t max, const char **why);
/* Whether s has field tag (for a field only some devices have). */
bool snap_has(const struct snap_section *s, uint32_t tag);
/* After a consumer read a section: -EBADMSG if it holds a field nobody
 * took (a file from a newer writer, or damage). */
int snap_section_done(struct snap_section *s, const char **why);
/* After every consumer ran: -EBADMSG if a section nobody took remains
 * (a device the snapshot had and this VM does not). */
int snap_file_done(const struct snap_file *f, const char **why);

/* True if n bytes at p are all zero: reserved fields and padding of a
 * kernel structure read from a snapshot must be. */
static inline bool snap_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

#endif
