/* sandtrace index: a corpus of recorded runs (tests/tools/corpus_gen.h)
 * indexed into an audit database and queried with real SQL: counts per run
 * and per call, path and status queries, idempotence, a truncated trace
 * marked damaged, hostile text stored safely, shard merging, and real
 * PyPy traces when PYPY_SANDBOX / PYPY3_SANDBOX name builds. */
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

#define CORPUS_N 240 /* 30 of each kind */

static struct cg_corpus corpus;
static char *scratch;   /* databases and extra traces */
static char db_path[4200];

static void path_in(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s/%s", scratch, name);
}

/* One integer from a query on `db`, with up to two text parameters. */
static long long q_int(const char *db, const char *sql, const char *p1, const char *p2)
{
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("cannot open '%s'", db);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("bad query '%s': %s", sql, sqlite3_errmsg(h));
    if (p1)
        sqlite3_bind_text(s, 1, p1, -1, SQLITE_TRANSIENT);
    if (p2)
        sqlite3_bind_text(s, 2, p2, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_ROW)
        fail_msg("query '%s' returned no row: %s", sql, sqlite3_errmsg(h));
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

/* One text from a query (the caller frees it); NULL for SQL NULL. */
static char *q_text(const char *db, const char *sql, const char *p1)
{
    sqlite3 *h;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fail_msg("cannot open '%s'", db);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("bad query '%s': %s", sql, sqlite3_errmsg(h));
    if (p1)
        sqlite3_bind_text(s, 1, p1, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_ROW)
        fail_msg("query '%s' returned no row", sql);
    const unsigned char *t = sqlite3_column_text(s, 0);
    char *out = t ? strdup((const char *)t) : NULL;
    sqlite3_finalize(s);
    sqlite3_close(h);
    return out;
}

static struct tu_run index_run(const char *db, const char *jobs, const char *what)
{
    const char *args[] = { "index", "-j", jobs, "-o", db, what, NULL };
    return tu_run_sandtrace(args, NULL);
}

static int group_setup(void **state)
{
    (void)state;
    cg_make(&corpus, CORPUS_N, 4);
    scratch = tu_mkdtemp();
    path_in(db_path, sizeof db_path, "audit.db");
    struct tu_run r = index_run(db_path, "2", corpus.dir);
    if (r.status != 0) {
        fprintf(stderr, "index failed (%d): %s%s\n", r.status, r.out, r.err);
        return -1;
    }
    tu_run_release(&r);
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

static void test_index_has_one_run_per_trace_and_every_call(void **state)
{
    (void)state;
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs WHERE complete = 1", NULL, NULL), CORPUS_N);
    assert_int_equal(q_int(db_path, "SELECT count(DISTINCT trace_hash) FROM runs", NULL, NULL), CORPUS_N);
    /* Each run's `calls` column is the number of its rows in `calls`. */
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs r WHERE r.calls <> "
                                    "(SELECT count(*) FROM calls c WHERE c.run_id = r.id)", NULL, NULL), 0);
    /* hello makes exactly two calls: write(1, ...) and write(2, ...). */
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs WHERE argv = '[\"/bin/hello\"]'", NULL, NULL),
                     CORPUS_N / CG_KINDS);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs WHERE argv = '[\"/bin/hello\"]' AND calls = 2",
                           NULL, NULL), CORPUS_N / CG_KINDS);
    char *args = q_text(db_path, "SELECT c.args FROM calls c JOIN runs r ON r.id = c.run_id WHERE "
                                 "r.argv = '[\"/bin/hello\"]' AND c.seq = 0", NULL);
    assert_string_equal(args, "1, \"hello from the sandbox\\n\", 23");
    free(args);
    /* The decoded failure of cat's second open. */
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM calls WHERE name = 'open' AND errno_name = 'ENOENT' "
                                    "AND failed = 1 AND result = -1 AND args LIKE '\"/w/nope\", O_RDONLY%'",
                           NULL, NULL), CORPUS_N / CG_KINDS);
    char *meta = q_text(db_path, "SELECT value FROM meta WHERE key = 'schema_version'", NULL);
    assert_string_equal(meta, "1");
    free(meta);
}

static void test_index_path_queries_find_writes_and_refusals(void **state)
{
    (void)state;
    const long long per_kind = CORPUS_N / CG_KINDS;
    /* docs/index.md: "every run that wrote outside /tmp": none did, the
     * attempts were refused... */
    assert_int_equal(q_int(db_path, "SELECT count(DISTINCT run_id) FROM paths WHERE how = 'written' AND ok = 1 "
                                    "AND path NOT LIKE '/tmp/%'", NULL, NULL), 0);
    /* ...and every one of them is there as refused. */
    assert_int_equal(q_int(db_path, "SELECT count(DISTINCT run_id) FROM paths WHERE how = 'refused' AND "
                                    "path = '/w/evil'", NULL, NULL), per_kind);
    assert_int_equal(q_int(db_path, "SELECT count(DISTINCT run_id) FROM paths WHERE how = 'written' AND ok = 1 "
                                    "AND path = '/tmp/out.txt'", NULL, NULL), per_kind);
    /* Which runs opened /w/a.txt (cat) and which stat'ed it (stat). */
    assert_int_equal(q_int(db_path, "SELECT count(DISTINCT run_id) FROM paths WHERE path = ?1 AND how = 'opened' "
                                    "AND ok = 1", "/w/a.txt", NULL), per_kind);
    assert_int_equal(q_int(db_path, "SELECT count(DISTINCT run_id) FROM paths WHERE path = ?1 AND how = 'stat'",
                           "/w/a.txt", NULL), per_kind);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM paths WHERE path = '/w' AND how = 'listed'", NULL, NULL),
                     per_kind);
}

static void test_index_status_query_counts_exits_and_limits(void **state)
{
    (void)state;
    const long long per_kind = CORPUS_N / CG_KINDS;
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs WHERE status = 'max-calls' AND limits_hit = 'max-calls'",
                           NULL, NULL), per_kind);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs WHERE status = 'exited'", NULL, NULL),
                     CORPUS_N - per_kind);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs WHERE exit_code = 1", NULL, NULL), per_kind);
    /* "runs per status per day" works on started_at as SQLite reads it. */
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM (SELECT date(started_at) d, status, count(*) n FROM runs "
                                    "GROUP BY d, status) WHERE d IS NULL", NULL, NULL), 0);
    assert_int_equal(q_int(db_path, "SELECT sum(n) FROM (SELECT date(started_at) d, status, count(*) n FROM runs "
                                    "GROUP BY d, status)", NULL, NULL), CORPUS_N);
    /* Every finished call has a duration; the slowest-calls query orders them. */
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM calls WHERE finished = 1 AND duration_ns IS NULL",
                           NULL, NULL), 0);
    assert_true(q_int(db_path, "SELECT max(duration_ns) FROM calls", NULL, NULL) > 0);
}

static void test_index_second_run_adds_nothing_and_a_new_trace_is_added(void **state)
{
    (void)state;
    long long calls = q_int(db_path, "SELECT count(*) FROM calls", NULL, NULL);
    struct tu_run r = index_run(db_path, "2", corpus.dir);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, ": 0 indexed (0 calls), 240 already indexed"))
        fail_msg("unexpected summary: %s", r.out);
    tu_run_release(&r);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs", NULL, NULL), CORPUS_N);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM calls", NULL, NULL), calls);
    /* A copy of a trace under another name is the same run. */
    char src[4200], copy[4200];
    cg_trace_path(&corpus, 0, src, sizeof src);
    path_in(copy, sizeof copy, "copy.sbt");
    const char *cp[] = { "/bin/cp", src, copy, NULL };
    struct tu_run c = tu_run(cp, NULL);
    assert_int_equal(c.status, 0);
    tu_run_release(&c);
    r = index_run(db_path, "1", copy);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "1 already indexed"));
    tu_run_release(&r);
    /* A new recording is added (incremental). */
    char fresh[4200];
    path_in(fresh, sizeof fresh, "fresh.sbt");
    const char *rec[] = { "record", "-o", fresh, "--", tu_guest("hello"), NULL };
    r = tu_run_sandtrace(rec, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    r = index_run(db_path, "1", fresh);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs", NULL, NULL), CORPUS_N + 1);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM calls", NULL, NULL), calls + 2);
    assert_int_equal(q_int(db_path, "SELECT count(*) FROM runs WHERE trace_path = ?1", fresh, NULL), 1);
}

static void test_index_marks_a_truncated_trace_damaged_and_keeps_what_it_read(void **state)
{
    (void)state;
    /* A long run (writer 3000 requests), cut in its middle. */
    char whole[4200], cut[4200], db[4200];
    path_in(whole, sizeof whole, "long.sbt");
    path_in(cut, sizeof cut, "cut.sbt");
    path_in(db, sizeof db, "damaged.db");
    const char *rec[] = { "record", "-o", whole, "--quiet", "--", tu_guest("writer"), "3000", "100", NULL };
    struct tu_run r = tu_run_sandtrace(rec, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    struct stat st;
    assert_int_equal(stat(whole, &st), 0);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "head -c %lld '%s' > '%s'", (long long)st.st_size * 2 / 3, whole, cut);
    const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
    r = tu_run(sh, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    const char *args[] = { "index", "-o", db, whole, cut, NULL };
    r = tu_run_sandtrace(args, NULL);
    assert_int_equal(r.status, 5); /* damaged, indexed up to there */
    assert_non_null(strstr(r.err, "is truncated at offset"));
    tu_run_release(&r);
    long long full = q_int(db, "SELECT calls FROM runs WHERE trace_path = ?1", whole, NULL);
    long long part = q_int(db, "SELECT calls FROM runs WHERE trace_path = ?1", cut, NULL);
    assert_int_equal(full, 3000);
    assert_true(part > 0 && part < full);
    assert_int_equal(q_int(db, "SELECT count(*) FROM calls c JOIN runs r ON r.id = c.run_id WHERE "
                               "r.trace_path = ?1", cut, NULL), part);
    assert_int_equal(q_int(db, "SELECT damaged FROM runs WHERE trace_path = ?1", cut, NULL), 1);
    assert_int_equal(q_int(db, "SELECT damaged FROM runs WHERE trace_path = ?1", whole, NULL), 0);
    assert_int_equal(q_int(db, "SELECT complete FROM runs WHERE trace_path = ?1", cut, NULL), 1);
    char *status = q_text(db, "SELECT status FROM runs WHERE trace_path = ?1", cut);
    assert_string_equal(status, "unfinished"); /* its end was in the part cut off */
    free(status);
    char *damage = q_text(db, "SELECT damage FROM runs WHERE trace_path = ?1", cut);
    assert_non_null(damage);
    assert_non_null(strstr(damage, "truncated at offset"));
    free(damage);
}

/* A path with a quote, SQL, a control character and a byte that is not
 * UTF-8: stored as text, escaped, and the database is intact. */
static void test_index_stores_hostile_text_safely(void **state)
{
    (void)state;
    char trace[4200], db[4200];
    path_in(trace, sizeof trace, "hostile.sbt");
    path_in(db, sizeof db, "hostile.db");
    const char *evil = "/tmp/x'); DROP TABLE runs; --\x1b[31m\xff";
    const char *rec[] = { "record", "-o", trace, "--", tu_build_path("testguests/fsops"), "stat", evil, NULL };
    struct tu_run r = tu_run_sandtrace(rec, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    const char *args[] = { "index", "-o", db, trace, NULL };
    r = tu_run_sandtrace(args, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs", NULL, NULL), 1);
    char *p = q_text(db, "SELECT path FROM paths", NULL);
    assert_string_equal(p, "/tmp/x'); DROP TABLE runs; --\\x1b[31m\\xff");
    free(p);
    /* Every stored text is valid UTF-8 without control characters. */
    assert_int_equal(q_int(db, "SELECT count(*) FROM calls WHERE args GLOB '*[\x01-\x1f]*'", NULL, NULL), 0);
    char *argv = q_text(db, "SELECT argv FROM runs", NULL);
    assert_non_null(strstr(argv, "\\u001b[31m\xc3\xbf")); /* JSON: bytes as ISO-8859-1 */
    free(argv);
}

static void test_index_merge_of_shards_equals_indexing_everything(void **state)
{
    (void)state;
    char a[4200], b[4200], m[4200];
    path_in(a, sizeof a, "shard-a.db");
    path_in(b, sizeof b, "shard-b.db");
    path_in(m, sizeof m, "merged.db");
    /* Shard a: the first 40 traces; shard b: traces 30..79 (10 in both). */
    const char *args_a[50], *args_b[60];
    size_t na = 0, nb = 0;
    args_a[na++] = "index"; args_a[na++] = "-o"; args_a[na++] = a;
    args_b[nb++] = "index"; args_b[nb++] = "-o"; args_b[nb++] = b;
    static char paths[80][4200];
    for (size_t i = 0; i < 80; i++) {
        cg_trace_path(&corpus, i, paths[i], sizeof paths[i]);
        if (i < 40)
            args_a[na++] = paths[i];
        if (i >= 30)
            args_b[nb++] = paths[i];
    }
    args_a[na] = NULL;
    args_b[nb] = NULL;
    struct tu_run r = tu_run_sandtrace(args_a, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    r = tu_run_sandtrace(args_b, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    const char *merge[] = { "index", "--merge", "-o", m, a, b, NULL };
    r = tu_run_sandtrace(merge, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "80 runs added, 10 already present"));
    tu_run_release(&r);
    assert_int_equal(q_int(m, "SELECT count(*) FROM runs", NULL, NULL), 80);
    /* Calls and paths follow their runs to their new ids. */
    assert_int_equal(q_int(m, "SELECT count(*) FROM runs r WHERE r.calls <> "
                              "(SELECT count(*) FROM calls c WHERE c.run_id = r.id)", NULL, NULL), 0);
    assert_int_equal(q_int(m, "SELECT count(*) FROM calls", NULL, NULL),
                     q_int(db_path, "SELECT count(*) FROM calls c JOIN runs r ON r.id = c.run_id WHERE "
                                    "r.trace_path BETWEEN ?1 AND ?2", paths[0], paths[79]));
    assert_int_equal(q_int(m, "SELECT count(*) FROM paths p LEFT JOIN runs r ON r.id = p.run_id WHERE r.id IS NULL",
                           NULL, NULL), 0);
    /* Merging again adds nothing. */
    r = tu_run_sandtrace(merge, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "0 runs added, 90 already present"));
    tu_run_release(&r);
}

static void test_index_refuses_a_database_of_another_schema(void **state)
{
    (void)state;
    char db[4200];
    path_in(db, sizeof db, "other.db");
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
                                     "INSERT INTO meta VALUES ('schema_version', '99');", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    char trace[4200];
    cg_trace_path(&corpus, 0, trace, sizeof trace);
    struct tu_run r = index_run(db, "1", trace);
    assert_int_equal(r.status, 6);
    assert_non_null(strstr(r.err, "schema version 99"));
    tu_run_release(&r);
}

static void test_index_of_real_pypy_traces(void **state)
{
    (void)state;
    char dir[4200], db[4200];
    path_in(dir, sizeof dir, "pypy");
    mkdir(dir, 0755);
    size_t n = cg_record_pypys(dir, 4);
    if (n == 0) {
        print_message("skipping: neither PYPY_SANDBOX nor PYPY3_SANDBOX is set (no real pypy-c-sandbox here)\n");
        skip();
        return;
    }
    path_in(db, sizeof db, "pypy.db");
    struct tu_run r = index_run(db, "2", dir);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE status = 'exited' AND exit_code = 0", NULL, NULL),
                     (long long)n);
    /* PyPy reads its library at start-up: opened files under /lib. */
    assert_true(q_int(db, "SELECT count(*) FROM paths WHERE how = 'opened' AND ok = 1 AND path LIKE '/lib/%'",
                      NULL, NULL) > 0);
    assert_int_equal(q_int(db, "SELECT count(*) FROM runs WHERE unknown_calls > 0", NULL, NULL), 0);
}

/* Every ```sql block of docs/index.md runs on the corpus's database: the
 * documented queries match the schema. */
static void test_index_documented_queries_run(void **state)
{
    (void)state;
    FILE *f = fopen(ST_SOURCE_DIR "/docs/index.md", "r");
    assert_non_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(db_path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    int blocks = 0;
    for (char *p = doc; (p = strstr(p, "```sql\n")); ) {
        p += strlen("```sql\n");
        char *end = strstr(p, "```");
        assert_non_null(end);
        *end = '\0';
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, p, -1, &st, NULL) != SQLITE_OK)
            fail_msg("docs/index.md query does not prepare: %s\n%s", sqlite3_errmsg(h), p);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (rc != SQLITE_DONE)
            fail_msg("docs/index.md query fails: %s\n%s", sqlite3_errmsg(h), p);
        sqlite3_finalize(st);
        blocks++;
        p = end + 3;
    }
    sqlite3_close(h);
    assert_true(blocks >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_has_one_run_per_trace_and_every_call),
        cmocka_unit_test(test_index_path_queries_find_writes_and_refusals),
        cmocka_unit_test(test_index_status_query_counts_exits_and_limits),
        cmocka_unit_test(test_index_second_run_adds_nothing_and_a_new_trace_is_added),
        cmocka_unit_test(test_index_marks_a_truncated_trace_damaged_and_keeps_what_it_read),
        cmocka_unit_test(test_index_stores_hostile_text_safely),
        cmocka_unit_test(test_index_merge_of_shards_equals_indexing_everything),
        cmocka_unit_test(test_index_refuses_a_database_of_another_schema),
        cmocka_unit_test(test_index_documented_queries_run),
        cmocka_unit_test(test_index_of_real_pypy_traces),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
