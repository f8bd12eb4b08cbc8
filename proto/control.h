/* The control protocol: requests to the VM as a whole (not to one command),
 * on their own vsock port (AIRLOCK_VSOCK_PORT_CONTROL): end the VM cleanly,
 * and resume a guest restored from a snapshot. Same framing as the exec streams (proto/frame.h); each request
 * is answered with ACK before airlock-init acts on it. Pure code, no I/O.
 * Layouts and meaning: docs/protocol.md, "The control port". */
#ifndef AIRLOCK_PROTO_CONTROL_H
#define AIRLOCK_PROTO_CONTROL_H

#include "proto/frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame types: high bit clear host -> guest, set guest -> host, as on the
 * exec streams; each side's decoder refuses the other side's types. */
enum control_msg_type {
	CONTROL_MSG_POWEROFF = 0x01,	/* end the VM; empty payload */
	CONTROL_MSG_RESUME = 0x02,	/* a restored guest goes on: fresh entropy,
					 * the time, the sandbox disk's size */
	CONTROL_MSG_ACK = 0x81,		/* the request is done (RESUME) or taken; empty */
};

/* RESUME's payload, little-endian: seed[64], realtime_ns u64, upper_size
 * u64. */
#define CONTROL_RESUME_SEED 64
#define CONTROL_RESUME_LEN (CONTROL_RESUME_SEED + 8 + 8)

/* Type filters for frame_decoder_init(). */
bool control_type_to_guest(uint8_t type);
bool control_type_to_host(uint8_t type);

struct control_msg {
	uint8_t type;	/* enum control_msg_type */
	/* RESUME only. */
	uint8_t seed[CONTROL_RESUME_SEED];	/* the host's getrandom() */
	uint64_t realtime_ns;	/* the host's CLOCK_REALTIME when it sent it */
	uint64_t upper_size;	/* the sandbox disk in bytes, as it is now; 0: none */
};

/* Returns 0, or -EPROTO for an unknown type, or a payload not of exactly
 * the type's size (empty, or CONTROL_RESUME_LEN for RESUME). */
int control_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		       struct control_msg *m);
/* Writes the whole frame into buf: its size, -ENOSPC if buf is too small,
 * -EINVAL for an unknown type. */
int control_msg_encode(uint8_t *buf, size_t size, const struct control_msg *m);

#endif
