/* Control protocol codec: see control.h and docs/protocol.md. */
#include "proto/control.h"

#include <errno.h>

bool control_type_to_guest(uint8_t type)
{
	return type == CONTROL_MSG_POWEROFF;
}

bool control_type_to_host(uint8_t type)
{
	return type == CONTROL_MSG_ACK;
}

int control_msg_decode(uint8_t type, const uint8_t *p, size_t len,
		       struct control_msg *m)
{
	(void)p;
	if (!control_type_to_guest(type) && !control_type_to_host(type))
		return -EPROTO;
	/* One spelling per message: an empty one carries nothing. */
	if (len != 0)
		return -EPROTO;
	m->type = type;
	return 0;
}

int control_msg_encode(uint8_t *buf, size_t size, const struct control_msg *m)
{
	if (!control_type_to_guest(m->type) && !control_type_to_host(m->type))
		return -EINVAL;
	return frame_encode(buf, size, m->type, NULL, 0);
}
