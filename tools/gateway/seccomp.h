/* The gateway's seccomp filter: what DNS, resolving and splicing need, and
 * nothing that opens a path, runs a program, makes a process or touches a
 * device. Installed once, after set-up (main.c). */
#ifndef AIRLOCK_GATEWAY_SECCOMP_H
#define AIRLOCK_GATEWAY_SECCOMP_H

/* Sets no_new_privs and loads the filter. -errno. */
int gw_seccomp_install(void);

#endif
