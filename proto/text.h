/* Text a peer sends that the host prints on the user's terminal (exec
 * ERROR, sync FAIL): one check, so no guest can send escape sequences. */
#ifndef AIRLOCK_PROTO_TEXT_H
#define AIRLOCK_PROTO_TEXT_H

#include <stddef.h>

/* Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF)
 * without C0 or C1 controls or DEL, at most max bytes. 0, -E2BIG or
 * -EINVAL. */
int check_text(const char *str, size_t len, size_t max);

#endif
