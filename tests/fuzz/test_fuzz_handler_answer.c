/* The handler answer parser (controller/handler_proc.c) against the lines
 * fuzz_handler_answer is built to find: each through the fuzz target (its
 * checks abort on a broken invariant) and then for the exact verdict. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_handler_answer_one
#include "tests/fuzz/fuzz_handler_answer.c"
#undef LLVMFuzzerTestOneInput

static int verdict(const char *line, struct answer *a, char *why, size_t cap)
{
    assert_int_equal(fuzz_handler_answer_one((const uint8_t *)line, strlen(line)), 0);
    why[0] = '\0';
    return parse_answer(line, strlen(line), a, why, cap);
}

static void test_good_answers_parse(void **state)
{
    (void)state;
    struct answer a;
    char why[128];
    assert_int_equal(verdict("{\"result\": 3, \"errno\": \"ENOENT\"}", &a, why, sizeof why), 0);
    assert_true(a.has_result && a.result == 3 && a.err == ENOENT);
    assert_int_equal(verdict("{\"data\":\"aGk=\",\"note\":\"caf\\u00e9\"}", &a, why, sizeof why), 0);
    assert_int_equal(a.data_len, 4);
    assert_string_equal(a.note, "caf\xc3\xa9");
}

/* A NUL inside a key or a note would make "result\u0000x" the key
 * "result" here and something else to every other JSON reader: refused. */
static void test_escaped_nul_in_a_string_is_refused(void **state)
{
    (void)state;
    struct answer a;
    char why[128];
    assert_int_equal(verdict("{\"result\\u0000x\": 1}", &a, why, sizeof why), -1);
    assert_string_equal(why, "a NUL character in a string");
    assert_int_equal(verdict("{\"note\": \"a\\u0000b\"}", &a, why, sizeof why), -1);
    assert_string_equal(why, "a NUL character in a string");
}

static void test_hostile_lines_are_refused_with_a_reason(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "{", "{\"result\":", "{\"result\": 99999999999999999999}", "{\"errno\": 0}",
        "{\"errno\": 4096}", "{\"errno\": \"ENOTANERRNO\"}", "{\"result\": 1, \"result\": 2}",
        "{\"data\": \"abc", "{\"note\": \"\\u12\"}", "{\"default\": false}", "{\"x\": 1}",
        "{\"result\": 1} trailing", "{\"result\": 1e999}", "[1]", "{\"note\": \"\\q\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct answer a;
        char why[128];
        if (verdict(bad[i], &a, why, sizeof why) != -1)
            fail_msg("accepted: %s", bad[i]);
        if (!why[0])
            fail_msg("no reason for: %s", bad[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_answers_parse),
        cmocka_unit_test(test_escaped_nul_in_a_string_is_refused),
        cmocka_unit_test(test_hostile_lines_are_refused_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
