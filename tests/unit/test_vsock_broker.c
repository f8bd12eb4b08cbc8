/* lib/vsock_broker.h and lib/unixsock.h: the broker opens a named port's
 * socket and nothing else — not a port it was not told of, not a link
 * planted where the socket should be, not a socket in a folder others can
 * write; and the answers carry a working, non-blocking socket. */
#include "tests/unit/check.h"
#include "lib/unixsock.h"
#include "lib/vsock_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[64];

static int listen_at(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unix_listen(path, 8);
}

/* Asks the broker for port; returns the socket it sent (or -err). */
static int ask(const struct vsock_broker *b, uint32_t port)
{
	struct vsock_broker_req req = { VSOCK_BROKER_MAGIC, port, 42 };
	struct vsock_broker_rep rep;
	unsigned int nfd = 0;
	int sv[2], fd = -1;
	ssize_t n;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(send(sv[0], &req, sizeof(req), 0), (ssize_t)sizeof(req));
	CHECK_EQ(vsock_broker_answer(b, sv[1]), 0);
	n = fd_recv(sv[0], &rep, sizeof(rep), &fd, 1, &nfd);
	CHECK_EQ(n, (ssize_t)sizeof(rep));
	CHECK_EQ(rep.magic, VSOCK_BROKER_MAGIC);
	CHECK_EQ(rep.id, 42);
	CHECK_EQ(nfd, rep.err ? 0u : 1u);
	close(sv[0]);
	close(sv[1]);
	return rep.err ? -rep.err : fd;
}

static void setup(struct vsock_broker *b)
{
	strcpy(dir, "/tmp/airlock-test-broker-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	*b = (struct vsock_broker){ .ports = { 100, 101, 102, 103 }, .nports = 4 };
	snprintf(b->prefix, sizeof(b->prefix), "vm.sock_");
	b->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(b->dirfd >= 0);
}

static void teardown(struct vsock_broker *b)
{
	char cmd[128];

	close(b->dirfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
}

TEST(named_port_opens)
{
	struct vsock_broker b;
	int l, fd, a;
	char c = 0;

	setup(&b);
	l = listen_at("vm.sock_100");
	CHECK(l >= 0);
	fd = ask(&b, 100);
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	a = accept(l, NULL, NULL);
	CHECK(a >= 0);
	CHECK_EQ(write(a, "x", 1), 1);
	usleep(1000);
	CHECK_EQ(read(fd, &c, 1), 1);
	CHECK_EQ(c, 'x');
	close(a);
	close(fd);
	close(l);
	teardown(&b);
}

TEST(refusals)
{
	struct vsock_broker b;
	char target[128], link[128];
	int l, other, fd;

	setup(&b);
	/* A port not named, though something listens there. */
	l = listen_at("vm.sock_200");
	CHECK(l >= 0);
	CHECK_EQ(ask(&b, 200), -EACCES);
	/* Nothing there; a file that is no socket. */
	CHECK_EQ(ask(&b, 101), -ENOENT);
	snprintf(target, sizeof(target), "%s/vm.sock_102", dir);
	fd = open(target, O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0);
	close(fd);
	CHECK_EQ(ask(&b, 102), -ENOTSOCK);
	/* A link planted where the socket should be, to a real listener. */
	other = listen_at("elsewhere");
	CHECK(other >= 0);
	snprintf(target, sizeof(target), "%s/elsewhere", dir);
	snprintf(link, sizeof(link), "%s/vm.sock_103", dir);
	CHECK_EQ(symlink(target, link), 0);
	CHECK_EQ(ask(&b, 103), -ELOOP);
	CHECK(accept4(other, NULL, NULL, SOCK_NONBLOCK) < 0);
	/* The same socket, in a folder anybody may write: refused. */
	unlink(link);
	close(l);
	l = listen_at("vm.sock_100");
	CHECK(l >= 0);
	CHECK_EQ(chmod(dir, 0777), 0);
	CHECK_EQ(ask(&b, 100), -EPERM);
	CHECK_EQ(chmod(dir, 0700), 0);
	fd = ask(&b, 100);
	CHECK(fd >= 0);
	close(fd);
	close(other);
	close(l);
	teardown(&b);
}

TEST(names_are_one_component)
{
	int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);

	CHECK_EQ(unix_connect_at(dfd, "a/b", 0), -EINVAL);
	CHECK_EQ(unix_connect_at(dfd, "..", 0), -EINVAL);
	CHECK_EQ(unix_connect_at(dfd, "", 0), -EINVAL);
	close(dfd);
}

TEST(malformed_request_ends_service)
{
	struct vsock_broker b;
	int sv[2];

	setup(&b);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(send(sv[0], "garbage", 7, 0), 7);
	CHECK_EQ(vsock_broker_answer(&b, sv[1]), -EPROTO);
	close(sv[0]);
	CHECK_EQ(vsock_broker_answer(&b, sv[1]), 1);	/* EOF */
	close(sv[1]);
	teardown(&b);
}

TEST(listener_replaces_only_stale_sockets)
{
	char path[128];
	int l, fd;

	strcpy(dir, "/tmp/airlock-test-broker-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s", dir);
	l = unix_listen(path, 4);
	CHECK(l >= 0);
	CHECK_EQ(unix_listen(path, 4), -EADDRINUSE);
	close(l);
	l = unix_listen(path, 4);	/* stale now: replaced */
	CHECK(l >= 0);
	close(l);
	unlink(path);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK_EQ(unix_listen(path, 4), -EEXIST);
	unlink(path);
	rmdir(dir);
}

CHECK_MAIN(TEST_ENTRY(named_port_opens), TEST_ENTRY(refusals),
	   TEST_ENTRY(names_are_one_component), TEST_ENTRY(malformed_request_ends_service),
	   TEST_ENTRY(listener_replaces_only_stale_sockets))
