/* The guest link's waits (controller/guest_link.h): a jailed guest's
 * requests are read with blocking reads (the fast path), and what a
 * blocked read cannot see itself still happens: the guest's stderr is
 * drained (a guest that fills its stderr pipe before its request would
 * otherwise wait forever for a controller that waits for it), the hook
 * that stops the run ends the read, and so does the deadline. With
 * SANDTRACE_LINK_WAIT=poll, and for an unjailed guest, the waits poll.
 *
 * The deadlines here are safety nets: what is checked is how a wait ended
 * and what was delivered, never how long it took. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/error.h"
#include "controller/guest_link.h"
#include "tests/testutil.h"

#define STDERR_BYTES (1L << 20) /* 16 times a default pipe */

struct seen {
    long stderr_bytes;
    long stop_after;   /* should_stop says yes once this many bytes came (0: never) */
    int bad_byte;      /* a byte other than tguest's 'e' */
};

static void on_stderr(void *ctx, const void *data, size_t n)
{
    struct seen *s = ctx;
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++)
        if (p[i] != 'e')
            s->bad_byte = 1;
    s->stderr_bytes += (long)n;
}

static int should_stop(void *ctx)
{
    struct seen *s = ctx;
    return s->stop_after && s->stderr_bytes >= s->stop_after;
}

/* Starts tguest MODE ARG, jailed or not, with a deadline of `timeout`. */
static void start(struct st_link *l, struct seen *s, int jailed, double timeout, const char *mode,
                  const char *arg)
{
    static char *argv[4];
    argv[0] = (char *)tu_build_path("testguests/tguest");
    argv[1] = (char *)mode;
    argv[2] = (char *)arg;
    argv[3] = NULL;
    struct st_spawn_config sc;
    st_spawn_config_init(&sc);
    sc.path = argv[0];
    sc.argv = argv;
    sc.stderr_pipe = 1;
    sc.seccomp = jailed;
    sc.no_fs_jail = 1;
    struct st_link_hooks h = { .ctx = s, .on_stderr = on_stderr, .should_stop = should_stop };
    assert_int_equal(st_link_start(l, &sc, timeout, &h), 0);
}

/* tguest "stderr N" writes N bytes to its stderr, then asks getpid(). */
static void read_getpid_after_stderr(int jailed, int expect_fast)
{
    struct st_link l;
    struct seen s = { 0 };
    char n[32];
    snprintf(n, sizeof n, "%ld", STDERR_BYTES);
    start(&l, &s, jailed, 60, "stderr", n);
    struct st_wire_request req;
    int rc = st_link_read_request(&l, &req);
    if (rc != 0)
        fail_msg("reading the request after %ld bytes of stderr: %s (%ld bytes drained)",
                 STDERR_BYTES, st_error_name(rc), s.stderr_bytes);
    assert_string_equal(req.text, "getpid()i");
    assert_int_equal(st_link_result(&l, 'i', 4200), 0);
    assert_int_equal(st_link_wait_end(&l), 1);
    st_link_finish_stderr(&l, 10);
    assert_int_equal(s.stderr_bytes, STDERR_BYTES);
    assert_false(s.bad_byte);
    if (expect_fast) {
        /* One blocking read brought the whole request (written at once);
         * the guest's stderr was drained meanwhile by the watcher. */
        assert_int_equal(l.fast, 1);
        assert_true(l.fast_reads >= 1);
        assert_int_equal(l.polled_waits, 0);
    } else {
        /* The guest could not ask before its stderr was drained, and
         * the polling wait is what drained it. */
        assert_int_equal(l.fast_reads, 0);
        assert_true(l.polled_waits >= 1);
    }
    st_link_close(&l);
}

static void test_link_fast_path_drains_stderr_while_blocked(void **state)
{
    (void)state;
    read_getpid_after_stderr(1, 1);
}

static void test_link_poll_env_turns_the_fast_path_off(void **state)
{
    (void)state;
    setenv("SANDTRACE_LINK_WAIT", "poll", 1);
    read_getpid_after_stderr(1, 0);
    unsetenv("SANDTRACE_LINK_WAIT");
}

static void test_link_unjailed_guest_is_polled(void **state)
{
    (void)state;
    /* Its pipe may have other writers than the process killed at the
     * deadline: no blocking read for it. */
    read_getpid_after_stderr(0, 0);
}

static void test_link_deadline_ends_a_blocked_read(void **state)
{
    (void)state;
    struct st_link l;
    struct seen s = { 0 };
    start(&l, &s, 1, 0.2, "spin", "");
    struct st_wire_request req;
    assert_int_equal(st_link_read_request(&l, &req), ST_E_TIMEOUT);
    assert_int_equal(l.timed_out, 1);
    assert_int_equal(req.raw_len, 0);
    st_link_kill(&l);
    assert_int_equal(l.child.reaped, 1);
    st_link_close(&l);
}

static void test_link_stop_hook_ends_a_blocked_read(void **state)
{
    (void)state;
    /* The hook says stop after 64 KiB of the guest's 1 MiB of stderr:
     * the guest never gets to its request, and the read ends stopped. */
    struct st_link l;
    struct seen s = { .stop_after = 65536 };
    char n[32];
    snprintf(n, sizeof n, "%ld", STDERR_BYTES);
    start(&l, &s, 1, 60, "stderr", n);
    struct st_wire_request req;
    assert_int_equal(st_link_read_request(&l, &req), ST_E_STOPPED);
    assert_int_equal(l.timed_out, 0);
    assert_true(s.stderr_bytes >= 65536);
    assert_true(s.stderr_bytes < STDERR_BYTES);
    st_link_kill(&l);
    st_link_close(&l);
}

static void test_link_reads_many_requests_blocking(void **state)
{
    (void)state;
    /* tguest "calls N": N getpid() requests, each answered. */
    struct st_link l;
    struct seen s = { 0 };
    start(&l, &s, 1, 60, "calls", "1000");
    struct st_wire_request req;
    int got = 0, rc;
    while ((rc = st_link_read_request(&l, &req)) == 0) {
        got++;
        assert_int_equal(st_link_result(&l, req.res_kind, 0), 0);
    }
    assert_int_equal(rc, ST_E_EOF);
    assert_true(got >= 1000);
    assert_int_equal(l.fast, 1);
    assert_true(l.fast_reads >= 1000);
    assert_int_equal(st_link_wait_end(&l), 1);
    st_link_close(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_fast_path_drains_stderr_while_blocked),
        cmocka_unit_test(test_link_poll_env_turns_the_fast_path_off),
        cmocka_unit_test(test_link_unjailed_guest_is_polled),
        cmocka_unit_test(test_link_deadline_ends_a_blocked_read),
        cmocka_unit_test(test_link_stop_hook_ends_a_blocked_read),
        cmocka_unit_test(test_link_reads_many_requests_blocking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
