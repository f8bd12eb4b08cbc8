/* One line for the user on stderr, "airlock: ...": how every part of the
 * CLI says what went wrong and what to do. */
#ifndef AIRLOCK_TOOLS_MSG_H
#define AIRLOCK_TOOLS_MSG_H

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
