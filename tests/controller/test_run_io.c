/* `sandtrace run` with the guest's standard streams: output passed through,
 * sanitized, raw, coloured or into files; the output limit; input from
 * stdin or a file; the environment and the clock as the guest prints them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/session.h"
#include "tests/testutil.h"

static const char *tguest(void)
{
    return tu_build_path("testguests/tguest");
}

static struct tu_run run_in(const char *const *args, const char *in)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "run";
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_run_sandtrace(argv, in);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    if (len)
        *len = n;
    return buf;
}

static void test_run_hello_passes_stdout_and_stderr_apart(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--", tu_guest("hello"), NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "hello from the sandbox\n");
    assert_string_equal(r.err, "hello: this line goes to stderr\n");
    tu_run_release(&r);
}

static void test_run_clock_shows_virtual_time_and_pid(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--", tu_guest("clock"), NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "time: 1564617600 (stored 1564617600)"));
    assert_non_null(strstr(r.out, "gettimeofday: 1564617600.000000"));
    assert_non_null(strstr(r.out, "clock_gettime realtime: 1564617600.000000000"));
    assert_non_null(strstr(r.out, "pid: 4200"));
    tu_run_release(&r);
    r = run_in((const char *[]){ "--time", "frozen:86400", "--pid", "77", "--", tu_guest("clock"), NULL }, NULL);
    assert_non_null(strstr(r.out, "time: 86400 "));
    assert_non_null(strstr(r.out, "pid: 77"));
    tu_run_release(&r);
}

static void test_run_env_entries_reach_getenv(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--env", "GREETING=hi there", "--", tguest(),
                                               "getenv", "GREETING", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "hi there\n");
    tu_run_release(&r);
    r = run_in((const char *[]){ "--env", "A=1", "--", tguest(), "getenv", "GREETING", NULL }, NULL);
    assert_string_equal(r.out, "(unset)\n");
    tu_run_release(&r);
    /* No --env: an empty environment, whatever the controller's own is. */
    r = run_in((const char *[]){ "--", tguest(), "environ", NULL }, NULL);
    assert_string_equal(r.out, "end\n");
    tu_run_release(&r);
    r = run_in((const char *[]){ "--env", "A=1", "--env", "B=2", "--env", "A=3", "--", tguest(), "environ", NULL }, NULL);
    assert_string_equal(r.out, "A=3\nB=2\nend\n");
    tu_run_release(&r);
}

static void test_run_echo_stdin_from_stdin_and_from_file(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--", tu_guest("echo-stdin"), NULL }, "line one\nline two\n");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "line one\nline two\n");
    tu_run_release(&r);
    char *dir = tu_mkdtemp();
    tu_write_file(dir, "in.txt", "from a file\n", 12);
    char path[4096];
    snprintf(path, sizeof path, "%s/in.txt", dir);
    r = run_in((const char *[]){ "--stdin", path, "--", tu_guest("echo-stdin"), NULL }, "ignored\n");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "from a file\n");
    tu_run_release(&r);
    /* An empty input is a clean EOF at once. */
    tu_write_file(dir, "empty", "", 0);
    snprintf(path, sizeof path, "%s/empty", dir);
    r = run_in((const char *[]){ "--stdin", path, "--", tu_guest("echo-stdin"), NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_output_is_sanitized_unless_raw(void **state)
{
    (void)state;
    /* echo-stdin copies bytes: control characters and bytes that are not
     * UTF-8 become '?' (a C1 control, U+009B, too: terminals obey it as
     * CSI); UTF-8 text passes. */
    const char in[] = "ok\x01\x1b[31m\xc3\xa9 \xe2\x98\x83 \xff\xc2\x9b\xc3\tend\n";
    struct tu_run r = run_in((const char *[]){ "--", tu_guest("echo-stdin"), NULL }, in);
    assert_string_equal(r.out, "ok??[31m\xc3\xa9 \xe2\x98\x83 ????\tend\n");
    tu_run_release(&r);
    r = run_in((const char *[]){ "--raw-stdout", "--", tu_guest("echo-stdin"), NULL }, in);
    assert_string_equal(r.out, in);
    tu_run_release(&r);
    /* --color wraps each write in green (stdout) or red (stderr). */
    r = run_in((const char *[]){ "--color", "--", tu_guest("hello"), NULL }, NULL);
    assert_string_equal(r.out, "\033[32mhello from the sandbox\n\033[0m");
    assert_string_equal(r.err, "\033[31mhello: this line goes to stderr\n\033[0m");
    tu_run_release(&r);
}

static void test_run_guest_real_stderr_is_sanitized_too(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--", tguest(), "stderr-esc", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "?[2Jx\n");
    tu_run_release(&r);
    char *dir = tu_mkdtemp();
    char err[4096];
    snprintf(err, sizeof err, "%s/err", dir);
    r = run_in((const char *[]){ "--stderr", err, "--", tguest(), "stderr-esc", NULL }, NULL);
    char *e = slurp(dir, "err", NULL);
    assert_string_equal(e, "\033[2Jx\n");
    free(e);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_stdout_and_stderr_into_files(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char out[4096], err[4096];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    struct tu_run r = run_in((const char *[]){ "--stdout", out, "--stderr", err, "--", tu_guest("hello"), NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    char *o = slurp(dir, "out", NULL), *e = slurp(dir, "err", NULL);
    assert_string_equal(o, "hello from the sandbox\n");
    assert_string_equal(e, "hello: this line goes to stderr\n");
    free(o);
    free(e);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_max_output_truncates_with_a_marker(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/outcome.json", dir);
    struct tu_run r = run_in((const char *[]){ "--max-output", "1000", "--outcome", path, "--",
                                               tguest(), "flood", "1000000", NULL }, NULL);
    assert_int_equal(r.status, ST_RUN_EXIT_OUTPUT);
    /* Exactly the limit's bytes, then the marker. */
    assert_true(r.out_len > 1000);
    for (size_t i = 0; i < 1000; i++)
        if (r.out[i] != 'x')
            fail_msg("byte %zu is '%c'", i, r.out[i]);
    assert_string_equal(r.out + 1000, "\n[sandtrace: output truncated at 1000 bytes]\n");
    assert_non_null(strstr(r.err, "output limit of 1000 bytes reached"));
    char *json = slurp(dir, "outcome.json", NULL);
    assert_non_null(strstr(json, "\"status\":\"output\""));
    assert_non_null(strstr(json, "\"output_bytes\":1000"));
    free(json);
    tu_run_release(&r);
    /* Under the limit nothing is cut. */
    r = run_in((const char *[]){ "--max-output", "1000", "--", tguest(), "flood", "1000", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 1000);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_large_output_passes_whole(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--", tguest(), "flood", "3000000", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 3000000);
    tu_run_release(&r);
}

/* sandtrace's own stdout is a pipe that nobody reads while the guest
 * floods its output: writing it must not outlive --timeout (issue #13,
 * hole 12). Before, the write blocked until the reader went away. The
 * bound of 10 s for a 1 s timeout only tells "ended" from "blocked". */
static void test_run_timeout_holds_while_nobody_reads_stdout(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/outcome.json", dir);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (dup2(p[1], 1) < 0 || null < 0 || dup2(null, 2) < 0)
            _exit(127);
        execl(tu_sandtrace(), "sandtrace", "run", "--timeout", "1", "--outcome", path, "--",
              tguest(), "flood", "1000000000", (char *)NULL);
        _exit(127);
    }
    close(p[1]); /* p[0] stays open and is never read */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int st = 0;
    pid_t w;
    for (;;) {
        w = waitpid(pid, &st, WNOHANG);
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (w != 0 || t.tv_sec - t0.tv_sec >= 10)
            break;
        nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
    }
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        close(p[0]);
        fail_msg("sandtrace still ran 10 s after its --timeout of 1 s, blocked writing to a pipe "
                 "nobody reads");
    }
    close(p[0]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), ST_RUN_EXIT_TIMEOUT);
    char *json = slurp(dir, "outcome.json", NULL);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"status\":\"timeout\""));
    free(json);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_uname_and_refusals_as_the_guest_sees_them(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--", tguest(), "uname", NULL }, NULL);
    assert_string_equal(r.out, "Linux sandbox x86_64\n");
    tu_run_release(&r);
    r = run_in((const char *[]){ "--debug", "--", tguest(), "refused", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "fork -1 Operation not permitted\n");
    assert_non_null(strstr(r.err, "refused 'fork()i' with EPERM"));
    tu_run_release(&r);
}

static void test_run_null_out_pointers_are_efault_not_a_crash(void **state)
{
    (void)state;
    struct tu_run r = run_in((const char *[]){ "--", tguest(), "nullout", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "uname(p)i -1 Bad address\n"
                               "getrusage(ip)i -1 Bad address\n"
                               "getgroups(ip)i -1 Bad address\n"
                               "clock_gettime(ip)i -1 Bad address\n");
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_hello_passes_stdout_and_stderr_apart),
        cmocka_unit_test(test_run_clock_shows_virtual_time_and_pid),
        cmocka_unit_test(test_run_env_entries_reach_getenv),
        cmocka_unit_test(test_run_echo_stdin_from_stdin_and_from_file),
        cmocka_unit_test(test_run_output_is_sanitized_unless_raw),
        cmocka_unit_test(test_run_guest_real_stderr_is_sanitized_too),
        cmocka_unit_test(test_run_stdout_and_stderr_into_files),
        cmocka_unit_test(test_run_max_output_truncates_with_a_marker),
        cmocka_unit_test(test_run_large_output_passes_whole),
        cmocka_unit_test(test_run_timeout_holds_while_nobody_reads_stdout),
        cmocka_unit_test(test_run_uname_and_refusals_as_the_guest_sees_them),
        cmocka_unit_test(test_run_null_out_pointers_are_efault_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
