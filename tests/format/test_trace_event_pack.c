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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pack_copies_every_byte_field),
        cmocka_unit_test(test_pack_cuts_texts_and_data_but_keeps_lengths),
        cmocka_unit_test(test_pack_fills_in_missing_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
