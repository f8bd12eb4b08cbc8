/* libFuzzer target for proto/control, what airlock-init reads on the
 * control port. The first byte picks the direction and a chunk-size seed;
 * the rest is a byte stream fed to the stream decoder once whole and once
 * in chunks: both must yield the same frames and the same end. Every frame
 * that decodes as a message must re-encode to the very same bytes. */
#include "proto/control.h"
#include "proto/frame.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 4096

static struct frame_decoder whole, chunked;
static uint8_t seen_type[MAX_FRAMES];
static uint32_t seen_len[MAX_FRAMES];

static void check_msg(const struct frame *f)
{
	struct control_msg m;
	uint8_t enc[FRAME_HEADER_SIZE + CONTROL_RESUME_LEN];
	int n;

	if (control_msg_decode(f->type, f->payload, f->len, &m) != 0)
		return;
	if (m.type != f->type || f->len != (f->type == CONTROL_MSG_RESUME ? CONTROL_RESUME_LEN : 0))
		abort();
	n = control_msg_encode(enc, sizeof(enc), &m);
	if (n != (int)(FRAME_HEADER_SIZE + f->len) || enc[0] != FRAME_MAGIC ||
	    enc[1] != FRAME_VERSION || enc[2] != f->type || enc[3] != 0 ||
	    frame_get_u32(enc + 4) != f->len ||
	    memcmp(enc + FRAME_HEADER_SIZE, f->payload, f->len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	frame_type_ok_fn ok;
	const uint8_t *p;
	size_t left, nframes = 0, k = 0, pos = 0;
	uint32_t rng;
	struct frame f;
	int r, end;

	if (size < 1)
		return 0;
	ok = data[0] & 1 ? control_type_to_host : control_type_to_guest;
	rng = data[0] * 2654435761u + 1;
	data++;
	size--;

	frame_decoder_init(&whole, ok);
	p = data;
	left = size;
	while ((r = frame_decoder_next(&whole, &p, &left, &f)) > 0) {
		if (f.len > FRAME_MAX_PAYLOAD || !ok(f.type))
			abort();
		if (nframes < MAX_FRAMES) {
			seen_type[nframes] = f.type;
			seen_len[nframes] = f.len;
		}
		nframes++;
		check_msg(&f);
	}
	if (r < 0 && r != -EPROTO && r != -EPROTONOSUPPORT && r != -EMSGSIZE)
		abort();
	end = r;

	frame_decoder_init(&chunked, ok);
	r = 0;
	while (pos < size && r >= 0) {
		size_t n;

		rng ^= rng << 13;
		rng ^= rng >> 17;
		rng ^= rng << 5;
		n = rng % 19;
		if (n > size - pos)
			n = size - pos;
		p = data + pos;
		pos += n;
		while ((r = frame_decoder_next(&chunked, &p, &n, &f)) > 0) {
			if (k < MAX_FRAMES &&
			    (seen_type[k] != f.type || seen_len[k] != f.len))
				abort();
			k++;
		}
		if (r == 0 && n != 0)
			abort();
	}
	if (k != nframes || r != end)
		abort();
	return 0;
}
