/* Frame header encoding and the incremental stream decoder: see frame.h. */
#include "proto/frame.h"

#include <errno.h>
#include <string.h>

int frame_encode(uint8_t *buf, size_t size, uint8_t type,
		 const void *payload, size_t len)
{
	if (len > FRAME_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (size < FRAME_HEADER_SIZE || size - FRAME_HEADER_SIZE < len)
		return -ENOSPC;
	if (len)
		memmove(buf + FRAME_HEADER_SIZE, payload, len);
	buf[0] = FRAME_MAGIC;
	buf[1] = FRAME_VERSION;
	buf[2] = type;
	buf[3] = 0;
	frame_put_u32(buf + 4, (uint32_t)len);
	return (int)(FRAME_HEADER_SIZE + len);
}

void frame_decoder_init(struct frame_decoder *d, frame_type_ok_fn type_ok)
{
	d->type_ok = type_ok;
	d->error = 0;
	d->peer_version = 0;
	d->have = 0;
	d->type = 0;
	d->len = 0;
}

/* Check the header byte just stored at hdr[have - 1], so that a wrong
 * magic or version is refused on the byte it arrives in. */
static int header_byte(struct frame_decoder *d)
{
	switch (d->have) {
	case 1:
		return d->hdr[0] == FRAME_MAGIC ? 0 : -EPROTO;
	case 2:
		d->peer_version = d->hdr[1];
		return d->hdr[1] == FRAME_VERSION ? 0 : -EPROTONOSUPPORT;
	case 3:
		d->type = d->hdr[2];
		return d->type_ok(d->type) ? 0 : -EPROTO;
	case 4:
		return d->hdr[3] == 0 ? 0 : -EPROTO;
	case FRAME_HEADER_SIZE:
		d->len = frame_get_u32(d->hdr + 4);
		return d->len <= FRAME_MAX_PAYLOAD ? 0 : -EMSGSIZE;
	default:
		return 0;
	}
}

int frame_decoder_next(struct frame_decoder *d, const uint8_t **data,
		       size_t *len, struct frame *f)
{
	if (d->error)
		return d->error;
	while (*len > 0) {
		if (d->have < FRAME_HEADER_SIZE) {
			int r;

			d->hdr[d->have++] = **data;
			(*data)++;
			(*len)--;
			r = header_byte(d);
			if (r < 0)
				return d->error = r;
			if (d->have < FRAME_HEADER_SIZE)
				continue;
		} else {
			/* have - HEADER < len here: the frame is handed out and
			 * have reset as soon as it is whole. */
			size_t got = d->have - FRAME_HEADER_SIZE;
			size_t n = d->len - got;

			if (n > *len)
				n = *len;
			memcpy(d->payload + got, *data, n);
			*data += n;
			*len -= n;
			d->have += (uint32_t)n;
		}
		if (d->have - FRAME_HEADER_SIZE == d->len) {
			f->type = d->type;
			f->len = d->len;
			f->payload = d->payload;
			d->have = 0;
			return 1;
		}
	}
	return 0;
}

bool frame_decoder_partial(const struct frame_decoder *d)
{
	return d->have > 0;
}
