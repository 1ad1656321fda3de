/* sandtrace replay's command line (issue #16): the one option parser, the
 * exit-code table, the messages, --stop-at beyond the trace, the divergence
 * report's grammar and decoded calls, progress on a terminal, -q, every
 * output checked, and corpus mode's codes and summary.json. */
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

static char *dir;
static char hello[1024];  /* hello: 7 events */
static char pings[1024];  /* ping 50000: 100 004 events */
static char variant[1024]; /* tests/replayer/guests/variant-base printing /w/a.txt */

static const char *rp_guest(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tests/replayer/guests/%s", name);
    return tu_build_path(rel);
}

static struct tu_run st_args(const char *const *args)
{
    return tu_run_sandtrace(args, NULL);
}

/* `sandtrace ARGS >/dev/full`, through the shell. */
static struct tu_run st_full(const char *args)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s >/dev/full", tu_sandtrace(), args);
    const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
    return tu_run(sh, NULL);
}

static int has(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

static void in_dir(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s/%s", dir, name);
}

static int group_setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    in_dir(hello, sizeof hello, "hello.sbt");
    in_dir(pings, sizeof pings, "ping.sbt");
    struct tu_run r = st_args((const char *[]){ "record", "-o", hello, "--", tu_guest("hello"), NULL });
    if (r.status != 0)
        return -1;
    tu_run_release(&r);
    r = st_args((const char *[]){ "record", "-o", pings, "--", tu_guest("ping"), "50000", NULL });
    if (r.status != 0)
        return -1;
    tu_run_release(&r);
    char world[1024], mount[1100];
    in_dir(world, sizeof world, "world");
    mkdir(world, 0755);
    tu_write_file(world, "a.txt", "alpha\n", 6);
    snprintf(mount, sizeof mount, "/w=%s", world);
    in_dir(variant, sizeof variant, "variant.sbt");
    r = st_args((const char *[]){ "record", "-o", variant, "--mount", mount, "--", rp_guest("variant-base"),
                                  "/w/a.txt", NULL });
    if (r.status != 0)
        return -1;
    tu_run_release(&r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    tu_rm_rf(dir);
    free(dir);
    return 0;
}

static void expect(const struct tu_run *r, int status, const char *err)
{
    if (r->status != status || (err && !has(r->err, err)))
        fail_msg("expected exit %d and '%s', got %d:\n%s", status, err ? err : "", r->status, r->err);
}

/* ------------------------------------------------------------ parsing */

static void test_replay_options_anywhere_one_error_style_and_a_hint(void **state)
{
    (void)state;
    struct tu_run r = st_args((const char *[]){ "replay", hello, "--check", "-q", NULL });
    expect(&r, 0, NULL);
    assert_string_equal(r.err, ""); /* -q: no summary */
    tu_run_release(&r);
    r = st_args((const char *[]){ "replay", "--timout", "3", hello, NULL });
    expect(&r, 2, "sandtrace replay: unknown option '--timout' (did you mean '--timeout'?)\n"
                  "Try 'sandtrace replay --help' for more information.\n");
    assert_false(has(r.err, "usage:"));
    tu_run_release(&r);
    r = st_args((const char *[]){ "replay", hello, "--stop-at", NULL });
    expect(&r, 2, "sandtrace replay: option '--stop-at' requires a number\n");
    tu_run_release(&r);
    r = st_args((const char *[]){ "replay", "-j", "x", hello, NULL });
    expect(&r, 2, "sandtrace replay: option '-j' requires a number (not 'x')\n");
    tu_run_release(&r);
    r = st_args((const char *[]){ "replay", "--check", "-j", "0", hello, NULL });
    expect(&r, 2, "sandtrace replay: option '-j' needs a number of jobs from 1 to 256, not '0'\n");
    tu_run_release(&r);
    r = st_args((const char *[]){ "replay", NULL });
    assert_string_equal(r.err, "sandtrace replay: no trace given\n"
                               "Try 'sandtrace replay --help' for more information.\n");
    assert_int_equal(r.status, 2);
    tu_run_release(&r);
    /* -j is jobs for replay, and --help says so. */
    r = st_args((const char *[]){ "replay", "--help", NULL });
    expect(&r, 0, NULL);
    assert_true(has(r.out, "  -j, --jobs N "));
    assert_true(has(r.out, "-j means jobs"));
    tu_run_release(&r);
}

/* ------------------------------------------------------------ exit codes */

static void test_replay_missing_trace_is_4_with_the_system_s_words(void **state)
{
    (void)state;
    struct tu_run r = st_args((const char *[]){ "replay", "nothere.sbt", NULL });
    assert_int_equal(r.status, 4);
    assert_string_equal(r.err, "sandtrace replay: cannot open trace 'nothere.sbt': No such file or directory\n");
    tu_run_release(&r);
    /* A directory says so. */
    r = st_args((const char *[]){ "replay", dir, NULL });
    expect(&r, 2, "' is a directory: replaying the traces in it needs --check\n");
    tu_run_release(&r);
    /* Not a trace. */
    char junk[1024];
    in_dir(junk, sizeof junk, "junk.sbt");
    tu_write_file(dir, "junk.sbt", "this is not a trace at all, not at all\n", 39);
    r = st_args((const char *[]){ "replay", junk, NULL });
    expect(&r, 4, "cannot open trace '");
    assert_false(has(r.err, "TRACE_E_"));
    tu_run_release(&r);
}

static void test_replay_damaged_trace_is_5(void **state)
{
    (void)state;
    /* The header's checksum broken: nothing can be replayed. */
    char bad[1024], cmd[9000];
    in_dir(bad, sizeof bad, "flipped.sbt");
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf 'X' | dd of='%s' bs=1 seek=40 conv=notrunc 2>/dev/null",
             hello, bad, bad);
    struct tu_run sh = tu_run((const char *[]){ "/bin/sh", "-c", cmd, NULL }, NULL);
    assert_int_equal(sh.status, 0);
    tu_run_release(&sh);
    struct tu_run r = st_args((const char *[]){ "replay", "--check", bad, NULL });
    expect(&r, 5, "': file header checksum mismatch at offset 0\n");
    tu_run_release(&r);
    /* Cut short: replayed up to its end, then 5 (was 66). */
    char cut[1024];
    in_dir(cut, sizeof cut, "cut.sbt");
    snprintf(cmd, sizeof cmd, "head -c $(( $(stat -c %%s '%s') * 6 / 10 )) '%s' > '%s'", pings, pings, cut);
    sh = tu_run((const char *[]){ "/bin/sh", "-c", cmd, NULL }, NULL);
    assert_int_equal(sh.status, 0);
    tu_run_release(&sh);
    r = st_args((const char *[]){ "replay", "--check", cut, NULL });
    expect(&r, 5, "up to the end of the trace: the trace ends early");
    tu_run_release(&r);
}

static void test_replay_could_not_run_is_70_and_timeout_71(void **state)
{
    (void)state;
    char none[1024];
    in_dir(none, sizeof none, "no-such-guest");
    struct tu_run r = st_args((const char *[]){ "replay", "--exe", none, hello, NULL });
    expect(&r, 70, "cannot find guest executable '");
    tu_run_release(&r);
    r = st_args((const char *[]){ "replay", "--check", "--timeout", "0.05", pings, NULL });
    expect(&r, 71, "sandtrace replay: timeout after 0.05 s");
    tu_run_release(&r);
}

/* ------------------------------------------------------------ --stop-at */

static void test_replay_stop_at_beyond_the_trace_says_how_many_events(void **state)
{
    (void)state;
    struct tu_run r = st_args((const char *[]){ "replay", "--stop-at", "1000", hello, NULL });
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "sandtrace replay: option '--stop-at': the trace has only 7 events "
                               "(0 to 6), no event 1000\n"
                               "Try 'sandtrace replay --help' for more information.\n");
    assert_int_equal(r.out_len, 0); /* nothing ran */
    tu_run_release(&r);
    /* The last event is fine. */
    r = tu_run_sandtrace((const char *[]){ "replay", "--stop-at", "6", hello, NULL }, "\n");
    expect(&r, 0, "stopped before event 6");
    tu_run_release(&r);
}

/* ------------------------------------------------------------ the report */

static void test_replay_divergence_report_grammar(void **state)
{
    (void)state;
    /* ping's trace replayed by hello: the first call differs, nothing came
     * before it: no heading without lines under it. */
    struct tu_run r = st_args((const char *[]){ "replay", "--check", "--exe", tu_guest("hello"), pings, NULL });
    expect(&r, 65, "sandtrace replay: divergence at event 0 (signature): expected a call to getpid()i");
    assert_false(has(r.err, "before it"));
    assert_true(has(r.err, "sandtrace replay: 1 divergence after 0 events\n"));
    tu_run_release(&r);
    /* hello's trace replayed by ping: one call came before the divergence. */
    r = st_args((const char *[]){ "replay", "--check", "--exe", tu_guest("ping"), hello, NULL });
    expect(&r, 65, "sandtrace replay: divergence at event 0 (argument)");
    assert_false(has(r.err, "the last 0 "));
    assert_false(has(r.err, "before it"));
    assert_true(has(r.err, "after 0 events\n"));
    tu_run_release(&r);
    /* Another file opened: the open is the one call, "1 call" said right. */
    r = st_args((const char *[]){ "replay", "--check", "--exe", rp_guest("variant-open"), variant, NULL });
    expect(&r, 65, "  the call before it:\n    0 +");
    assert_true(has(r.err, " open(0x"));
    assert_true(has(r.err, "<unfinished ...>\n"));
    assert_false(has(r.err, "1 calls"));
    assert_true(has(r.err, "sandtrace replay: 1 divergence after 1 event\n"));
    tu_run_release(&r);
}

/* ------------------------------------------------------------ outputs */

static void test_replay_output_to_a_full_device_is_6(void **state)
{
    (void)state;
    char args[2200];
    snprintf(args, sizeof args, "replay '%s'", hello);
    struct tu_run r = st_full(args);
    expect(&r, 6, "sandtrace replay: cannot write the guest's output: No space left on device\n");
    tu_run_release(&r);
    /* --check writes nothing on stdout: nothing to fail. */
    snprintf(args, sizeof args, "replay --check '%s'", hello);
    r = st_full(args);
    expect(&r, 0, "identical");
    tu_run_release(&r);
    /* Many traces: the lines. */
    snprintf(args, sizeof args, "replay --check -j 1 '%s'", hello);
    r = st_full(args);
    expect(&r, 6, "sandtrace replay: cannot write to standard output");
    tu_run_release(&r);
    /* The JUnit file on a full device: said, 6, and the device is written,
     * never replaced by a renamed temporary file. */
    r = st_args((const char *[]){ "replay", "--check", "-q", "--junit", "/dev/full", hello, NULL });
    expect(&r, 6, "sandtrace replay: cannot write '/dev/full': No space left on device\n");
    tu_run_release(&r);
    struct stat st;
    assert_int_equal(stat("/dev/full", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    /* --help too. */
    r = st_full("replay --help");
    assert_int_equal(r.status, 6);
    tu_run_release(&r);
}

/* ------------------------------------------------------------ progress */

/* Runs sandtrace with its stderr on a pseudo-terminal; returns what was
 * written there, and the exit status in *status. */
static char *run_on_a_terminal(const char *const *args, int *status)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(m >= 0);
    assert_int_equal(grantpt(m), 0);
    assert_int_equal(unlockpt(m), 0);
    const char *slave = ptsname(m);
    assert_non_null(slave);
    const char *argv[64];
    size_t n = 0;
    argv[n++] = tu_sandtrace();
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int s = open(slave, O_RDWR | O_NOCTTY);
        int null = open("/dev/null", O_RDWR);
        if (s < 0 || null < 0)
            _exit(127);
        dup2(null, 0);
        dup2(null, 1);
        dup2(s, 2);
        close(m);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    char *out = calloc(1, 1);
    size_t len = 0;
    for (;;) {
        char buf[4096];
        ssize_t got = read(m, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break; /* EIO once the child is gone */
        tu__append(&out, &len, buf, (size_t)got);
    }
    int st;
    waitpid(pid, &st, 0);
    close(m);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return out;
}

static void test_replay_check_shows_progress_on_a_terminal_only(void **state)
{
    (void)state;
    int status;
    char *tty = run_on_a_terminal((const char *[]){ "replay", "--check", pings, NULL }, &status);
    assert_int_equal(status, 0);
    if (!has(tty, "\r\033[Ksandtrace replay: ") || !has(tty, " events of 100004)"))
        fail_msg("no progress line on the terminal:\n%s", tty);
    assert_true(has(tty, "identical: 100004 events"));
    free(tty);
    /* -q: none. */
    tty = run_on_a_terminal((const char *[]){ "replay", "--check", "-q", pings, NULL }, &status);
    assert_int_equal(status, 0);
    assert_string_equal(tty, "");
    free(tty);
    /* Not a terminal: none. */
    struct tu_run r = st_args((const char *[]){ "replay", "--check", pings, NULL });
    expect(&r, 0, "identical");
    assert_false(has(r.err, "\033["));
    tu_run_release(&r);
}

/* ------------------------------------------------------------ stdin */

static void test_replay_reads_a_trace_on_standard_input(void **state)
{
    (void)state;
    FILE *f = fopen(hello, "rb");
    assert_non_null(f);
    static char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    assert_true(n > 0 && n < sizeof bytes);
    const char *argv[] = { tu_sandtrace(), "replay", "--check", "-", NULL };
    struct tu_run r = tu_run_env(argv, bytes, n, NULL);
    expect(&r, 0, "sandtrace replay: identical: 7 events, 2 requests, no divergence\n");
    tu_run_release(&r);
    /* --stop-at waits for Enter there. */
    const char *stop[] = { tu_sandtrace(), "replay", "--stop-at", "2", "-", NULL };
    r = tu_run_env(stop, bytes, n, NULL);
    expect(&r, 2, "sandtrace replay: --stop-at waits for Enter on standard input: give the trace as a "
                  "file, not '-'\n");
    tu_run_release(&r);
    /* Not a trace. */
    const char *junk[] = { tu_sandtrace(), "replay", "-", NULL };
    r = tu_run_env(junk, "not a trace, really not a trace\n", 32, NULL);
    expect(&r, 4, "sandtrace replay: cannot open trace '-': ");
    tu_run_release(&r);
}

/* ------------------------------------------------------------ corpus */

static void test_replay_corpus_codes_quiet_and_summary_json(void **state)
{
    (void)state;
    char cdir[1024], reports[1024], cmd[9000];
    in_dir(cdir, sizeof cdir, "corpus");
    in_dir(reports, sizeof reports, "reports");
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s' && cp '%s' '%s/a.sbt' && head -c 300 '%s' > '%s/b-cut.sbt' && "
             "echo not-a-trace-but-long-enough-to-have-a-header > '%s/c-junk.sbt'",
             cdir, hello, cdir, pings, cdir, cdir);
    struct tu_run sh = tu_run((const char *[]){ "/bin/sh", "-c", cmd, NULL }, NULL);
    assert_int_equal(sh.status, 0);
    tu_run_release(&sh);
    struct tu_run r = st_args((const char *[]){ "replay", "--check", "-q", "--reports", reports, cdir, NULL });
    /* unreadable (4) is worse than damaged (5) */
    if (r.status != 4)
        fail_msg("exit %d, not 4:\n%s%s", r.status, r.out, r.err);
    assert_false(has(r.out, "ok "));        /* -q: only the failures */
    assert_false(has(r.out, "identical,")); /* no summary */
    assert_true(has(r.out, "UNREADABLE"));
    tu_run_release(&r);
    char sum[1100];
    snprintf(sum, sizeof sum, "%s/summary.json", reports);
    FILE *f = fopen(sum, "r");
    assert_non_null(f);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_true(!strncmp(buf, "{\"schema_version\":1,", 20));
    assert_true(has(buf, "\"verdict\":\"identical\",\"exit_status\":0,\"signal\":null,"));
    assert_true(has(buf, "\"verdict\":\"unreadable\",\"exit_status\":4,"));
    assert_true(has(buf, "\"divergence_event\":null}"));
    assert_true(has(buf, "\"exit_status\":4,\"counts\":{\"identical\":1,"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_options_anywhere_one_error_style_and_a_hint),
        cmocka_unit_test(test_replay_missing_trace_is_4_with_the_system_s_words),
        cmocka_unit_test(test_replay_damaged_trace_is_5),
        cmocka_unit_test(test_replay_could_not_run_is_70_and_timeout_71),
        cmocka_unit_test(test_replay_stop_at_beyond_the_trace_says_how_many_events),
        cmocka_unit_test(test_replay_divergence_report_grammar),
        cmocka_unit_test(test_replay_output_to_a_full_device_is_6),
        cmocka_unit_test(test_replay_check_shows_progress_on_a_terminal_only),
        cmocka_unit_test(test_replay_reads_a_trace_on_standard_input),
        cmocka_unit_test(test_replay_corpus_codes_quiet_and_summary_json),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
