/* The tracer library on its own: each observer callback becomes the event
 * it names (read back from an in-memory trace), the header builder records
 * the guest and the policy, and a failing writer is reported, not hidden. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "controller/session.h"
#include "tracer/tracer.h"

static const char *self_exe(void)
{
    static char path[4096];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    assert_true(n > 0);
    path[n] = '\0';
    return path;
}

/* Feeds one of every callback through the observer. */
static void feed_all(struct st_observer *o)
{
    uint64_t args[3] = { 1, 0x1000, 5 };
    o->on_request(o->ctx, "write(ipi)iJUNK", 11, args, 3); /* text_len bounds the text */
    o->on_mem_read(o->ctx, 0x1000, "hello", 5);
    o->on_mem_read_str(o->ctx, 0x2000, 4096, "/tmp", 4);
    o->on_mem_write(o->ctx, 0x3000, "abc", 3);
    o->on_mem_alloc(o->ctx, "\0\0\0\0\0\0\0\0", 8, 0x4000);
    o->on_mem_free(o->ctx, 0x4000);
    o->on_errno(o->ctx, 2);
    o->on_result(o->ctx, 'i', 5);
    o->on_guest_stderr(o->ctx, "oops\n", 5);
    o->on_note(o->ctx, "refused 'fork()i' with EPERM");
    o->on_limit(o->ctx, ST_LIMIT_CALLS, "more than 7 calls");
    o->on_violation(o->ctx, "bad kind", "\x05" "f(x)i", 6);
    struct st_outcome out;
    memset(&out, 0, sizeof out);
    out.status = ST_STATUS_MAX_CALLS;
    out.exit_code = -1;
    out.signal = 9;
    snprintf(out.reason, sizeof out.reason, "more than 7 calls");
    o->on_exit(o->ctx, &out);
}

static void test_tracer_each_callback_becomes_its_event(void **state)
{
    (void)state;
    struct st_tracer_meta m;
    st_tracer_meta_init(&m);
    const char *argv[] = { "/bin/guest", "-x" };
    const char *env[] = { "HOME=/tmp" };
    assert_int_equal(st_tracer_meta_set_guest(&m, self_exe(), argv, 2, env, 1), 0);
    struct st_session_config cfg;
    st_session_config_init(&cfg);
    cfg.max_calls = 7;
    assert_int_equal(st_tracer_meta_add_session(&m, &cfg), 0);
    assert_int_equal(st_tracer_meta_add(&m, "mount", "%s=%s", "/d", "/real"), 0);

    struct trace_io *io = trace_io_mem_writer(0);
    assert_non_null(io);
    struct st_tracer *t = NULL;
    assert_int_equal(st_tracer_new(&t, io, 0, &m.header, NULL, NULL), 0);
    st_tracer_set_session_limits(t, &cfg);
    assert_int_equal(st_tracer_set_background_flush(t, 50), 0);
    struct st_observer o = st_tracer_observer(t);
    feed_all(&o);
    assert_int_equal(st_tracer_event_count(t), 13);
    assert_int_equal(st_tracer_close(t), 0);
    st_tracer_free(t);
    st_tracer_meta_release(&m);

    size_t len;
    const uint8_t *data = trace_io_mem_data(io, &len);
    struct trace_io *rio = trace_io_mem_reader(data, len);
    struct trace_reader *r = NULL;
    assert_int_equal(trace_reader_open(&r, rio, 1, NULL, NULL, 0), 0);
    const struct trace_header *h = trace_reader_header(r);
    assert_string_equal(h->guest_exe_path, self_exe());
    assert_int_equal(h->guest_exe_hash_set, 1);
    assert_true(h->guest_exe_size > 0);
    assert_int_equal(h->guest_argc, 2);
    assert_string_equal(h->guest_argv[1], "-x");
    assert_int_equal(h->guest_envc, 1);
    assert_string_equal(h->guest_env[0], "HOME=/tmp");
    int saw_calls = 0, saw_mount = 0;
    for (size_t i = 0; i < h->policy_count; i++) {
        saw_calls |= !strcmp(h->policy[i].key, "limit.max_calls") && !strcmp(h->policy[i].value, "7");
        saw_mount |= !strcmp(h->policy[i].key, "mount") && !strcmp(h->policy[i].value, "/d=/real");
    }
    assert_true(saw_calls);
    assert_true(saw_mount);

    static const enum trace_event_kind kinds[] = {
        TRACE_EV_REQUEST, TRACE_EV_MEM_READ, TRACE_EV_MEM_READ_STR, TRACE_EV_MEM_WRITE,
        TRACE_EV_MEM_ALLOC, TRACE_EV_MEM_FREE, TRACE_EV_SET_ERRNO, TRACE_EV_RESULT,
        TRACE_EV_GUEST_STDERR, TRACE_EV_NOTE, TRACE_EV_LIMIT, TRACE_EV_VIOLATION,
        TRACE_EV_GUEST_EXIT,
    };
    struct trace_event ev;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        assert_int_equal(trace_reader_next(r, &ev), 1);
        if (ev.kind != kinds[i])
            fail_msg("event %zu is %s, want %s", i, trace_event_kind_name(ev.kind),
                     trace_event_kind_name(kinds[i]));
        switch (ev.kind) {
        case TRACE_EV_REQUEST:
            assert_string_equal(ev.request.sig, "write(ipi)i");
            assert_int_equal(ev.request.nargs, 3);
            assert_int_equal(ev.request.args[1], 0x1000);
            break;
        case TRACE_EV_MEM_READ:
            assert_int_equal(ev.mem.ptr, 0x1000);
            assert_int_equal(ev.mem.len, 5);
            assert_memory_equal(ev.mem.data, "hello", 5);
            break;
        case TRACE_EV_MEM_READ_STR:
            assert_int_equal(ev.mem.size, 4096);
            assert_memory_equal(ev.mem.data, "/tmp", 4);
            break;
        case TRACE_EV_MEM_ALLOC:
            assert_int_equal(ev.mem.ptr, 0x4000);
            assert_int_equal(ev.mem.len, 8);
            break;
        case TRACE_EV_SET_ERRNO:
            assert_int_equal(ev.set_errno.value, 2);
            break;
        case TRACE_EV_RESULT:
            assert_int_equal(ev.result.kind, 'i');
            assert_int_equal(ev.result.value, 5);
            break;
        case TRACE_EV_GUEST_STDERR:
            assert_memory_equal(ev.guest_stderr.data, "oops\n", 5);
            break;
        case TRACE_EV_NOTE:
            assert_string_equal(ev.note.text, "refused 'fork()i' with EPERM");
            break;
        case TRACE_EV_LIMIT:
            assert_string_equal(ev.limit.name, "max-calls");
            assert_int_equal(ev.limit.value, 7);
            assert_string_equal(ev.limit.detail, "more than 7 calls");
            break;
        case TRACE_EV_VIOLATION:
            assert_string_equal(ev.violation.text, "bad kind");
            assert_int_equal(ev.violation.len, 6);
            break;
        case TRACE_EV_GUEST_EXIT:
            assert_int_equal(ev.guest_exit.code, -1);
            assert_int_equal(ev.guest_exit.signal, 9);
            assert_string_equal(ev.guest_exit.reason, "more than 7 calls");
            break;
        default:
            break;
        }
    }
    assert_int_equal(trace_reader_next(r, &ev), 0); /* clean end: footer */
    trace_reader_free(r);
    trace_io_free(io);
}

static void test_tracer_meta_refuses_an_unreadable_executable(void **state)
{
    (void)state;
    struct st_tracer_meta m;
    st_tracer_meta_init(&m);
    const char *argv[] = { "x" };
    assert_int_equal(st_tracer_meta_set_guest(&m, "/no/such/exe", argv, 1, NULL, 0),
                     ST_TRACER_E_HASH);
    st_tracer_meta_release(&m);
}

static void test_tracer_write_failure_is_reported_at_close(void **state)
{
    (void)state;
    /* A memory writer capped just above the file header: the first chunk
     * cannot be written. */
    struct trace_header h;
    memset(&h, 0, sizeof h);
    struct trace_io *probe = trace_io_mem_writer(0);
    struct trace_writer *w = NULL;
    assert_int_equal(trace_writer_new(&w, probe, 0, &h, NULL), 0);
    size_t header_len;
    trace_io_mem_data(probe, &header_len);
    trace_writer_free(w);
    trace_io_free(probe);

    struct trace_io *io = trace_io_mem_writer(header_len + 16);
    struct st_tracer *t = NULL;
    assert_int_equal(st_tracer_new(&t, io, 1, &h, NULL, NULL), 0);
    struct st_observer o = st_tracer_observer(t);
    feed_all(&o);
    assert_int_equal(st_tracer_close(t), ST_TRACER_E_TRACE);
    assert_true(st_tracer_trace_error(t) < 0);
    st_tracer_free(t);
}

static void test_tracer_free_without_close_is_like_a_crash(void **state)
{
    (void)state;
    struct trace_header h;
    memset(&h, 0, sizeof h);
    struct trace_io *io = trace_io_mem_writer(0);
    struct st_tracer *t = NULL;
    assert_int_equal(st_tracer_new(&t, io, 0, &h, NULL, NULL), 0);
    assert_int_equal(st_tracer_set_background_flush(t, 10), 0);
    struct st_observer o = st_tracer_observer(t);
    o.on_note(o.ctx, "flushed");
    assert_int_equal(st_tracer_flush(t), 0);
    o.on_note(o.ctx, "lost");
    st_tracer_free(t);
    size_t len;
    const uint8_t *data = trace_io_mem_data(io, &len);
    struct trace_reader *r = NULL;
    assert_int_equal(trace_reader_open(&r, trace_io_mem_reader(data, len), 1, NULL, NULL, 0), 0);
    struct trace_event ev;
    assert_int_equal(trace_reader_next(r, &ev), 1);
    assert_string_equal(ev.note.text, "flushed");
    assert_int_equal(trace_reader_next(r, &ev), TRACE_E_TRUNCATED);
    trace_reader_free(r);
    trace_io_free(io);
}

static void test_tracer_every_error_has_its_own_text(void **state)
{
    (void)state;
    for (int a = ST_TRACER_OK; a >= ST_TRACER_E_LIMIT; a--) {
        assert_string_not_equal(st_tracer_strerror(a), "unknown tracer error");
        for (int b = a - 1; b >= ST_TRACER_E_LIMIT; b--)
            assert_string_not_equal(st_tracer_strerror(a), st_tracer_strerror(b));
    }
    assert_string_equal(st_tracer_strerror(ST_TRACER_E_LIMIT - 1), "unknown tracer error");
    assert_string_equal(st_tracer_strerror(1), "unknown tracer error");
    assert_string_equal(st_tracer_strerror(-2147483647 - 1), "unknown tracer error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracer_each_callback_becomes_its_event),
        cmocka_unit_test(test_tracer_meta_refuses_an_unreadable_executable),
        cmocka_unit_test(test_tracer_write_failure_is_reported_at_close),
        cmocka_unit_test(test_tracer_free_without_close_is_like_a_crash),
        cmocka_unit_test(test_tracer_every_error_has_its_own_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
