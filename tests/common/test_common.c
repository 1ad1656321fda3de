/* common/: the bounded buffer, array growth, JSON escaping, number parsing,
 * little-endian access and write-all. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/st_buf.h"
#include "common/st_util.h"

static void test_buf_never_grows_past_its_maximum(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 8);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    assert_int_equal(st_buf_puts(&b, "abcd"), 0);
    assert_int_equal(st_buf_addf(&b, "%d", 123), 0);
    assert_string_equal(b.data, "abcd123");
    assert_int_equal(st_buf_puts(&b, "xy"), -1); /* 9 > 8: nothing appended */
    assert_true(b.overflow);
    assert_string_equal(b.data, "abcd123");
    st_buf_reset(&b);
    assert_false(b.overflow);
    assert_int_equal(b.len, 0);
    st_buf_release(&b);
    assert_string_equal(b.data, "");
}

static void test_buf_detach_hands_over_the_data(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 0);
    char big[1000];
    memset(big, 'x', sizeof big);
    assert_int_equal(st_buf_add(&b, big, sizeof big), 0);
    assert_int_equal(st_buf_addf(&b, "%s", "!"), 0);
    size_t n;
    char *d = st_buf_detach(&b, &n);
    assert_int_equal(n, 1001);
    assert_int_equal(d[1000], '!');
    assert_int_equal(d[1001], '\0');
    assert_int_equal(b.len, 0);
    free(d);
    d = st_buf_detach(&b, NULL);
    assert_string_equal(d, "");
    free(d);
}

static void test_grow_doubles_up_to_the_maximum(void **state)
{
    (void)state;
    size_t cap = 0;
    int *a = st_grow(NULL, &cap, 1, sizeof *a, 4, 10);
    assert_non_null(a);
    assert_int_equal(cap, 4);
    assert_ptr_equal(st_grow(a, &cap, 4, sizeof *a, 4, 10), a);
    a = st_grow(a, &cap, 5, sizeof *a, 4, 10);
    assert_int_equal(cap, 8);
    a = st_grow(a, &cap, 9, sizeof *a, 4, 10);
    assert_int_equal(cap, 10);
    assert_null(st_grow(a, &cap, 11, sizeof *a, 4, 10));
    assert_int_equal(cap, 10);
    assert_null(st_grow(a, &cap, SIZE_MAX, 16, 4, SIZE_MAX));
    free(a);
}

static void test_json_string_styles(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 0);
    st_buf_add_json_string(&b, "a\"\\\n\x01\xe9", 6, ST_JSON_UTF8);
    assert_string_equal(b.data, "\"a\\\"\\\\\\n\\u0001\xc3\xa9\"");
    st_buf_reset(&b);
    st_buf_add_json_string(&b, "a\"\\\n\x01\xe9\x7f", 7, ST_JSON_ASCII);
    assert_string_equal(b.data, "\"a\\\"\\\\\\u000a\\u0001\\u00e9\\u007f\"");
    st_buf_release(&b);
}

static void test_parse_numbers(void **state)
{
    (void)state;
    uint64_t u;
    int64_t i;
    double d;
    assert_int_equal(st_parse_u64("42", &u, 0), 0);
    assert_int_equal(u, 42);
    assert_int_equal(st_parse_u64("16M", &u, 1), 0);
    assert_int_equal(u, 16u << 20);
    assert_int_equal(st_parse_u64("2Gi", &u, 1), 0);
    assert_int_equal(u, 2ull << 30);
    assert_int_equal(st_parse_u64("1k", &u, 1), 0);
    assert_int_equal(u, 1024);
    assert_int_equal(st_parse_u64("16M", &u, 0), -1);
    assert_int_equal(st_parse_u64("1T", &u, 1), -1);
    assert_int_equal(st_parse_u64("-1", &u, 0), -1);
    assert_int_equal(st_parse_u64("", &u, 0), -1);
    assert_int_equal(st_parse_u64("18446744073709551615", &u, 0), 0);
    assert_int_equal(u, UINT64_MAX);
    assert_int_equal(st_parse_u64("18446744073709551616", &u, 0), -1);
    assert_int_equal(st_parse_u64("17179869184G", &u, 1), -1);
    assert_int_equal(st_parse_u64_n("12..", 2, &u), 0);
    assert_int_equal(u, 12);
    assert_int_equal(st_parse_i64("-7", &i), 0);
    assert_int_equal(i, -7);
    assert_int_equal(st_parse_i64("7x", &i), -1);
    assert_int_equal(st_parse_seconds("2.5", &d), 0);
    assert_true(d == 2.5);
    assert_int_equal(st_parse_seconds("0", &d), -1);
    assert_int_equal(st_parse_seconds("nan", &d), -1);
}

static void test_little_endian_round_trips(void **state)
{
    (void)state;
    uint8_t b[8];
    st_le64_put(b, 0x0102030405060708ull);
    assert_int_equal(b[0], 0x08);
    assert_int_equal(b[7], 0x01);
    assert_true(st_le64_get(b) == 0x0102030405060708ull);
    st_le32_put(b, 0xa1b2c3d4u);
    assert_int_equal(b[0], 0xd4);
    assert_int_equal(st_le32_get(b), 0xa1b2c3d4u);
    st_le16_put(b, 0xbeef);
    assert_int_equal(st_le16_get(b), 0xbeef);
}

static void test_write_all_writes_everything_or_says_why(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(st_write_all(p[1], "hello", 5), 0);
    char got[8] = { 0 };
    assert_int_equal(read(p[0], got, sizeof got), 5);
    assert_string_equal(got, "hello");
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    assert_true(st_write_all(p[1], "x", 1) < 0);
    close(p[1]);
    assert_true(st_clock_ns() > 0);
    assert_true(st_clock_seconds() > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_never_grows_past_its_maximum),
        cmocka_unit_test(test_buf_detach_hands_over_the_data),
        cmocka_unit_test(test_grow_doubles_up_to_the_maximum),
        cmocka_unit_test(test_json_string_styles),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_little_endian_round_trips),
        cmocka_unit_test(test_write_all_writes_everything_or_says_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
