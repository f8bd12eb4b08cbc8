/* libFuzzer target for proto/sync, the first code on either side that
 * reads what a hostile peer sends on the sync stream. The first input byte
 * picks a mode:
 *   stream   (bit 0 clear) the rest is a byte stream in one direction (bit
 *            1), fed to the frame decoder; every frame goes to the message
 *            decoder and the order checker. A message that decodes with a
 *            good path must re-encode to the very same bytes; one with a
 *            bad path must never come out of the encoder.
 *   paths    (bit 0 set) the rest is a path: sync_path_check's verdict must
 *            agree with a slow reference of the documented rules.
 * Besides ASan/UBSan finding nothing, the decoded strings must be NUL-
 * terminated within their arrays and the checker never lets more DATA
 * through than a header announced. */
#include "proto/sync.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct frame_decoder dec;
static struct sync_msg msg;
static uint8_t enc[FRAME_MAX_SIZE];

static void check_reencode(const struct frame *f)
{
	int n = sync_msg_encode(enc, sizeof(enc), &msg);

	if (msg.bad) {
		/* The encoder must not send what the peer refuses. (With a NUL
		 * inside a name the C string is a shorter, different name,
		 * which it may send: just never these bytes.) */
		if (n >= 0 && (size_t)n == FRAME_HEADER_SIZE + f->len &&
		    memcmp(enc + FRAME_HEADER_SIZE, f->payload, f->len) == 0)
			abort();
		return;
	}
	if (n < 0 || (size_t)n != FRAME_HEADER_SIZE + f->len ||
	    enc[2] != f->type || memcmp(enc + FRAME_HEADER_SIZE, f->payload, f->len))
		abort();
}

static void mode_stream(bool to_guest, const uint8_t *data, size_t size)
{
	const uint8_t *p = data;
	size_t left = size;
	struct sync_seq seq;
	uint64_t due = 0;
	bool in_content = false;
	struct frame f;
	int r;

	frame_decoder_init(&dec, to_guest ? sync_type_to_guest : sync_type_to_host);
	sync_seq_init(&seq);
	while ((r = frame_decoder_next(&dec, &p, &left, &f)) > 0) {
		if (sync_msg_decode(f.type, f.payload, f.len, &msg) != 0)
			continue;
		if (strnlen(msg.path, sizeof(msg.path)) == sizeof(msg.path) ||
		    strnlen(msg.to, sizeof(msg.to)) == sizeof(msg.to) ||
		    strnlen(msg.target, sizeof(msg.target)) == sizeof(msg.target) ||
		    strnlen(msg.text, sizeof(msg.text)) == sizeof(msg.text))
			abort();
		check_reencode(&f);
		if ((to_guest ? sync_seq_to_guest(&seq, &msg) :
				sync_seq_to_host(&seq, &msg)) != 0)
			break;
		/* The checker's own account, kept independently. */
		if (msg.type == SYNC_MSG_PUT_DATA || msg.type == SYNC_MSG_CHANGE_DATA) {
			if (!in_content || msg.len > due)
				abort();
			due -= msg.len;
		} else if (msg.type == SYNC_MSG_PUT_END || msg.type == SYNC_MSG_CHANGE_END) {
			if (!in_content || (msg.flags == SYNC_END_DONE && due))
				abort();
			in_content = false;
		} else if ((msg.type == SYNC_MSG_PUT || msg.type == SYNC_MSG_CHANGE) &&
			   msg.meta.kind == SYNC_FILE && !(msg.flags & SYNC_F_META_ONLY)) {
			in_content = true;
			due = msg.meta.size;
		} else if (in_content && msg.type != SYNC_MSG_FAIL) {
			abort();	/* something else let in mid-content */
		}
	}
}

/* The rules of docs/protocol.md, spelled out slowly. */
static bool reference_ok(const uint8_t *p, size_t n)
{
	size_t start = 0, depth = 0;

	if (n == 0 || n > SYNC_MAX_PATH)
		return false;
	for (size_t i = 0; i <= n; i++) {
		size_t len;

		if (i < n && p[i] != '/')
			continue;
		len = i - start;
		depth++;
		if (len == 0 || len > 255 || depth > SYNC_MAX_DEPTH)
			return false;
		if ((len == 1 && p[start] == '.') ||
		    (len == 2 && p[start] == '.' && p[start + 1] == '.'))
			return false;
		for (size_t k = start; k < i; k++)
			if (p[k] == 0)
				return false;
		if (len >= 13 && memcmp(p + start, ".airlock-tmp-", 13) == 0)
			return false;
		start = i + 1;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		bool ok = sync_path_check((const char *)data + 1, size - 1) == 0;

		if (ok != reference_ok(data + 1, size - 1))
			abort();
		return 0;
	}
	mode_stream(data[0] & 2, data + 1, size - 1);
	return 0;
}
