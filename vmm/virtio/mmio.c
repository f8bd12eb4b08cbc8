/* virtio-mmio transport: see mmio.h. Register offsets and semantics are
 * virtio 1.2 §4.2.2; only the modern (version 2) layout is offered. */
#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
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

static void raise_irq(struct virtio_mmio *m, uint32_t why)
{
	uint64_t one = 1;

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

void virtio_mmio_config_changed(struct virtio_mmio *m)
{
	m->config_gen++;
	raise_irq(m, INT_CONFIG);
}

static bool live(const struct virtio_mmio *m)
{
	return (m->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(m->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_mmio_notify_used(struct virtio_mmio *m, unsigned int q)
{
	if (virtq_should_notify(&m->q[q]))
		raise_irq(m, INT_USED_RING);
}

void virtio_mmio_kick(struct virtio_mmio *m, unsigned int q)
{
	pthread_mutex_lock(&m->lock);
	if (q < m->ops->nqueues && live(m) && m->q[q].ready)
		m->ops->queue_notify(m->dev, q);
	pthread_mutex_unlock(&m->lock);
}

static void reset(struct virtio_mmio *m)
{
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&m->q[i], m->gm);
	m->status = m->dev_feat_sel = m->drv_feat_sel = m->queue_sel = 0;
	m->int_status = 0;
	m->drv_features = 0;
	if (m->ops->reset)
		m->ops->reset(m->dev);
}

static void set_status(struct virtio_mmio *m, uint32_t v)
{
	if (v == 0) {
		reset(m);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(m->status & VIRTIO_STATUS_FEATURES_OK)) {
		/* Only what we offered, and the modern interface. Refusing
		 * leaves FEATURES_OK clear, which the driver checks. */
		if ((m->drv_features & ~m->ops->features) ||
		    !(m->drv_features & VIRTIO_F_VERSION_1))
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
	}
	/* The driver can set bits, not clear them (except by reset), and it
	 * cannot set NEEDS_RESET for us. */
	m->status |= v & ~(uint32_t)VIRTIO_STATUS_NEEDS_RESET;
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

static void reg_write(struct virtio_mmio *m, uint64_t off, uint32_t v)
{
	struct virtq *q = selq(m);
	uint64_t one = 1;

	switch (off) {
	case REG_DEVICE_FEATURES_SEL:
		m->dev_feat_sel = v;
		return;
	case REG_DRIVER_FEATURES:
		/* Features are fixed once FEATURES_OK is set. */
		if (m->drv_feat_sel <= 1 && !(m->status & VIRTIO_STATUS_FEATURES_OK))
			set_half(&m->drv_features, m->drv_feat_sel == 1, v);
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
		if (v < m->ops->nqueues && write(m->kick_fd[v], &one, sizeof(one)) < 0) {
			/* overflow only: a kick is pending already */
		}
		return;
	case REG_INTERRUPT_ACK:
		m->int_status &= ~v;
		return;
	case REG_STATUS:
		set_status(m, v);
		return;
	default:
		break;
	}
	/* Queue set-up: only for an existing queue that is not running. */
	if (!q || q->ready) {
		if (q && off == REG_QUEUE_READY && v == 0)
			q->ready = false;
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
	case REG_QUEUE_DEVICE_LOW:
	case REG_QUEUE_DEVICE_HIGH:
		set_half(&q->used_gpa, off == REG_QUEUE_DEVICE_HIGH, v);
		break;
	case REG_QUEUE_READY:
		if (v != 1)
			break;
		q->event_idx = !!(m->drv_features & VIRTIO_F_RING_EVENT_IDX);
		if (virtq_activate(q))
			virtio_mmio_fail(m, "queue rings misplaced or misaligned");
		break;
	default:
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

		/* Config space: any width, read-only for our devices. */
		if (!is_write) {
			memset(data, 0, len);
			if (c < m->ops->config_size && len <= m->ops->config_size - c)
				m->ops->config_read(m->dev, (uint32_t)c, data, len);
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
