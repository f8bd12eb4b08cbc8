/* The snapshot state file format (vmm/snapshot.c): a written file reads
 * back field for field; every truncation, every header field out of range,
 * every malformed section or field, and every single-byte change is refused
 * with an error and a reason, never a crash (run under ASan/UBSan too). */
#include "check.h"
#include "vmm/snapshot.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define VERSION "0.1.0"

static struct snap_key key2(void)
{
	struct snap_key k = { .nr_vcpus = 2, .mem_size = 128u << 20 };

	for (int i = 0; i < SNAP_NR_IDENTS; i++)
		memset(k.ident[i], 0x11 * (i + 1), SNAP_IDENT_LEN);
	return k;
}

static const uint8_t id[SNAP_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* A small but complete file: memory, two vCPUs, irqchip, PIT, clock, one
 * device. Field sizes are odd on purpose, to exercise the padding. */
static uint8_t *sample(size_t *len)
{
	struct snap_key k = key2();
	struct snap_writer w;
	uint64_t regions[3] = { 0, 128u << 20, 0 };
	uint8_t *buf = NULL;
	uint32_t v = 0xabcdef01;

	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0);
	snap_field(&w, SNAP_F_MEM_REGIONS, regions, sizeof(regions));
	snap_end(&w);
	for (uint32_t i = 0; i < 2; i++) {
		snap_begin(&w, SNAP_SEC_VCPU, i);
		snap_field(&w, SNAP_F_VCPU_TSC_KHZ, &v, sizeof(v));
		snap_field(&w, SNAP_F_VCPU_REGS, "hello", 5);
		snap_end(&w);
	}
	snap_begin(&w, SNAP_SEC_IRQCHIP, 0);
	snap_field(&w, SNAP_F_PIC_MASTER, "abc", 3);
	snap_end(&w);
	snap_begin(&w, SNAP_SEC_PIT, 0);
	snap_field(&w, SNAP_F_PIT, "", 0);
	snap_end(&w);
	snap_begin(&w, SNAP_SEC_CLOCK, 0);
	snap_end(&w);
	snap_begin(&w, SNAP_SEC_DEVICE, 3);
	snap_field(&w, SNAP_F_DEV_TRANSPORT, "12345678", 8);
	snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, len), 0);
	return buf;
}

static int parse(const uint8_t *buf, size_t len, const char **why)
{
	struct snap_key k = key2();
	struct snap_file f;
	int r = snap_parse(&f, buf, len, &k, VERSION, why);

	snap_file_free(&f);
	return r;
}

TEST(round_trip)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_key k = key2();
	struct snap_file f;
	struct snap_section *s;
	const char *why = NULL;
	const uint8_t *p;
	size_t n;
	uint32_t v = 0;
	uint64_t regions[3];
	char regs[5];

	CHECK_EQ(len % 8, 0);
	CHECK_EQ(snap_parse(&f, buf, len, &k, VERSION, &why), 0);
	CHECK_EQ(f.nsections, 7);
	CHECK(memcmp(f.hdr.id, id, sizeof(id)) == 0);
	CHECK_EQ(f.hdr.nr_vcpus, 2);

	s = snap_find(&f, SNAP_SEC_VCPU, 1);
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ(snap_get(s, SNAP_F_VCPU_TSC_KHZ, &v, sizeof(v), &why), 0);
		CHECK_EQ(v, 0xabcdef01);
		/* Exact size only. */
		CHECK_EQ(snap_get(s, SNAP_F_VCPU_REGS, regs, 4, &why), -EBADMSG);
		CHECK_EQ(snap_get(s, SNAP_F_VCPU_REGS, regs, 5, &why), 0);
		CHECK(memcmp(regs, "hello", 5) == 0);
		CHECK_EQ(snap_get(s, SNAP_F_VCPU_SREGS, regs, 5, &why), -EBADMSG);
		CHECK_STR(why, "a field is missing");
		CHECK_EQ(snap_section_done(s, &why), 0);
	}
	s = snap_find(&f, SNAP_SEC_MEMORY, 0);
	CHECK(s != NULL);
	if (s) {
		CHECK_EQ(snap_get_var(s, SNAP_F_MEM_REGIONS, &p, &n, 24, 16, &why), -EBADMSG);
		CHECK_EQ(snap_get_var(s, SNAP_F_MEM_REGIONS, &p, &n, 16, 64, &why), -EBADMSG);
		CHECK_EQ(snap_get_var(s, SNAP_F_MEM_REGIONS, &p, &n, 24, 48, &why), 0);
		CHECK_EQ(n, 24);
		memcpy(regions, p, sizeof(regions));
		CHECK_EQ(regions[1], 128u << 20);
	}
	s = snap_find(&f, SNAP_SEC_VCPU, 0);
	/* A field nobody took: refused once the consumer is done. */
	CHECK(s && snap_section_done(s, &why) == -EBADMSG);
	CHECK(snap_find(&f, SNAP_SEC_VCPU, 2) == NULL);
	CHECK(snap_find(&f, SNAP_SEC_DEVICE, 0) == NULL);
	/* Sections nobody took (irqchip, ...). */
	CHECK_EQ(snap_file_done(&f, &why), -EBADMSG);
	snap_find(&f, SNAP_SEC_IRQCHIP, 0);
	snap_find(&f, SNAP_SEC_PIT, 0);
	snap_find(&f, SNAP_SEC_CLOCK, 0);
	CHECK_EQ(snap_file_done(&f, &why), -EBADMSG);
	CHECK_STR(why, "a device this VM does not have");
	s = snap_find(&f, SNAP_SEC_DEVICE, 3);
	CHECK(s && snap_has(s, SNAP_F_DEV_TRANSPORT) && !snap_has(s, SNAP_F_DEV_BLK));
	CHECK_EQ(snap_file_done(&f, &why), 0);
	snap_file_free(&f);
	free(buf);
}

/* Cut short anywhere: refused, as it is and with its header made to agree
 * (size and checksum), so that the walk itself meets the cut. */
TEST(truncated_everywhere)
{
	size_t len;
	uint8_t *buf = sample(&len);
	const char *why;

	for (size_t n = 0; n < len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		int r;

		memcpy(cut, buf, n);
		why = NULL;
		r = parse(cut, n, &why);
		CHECK_EQ(r, -EBADMSG);
		CHECK(why != NULL);
		if (n >= sizeof(struct snap_header)) {
			uint64_t fs = n;

			memcpy(cut + offsetof(struct snap_header, file_size), &fs, 8);
			snap_reseal(cut, n);
			why = NULL;
			r = parse(cut, n, &why);
			CHECK(r == -EBADMSG);
			CHECK(why != NULL);
		}
		free(cut);
	}
	free(buf);
}

/* Any one byte changed: the checksum says so. */
TEST(every_byte_flipped)
{
	size_t len;
	uint8_t *buf = sample(&len);
	const char *why;

	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0x5a;
		why = NULL;
		CHECK_EQ(parse(buf, len, &why), -EBADMSG);
		CHECK(why != NULL);
		buf[i] ^= 0x5a;
	}
	CHECK_EQ(parse(buf, len, &why), 0);
	free(buf);
}

struct mutation {
	const char *name;
	size_t off;		/* into the file */
	unsigned int size;	/* 1, 4 or 8 bytes */
	uint64_t value;
	int err;
	const char *why;
};

#define H(field) offsetof(struct snap_header, field)
#define S0 sizeof(struct snap_header)	/* the first section (memory) */
#define F0 (S0 + sizeof(struct snap_section_hdr))	/* its first field */

static const struct mutation header_cases[] = {
	{ "format", H(format), 4, SNAP_FORMAT_VERSION + 1, -ESTALE, "written in another snapshot format version" },
	{ "header size", H(header_size), 4, 184, -EBADMSG,
	  "header size does not match its format version" },
	{ "file size larger", H(file_size), 8, 1u << 20, -EBADMSG,
	  "truncated: shorter than its header says" },
	{ "file size huge", H(file_size), 8, UINT64_MAX, -EBADMSG,
	  "truncated: shorter than its header says" },
	{ "file size smaller", H(file_size), 8, 200, -EBADMSG, "longer than its header says" },
	{ "reserved", H(reserved), 4, 1, -EBADMSG, "reserved header field not zero" },
	{ "nsections huge", H(nsections), 4, 0xffffffff, -EBADMSG, "too many sections" },
	{ "nsections more", H(nsections), 4, 8, -EBADMSG,
	  "a section header past the end of the file" },
	{ "nsections fewer", H(nsections), 4, 6, -EBADMSG, "bytes after the last section" },
	{ "no vCPUs", H(nr_vcpus), 4, 0, -EBADMSG, "vCPU count out of range" },
	{ "too many vCPUs", H(nr_vcpus), 4, SNAP_MAX_VCPUS + 1, -EBADMSG,
	  "vCPU count out of range" },
	{ "other vCPU count", H(nr_vcpus), 4, 1, -ESTALE, "made for another number of vCPUs" },
	{ "no memory", H(mem_size), 8, 0, -EBADMSG, "memory size not a whole number of pages" },
	{ "memory not pages", H(mem_size), 8, (128u << 20) + 1, -EBADMSG,
	  "memory size not a whole number of pages" },
	{ "other memory", H(mem_size), 8, 256u << 20, -ESTALE, "made for another memory size" },
	{ "version", H(vmm_version), 1, '9', -ESTALE, "made by another airlock-vmm version" },
	{ "kernel", H(ident), 1, 0, -ESTALE, "made with another kernel" },
	{ "initrd", H(ident) + SNAP_IDENT_LEN, 1, 0, -ESTALE, "made with another initramfs" },
	{ "template", H(ident) + 2 * SNAP_IDENT_LEN + 31, 1, 0, -ESTALE,
	  "made from another template" },
	{ "magic", H(magic), 1, 'X', -EBADMSG, "not an airlock snapshot (no ARLKSNAP magic)" },
	/* The first section, memory: type, instance, size, field count. */
	{ "section type 0", S0, 4, 0, -EBADMSG, "a section of unknown type" },
	{ "section type unknown", S0, 4, SNAP_SEC_MAX + 1, -EBADMSG, "a section of unknown type" },
	{ "section type duplicate", S0, 4, SNAP_SEC_PIT, -EBADMSG, "a section that appears twice" },
	{ "VM-wide instance", S0 + 4, 4, 1, -EBADMSG, "a VM-wide section with an instance number" },
	{ "section size unaligned", S0 + 8, 4, 36, -EBADMSG, "a section of unaligned size" },
	{ "section size huge", S0 + 8, 4, 0xfffffff8u, -EBADMSG, "a section longer than the file" },
	{ "section size short", S0 + 8, 4, 8, -EBADMSG, "a field longer than its section" },
	{ "section size long", S0 + 8, 4, 40, -EBADMSG, "bytes in a section after its last field" },
	{ "fields huge", S0 + 12, 4, 0xffffffff, -EBADMSG, "a section with too many fields" },
	{ "fields more", S0 + 12, 4, 2, -EBADMSG, "a field header past its section's end" },
	{ "fields none", S0 + 12, 4, 0, -EBADMSG, "bytes in a section after its last field" },
	{ "field len huge", F0 + 4, 4, 0xffffffff, -EBADMSG, "a field longer than its section" },
	{ "field len past", F0 + 4, 4, 25, -EBADMSG, "a field longer than its section" },
	{ "field len shorter", F0 + 4, 4, 16, -EBADMSG, "bytes in a section after its last field" },
};

TEST(header_and_sections_out_of_range)
{
	size_t len;
	uint8_t *buf = sample(&len);

	for (size_t i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct mutation *m = &header_cases[i];
		uint8_t *b = malloc(len);
		const char *why = NULL;
		int r;

		memcpy(b, buf, len);
		memcpy(b + m->off, &m->value, m->size);
		snap_reseal(b, len);
		r = parse(b, len, &why);
		if (r != m->err || !why || strcmp(why, m->why) != 0) {
			fprintf(stderr, "case '%s': got %d (%s)\n", m->name, r, why ? why : "-");
			check_failures++;
		}
		free(b);
	}
	free(buf);
}

/* Files the writer can make but the loader must refuse as a whole. */
TEST(bad_shapes)
{
	struct snap_key k = key2();
	struct snap_writer w;
	uint8_t *buf;
	size_t len;
	const char *why;

	/* A vCPU missing. */
	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_IRQCHIP, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_PIT, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_CLOCK, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_VCPU, 1); snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), 0);
	CHECK_EQ(parse(buf, len, &why), -EBADMSG);
	CHECK_STR(why, "a vCPU's section is missing");
	free(buf);

	/* A vCPU beyond the count. */
	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_VCPU, 2); snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), 0);
	CHECK_EQ(parse(buf, len, &why), -EBADMSG);
	CHECK_STR(why, "a vCPU section beyond the vCPU count");
	free(buf);

	/* No clock. */
	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_IRQCHIP, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_PIT, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_VCPU, 0); snap_end(&w);
	snap_begin(&w, SNAP_SEC_VCPU, 1); snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), 0);
	CHECK_EQ(parse(buf, len, &why), -EBADMSG);
	CHECK_STR(why, "a VM-wide section (memory, irqchip, PIT, clock) is missing");
	free(buf);

	/* The same field twice. */
	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0);
	snap_field(&w, 1, "a", 1);
	snap_field(&w, 1, "b", 1);
	snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), 0);
	CHECK_EQ(parse(buf, len, &why), -EBADMSG);
	CHECK_STR(why, "a field that appears twice in one section");
	free(buf);

	/* A device slot out of range. */
	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_DEVICE, SNAP_MAX_SECTIONS); snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), 0);
	CHECK_EQ(parse(buf, len, &why), -EBADMSG);
	CHECK_STR(why, "a device slot out of range");
	free(buf);

	/* Trailing bytes after a well-formed file. */
	buf = sample(&len);
	buf = realloc(buf, len + 8);
	memset(buf + len, 0, 8);
	{
		uint64_t fs = len + 8;

		memcpy(buf + offsetof(struct snap_header, file_size), &fs, 8);
	}
	snap_reseal(buf, len + 8);
	CHECK_EQ(parse(buf, len + 8, &why), -EBADMSG);
	CHECK_STR(why, "bytes after the last section");
	free(buf);

	/* A version string with no NUL in it. */
	buf = sample(&len);
	memset(buf + H(vmm_version), 'x', SNAP_VERSION_LEN);
	snap_reseal(buf, len);
	CHECK_EQ(parse(buf, len, &why), -EBADMSG);
	CHECK_STR(why, "VMM version not terminated");
	free(buf);

	/* Not a snapshot at all, or too big to be one. */
	CHECK_EQ(parse((const uint8_t *)"hello", 5, &why), -EBADMSG);
	CHECK_STR(why, "not an airlock snapshot (too short)");
	buf = calloc(1, SNAP_MAX_SIZE + 1);
	CHECK_EQ(parse(buf, SNAP_MAX_SIZE + 1, &why), -EBADMSG);
	CHECK_STR(why, "larger than any snapshot state file");
	free(buf);
}

/* Without a key (snapshot tools), any key is accepted. */
TEST(no_key)
{
	size_t len;
	uint8_t *buf = sample(&len);
	struct snap_file f;
	const char *why;

	buf[H(ident)] ^= 1;
	snap_reseal(buf, len);
	CHECK_EQ(snap_parse(&f, buf, len, NULL, NULL, &why), 0);
	snap_file_free(&f);
	CHECK_EQ(parse(buf, len, &why), -ESTALE);
	free(buf);
}

TEST(writer_misuse)
{
	struct snap_key k = key2();
	struct snap_writer w;
	uint8_t *buf;
	size_t len;
	static uint8_t big[1 << 20];

	snap_writer_init(&w, &k, id, VERSION);
	snap_field(&w, 1, "x", 1);	/* outside a section */
	CHECK_EQ(snap_finish(&w, &buf, &len), -EINVAL);
	snap_writer_free(&w);

	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0);
	snap_begin(&w, SNAP_SEC_PIT, 0);	/* nested */
	CHECK_EQ(snap_finish(&w, &buf, &len), -EINVAL);
	snap_writer_free(&w);

	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0);	/* never ended */
	CHECK_EQ(snap_finish(&w, &buf, &len), -EINVAL);
	snap_writer_free(&w);

	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0);
	for (int i = 0; i < 17; i++)
		snap_field(&w, (uint32_t)i, big, sizeof(big));	/* past SNAP_MAX_SIZE */
	snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), -E2BIG);
	snap_writer_free(&w);

	snap_writer_init(&w, &k, id, VERSION);
	snap_begin(&w, SNAP_SEC_MEMORY, 0);
	for (int i = 0; i <= SNAP_MAX_FIELDS; i++)
		snap_field(&w, (uint32_t)i, "", 0);
	snap_end(&w);
	CHECK_EQ(snap_finish(&w, &buf, &len), -EINVAL);
	snap_writer_free(&w);
}

CHECK_MAIN(TEST_ENTRY(round_trip), TEST_ENTRY(truncated_everywhere),
	   TEST_ENTRY(every_byte_flipped), TEST_ENTRY(header_and_sections_out_of_range),
	   TEST_ENTRY(bad_shapes), TEST_ENTRY(no_key), TEST_ENTRY(writer_misuse))
