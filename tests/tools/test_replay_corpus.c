/* sandtrace replay --check over a corpus (tools/replay_corpus.c): a corpus
 * of recorded runs (tests/tools/corpus_gen.h) replays identically with -j 2;
 * a corpus with one tampered trace (recorded from a guest that was then
 * replaced: replay refuses to run it) fails, naming it in the JUnit file and
 * keeping its report; --exe of another guest diverges, each trace a JUnit
 * failure; the single-trace command is unchanged; and the
 * sharding example (docs/examples/shard.sh) runs with 2 shards. Real PyPy
 * traces too when PYPY_SANDBOX / PYPY3_SANDBOX name builds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/tools/corpus_gen.h"

#define CORPUS_N 240
#define SHARD_N 48

static struct cg_corpus corpus;
static char *scratch;

static void path_in(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s/%s", scratch, name);
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
        abort();
    b[n] = '\0';
    fclose(f);
    return b;
}

static void copy_file(const char *from, const char *to)
{
    const char *cp[] = { "/bin/cp", from, to, NULL };
    struct tu_run r = tu_run(cp, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
}

static int group_setup(void **state)
{
    (void)state;
    cg_make(&corpus, CORPUS_N, 4);
    scratch = tu_mkdtemp();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    cg_remove(&corpus);
    tu_rm_rf(scratch);
    free(scratch);
    return 0;
}

static void test_replay_corpus_of_recorded_runs_passes_with_two_jobs(void **state)
{
    (void)state;
    char junit[4200], reports[4200];
    path_in(junit, sizeof junit, "pass.xml");
    path_in(reports, sizeof reports, "pass-reports");
    const char *args[] = { "replay", "--check", "-j", "2", "--junit", junit, "--reports", reports,
                           corpus.dir, NULL };
    struct tu_run r = tu_run_sandtrace(args, NULL);
    if (r.status != 0)
        fail_msg("replay of the corpus exited %d:\n%s%s", r.status, r.out, r.err);
    assert_int_equal(count_of(r.out, "\nok  "), CORPUS_N - 1); /* every line but the first follows a newline */
    assert_non_null(strstr(r.out, "240 traces in "));
    assert_non_null(strstr(r.out, "240 identical, 0 diverged, 0 damaged, 0 unreadable, 0 could not run"));
    tu_run_release(&r);
    char *x = slurp(junit);
    assert_non_null(x);
    assert_int_equal(count_of(x, "<testcase "), CORPUS_N);
    assert_non_null(strstr(x, "tests=\"240\" failures=\"0\" errors=\"0\""));
    assert_null(strstr(x, "<failure"));
    free(x);
    /* A report per trace, saying it was identical. */
    char rep[4300];
    snprintf(rep, sizeof rep, "%s/run-0007.txt", reports);
    char *t = slurp(rep);
    assert_non_null(t);
    assert_non_null(strstr(t, "identical"));
    free(t);
}

/* A trace recorded from a guest that was then replaced by another. */
static void make_tampered_corpus(char *dir, size_t cap)
{
    path_in(dir, cap, "tampered");
    mkdir(dir, 0755);
    char bin[4200], trace[4400];
    path_in(bin, sizeof bin, "guest-copy");
    copy_file(tu_guest("hello"), bin);
    snprintf(trace, sizeof trace, "%s/it's <tampered> & \"bad\".sbt", dir);
    const char *rec[] = { "record", "-o", trace, "--", bin, NULL };
    struct tu_run r = tu_run_sandtrace(rec, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    copy_file(tu_guest("clock"), bin);
    for (size_t i = 0; i < 24; i++) {
        char from[4200], to[4400];
        cg_trace_path(&corpus, i, from, sizeof from);
        snprintf(to, sizeof to, "%s/good-%02zu.sbt", dir, i);
        copy_file(from, to);
    }
}

static void test_replay_corpus_with_a_replaced_guest_fails_and_junit_names_it(void **state)
{
    (void)state;
    char dir[4200], junit[4200], reports[4200];
    make_tampered_corpus(dir, sizeof dir);
    path_in(junit, sizeof junit, "tampered.xml");
    path_in(reports, sizeof reports, "tampered-reports");
    const char *args[] = { "replay", "--check", "-j", "2", "--junit", junit, "--reports", reports, dir, NULL };
    struct tu_run r = tu_run_sandtrace(args, NULL);
    /* replay runs a trace's executable only when its hash is the recorded
     * one: the replaced guest is refused, so this replay could not run. */
    assert_int_equal(r.status, 70); /* ST_EXIT_ERROR (was 67) */
    assert_non_null(strstr(r.out, "25 traces in "));
    assert_non_null(strstr(r.out, "24 identical, 0 diverged, 0 damaged, 0 unreadable, 1 could not run"));
    assert_non_null(strstr(r.out, "ERROR     "));
    assert_non_null(strstr(r.out, "tampered> & \"bad\".sbt"));
    tu_run_release(&r);
    char *x = slurp(junit);
    assert_non_null(x);
    assert_int_equal(count_of(x, "<testcase "), 25);
    assert_int_equal(count_of(x, "<error "), 1);
    assert_int_equal(count_of(x, "<failure "), 0);
    assert_non_null(strstr(x, "failures=\"0\" errors=\"1\""));
    /* Named, with XML's escapes; the report is the error's text. */
    const char *named = strstr(x, "it&apos;s &lt;tampered&gt; &amp; &quot;bad&quot;.sbt\"");
    assert_non_null(named);
    const char *err = strstr(named, "<error type=\"error\" message=\"");
    assert_non_null(err);
    assert_true(err < strstr(named, "</testcase>"));
    assert_non_null(strstr(err, "hash"));
    free(x);
    char rep[4400];
    snprintf(rep, sizeof rep, "%s/it's <tampered> & \"bad\".txt", reports);
    char *t = slurp(rep);
    assert_non_null(t);
    assert_non_null(strstr(t, "hash"));
    free(t);
}

static void test_replay_corpus_with_exe_of_another_guest_fails(void **state)
{
    (void)state;
    /* The hello traces against hello: identical; against clock: diverged. */
    char dir[4200];
    path_in(dir, sizeof dir, "hellos");
    mkdir(dir, 0755);
    for (size_t i = 0; i < CORPUS_N; i += CG_KINDS) {
        char from[4200], to[4400];
        cg_trace_path(&corpus, i, from, sizeof from);
        snprintf(to, sizeof to, "%s/hello-%03zu.sbt", dir, i);
        copy_file(from, to);
    }
    const char *same[] = { "replay", "--check", "-j", "2", "--exe", tu_guest("hello"), dir, NULL };
    struct tu_run r = tu_run_sandtrace(same, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "30 identical, 0 diverged"));
    tu_run_release(&r);
    char junit[4200];
    path_in(junit, sizeof junit, "other-exe.xml");
    const char *other[] = { "replay", "--check", "-j", "2", "--exe", tu_guest("clock"), "--junit", junit, dir,
                            NULL };
    r = tu_run_sandtrace(other, NULL);
    assert_int_equal(r.status, 65);
    assert_non_null(strstr(r.out, "0 identical, 30 diverged"));
    assert_non_null(strstr(r.out, ": divergence at event 0"));
    tu_run_release(&r);
    char *x = slurp(junit);
    assert_non_null(x);
    assert_int_equal(count_of(x, "<failure type=\"diverged\" message=\"divergence at event 0"), 30);
    assert_non_null(strstr(x, "hello-000.sbt\""));
    free(x);
}

static void test_replay_of_one_trace_is_unchanged(void **state)
{
    (void)state;
    char trace[4200];
    cg_trace_path(&corpus, 0, trace, sizeof trace);
    const char *args[] = { "replay", "--check", trace, NULL };
    struct tu_run r = tu_run_sandtrace(args, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, ""); /* no verdict line, no summary: the old output */
    assert_non_null(strstr(r.err, "sandtrace replay: identical: "));
    tu_run_release(&r);
    /* Several traces need --check. */
    char two[4200];
    cg_trace_path(&corpus, 1, two, sizeof two);
    const char *bad[] = { "replay", trace, two, NULL };
    r = tu_run_sandtrace(bad, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "need --check"));
    tu_run_release(&r);
}

/* docs/examples/shard.sh with 2 shards, here: each shard replays and
 * indexes its half; the merged database holds every run once. */
static void test_shard_example_runs_two_shards_and_merges(void **state)
{
    (void)state;
    /* 48 traces of the corpus, 6 of each kind: enough for two shards. */
    char out[4200], cmd[9000], dir[4200];
    path_in(dir, sizeof dir, "to-shard");
    mkdir(dir, 0755);
    for (size_t i = 0; i < SHARD_N; i++) {
        char from[4200], to[4400];
        cg_trace_path(&corpus, i, from, sizeof from);
        snprintf(to, sizeof to, "%s/t-%03zu.sbt", dir, i);
        copy_file(from, to);
    }
    path_in(out, sizeof out, "shards");
    snprintf(cmd, sizeof cmd, "SANDTRACE='%s' JOBS=2 '%s/docs/examples/shard.sh' local 2 '%s' '%s'",
             tu_sandtrace(), ST_SOURCE_DIR, dir, out);
    const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
    struct tu_run r = tu_run(sh, NULL);
    if (r.status != 0)
        fail_msg("shard.sh exited %d:\n%s%s", r.status, r.out, r.err);
    assert_non_null(strstr(r.out, "merged 2 databases: 48 runs added, 0 already present"));
    tu_run_release(&r);
    size_t cases = 0;
    for (int k = 0; k < 2; k++) {
        char j[4300];
        snprintf(j, sizeof j, "%s/shard-%d/junit.xml", out, k);
        char *x = slurp(j);
        assert_non_null(x);
        assert_int_equal(count_of(x, "<testcase "), SHARD_N / 2);
        cases += count_of(x, "<testcase ");
        free(x);
    }
    assert_int_equal(cases, SHARD_N);
    char db[4300];
    snprintf(db, sizeof db, "%s/audit.db", out);
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*), count(DISTINCT trace_hash) FROM runs", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), SHARD_N);
    assert_int_equal(sqlite3_column_int(s, 1), SHARD_N);
    sqlite3_finalize(s);
    sqlite3_close(h);
}

static void test_replay_corpus_of_real_pypy_traces(void **state)
{
    (void)state;
    char dir[4200];
    path_in(dir, sizeof dir, "pypy");
    mkdir(dir, 0755);
    size_t n = cg_record_pypys(dir, 4);
    if (n == 0) {
        print_message("skipping: neither PYPY_SANDBOX nor PYPY3_SANDBOX is set (no real pypy-c-sandbox here)\n");
        skip();
        return;
    }
    const char *args[] = { "replay", "--check", "-j", "2", "--timeout", "120", dir, NULL };
    struct tu_run r = tu_run_sandtrace(args, NULL);
    if (r.status != 0)
        fail_msg("replay of the PyPy traces exited %d:\n%s%s", r.status, r.out, r.err);
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_corpus_of_recorded_runs_passes_with_two_jobs),
        cmocka_unit_test(test_replay_corpus_with_a_replaced_guest_fails_and_junit_names_it),
        cmocka_unit_test(test_replay_corpus_with_exe_of_another_guest_fails),
        cmocka_unit_test(test_replay_of_one_trace_is_unchanged),
        cmocka_unit_test(test_shard_example_runs_two_shards_and_merges),
        cmocka_unit_test(test_replay_corpus_of_real_pypy_traces),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
