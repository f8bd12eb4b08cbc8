/* Opening /dev/kvm and checking it can run our guests. Each failure gets a
 * message that names the problem and what to do about it. */
#ifndef AIRLOCK_VMM_KVM_H
#define AIRLOCK_VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>

/* Returns an open /dev/kvm fd, or -1 with a message in err. */
int kvm_open_checked(const char *sysfs_module_dir, bool allow_pvm, char *err,
		     size_t errlen);

/* The same checks on a /dev/kvm handed in as fd (not closed on error). */
int kvm_check_fd(int fd, const char *sysfs_module_dir, bool allow_pvm, char *err,
		 size_t errlen);

/* Is this host's KVM the PVM flavour, which interprets a standard guest
 * kernel thousands of times too slowly (and dies on some instructions)?
 * True when kvm_pvm is loaded and neither kvm_intel nor kvm_amd is. */
bool kvm_is_pvm(const char *sysfs_module_dir);

#endif
