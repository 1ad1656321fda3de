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
#include <termios.h>

#include "tests/testutil.h"
#include "tools/commands.h"

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

/* Runs `sandtrace run ARGS` with its stdout and stderr on one pseudo-terminal
 * (raw mode: no '\r' added), `in` on a pipe, and `env_add` ("NO_COLOR=1",
 * or NULL) in its environment (NO_COLOR otherwise unset). What the terminal
 * got is in r.out. */
static struct tu_run run_on_tty(const char *const *args, const char *in, const char *env_add)
{
    struct tu_run r = { 0 };
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    struct termios tio;
    assert_int_equal(tcgetattr(slave, &tio), 0);
    cfmakeraw(&tio);
    assert_int_equal(tcsetattr(slave, TCSANOW, &tio), 0);
    int pin[2];
    assert_int_equal(pipe(pin), 0);
    if (in)
        assert_int_equal(write(pin[1], in, strlen(in)), (ssize_t)strlen(in));
    close(pin[1]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(slave, 1);
        dup2(slave, 2);
        close(master);
        unsetenv("NO_COLOR");
        if (env_add)
            putenv((char *)env_add);
        const char *argv[64] = { "sandtrace", "run" };
        for (size_t i = 0; args[i] && i < 60; i++)
            argv[i + 2] = args[i];
        execv(tu_sandtrace(), (char **)argv);
        _exit(127);
    }
    close(pin[0]);
    close(slave);
    char buf[4096];
    size_t len = 0;
    r.out = calloc(1, 1);
    for (;;) {
        ssize_t k = read(master, buf, sizeof buf);
        if (k <= 0)
            break; /* EIO once the last writer closed the terminal */
        r.out = realloc(r.out, len + (size_t)k + 1);
        memcpy(r.out + len, buf, (size_t)k);
        len += (size_t)k;
        r.out[len] = '\0';
    }
    close(master);
    int st;
    waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.err = calloc(1, 1);
    return r;
}

static void test_run_output_is_sanitized_only_on_a_terminal(void **state)
{
    (void)state;
    /* Into a pipe, the guest's bytes pass as they are: UTF-8 text and
     * control characters alike. */
    struct tu_run r = run_in((const char *[]){ "--", tu_guest("echo-stdin"), NULL }, "caf\xc3\xa9\n");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "caf\xc3\xa9\n");
    tu_run_release(&r);
    const char in[] = "ok\x01\x1b[31m\xc3\xa9 \xe2\x98\x83 \xff\xc2\x9b\xc3\tend\n";
    r = run_in((const char *[]){ "--", tu_guest("echo-stdin"), NULL }, in);
    assert_string_equal(r.out, in);
    tu_run_release(&r);
    /* On a terminal, control characters and bytes that are not UTF-8
     * become '?' (a C1 control, U+009B, too: terminals obey it as CSI);
     * UTF-8 text passes. */
    r = run_on_tty((const char *[]){ "--color=never", "--", tu_guest("echo-stdin"), NULL }, in, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "ok??[31m\xc3\xa9 \xe2\x98\x83 ????\tend\n");
    tu_run_release(&r);
    r = run_on_tty((const char *[]){ "--nocolor", "--raw-stdout", "--", tu_guest("echo-stdin"),
                                     NULL },
                   in, NULL);
    assert_string_equal(r.out, in);
    tu_run_release(&r);
}

static void test_run_color_follows_when_and_no_color(void **state)
{
    (void)state;
    static const char green_red[] = "\033[32mhello from the sandbox\n\033[0m"
                                    "\033[31mhello: this line goes to stderr\n\033[0m";
    static const char plain[] = "hello from the sandbox\nhello: this line goes to stderr\n";
    /* --color (always) colours a pipe too: green stdout, red stderr. */
    struct tu_run r = run_in((const char *[]){ "--color", "--", tu_guest("hello"), NULL }, NULL);
    assert_string_equal(r.out, "\033[32mhello from the sandbox\n\033[0m");
    assert_string_equal(r.err, "\033[31mhello: this line goes to stderr\n\033[0m");
    tu_run_release(&r);
    r = run_in((const char *[]){ "--color=always", "--", tu_guest("hello"), NULL }, NULL);
    assert_string_equal(r.out, "\033[32mhello from the sandbox\n\033[0m");
    tu_run_release(&r);
    /* auto (the default): on a terminal only, and not under NO_COLOR. */
    r = run_in((const char *[]){ "--", tu_guest("hello"), NULL }, NULL);
    assert_string_equal(r.out, "hello from the sandbox\n");
    tu_run_release(&r);
    r = run_on_tty((const char *[]){ "--", tu_guest("hello"), NULL }, NULL, NULL);
    assert_string_equal(r.out, green_red);
    tu_run_release(&r);
    r = run_on_tty((const char *[]){ "--color=auto", "--", tu_guest("hello"), NULL }, NULL,
                   "NO_COLOR=1");
    assert_string_equal(r.out, plain);
    tu_run_release(&r);
    r = run_on_tty((const char *[]){ "--color=never", "--", tu_guest("hello"), NULL }, NULL, NULL);
    assert_string_equal(r.out, plain);
    tu_run_release(&r);
    /* --color=always wins over NO_COLOR. */
    r = run_on_tty((const char *[]){ "--color=always", "--", tu_guest("hello"), NULL }, NULL,
                   "NO_COLOR=1");
    assert_string_equal(r.out, green_red);
    tu_run_release(&r);
    r = run_in((const char *[]){ "--color=sometimes", "--", tu_guest("hello"), NULL }, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "sandtrace run: option '--color': bad value 'sometimes' (valid: "
                               "auto, always, never)\nTry 'sandtrace run --help' for more "
                               "information.\n");
    tu_run_release(&r);
}

static void test_run_guest_real_stderr_is_sanitized_on_a_terminal_too(void **state)
{
    (void)state;
    struct tu_run r = run_on_tty((const char *[]){ "--nocolor", "--", tguest(), "stderr-esc", NULL },
                                 NULL, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "?[2Jx\n");
    tu_run_release(&r);
    r = run_on_tty((const char *[]){ "--nocolor", "--raw-stderr", "--", tguest(), "stderr-esc",
                                     NULL },
                   NULL, NULL);
    assert_string_equal(r.out, "\033[2Jx\n");
    tu_run_release(&r);
    /* Into a pipe, or into a file, the bytes as they are. */
    r = run_in((const char *[]){ "--", tguest(), "stderr-esc", NULL }, NULL);
    assert_string_equal(r.err, "\033[2Jx\n");
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
    assert_int_equal(r.status, ST_EXIT_OUTPUT_LIMIT);
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
    assert_int_equal(WEXITSTATUS(st), ST_EXIT_TIMEOUT);
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
        cmocka_unit_test(test_run_output_is_sanitized_only_on_a_terminal),
        cmocka_unit_test(test_run_color_follows_when_and_no_color),
        cmocka_unit_test(test_run_guest_real_stderr_is_sanitized_on_a_terminal_too),
        cmocka_unit_test(test_run_stdout_and_stderr_into_files),
        cmocka_unit_test(test_run_max_output_truncates_with_a_marker),
        cmocka_unit_test(test_run_large_output_passes_whole),
        cmocka_unit_test(test_run_timeout_holds_while_nobody_reads_stdout),
        cmocka_unit_test(test_run_uname_and_refusals_as_the_guest_sees_them),
        cmocka_unit_test(test_run_null_out_pointers_are_efault_not_a_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
