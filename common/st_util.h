/* common/st_util: the monotonic clock, write-all, number parsing and
 * little-endian access, written once for every component. */
#ifndef SANDTRACE_COMMON_ST_UTIL_H
#define SANDTRACE_COMMON_ST_UTIL_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in nanoseconds, and in seconds. */
uint64_t st_clock_ns(void);
double st_clock_seconds(void);
/* CLOCK_MONOTONIC_COARSE (a few ms of resolution, a fraction of the cost),
 * or CLOCK_MONOTONIC where there is no coarse clock. */
uint64_t st_clock_coarse_ns(void);

/* Starts fn(arg) in a new thread on `cpus` (NULL: the caller's). The
 * threads that work beside a guest (the trace writer's compressor, the
 * tracer's background writer) pass the CPUs the process had when they were
 * set up: by the time they start, the guest link may have pinned the
 * calling thread to its guest's CPU (controller/cpu_place.h), and a thread
 * pinned there too would take turns with them instead of running beside
 * them. 0 or an errno. */
int st_thread_start(pthread_t *th, const cpu_set_t *cpus, void *(*fn)(void *), void *arg);

/* read(2) and write(2) for the calls made once or more per guest request
 * (and st_write_all's). In a process with threads (record's and tap's
 * trace writers, the guest link's watcher) glibc's read() and write()
 * switch asynchronous cancellation on and off around the call: two atomic
 * operations and about 60 instructions more a call. No thread of
 * sandtrace is ever cancelled, so these go to the kernel directly. Same
 * results and errno as read() and write(). */
ssize_t st_sys_read(int fd, void *buf, size_t n);
ssize_t st_sys_write(int fd, const void *buf, size_t n);

/* Writes all `len` bytes to `fd`, retrying after EINTR and waiting (poll)
 * when a non-blocking fd is full. 0, or -errno (-EIO if write() wrote
 * nothing). */
int st_write_all(int fd, const void *data, size_t len);

/* `n` decimal digits and nothing else, at most UINT64_MAX. 0 or -1. */
int st_parse_u64_n(const char *s, size_t n, uint64_t *out);
/* A whole string of decimal digits; with `allow_suffix`, followed by K, M
 * or G (2^10, 2^20, 2^30; case-insensitive, then an optional B or i), the
 * product at most UINT64_MAX. 0 or -1. */
int st_parse_u64(const char *s, uint64_t *out, int allow_suffix);
/* A whole string that is a signed decimal number (strtoll's syntax). 0 or -1. */
int st_parse_i64(const char *s, int64_t *out);
/* A duration in seconds (strtod's syntax), above 0 and at most 1e9. 0 or -1. */
int st_parse_seconds(const char *s, double *out);

/* Little-endian fields of the guest's structs and of the trace file, as
 * one load or store each (memcpy of the value, byte-swapped on a big-endian
 * host): a byte loop here costs ~40 instructions a field, and a stat answer
 * has sixteen. */
static inline uint16_t st_le16_get(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t st_le32_get(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}
static inline uint64_t st_le64_get(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}
static inline void st_le16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void st_le32_put(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    memcpy(p, &v, sizeof v);
}
static inline void st_le64_put(uint8_t *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, sizeof v);
}

#endif
