/* airlock-sync's own seccomp filter (filter.c). */
#ifndef AIRLOCK_TOOLS_SYNC_FILTER_H
#define AIRLOCK_TOOLS_SYNC_FILTER_H

#include <stddef.h>

/* Installs the allowlist (lib/sysfilter, with no_new_privs) and the
 * reporter that names a forbidden call. send and recv only on guest and
 * ctl (either may be -1). -errno with err[] set. */
int hsync_seccomp_install(int guest, int ctl, char *err, size_t errlen);

#endif
