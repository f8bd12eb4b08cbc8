/* airlock-sync's own seccomp filter (filter.c). */
#ifndef AIRLOCK_TOOLS_SYNC_FILTER_H
#define AIRLOCK_TOOLS_SYNC_FILTER_H

#include <stddef.h>

/* Installs the allowlist with no_new_privs (libseccomp's default) and a
 * SIGSYS handler that names a forbidden call. -errno with err[] set. */
int hsync_seccomp_install(char *err, size_t errlen);

#endif
