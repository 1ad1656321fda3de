/* tools/run_outcome.c: the exit code and the --outcome JSON of a run, from
 * the library's outcome (the library itself knows no exit code). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tools/run_outcome.c"

static void test_run_outcome_exit_codes_follow_the_one_table(void **state)
{
    (void)state;
    struct st_outcome o;
    memset(&o, 0, sizeof o);
    o.exit_code = -1;
    static const struct { enum st_status st; int code; const char *name; } map[] = {
        { ST_STATUS_TIMEOUT, ST_EXIT_TIMEOUT, "timeout" }, { ST_STATUS_CPU, 72, "cpu" },
        { ST_STATUS_MEMORY, 73, "memory" }, { ST_STATUS_OUTPUT, ST_EXIT_OUTPUT_LIMIT, "output" },
        { ST_STATUS_MAX_CALLS, 75, "max-calls" }, { ST_STATUS_VIOLATION, 76, "violation" },
        { ST_STATUS_UNKNOWN_CALL, 77, "unknown-call" }, { ST_STATUS_SECCOMP, 78, "seccomp" },
        { ST_STATUS_HANDLER, 79, "handler" }, { ST_STATUS_TRACE_LIMIT, 80, "trace-limit" },
        { ST_STATUS_ERROR, ST_EXIT_ERROR, "error" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        o.status = map[i].st;
        assert_int_equal(run_outcome_exit_code(&o), map[i].code);
        assert_string_equal(st_status_name(map[i].st), map[i].name);
    }
    o.status = ST_STATUS_EXITED;
    o.exit_code = 42;
    assert_int_equal(run_outcome_exit_code(&o), 42);
    o.status = ST_STATUS_SIGNALED;
    o.exit_code = -1;
    o.signal = 11;
    assert_int_equal(run_outcome_exit_code(&o), 139);
    /* An interrupted run is 128 + the signal that interrupted it. */
    o.status = ST_STATUS_INTERRUPTED;
    o.signal = 2;
    assert_int_equal(run_outcome_exit_code(&o), 130);
    assert_string_equal(st_status_name(o.status), "interrupted");
}

static void test_run_outcome_status_and_limit_have_the_same_name(void **state)
{
    (void)state;
    for (int st = 0; st <= ST_STATUS_INTERRUPTED; st++) {
        int limit = st_status_limit((enum st_status)st);
        if (limit >= 0)
            assert_string_equal(st_limit_name((enum st_limit)limit),
                                st_status_name((enum st_status)st));
    }
    assert_int_equal(st_status_limit(ST_STATUS_MAX_CALLS), ST_LIMIT_CALLS);
    assert_string_equal(st_limit_name(ST_LIMIT_CALLS), "max-calls");
    assert_string_equal(st_limit_name(ST_LIMIT_TRACE), "trace-limit");
    /* Traces recorded before keep their meaning. */
    assert_int_equal(st_limit_by_name("calls"), ST_LIMIT_CALLS);
    assert_int_equal(st_limit_by_name("trace"), ST_LIMIT_TRACE);
    assert_int_equal(st_limit_by_name("max-calls"), ST_LIMIT_CALLS);
    assert_int_equal(st_limit_by_name("interrupted"), ST_LIMIT_INTERRUPT);
}

static void test_run_outcome_json_has_a_schema_version_and_nulls(void **state)
{
    (void)state;
    struct st_outcome o;
    memset(&o, 0, sizeof o);
    o.status = ST_STATUS_SIGNALED;
    o.signal = 11;
    o.exit_code = -1;
    snprintf(o.reason, sizeof o.reason, "killed by \"signal\" 11\n");
    char json[2048];
    int n = run_outcome_to_json(&o, json, sizeof json);
    assert_int_equal(n, (int)strlen(json));
    assert_int_equal(strncmp(json, "{\"schema_version\":1,\"status\":\"signaled\"", 39), 0);
    assert_non_null(strstr(json, "\"reason\":\"killed by \\\"signal\\\" 11\\u000a\""));
    assert_non_null(strstr(json, "\"exit_status\":139,\"exit_code\":null,\"signal\":11"));
    assert_non_null(strstr(json, "\"limit\":null"));
    /* What does not exist is null, never omitted. */
    assert_non_null(strstr(json, "\"memory_access\":null,\"cpu\":null"));
    assert_non_null(strstr(json, "\"jail_layers\":null}"));
    /* A short buffer is cut and terminated; the needed length is returned. */
    char small[16];
    assert_int_equal(run_outcome_to_json(&o, small, sizeof small), n);
    assert_int_equal(strlen(small), 15);
    o.status = ST_STATUS_MAX_CALLS;
    o.signal = 0;
    run_outcome_to_json(&o, json, sizeof json);
    assert_non_null(strstr(json, "\"status\":\"max-calls\""));
    assert_non_null(strstr(json, "\"limit\":\"max-calls\""));
    assert_non_null(strstr(json, "\"signal\":null"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_outcome_exit_codes_follow_the_one_table),
        cmocka_unit_test(test_run_outcome_status_and_limit_have_the_same_name),
        cmocka_unit_test(test_run_outcome_json_has_a_schema_version_and_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
