/* The "done when": a plugin built out of tree, against the headers
 * `make install` put in a staging tree and `pkg-config sandtrace` found
 * there, answers open of a virtual path with computed contents, under the
 * installed sandtrace, with a C test guest and under the real PyPys when
 * PYPY_SANDBOX / PYPY3_SANDBOX are set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <cmocka.h>

#include "tests/testutil.h"

static char *stage;     /* DESTDIR */
static char plugin[4200];
static char installed[4200];

static struct tu_run sh(const char *script)
{
    const char *argv[] = { "/bin/sh", "-c", script, NULL };
    return tu_run(argv, NULL);
}

static int setup(void **state)
{
    (void)state;
    stage = tu_mkdtemp();
    /* The make that runs the tests must not lend this one its jobs. */
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    char cmd[16384];
    snprintf(cmd, sizeof cmd,
             "make -s -C '%s' BUILD='%s' PREFIX=/usr DESTDIR='%s' install >'%s/install.log' 2>&1 &&"
             " mkdir '%s/src' && cp '%s/examples/plugins/virtual_file.c' '%s/src/' && cd '%s/src' &&"
             " cc -std=c11 -Wall -Werror -shared -fPIC"
             " $(PKG_CONFIG_PATH='%s/usr/lib/pkgconfig' pkg-config --define-prefix --cflags sandtrace)"
             " -o virtual_file.so virtual_file.c",
             ST_SOURCE_DIR, ST_BUILD_DIR, stage, stage, stage, ST_SOURCE_DIR, stage, stage, stage);
    struct tu_run r = sh(cmd);
    if (r.status != 0) {
        fprintf(stderr, "install or out-of-tree build failed (%d):\n%s%s\n", r.status, r.out, r.err);
        tu_run_release(&r);
        return -1;
    }
    tu_run_release(&r);
    snprintf(plugin, sizeof plugin, "%s/src/virtual_file.so", stage);
    snprintf(installed, sizeof installed, "%s/usr/bin/sandtrace", stage);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(stage);
    free(stage);
    return 0;
}

static void test_install_has_the_handler_header_and_pkg_config_points_at_it(void **state)
{
    (void)state;
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "test -f '%s/usr/include/sandtrace/controller/handler.h' &&"
             " PKG_CONFIG_PATH='%s/usr/lib/pkgconfig' pkg-config --define-prefix --cflags sandtrace",
             stage, stage);
    struct tu_run r = sh(cmd);
    assert_int_equal(r.status, 0);
    char want[4200];
    snprintf(want, sizeof want, "-I%s/usr/include/sandtrace", stage);
    if (!strstr(r.out, want))
        fail_msg("pkg-config said '%s', expected '%s'", r.out, want);
    tu_run_release(&r);
}

static void test_out_of_tree_plugin_answers_open_of_a_virtual_path(void **state)
{
    (void)state;
    char spec[4300];
    snprintf(spec, sizeof spec, "%s:/virtual/time.txt", plugin);
    const char *argv[] = { installed, "run", "--quiet", "--plugin", spec, "--",
                           tu_build_path("testguests/fsops"), "cat", "/virtual/time.txt",
                           "cat", "/virtual/time.txt", NULL };
    struct tu_run r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, "cat /virtual/time.txt: open #1 of /virtual/time.txt\n\n"
                       "cat /virtual/time.txt: open #2 of /virtual/time.txt\n"))
        fail_msg("output:\n%s\nstderr:\n%s", r.out, r.err);
    tu_run_release(&r);
}

static void pypy(const char *env)
{
    const char *exe = getenv(env);
    if (!exe || !*exe) {
        fprintf(stderr, "skipped: %s is not set (no real PyPy)\n", env);
        skip();
    }
    char lib[4096];
    snprintf(lib, sizeof lib, "%s", exe);
    char *dir = dirname(dirname(lib));
    char spec[4300];
    snprintf(spec, sizeof spec, "%s:/virtual/time.txt", plugin);
    const char *argv[] = { installed, "run", "--quiet", "--lib-path", dir, "--plugin", spec, "--", exe,
                           "-S", "-c",
                           "f = open('/virtual/time.txt'); print(f.read().strip()); f.close()\n"
                           "print(open('/virtual/time.txt').read().strip())\n",
                           NULL };
    struct tu_run r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    if (strcmp(r.out, "open #1 of /virtual/time.txt\nopen #2 of /virtual/time.txt\n") != 0)
        fail_msg("output:\n%s\nstderr:\n%s", r.out, r.err);
    tu_run_release(&r);
}

static void test_out_of_tree_plugin_under_real_pypy2(void **state)
{
    (void)state;
    pypy("PYPY_SANDBOX");
}

static void test_out_of_tree_plugin_under_real_pypy3(void **state)
{
    (void)state;
    pypy("PYPY3_SANDBOX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_has_the_handler_header_and_pkg_config_points_at_it),
        cmocka_unit_test(test_out_of_tree_plugin_answers_open_of_a_virtual_path),
        cmocka_unit_test(test_out_of_tree_plugin_under_real_pypy2),
        cmocka_unit_test(test_out_of_tree_plugin_under_real_pypy3),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
