/* The replayer library (replayer/replayer.h) on traces written here with
 * the format writer, in memory: what it reports through its callbacks, how
 * it relocates pointers it never saw live, and how it treats malformed
 * (hostile) traces. The guest is the example `hello`: write(1, "hello from
 * the sandbox\n"), write(2, "hello: this line goes to stderr\n"), exit 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/trace.h"
#include "replayer/replayer.h"
#include "tests/testutil.h"

static const char LINE1[] = "hello from the sandbox\n";
static const char LINE2[] = "hello: this line goes to stderr\n";

/* Fake recorded addresses: replay must map them to whatever the live guest uses. */
#define REC_BUF1 0x100000001000ull
#define REC_BUF2 0x100000002000ull

struct tw {
    struct trace_io *io;
    struct trace_writer *w;
};

static void tw_open(struct tw *t, const char *exe)
{
    static const char *argv[] = { "hello" };
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.guest_exe_path = exe;
    h.guest_argc = 1;
    h.guest_argv = argv;
    t->io = trace_io_mem_writer(0);
    assert_non_null(t->io);
    assert_int_equal(trace_writer_new(&t->w, t->io, 0, &h, NULL), 0);
}

static void tw_add(struct tw *t, struct trace_event ev)
{
    ev.time_ns = TRACE_TIME_NOW;
    assert_int_equal(trace_writer_add_event(t->w, &ev), 0);
}

static void tw_request(struct tw *t, const char *sig, uint64_t a0, uint64_t a1, uint64_t a2)
{
    struct trace_event ev = { .kind = TRACE_EV_REQUEST };
    ev.request.sig = sig;
    ev.request.nargs = 3;
    ev.request.args[0] = a0;
    ev.request.args[1] = a1;
    ev.request.args[2] = a2;
    tw_add(t, ev);
}

static void tw_read(struct tw *t, uint64_t ptr, const char *data)
{
    struct trace_event ev = { .kind = TRACE_EV_MEM_READ };
    ev.mem.ptr = ptr;
    ev.mem.data = (const uint8_t *)data;
    ev.mem.len = strlen(data);
    tw_add(t, ev);
}

static void tw_result(struct tw *t, char kind, uint64_t v)
{
    struct trace_event ev = { .kind = TRACE_EV_RESULT };
    ev.result.kind = kind;
    ev.result.value = v;
    tw_add(t, ev);
}

static void tw_exit(struct tw *t, int code)
{
    struct trace_event ev = { .kind = TRACE_EV_GUEST_EXIT };
    ev.guest_exit.code = code;
    ev.guest_exit.reason = "exited";
    tw_add(t, ev);
}

/* The whole recorded hello run, with `line1` as the first write's data. */
static void tw_hello(struct tw *t, const char *line1)
{
    tw_request(t, "write(ipi)i", 1, REC_BUF1, strlen(line1));
    tw_read(t, REC_BUF1, line1);
    tw_result(t, 'i', strlen(line1));
    tw_request(t, "write(ipi)i", 2, REC_BUF2, strlen(LINE2));
    tw_read(t, REC_BUF2, LINE2);
    tw_result(t, 'i', strlen(LINE2));
}

/* What the callbacks saw. */
struct seen {
    char out[4096];
    size_t out_len;
    char err[4096];
    size_t err_len;
    unsigned events, divergences, stops;
    struct rp_divergence first;
    uint8_t first_expected[64], first_got[64];
    pid_t stop_pid;
    uint64_t stop_seq;
};

static void on_event(void *ctx, const struct trace_event *ev)
{
    (void)ev;
    ((struct seen *)ctx)->events++;
}

static void on_output(void *ctx, int fd, const void *data, size_t len)
{
    struct seen *s = ctx;
    char *dst = fd == 1 ? s->out : s->err;
    size_t *n = fd == 1 ? &s->out_len : &s->err_len;
    if (*n + len < sizeof s->out) {
        memcpy(dst + *n, data, len);
        *n += len;
    }
}

static void on_divergence(void *ctx, const struct rp_divergence *d)
{
    struct seen *s = ctx;
    if (s->divergences++ == 0) {
        s->first = *d;
        if (d->expected_data && d->expected_len <= sizeof s->first_expected)
            memcpy(s->first_expected, d->expected_data, d->expected_len);
        if (d->got_data && d->got_len <= sizeof s->first_got)
            memcpy(s->first_got, d->got_data, d->got_len);
    }
}

static void on_stop(void *ctx, pid_t pid, uint64_t seq)
{
    struct seen *s = ctx;
    s->stops++;
    s->stop_pid = pid;
    s->stop_seq = seq;
}

/* Replays the trace written to `t` (then frees it); returns rp_replay_run's
 * value, or the rp_replay_new error. */
static int replay(struct tw *t, struct seen *s, struct rp_result *res, uint64_t stop_at)
{
    trace_writer_free(t->w); /* without close: the footer is left out when not closed */
    size_t len;
    const uint8_t *data = trace_io_mem_data(t->io, &len);
    struct trace_io *in = trace_io_mem_reader(data, len);
    assert_non_null(in);
    struct rp_config cfg;
    rp_config_init(&cfg);
    cfg.io = in;
    cfg.timeout_seconds = 30;
    cfg.stop_at = stop_at;
    cfg.ctx = s;
    cfg.on_event = on_event;
    cfg.on_output = on_output;
    cfg.on_divergence = on_divergence;
    cfg.on_stop = on_stop;
    memset(s, 0, sizeof *s);
    memset(res, 0, sizeof *res);
    struct rp_replay *r;
    char err[512];
    int rc = rp_replay_new(&cfg, &r, err, sizeof err);
    if (rc == 0) {
        rc = rp_replay_run(r, res);
        rp_replay_free(r);
    }
    trace_io_free(in);
    trace_io_free(t->io);
    return rc;
}

static void close_trace(struct tw *t)
{
    assert_int_equal(trace_writer_close(t->w), 0);
}

static void test_lib_replays_and_relocates_pointers_never_seen_live(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_hello(&t, LINE1);
    tw_exit(&t, 0);
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), 0);
    if (res.end != RP_END_COMPLETE)
        fail_msg("end %d: %s", res.end, res.message);
    assert_int_equal(res.divergences, 0);
    assert_int_equal(res.requests, 2);
    assert_int_equal(res.events, 7);
    assert_int_equal(s.events, 7);
    assert_int_equal(s.out_len, strlen(LINE1));
    assert_memory_equal(s.out, LINE1, s.out_len);
    assert_int_equal(s.err_len, strlen(LINE2));
    assert_int_equal(res.recorded_exit, 0);
    assert_int_equal(res.live_code, 0);
    assert_int_equal(res.live_signal, 0);
}

static void test_lib_reports_data_divergence_with_both_sides(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_hello(&t, "hello from the sandbax\n");
    tw_exit(&t, 0);
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), 0);
    assert_int_equal(res.end, RP_END_DIVERGED);
    assert_int_equal(s.divergences, 1);
    assert_int_equal(s.first.kind, RP_DIV_DATA);
    assert_int_equal(s.first.seq, 1);
    assert_int_equal(s.first.op, 'R');
    assert_int_equal(s.first.offset, 20);
    assert_int_equal(s.first_expected[20], 'a');
    assert_int_equal(s.first_got[20], 'o');
    /* Stopped there: nothing printed, the guest killed. */
    assert_int_equal(s.out_len, 0);
    assert_int_equal(res.live_signal, 9);
}

static void test_lib_reports_the_guest_ending_early(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_hello(&t, LINE1);
    tw_request(&t, "getpid()i", 0, 0, 0); /* the guest never makes this call */
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), 0);
    assert_int_equal(res.end, RP_END_DIVERGED);
    assert_int_equal(s.first.kind, RP_DIV_ENDED);
    assert_int_equal(s.first.seq, 6);
    assert_string_equal(s.first.expected_sig, "getpid()i");
}

static void test_lib_refuses_a_result_of_the_wrong_kind(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_request(&t, "write(ipi)i", 1, REC_BUF1, strlen(LINE1));
    tw_read(&t, REC_BUF1, LINE1);
    tw_result(&t, 'p', 0); /* write returns an integer */
    tw_exit(&t, 0);
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), 0);
    /* A malformed trace is a damaged one: replayed up to there. */
    assert_int_equal(res.end, RP_END_TRUNCATED);
    assert_non_null(strstr(res.message, "malformed trace"));
}

static void test_lib_refuses_a_request_inside_a_request(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_request(&t, "write(ipi)i", 1, REC_BUF1, strlen(LINE1));
    tw_request(&t, "write(ipi)i", 1, REC_BUF1, strlen(LINE1));
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), 0);
    assert_int_equal(res.end, RP_END_TRUNCATED);
    assert_non_null(strstr(res.message, "before the result of event 0"));
}

static void test_lib_trace_without_the_exit_is_truncated(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_hello(&t, LINE1);
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), 0);
    assert_int_equal(res.end, RP_END_TRUNCATED);
    assert_non_null(strstr(res.message, "without the guest's exit"));
    /* Everything up to the end was replayed. */
    assert_int_equal(s.out_len, strlen(LINE1));
}

static void test_lib_unclosed_trace_replays_its_flushed_chunks(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_request(&t, "write(ipi)i", 1, REC_BUF1, strlen(LINE1));
    tw_read(&t, REC_BUF1, LINE1);
    tw_result(&t, 'i', strlen(LINE1));
    assert_int_equal(trace_writer_flush(t.w), 0);
    /* Lost with the writer (a crash): the rest of the run. */
    tw_request(&t, "write(ipi)i", 2, REC_BUF2, strlen(LINE2));
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), 0);
    assert_int_equal(res.end, RP_END_TRUNCATED);
    assert_int_equal(res.trace_error, TRACE_E_TRUNCATED);
    assert_int_equal(res.events, 3);
    assert_int_equal(s.out_len, strlen(LINE1));
}

static void test_lib_stop_at_reports_the_live_pid_once(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, tu_guest("hello"));
    tw_hello(&t, LINE1);
    tw_exit(&t, 0);
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, 3), 0);
    assert_int_equal(res.end, RP_END_COMPLETE);
    assert_int_equal(s.stops, 1);
    assert_int_equal(s.stop_seq, 3);
    assert_true(s.stop_pid > 0);
    assert_int_equal(s.stop_pid, res.pid);
}

static void test_lib_needs_an_executable(void **state)
{
    (void)state;
    struct tw t;
    tw_open(&t, "/nonexistent/guest");
    tw_exit(&t, 0);
    close_trace(&t);
    struct seen s;
    struct rp_result res;
    assert_int_equal(replay(&t, &s, &res, RP_NO_STOP), RP_E_EXE);
    assert_string_equal(rp_strerror(RP_E_EXE), "no executable to replay");
    assert_string_equal(rp_div_kind_name(RP_DIV_DATA), "data");
}

int main(void)
{
    /* As rp_replay_run asks of its caller. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lib_replays_and_relocates_pointers_never_seen_live),
        cmocka_unit_test(test_lib_reports_data_divergence_with_both_sides),
        cmocka_unit_test(test_lib_reports_the_guest_ending_early),
        cmocka_unit_test(test_lib_refuses_a_result_of_the_wrong_kind),
        cmocka_unit_test(test_lib_refuses_a_request_inside_a_request),
        cmocka_unit_test(test_lib_trace_without_the_exit_is_truncated),
        cmocka_unit_test(test_lib_unclosed_trace_replays_its_flushed_chunks),
        cmocka_unit_test(test_lib_stop_at_reports_the_live_pid_once),
        cmocka_unit_test(test_lib_needs_an_executable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
