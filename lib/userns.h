/* User namespaces made by host processes (the spawn of a jailed VMM, or a
 * VMM jailing itself): the one mapping we use, ourselves as root inside. */
#ifndef AIRLOCK_LIB_USERNS_H
#define AIRLOCK_LIB_USERNS_H

#include <sys/types.h>

/* Writes pid's (0: our own) setgroups "deny", uid_map "0 UID 1" and
 * gid_map "0 GID 1". Returns 0 or -errno. */
int userns_map_root(pid_t pid, uid_t uid, gid_t gid);

#endif
