/* xorshift64*: the tests' small deterministic PRNG, so that a failing case
 * can be reproduced from its seed (each test keeps its own state). */
#ifndef SANDTRACE_TESTS_PRNG_H
#define SANDTRACE_TESTS_PRNG_H

#include <stdint.h>

static inline uint64_t tu_xorshift64(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dull;
}

#endif
