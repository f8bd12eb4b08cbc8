/* guest/peer.h: only a peer at the host's CID may open an exec or control
 * stream; the guest itself (its own CID, or CID 1 through loopback), the
 * hypervisor's CID 0, any CID, a short or foreign address may not. */
#include "guest/peer.h"
#include "tests/unit/check.h"

#include <string.h>

static struct sockaddr_vm vm(unsigned int cid)
{
	return (struct sockaddr_vm){ .svm_family = AF_VSOCK, .svm_cid = cid,
				     .svm_port = 1234 };
}

TEST(host_only)
{
	static const struct { unsigned int cid; bool ok; } cases[] = {
		{ VMADDR_CID_HOST, true },
		{ VMADDR_CID_HYPERVISOR, false },
		{ 1 /* VMADDR_CID_LOCAL: loopback */, false },
		{ 3 /* the guest's own */, false },
		{ 4, false },
		{ VMADDR_CID_ANY, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_vm sa = vm(cases[i].cid);

		CHECK_EQ(vsock_peer_is_host(&sa, sizeof(sa)), cases[i].ok);
	}
}

TEST(short_or_foreign_address)
{
	struct sockaddr_vm sa = vm(VMADDR_CID_HOST);

	CHECK(!vsock_peer_is_host(&sa, 0));
	CHECK(!vsock_peer_is_host(&sa, sizeof(sa) - 1));
	sa.svm_family = AF_UNIX;
	CHECK(!vsock_peer_is_host(&sa, sizeof(sa)));
}

CHECK_MAIN(
	TEST_ENTRY(host_only),
	TEST_ENTRY(short_or_foreign_address),
)
