/* The control protocol: requests to the VM as a whole (not to one command),
 * on their own vsock port (AIRLOCK_VSOCK_PORT_CONTROL). Today one: end the
 * VM cleanly. Same framing as the exec streams (proto/frame.h); each request
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
	CONTROL_MSG_ACK = 0x81,		/* the request before it is accepted; empty */
};

/* Type filters for frame_decoder_init(). */
bool control_type_to_guest(uint8_t type);
bool control_type_to_host(uint8_t type);

struct control_msg {
	uint8_t type;	/* enum control_msg_type; no message has a payload yet */
};

/* Returns 0, or -EPROTO for an unknown type or a payload where the type
 * has none (every message today is empty). */
int control_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		       struct control_msg *m);
/* Writes the whole frame into buf: its size, -ENOSPC if buf is too small,
 * -EINVAL for an unknown type. */
int control_msg_encode(uint8_t *buf, size_t size, const struct control_msg *m);

#endif
