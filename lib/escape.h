/* Guest text quoted inside airlock's own messages (a panic line, an
 * airlock-init failure, vmm.log shown to the user): made visible and inert,
 * so that it cannot move the cursor, recolour or retitle the terminal, or
 * pretend to be another line. */
#ifndef AIRLOCK_LIB_ESCAPE_H
#define AIRLOCK_LIB_ESCAPE_H

#include <stddef.h>

/* Writes src[0..len) into out (cap >= 4 bytes), NUL-terminated: printable
 * UTF-8 as it is; C0 controls, DEL and bytes that are not valid UTF-8 as
 * \xHH; C1 controls in UTF-8 (U+0080-U+009F) and the characters that turn
 * text around or break it invisibly (U+061C, U+200E-U+200F, U+2028-U+202E,
 * U+2066-U+2069) as \uHHHH. A backslash stays as it is: text escaped twice
 * (vmm.log quotes the guest already) reads the same, and a guest that
 * writes "\x1b" itself gains nothing. Cut at a whole character or escape,
 * ending in "..." when something was left out. Returns the length written
 * (without the NUL). */
size_t escape_text(char *out, size_t cap, const char *src, size_t len);

#endif
