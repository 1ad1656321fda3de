/* sandtrace index's command line (issue #16): the one option parser
 * (options after the traces, one error style, did-you-mean, a one-line
 * hint), the shared exit-code table (4 unreadable, 5 damaged, 6 output),
 * every output checked (>/dev/full), -q, and a database that is one of the
 * inputs refused before anything is written. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"

static char *dir;
static char hello[1024];

static int has(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static void in_dir(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s/%s", dir, name);
}

static struct tu_run st_args(const char *const *args)
{
    return tu_run_sandtrace(args, NULL);
}

static struct tu_run sh(const char *cmd)
{
    const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
    return tu_run(argv, NULL);
}

static void expect(const struct tu_run *r, int status, const char *err)
{
    if (r->status != status || (err && !has(r->err, err)))
        fail_msg("expected exit %d and '%s', got %d:\n%s%s", status, err ? err : "", r->status, r->out,
                 r->err);
}

static int group_setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    in_dir(hello, sizeof hello, "hello.sbt");
    struct tu_run r = st_args((const char *[]){ "record", "-o", hello, "--", tu_guest("hello"), NULL });
    int ok = r.status == 0;
    tu_run_release(&r);
    return ok ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rm_rf(dir);
    free(dir);
    return 0;
}

static void test_index_options_after_the_traces_and_one_error_style(void **state)
{
    (void)state;
    char db[1024];
    in_dir(db, sizeof db, "a.db");
    /* Options after the trace (refused before: getopt stopped at it). */
    struct tu_run r = st_args((const char *[]){ "index", hello, "-o", db, "-j", "1", NULL });
    expect(&r, 0, NULL);
    assert_string_equal(r.out, "sandtrace index: 1 trace: 1 indexed (2 calls), 0 already indexed, 0 damaged, "
                               "0 unreadable\n");
    tu_run_release(&r);
    r = st_args((const char *[]){ "index", "--jbos", "2", "-o", db, hello, NULL });
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "sandtrace index: unknown option '--jbos' (did you mean '--jobs'?)\n"
                               "Try 'sandtrace index --help' for more information.\n");
    tu_run_release(&r);
    /* A usage error is one message and the hint, never the whole help. */
    r = st_args((const char *[]){ "index", hello, NULL });
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "sandtrace index: no database given (-o DB)\n"
                               "Try 'sandtrace index --help' for more information.\n");
    tu_run_release(&r);
    r = st_args((const char *[]){ "index", "-o", db, "-s", hello, NULL });
    expect(&r, 2, "sandtrace index: option '-s' requires a number (not '");
    tu_run_release(&r);
    /* -q: no summary line. */
    r = st_args((const char *[]){ "index", "-q", "-o", db, hello, NULL });
    expect(&r, 0, NULL);
    assert_string_equal(r.out, "");
    tu_run_release(&r);
    /* --help lists the codes, and says what -j is. */
    r = st_args((const char *[]){ "index", "--help", NULL });
    expect(&r, 0, NULL);
    assert_true(has(r.out, "-j means jobs"));
    static const char *const codes[] = { "\n  0 ", "\n  2 ", "\n  4 ", "\n  5 ", "\n  6 " };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (!has(r.out, codes[i]))
            fail_msg("index --help does not list exit status '%s'", codes[i] + 3);
    tu_run_release(&r);
}

static void test_index_exit_codes_follow_the_table(void **state)
{
    (void)state;
    char db[1024], cmd[4096], bad[1024];
    in_dir(db, sizeof db, "b.db");
    struct tu_run r = st_args((const char *[]){ "index", "-o", db, "nothere.sbt", NULL });
    expect(&r, 4, "sandtrace index: cannot read trace 'nothere.sbt': No such file or directory\n");
    tu_run_release(&r);
    /* A header with a flipped byte is a damaged trace: 5 (was 4). */
    in_dir(bad, sizeof bad, "flipped.sbt");
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf X | dd of='%s' bs=1 seek=40 conv=notrunc 2>/dev/null",
             hello, bad, bad);
    r = sh(cmd);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    r = st_args((const char *[]){ "index", "-o", db, bad, NULL });
    expect(&r, 5, "': file header checksum mismatch at offset 0\n");
    tu_run_release(&r);
    /* A missing shard is an unreadable input (4), and is not created. */
    char shard[1024];
    in_dir(shard, sizeof shard, "none.db");
    r = st_args((const char *[]){ "index", "--merge", "-o", db, shard, NULL });
    expect(&r, 4, "sandtrace index: cannot open database '");
    assert_true(has(r.err, "none.db': No such file or directory\n"));
    assert_int_not_equal(access(shard, F_OK), 0);
    tu_run_release(&r);
}

static void test_index_output_to_a_full_device_is_6(void **state)
{
    (void)state;
    char db[1024], cmd[4096];
    in_dir(db, sizeof db, "c.db");
    snprintf(cmd, sizeof cmd, "'%s' index -o '%s' '%s' >/dev/full", tu_sandtrace(), db, hello);
    struct tu_run r = sh(cmd);
    expect(&r, 6, "sandtrace index: cannot write to standard output: No space left on device\n");
    tu_run_release(&r);
    snprintf(cmd, sizeof cmd, "'%s' index --merge -o '%s/d.db' '%s' >/dev/full", tu_sandtrace(), dir, db);
    r = sh(cmd);
    expect(&r, 6, "cannot write to standard output");
    tu_run_release(&r);
    snprintf(cmd, sizeof cmd, "'%s' index --help >/dev/full", tu_sandtrace());
    r = sh(cmd);
    assert_int_equal(r.status, 6);
    tu_run_release(&r);
}

static void test_index_never_writes_into_one_of_its_traces(void **state)
{
    (void)state;
    char copy[1024], cmd[4096];
    in_dir(copy, sizeof copy, "copy.sbt");
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", hello, copy);
    struct tu_run r = sh(cmd);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    struct stat before, after;
    assert_int_equal(stat(copy, &before), 0);
    r = st_args((const char *[]){ "index", "-o", copy, copy, NULL });
    expect(&r, 2, "sandtrace index: the database '");
    assert_true(has(r.err, "': refusing to write into it\n"));
    tu_run_release(&r);
    assert_int_equal(stat(copy, &after), 0);
    assert_int_equal(before.st_size, after.st_size);
    assert_int_equal(before.st_mtime, after.st_mtime);
    r = st_args((const char *[]){ "verify", copy, NULL });
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_options_after_the_traces_and_one_error_style),
        cmocka_unit_test(test_index_exit_codes_follow_the_table),
        cmocka_unit_test(test_index_output_to_a_full_device_is_6),
        cmocka_unit_test(test_index_never_writes_into_one_of_its_traces),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
