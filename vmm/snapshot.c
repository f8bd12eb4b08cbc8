/* The snapshot state file: see snapshot.h and docs/snapshot.md. Bounds are
 * checked by subtraction from what is left of the buffer, so no sum of
 * file-supplied numbers can wrap. */
#include "vmm/snapshot.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

_Static_assert(sizeof(struct snap_header) == 176, "snapshot header layout");
_Static_assert(sizeof(struct snap_section_hdr) == 16, "section header layout");
_Static_assert(sizeof(struct snap_field_hdr) == 8, "field header layout");
_Static_assert(sizeof(struct snap_header) % SNAP_ALIGN == 0, "header alignment");

#define CRC_OFF offsetof(struct snap_header, crc)

static size_t pad8(size_t n)
{
	return (SNAP_ALIGN - n % SNAP_ALIGN) % SNAP_ALIGN;
}

/* CRC-32 of buf[0, len) as if the header's crc field were 0. */
static uint32_t file_crc(const uint8_t *buf, size_t len)
{
	static const uint8_t zero[4];
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32_z(c, buf, CRC_OFF);
	c = crc32_z(c, zero, sizeof(zero));
	c = crc32_z(c, buf + CRC_OFF + 4, len - CRC_OFF - 4);
	return (uint32_t)c;
}

/* ---- writing ------------------------------------------------------------ */

static void *grow(struct snap_writer *w, size_t n)
{
	uint8_t *p;

	if (w->err)
		return NULL;
	if (n > SNAP_MAX_SIZE - w->len) {
		w->err = -E2BIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 64 * 1024;

		while (cap < w->len + n)
			cap *= 2;
		p = realloc(w->buf, cap);
		if (!p) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->buf = p;
		w->cap = cap;
	}
	p = w->buf + w->len;
	memset(p, 0, n);
	w->len += n;
	return p;
}

int snap_writer_reserve(struct snap_writer *w, size_t cap)
{
	uint8_t *p;

	if (w->err)
		return w->err;
	if (cap > SNAP_MAX_SIZE)
		return -E2BIG;
	if (cap <= w->cap)
		return 0;
	p = realloc(w->buf, cap);
	if (!p)
		return -ENOMEM;
	w->buf = p;
	w->cap = cap;
	return 0;
}

void snap_writer_init(struct snap_writer *w, const struct snap_key *key,
		      const uint8_t id[SNAP_ID_LEN], const char *vmm_version)
{
	struct snap_header h = { .format = SNAP_FORMAT_VERSION,
				 .header_size = sizeof(struct snap_header) };
	void *p;

	memset(w, 0, sizeof(*w));
	memcpy(h.magic, SNAP_MAGIC, sizeof(h.magic));
	/* Kept NUL-terminated, so the loader can insist on the NUL. */
	strncpy(h.vmm_version, vmm_version, sizeof(h.vmm_version) - 1);
	memcpy(h.id, id, SNAP_ID_LEN);
	h.nr_vcpus = key->nr_vcpus;
	h.mem_size = key->mem_size;
	memcpy(h.ident, key->ident, sizeof(h.ident));
	p = grow(w, sizeof(h));
	if (p)
		memcpy(p, &h, sizeof(h));
}

void snap_begin(struct snap_writer *w, uint32_t type, uint32_t instance)
{
	struct snap_section_hdr *s;
	size_t at = w->len;

	if (!w->err && (w->sec || w->nsections >= SNAP_MAX_SECTIONS))
		w->err = -EINVAL;	/* nested, or too many */
	s = grow(w, sizeof(*s));
	if (!s)
		return;
	s->type = type;
	s->instance = instance;
	w->sec = at;
}

void snap_field(struct snap_writer *w, uint32_t tag, const void *data, size_t len)
{
	struct snap_section_hdr *s;
	struct snap_field_hdr *f;
	size_t at;

	if (!w->err && (!w->sec || len > UINT32_MAX))
		w->err = -EINVAL;
	if (w->err)
		return;
	s = (struct snap_section_hdr *)(w->buf + w->sec);
	if (s->nfields >= SNAP_MAX_FIELDS) {
		w->err = -EINVAL;
		return;
	}
	at = w->len;
	if (!grow(w, sizeof(*f) + len + pad8(len)))
		return;
	/* grow() may have moved the buffer: find both headers again. */
	f = (struct snap_field_hdr *)(w->buf + at);
	f->tag = tag;
	f->len = (uint32_t)len;
	if (len)
		memcpy(f + 1, data, len);
	s = (struct snap_section_hdr *)(w->buf + w->sec);
	s->nfields++;
}

void snap_end(struct snap_writer *w)
{
	struct snap_section_hdr *s;

	if (!w->err && !w->sec)
		w->err = -EINVAL;
	if (w->err)
		return;
	s = (struct snap_section_hdr *)(w->buf + w->sec);
	s->size = (uint32_t)(w->len - w->sec - sizeof(*s));
	w->sec = 0;
	w->nsections++;
}

int snap_finish(struct snap_writer *w, uint8_t **buf, size_t *len)
{
	struct snap_header *h;

	if (!w->err && (w->sec || w->len < sizeof(*h)))
		w->err = -EINVAL;	/* a section left open */
	if (w->err)
		return w->err;
	h = (struct snap_header *)w->buf;
	h->file_size = w->len;
	h->nsections = w->nsections;
	snap_reseal(w->buf, w->len);
	*buf = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return 0;
}

void snap_reseal(uint8_t *buf, size_t len)
{
	uint32_t crc;

	if (len < sizeof(struct snap_header))
		return;
	crc = file_crc(buf, len);
	memcpy(buf + CRC_OFF, &crc, sizeof(crc));
}

void snap_writer_free(struct snap_writer *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* ---- loading ------------------------------------------------------------ */

#define BAD(msg) do { *why = (msg); return -EBADMSG; } while (0)
#define STALE(msg) do { *why = (msg); return -ESTALE; } while (0)

static int check_header(const struct snap_header *h, size_t len,
			const struct snap_key *key, const char *vmm_version,
			const char **why)
{
	if (memcmp(h->magic, SNAP_MAGIC, sizeof(h->magic)) != 0)
		BAD("not an airlock snapshot (no ARLKSNAP magic)");
	if (h->format != SNAP_FORMAT_VERSION)
		STALE("written in another snapshot format version");
	if (h->header_size != sizeof(*h))
		BAD("header size does not match its format version");
	if (h->file_size != len)
		BAD(h->file_size > len ? "truncated: shorter than its header says"
				       : "longer than its header says");
	if (h->reserved != 0)
		BAD("reserved header field not zero");
	if (!memchr(h->vmm_version, 0, sizeof(h->vmm_version)))
		BAD("VMM version not terminated");
	if (h->nsections > SNAP_MAX_SECTIONS)
		BAD("too many sections");
	if (h->nr_vcpus == 0 || h->nr_vcpus > SNAP_MAX_VCPUS)
		BAD("vCPU count out of range");
	if (h->mem_size == 0 || h->mem_size % 4096)
		BAD("memory size not a whole number of pages");
	if (vmm_version && strcmp(h->vmm_version, vmm_version) != 0)
		STALE("made by another airlock-vmm version");
	if (!key)
		return 0;
	if (h->nr_vcpus != key->nr_vcpus)
		STALE("made for another number of vCPUs");
	if (h->mem_size != key->mem_size)
		STALE("made for another memory size");
	if (memcmp(h->ident[SNAP_IDENT_KERNEL], key->ident[SNAP_IDENT_KERNEL], SNAP_IDENT_LEN))
		STALE("made with another kernel");
	if (memcmp(h->ident[SNAP_IDENT_INITRD], key->ident[SNAP_IDENT_INITRD], SNAP_IDENT_LEN))
		STALE("made with another initramfs");
	if (memcmp(h->ident[SNAP_IDENT_TEMPLATE], key->ident[SNAP_IDENT_TEMPLATE], SNAP_IDENT_LEN))
		STALE("made from another template");
	return 0;
}

/* The fields of one section, in [p, p + size). */
static int parse_fields(struct snap_section *s, const uint8_t *p, size_t size,
			uint32_t nfields, const char **why)
{
	size_t left = size;

	if (nfields > SNAP_MAX_FIELDS)
		BAD("a section with too many fields");
	for (uint32_t i = 0; i < nfields; i++) {
		struct snap_field_hdr fh;
		size_t padded;

		if (left < sizeof(fh))
			BAD("a field header past its section's end");
		memcpy(&fh, p, sizeof(fh));
		p += sizeof(fh);
		left -= sizeof(fh);
		/* size_t: no wrap for a len near UINT32_MAX. Sections are
		 * whole multiples of 8, so the padding fits when the bytes do. */
		padded = (size_t)fh.len + pad8(fh.len);
		if (padded > left)
			BAD("a field longer than its section");
		for (unsigned int j = 0; j < s->nfields; j++)
			if (s->f[j].tag == fh.tag)
				BAD("a field that appears twice in one section");
		s->f[s->nfields++] = (struct snap_field_ref){
			.tag = fh.tag, .len = fh.len, .data = p };
		p += padded;
		left -= padded;
	}
	if (left)
		BAD("bytes in a section after its last field");
	return 0;
}

/* Which sections must be there, and how often. */
static int check_sections(const struct snap_file *f, const char **why)
{
	unsigned int count[SNAP_SEC_MAX + 1] = { 0 };

	for (unsigned int i = 0; i < f->nsections; i++) {
		const struct snap_section *s = &f->s[i];

		switch (s->type) {
		case SNAP_SEC_VCPU:
			if (s->instance >= f->hdr.nr_vcpus)
				BAD("a vCPU section beyond the vCPU count");
			break;
		case SNAP_SEC_DEVICE:
			if (s->instance >= SNAP_MAX_SECTIONS)
				BAD("a device slot out of range");
			break;
		case SNAP_SEC_SERIAL:
			if (s->instance >= SNAP_MAX_UARTS)
				BAD("a UART index out of range");
			break;
		default:
			if (s->instance != 0)
				BAD("a VM-wide section with an instance number");
			break;
		}
		for (unsigned int j = 0; j < i; j++)
			if (f->s[j].type == s->type && f->s[j].instance == s->instance)
				BAD("a section that appears twice");
		count[s->type]++;
	}
	/* Instances are below nr_vcpus and distinct: all of them are there
	 * exactly when the count is right. */
	if (count[SNAP_SEC_VCPU] != f->hdr.nr_vcpus)
		BAD("a vCPU's section is missing");
	if (count[SNAP_SEC_MEMORY] != 1 || count[SNAP_SEC_IRQCHIP] != 1 ||
	    count[SNAP_SEC_PIT] != 1 || count[SNAP_SEC_CLOCK] != 1)
		BAD("a VM-wide section (memory, irqchip, PIT, clock) is missing");
	return 0;
}

int snap_parse(struct snap_file *f, const uint8_t *buf, size_t len,
	       const struct snap_key *key, const char *vmm_version,
	       const char **why)
{
	size_t off, left;
	uint32_t crc;
	int r;

	memset(f, 0, sizeof(*f));
	if (len > SNAP_MAX_SIZE)
		BAD("larger than any snapshot state file");
	if (len < sizeof(f->hdr))
		BAD(len >= 8 && memcmp(buf, SNAP_MAGIC, 8) == 0
		    ? "truncated: shorter than its header"
		    : "not an airlock snapshot (too short)");
	memcpy(&f->hdr, buf, sizeof(f->hdr));
	/* Magic and size first: they say what kind of damage this is. */
	if (memcmp(f->hdr.magic, SNAP_MAGIC, sizeof(f->hdr.magic)) != 0)
		BAD("not an airlock snapshot (no ARLKSNAP magic)");
	if (f->hdr.header_size == sizeof(f->hdr) && f->hdr.file_size > len)
		BAD("truncated: shorter than its header says");
	crc = file_crc(buf, len);
	if (crc != f->hdr.crc)
		BAD("damaged: its checksum does not match");
	r = check_header(&f->hdr, len, key, vmm_version, why);
	if (r)
		return r;

	f->s = calloc(f->hdr.nsections ? f->hdr.nsections : 1, sizeof(*f->s));
	if (!f->s) {
		*why = "out of memory";
		return -ENOMEM;
	}
	off = sizeof(f->hdr);
	for (uint32_t i = 0; i < f->hdr.nsections; i++) {
		struct snap_section_hdr sh;
		struct snap_section *s = &f->s[i];

		left = len - off;
		if (left < sizeof(sh))
			BAD("a section header past the end of the file");
		memcpy(&sh, buf + off, sizeof(sh));
		off += sizeof(sh);
		left -= sizeof(sh);
		if (sh.size > left)
			BAD("a section longer than the file");
		if (sh.size % SNAP_ALIGN)
			BAD("a section of unaligned size");
		if (sh.type == 0 || sh.type > SNAP_SEC_MAX)
			BAD("a section of unknown type");
		s->type = sh.type;
		s->instance = sh.instance;
		f->nsections = i + 1;
		r = parse_fields(s, buf + off, sh.size, sh.nfields, why);
		if (r)
			return r;
		off += sh.size;
	}
	if (off != len)
		BAD("bytes after the last section");
	return check_sections(f, why);
}

void snap_file_free(struct snap_file *f)
{
	free(f->s);
	f->s = NULL;
	f->nsections = 0;
}

struct snap_section *snap_find(struct snap_file *f, uint32_t type,
			       uint32_t instance)
{
	for (unsigned int i = 0; i < f->nsections; i++)
		if (f->s[i].type == type && f->s[i].instance == instance) {
			f->s[i].taken = true;
			return &f->s[i];
		}
	return NULL;
}

static struct snap_field_ref *field(struct snap_section *s, uint32_t tag)
{
	for (unsigned int i = 0; i < s->nfields; i++)
		if (s->f[i].tag == tag) {
			s->f[i].taken = true;
			return &s->f[i];
		}
	return NULL;
}

int snap_get(struct snap_section *s, uint32_t tag, void *out, size_t len,
	     const char **why)
{
	struct snap_field_ref *r = field(s, tag);

	if (!r)
		BAD("a field is missing");
	if (r->len != len)
		BAD("a field of the wrong size");
	memcpy(out, r->data, len);
	return 0;
}

int snap_get_var(struct snap_section *s, uint32_t tag, const uint8_t **data,
		 size_t *len, size_t unit, size_t max, const char **why)
{
	struct snap_field_ref *r = field(s, tag);

	if (!r)
		BAD("a field is missing");
	if (r->len > max || (unit && r->len % unit))
		BAD("a field of the wrong size");
	*data = r->data;
	*len = r->len;
	return 0;
}

bool snap_has(const struct snap_section *s, uint32_t tag)
{
	for (unsigned int i = 0; i < s->nfields; i++)
		if (s->f[i].tag == tag)
			return true;
	return false;
}

int snap_section_done(struct snap_section *s, const char **why)
{
	for (unsigned int i = 0; i < s->nfields; i++)
		if (!s->f[i].taken)
			BAD("a field this VMM does not know");
	return 0;
}

int snap_file_done(const struct snap_file *f, const char **why)
{
	for (unsigned int i = 0; i < f->nsections; i++)
		if (!f->s[i].taken)
			BAD(f->s[i].type == SNAP_SEC_DEVICE
			    ? "a device this VM does not have"
			    : "a section nobody restored");
	return 0;
}
