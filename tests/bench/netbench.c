/* netbench: the guest side of tests/bench/net, static like airlock-init.
 *
 *   netbench TARGET PORT get MIB     download MIB MiB ("GET /MIB"), time it
 *   netbench TARGET PORT conn N      N short connections one after another:
 *                                    connect, "GET /0", first byte, close
 *
 * TARGET is an IPv4 address, or NAME@RESOLVER: NAME is looked up with one
 * A query to RESOLVER (the sandbox's gateway), as a guest's libc would.
 * Prints one line "netbench get_mibs=X" or "netbench conn_p50_ms=X
 * conn_p99_ms=Y conn_errors=Z". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int resolve(const char *name, const char *server, struct in_addr *out)
{
	unsigned char q[300], r[512];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct timeval tv = { 3, 0 };
	size_t n = 12;
	const char *p = name;
	ssize_t len;
	int s;

	memset(q, 0, 12);
	q[0] = 0x42;
	q[2] = 1;
	q[5] = 1;
	while (*p) {
		size_t l = strcspn(p, ".");

		if (l == 0 || l > 63 || n + l + 6 > sizeof(q))
			return -1;
		q[n++] = (unsigned char)l;
		memcpy(q + n, p, l);
		n += l;
		p += l + (p[l] == '.');
	}
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 1;	/* A */
	q[n++] = 0;
	q[n++] = 1;	/* IN */
	if (inet_pton(AF_INET, server, &sa.sin_addr) != 1)
		return -1;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(s, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	len = recv(s, r, sizeof(r), 0);
	close(s);
	/* One answer, an A record at the end. */
	if (len < (ssize_t)n + 16 || (r[3] & 15) != 0 || r[7] != 1)
		return -1;
	memcpy(&out->s_addr, r + len - 4, 4);
	return 0;
}

static int dial(struct in_addr a, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr = a };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (s < 0)
		return -1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct in_addr a;
	char *at, req[64];
	int port;

	if (argc != 5)
		goto usage;
	port = atoi(argv[2]);
	at = strchr(argv[1], '@');
	if (at) {
		*at = '\0';
		if (resolve(argv[1], at + 1, &a) < 0) {
			fprintf(stderr, "netbench: cannot resolve %s\n", argv[1]);
			return 1;
		}
	} else if (inet_pton(AF_INET, argv[1], &a) != 1) {
		goto usage;
	}
	if (strcmp(argv[3], "get") == 0) {
		long mib = atol(argv[4]);
		static char buf[1 << 20];
		unsigned long long got = 0, want;
		double t0, t1;
		int s;

		snprintf(req, sizeof(req), "GET /%ld\r\n", mib);
		t0 = now_ms();
		s = dial(a, port);
		if (s < 0 || write(s, req, strlen(req)) < 0) {
			perror("netbench: get");
			return 1;
		}
		want = (unsigned long long)mib << 20;
		for (;;) {
			ssize_t n = read(s, buf, sizeof(buf));

			if (n <= 0)
				break;
			got += (unsigned long long)n;
		}
		t1 = now_ms();
		close(s);
		if (got < want) {
			fprintf(stderr, "netbench: got %llu of %llu bytes\n", got, want);
			return 1;
		}
		printf("netbench get_mibs=%.1f\n", (double)mib / ((t1 - t0) / 1e3));
		return 0;
	}
	if (strcmp(argv[3], "conn") == 0) {
		int n = atoi(argv[4]), errors = 0, k = 0;
		double *lat = calloc((size_t)n, sizeof(*lat));

		for (int i = 0; lat && i < n; i++) {
			double t0 = now_ms();
			char c;
			int s = dial(a, port);

			if (s < 0 || write(s, "GET /0\r\n", 8) != 8 || read(s, &c, 1) != 1) {
				errors++;
			} else {
				lat[k++] = now_ms() - t0;
			}
			if (s >= 0)
				close(s);
		}
		if (!k)
			return 1;
		qsort(lat, (size_t)k, sizeof(*lat), cmp);
		printf("netbench conn_p50_ms=%.2f conn_p99_ms=%.2f conn_errors=%d\n",
		       lat[k / 2], lat[(k * 99) / 100 >= k ? k - 1 : (k * 99) / 100], errors);
		return 0;
	}
usage:
	fprintf(stderr, "usage: netbench ADDR|NAME@RESOLVER PORT get MIB|conn N\n");
	return 2;
}
