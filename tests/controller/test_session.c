/* The session library with observers: events arrive in wire order with the
 * bytes that crossed the pipe, several observers see the same stream, and
 * the process/time handlers answer from the configuration. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "controller/observer.h"
#include "controller/session.h"
#include "tests/testutil.h"

/* A recorder: one line per event, "req getpid()i", "W 16", "res i 4200", ... */
struct rec {
    char log[65536];
    size_t len;
    int exits;
    int after_exit;           /* events after on_exit: must stay 0 */
    struct st_outcome outcome;
    unsigned char last_w[64];
    size_t last_w_len;
};

static void rec_add(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec_add(struct rec *r, const char *fmt, ...)
{
    if (r->exits)
        r->after_exit++;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->log + r->len, sizeof r->log - r->len, fmt, ap);
    va_end(ap);
    if (n > 0 && r->len + (size_t)n < sizeof r->log)
        r->len += (size_t)n;
}

static void on_request(void *ctx, const char *text, size_t len, const uint64_t *args, unsigned n)
{
    rec_add(ctx, "req %.*s\n", (int)len, text);
    (void)args;
    (void)n;
}
static void on_mem_read(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    rec_add(ctx, "R %zu\n", len);
}
static void on_mem_read_str(void *ctx, uint64_t ptr, uint64_t maxlen, const void *data, size_t len)
{
    rec_add(ctx, "Z %.*s\n", (int)len, (const char *)data);
}
static void on_mem_write(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    struct rec *r = ctx;
    rec_add(r, "W %zu\n", len);
    r->last_w_len = len < sizeof r->last_w ? len : sizeof r->last_w;
    memcpy(r->last_w, data, r->last_w_len);
}
static void on_mem_alloc(void *ctx, const void *data, size_t len, uint64_t ptr)
{
    rec_add(ctx, "M %zu\n", len);
}
static void on_mem_free(void *ctx, uint64_t ptr)
{
    rec_add(ctx, "F\n");
}
static void on_errno(void *ctx, int32_t err)
{
    rec_add(ctx, "E %d\n", err);
}
static void on_result(void *ctx, char kind, uint64_t value)
{
    rec_add(ctx, "res %c %lld\n", kind, (long long)value);
}
static void on_note(void *ctx, const char *text)
{
    rec_add(ctx, "note %s\n", text);
}
static void on_limit(void *ctx, enum st_limit which, const char *detail)
{
    rec_add(ctx, "limit %s\n", st_limit_name(which));
}
static void on_exit_cb(void *ctx, const struct st_outcome *o)
{
    struct rec *r = ctx;
    r->exits++;
    r->outcome = *o;
}

static const struct st_observer rec_observer = {
    .on_request = on_request, .on_mem_read = on_mem_read, .on_mem_read_str = on_mem_read_str,
    .on_mem_write = on_mem_write, .on_mem_alloc = on_mem_alloc, .on_mem_free = on_mem_free,
    .on_errno = on_errno, .on_result = on_result, .on_note = on_note, .on_limit = on_limit,
    .on_exit = on_exit_cb,
};

/* Runs `exe args...` with `cfg` tweaks applied by the caller, one recorder. */
static int run_with(struct st_session_config *cfg, struct rec *r, struct st_outcome *o)
{
    int devnull = open("/dev/null", O_RDWR);
    assert_true(devnull >= 0);
    cfg->in_fd = devnull;
    cfg->out_fd = devnull;
    cfg->err_fd = devnull;
    struct st_session *s;
    int rc = st_session_new(cfg, &s);
    assert_int_equal(rc, 0);
    struct st_observer obs = rec_observer;
    obs.ctx = r;
    assert_int_equal(st_session_add_observer(s, &obs), 0);
    rc = st_session_run(s, o);
    st_session_free(s);
    close(devnull);
    return rc;
}

static void setup_cfg(struct st_session_config *cfg, const char *const *argv, size_t argc)
{
    st_session_config_init(cfg);
    cfg->exe = argv[0];
    cfg->argv = argv;
    cfg->argc = argc;
}

static void test_session_events_come_in_wire_order(void **state)
{
    (void)state;
    const char *tg = tu_build_path("testguests/tguest");
    const char *argv[] = { tg, "ids" };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 2);
    struct rec *r = calloc(1, sizeof *r);
    struct st_outcome o;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_int_equal(o.status, ST_STATUS_EXITED);
    assert_int_equal(r->exits, 1);
    assert_int_equal(r->after_exit, 0);
    assert_int_equal(r->outcome.calls, o.calls);
    /* getresuid writes three 4-byte ids, then answers 0. */
    const char *want = "req getresuid(ppp)i\nW 4\nW 4\nW 4\nres i 0\n"
                       "req getresgid(ppp)i\nW 4\nW 4\nW 4\nres i 0\n"
                       "req getgroups(ip)i\nW 4\nres i 1\n";
    if (!strstr(r->log, want))
        fail_msg("log:\n%s", r->log);
    assert_non_null(strstr(r->log, "req getuid()i\nres i 1000\n"));
    assert_non_null(strstr(r->log, "req getpid()i\nres i 4200\n"));
    assert_non_null(strstr(r->log, "req getppid()i\nres i 1\n"));
    free(r);
}

static void test_session_identity_comes_from_the_config(void **state)
{
    (void)state;
    const char *tg = tu_build_path("testguests/tguest");
    const char *argv[] = { tg, "ids" };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 2);
    cfg.uid = 77;
    cfg.gid = 88;
    cfg.pid = 99;
    struct rec *r = calloc(1, sizeof *r);
    struct st_outcome o;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_non_null(strstr(r->log, "req getuid()i\nres i 77\n"));
    assert_non_null(strstr(r->log, "req getgid()i\nres i 88\n"));
    assert_non_null(strstr(r->log, "req getpid()i\nres i 99\n"));
    free(r);
}

static void test_session_time_is_frozen_by_default_and_real_on_request(void **state)
{
    (void)state;
    const char *argv[] = { tu_guest("clock") };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 1);
    struct rec *r = calloc(1, sizeof *r);
    struct st_outcome o;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    /* time(&t2): W of 8 bytes and the same value as result. */
    assert_non_null(strstr(r->log, "req time(p)i\nW 8\nres i 1564617600\n"));
    assert_non_null(strstr(r->log, "req gettimeofday(pp)i\nW 16\nres i 0\n"));
    free(r);

    setup_cfg(&cfg, argv, 1);
    cfg.time_mode = ST_TIME_FROZEN;
    cfg.time_base = 1000000000;
    r = calloc(1, sizeof *r);
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_non_null(strstr(r->log, "req time(p)i\nW 8\nres i 1000000000\n"));
    free(r);

    setup_cfg(&cfg, argv, 1);
    cfg.time_mode = ST_TIME_OFFSET;
    cfg.time_offset = -86400;
    r = calloc(1, sizeof *r);
    /* The same clock as the controller's: time() reads a coarse clock that
     * can still show the previous second when CLOCK_REALTIME has moved on. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long before = (long long)ts.tv_sec - 86400;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    clock_gettime(CLOCK_REALTIME, &ts);
    long long after = (long long)ts.tv_sec - 86400;
    const char *p = strstr(r->log, "req time(p)i\nW 8\nres i ");
    assert_non_null(p);
    long long t = strtoll(p + strlen("req time(p)i\nW 8\nres i "), NULL, 10);
    assert_true(t >= before && t <= after);
    free(r);
}

static void test_session_environment_is_served_from_entries(void **state)
{
    (void)state;
    const char *tg = tu_build_path("testguests/tguest");
    const char *argv[] = { tg, "getenv", "LANG" };
    const char *env[] = { "HOME=/tmp", "LANG=C.UTF-8" };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 3);
    cfg.env = env;
    cfg.nenv = 2;
    struct rec *r = calloc(1, sizeof *r);
    struct st_outcome o;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    /* The name is read with Z, the value allocated with M (with its NUL). */
    assert_non_null(strstr(r->log, "req getenv(p)p\nZ LANG\nM 8\nres p "));
    free(r);

    /* No entries: NULL at once, without reading the name (as the reference). */
    setup_cfg(&cfg, argv, 3);
    r = calloc(1, sizeof *r);
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_non_null(strstr(r->log, "req getenv(p)p\nres p 0\n"));
    free(r);

    /* get_environ: an empty one is one M of a NULL pointer. */
    const char *argv2[] = { tg, "environ" };
    setup_cfg(&cfg, argv2, 2);
    r = calloc(1, sizeof *r);
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_non_null(strstr(r->log, "req get_environ()p\nM 8\nres p "));
    free(r);
    /* With entries: the strings, then the pointer array. */
    setup_cfg(&cfg, argv2, 2);
    cfg.env = env;
    cfg.nenv = 2;
    r = calloc(1, sizeof *r);
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_non_null(strstr(r->log, "req get_environ()p\nM 23\nM 24\nres p "));
    free(r);
}

static void test_session_pypy_home_is_allocated_and_freed(void **state)
{
    (void)state;
    const char *tg = tu_build_path("testguests/tguest");
    const char *argv[] = { tg, "home" };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 2);
    cfg.pypy_home = "/lib";
    struct rec *r = calloc(1, sizeof *r);
    struct st_outcome o;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_non_null(strstr(r->log, "req _pypy_init_home()p\nM 5\nres p "));
    assert_non_null(strstr(r->log, "req _pypy_init_free(p)v\nF\nres v 0\n"));
    free(r);
}

static void test_session_refusals_are_noted_with_their_errno(void **state)
{
    (void)state;
    const char *tg = tu_build_path("testguests/tguest");
    const char *argv[] = { tg, "refused" };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 2);
    cfg.log_refused = 1;
    struct rec *r = calloc(1, sizeof *r);
    struct st_outcome o;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_non_null(strstr(r->log, "req fork()i\nnote refused 'fork()i' with EPERM\nE 1\nres i -1\n"));
    assert_int_equal(o.refused, 1);
    free(r);
}

/* Limits travel as an enum; their names are what a trace records, and
 * the names of the statuses they cause; older traces' names still read. */
static void test_limit_names_are_the_recorded_ones(void **state)
{
    (void)state;
    static const char *const want[ST_LIMIT_COUNT] = { "timeout", "cpu", "memory", "output",
                                                       "max-calls", "trace-limit", "interrupted" };
    for (int l = 0; l < ST_LIMIT_COUNT; l++) {
        assert_string_equal(st_limit_name((enum st_limit)l), want[l]);
        assert_int_equal(st_limit_by_name(want[l]), l);
    }
    assert_string_equal(st_limit_name(ST_LIMIT_COUNT), "?");
    assert_int_equal(st_limit_by_name("calls"), ST_LIMIT_CALLS);
    assert_int_equal(st_limit_by_name("trace"), ST_LIMIT_TRACE);
    assert_int_equal(st_limit_by_name("bogus"), -1);
    assert_int_equal(st_limit_by_name(NULL), -1);
}

static void test_session_limits_are_reported_to_observers(void **state)
{
    (void)state;
    const char *tg = tu_build_path("testguests/tguest");
    const char *argv[] = { tg, "calls", "50" };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 3);
    cfg.max_calls = 3;
    struct rec *r = calloc(1, sizeof *r);
    struct st_outcome o;
    assert_int_equal(run_with(&cfg, r, &o), 0);
    assert_int_equal(o.status, ST_STATUS_MAX_CALLS);
    /* The fourth request is seen, not answered. */
    assert_non_null(strstr(r->log, "res i 4200\nreq getpid()i\nlimit max-calls\n"));
    assert_int_equal(r->exits, 1);
    free(r);
}

static void test_session_several_observers_see_the_same_stream(void **state)
{
    (void)state;
    const char *tg = tu_build_path("testguests/tguest");
    const char *argv[] = { tg, "calls", "5" };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 3);
    struct st_session *s;
    assert_int_equal(st_session_new(&cfg, &s), 0);
    struct rec *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    struct st_observer oa = rec_observer, ob = rec_observer;
    oa.ctx = a;
    ob.ctx = b;
    assert_int_equal(st_session_add_observer(s, &oa), 0);
    assert_int_equal(st_session_add_observer(s, &ob), 0);
    struct st_outcome o;
    assert_int_equal(st_session_run(s, &o), 0);
    /* A session runs once. */
    assert_int_equal(st_session_run(s, &o), ST_E_INVALID);
    st_session_free(s);
    assert_true(a->len > 0);
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->log, b->log, a->len);
    assert_int_equal(a->exits, 1);
    free(a);
    free(b);
}

static void test_session_timeout_holds_while_the_guest_waits_for_input(void **state)
{
    (void)state;
    /* echo-stdin reads fd 0; the controller's input never comes. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    int devnull = open("/dev/null", O_RDWR);
    const char *argv[] = { tu_guest("echo-stdin") };
    struct st_session_config cfg;
    setup_cfg(&cfg, argv, 1);
    cfg.in_fd = p[0];
    cfg.out_fd = devnull;
    cfg.err_fd = devnull;
    cfg.timeout_seconds = 0.3;
    struct st_session *s;
    assert_int_equal(st_session_new(&cfg, &s), 0);
    struct rec *r = calloc(1, sizeof *r);
    struct st_observer obs = rec_observer;
    obs.ctx = r;
    st_session_add_observer(s, &obs);
    struct st_outcome o;
    assert_int_equal(st_session_run(s, &o), 0);
    st_session_free(s);
    assert_int_equal(o.status, ST_STATUS_TIMEOUT);
    assert_non_null(strstr(r->log, "req read(ipi)i\nlimit timeout\n"));
    free(r);
    close(p[0]);
    close(p[1]);
    close(devnull);
}

static void test_session_rejects_bad_configs(void **state)
{
    (void)state;
    struct st_session_config cfg;
    st_session_config_init(&cfg);
    struct st_session *s = (struct st_session *)1;
    assert_int_equal(st_session_new(&cfg, &s), ST_E_CONFIG);
    assert_null(s);
    const char *argv[] = { "x" };
    cfg.exe = "x";
    cfg.argv = argv;
    cfg.argc = 1;
    cfg.nenv = 3; /* entries promised, none given */
    assert_int_equal(st_session_new(&cfg, &s), ST_E_CONFIG);
    st_session_free(NULL);
}

int main(void)
{
    /* As st_session_run asks of its caller: a guest that dies mid-answer
     * must not kill the controller. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_events_come_in_wire_order),
        cmocka_unit_test(test_session_identity_comes_from_the_config),
        cmocka_unit_test(test_session_time_is_frozen_by_default_and_real_on_request),
        cmocka_unit_test(test_session_environment_is_served_from_entries),
        cmocka_unit_test(test_session_pypy_home_is_allocated_and_freed),
        cmocka_unit_test(test_session_refusals_are_noted_with_their_errno),
        cmocka_unit_test(test_limit_names_are_the_recorded_ones),
        cmocka_unit_test(test_session_limits_are_reported_to_observers),
        cmocka_unit_test(test_session_several_observers_see_the_same_stream),
        cmocka_unit_test(test_session_timeout_holds_while_the_guest_waits_for_input),
        cmocka_unit_test(test_session_rejects_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
