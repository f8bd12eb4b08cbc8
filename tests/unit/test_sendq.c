/* lib/sendq: a queue drained on a non-blocking stream socket: all of it
 * when the socket takes it, up to where it would block (and then not
 * writable), and emptied with an error when the peer is gone. */
#include "lib/sendq.h"
#include "tests/unit/check.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

TEST(drains_all)
{
	uint8_t buf[100], got[100];
	size_t off = 10, len = 90;
	bool wr = true;
	int sp[2];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	for (int i = 0; i < 100; i++)
		buf[i] = (uint8_t)i;
	CHECK_EQ(sendq_flush(sp[0], buf, &off, &len, &wr), 1);
	CHECK_EQ(len, 0);
	CHECK_EQ(off, 0);
	CHECK(wr);
	CHECK_EQ(read(sp[1], got, sizeof(got)), 90);
	CHECK(memcmp(got, buf + 10, 90) == 0);
	/* Nothing queued, or not writable: nothing sent, nothing changed. */
	CHECK_EQ(sendq_flush(sp[0], buf, &off, &len, &wr), 0);
	off = 5, len = 5, wr = false;
	CHECK_EQ(sendq_flush(sp[0], buf, &off, &len, &wr), 0);
	CHECK_EQ(off, 5);
	CHECK_EQ(len, 5);
	close(sp[0]);
	close(sp[1]);
}

TEST(stops_where_it_would_block)
{
	size_t size = 8 << 20, off = 0, len = size, first;
	uint8_t *buf = calloc(1, size), tmp[65536];
	bool wr = true;
	int sp[2];

	CHECK(buf != NULL);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	CHECK_EQ(sendq_flush(sp[0], buf, &off, &len, &wr), 1);
	CHECK(!wr);
	CHECK(len > 0);
	CHECK_EQ(off + len, size);
	first = off;
	/* Room again: the rest follows from where it stopped. */
	while (read(sp[1], tmp, sizeof(tmp)) > 0) {
	}
	wr = true;
	CHECK_EQ(sendq_flush(sp[0], buf, &off, &len, &wr), 1);
	CHECK(off > first || len == 0);
	close(sp[0]);
	close(sp[1]);
	free(buf);
}

TEST(peer_gone)
{
	uint8_t buf[16] = { 0 };
	size_t off = 3, len = 13;
	bool wr = true;
	int sp[2];

	signal(SIGPIPE, SIG_IGN);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
	close(sp[1]);
	CHECK_EQ(sendq_flush(sp[0], buf, &off, &len, &wr), -EPIPE);
	CHECK_EQ(off, 0);
	CHECK_EQ(len, 0);
	close(sp[0]);
}

CHECK_MAIN(TEST_ENTRY(drains_all), TEST_ENTRY(stops_where_it_would_block), TEST_ENTRY(peer_gone))
