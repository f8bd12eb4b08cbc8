/* vsockcat: the guest side of the vsock integration tests. Static, so it
 * runs from the initramfs.
 *   vsockcat echo PORT [K]      accept K streams (default 1) on PORT, echo
 *                               each back until EOF, print the byte count
 *   vsockcat send CID PORT N    connect, send N pattern bytes, shut down the
 *                               sending side, check what comes back is them
 *   vsockcat connect CID PORT   exit 0 if a stream can be opened, else say why
 * The pattern is byte i = (i * 7 + i / 251) & 0xff, easy to check anywhere. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/vm_sockets.h>
#include <unistd.h>

static unsigned char pattern(uint64_t i)
{
	return (unsigned char)((i * 7 + i / 251) & 0xff);
}

static int connect_to(unsigned int cid, unsigned int port)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("connect %u:%u: %s\n", cid, port, strerror(errno));
		return -1;
	}
	return fd;
}

/* Echo one stream until EOF: the byte count, or -1. */
static int64_t echo_one(int fd)
{
	static char buf[65536];
	int64_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));

			if (w <= 0)
				return -1;
			off += w;
		}
		total += n;
	}
	/* Written is not delivered, and the VM may end as soon as we exit:
	 * linger until the host's reset, which comes once it has it all. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 30 },
		   sizeof(struct linger));
	close(fd);
	return n < 0 ? -1 : total;
}

static int echo(unsigned int port, unsigned int k)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				  .svm_port = port };
	int l = socket(AF_VSOCK, SOCK_STREAM, 0), fd, st, bad = 0;

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 16) < 0) {
		printf("listen %u: %s\n", port, strerror(errno));
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	if (k == 1) {
		int64_t n;

		if ((fd = accept(l, NULL, NULL)) < 0 || (n = echo_one(fd)) < 0) {
			printf("echo: %s\n", strerror(errno));
			return 1;
		}
		printf("echoed %lld\n", (long long)n);
		return 0;
	}
	for (unsigned int i = 0; i < k; i++) {
		if ((fd = accept(l, NULL, NULL)) < 0)
			return 1;
		if (fork() == 0)
			_exit(echo_one(fd) < 0);
		close(fd);
	}
	for (unsigned int i = 0; i < k; i++)
		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	printf("echoed %u streams, %d failed\n", k, bad);
	return bad != 0;
}

static int send_n(unsigned int cid, unsigned int port, uint64_t n)
{
	static unsigned char buf[65536];
	uint64_t sent = 0, got = 0, bad = UINT64_MAX;
	int fd = connect_to(cid, port);
	ssize_t r;

	if (fd < 0)
		return 1;
	while (sent < n) {
		size_t k = n - sent < sizeof(buf) ? (size_t)(n - sent) : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(sent + i);
		r = write(fd, buf, k);
		if (r <= 0) {
			printf("write: %s\n", strerror(errno));
			return 1;
		}
		sent += (uint64_t)r;
	}
	shutdown(fd, SHUT_WR);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r && bad == UINT64_MAX; i++)
			if (buf[i] != pattern(got + (uint64_t)i))
				bad = got + (uint64_t)i;
		got += (uint64_t)r;
	}
	if (r < 0) {
		printf("read: %s\n", strerror(errno));
		return 1;
	}
	if (bad != UINT64_MAX) {
		printf("sent %llu, what came back differs at %llu\n",
		       (unsigned long long)sent, (unsigned long long)bad);
		return 1;
	}
	printf("sent %llu received %llu\n", (unsigned long long)sent,
	       (unsigned long long)got);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);	/* a reset stream is an error to report */
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "echo"))
		return echo((unsigned int)strtoul(argv[2], NULL, 10),
			    argc == 4 ? (unsigned int)strtoul(argv[3], NULL, 10) : 1);
	if (argc == 5 && !strcmp(argv[1], "send"))
		return send_n((unsigned int)strtoul(argv[2], NULL, 10),
			      (unsigned int)strtoul(argv[3], NULL, 10),
			      strtoull(argv[4], NULL, 10));
	if (argc == 4 && !strcmp(argv[1], "connect")) {
		int fd = connect_to((unsigned int)strtoul(argv[2], NULL, 10),
				    (unsigned int)strtoul(argv[3], NULL, 10));

		if (fd < 0)
			return 1;
		printf("connected\n");
		return 0;
	}
	fprintf(stderr, "usage: vsockcat echo PORT [K] | send CID PORT N | connect CID PORT\n");
	return 2;
}
