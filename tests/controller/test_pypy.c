/* A real pypy-c-sandbox under `sandtrace run` (PYPY_SANDBOX=/path/to/it; its
 * lib-python and lib_pypy are looked for beside it and up to two levels
 * above). Every test skips, saying so, when PYPY_SANDBOX is unset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"

static char lib_dir[4096];

/* The PyPy binary, or NULL (and a message) when the tests must skip. */
static const char *pypy(void)
{
    const char *exe = getenv("PYPY_SANDBOX");
    if (!exe || !*exe) {
        print_message("skipping: PYPY_SANDBOX is not set (no real pypy-c-sandbox on this machine)\n");
        return NULL;
    }
    if (!lib_dir[0]) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", exe);
        for (int up = 0; up < 3; up++) {
            char *slash = strrchr(dir, '/');
            if (!slash)
                break;
            *slash = '\0';
            char probe[4200];
            snprintf(probe, sizeof probe, "%s/lib-python", dir);
            if (access(probe, R_OK) == 0) {
                snprintf(lib_dir, sizeof lib_dir, "%s", dir);
                break;
            }
        }
        if (!lib_dir[0])
            fail_msg("no lib-python beside '%s' (nor up to two levels above)", exe);
    }
    return exe;
}

/* sandtrace run --lib-path LIB [extra...] -- PYPY -S -c CODE */
static struct tu_run run_py(const char *code, const char *extra1, const char *extra2)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = "run";
    argv[n++] = "--timeout";
    argv[n++] = "120";
    argv[n++] = "--lib-path";
    argv[n++] = lib_dir;
    if (extra1)
        argv[n++] = extra1;
    if (extra2)
        argv[n++] = extra2;
    argv[n++] = "--";
    argv[n++] = getenv("PYPY_SANDBOX");
    argv[n++] = "-S";
    argv[n++] = "-c";
    argv[n++] = code;
    argv[n] = NULL;
    return tu_run_sandtrace(argv, NULL);
}

#define NEED_PYPY()        \
    do {                   \
        if (!pypy()) {     \
            skip();        \
            return;        \
        }                  \
    } while (0)

static void test_pypy_prints_42(void **state)
{
    (void)state;
    NEED_PYPY();
    struct tu_run r = run_py("print(6*7)", NULL, NULL);
    if (r.status != 0)
        fail_msg("status %d, stderr: %s", r.status, r.err);
    assert_string_equal(r.out, "42\n");
    tu_run_release(&r);
}

static void test_pypy_lists_the_virtual_root(void **state)
{
    (void)state;
    NEED_PYPY();
    struct tu_run r = run_py("import os; print(sorted(os.listdir('/')))", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "'lib'"));
    assert_non_null(strstr(r.out, "'tmp'"));
    tu_run_release(&r);
}

static void test_pypy_runs_a_regular_expression(void **state)
{
    (void)state;
    NEED_PYPY();
    struct tu_run r = run_py("import re; print(re.sub('a+', '-', 'caaatbaad'))", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "c-tb-d\n");
    tu_run_release(&r);
}

static void test_pypy_imports_from_lib_python(void **state)
{
    (void)state;
    NEED_PYPY();
    struct tu_run r = run_py("import textwrap; print(textwrap.dedent('  x'))", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "x\n");
    tu_run_release(&r);
}

static void test_pypy_reads_a_file_from_tmp(void **state)
{
    (void)state;
    NEED_PYPY();
    char *dir = tu_mkdtemp();
    tu_write_file(dir, "data.txt", "sandboxed data\n", 15);
    struct tu_run r = run_py("print(open('/tmp/data.txt').read().strip())", "--tmp", dir);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "sandboxed data\n");
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_pypy_exit_code_propagates(void **state)
{
    (void)state;
    NEED_PYPY();
    struct tu_run r = run_py("import sys; sys.exit(3)", NULL, NULL);
    assert_int_equal(r.status, 3);
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pypy_prints_42),
        cmocka_unit_test(test_pypy_lists_the_virtual_root),
        cmocka_unit_test(test_pypy_runs_a_regular_expression),
        cmocka_unit_test(test_pypy_imports_from_lib_python),
        cmocka_unit_test(test_pypy_reads_a_file_from_tmp),
        cmocka_unit_test(test_pypy_exit_code_propagates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
