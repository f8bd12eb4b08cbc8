/* The monotonic clock, as every host process and airlock-init read it:
 * nanoseconds or milliseconds on CLOCK_MONOTONIC, and a sleep. */
#ifndef AIRLOCK_LIB_CLOCK_H
#define AIRLOCK_LIB_CLOCK_H

#include <stdint.h>

uint64_t clock_ns(void);
int64_t clock_ms(void);
/* Sleeps ms milliseconds (a signal may cut it short). */
void clock_sleep_ms(long ms);

#endif
