/* floodguest: a hostile guest kernel for tests/integration/t_flood.sh. Booted
 * with --boot linux64 in place of Linux, it finds the virtio-mmio devices,
 * brings up virtio-blk, virtio-rng and virtio-vsock (tx) queues, fills each
 * ring and then, without ever waiting for an interrupt, keeps every ring
 * full: avail->idx = used->idx + size in a loop, with a kick now and then. This is what
 * a compromised guest kernel can do and an honest driver never does (it
 * waits for completions); the VMM must still answer SIGTERM at once.
 * Freestanding: 64-bit mode on the VMM's identity map, no interrupts, its
 * only output "flooding N devices" on COM2 (the VMM's stdout). */
#include <stdint.h>

#define MMIO_BASE 0xd0000000ul
#define MMIO_SLOTS 10
#define COM2 0x2f8
#define QSIZE 256
#define BLK_DATA (64u * 1024)	/* each read request: 64 KiB of sector 0 */
#define BLK_CHAINS (QSIZE / 3)
#define RNG_BUF (64u * 1024)

enum {
	R_MAGIC = 0x000, R_DEVICE_ID = 0x008, R_DRV_FEAT = 0x020,
	R_DRV_FEAT_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM = 0x038,
	R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050, R_STATUS = 0x070,
	R_DESC_LO = 0x080, R_DESC_HI = 0x084, R_DRIVER_LO = 0x090,
	R_DRIVER_HI = 0x094, R_DEVICE_LO = 0x0a0, R_DEVICE_HI = 0x0a4,
};

enum { ID_BLK = 2, ID_RNG = 4, ID_VSOCK = 19 };
enum { F_NEXT = 1, F_WRITE = 2 };

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct ring {
	struct desc desc[QSIZE];
	struct { uint16_t flags, idx, ring[QSIZE], used_event; } avail;
	uint8_t pad[4096];
	struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QSIZE];
		 uint16_t avail_event; } used __attribute__((aligned(4)));
} __attribute__((aligned(4096)));

struct flood {
	uintptr_t base;
	uint32_t queue;
	struct ring *r;
};

/* Everything in .bss, which the VMM's fresh guest RAM holds as zeroes. */
static struct ring rings[MMIO_SLOTS];
static struct flood floods[MMIO_SLOTS];
static uint8_t blk_hdr[16] __attribute__((aligned(16)));	/* IN, sector 0 */
static uint8_t blk_data[BLK_DATA] __attribute__((aligned(4096)));
static uint8_t blk_status[BLK_CHAINS];
static uint8_t rng_buf[RNG_BUF] __attribute__((aligned(4096)));
static uint8_t vsock_pkt[44];
uint8_t floodguest_stack[16384] __attribute__((aligned(16)));

__asm__(".globl _start\n"
	"_start:\n"
	"	lea floodguest_stack+16384(%rip), %rsp\n"
	"	call flood_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");

static void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static void say(const char *s)
{
	while (*s)
		outb(COM2, (uint8_t)*s++);
}

static void w32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static uint32_t r32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}

/* The driver's set-up (virtio 1.2 §3.1.1) with VERSION_1 only, queue q on
 * r, and DRIVER_OK. */
static void bring_up(uintptr_t base, uint32_t q, struct ring *r)
{
	uint64_t d = (uintptr_t)r->desc, a = (uintptr_t)&r->avail,
		 u = (uintptr_t)&r->used;

	w32(base + R_STATUS, 0);
	w32(base + R_STATUS, 1);
	w32(base + R_STATUS, 3);
	w32(base + R_DRV_FEAT_SEL, 1);
	w32(base + R_DRV_FEAT, 1);	/* VIRTIO_F_VERSION_1 */
	w32(base + R_DRV_FEAT_SEL, 0);
	w32(base + R_DRV_FEAT, 0);
	w32(base + R_STATUS, 0xb);
	w32(base + R_QUEUE_SEL, q);
	w32(base + R_QUEUE_NUM, QSIZE);
	w32(base + R_DESC_LO, (uint32_t)d);
	w32(base + R_DESC_HI, (uint32_t)(d >> 32));
	w32(base + R_DRIVER_LO, (uint32_t)a);
	w32(base + R_DRIVER_HI, (uint32_t)(a >> 32));
	w32(base + R_DEVICE_LO, (uint32_t)u);
	w32(base + R_DEVICE_HI, (uint32_t)(u >> 32));
	w32(base + R_QUEUE_READY, 1);
	w32(base + R_STATUS, 0xf);
}

/* Fill r's descriptors and avail ring for a device of this id. */
static int lay_out(uint32_t id, struct ring *r)
{
	switch (id) {
	case ID_BLK:
		/* Chains of three: header, 64 KiB to read into, status. */
		for (unsigned int k = 0; k < BLK_CHAINS; k++) {
			r->desc[3 * k] = (struct desc){ (uintptr_t)blk_hdr, 16, F_NEXT,
							 (uint16_t)(3 * k + 1) };
			r->desc[3 * k + 1] = (struct desc){ (uintptr_t)blk_data, BLK_DATA,
							     F_WRITE | F_NEXT,
							     (uint16_t)(3 * k + 2) };
			r->desc[3 * k + 2] = (struct desc){ (uintptr_t)&blk_status[k], 1,
							     F_WRITE, 0 };
		}
		for (unsigned int i = 0; i < QSIZE; i++)
			r->avail.ring[i] = (uint16_t)(3 * (i % BLK_CHAINS));
		return 0;
	case ID_RNG:
		for (unsigned int i = 0; i < QSIZE; i++) {
			r->desc[i] = (struct desc){ (uintptr_t)rng_buf, RNG_BUF, F_WRITE, 0 };
			r->avail.ring[i] = (uint16_t)i;
		}
		return 0;
	case ID_VSOCK: {
		/* A data packet for a stream that does not exist, from CID 3
		 * to the host: the device answers each with a reset owed. */
		static const uint8_t hdr[44] = {
			3, 0, 0, 0, 0, 0, 0, 0,		/* src_cid */
			2, 0, 0, 0, 0, 0, 0, 0,		/* dst_cid */
			0xd2, 0x04, 0, 0,		/* src_port 1234 */
			0x0f, 0x27, 0, 0,		/* dst_port 9999 */
			0, 0, 0, 0,			/* len */
			1, 0,				/* type: stream */
			5, 0,				/* op: RW */
		};

		for (unsigned int i = 0; i < sizeof(hdr); i++)
			vsock_pkt[i] = hdr[i];
		for (unsigned int i = 0; i < QSIZE; i++) {
			r->desc[i] = (struct desc){ (uintptr_t)vsock_pkt, sizeof(hdr), 0, 0 };
			r->avail.ring[i] = (uint16_t)i;
		}
		return 1;	/* the tx queue */
	}
	default:
		return -1;
	}
}

void flood_main(void);

void flood_main(void)
{
	unsigned int n = 0;

	blk_hdr[0] = 0;		/* VIRTIO_BLK_T_IN; sector 0 */
	for (unsigned int i = 0; i < MMIO_SLOTS; i++) {
		uintptr_t base = MMIO_BASE + 0x1000ul * i;
		int q;

		if (r32(base + R_MAGIC) != 0x74726976)
			break;
		q = lay_out(r32(base + R_DEVICE_ID), &rings[n]);
		if (q < 0)
			continue;
		floods[n] = (struct flood){ base, (uint32_t)q, &rings[n] };
		bring_up(base, (uint32_t)q, &rings[n]);
		n++;
	}
	say(n == 0 ? "flooding 0 devices\n" : n == 1 ? "flooding 1 devices\n" :
	    n == 2 ? "flooding 2 devices\n" : "flooding 3 or more devices\n");
	for (unsigned int round = 0;; round++) {
		for (unsigned int i = 0; i < n; i++) {
			struct flood *f = &floods[i];
			uint16_t used = *(volatile uint16_t *)&f->r->used.idx;

			/* Never more than the ring holds past what the device
			 * has used, so the device sees a well-formed ring. A
			 * kick now and then (each is an exit, which would slow
			 * the refill) wakes a device that stopped. */
			*(volatile uint16_t *)&f->r->avail.idx = (uint16_t)(used + QSIZE);
			if (round % 64 == 0)
				w32(f->base + R_QUEUE_NOTIFY, f->queue);
		}
	}
}
