/* /dev/kvm probing: see kvm.h. */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static bool module_loaded(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0;
}

bool kvm_is_pvm(const char *dir)
{
	return module_loaded(dir, "kvm_pvm") && !module_loaded(dir, "kvm_intel") &&
	       !module_loaded(dir, "kvm_amd");
}

static const struct {
	int cap;
	const char *name;
	const char *why;
} required[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest memory" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "the in-kernel interrupt controllers" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2", "the in-kernel timer" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", "the TSS region" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "CPUID setup" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "stopping vCPUs cleanly" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "device interrupts" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", "device notifications" },
};

/* The API version and the capabilities we need, on an open /dev/kvm. */
static int check_api(int fd, char *err, size_t errlen)
{
	int v = ioctl(fd, KVM_GET_API_VERSION, 0);

	if (v != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm speaks KVM API %d, we need %d", v,
			 KVM_API_VERSION);
		return -1;
	}
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0) {
			snprintf(err, errlen,
				 "this KVM lacks %s, needed for %s", required[i].name,
				 required[i].why);
			return -1;
		}
	}
	return 0;
}

static bool pvm_refused(const char *sysfs_module_dir, bool allow_pvm, char *err,
			size_t errlen)
{
	if (allow_pvm || !kvm_is_pvm(sysfs_module_dir))
		return false;
	snprintf(err, errlen,
		 "this host's /dev/kvm is PVM (kvm_pvm is loaded, kvm_intel and "
		 "kvm_amd are not): it cannot run a standard guest kernel at a "
		 "usable speed. Run inside the test host instead "
		 "(tests/testhost/run -- airlock-vmm ...), or pass --allow-pvm "
		 "to try anyway");
	return true;
}

int kvm_open_checked(const char *sysfs_module_dir, bool allow_pvm, char *err,
		     size_t errlen)
{
	int fd;

	if (pvm_refused(sysfs_module_dir, allow_pvm, err, errlen))
		return -1;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			snprintf(err, errlen,
				 "/dev/kvm does not exist: KVM is not available on this "
				 "host (enable virtualization, load kvm_intel or kvm_amd)");
		else if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen,
				 "permission denied opening /dev/kvm: add this user to "
				 "the group owning it (usually 'kvm') or run as root");
		else
			snprintf(err, errlen, "cannot open /dev/kvm: %s", strerror(errno));
		return -1;
	}
	if (check_api(fd, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int kvm_check_fd(int fd, const char *sysfs_module_dir, bool allow_pvm, char *err,
		 size_t errlen)
{
	if (pvm_refused(sysfs_module_dir, allow_pvm, err, errlen))
		return -1;
	if (fcntl(fd, F_GETFD) < 0) {
		snprintf(err, errlen, "--kvm fd:%d: no such descriptor was handed in", fd);
		return -1;
	}
	return check_api(fd, err, errlen) < 0 ? -1 : fd;
}
