/* trace_event_pack: the one deep copy of an event (the collector's heap
 * copies, replay's ring of recent events). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/trace.h"

static void test_pack_copies_every_byte_field(void **state)
{
    (void)state;
    char text[] = "not enough memory", detail[] = "at 1 MiB";
    struct trace_event ev = { .kind = TRACE_EV_LIMIT, .seq = 9 };
    ev.limit.name = text;
    ev.limit.detail = detail;
    ev.limit.value = 7;
    size_t need = trace_event_pack(NULL, &ev, NULL, 0, SIZE_MAX, SIZE_MAX);
    assert_int_equal(need, sizeof text + sizeof detail);
    char *buf = malloc(need);
    struct trace_event c;
    assert_int_equal(trace_event_pack(&c, &ev, buf, need, SIZE_MAX, SIZE_MAX), need);
    memset(text, 'x', sizeof text - 1);
    assert_string_equal(c.limit.name, "not enough memory");
    assert_string_equal(c.limit.detail, "at 1 MiB");
    assert_int_equal(c.limit.value, 7);
    assert_int_equal(c.seq, 9);
    free(buf);
}

static void test_pack_cuts_texts_and_data_but_keeps_lengths(void **state)
{
    (void)state;
    uint8_t data[100];
    memset(data, 'd', sizeof data);
    struct trace_event ev = { .kind = TRACE_EV_VIOLATION };
    ev.violation.text = "a long description";
    ev.violation.data = data;
    ev.violation.len = sizeof data;
    uint8_t buf[64];
    struct trace_event c;
    size_t n = trace_event_pack(&c, &ev, buf, sizeof buf, 7, 16);
    assert_int_equal(n, 7 + 16);
    assert_string_equal(c.violation.text, "a long");
    assert_int_equal(c.violation.len, 100);
    assert_memory_equal(c.violation.data, data, 16);
    /* Too small a buffer: nothing copied, the size said. */
    assert_int_equal(trace_event_pack(&c, &ev, buf, 8, SIZE_MAX, SIZE_MAX), 19 + 100);
}

static void test_pack_fills_in_missing_texts(void **state)
{
    (void)state;
    struct trace_event ev = { .kind = TRACE_EV_NOTE };
    uint8_t buf[4];
    struct trace_event c;
    assert_int_equal(trace_event_pack(&c, &ev, buf, sizeof buf, SIZE_MAX, SIZE_MAX), 1);
    assert_string_equal(c.note.text, "");
    struct trace_event ex = { .kind = TRACE_EV_GUEST_EXIT };
    assert_int_equal(trace_event_pack(&c, &ex, buf, sizeof buf, SIZE_MAX, SIZE_MAX), 0);
    assert_null(c.guest_exit.reason);
}

static void test_pack_copies_a_request_up_to_its_arguments(void **state)
{
    (void)state;
    char sig[] = "write(ipi)i";
    struct trace_event ev = { .kind = TRACE_EV_REQUEST, .seq = 4, .time_ns = 77, .req_seq = 3 };
    ev.request.sig_id = 2;
    ev.request.sig = sig;
    ev.request.nargs = 3;
    for (unsigned i = 0; i < TRACE_MAX_ARGS; i++)
        ev.request.args[i] = 0x1000 + i;
    struct trace_event c;
    memset(&c, 0xee, sizeof c);
    char buf[32];
    assert_int_equal(trace_event_pack(&c, &ev, buf, sizeof buf, SIZE_MAX, SIZE_MAX), sizeof sig);
    sig[0] = 'x';
    assert_string_equal(c.request.sig, "write(ipi)i");
    assert_int_equal(c.kind, TRACE_EV_REQUEST);
    assert_int_equal(c.seq, 4);
    assert_int_equal(c.time_ns, 77);
    assert_int_equal(c.req_seq, 3);
    assert_int_equal(c.request.sig_id, 2);
    assert_int_equal(c.request.nargs, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(c.request.args[i], 0x1000 + i);
    /* Past nargs nothing is copied (the arguments the request has not). */
    assert_int_equal(c.request.args[3], 0xeeeeeeeeeeeeeeeeull);
    /* A count past the cap copies the cap, never more. */
    ev.request.nargs = TRACE_MAX_ARGS + 5;
    assert_int_equal(trace_event_pack(&c, &ev, buf, sizeof buf, SIZE_MAX, SIZE_MAX), sizeof sig);
    assert_int_equal(c.request.args[TRACE_MAX_ARGS - 1], 0x1000 + TRACE_MAX_ARGS - 1);
}

static void test_pack_copies_a_result_and_a_memory_command(void **state)
{
    (void)state;
    struct trace_event ev = { .kind = TRACE_EV_RESULT, .seq = 8, .req_seq = 6 };
    ev.result.kind = 'i';
    ev.result.value = 0x123456789ull;
    struct trace_event c;
    memset(&c, 0, sizeof c);
    uint8_t none[1];
    assert_int_equal(trace_event_pack(&c, &ev, none, 0, SIZE_MAX, SIZE_MAX), 0);
    assert_int_equal(c.kind, TRACE_EV_RESULT);
    assert_int_equal(c.result.kind, 'i');
    assert_int_equal(c.result.value, 0x123456789ull);
    assert_int_equal(c.req_seq, 6);
    uint8_t data[5] = { 1, 2, 3, 4, 5 }, buf[8];
    struct trace_event m = { .kind = TRACE_EV_MEM_WRITE, .seq = 9 };
    m.mem.ptr = 0x7000;
    m.mem.data = data;
    m.mem.len = sizeof data;
    assert_int_equal(trace_event_pack(&c, &m, buf, sizeof buf, SIZE_MAX, SIZE_MAX), sizeof data);
    data[0] = 9;
    assert_int_equal(c.mem.ptr, 0x7000);
    assert_int_equal(c.mem.len, 5);
    assert_memory_equal(c.mem.data, "\1\2\3\4\5", 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_copies_every_byte_field),
        cmocka_unit_test(test_pack_cuts_texts_and_data_but_keeps_lengths),
        cmocka_unit_test(test_pack_fills_in_missing_texts),
        cmocka_unit_test(test_pack_copies_a_request_up_to_its_arguments),
        cmocka_unit_test(test_pack_copies_a_result_and_a_memory_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
