/* The `sandtrace` front end: dispatch, help and exit codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "tests/testutil.h"

static void test_cli_version_prints_version(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "--version", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "sandtrace " SANDTRACE_VERSION));
    tu_run_release(&r);
}

static void test_cli_unknown_command_is_usage_error(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "frobnicate", NULL }, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "unknown command 'frobnicate'"));
    tu_run_release(&r);
}

static void test_cli_command_typo_gets_a_suggestion(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "dupm", "t.sbt", NULL }, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "sandtrace: unknown command 'dupm' (did you mean 'dump'?)\n"));
    assert_non_null(strstr(r.err, "Try 'sandtrace help'"));
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "help", "reocrd", NULL }, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "(did you mean 'record'?)"));
    tu_run_release(&r);
}

static void test_cli_help_lists_every_command(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "help", NULL }, NULL);
    assert_int_equal(r.status, 0);
    static const char *const names[] = { "run", "record", "tap", "replay", "check", "dump",
                                         "stats", "diff", "export", "verify", "info" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char want[32];
        snprintf(want, sizeof want, "\n  %s ", names[i]);
        if (!strstr(r.out, want))
            fail_msg("help does not list '%s'", names[i]);
    }
    tu_run_release(&r);
}

static void test_cli_no_arguments_is_usage_error(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ NULL }, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "usage: sandtrace"));
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_version_prints_version),
        cmocka_unit_test(test_cli_unknown_command_is_usage_error),
        cmocka_unit_test(test_cli_help_lists_every_command),
        cmocka_unit_test(test_cli_command_typo_gets_a_suggestion),
        cmocka_unit_test(test_cli_no_arguments_is_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
