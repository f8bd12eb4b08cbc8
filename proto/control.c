/* Control protocol codec: see control.h and docs/protocol.md. */
#include "proto/control.h"

#include <errno.h>
#include <string.h>

bool control_type_to_guest(uint8_t type)
{
	return type == CONTROL_MSG_POWEROFF || type == CONTROL_MSG_RESUME;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)frame_get_u32(p) | (uint64_t)frame_get_u32(p + 4) << 32;
}

static void put_u64(uint8_t *p, uint64_t v)
{
	frame_put_u32(p, (uint32_t)v);
	frame_put_u32(p + 4, (uint32_t)(v >> 32));
}

bool control_type_to_host(uint8_t type)
{
	return type == CONTROL_MSG_ACK;
}

int control_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		       struct control_msg *m)
{
	if (!control_type_to_guest(type) && !control_type_to_host(type))
		return -EPROTO;
	memset(m, 0, sizeof(*m));
	m->type = type;
	if (type == CONTROL_MSG_RESUME) {
		if (len != CONTROL_RESUME_LEN)
			return -EPROTO;
		memcpy(m->seed, p, CONTROL_RESUME_SEED);
		m->realtime_ns = get_u64(p + CONTROL_RESUME_SEED);
		m->upper_size = get_u64(p + CONTROL_RESUME_SEED + 8);
		return 0;
	}
	/* One spelling per message: an empty one carries nothing. */
	return len == 0 ? 0 : -EPROTO;
}

int control_msg_encode(uint8_t *buf, size_t size, const struct control_msg *m)
{
	uint8_t p[CONTROL_RESUME_LEN];

	if (!control_type_to_guest(m->type) && !control_type_to_host(m->type))
		return -EINVAL;
	if (m->type != CONTROL_MSG_RESUME)
		return frame_encode(buf, size, m->type, NULL, 0);
	memcpy(p, m->seed, CONTROL_RESUME_SEED);
	put_u64(p + CONTROL_RESUME_SEED, m->realtime_ns);
	put_u64(p + CONTROL_RESUME_SEED + 8, m->upper_size);
	return frame_encode(buf, size, m->type, p, sizeof(p));
}
