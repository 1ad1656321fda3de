/* xorshift64*: the tests' small deterministic PRNG, so that a failing case
 * can be reproduced from its seed (each test keeps its own state). */
#ifndef SANDTRACE_TESTS_PRNG_H
#define SANDTRACE_TESTS_PRNG_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t tu_xorshift64(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545f4914f6cdd1dull;
}

/* Fills buf with a random number (below cap) of random bytes; returns it. */
static inline size_t tu_random_bytes(uint8_t *buf, size_t cap, uint64_t *state)
{
    size_t n = (size_t)(tu_xorshift64(state) % cap);
    for (size_t k = 0; k < n; k++)
        buf[k] = (uint8_t)tu_xorshift64(state);
    return n;
}

#endif
