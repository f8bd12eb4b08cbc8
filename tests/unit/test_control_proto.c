/* proto/control: the control port's messages round-trip through the encoder,
 * the stream decoder and the message decoder; everything else is refused
 * with the documented error. */
#include "proto/control.h"
#include "proto/frame.h"
#include "proto/ports.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <stdbool.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct frame_decoder dec;

static const struct {
	const char *name;
	uint8_t type;
	bool to_guest;
	uint8_t bytes[FRAME_HEADER_SIZE];
} msgs[] = {
	{ "poweroff", CONTROL_MSG_POWEROFF, true, { 0xa7, 1, 0x01, 0, 0, 0, 0, 0 } },
	{ "ack", CONTROL_MSG_ACK, false, { 0xa7, 1, 0x81, 0, 0, 0, 0, 0 } },
};

TEST(messages_round_trip_with_documented_bytes)
{
	for (size_t i = 0; i < NELEM(msgs); i++) {
		struct control_msg m = { .type = msgs[i].type }, out = { 0 };
		uint8_t buf[64];
		const uint8_t *p = buf;
		size_t left;
		struct frame f;
		int n;

		n = control_msg_encode(buf, sizeof(buf), &m);
		CHECK_EQ(n, FRAME_HEADER_SIZE);
		if (memcmp(buf, msgs[i].bytes, FRAME_HEADER_SIZE) != 0) {
			fprintf(stderr, "  case '%s': other bytes\n", msgs[i].name);
			CHECK(0);
		}
		left = (size_t)n;
		frame_decoder_init(&dec, msgs[i].to_guest ? control_type_to_guest
							  : control_type_to_host);
		CHECK_EQ(frame_decoder_next(&dec, &p, &left, &f), 1);
		CHECK_EQ(f.type, msgs[i].type);
		CHECK_EQ(f.len, 0);
		CHECK_EQ(control_msg_decode(f.type, f.payload, f.len, &out), 0);
		CHECK_EQ(out.type, msgs[i].type);
		/* The other side refuses it at the type byte. */
		frame_decoder_init(&dec, msgs[i].to_guest ? control_type_to_host
							  : control_type_to_guest);
		p = buf;
		left = (size_t)n;
		CHECK_EQ(frame_decoder_next(&dec, &p, &left, &f), -EPROTO);
		CHECK_EQ(left, (size_t)n - 3);
	}
}

/* RESUME carries 80 bytes: the seed, then two little-endian u64s. */
TEST(resume_round_trips_with_documented_bytes)
{
	struct control_msg m = { .type = CONTROL_MSG_RESUME,
				 .realtime_ns = 0x0102030405060708ull,
				 .upper_size = 16ull << 30 }, out;
	uint8_t buf[FRAME_HEADER_SIZE + CONTROL_RESUME_LEN];
	static const uint8_t hdr[FRAME_HEADER_SIZE] = { 0xa7, 1, 0x02, 0, 80, 0, 0, 0 };
	static const uint8_t tail[16] = { 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 4, 0, 0, 0 };
	const uint8_t *p = buf;
	size_t left = sizeof(buf);
	struct frame f;

	for (int i = 0; i < CONTROL_RESUME_SEED; i++)
		m.seed[i] = (uint8_t)(i * 3 + 1);
	CHECK_EQ(control_msg_encode(buf, sizeof(buf), &m), (int)sizeof(buf));
	CHECK(memcmp(buf, hdr, sizeof(hdr)) == 0);
	CHECK(memcmp(buf + FRAME_HEADER_SIZE, m.seed, CONTROL_RESUME_SEED) == 0);
	CHECK(memcmp(buf + FRAME_HEADER_SIZE + CONTROL_RESUME_SEED, tail, sizeof(tail)) == 0);
	CHECK_EQ(control_msg_encode(buf, sizeof(buf) - 1, &m), -ENOSPC);
	frame_decoder_init(&dec, control_type_to_guest);
	CHECK_EQ(frame_decoder_next(&dec, &p, &left, &f), 1);
	CHECK_EQ(control_msg_decode(f.type, f.payload, f.len, &out), 0);
	CHECK_EQ(out.type, CONTROL_MSG_RESUME);
	CHECK(memcmp(out.seed, m.seed, sizeof(m.seed)) == 0);
	CHECK(out.realtime_ns == m.realtime_ns);
	CHECK(out.upper_size == m.upper_size);
	/* Host to guest only. */
	CHECK(!control_type_to_host(CONTROL_MSG_RESUME));
}

TEST(stream_of_requests_byte_at_a_time)
{
	uint8_t stream[3 * FRAME_HEADER_SIZE];
	struct control_msg m = { .type = CONTROL_MSG_POWEROFF };
	int frames = 0;

	for (size_t i = 0; i < 3; i++)
		CHECK_EQ(control_msg_encode(stream + i * FRAME_HEADER_SIZE,
					    FRAME_HEADER_SIZE, &m), FRAME_HEADER_SIZE);
	frame_decoder_init(&dec, control_type_to_guest);
	for (size_t i = 0; i < sizeof(stream); i++) {
		const uint8_t *p = stream + i;
		size_t n = 1;
		struct frame f;
		int r = frame_decoder_next(&dec, &p, &n, &f);

		CHECK(r == 0 || r == 1);
		if (r == 1) {
			frames++;
			CHECK_EQ(i % FRAME_HEADER_SIZE, FRAME_HEADER_SIZE - 1);
			CHECK_EQ(control_msg_decode(f.type, f.payload, f.len, &m), 0);
		}
		CHECK_EQ(frame_decoder_partial(&dec), (i + 1) % FRAME_HEADER_SIZE != 0);
	}
	CHECK_EQ(frames, 3);
}

TEST(decoder_refusals)
{
	static const uint8_t one[CONTROL_RESUME_LEN + 1];
	static const struct {
		const char *name;
		uint8_t type;
		size_t len;
		int want;
	} cases[] = {
		{ "poweroff with a payload", CONTROL_MSG_POWEROFF, 1, -EPROTO },
		{ "ack with a payload", CONTROL_MSG_ACK, 1, -EPROTO },
		{ "type 0", 0x00, 0, -EPROTO },
		{ "resume without its payload", CONTROL_MSG_RESUME, 0, -EPROTO },
		{ "resume short", CONTROL_MSG_RESUME, CONTROL_RESUME_LEN - 1, -EPROTO },
		{ "resume long", CONTROL_MSG_RESUME, CONTROL_RESUME_LEN + 1, -EPROTO },
		{ "exec stdin type", 0x03, 0, -EPROTO },
		{ "unknown host type", 0x7f, 0, -EPROTO },
		{ "unknown guest type", 0x82, 0, -EPROTO },
		{ "type 0xff", 0xff, 0, -EPROTO },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct control_msg m;
		int r = control_msg_decode(cases[i].type, one, cases[i].len, &m);

		if (r != cases[i].want)
			fprintf(stderr, "  case '%s': %d\n", cases[i].name, r);
		CHECK_EQ(r, cases[i].want);
	}
}

TEST(stream_refusals)
{
	static const struct {
		const char *name;
		uint8_t bytes[FRAME_HEADER_SIZE];
		size_t at;	/* bytes consumed when refused */
		int want;
	} cases[] = {
		{ "bad magic", { 0x00, 1, 0x01, 0, 0, 0, 0, 0 }, 1, -EPROTO },
		{ "text line", { 'O', 'K', ' ', '1', '\n', 0, 0, 0 }, 1, -EPROTO },
		{ "other version", { 0xa7, 2, 0x01, 0, 0, 0, 0, 0 }, 2, -EPROTONOSUPPORT },
		{ "guest's type", { 0xa7, 1, 0x81, 0, 0, 0, 0, 0 }, 3, -EPROTO },
		{ "exec type", { 0xa7, 1, 0x05, 0, 0, 0, 0, 0 }, 3, -EPROTO },
		{ "flags", { 0xa7, 1, 0x01, 1, 0, 0, 0, 0 }, 4, -EPROTO },
		{ "too long", { 0xa7, 1, 0x01, 0, 1, 0, 1, 0 }, 8, -EMSGSIZE },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		const uint8_t *p = cases[i].bytes;
		size_t left = FRAME_HEADER_SIZE;
		struct frame f;
		int r;

		frame_decoder_init(&dec, control_type_to_guest);
		r = frame_decoder_next(&dec, &p, &left, &f);
		if (r != cases[i].want)
			fprintf(stderr, "  case '%s': %d\n", cases[i].name, r);
		CHECK_EQ(r, cases[i].want);
		CHECK_EQ(FRAME_HEADER_SIZE - left, cases[i].at);
		/* Sticky. */
		CHECK_EQ(frame_decoder_next(&dec, &p, &left, &f), cases[i].want);
	}
}

TEST(encoder_refusals)
{
	uint8_t buf[FRAME_HEADER_SIZE];

	CHECK_EQ(control_msg_encode(buf, sizeof(buf), &(struct control_msg){ .type = 0x03 }),
		 -EINVAL);
	CHECK_EQ(control_msg_encode(buf, sizeof(buf), &(struct control_msg){ .type = 0 }),
		 -EINVAL);
	CHECK_EQ(control_msg_encode(buf, sizeof(buf) - 1,
				    &(struct control_msg){ .type = CONTROL_MSG_POWEROFF }), -ENOSPC);
	/* RESUME does not fit in a bare header. */
	CHECK_EQ(control_msg_encode(buf, sizeof(buf),
				    &(struct control_msg){ .type = CONTROL_MSG_RESUME }), -ENOSPC);
}

TEST(type_filters_partition)
{
	int to_guest = 0, to_host = 0;

	for (int t = 0; t < 256; t++) {
		bool g = control_type_to_guest((uint8_t)t);
		bool h = control_type_to_host((uint8_t)t);

		CHECK(!(g && h));
		CHECK(!g || !(t & 0x80));
		CHECK(!h || (t & 0x80));
		to_guest += g;
		to_host += h;
	}
	CHECK_EQ(to_guest, 2);
	CHECK_EQ(to_host, 1);
}

TEST(port_is_privileged_and_distinct)
{
	CHECK(AIRLOCK_VSOCK_PORT_CONTROL < 1024);
	CHECK(AIRLOCK_VSOCK_PORT_CONTROL != AIRLOCK_VSOCK_PORT_EXEC);
	CHECK(AIRLOCK_VSOCK_PORT_CONTROL != AIRLOCK_VSOCK_PORT_SYNC);
}

CHECK_MAIN(TEST_ENTRY(messages_round_trip_with_documented_bytes),
		TEST_ENTRY(resume_round_trips_with_documented_bytes),
	   TEST_ENTRY(stream_of_requests_byte_at_a_time),
	   TEST_ENTRY(decoder_refusals),
	   TEST_ENTRY(stream_refusals),
	   TEST_ENTRY(encoder_refusals),
	   TEST_ENTRY(type_filters_partition),
	   TEST_ENTRY(port_is_privileged_and_distinct))
