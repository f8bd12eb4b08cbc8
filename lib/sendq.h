/* The drain of an output queue on a non-blocking stream socket: what is
 * queued, buf[*off, *off + *len), goes out as far as the socket takes it
 * now. The exec sessions and both ends of the workspace sync queue their
 * frames this way. */
#ifndef AIRLOCK_LIB_SENDQ_H
#define AIRLOCK_LIB_SENDQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sends from the queue while *writable and it is not empty; *writable
 * becomes false when the socket would block (wait for EPOLLOUT, then set
 * it again). Returns 1 if anything went, 0 if nothing did, or -errno if
 * the stream broke (-EPIPE if it took nothing): the queue is then emptied.
 * *off goes back to 0 once the queue is empty. */
int sendq_flush(int fd, const uint8_t *buf, size_t *off, size_t *len, bool *writable);

#endif
