/* vmm/kvm.c: recognising a PVM host from its loaded modules, and refusing
 * to go on there with a message that says why and what to do. */
#include "tests/unit/check.h"
#include "vmm/kvm.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void modules(const char *a, const char *b)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/*", dir);
	if (system(cmd) != 0)
		check_failures++;
	for (const char *m = a; m; m = (m == a ? b : NULL)) {
		char path[128];

		snprintf(path, sizeof(path), "%s/%s", dir, m);
		mkdir(path, 0755);
	}
}

TEST(pvm_alone_is_pvm)
{
	modules("kvm", "kvm_pvm");
	CHECK(kvm_is_pvm(dir));
}

TEST(hardware_kvm_is_not_pvm)
{
	modules("kvm_pvm", "kvm_amd");
	CHECK(!kvm_is_pvm(dir));
	modules("kvm_intel", "kvm");
	CHECK(!kvm_is_pvm(dir));
	modules("kvm", NULL);
	CHECK(!kvm_is_pvm(dir));
}

TEST(open_refuses_pvm_with_a_reason)
{
	char err[512] = "";

	modules("kvm", "kvm_pvm");
	CHECK_EQ(kvm_open_checked(dir, false, err, sizeof(err)), -1);
	CHECK(strstr(err, "PVM") != NULL);
	CHECK(strstr(err, "tests/testhost/run") != NULL);
	CHECK(strstr(err, "--allow-pvm") != NULL);
}

int main(void)
{
	static const struct check_test tests[] = {
		TEST_ENTRY(pvm_alone_is_pvm),
		TEST_ENTRY(hardware_kvm_is_not_pvm),
		TEST_ENTRY(open_refuses_pvm_with_a_reason),
	};
	int r;

	snprintf(dir, sizeof(dir), "/tmp/airlock-kvm-test.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	r = check_run(tests, sizeof(tests) / sizeof(tests[0]));
	modules(NULL, NULL);
	rmdir(dir);
	return r;
}
