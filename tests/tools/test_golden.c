/* Golden tests of `sandtrace dump`, `stats` and `export`: the committed
 * traces tests/golden/NAME.sbt (written by golden_gen.h) and the expected
 * outputs next to them. A change in any output shows as a failing test
 * naming the first differing line.
 *
 * SANDTRACE_UPDATE_GOLDEN=1 rewrites the traces and the expected outputs
 * (then review them with git diff). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tests/tools/golden_gen.h"
#include "tests/tools/json_mini.h"

#define GOLDEN_DIR ST_SOURCE_DIR "/tests/golden"
#define NGOLDEN (sizeof gg_goldens / sizeof gg_goldens[0])

struct output {
    const char *ext;
    const char *args[8]; /* the sandtrace arguments before the trace path */
};

static const struct output outputs[] = {
    { "dump", { "dump", NULL } },
    { "dump-raw", { "dump", "--raw", "-T", "-v", "-s", "64", NULL } },
    { "stats", { "stats", NULL } },
    { "jsonl", { "export", "--format", "jsonl", NULL } },
    { "perfetto.json", { "export", "--format", "perfetto", NULL } },
};

static int updating(void)
{
    const char *u = getenv("SANDTRACE_UPDATE_GOLDEN");
    return u && *u && strcmp(u, "0");
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 65536 * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void golden_path(char *out, size_t cap, const char *name, const char *ext)
{
    snprintf(out, cap, "%s/%s.%s", GOLDEN_DIR, name, ext);
}

static struct tu_run run_output(const struct output *o, const char *trace)
{
    const char *args[16];
    size_t n = 0;
    for (; o->args[n]; n++)
        args[n] = o->args[n];
    args[n++] = trace;
    args[n] = NULL;
    return tu_run_sandtrace(args, NULL);
}

/* Reports the first line where `got` and `want` differ. */
static void report_difference(const char *what, const char *got, const char *want)
{
    size_t line = 1;
    const char *g = got, *w = want;
    while (*g && *g == *w) {
        if (*g == '\n')
            line++;
        g++;
        w++;
    }
    const char *gl = g, *wl = w;
    while (gl > got && gl[-1] != '\n')
        gl--;
    while (wl > want && wl[-1] != '\n')
        wl--;
    fail_msg("%s differs at line %zu:\n  got:  %.*s\n  want: %.*s\n(SANDTRACE_UPDATE_GOLDEN=1 rewrites the "
             "expected outputs)",
             what, line, (int)strcspn(gl, "\n"), gl, (int)strcspn(wl, "\n"), wl);
}

/* Compares two traces event by event (every field and byte). */
static void assert_same_events(const char *a, const char *b)
{
    struct trace_io *ia = NULL, *ib = NULL;
    assert_int_equal(trace_io_open_file(a, TRACE_IO_READ, &ia), 0);
    assert_int_equal(trace_io_open_file(b, TRACE_IO_READ, &ib), 0);
    struct trace_reader *ra = NULL, *rb = NULL;
    assert_int_equal(trace_reader_open(&ra, ia, 1, NULL, NULL, 0), 0);
    assert_int_equal(trace_reader_open(&rb, ib, 1, NULL, NULL, 0), 0);
    for (;;) {
        struct trace_event ea, eb;
        int xa = trace_reader_next(ra, &ea), xb = trace_reader_next(rb, &eb);
        assert_int_equal(xa, xb);
        if (xa <= 0)
            break;
        if (ea.kind != eb.kind || ea.time_ns != eb.time_ns || ea.req_seq != eb.req_seq)
            fail_msg("event %llu differs (kind/time/req_seq) between '%s' and '%s'",
                     (unsigned long long)ea.seq, a, b);
        int same = 1;
        switch (ea.kind) {
        case TRACE_EV_REQUEST:
            same = !strcmp(ea.request.sig, eb.request.sig) && ea.request.nargs == eb.request.nargs &&
                   !memcmp(ea.request.args, eb.request.args, ea.request.nargs * 8);
            break;
        case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
        case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE:
            same = ea.mem.ptr == eb.mem.ptr && ea.mem.size == eb.mem.size && ea.mem.len == eb.mem.len &&
                   (!ea.mem.len || !memcmp(ea.mem.data, eb.mem.data, ea.mem.len));
            break;
        case TRACE_EV_SET_ERRNO: same = ea.set_errno.value == eb.set_errno.value; break;
        case TRACE_EV_RESULT:
            same = ea.result.kind == eb.result.kind && ea.result.value == eb.result.value;
            break;
        case TRACE_EV_GUEST_STDERR:
            same = ea.guest_stderr.len == eb.guest_stderr.len &&
                   !memcmp(ea.guest_stderr.data, eb.guest_stderr.data, ea.guest_stderr.len);
            break;
        case TRACE_EV_GUEST_EXIT:
            same = ea.guest_exit.code == eb.guest_exit.code && ea.guest_exit.signal == eb.guest_exit.signal;
            break;
        default: break;
        }
        if (!same)
            fail_msg("event %llu differs between '%s' and '%s'", (unsigned long long)ea.seq, a, b);
    }
    trace_reader_free(ra);
    trace_reader_free(rb);
}

static void test_golden_generator_reproduces_committed_traces(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    for (size_t i = 0; i < NGOLDEN; i++) {
        if (gg_goldens[i].recorded)
            continue;
        char fresh[4096], committed[4096];
        snprintf(fresh, sizeof fresh, "%s/%s.sbt", tmp, gg_goldens[i].name);
        golden_path(committed, sizeof committed, gg_goldens[i].name, "sbt");
        if (gg_write_trace(&gg_goldens[i], updating() ? committed : fresh, GOLDEN_DIR) < 0)
            fail_msg("cannot generate golden trace '%s'", gg_goldens[i].name);
        if (!updating())
            assert_same_events(fresh, committed);
    }
    tu_rm_rf(tmp);
    free(tmp);
}

static void test_golden_outputs_match_committed_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < NGOLDEN; i++) {
        char trace[4096];
        golden_path(trace, sizeof trace, gg_goldens[i].name, "sbt");
        for (size_t k = 0; k < sizeof outputs / sizeof outputs[0]; k++) {
            if (gg_goldens[i].dump_only && strcmp(outputs[k].ext, "dump") && strcmp(outputs[k].ext, "stats"))
                continue;
            char want_path[4096];
            golden_path(want_path, sizeof want_path, gg_goldens[i].name, outputs[k].ext);
            struct tu_run r = run_output(&outputs[k], trace);
            if (r.status != 0)
                fail_msg("sandtrace %s of '%s' exited %d: %s", outputs[k].args[0], gg_goldens[i].name,
                         r.status, r.err);
            if (updating()) {
                tu_write_file(GOLDEN_DIR, strrchr(want_path, '/') + 1, r.out, r.out_len);
            } else {
                size_t len = 0;
                char *want = read_file(want_path, &len);
                if (!want)
                    fail_msg("missing expected output '%s'", want_path);
                if (len != r.out_len || memcmp(want, r.out, len)) {
                    char what[4200];
                    snprintf(what, sizeof what, "%s.%s", gg_goldens[i].name, outputs[k].ext);
                    report_difference(what, r.out, want);
                }
                free(want);
            }
            tu_run_release(&r);
        }
    }
}

/* Recording the example guests again (tests/golden/record.sh) gives traces
 * that `sandtrace diff` finds equivalent to the committed ones: same calls,
 * same data, whatever the times and addresses. */
static void test_golden_recordings_are_reproduced_by_a_new_recording(void **state)
{
    (void)state;
    if (updating())
        skip();
    char *tmp = tu_mkdtemp();
    const char *argv[] = { "/bin/sh", ST_SOURCE_DIR "/tests/golden/record.sh", ST_BUILD_DIR, tmp, NULL };
    struct tu_run r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    for (size_t i = 0; i < NGOLDEN; i++) {
        if (!gg_goldens[i].recorded)
            continue;
        char fresh[4096], committed[4096];
        snprintf(fresh, sizeof fresh, "%s/%s.sbt", tmp, gg_goldens[i].name);
        golden_path(committed, sizeof committed, gg_goldens[i].name, "sbt");
        r = tu_run_sandtrace((const char *[]){ "diff", committed, fresh, NULL }, NULL);
        if (r.status != 0)
            fail_msg("a new recording of '%s' differs from the committed one (if the controller's answers "
                     "changed on purpose, run tests/golden/record.sh and SANDTRACE_UPDATE_GOLDEN=1 "
                     "build/tests/tools/test_golden):\n%s%s",
                     gg_goldens[i].name, r.out, r.err);
        tu_run_release(&r);
    }
    tu_rm_rf(tmp);
    free(tmp);
}

/* The dump of a golden trace shows the decoding the issue asks for. */
static void test_golden_dump_decodes_symbolically(void **state)
{
    (void)state;
    static const struct { const char *name, *line; } want[] = {
        { "cat", "open(\"/etc/motd\", O_RDONLY, 0) = 3" },
        { "cat", "read(3, \"Welcome to the sandbox\\n\\tline two\"..., 8192) = 8192" },
        { "cat", "open(\"/nonexistent\", O_RDONLY, 0) = -1 ENOENT (No such file or directory)" },
        { "stat", "stat64(\"/tmp/x\", {st_mode=S_IFREG|0644, st_size=120, ...}) = 0" },
        { "stat", "stat64(\"/dev/null\", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0" },
        { "ls", "readdir(0x5606e9527000) = 0x5606e9527000 {d_ino=102, d_type=DT_REG, d_name=\"os.py\"}" },
        { "clock", "getcwd(0x7ffd5e3c0f00, 2) = NULL ERANGE (Numerical result out of range)" },
        { "clock", "clock_gettime(CLOCK_MONOTONIC, {tv_sec=42, tv_nsec=5}) = 0" },
        { "clock", "lseek(3, -16, SEEK_END) = 104" },
        { "clock", "unknown_call(0x7ffd5e3c0f00, 1.5, -7) = -1 ENOSYS (Function not implemented)" },
        { "clock", "read(0, 0x7ffd5e3c0f00, 4096 <unfinished ...>" },
        { "clock", "+++ killed by SIGKILL (killed by the time limit) +++" },
        { "allcalls", "faccessat(0, \"/nonexistent/sandtrace-allcalls\", F_OK, 0) = -1 ENOENT" },
        { "stat", "fstatat64(AT_FDCWD, \"/tmp/link\", {st_mode=S_IFLNK|0777, st_size=6, ...}, AT_SYMLINK_NOFOLLOW) = 0" },
        { "stat", "faccessat(AT_FDCWD, \"/tmp/x\", R_OK|W_OK, AT_EACCESS) = -1 EACCES (Permission denied)" },
        { "stat", "open(\"/tmp/x.pyc\", O_WRONLY|O_CREAT|O_EXCL|O_TRUNC|O_CLOEXEC|040000000000, 0100644) = -1 EROFS" },
        { "pypy2-startup", "open(\"/proc/meminfo\", O_RDONLY, 0644) = -1 ENOENT (No such file or directory)" },
        { "pypy2-startup", "fcntl(1, F_GETFL) = -1 ENOSYS (Function not implemented)" },
        { "pypy2-startup", "write(1, \"42\\n\", 3) = 3" },
        { "pypy3-startup", "mkdir(0x559c03f28300, 0777) = -1 EPERM (Operation not permitted)" },
        { "pypy3-startup", "lseek(3, 0, SEEK_CUR) = 0" },
        { "rec-echo-stdin", "read(0, \"line one\\nline two\\n\", 65536) = 18" },
        { "rec-cat", "open(\"/nonexistent\", O_RDONLY, 0) = -1 ENOENT (No such file or directory)" },
        { "rec-importer", "open(\"/lib/os.py\", O_RDONLY, 0666) = 3" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char trace[4096];
        golden_path(trace, sizeof trace, want[i].name, "sbt");
        struct tu_run r = tu_run_sandtrace((const char *[]){ "dump", trace, NULL }, NULL);
        assert_int_equal(r.status, 0);
        if (!strstr(r.out, want[i].line))
            fail_msg("dump of '%s' lacks '%s'", want[i].name, want[i].line);
        tu_run_release(&r);
    }
}

static size_t count_events(const char *trace)
{
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(trace, TRACE_IO_READ, &io), 0);
    struct trace_reader *r = NULL;
    assert_int_equal(trace_reader_open(&r, io, 1, NULL, NULL, 0), 0);
    struct trace_event ev;
    size_t n = 0, req = 0;
    while (trace_reader_next(r, &ev) > 0) {
        n++;
        req += ev.kind == TRACE_EV_REQUEST;
    }
    trace_reader_free(r);
    return n << 20 | req;
}

static void test_export_jsonl_parses_one_object_per_event(void **state)
{
    (void)state;
    for (size_t i = 0; i < NGOLDEN; i++) {
        char trace[4096];
        golden_path(trace, sizeof trace, gg_goldens[i].name, "sbt");
        struct tu_run r = tu_run_sandtrace((const char *[]){ "export", "--format", "jsonl", trace, NULL }, NULL);
        assert_int_equal(r.status, 0);
        size_t lines = 0;
        const char *p = r.out;
        /* Issue #16: a header line first, with the schema version. */
        static const char head[] = "{\"schema_version\":1,\"kind\":\"header\",";
        assert_true(!strncmp(p, head, strlen(head)));
        p = strchr(p, '\n') + 1;
        while (*p) {
            const char *nl = strchr(p, '\n');
            assert_non_null(nl);
            struct jm_val v;
            const char *err = NULL;
            if (jm_parse(p, (size_t)(nl - p), &v, &err) < 0)
                fail_msg("%s: line %zu is not JSON (%s): %.*s", gg_goldens[i].name, lines + 1, err,
                         (int)(nl - p), p);
            assert_int_equal(v.type, JM_OBJ);
            const struct jm_val *seq = jm_get(&v, "seq"), *kind = jm_get(&v, "kind"),
                                *t = jm_get(&v, "time_ns");
            assert_non_null(seq);
            assert_non_null(kind);
            assert_non_null(t);
            assert_int_equal(seq->type, JM_NUM);
            assert_true(seq->num == (double)lines);
            assert_int_equal(kind->type, JM_STR);
            if (!strcmp(kind->str, "request"))
                assert_non_null(jm_get(&v, "sig"));
            if (!strcmp(kind->str, "result"))
                assert_non_null(jm_get(&v, "call"));
            jm_free(&v);
            lines++;
            p = nl + 1;
        }
        assert_int_equal(lines, count_events(trace) >> 20);
        tu_run_release(&r);
    }
}

static void test_export_perfetto_is_a_chrome_trace_with_one_slice_per_call(void **state)
{
    (void)state;
    for (size_t i = 0; i < NGOLDEN; i++) {
        char trace[4096];
        golden_path(trace, sizeof trace, gg_goldens[i].name, "sbt");
        struct tu_run r = tu_run_sandtrace((const char *[]){ "export", "--format", "perfetto", trace, NULL },
                                           NULL);
        assert_int_equal(r.status, 0);
        struct jm_val v;
        const char *err = NULL;
        if (jm_parse(r.out, r.out_len, &v, &err) < 0)
            fail_msg("%s: perfetto output is not JSON: %s", gg_goldens[i].name, err);
        const struct jm_val *evs = jm_get(&v, "traceEvents");
        assert_non_null(evs);
        assert_int_equal(evs->type, JM_ARR);
        size_t slices = 0, instants = 0;
        for (size_t k = 0; k < evs->n; k++) {
            const struct jm_val *e = &evs->items[k];
            const struct jm_val *ph = jm_get(e, "ph"), *name = jm_get(e, "name");
            assert_non_null(ph);
            assert_non_null(name);
            assert_int_equal(name->type, JM_STR);
            assert_non_null(jm_get(e, "pid"));
            assert_non_null(jm_get(e, "tid"));
            if (!strcmp(ph->str, "X")) {
                const struct jm_val *ts = jm_get(e, "ts"), *dur = jm_get(e, "dur");
                assert_non_null(ts);
                assert_non_null(dur);
                assert_int_equal(ts->type, JM_NUM);
                assert_true(dur->num >= 0);
                assert_non_null(jm_get(jm_get(e, "args"), "call"));
                slices++;
            } else if (!strcmp(ph->str, "i")) {
                assert_non_null(jm_get(e, "ts"));
                instants++;
            } else {
                assert_string_equal(ph->str, "M");
            }
        }
        assert_int_equal(slices, count_events(trace) & 0xfffff);
        assert_true(instants >= 1); /* at least the exit */
        jm_free(&v);
        tu_run_release(&r);
    }
}

/* When python3 is there, its parser agrees (the C parser above always runs). */
static void test_export_outputs_parse_with_python_when_available(void **state)
{
    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0)
        skip();
    char trace[4096];
    golden_path(trace, sizeof trace, "pypy2-startup", "sbt");
    struct tu_run r = tu_run_sandtrace((const char *[]){ "export", "--format", "perfetto", trace, NULL }, NULL);
    assert_int_equal(r.status, 0);
    const char *py[] = { "/usr/bin/python3", "-c",
                         "import json,sys; d=json.load(sys.stdin); print(len(d['traceEvents']))", NULL };
    struct tu_run p = tu_run_env(py, r.out, r.out_len, NULL);
    assert_int_equal(p.status, 0);
    assert_true(atoi(p.out) > 300);
    tu_run_release(&p);
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "export", "--format", "jsonl", trace, NULL }, NULL);
    const char *py2[] = { "/usr/bin/python3", "-c",
                          "import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)['kind'] != 'header'))", NULL };
    p = tu_run_env(py2, r.out, r.out_len, NULL);
    assert_int_equal(p.status, 0);
    assert_int_equal((size_t)atol(p.out), count_events(trace) >> 20);
    tu_run_release(&p);
    tu_run_release(&r);
}

static void test_json_checker_refuses_invalid_json(void **state)
{
    (void)state;
    static const char *const bad[] = { "{\"a\":1,}", "[1 2]", "\"\\x41\"", "01", "\"a\nb\"",
                                       "{\"a\":1} x", "\"\xc3\"", "[\"\\ud800\"]", "nul", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct jm_val v;
        if (jm_parse(bad[i], strlen(bad[i]), &v, NULL) == 0)
            fail_msg("accepted invalid JSON: %s", bad[i]);
    }
    struct jm_val v;
    const char *ok = "{\"a\":[1,-2.5e3,true,null,\"\\u00e9\\ud83d\\ude00\"]}";
    assert_int_equal(jm_parse(ok, strlen(ok), &v, NULL), 0);
    assert_string_equal(jm_get(&v, "a")->items[4].str, "\xc3\xa9\xf0\x9f\x98\x80");
    jm_free(&v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_generator_reproduces_committed_traces),
        cmocka_unit_test(test_golden_outputs_match_committed_files),
        cmocka_unit_test(test_golden_dump_decodes_symbolically),
        cmocka_unit_test(test_golden_recordings_are_reproduced_by_a_new_recording),
        cmocka_unit_test(test_export_jsonl_parses_one_object_per_event),
        cmocka_unit_test(test_export_perfetto_is_a_chrome_trace_with_one_slice_per_call),
        cmocka_unit_test(test_export_outputs_parse_with_python_when_available),
        cmocka_unit_test(test_json_checker_refuses_invalid_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
