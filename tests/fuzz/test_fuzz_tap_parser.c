/* Regression tests for what fuzz_tap_parser found: the inputs that failed,
 * run through the fuzz target itself (its checks abort on a wrong event
 * order), and the fixed behaviour through the public API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_tap_parser_one
#include "tests/fuzz/fuzz_tap_parser.c"
#undef LLVMFuzzerTestOneInput

struct count_violations {
    int n;
    size_t last_len;
};

static void count_violation(void *ctx, const char *what, const void *raw, size_t len)
{
    struct count_violations *c = ctx;
    c->n++;
    c->last_len = len;
}

/* Found by the fuzzer: a parser whose controller queue never held a byte
 * computed NULL + 0 (undefined behaviour) when it reported a violation. */
static void test_violation_with_an_empty_other_queue_is_defined(void **state)
{
    (void)state;
    static const uint8_t crash[] = { 0x00, 0x01, 0x00, 0x00 };
    assert_int_equal(fuzz_tap_parser_one(crash, sizeof crash), 0);

    struct count_violations cv = { 0, 0 };
    struct st_observer obs = { .ctx = &cv, .on_violation = count_violation };
    struct st_tap_parser *p = NULL;
    assert_int_equal(st_tap_parser_new(&p, &obs), 0);
    static const uint8_t zero = 0;
    st_tap_parser_feed_guest(p, &zero, 1);   /* a zero-length request */
    st_tap_parser_feed_controller(p, NULL, 0);
    st_tap_parser_finish(p);
    assert_true(st_tap_parser_failed(p));
    assert_int_equal(cv.n, 1);
    assert_int_equal(cv.last_len, 1);
    st_tap_parser_free(p);
}

/* Empty feeds on both sides, before and after a request, change nothing. */
static void test_empty_feeds_are_no_input(void **state)
{
    (void)state;
    struct count_violations cv = { 0, 0 };
    struct st_observer obs = { .ctx = &cv, .on_violation = count_violation };
    struct st_tap_parser *p = NULL;
    assert_int_equal(st_tap_parser_new(&p, &obs), 0);
    st_tap_parser_feed_guest(p, NULL, 0);
    st_tap_parser_feed_controller(p, NULL, 0);
    static const uint8_t req[] = { 9, 'g', 'e', 't', 'p', 'i', 'd', '(', ')', 'i' };
    st_tap_parser_feed_guest(p, req, sizeof req);
    st_tap_parser_feed_guest(p, NULL, 0);
    static const uint8_t res[] = { 'i', 1, 0, 0, 0, 0, 0, 0, 0 };
    st_tap_parser_feed_controller(p, res, sizeof res);
    st_tap_parser_finish(p);
    assert_false(st_tap_parser_failed(p));
    assert_int_equal(cv.n, 0);
    struct st_tap_counts c;
    st_tap_parser_counts(p, &c);
    assert_int_equal(c.requests, 1);
    assert_int_equal(c.results, 1);
    st_tap_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_violation_with_an_empty_other_queue_is_defined),
        cmocka_unit_test(test_empty_feeds_are_no_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
