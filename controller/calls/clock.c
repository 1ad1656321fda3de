/* Time handlers: time, gettimeofday, clock_gettime, clock_getres, clock,
 * times, and select() used as a sleep. Time is frozen at the configured instant by default (deterministic),
 * or the controller's clock, optionally shifted. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "controller/calls/calls.h"
#include "controller/session_int.h"

/* Guest clock ids (Linux values). */
enum {
    G_CLOCK_REALTIME = 0, G_CLOCK_MONOTONIC = 1, G_CLOCK_PROCESS_CPUTIME_ID = 2,
    G_CLOCK_THREAD_CPUTIME_ID = 3, G_CLOCK_MONOTONIC_RAW = 4, G_CLOCK_REALTIME_COARSE = 5,
    G_CLOCK_MONOTONIC_COARSE = 6, G_CLOCK_BOOTTIME = 7, G_CLOCK_TAI = 11,
};

/* The guest's wall-clock time. */
static struct timespec guest_realtime(const struct st_session *s)
{
    struct timespec ts = { 0, 0 };
    if (s->cfg.time_mode == ST_TIME_FROZEN) {
        ts.tv_sec = (time_t)s->cfg.time_base;
        return ts;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    if (s->cfg.time_mode == ST_TIME_OFFSET)
        ts.tv_sec += (time_t)s->cfg.time_offset;
    return ts;
}

/* Seconds since the guest started (0 when frozen): monotonic clocks and CPU
 * clocks are derived from it. */
static struct timespec guest_elapsed(const struct st_session *s)
{
    struct timespec ts = { 0, 0 };
    if (s->cfg.time_mode == ST_TIME_FROZEN)
        return ts;
    double e = st_session_now() - s->t_start;
    if (e < 0)
        e = 0;
    ts.tv_sec = (time_t)e;
    ts.tv_nsec = (long)((e - (double)ts.tv_sec) * 1e9);
    return ts;
}

/* The frozen monotonic clock starts at a fixed, plausible uptime. */
#define MONOTONIC_BASE 1000

static int guest_clock(const struct st_session *s, int64_t id, struct timespec *ts)
{
    switch (id) {
    case G_CLOCK_REALTIME:
    case G_CLOCK_REALTIME_COARSE:
    case G_CLOCK_TAI:
        *ts = guest_realtime(s);
        return 0;
    case G_CLOCK_MONOTONIC:
    case G_CLOCK_MONOTONIC_RAW:
    case G_CLOCK_MONOTONIC_COARSE:
    case G_CLOCK_BOOTTIME:
        *ts = guest_elapsed(s);
        ts->tv_sec += MONOTONIC_BASE;
        return 0;
    case G_CLOCK_PROCESS_CPUTIME_ID:
    case G_CLOCK_THREAD_CPUTIME_ID:
        *ts = guest_elapsed(s);
        return 0;
    default:
        return -EINVAL;
    }
}

static int write_timespec(struct st_session *s, uint64_t ptr, int64_t sec, int64_t nsec)
{
    int64_t v[2] = { sec, nsec };
    return st_guest_write(s, ptr, v, sizeof v);
}

int call_time(struct st_session *s, struct st_call *c)
{
    int64_t t = (int64_t)guest_realtime(s).tv_sec;
    if (st_arg_ptr(c, 0)) {
        int rc = st_guest_write(s, st_arg_ptr(c, 0), &t, sizeof t);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, (uint64_t)t);
    return 0;
}

int call_gettimeofday(struct st_session *s, struct st_call *c)
{
    if (st_arg_ptr(c, 1)) {
        /* struct timezone is obsolete; nothing here fills one. */
        st_call_fail(c, EINVAL);
        return 0;
    }
    if (!st_arg_ptr(c, 0)) {
        st_call_ok(c, 0);
        return 0;
    }
    struct timespec ts = guest_realtime(s);
    int rc = write_timespec(s, st_arg_ptr(c, 0), (int64_t)ts.tv_sec, (int64_t)(ts.tv_nsec / 1000));
    if (rc < 0)
        return rc;
    st_call_ok(c, 0);
    return 0;
}

int call_clock_gettime(struct st_session *s, struct st_call *c)
{
    struct timespec ts;
    if (guest_clock(s, st_arg_int(c, 0), &ts) < 0) {
        st_call_fail(c, EINVAL);
        return 0;
    }
    if (!st_arg_ptr(c, 1)) {
        st_call_fail(c, EFAULT);
        return 0;
    }
    int rc = write_timespec(s, st_arg_ptr(c, 1), (int64_t)ts.tv_sec, (int64_t)ts.tv_nsec);
    if (rc < 0)
        return rc;
    st_call_ok(c, 0);
    return 0;
}

int call_clock_getres(struct st_session *s, struct st_call *c)
{
    struct timespec ts;
    if (guest_clock(s, st_arg_int(c, 0), &ts) < 0) {
        st_call_fail(c, EINVAL);
        return 0;
    }
    if (st_arg_ptr(c, 1)) {
        int rc = write_timespec(s, st_arg_ptr(c, 1), 0, 1);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, 0);
    return 0;
}

int call_clock(struct st_session *s, struct st_call *c)
{
    /* CLOCKS_PER_SEC is 1000000 on Linux. */
    struct timespec e = guest_elapsed(s);
    st_call_ok(c, (uint64_t)((int64_t)e.tv_sec * 1000000 + e.tv_nsec / 1000));
    return 0;
}

int call_times(struct st_session *s, struct st_call *c)
{
    /* Clock ticks at 100 Hz (sysconf(_SC_CLK_TCK)). */
    struct timespec e = guest_elapsed(s);
    int64_t ticks = (int64_t)e.tv_sec * 100 + e.tv_nsec / 10000000;
    if (st_arg_ptr(c, 0)) {
        int64_t tms[4] = { ticks, 0, 0, 0 };
        int rc = st_guest_write(s, st_arg_ptr(c, 0), tms, sizeof tms);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, (uint64_t)(ticks + MONOTONIC_BASE * 100));
    return 0;
}

/* Waits `seconds` of real time for the guest, pumping its stderr and
 * keeping the run's deadline: 0, or ST_E_STOPPED when the run ends
 * meanwhile (the deadline: status timeout). */
static int sleep_real(struct st_session *s, double seconds)
{
    double end = st_session_now() + seconds;
    for (;;) {
        double now = st_session_now();
        if (now >= end)
            return 0;
        double left = end - now;
        if (s->link.deadline > 0) {
            if (s->link.deadline <= now) {
                ST_EMIT(s, on_limit, ST_LIMIT_TIMEOUT, "wall-clock limit reached during a sleep");
                st_session_stop(s, ST_STATUS_TIMEOUT, "timeout after %g s", s->cfg.timeout_seconds);
                return ST_E_STOPPED;
            }
            if (s->link.deadline - now < left)
                left = s->link.deadline - now;
        }
        struct pollfd p = { s->link.child.err_fd, POLLIN, 0 };
        int n = poll(&p, p.fd >= 0 ? 1 : 0, (int)(left * 1000.0) + 1);
        if (n > 0)
            st_link_drain_stderr(&s->link);
        if (s->stopping)
            return ST_E_STOPPED;
    }
}

/* select(nfds, r, w, e, timeout): only its use as a sleep (no descriptor
 * sets, a timeout), which is how PyPy's time.sleep() asks. With a frozen
 * clock it returns at once (the clock does not move); otherwise the
 * controller waits. Anything else is refused (ENOSYS), as before. */
int call_select(struct st_session *s, struct st_call *c)
{
    uint64_t timeout = st_arg_ptr(c, 4);
    if (st_arg_int(c, 0) != 0 || st_arg_ptr(c, 1) || st_arg_ptr(c, 2) || st_arg_ptr(c, 3) ||
        !timeout) {
        st_call_fail(c, ENOSYS);
        return 0;
    }
    int64_t tv[2];
    int rc = st_guest_read(s, timeout, tv, sizeof tv);
    if (rc < 0)
        return rc;
    if (tv[0] < 0 || tv[1] < 0 || tv[1] >= 1000000) {
        st_call_fail(c, EINVAL);
        return 0;
    }
    if (s->cfg.time_mode != ST_TIME_FROZEN) {
        rc = sleep_real(s, (double)tv[0] + (double)tv[1] / 1e6);
        if (rc < 0)
            return rc;
    }
    st_call_ok(c, 0);
    return 0;
}
