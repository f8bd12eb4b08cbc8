/* virtio-mmio transport: see mmio.h. Register offsets and semantics are
 * virtio 1.2 §4.2.2; only the modern (version 2) layout is offered. What a
 * driver may not do (§2.1, §3.1, §4.2.2) is refused: the write is ignored,
 * the register keeps its value for the driver to read back, and the first
 * few refusals per device are logged. A device the driver has left unable
 * to go on (rings it cannot use, a broken chain) needs a reset instead. */
#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum {
	REG_MAGIC = 0x000,
	REG_VERSION = 0x004,
	REG_DEVICE_ID = 0x008,
	REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010,
	REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020,
	REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030,
	REG_QUEUE_NUM_MAX = 0x034,
	REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044,
	REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060,
	REG_INTERRUPT_ACK = 0x064,
	REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080,
	REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090,
	REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0,
	REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc,
	REG_CONFIG = 0x100,
};

#define VIRTIO_MMIO_MAGIC 0x74726976	/* "virt" */
#define VIRTIO_VENDOR_ID 0x4b4c5241	/* "ARLK": ours */
#define INT_USED_RING 1
#define INT_CONFIG 2
#define MAX_COMPLAINTS 8	/* log lines per device for failures */
#define MAX_REFUSALS 8		/* and for refused register writes */

/* The status bits the driver owns; DEVICE_NEEDS_RESET is the device's. */
#define DRIVER_BITS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
		     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK | \
		     VIRTIO_STATUS_FAILED)

static void raise_irq(struct virtio_mmio *m, uint32_t why)
{
	uint64_t one = 1;

	/* Already pending, not yet acknowledged: the driver's handler will
	 * acknowledge and then look at every queue, so another edge would
	 * only cost it a second pass (three exits) for nothing. This is
	 * what a level-triggered line does. */
	if ((m->int_status & why) == why)
		return;
	m->int_status |= why;
	if (write(m->irq_fd, &one, sizeof(one)) < 0) {
		/* An eventfd write fails only on counter overflow: the
		 * interrupt is pending already. */
	}
}

void virtio_mmio_fail(struct virtio_mmio *m, const char *why)
{
	/* Once per failure, until the guest resets the device: a guest that
	 * fails and resets in a loop gets MAX_COMPLAINTS lines in all, not a
	 * host log that grows without end. */
	bool last;

	if (!(m->status & VIRTIO_STATUS_NEEDS_RESET) && ratelog_take(&m->complaints, &last))
		fprintf(stderr, "airlock-vmm: %s at 0x%llx: %s; device stopped until "
			"the guest resets it%s\n",
			m->ops->name, (unsigned long long)m->base, why,
			last ? " (its further failures are not reported)" : "");
	if (!(m->status & VIRTIO_STATUS_NEEDS_RESET)) {
		m->status |= VIRTIO_STATUS_NEEDS_RESET;
		m->config_gen++;
		raise_irq(m, INT_CONFIG);
	}
}

/* A driver write the spec does not allow: ignored, and said (boundedly). */
static void refuse(struct virtio_mmio *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void refuse(struct virtio_mmio *m, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	bool last;

	if (!ratelog_take(&m->refusals, &last))
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "airlock-vmm: %s at 0x%llx: ignored %s%s\n", m->ops->name,
		(unsigned long long)m->base, what,
		last ? " (further refused writes are not reported)" : "");
}

bool virtio_mmio_live(const struct virtio_mmio *m)
{
	return (m->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(m->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_mmio_config_changed(struct virtio_mmio *m)
{
	m->config_gen++;
	raise_irq(m, INT_CONFIG);
}

void virtio_mmio_notify_used(struct virtio_mmio *m, unsigned int q)
{
	if (virtq_should_notify(&m->q[q]))
		raise_irq(m, INT_USED_RING);
}

void virtio_mmio_rearm(struct virtio_mmio *m, unsigned int q)
{
	uint64_t one = 1;

	if (q < m->ops->nqueues && write(m->kick_fd[q], &one, sizeof(one)) < 0) {
		/* overflow only: a wake-up is pending already */
	}
}

struct virtq_budget virtio_mmio_budget(const struct virtio_mmio *m)
{
	return (struct virtq_budget){
		m->ops->batch_chains ? m->ops->batch_chains : VIRTIO_BATCH_CHAINS,
		m->ops->batch_bytes ? m->ops->batch_bytes : VIRTIO_BATCH_BYTES,
	};
}

bool virtio_mmio_kick(struct virtio_mmio *m, unsigned int q)
{
	bool more = false;

	pthread_mutex_lock(&m->lock);
	if (q < m->ops->nqueues && virtio_mmio_live(m) && m->q[q].ready) {
		struct virtq_budget b = virtio_mmio_budget(m);

		more = m->ops->queue_notify(m->dev, q, &b);
		/* Not a loop here: the I/O loop looks at its signalfd and
		 * every other device before this queue's next batch. */
		if (more)
			virtio_mmio_rearm(m, q);
	}
	pthread_mutex_unlock(&m->lock);
	return more;
}

bool virtio_mmio_drain(struct virtio_mmio *m, unsigned int qi,
		       struct virtq_budget *budget, struct virtq_chain *c,
		       virtio_chain_fn *fn)
{
	struct virtq *q = &m->q[qi];
	const char *why = NULL;
	bool pushed = false, more = false;

	for (;;) {
		/* A chain left part-done is taken up first, unless the
		 * driver has reset or set up the queue again since. */
		bool resume = m->held[qi] && virtq_chain_live(q, c);
		int64_t n;

		m->held[qi] = false;
		if (!resume) {
			int r;

			if (!virtq_budget_left(budget)) {
				/* Come back rather than look: avail_event
				 * is only current after enable_notify. */
				more = true;
				break;
			}
			r = virtq_pop(q, c);
			if (r == 0) {
				if (virtq_enable_notify(q))
					continue;	/* more arrived meanwhile */
				break;
			}
			if (r < 0) {
				why = r == -EFAULT ? "a buffer outside guest memory"
						   : "a malformed descriptor chain";
				break;
			}
			budget->chains--;
		}
		n = fn(m->dev, c, resume, budget, &why);
		if (n == VIRTIO_CHAIN_AGAIN) {
			m->held[qi] = true;
			more = true;
			break;
		}
		if (n < 0)
			break;
		virtq_push(q, c, (uint32_t)n);
		pushed = true;
	}
	if (why) {
		virtio_mmio_fail(m, why);
		return false;
	}
	/* Once per batch: a batch is short, and without EVENT_IDX nothing
	 * else keeps a kick with nothing new from interrupting for nothing. */
	if (pushed)
		virtio_mmio_notify_used(m, qi);
	return more;
}

static void reset(struct virtio_mmio *m)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		virtq_reset(&m->q[i], m->gm);
		m->held[i] = false;
	}
	m->status = m->dev_feat_sel = m->drv_feat_sel = m->queue_sel = 0;
	m->int_status = 0;
	m->drv_features = 0;
	m->drv_features_beyond = false;
	if (m->ops->reset)
		m->ops->reset(m->dev);
}

/* The features the driver accepted are ones we offered, modern included. */
static bool features_ok(const struct virtio_mmio *m)
{
	return !(m->drv_features & ~m->ops->features) && !m->drv_features_beyond &&
	       (m->drv_features & VIRTIO_F_VERSION_1);
}

/* A status write (§2.1, §3.1.1): 0 resets; otherwise the driver adds bits
 * in the order of the initialisation sequence and never clears one. A
 * write that breaks that is refused whole; FEATURES_OK with features we did
 * not offer is left clear, which is how the driver learns (§2.2.2). */
static void set_status(struct virtio_mmio *m, uint32_t v)
{
	uint32_t old = m->status & DRIVER_BITS, want = v & DRIVER_BITS, add;

	if (v == 0) {
		reset(m);
		return;
	}
	/* NEEDS_RESET is ours: a driver writing back what it read may
	 * carry it, and it is ignored like the reserved bits. */
	if (old & ~want) {
		refuse(m, "a status write of 0x%x over 0x%x: only a write of 0 "
		       "(reset) may clear bits", v, m->status);
		return;
	}
	add = want & ~old;
	if (!add)
		return;
	if (old & VIRTIO_STATUS_FAILED) {
		refuse(m, "status 0x%x after FAILED: the driver must reset first", v);
		return;
	}
	if (((add & VIRTIO_STATUS_DRIVER) && !(want & VIRTIO_STATUS_ACKNOWLEDGE)) ||
	    ((add & VIRTIO_STATUS_FEATURES_OK) && !(want & VIRTIO_STATUS_DRIVER))) {
		refuse(m, "status 0x%x: out of the initialisation order", v);
		return;
	}
	/* DRIVER_OK only once FEATURES_OK was accepted by an earlier write,
	 * which the driver must read back (§3.1.1 steps 5-6, 8): it also
	 * means the features are settled before any queue runs. */
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		refuse(m, "status 0x%x: DRIVER_OK before FEATURES_OK", v);
		return;
	}
	if ((add & VIRTIO_STATUS_FEATURES_OK) && !features_ok(m)) {
		refuse(m, "FEATURES_OK for features 0x%llx%s, which are not a subset "
		       "of 0x%llx with VERSION_1", (unsigned long long)m->drv_features,
		       m->drv_features_beyond ? " and bits above 63" : "",
		       (unsigned long long)m->ops->features);
		want &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	m->status = (m->status & VIRTIO_STATUS_NEEDS_RESET) | want;
}

static struct virtq *selq(struct virtio_mmio *m)
{
	return m->queue_sel < m->ops->nqueues ? &m->q[m->queue_sel] : NULL;
}

static uint32_t reg_read(struct virtio_mmio *m, uint64_t off)
{
	struct virtq *q = selq(m);

	switch (off) {
	case REG_MAGIC:
		return VIRTIO_MMIO_MAGIC;
	case REG_VERSION:
		return 2;
	case REG_DEVICE_ID:
		return m->ops->device_id;
	case REG_VENDOR_ID:
		return VIRTIO_VENDOR_ID;
	case REG_DEVICE_FEATURES:
		if (m->dev_feat_sel > 1)
			return 0;
		return (uint32_t)(m->ops->features >> (32 * m->dev_feat_sel));
	case REG_QUEUE_NUM_MAX:
		return q ? VIRTQ_MAX_SIZE : 0;
	case REG_QUEUE_READY:
		return q ? q->ready : 0;
	case REG_INTERRUPT_STATUS:
		return m->int_status;
	case REG_STATUS:
		return m->status;
	case REG_CONFIG_GENERATION:
		return m->config_gen;
	default:
		return 0;	/* write-only or reserved */
	}
}

static void set_half(uint64_t *v, bool high, uint32_t x)
{
	if (high)
		*v = (*v & 0xffffffffull) | ((uint64_t)x << 32);
	else
		*v = (*v & ~0xffffffffull) | x;
}

static const char *queue_reg_name(uint64_t off)
{
	switch (off) {
	case REG_QUEUE_NUM:
		return "QueueNum";
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		return "QueueDesc";
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		return "QueueDriver";
	default:
		return "QueueDevice";
	}
}

/* QueueReady (§4.2.2, §4.2.3.2): 1 checks and starts the rings set up, 0
 * forgets them, so that nothing is read from or written to the old
 * addresses again (chains taken from them are stale: see queue.h). */
static void set_ready(struct virtio_mmio *m, struct virtq *q, uint32_t v)
{
	if (v == 0) {
		if (q->ready) {
			virtq_reset(q, m->gm);
			m->held[q - m->q] = false;
		}
		return;
	}
	if (v != 1) {
		refuse(m, "QueueReady = %u for queue %u", v, m->queue_sel);
		return;
	}
	if (q->ready)
		return;
	/* The ring format (EVENT_IDX) follows the features, which must be
	 * settled first (§3.1.1 step 7 comes after 5). */
	if (!(m->status & VIRTIO_STATUS_FEATURES_OK)) {
		refuse(m, "QueueReady for queue %u before FEATURES_OK", m->queue_sel);
		return;
	}
	q->event_idx = !!(m->drv_features & VIRTIO_F_RING_EVENT_IDX);
	if (virtq_activate(q))
		virtio_mmio_fail(m, "queue rings misplaced or misaligned");
}

static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct virtq *q = selq(m);
	uint64_t one = 1;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		m->dev_feat_sel = v;
		return;
	case REG_DRIVER_FEATURES:
		/* Features are fixed once FEATURES_OK is set (§2.2, §3.1.1). */
		if (m->status & VIRTIO_STATUS_FEATURES_OK)
			refuse(m, "a DriverFeatures write after FEATURES_OK");
		else if (m->drv_feat_sel <= 1)
			set_half(&m->drv_features, m->drv_feat_sel == 1, v);
		else if (v)
			m->drv_features_beyond = true;	/* bits we never offered */
		return;
	case REG_DRIVER_FEATURES_SEL:
		m->drv_feat_sel = v;
		return;
	case REG_QUEUE_SEL:
		m->queue_sel = v;
		return;
	case REG_QUEUE_NOTIFY:
		/* With the ioeventfd in place KVM never brings a valid index
		 * here; if it does (no datamatch hit), kick by hand. */
		if (v >= m->ops->nqueues || !m->q[v].ready) {
			refuse(m, "a notification for queue %u, which is not ready", v);
			return;
		}
		if (write(m->kick_fd[v], &one, sizeof(one)) < 0) {
			/* overflow only: a kick is pending already */
		}
		return;
	case REG_INTERRUPT_ACK:
		m->int_status &= ~v;
		return;
	case REG_STATUS:
		set_status(m, v);
		return;
	case REG_QUEUE_READY:
		if (q)
			set_ready(m, q, v);
		return;
	case REG_QUEUE_NUM:
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		break;
	default:
		return;		/* read-only or reserved */
	}
	/* Queue set-up: only for an existing queue that is not running. */
	if (!q)
		return;
	if (q->ready) {
		refuse(m, "a %s write while queue %u is ready", queue_reg_name(off),
		       m->queue_sel);
		return;
	}
	switch (off) {
	case REG_QUEUE_NUM:
		q->num = (uint16_t)(v > VIRTQ_MAX_SIZE ? 0 : v);
		break;
	case REG_QUEUE_DESC_LOW:
	case REG_QUEUE_DESC_HIGH:
		set_half(&q->desc_gpa, off == REG_QUEUE_DESC_HIGH, v);
		break;
	case REG_QUEUE_DRIVER_LOW:
	case REG_QUEUE_DRIVER_HIGH:
		set_half(&q->avail_gpa, off == REG_QUEUE_DRIVER_HIGH, v);
		break;
	default:
		set_half(&q->used_gpa, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	}
}

void virtio_mmio_access(void *opaque, uint64_t off, uint8_t *data,
			uint32_t len, bool is_write)
{
	struct virtio_mmio *m = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&m->lock);
	if (off >= REG_CONFIG) {
		uint64_t c = off - REG_CONFIG;

		/* Config space: any width, read-only for our devices (no
		 * field a driver may write is offered). */
		if (!is_write) {
			memset(data, 0, len);
			if (c < m->ops->config_size && len <= m->ops->config_size - c)
				m->ops->config_read(m->dev, (uint32_t)c, data, len);
		} else {
			refuse(m, "a write to config space at 0x%llx", (unsigned long long)c);
		}
	} else if (len != 4 || (off & 3)) {
		/* Registers are 32-bit only (§4.2.2.2). */
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		memcpy(&v, data, 4);
		reg_write(m, off, v);
	} else {
		v = reg_read(m, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&m->lock);
}

static void on_kick(struct vm_event *ev, uint32_t events)
{
	struct virtio_mmio *m = ev->opaque;
	uint64_t n;

	(void)events;
	if (read(ev->fd, &n, sizeof(n)) != sizeof(n))
		return;
	virtio_mmio_kick(m, (unsigned int)(ev - m->kick_ev));
}

int virtio_mmio_setup(struct virtio_mmio *m, const struct guest_mem *gm,
		      uint64_t base, uint32_t irq, const struct virtio_ops *ops,
		      void *dev)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->gm = gm;
	m->ops = ops;
	m->dev = dev;
	m->base = base;
	m->irq = irq;
	m->complaints = (struct ratelog)RATELOG_INIT(MAX_COMPLAINTS);
	m->refusals = (struct ratelog)RATELOG_INIT(MAX_REFUSALS);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		m->kick_fd[i] = -1;
		virtq_reset(&m->q[i], gm);
	}
	if (ops->nqueues == 0 || ops->nqueues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	m->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->irq_fd < 0)
		return -errno;
	for (unsigned int i = 0; i < ops->nqueues; i++) {
		m->kick_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->kick_fd[i] < 0)
			return -errno;
	}
	return 0;
}

int virtio_mmio_init(struct virtio_mmio *m, struct vm *vm, uint64_t base,
		     uint32_t irq, const struct virtio_ops *ops, void *dev)
{
	struct kvm_irqfd irqfd = { 0 };
	int r = virtio_mmio_setup(m, &vm->mem, base, irq, ops, dev);

	if (r)
		return r;
	/* Register accesses run on vCPU threads: they may raise the
	 * interrupt and kick a queue by hand. */
	vm_vcpu_may_write(vm, m->irq_fd);
	for (unsigned int i = 0; i < ops->nqueues; i++)
		vm_vcpu_may_write(vm, m->kick_fd[i]);
	irqfd.fd = (uint32_t)m->irq_fd;
	irqfd.gsi = irq;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	for (unsigned int i = 0; i < ops->nqueues; i++) {
		struct kvm_ioeventfd ev = {
			.datamatch = i,
			.addr = base + REG_QUEUE_NOTIFY,
			.len = 4,
			.fd = m->kick_fd[i],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ev) < 0)
			return -errno;
		m->kick_ev[i] = (struct vm_event){ m->kick_fd[i], on_kick, m };
		r = vm_event_add(vm, &m->kick_ev[i], EPOLLIN);
		if (r)
			return r;
	}
	return mmio_bus_add(&vm->mmio, base, VIRTIO_MMIO_SIZE, virtio_mmio_access, m);
}
