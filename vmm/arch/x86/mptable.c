/* The Intel MultiProcessor Specification 1.4 table. Without ACPI this is
 * how Linux learns how many CPUs there are, where the IOAPIC is and how
 * the ISA interrupts are wired. It sits at the start of the EBDA, which
 * Linux scans for the "_MP_" floating pointer. */
#include "vmm/arch/x86/boot.h"
#include "vmm/arch/x86/layout.h"

#include <errno.h>
#include <string.h>

#define MP_IRQS 24		/* pins of KVM's in-kernel IOAPIC */
#define APIC_VERSION 0x14
#define IOAPIC_VERSION 0x11

struct mpf {			/* floating pointer structure */
	char signature[4];
	uint32_t physptr;
	uint8_t length;		/* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {		/* configuration table header */
	char signature[4];
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;		/* 0 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;	/* 1 enabled, 2 bootstrap processor */
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;		/* 1 */
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;		/* 2 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;		/* 1 enabled */
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {		/* type 3: I/O interrupt, 4: local interrupt */
	uint8_t type;
	uint8_t irqtype;	/* 0 INT, 1 NMI, 3 ExtINT */
	uint16_t irqflag;	/* 0: polarity and trigger conform to the bus */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf) == 16, "mpf");
_Static_assert(sizeof(struct mpc_table) == 44, "mpc_table");
_Static_assert(sizeof(struct mpc_cpu) == 20, "mpc_cpu");
_Static_assert(sizeof(struct mpc_intsrc) == 8, "mpc_intsrc");

static uint8_t checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

int x86_mptable_write(const struct guest_mem *gm, unsigned int nr_vcpus)
{
	uint8_t buf[sizeof(struct mpf) + sizeof(struct mpc_table) +
		    X86_MAX_VCPUS * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
		    sizeof(struct mpc_ioapic) + (MP_IRQS + 2) * sizeof(struct mpc_intsrc)];
	struct mpf *mpf = (struct mpf *)buf;
	struct mpc_table *mpc = (struct mpc_table *)(mpf + 1);
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = (uint8_t)nr_vcpus;	/* the first id after the CPUs */
	uint16_t count = 0;

	if (nr_vcpus < 1 || nr_vcpus > X86_MAX_VCPUS)
		return -EINVAL;
	memset(buf, 0, sizeof(buf));

	for (unsigned int i = 0; i < nr_vcpus; i++, count++) {
		struct mpc_cpu c = {
			.type = 0,
			.apicid = (uint8_t)i,
			.apicver = APIC_VERSION,
			.cpuflag = 1 | (i == 0 ? 2 : 0),
			.cpufeature = 0x600,	/* family 6: what Linux expects */
			.featureflag = 0x201,	/* FPU, APIC */
		};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	struct mpc_bus bus = { .type = 1, .busid = 0, .bustype = "ISA   " };
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	count++;
	struct mpc_ioapic io = { .type = 2, .apicid = ioapic_id,
				 .apicver = IOAPIC_VERSION, .flags = 1,
				 .apicaddr = (uint32_t)X86_IOAPIC_ADDR };
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	count++;
	/* ISA IRQ n arrives on IOAPIC pin n, as KVM's default routing does. */
	for (unsigned int i = 0; i < MP_IRQS; i++, count++) {
		struct mpc_intsrc s = { .type = 3, .irqtype = 0, .srcbus = 0,
					.srcbusirq = (uint8_t)i,
					.dstapic = ioapic_id, .dstirq = (uint8_t)i };
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
	}
	/* The legacy PIC reaches every LAPIC's LINT0, NMI their LINT1. */
	struct mpc_intsrc lint[2] = {
		{ .type = 4, .irqtype = 3, .dstapic = 0xff, .dstirq = 0 },
		{ .type = 4, .irqtype = 1, .dstapic = 0xff, .dstirq = 1 },
	};
	memcpy(p, lint, sizeof(lint));
	p += sizeof(lint);
	count += 2;

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = 4;
	memcpy(mpc->oem, "AIRLOCK ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = (uint32_t)X86_LAPIC_ADDR;
	mpc->checksum = checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(X86_EBDA_ADDR + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = checksum(mpf, sizeof(*mpf));

	if ((uint64_t)(p - buf) > X86_HIMEM_START - X86_EBDA_ADDR)
		return -ENOSPC;
	return gm_write(gm, X86_EBDA_ADDR, buf, (size_t)(p - buf));
}
