/* SHA-256 (FIPS 180-4), one call: what snapshot keys are made of. Written
 * here because loading and initialising libcrypto for a few hundred bytes
 * cost more than the rest of choosing a snapshot (tests/unit/test_sha256
 * checks it against the standard's examples). */
#ifndef AIRLOCK_LIB_SHA256_H
#define AIRLOCK_LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

#endif
