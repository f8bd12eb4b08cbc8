/* virtio-net (virtio 1.2 §5.1) in userspace over a TAP file descriptor:
 * one receive and one transmit queue, mergeable receive buffers, checksum
 * and TCP segmentation offloads both ways. Frames move between the TAP
 * and the guest's own buffers with readv/writev, never through a buffer
 * of ours. The TAP is opened by someone else (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR) and configured here before the sandbox closes in. */
#ifndef AIRLOCK_VMM_VIRTIO_NET_H
#define AIRLOCK_VMM_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"

#define VIRTIO_NET_F_CSUM (1ull << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1)
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ull << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ull << 8)
#define VIRTIO_NET_F_HOST_TSO4 (1ull << 11)
#define VIRTIO_NET_F_HOST_TSO6 (1ull << 12)
#define VIRTIO_NET_F_MRG_RXBUF (1ull << 15)
#define VIRTIO_NET_F_STATUS (1ull << 16)

#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2
#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_TCPV6 4

#define VIRTIO_NET_S_LINK_UP 1

#define NET_RXQ 0
#define NET_TXQ 1

/* The header in front of every frame, both ways (VERSION_1: always all
 * 12 bytes, num_buffers included). Little-endian, like the host. */
struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

#define NET_HDR_SIZE 12u
#define NET_ETH_HLEN 14u
/* The largest frame either way: 64 KiB of IP plus the Ethernet header
 * (the figure virtio 1.2 §5.1.6.3 gives drivers for their buffers). */
#define NET_MAX_FRAME 65550u
#define NET_MAX_PACKET (NET_HDR_SIZE + NET_MAX_FRAME)
/* Receive buffers held at once: UIO_MAXIOV, what one readv takes. */
#define NET_RX_MAX_IOV 1024u

/* A receive chain popped and held until a packet fills it. */
struct net_rx_buf {
	uint16_t head;
	uint32_t gen;		/* the queue's generation when popped */
	uint64_t len;		/* its writable bytes */
	unsigned int iov;	/* its first entry in rx_iov */
	unsigned int niov;
};

struct net_stats {
	uint64_t rx_packets, rx_dropped;	/* dropped: too big, stale offloads */
	uint64_t tx_packets, tx_dropped;	/* dropped: bad header, TAP refused */
};

struct virtio_net {
	struct virtio_mmio mmio;
	struct vm *vm;			/* NULL in tests: no event registration */
	int tap;
	bool tap_ioctls;		/* a real TAP: offloads are set on it */
	bool tap_watched;		/* EPOLLIN wanted on it */
	bool tap_dead;			/* it failed for good: link down, never read */
	struct vm_event tap_ev;
	uint8_t mac[6];
	uint16_t link;			/* config status: VIRTIO_NET_S_LINK_UP or 0 */
	bool offload_synced;		/* TUNSETOFFLOAD done for these features */
	unsigned int offload;		/* TUN_F_* in force on the TAP */
	/* Receive chains held, in ring order: held[held_start, held_end),
	 * their buffers rx_iov[iov_start, iov_end). */
	struct net_rx_buf held[VIRTQ_MAX_SIZE];
	unsigned int held_start, held_end;
	struct iovec rx_iov[NET_RX_MAX_IOV];
	unsigned int iov_start, iov_end;
	uint64_t held_bytes;
	bool rx_full;			/* rx_iov cannot take the next chain */
	struct net_stats stats;
	struct ratelog tap_errors;	/* the TAP's own failures: the first few logged */
	struct ratelog drops;		/* packets dropped: the first few logged */
	struct virtq_chain chain;	/* scratch, under mmio.lock */
	struct iovec tx_iov[VIRTQ_MAX_CHAIN + 1];
};

/* Set the device up on tap, an fd opened with IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR (it becomes non-blocking, its virtio-net header 12 bytes,
 * its offloads off until the guest accepts some), at MMIO base with
 * interrupt irq, and watch it from the VM's I/O loop. -EINVAL (or
 * -ENOTTY, -EBADFD) if tap is not such a TAP, else -errno. */
int virtio_net_init(struct virtio_net *n, struct vm *vm, uint64_t base,
		    uint32_t irq, int tap, const uint8_t mac[6]);

/* Without KVM, for unit tests and fuzzing: fd keeps packet boundaries (a
 * SOCK_SEQPACKET socketpair stands in for the TAP); no ioctls, no event
 * loop. */
int virtio_net_setup(struct virtio_net *n, const struct guest_mem *gm,
		     int fd, const uint8_t mac[6]);

/* Release the fds the device made (not the TAP, which is the caller's). */
void virtio_net_exit(struct virtio_net *n);

/* What the I/O loop does when the TAP is readable: receive what the
 * guest's buffers can take, one batch (virtio_mmio_budget()) at most; a
 * TAP with frames left stays readable. Tests call it in place of the
 * event loop. */
void virtio_net_poll(struct virtio_net *n);

/* Check the header of a frame the guest sends (frame_len bytes follow
 * it) against the features it accepted: 0, or -EINVAL with *why. */
int virtio_net_tx_check(const struct vnet_hdr *h, uint64_t frame_len,
			uint64_t features, const char **why);

/* Parse "XX:XX:XX:XX:XX:XX" (hex, either case) into mac: 0, or -EINVAL
 * for anything else, and for a multicast address (no NIC has one). */
int virtio_net_parse_mac(const char *s, uint8_t mac[6]);

/* The MAC address the guest gets unless told otherwise: locally
 * administered, the same in every sandbox (each has a network of its
 * own). */
#define VIRTIO_NET_DEFAULT_MAC { 0x02, 0x00, 0x0a, 0x00, 0x02, 0x0f }

#endif
