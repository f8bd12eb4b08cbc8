/* Framing for the byte streams between host and airlock-init (vsock): an
 * 8-byte header, then at most FRAME_MAX_PAYLOAD bytes of payload. The
 * incremental decoder takes whatever chunks the socket returns and yields
 * whole frames. Pure code, no I/O: the caller owns the socket. See
 * docs/protocol.md for the layout and the versioning rule. */
#ifndef AIRLOCK_PROTO_FRAME_H
#define AIRLOCK_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Header, little-endian:
 *   0 u8  magic    FRAME_MAGIC (not ASCII, so a text line is never a frame)
 *   1 u8  version  FRAME_VERSION
 *   2 u8  type     what the payload is; who may send it is the stream's rule
 *   3 u8  flags    none defined in version 1: must be 0
 *   4 u32 length   payload bytes, 0..FRAME_MAX_PAYLOAD
 * Bytes 0 and 1 keep their place in every future version, so two peers of
 * different versions always tell each other apart at the first header. */
#define FRAME_MAGIC 0xa7u
#define FRAME_VERSION 1u
#define FRAME_HEADER_SIZE 8u
/* The most a peer can make the other buffer for one frame. */
#define FRAME_MAX_PAYLOAD 65536u
#define FRAME_MAX_SIZE (FRAME_HEADER_SIZE + FRAME_MAX_PAYLOAD)

/* One decoded frame. payload points into the decoder's buffer and is valid
 * until the next call on that decoder. */
struct frame {
	uint8_t type;
	uint32_t len;
	const uint8_t *payload;
};

/* Which frame types a stream accepts: anything else is refused with
 * -EPROTO as soon as its header is complete. */
typedef bool (*frame_type_ok_fn)(uint8_t type);

/* Encode a whole frame into buf. payload may already sit at
 * buf + FRAME_HEADER_SIZE (so a reader can read() straight into place).
 * Returns FRAME_HEADER_SIZE + len, -EMSGSIZE if len > FRAME_MAX_PAYLOAD,
 * -ENOSPC if buf is too small. */
int frame_encode(uint8_t *buf, size_t size, uint8_t type,
		 const void *payload, size_t len);

/* Incremental decoder for one stream. Large (holds one whole payload):
 * allocate it statically or on the heap. */
struct frame_decoder {
	frame_type_ok_fn type_ok;
	int error;		/* sticky: once set, the stream is dead */
	uint8_t peer_version;	/* version byte of the last header seen */
	uint32_t have;		/* bytes of the current frame received */
	uint8_t hdr[FRAME_HEADER_SIZE];
	uint8_t type;
	uint32_t len;
	uint8_t payload[FRAME_MAX_PAYLOAD];
};

void frame_decoder_init(struct frame_decoder *d, frame_type_ok_fn type_ok);

/* Consume bytes from *data (advancing *data and *len) up to the end of the
 * next whole frame. Returns 1 and fills *f when a frame is complete, 0 when
 * all input was consumed without completing one, or a negative error:
 *   -EPROTO           bad magic, unknown type, nonzero flags
 *   -EPROTONOSUPPORT  another version (peer_version says which)
 *   -EMSGSIZE         length over FRAME_MAX_PAYLOAD
 * Magic and version are checked on the byte they arrive in, so a peer with
 * a shorter header is caught without waiting for 8 bytes. After an error
 * every call returns the same error: the stream is dead. *f stays valid
 * until the next call. Typical use:
 *   while ((r = frame_decoder_next(d, &p, &n, &f)) > 0) handle(&f);  */
int frame_decoder_next(struct frame_decoder *d, const uint8_t **data,
		       size_t *len, struct frame *f);

/* True if part of a frame has been received: an end of stream now means
 * the peer was cut off mid-frame. */
bool frame_decoder_partial(const struct frame_decoder *d);

/* Little-endian access for payload codecs: no alignment, no host order. */
static inline uint16_t frame_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t frame_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline void frame_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void frame_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
