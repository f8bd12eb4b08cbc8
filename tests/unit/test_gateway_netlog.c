/* tools/gateway/netlog.c: JSON-lines entries with escaping, and the cap:
 * a full log keeps its newer half, whole lines only. */
#include "tests/unit/check.h"
#include "tools/gateway/netlog.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char *slurp(int fd, size_t *len)
{
	struct stat st;
	char *buf;

	fstat(fd, &st);
	buf = calloc(1, (size_t)st.st_size + 1);
	*len = (size_t)pread(fd, buf, (size_t)st.st_size, 0);
	return buf;
}

TEST(entry)
{
	char path[] = "/tmp/test-netlog-XXXXXX";
	int fd = mkstemp(path);
	struct netlog l;
	size_t len;
	char *s;

	unlink(path);
	netlog_init(&l, fd, 1 << 20, "sb");
	netlog_write(&l, &(struct netlog_entry){ .kind = "tcp", .name = "a\"b\\c\x01",
		.port = 443, .action = "allow", .sent = 5, .received = 7, .ms = 3 });
	s = slurp(fd, &len);
	CHECK(strstr(s, "\"sandbox\":\"sb\",\"kind\":\"tcp\",\"name\":\"a\\\"b\\\\c\\u0001\","
		     "\"port\":443,\"action\":\"allow\",\"sent\":5,\"received\":7,\"ms\":3}\n") != NULL);
	CHECK(strncmp(s, "{\"time\":\"20", 11) == 0);
	CHECK_EQ(s[len - 1], '\n');
	free(s);
	close(fd);
}

TEST(cap_keeps_newer_half)
{
	char path[] = "/tmp/test-netlog-XXXXXX";
	int fd = mkstemp(path);
	struct netlog l;
	char name[32], *s, *line;
	size_t len;
	int first = -1, last = -1, lines = 0;

	unlink(path);
	netlog_init(&l, fd, 8192, "sb");
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		netlog_write(&l, &(struct netlog_entry){ .kind = "dns", .name = name,
			.action = "deny", .ms = -1 });
		CHECK(l.size <= 8192);
	}
	s = slurp(fd, &len);
	CHECK(len <= 8192);
	/* Whole lines, in order, ending with the last one written. */
	for (line = s; *line; line = strchr(line, '\n') + 1) {
		char *n = strstr(line, "\"name\":\"n");
		int v;

		CHECK(line[0] == '{');
		CHECK(strchr(line, '\n') != NULL);
		if (!n || !strchr(line, '\n'))
			break;
		v = atoi(n + 9);
		if (first < 0)
			first = v;
		else
			CHECK_EQ(v, last + 1);
		last = v;
		lines++;
	}
	CHECK_EQ(last, 999);
	CHECK(lines > 20);
	CHECK(first > 500);
	free(s);
	close(fd);
}

CHECK_MAIN(TEST_ENTRY(entry), TEST_ENTRY(cap_keeps_newer_half))
