/* Issue #16 for the trace-reading commands (dump, stats, diff, export, info,
 * verify): one option parser (options after the trace, one message style,
 * did-you-mean, a one-line hint), the same flags everywhere, the one
 * exit-code table, outputs that never replace an input and that report a
 * full disk, JSON with a schema version, damaged traces said so. Each test
 * asserts the exact message and exit code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>
#include <cmocka.h>

#include "format/trace.h"
#include "tests/format/trace_samples.h"
#include "tests/testutil.h"

#define GOLDEN ST_SOURCE_DIR "/tests/golden/cat.sbt"
#define HINT(cmd) "Try 'sandtrace " cmd " --help' for more information.\n"

static const char *const trace_cmds[] = { "dump", "stats", "export", "info", "verify" };
#define NCMDS (sizeof trace_cmds / sizeof trace_cmds[0])

struct fixture {
    char *dir;
    char good[4096], flipped[4096], cut[4096], keyed[4096], key[4096];
    char first[4096]; /* damaged in its first chunk */
};

/* The length of the trace's file header: the shortest prefix of it that
 * opens (a reader opens a trace without its chunks, as a growing one). */
static size_t header_length(const char *dir, const uint8_t *t, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/prefix.sbt", dir);
    size_t lo = 1, hi = len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        tu_write_file(dir, "prefix.sbt", t, mid);
        struct trace_io *io = NULL;
        struct trace_reader *r = NULL;
        int ok = trace_io_open_file(path, TRACE_IO_READ, &io) == 0 &&
                 trace_reader_open(&r, io, 1, NULL, NULL, 0) == 0;
        trace_reader_free(r);
        if (ok)
            hi = mid;
        else
            lo = mid + 1;
    }
    unlink(path);
    assert_true(lo > 16 && lo + 64 < len);
    return lo;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    size_t len;
    uint8_t *t = ts_make_trace(400, 2000, NULL, &len);
    tu_write_file(f->dir, "good.sbt", t, len);
    t[len / 2] ^= 0x10;
    tu_write_file(f->dir, "flipped.sbt", t, len);
    t[len / 2] ^= 0x10;
    tu_write_file(f->dir, "cut.sbt", t, len - 100);
    size_t hlen = header_length(f->dir, t, len);
    t[hlen + 24] ^= 0x10;
    tu_write_file(f->dir, "first.sbt", t, len);
    t[hlen + 24] ^= 0x10;
    free(t);
    tu_write_file(f->dir, "k.key", "correct horse battery staple", 28);
    snprintf(f->key, sizeof f->key, "%s/k.key", f->dir);
    uint8_t key[TRACE_KEY_BYTES];
    if (trace_key_load(f->key, key) < 0)
        return -1;
    t = ts_make_trace(40, 500, key, &len);
    tu_write_file(f->dir, "keyed.sbt", t, len);
    free(t);
    snprintf(f->good, sizeof f->good, "%s/good.sbt", f->dir);
    snprintf(f->flipped, sizeof f->flipped, "%s/flipped.sbt", f->dir);
    snprintf(f->cut, sizeof f->cut, "%s/cut.sbt", f->dir);
    snprintf(f->first, sizeof f->first, "%s/first.sbt", f->dir);
    snprintf(f->keyed, sizeof f->keyed, "%s/keyed.sbt", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* Runs sandtrace with the words given (NULL-terminated). */
static struct tu_run st(const char *first, ...)
{
    const char *args[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 31; a = va_arg(ap, const char *))
        args[n++] = a;
    va_end(ap);
    args[n] = NULL;
    return tu_run_sandtrace(args, NULL);
}

static void expect(struct tu_run *r, int status, const char *out, const char *err)
{
    if (r->status != status || (out && strcmp(r->out, out) != 0) ||
        (err && strcmp(r->err, err) != 0))
        fail_msg("exit %d (want %d)\nstdout: [%s]%s%s\nstderr: [%s]%s%s%s", r->status, status,
                 r->out, out ? "\nwant:   [" : "", out ? out : "", r->err, err ? "\nwant:   [" : "",
                 err ? err : "", err ? "]" : "");
    tu_run_release(r);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    assert_non_null(d);
    assert_int_equal(fread(d, 1, (size_t)n, fp), (size_t)n);
    d[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return d;
}

/* ------------------------------------------------------------------------
 * Parsing. */

static void test_options_after_the_trace_work_in_every_command(void **state)
{
    (void)state;
    struct tu_run a = st("dump", "-s", "5", GOLDEN, NULL);
    struct tu_run b = st("dump", GOLDEN, "-s", "5", NULL);
    assert_int_equal(a.status, 0);
    assert_int_equal(b.status, 0);
    assert_string_equal(a.out, b.out);
    assert_non_null(strstr(b.out, "read(3, \"Welco\"..., 8192) = 8192\n"));
    tu_run_release(&a);
    tu_run_release(&b);
    struct tu_run r = st("stats", GOLDEN, "-S", "calls", "--json", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "{\"schema_version\":1,\"functions\":[{\"name\":\"read\""));
    tu_run_release(&r);
    r = st("export", GOLDEN, "--format", "perfetto", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "\"traceEvents\""));
    tu_run_release(&r);
    r = st("info", GOLDEN, "-j", NULL);
    assert_int_equal(r.status, 0);
    assert_true(!strncmp(r.out, "{\"schema_version\":1,", 20));
    tu_run_release(&r);
    r = st("verify", GOLDEN, "-q", NULL);
    expect(&r, 0, "", "");
    r = st("diff", GOLDEN, GOLDEN, "--all", NULL);
    expect(&r, 0, "", "");
}

static void test_dump_tt_shows_wall_clock_times(void **state)
{
    (void)state;
    struct tu_run r = st("dump", "-ttt", GOLDEN, "--events", "0", NULL);
    expect(&r, 0, "0 1700000000.000009 open(\"/etc/motd\", O_RDONLY, 0) = 3\n", "");
    setenv("TZ", "UTC", 1);
    r = st("dump", "-tt", GOLDEN, "--events", "0", NULL);
    expect(&r, 0, "0 22:13:20.000009 open(\"/etc/motd\", O_RDONLY, 0) = 3\n", "");
    r = st("dump", "-t", GOLDEN, "--events", "0", NULL);
    expect(&r, 0, "0 22:13:20 open(\"/etc/motd\", O_RDONLY, 0) = 3\n", "");
    r = st("dump", "-tttt", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace dump: option '-t' given 4 times: -t, -tt or -ttt\n" HINT("dump"));
}

static void test_a_grouped_flag_reports_the_unknown_letter(void **state)
{
    (void)state;
    struct tu_run r = st("dump", "-Tq", GOLDEN, NULL);
    expect(&r, 2, "", "sandtrace dump: unknown option '-q' (in '-Tq')\n" HINT("dump"));
}

static void test_a_numeric_option_before_the_trace_requires_a_number(void **state)
{
    (void)state;
    struct tu_run r = st("dump", "-s", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace dump: option '-s' requires a number (not '" GOLDEN "')\n" HINT("dump"));
    r = st("diff", GOLDEN, GOLDEN, "-s", NULL);
    expect(&r, 2, "", "sandtrace diff: option '-s' requires a number\n" HINT("diff"));
    r = st("dump", GOLDEN, "-s", "12x", NULL);
    expect(&r, 2, "", "sandtrace dump: option '-s': bad string size '12x'\n" HINT("dump"));
}

static void test_usage_errors_are_one_line_and_a_hint_in_every_command(void **state)
{
    (void)state;
    static const char *const cmds[] = { "dump", "stats", "export", "info", "verify", "diff" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char want[256];
        struct tu_run r = st(cmds[i], "--bogus", GOLDEN, NULL);
        snprintf(want, sizeof want,
                 "sandtrace %s: unknown option '--bogus'\n"
                 "Try 'sandtrace %s --help' for more information.\n",
                 cmds[i], cmds[i]);
        expect(&r, 2, "", want);
        r = st(cmds[i], "--hepl", NULL);
        snprintf(want, sizeof want,
                 "sandtrace %s: unknown option '--hepl' (did you mean '--help'?)\n"
                 "Try 'sandtrace %s --help' for more information.\n",
                 cmds[i], cmds[i]);
        expect(&r, 2, "", want);
        r = st(cmds[i], NULL);
        snprintf(want, sizeof want, "sandtrace %s: no %s given\n"
                 "Try 'sandtrace %s --help' for more information.\n", cmds[i],
                 strcmp(cmds[i], "diff") ? "TRACE" : "traces (A and B)", cmds[i]);
        expect(&r, 2, "", want);
    }
    struct tu_run r = st("dump", "--evnts", "3", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace dump: unknown option '--evnts' (did you mean '--events'?)\n" HINT("dump"));
    r = st("dump", GOLDEN, GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace dump: unexpected argument '" GOLDEN "' (one command reads one trace)\n"
           HINT("dump"));
    r = st("stats", "-S", "cals", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace stats: option '-S': unknown sort key 'cals' (did you mean 'calls'?) (time, "
           "calls, errors, name, bytes-in, bytes-out or nothing)\n" HINT("stats"));
    r = st("export", "--format", "xml", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace export: option '--format': unknown format 'xml' (jsonl or perfetto)\n"
           HINT("export"));
    r = st("dump", "--events", "9..1", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace dump: option '--events': bad event range '9..1' (A..B, A.., ..B or N)\n"
           HINT("dump"));
}

static void test_unknown_trace_names_and_classes_are_errors_listing_the_classes(void **state)
{
    (void)state;
    static const char *const cmds[] = { "dump", "stats", "export" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char want[512];
        struct tu_run r = st(cmds[i], "-e", "trace=bogus", GOLDEN, NULL);
        snprintf(want, sizeof want,
                 "sandtrace %s: option '-e': unknown function 'bogus': not in the signature "
                 "table; the classes are %%file, %%desc, %%time, %%process, %%memory\n"
                 "Try 'sandtrace %s --help' for more information.\n", cmds[i], cmds[i]);
        expect(&r, 2, "", want);
    }
    struct tu_run r = st("dump", "-e", "trace=file", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace dump: option '-e': unknown function 'file' (did you mean the class "
           "'%file'?); the classes are %file, %desc, %time, %process, %memory\n" HINT("dump"));
    r = st("diff", "-e", "trace=opne", GOLDEN, GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace diff: option '-e': unknown function 'opne' (did you mean 'open'?); the "
           "classes are %file, %desc, %time, %process, %memory\n" HINT("diff"));
    r = st("dump", "-e", "trace=%nope", GOLDEN, NULL);
    expect(&r, 2, "",
           "sandtrace dump: option '-e': unknown class '%nope'; the classes are %file, %desc, "
           "%time, %process, %memory\n" HINT("dump"));
    /* Known names and whole signatures still work. */
    r = st("dump", "-e", "trace=close,open(pii)i", "--no-prefix", GOLDEN, NULL);
    expect(&r, 0,
           "open(\"/etc/motd\", O_RDONLY, 0) = 3\nclose(3) = 0\n"
           "open(\"/nonexistent\", O_RDONLY, 0) = -1 ENOENT (No such file or directory)\n"
           "+++ exited with 1 +++\n", "");
}

/* ------------------------------------------------------------------------
 * Inputs. */

static void test_missing_and_directory_traces_exit_4_with_the_reason(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < NCMDS; i++) {
        char want[8192];
        struct tu_run r = st(trace_cmds[i], "/nonexistent/t.sbt", NULL);
        snprintf(want, sizeof want,
                 "sandtrace %s: cannot open trace '/nonexistent/t.sbt': No such file or "
                 "directory\n", trace_cmds[i]);
        expect(&r, 4, "", want);
        r = st(trace_cmds[i], f->dir, NULL);
        snprintf(want, sizeof want, "sandtrace %s: cannot open trace '%s': Is a directory\n",
                 trace_cmds[i], f->dir);
        expect(&r, 4, "", want);
    }
    struct tu_run r = st("diff", GOLDEN, "/nonexistent/t.sbt", NULL);
    expect(&r, 4, "",
           "sandtrace diff: cannot open trace '/nonexistent/t.sbt': No such file or directory\n");
    r = st("dump", ST_SOURCE_DIR "/tests/golden/cat.dump", NULL);
    expect(&r, 4, "", "sandtrace dump: cannot open trace '" ST_SOURCE_DIR
                      "/tests/golden/cat.dump': bad magic number at offset 0: not a sandtrace "
                      "trace\n");
}

static void test_stdin_is_a_trace_for_every_command_and_diff_reads_it_once(void **state)
{
    (void)state;
    size_t len;
    char *data = slurp(GOLDEN, &len);
    assert_non_null(data);
    static const char *const cmds[] = { "dump", "stats", "export", "info", "verify" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const char *argv[] = { tu_sandtrace(), cmds[i], "-", NULL };
        struct tu_run r = tu_run_env(argv, data, len, NULL);
        struct tu_run w = st(cmds[i], GOLDEN, NULL);
        if (r.status != 0 || (strcmp(cmds[i], "info") && strcmp(r.out, w.out)))
            fail_msg("%s -: exit %d, stderr %s", cmds[i], r.status, r.err);
        tu_run_release(&r);
        tu_run_release(&w);
    }
    const char *argv[] = { tu_sandtrace(), "diff", "-", GOLDEN, NULL };
    struct tu_run r = tu_run_env(argv, data, len, NULL);
    expect(&r, 0, "", "");
    free(data);
    r = st("diff", "-", "-", NULL);
    expect(&r, 2, "",
           "sandtrace diff: '-' given twice: standard input can be read only once\n"
           HINT("diff"));
}

/* ------------------------------------------------------------------------
 * Damaged traces and exit codes. */

static void test_verify_says_what_is_wrong_in_words_with_the_table_codes(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = st("verify", f->flipped, NULL);
    assert_int_equal(r.status, 5);
    assert_string_equal(r.out, "");
    char want[8192];
    snprintf(want, sizeof want, "sandtrace verify: trace '%s' is damaged at offset ", f->flipped);
    if (strncmp(r.err, want, strlen(want)) || strstr(r.err, "TRACE_E_") ||
        !strstr(r.err, "checksum mismatch") || !strstr(r.err, "verified before it)\n"))
        fail_msg("verify flipped: %s", r.err);
    tu_run_release(&r);
    r = st("verify", f->cut, NULL);
    assert_int_equal(r.status, 5);
    snprintf(want, sizeof want, "sandtrace verify: trace '%s' is incomplete (no footer) at offset ", f->cut);
    if (strncmp(r.err, want, strlen(want)) || strstr(r.err, "TRACE_E_") ||
        !strstr(r.err, "it is still being written, or was cut short"))
        fail_msg("verify cut: %s", r.err);
    tu_run_release(&r);
    r = st("verify", f->keyed, NULL);
    assert_int_equal(r.status, 7);
    snprintf(want, sizeof want, "sandtrace verify: trace '%s' cannot be verified at offset 12: "
             "the trace is keyed", f->keyed);
    if (strncmp(r.err, want, strlen(want)))
        fail_msg("verify keyed: %s", r.err);
    tu_run_release(&r);
    r = st("verify", "--key", f->key, f->good, NULL);
    assert_int_equal(r.status, 7);
    tu_run_release(&r);
    r = st("verify", f->keyed, "-k", f->key, NULL);
    expect(&r, 0, "ok: 40 events in 3 chunks, 2061 bytes, keyed chain verified\n", "");
    r = st("verify", "-k", "/nonexistent/k", f->good, NULL);
    expect(&r, 4, "", "sandtrace verify: cannot load key '/nonexistent/k': No such file or "
                      "directory\n");
}

static void test_info_on_a_damaged_trace_exits_5(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = st("info", f->flipped, NULL);
    assert_int_equal(r.status, 5);
    assert_non_null(strstr(r.out, "\ndamaged:      at offset "));
    char want[8192];
    snprintf(want, sizeof want, "sandtrace info: trace '%s' is damaged at offset ", f->flipped);
    assert_true(!strncmp(r.err, want, strlen(want)));
    tu_run_release(&r);
    r = st("info", "--json", f->flipped, NULL);
    assert_int_equal(r.status, 5);
    assert_non_null(strstr(r.out, ",\"damaged\":{\"offset\":"));
    assert_non_null(strstr(r.out, ",\"error\":\"checksum\",\"message\":"));
    assert_null(strstr(r.out, "TRACE_E_"));
    tu_run_release(&r);
}

/* The "events" count of an `info --json` run (which is released). */
static long json_events(struct tu_run r)
{
    const char *p = strstr(r.out, ",\"events\":");
    long n = p ? strtol(p + 10, NULL, 10) : -1;
    tu_run_release(&r);
    return n;
}

static void test_dump_recover_says_what_it_skipped_and_exits_5(void **state)
{
    struct fixture *f = *state;
    struct tu_run all = st("dump", f->good, NULL);
    struct tu_run r = st("dump", "--recover", f->flipped, NULL);
    assert_int_equal(all.status, 0);
    assert_int_equal(r.status, 5);
    assert_true(r.out_len > 0 && r.out_len < all.out_len);
    char want[8192];
    snprintf(want, sizeof want, "sandtrace dump: trace '%s' is damaged: --recover skipped 1 "
             "damaged region (", f->flipped);
    if (strncmp(r.err, want, strlen(want)) || !strstr(r.err, " bytes, ") ||
        !strstr(r.err, " events lost)\n"))
        fail_msg("dump --recover: %s", r.err);
    tu_run_release(&r);
    tu_run_release(&all);
    /* The events lost are what the good trace has and the damaged one
     * does not, counted the same way by every command, whether the damage
     * is in the middle or in the first chunk (the events before the first
     * one read are lost too). */
    long good = json_events(st("info", "--json", f->good, NULL));
    const char *const damaged[] = { f->flipped, f->first };
    for (size_t d = 0; d < 2; d++) {
        long read = json_events(st("info", "--json", "--recover", damaged[d], NULL));
        assert_true(good > 0 && read > 0 && read < good);
        static const char *const cmds[] = { "dump", "stats", "export", "info" };
        for (size_t i = 0; i < 4; i++) {
            r = st(cmds[i], "--recover", damaged[d], NULL);
            snprintf(want, sizeof want, "sandtrace %s: trace '%s' is damaged: --recover skipped 1 "
                     "damaged region (", cmds[i], damaged[d]);
            if (r.status != 5 || strncmp(r.err, want, strlen(want)))
                fail_msg("%s --recover: exit %d, %s", cmds[i], r.status, r.err);
            const char *lost = strstr(r.err, " bytes, ");
            if (!lost || strtol(lost + 8, NULL, 10) != good - read)
                fail_msg("%s --recover %s: want %ld events lost: %s", cmds[i], damaged[d],
                         good - read, r.err);
            tu_run_release(&r);
        }
    }
}

static void test_dump_raw_shows_a_memory_command_event_alone(void **state)
{
    (void)state;
    struct tu_run r = st("dump", "--raw", "--events", "7", GOLDEN, NULL);
    expect(&r, 0,
           "7 +0.000045   R 0x7ffd5e3bf000 8192 -> \"Welcome to the sandbox\\n\\tline two\"... "
           "(of the call at event 6)\n", "");
    /* Without --raw, a range inside a call still shows only whole calls. */
    r = st("dump", "--events", "7", GOLDEN, NULL);
    expect(&r, 0, "", "");
}

/* A trace being written: chunks on disk, no footer yet. */
static void test_dump_of_a_trace_still_being_written_says_it_is_incomplete(void **state)
{
    struct fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/live.sbt", f->dir);
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_WRITE, &io), 0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX;
    struct trace_header h = ts_header();
    struct trace_writer *w = NULL;
    assert_int_equal(trace_writer_new(&w, io, 1, &h, &o), 0);
    for (uint64_t i = 0; i < 30; i++) {
        struct trace_event ev;
        ts_event(i, &ev);
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
        if (i == 19)
            assert_int_equal(trace_writer_flush(w), 0);
    }
    struct tu_run r = st("dump", path, NULL);
    assert_int_equal(r.status, 5);
    assert_true(r.out_len > 0);
    char want[8192];
    snprintf(want, sizeof want, "sandtrace dump: trace '%s' is incomplete after 20 events: ", path);
    if (strncmp(r.err, want, strlen(want)) || strstr(r.err, "18446744") ||
        !strstr(r.err, "it is still being written, or was cut short\n"))
        fail_msg("dump of a live trace: %s", r.err);
    tu_run_release(&r);
    r = st("info", path, NULL);
    assert_int_equal(r.status, 5);
    assert_non_null(strstr(r.out, "footer:       no (still being written, or cut short)\n"));
    tu_run_release(&r);
    r = st("info", "-j", path, NULL);
    assert_int_equal(r.status, 5);
    assert_non_null(strstr(r.out, "\"footer\":false,\"incomplete\":true,\"damaged\":{"));
    tu_run_release(&r);
    /* It grows while nothing reads it; read again, it goes further, and
     * once closed it reads whole. */
    assert_int_equal(trace_writer_flush(w), 0);
    r = st("dump", path, NULL);
    assert_int_equal(r.status, 5);
    snprintf(want, sizeof want, "sandtrace dump: trace '%s' is incomplete after 30 events: ", path);
    assert_true(!strncmp(r.err, want, strlen(want)));
    tu_run_release(&r);
    assert_int_equal(trace_writer_close(w), 0);
    r = st("dump", path, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    trace_writer_free(w);
}

/* ------------------------------------------------------------------------
 * Outputs. */

static void test_an_output_over_the_input_is_refused_and_the_input_kept(void **state)
{
    struct fixture *f = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/x.sbt", f->dir);
    size_t len, len2;
    char *orig = slurp(f->good, &len);
    tu_write_file(f->dir, "x.sbt", orig, len);
    static const char *const cmds[] = { "dump", "export", "stats", "info" };
    for (size_t i = 0; i < 4; i++) {
        char want[9000];
        struct tu_run r = st(cmds[i], "-o", path, path, NULL);
        snprintf(want, sizeof want, "sandtrace %s: refusing to write '%s': it is the input "
                 "trace '%s' (nothing was written)\n", cmds[i], path, path);
        expect(&r, 6, "", want);
        char *now = slurp(path, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(now, orig, len);
        free(now);
    }
    struct tu_run r = st("diff", f->good, path, "--output", path, NULL);
    assert_int_equal(r.status, 6);
    tu_run_release(&r);
    free(orig);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    closedir(d);
    return n;
}

static void test_outputs_appear_whole_or_not_at_all(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char out[4200];
    snprintf(out, sizeof out, "%s/out.txt", dir);
    /* A trace that cannot be opened: no output file at all. */
    struct tu_run r = st("dump", "-o", out, "/nonexistent/t.sbt", NULL);
    assert_int_equal(r.status, 4);
    tu_run_release(&r);
    assert_int_equal(count_entries(dir), 0);
    /* An existing output is kept when the trace cannot be read. */
    tu_write_file(dir, "out.txt", "keep me\n", 8);
    r = st("export", "-o", out, "/nonexistent/t.sbt", NULL);
    assert_int_equal(r.status, 4);
    tu_run_release(&r);
    size_t len;
    char *d = slurp(out, &len);
    assert_string_equal(d, "keep me\n");
    free(d);
    /* Written: the whole output, and no temporary file left beside it. */
    r = st("dump", GOLDEN, "-o", out, NULL);
    expect(&r, 0, "", "");
    struct tu_run w = st("dump", GOLDEN, NULL);
    d = slurp(out, &len);
    assert_string_equal(d, w.out);
    free(d);
    tu_run_release(&w);
    assert_int_equal(count_entries(dir), 1);
    /* Through a symbolic link, the file it names is replaced and the link stays. */
    char link[4200];
    snprintf(link, sizeof link, "%s/link.txt", dir);
    assert_int_equal(symlink("out.txt", link), 0);
    r = st("stats", GOLDEN, "-o", link, NULL);
    expect(&r, 0, "", "");
    struct stat lst;
    assert_int_equal(lstat(link, &lst), 0);
    assert_true(S_ISLNK(lst.st_mode));
    d = slurp(out, &len);
    assert_non_null(strstr(d, "% time     seconds  usecs/call"));
    free(d);
    assert_int_equal(count_entries(dir), 2);
    r = st("dump", GOLDEN, "-o", "/nonexistent/dir/out.txt", NULL);
    expect(&r, 6, "", "sandtrace dump: cannot write '/nonexistent/dir/out.txt': No such file or "
                      "directory\n");
    tu_rm_rf(dir);
    free(dir);
}

static void test_a_full_disk_is_exit_6_in_every_command(void **state)
{
    struct fixture *f = *state;
    if (access("/dev/full", W_OK) != 0)
        skip();
    static const char *const cmds[] = { "dump", "stats", "export", "info", "verify" };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char cmdline[8192], want[256];
        snprintf(cmdline, sizeof cmdline, "'%s' %s '%s' >/dev/full", tu_sandtrace(), cmds[i],
                 GOLDEN);
        const char *argv[] = { "/bin/sh", "-c", cmdline, NULL };
        struct tu_run r = tu_run(argv, NULL);
        snprintf(want, sizeof want,
                 "sandtrace %s: cannot write the output: No space left on device\n", cmds[i]);
        expect(&r, 6, "", want);
    }
    char cmdline[8192];
    snprintf(cmdline, sizeof cmdline, "'%s' diff '%s' '%s' >/dev/full", tu_sandtrace(), GOLDEN,
             f->good);
    const char *argv[] = { "/bin/sh", "-c", cmdline, NULL };
    struct tu_run r = tu_run(argv, NULL);
    expect(&r, 6, "", "sandtrace diff: cannot write the output: No space left on device\n");
    r = st("export", GOLDEN, "-o", "/dev/full", NULL);
    expect(&r, 6, "", "sandtrace export: cannot write '/dev/full': No space left on device\n");
}

/* ------------------------------------------------------------------------
 * JSON. */

static void test_json_outputs_carry_a_schema_version_and_null(void **state)
{
    (void)state;
    struct tu_run r = st("export", GOLDEN, NULL);
    assert_int_equal(r.status, 0);
    static const char head[] = "{\"schema_version\":1,\"kind\":\"header\",\"generator\":\"sandtrace ";
    assert_true(!strncmp(r.out, head, strlen(head)));
    assert_non_null(strstr(r.out, "\"exe_path\":\"/guests/cat\",\"argv\":[\"cat\"],\"keyed\":false}\n"
                                  "{\"seq\":0,"));
    assert_non_null(strstr(r.out, "{\"seq\":1,\"time_ns\":10502,\"kind\":\"mem_read_str\",\"req_seq\":0,"));
    tu_run_release(&r);
    r = st("export", "--format=perfetto", GOLDEN, NULL);
    assert_non_null(strstr(r.out, "\"otherData\":{\"schema_version\":1,"));
    tu_run_release(&r);
    r = st("info", "--json", GOLDEN, NULL);
    assert_true(!strncmp(r.out, "{\"schema_version\":1,\"trace\":", 28));
    assert_non_null(strstr(r.out, "\"exe_blake2b\":null"));
    assert_non_null(strstr(r.out, "\"damaged\":null}"));
    tu_run_release(&r);
    r = st("stats", "-j", "-e", "trace=getpid", GOLDEN, NULL);
    expect(&r, 0,
           "{\"schema_version\":1,\"functions\":[],\"total\":{\"percent_time\":null,"
           "\"seconds\":0.000000,\"usecs_per_call\":null,\"calls\":0,\"errors\":0,"
           "\"unfinished\":0,\"bytes_in\":0,\"bytes_out\":0},\"events\":27,\"exit\":"
           "{\"code\":1,\"signal\":0,\"reason\":\"exited\"}}\n", "");
}

/* ------------------------------------------------------------------------
 * The help texts say what each command can return. */

static void test_help_lists_the_exit_codes_of_the_table(void **state)
{
    (void)state;
    struct tu_run r = st("verify", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "  5  the trace is damaged, was tampered with, or is incomplete (no footer:"));
    assert_non_null(strstr(r.out, "  7  key problem"));
    assert_null(strstr(r.out, "  1  "));
    tu_run_release(&r);
    r = st("info", "--help", NULL);
    assert_non_null(strstr(r.out, "  5  the trace is damaged or cut short"));
    assert_non_null(strstr(r.out, "  6  the output cannot be written"));
    assert_null(strstr(r.out, "  1  "));
    tu_run_release(&r);
    r = st("diff", "--help", NULL);
    assert_non_null(strstr(r.out, "6 cannot write the output."));
    assert_non_null(strstr(r.out, "not both: stdin can be read only once"));
    tu_run_release(&r);
}

/* ------------------------------------------------------------------------
 * Progress: a line on a terminal for long work, nothing otherwise. */

static void test_export_shows_progress_on_a_terminal_only(void **state)
{
    struct fixture *f = *state;
    if (access("/usr/bin/script", X_OK) != 0)
        skip();
    size_t len;
    uint8_t *t = ts_make_trace(300000, 0, NULL, &len); /* ~1.5 s to export */
    tu_write_file(f->dir, "big.sbt", t, len);
    free(t);
    char big[4200], out[4200], cmd[9000];
    snprintf(big, sizeof big, "%s/big.sbt", f->dir);
    snprintf(out, sizeof out, "%s/big.json", f->dir);
    /* On a terminal (script gives it one): "\r\e[Ksandtrace export: N% (...)". */
    snprintf(cmd, sizeof cmd, "'%s' export '%s' -o '%s'", tu_sandtrace(), big, out);
    const char *argv[] = { "/usr/bin/script", "-qec", cmd, "/dev/null", NULL };
    struct tu_run r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    if (!strstr(r.out, "\r\033[Ksandtrace export: ") || !strstr(r.out, "% ("))
        fail_msg("no progress line on a terminal: [%s]", r.out);
    tu_run_release(&r);
    /* -q: none, also on a terminal. */
    snprintf(cmd, sizeof cmd, "'%s' export -q '%s' -o '%s.q'", tu_sandtrace(), big, out);
    r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_null(strstr(r.out, "sandtrace export: "));
    tu_run_release(&r);
    /* Not a terminal: nothing on stderr. */
    char out3[4200];
    snprintf(out3, sizeof out3, "%s/big3.json", f->dir);
    r = st("export", big, "-o", out3, NULL);
    expect(&r, 0, "", "");
    r = st("stats", big, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_after_the_trace_work_in_every_command),
        cmocka_unit_test(test_dump_tt_shows_wall_clock_times),
        cmocka_unit_test(test_a_grouped_flag_reports_the_unknown_letter),
        cmocka_unit_test(test_a_numeric_option_before_the_trace_requires_a_number),
        cmocka_unit_test(test_usage_errors_are_one_line_and_a_hint_in_every_command),
        cmocka_unit_test(test_unknown_trace_names_and_classes_are_errors_listing_the_classes),
        cmocka_unit_test(test_missing_and_directory_traces_exit_4_with_the_reason),
        cmocka_unit_test(test_stdin_is_a_trace_for_every_command_and_diff_reads_it_once),
        cmocka_unit_test(test_verify_says_what_is_wrong_in_words_with_the_table_codes),
        cmocka_unit_test(test_info_on_a_damaged_trace_exits_5),
        cmocka_unit_test(test_dump_recover_says_what_it_skipped_and_exits_5),
        cmocka_unit_test(test_dump_raw_shows_a_memory_command_event_alone),
        cmocka_unit_test(test_dump_of_a_trace_still_being_written_says_it_is_incomplete),
        cmocka_unit_test(test_an_output_over_the_input_is_refused_and_the_input_kept),
        cmocka_unit_test(test_outputs_appear_whole_or_not_at_all),
        cmocka_unit_test(test_a_full_disk_is_exit_6_in_every_command),
        cmocka_unit_test(test_json_outputs_carry_a_schema_version_and_null),
        cmocka_unit_test(test_help_lists_the_exit_codes_of_the_table),
        cmocka_unit_test(test_export_shows_progress_on_a_terminal_only),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
