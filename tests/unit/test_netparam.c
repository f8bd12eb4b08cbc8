/* proto/netparam.c: airlock.net= as the host writes and the guest reads it. */
#include "tests/unit/check.h"
#include "proto/netparam.h"

#include <errno.h>

TEST(parse)
{
	static const struct {
		const char *in;
		int ret;
	} t[] = {
		{ "10.0.2.2/30,10.0.2.1", 0 },
		{ "192.168.7.10/24,192.168.7.1", 0 },
		{ "10.0.2.2/30,10.0.2.5", -EINVAL },	/* another subnet */
		{ "10.0.2.2/30,10.0.2.2", -EINVAL },	/* itself */
		{ "10.0.2.0/30,10.0.2.1", -EINVAL },	/* the network address */
		{ "10.0.2.2/30,10.0.2.3", -EINVAL },	/* broadcast */
		{ "10.0.2.2/31,10.0.2.3", -EINVAL },	/* /31: no hosts by our rule */
		{ "10.0.2.2/0,10.0.2.1", -EINVAL },
		{ "10.0.2.2,10.0.2.1", -EINVAL },
		{ "10.0.2.2/30", -EINVAL },
		{ "10.0.2.2/30,10.0.2.1,", -EINVAL },
		{ "10.0.2.256/30,10.0.2.1", -EINVAL },
		{ "10.0.02.2/30,10.0.2.1", -EINVAL },
		{ "10.0.2/30,10.0.2.1", -EINVAL },
		{ "", -EINVAL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct netparam p;

		CHECK_EQ(netparam_parse(t[i].in, strlen(t[i].in), &p), t[i].ret);
	}
}

TEST(round_trip)
{
	struct netparam p, q;
	char buf[64];
	int n;

	CHECK_EQ(netparam_parse("10.0.2.2/30,10.0.2.1", 20, &p), 0);
	CHECK_EQ(p.addr, 0x0a000202u);
	CHECK_EQ(p.prefix, 30);
	CHECK_EQ(p.gateway, 0x0a000201u);
	n = netparam_format(&p, buf, sizeof(buf));
	CHECK_STR(buf, "10.0.2.2/30,10.0.2.1");
	CHECK_EQ(netparam_parse(buf, (size_t)n, &q), 0);
	CHECK_EQ(netparam_format(&p, buf, 10), -ENOSPC);
	/* Not NUL-terminated: only len bytes are read. */
	CHECK_EQ(netparam_parse("10.0.2.2/30,10.0.2.1 quiet", 20, &p), 0);
}

CHECK_MAIN(TEST_ENTRY(parse), TEST_ENTRY(round_trip))
