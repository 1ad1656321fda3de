/* The messages of the pipe floor (header-only, so that a test can check them
 * against what a real guest sends): the request of one trivial call,
 * getpid()i, as the controller's own encoder writes it (1 length byte and 9
 * bytes of text, no arguments), and its result ('i' and 8 bytes). */
#ifndef SANDTRACE_BENCH_FLOOR_H
#define SANDTRACE_BENCH_FLOOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "controller/wire.h"

#define BENCH_FLOOR_SIG "getpid()i"
#define BENCH_FLOOR_RESULT_LEN 9

/* Writes the request into dst (cap bytes); returns its length, or a
 * negative ST_E_* when cap is too small. */
static inline int bench_floor_request(unsigned char *dst, size_t cap)
{
    return st_wire_encode_request(dst, cap, BENCH_FLOOR_SIG, NULL, 0);
}

/* Writes the result command that answers it with `value`. */
static inline void bench_floor_result(unsigned char dst[BENCH_FLOOR_RESULT_LEN], uint64_t value)
{
    dst[0] = 'i';
    memcpy(dst + 1, &value, 8);
}

#endif
