/* A real sandbox-2 PyPy under `sandtrace run`: each test runs against pypy2
 * (PYPY_SANDBOX) and pypy3 (PYPY3_SANDBOX), which `make test` points at the
 * builds it unpacked; tests/pypy_env.h finds each one's library tree. A test
 * skips, saying so, when its build's variable is unset. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/pypy_env.h"

/* sandtrace run --lib-path LIB [extra...] -- PYPY -S -c CODE */
static struct tu_run run_py(const struct tu_pypy *py, const char *code, const char *extra1,
                            const char *extra2)
{
    const char *argv[16];
    size_t n = 0;
    argv[n++] = "run";
    argv[n++] = "--timeout";
    argv[n++] = "120";
    argv[n++] = "--lib-path";
    argv[n++] = py->lib;
    if (extra1)
        argv[n++] = extra1;
    if (extra2)
        argv[n++] = extra2;
    argv[n++] = "--";
    argv[n++] = py->exe;
    argv[n++] = "-S";
    argv[n++] = "-c";
    argv[n++] = code;
    argv[n] = NULL;
    return tu_run_sandtrace(argv, NULL);
}

static void test_pypy_prints_42(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    struct tu_run r = run_py(py, "print(6*7)", NULL, NULL);
    if (r.status != 0)
        fail_msg("status %d, stderr: %s", r.status, r.err);
    assert_string_equal(r.out, "42\n");
    tu_run_release(&r);
}

static void test_pypy_lists_the_virtual_root(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    struct tu_run r = run_py(py, "import os; print(sorted(os.listdir('/')))", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "'lib'"));
    assert_non_null(strstr(r.out, "'tmp'"));
    tu_run_release(&r);
}

static void test_pypy_runs_a_regular_expression(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    struct tu_run r = run_py(py, "import re; print(re.sub('a+', '-', 'caaatbaad'))", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "c-tb-d\n");
    tu_run_release(&r);
}

static void test_pypy_imports_from_lib_python(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    struct tu_run r = run_py(py, "import textwrap; print(textwrap.dedent('  x'))", NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "x\n");
    tu_run_release(&r);
}

static void test_pypy_reads_a_file_from_tmp(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    char *dir = tu_mkdtemp();
    tu_write_file(dir, "data.txt", "sandboxed data\n", 15);
    struct tu_run r = run_py(py, "print(open('/tmp/data.txt').read().strip())", "--tmp", dir);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "sandboxed data\n");
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_pypy_exit_code_propagates(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    struct tu_run r = run_py(py, "import sys; sys.exit(3)", NULL, NULL);
    assert_int_equal(r.status, 3);
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TU_PYPY_TESTS(test_pypy_prints_42),
        TU_PYPY_TESTS(test_pypy_lists_the_virtual_root),
        TU_PYPY_TESTS(test_pypy_runs_a_regular_expression),
        TU_PYPY_TESTS(test_pypy_imports_from_lib_python),
        TU_PYPY_TESTS(test_pypy_reads_a_file_from_tmp),
        TU_PYPY_TESTS(test_pypy_exit_code_propagates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
