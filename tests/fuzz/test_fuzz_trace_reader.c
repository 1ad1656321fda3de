/* fuzz_trace_reader built and run in `make test` (so that it keeps
 * compiling): a small real trace, then that trace with every byte of its
 * first 600 flipped, cut at every length up to 600, and 2 000 random
 * damages, each through the target (normal and recover mode, seeks,
 * trace_verify), under the sanitizers in `make check`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_trace_reader_one
#include "tests/fuzz/fuzz_trace_reader.c"
#undef LLVMFuzzerTestOneInput

#include "tests/prng.h"

/* A trace of a few calls: requests with arguments, a string read, a
 * write, results, an errno, a note and the end. */
static uint8_t *small_trace(size_t *len)
{
    struct trace_io *io = trace_io_mem_writer(0);
    assert_non_null(io);
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.created_unix_ns = 1;
    struct trace_writer *w = NULL;
    assert_int_equal(trace_writer_new(&w, io, 0, &h, NULL), 0);
    for (int i = 0; i < 20; i++) {
        struct trace_event ev = { .kind = TRACE_EV_REQUEST, .time_ns = (uint64_t)i * 1000 };
        ev.request.sig = i % 2 ? "stat64(pp)i" : "write(ipi)i";
        ev.request.nargs = i % 2 ? 2 : 3;
        ev.request.args[0] = 1;
        ev.request.args[1] = 0x7000 + (uint64_t)i;
        ev.request.args[2] = 5;
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
        struct trace_event m = { .kind = i % 2 ? TRACE_EV_MEM_READ_STR : TRACE_EV_MEM_READ };
        m.mem.ptr = 0x7000;
        m.mem.data = (const uint8_t *)"/tmp/x";
        m.mem.len = 6;
        assert_int_equal(trace_writer_add_event(w, &m), 0);
        if (i % 3 == 0) {
            struct trace_event e = { .kind = TRACE_EV_SET_ERRNO };
            e.set_errno.value = 2;
            assert_int_equal(trace_writer_add_event(w, &e), 0);
        }
        struct trace_event r = { .kind = TRACE_EV_RESULT };
        r.result.kind = 'i';
        r.result.value = (uint64_t)i;
        assert_int_equal(trace_writer_add_event(w, &r), 0);
    }
    struct trace_event n = { .kind = TRACE_EV_NOTE };
    n.note.text = "a note";
    assert_int_equal(trace_writer_add_event(w, &n), 0);
    struct trace_event x = { .kind = TRACE_EV_GUEST_EXIT };
    x.guest_exit.reason = "exited";
    assert_int_equal(trace_writer_add_event(w, &x), 0);
    assert_int_equal(trace_writer_close(w), 0);
    const uint8_t *d = trace_io_mem_data(io, len);
    uint8_t *copy = malloc(*len);
    assert_non_null(copy);
    memcpy(copy, d, *len);
    trace_writer_free(w);
    trace_io_free(io);
    return copy;
}

static void test_a_real_trace_and_its_damages(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = small_trace(&len);
    /* The undamaged trace reads whole: 20 requests, 20 reads, 7 errnos,
     * 20 results, the note and the end. */
    struct trace_reader *r = NULL;
    assert_int_equal(trace_reader_open(&r, trace_io_mem_reader(t, len), 1, NULL, NULL, 0), 0);
    struct trace_event ev;
    int events = 0, rc;
    while ((rc = trace_reader_next(r, &ev)) == 1)
        events++;
    assert_int_equal(rc, 0);
    assert_int_equal(events, 69);
    trace_reader_free(r);
    assert_int_equal(fuzz_trace_reader_one(t, len), 0);
    uint8_t *d = malloc(len);
    assert_non_null(d);
    size_t upto = len < 600 ? len : 600;
    for (size_t i = 0; i < upto; i++) {
        memcpy(d, t, len);
        d[i] ^= 0x5a;
        assert_int_equal(fuzz_trace_reader_one(d, len), 0);
        assert_int_equal(fuzz_trace_reader_one(t, i), 0);
    }
    uint64_t x = 0x1234567887654321ull;
    for (int i = 0; i < 2000; i++) {
        memcpy(d, t, len);
        int flips = 1 + (int)(tu_xorshift64(&x) % 4);
        for (int k = 0; k < flips; k++)
            d[tu_xorshift64(&x) % len] = (uint8_t)tu_xorshift64(&x);
        assert_int_equal(fuzz_trace_reader_one(d, len - tu_xorshift64(&x) % 8), 0);
    }
    free(d);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_real_trace_and_its_damages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
