/* `sandtrace record` (and `run --record`) end to end: every example guest
 * recorded and read back with the trace reader, determinism, the ends of a
 * guest (violation, limits), a recorder killed mid-run, and the real PyPys
 * that PYPY_SANDBOX and PYPY3_SANDBOX name (tests/pypy_env.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <libgen.h>
#include <poll.h>

#include "tests/testutil.h"
#include "tests/pypy_env.h"
#include "tests/tracer/trace_events.h"

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = tu_mkdtemp();
    char d[2048];
    snprintf(d, sizeof d, "%s/world", tmpdir);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/world/sub", tmpdir);
    mkdir(d, 0755);
    snprintf(d, sizeof d, "%s/world", tmpdir);
    tu_write_file(d, "a.txt", "file one\n", 9);
    tu_write_file(d, "b.py", "print(1)\n", 9);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(tmpdir);
    free(tmpdir);
    return 0;
}

static const char *trace_path(const char *name)
{
    static char bufs[4][4200];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s.sbt", tmpdir, name);
    return b;
}

static const char *world_mount(void)
{
    static char b[4300];
    snprintf(b, sizeof b, "/d=%s/world", tmpdir);
    return b;
}

/* trace_verify on a file: the result's error. */
static int verify_file(const char *path, struct trace_verify_result *res)
{
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    int rc = trace_verify(io, NULL, res);
    trace_io_free(io);
    return rc;
}

/* Records with the given sandtrace arguments; checks the exit status and
 * that the trace verifies and reads to a clean end, with GUEST_EXIT last. */
static void record_ok(const char *const *args, const char *in, int want_status, const char *path,
                      struct tevs *t)
{
    struct tu_run r = tu_run_sandtrace(args, in);
    if (r.status != want_status)
        fail_msg("sandtrace %s: status %d, want %d; stderr: %s", args[0], r.status, want_status,
                 r.err);
    tu_run_release(&r);
    struct trace_verify_result vr;
    if (verify_file(path, &vr) != 0)
        fail_msg("trace '%s' does not verify: %s", path, vr.message);
    assert_int_equal(tevs_read(path, t), 0);
    assert_int_equal(t->end, 0);
    assert_true(t->n >= 1);
    assert_int_equal(t->ev[t->n - 1].kind, TRACE_EV_GUEST_EXIT);
}

/* Every request is followed by its memory commands and one result before the
 * next request; `open_last` allows the last request to stay open (_exit). */
static void check_pairing(const struct tevs *t, int open_last)
{
    int open = 0;
    for (size_t i = 0; i < t->n; i++) {
        switch (t->ev[i].kind) {
        case TRACE_EV_REQUEST:
            if (open)
                fail_msg("event %zu: request while another is open", i);
            open = 1;
            break;
        case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
        case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE: case TRACE_EV_SET_ERRNO:
            if (!open)
                fail_msg("event %zu: memory command outside a request", i);
            break;
        case TRACE_EV_RESULT:
            if (!open)
                fail_msg("event %zu: result outside a request", i);
            open = 0;
            break;
        default:
            break;
        }
    }
    if (open && !open_last)
        fail_msg("the last request has no result");
}

/* 1 if some event of `kind` carries data containing `needle`. */
static int has_data(const struct tevs *t, enum trace_event_kind kind, const char *needle)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ev[i].kind == kind && t->ev[i].data &&
            memmem(t->ev[i].data, t->ev[i].len, needle, strlen(needle)))
            return 1;
    return 0;
}

static void test_record_hello_has_each_write_with_its_bytes(void **state)
{
    (void)state;
    const char *path = trace_path("hello");
    struct tevs t;
    record_ok((const char *[]){ "record", "-o", path, "--", tu_guest("hello"), NULL }, NULL, 0,
              path, &t);
    static const char *const lines[2] = { "hello from the sandbox\n",
                                          "hello: this line goes to stderr\n" };
    assert_int_equal(t.n, 7);
    for (int k = 0; k < 2; k++) {
        const struct tev *req = &t.ev[3 * k], *rd = &t.ev[3 * k + 1], *res = &t.ev[3 * k + 2];
        assert_int_equal(req->kind, TRACE_EV_REQUEST);
        assert_string_equal(req->sig, "write(ipi)i");
        assert_int_equal(req->nargs, 3);
        assert_int_equal(req->args[0], (uint64_t)(k + 1));
        assert_int_equal(req->args[2], strlen(lines[k]));
        assert_int_equal(rd->kind, TRACE_EV_MEM_READ);
        assert_int_equal(rd->ptr, req->args[1]);
        assert_int_equal(rd->len, strlen(lines[k]));
        assert_memory_equal(rd->data, lines[k], rd->len);
        assert_int_equal(res->kind, TRACE_EV_RESULT);
        assert_int_equal(res->rkind, 'i');
        assert_int_equal(res->value, strlen(lines[k]));
    }
    assert_int_equal(t.ev[6].code, 0);
    assert_int_equal(t.ev[6].signal, 0);
    /* The header names the guest and the argv it saw. */
    assert_string_equal(t.exe, tu_guest("hello"));
    assert_int_equal(t.exe_hash_set, 1);
    assert_int_equal(t.argc, 1);
    assert_string_equal(t.argv0, "/bin/hello");
    assert_true(t.policy_count > 10);
    tevs_release(&t);
}

struct guest_case {
    const char *name;
    const char *args[4];
    const char *in;
    int open_last;                   /* ends with _exit */
    enum trace_event_kind kind;      /* an event carrying `needle` */
    const char *needle;
};

static void test_record_every_example_guest_reads_back_with_its_data(void **state)
{
    (void)state;
    const struct guest_case cases[] = {
        { "cat", { "/d/a.txt" }, NULL, 0, TRACE_EV_MEM_WRITE, "file one\n" },
        { "cat", { "/d/a.txt" }, NULL, 0, TRACE_EV_MEM_READ, "file one\n" },
        { "ls", { "/d" }, NULL, 0, TRACE_EV_MEM_WRITE, "b.py" },
        { "ls", { "/d" }, NULL, 0, TRACE_EV_MEM_READ, "sub" },
        { "stat", { "/d/a.txt" }, NULL, 0, TRACE_EV_MEM_READ_STR, "/d/a.txt" },
        { "echo-stdin", { NULL }, "some input\n", 0, TRACE_EV_MEM_WRITE, "some input\n" },
        { "ping", { "3" }, NULL, 0, TRACE_EV_MEM_READ, "ping: 3 requests" },
        { "writer", { "2", "5" }, NULL, 0, TRACE_EV_MEM_READ, "01234" },
        { "clock", { NULL }, NULL, 0, TRACE_EV_MEM_READ, "pid: 4200" },
        { "importer", { "/d" }, NULL, 0, TRACE_EV_MEM_WRITE, "print(1)\n" },
        { "allcalls", { NULL }, NULL, 1, TRACE_EV_MEM_READ, "getpid()i = 4200" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const struct guest_case *g = &cases[c];
        const char *path = trace_path(g->name);
        const char *args[16] = { "record", "-o", path, "--mount", world_mount(), "--",
                                 tu_guest(g->name) };
        size_t n = 7;
        for (size_t k = 0; k < 4 && g->args[k]; k++)
            args[n++] = g->args[k];
        args[n] = NULL;
        struct tevs t;
        record_ok(args, g->in, 0, path, &t);
        check_pairing(&t, g->open_last);
        assert_true(tevs_count(&t, TRACE_EV_REQUEST) >= 1);
        if (!has_data(&t, g->kind, g->needle))
            fail_msg("%s: no %s event holds '%s'", g->name, trace_event_kind_name(g->kind),
                     g->needle);
        tevs_release(&t);
    }
}

static void read_lines(const char *path, char ***lines, size_t *n)
{
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, 0);
    *lines = calloc(t.n, sizeof **lines);
    *n = t.n;
    for (size_t i = 0; i < t.n; i++) {
        char buf[8192];
        tev_line(&t.ev[i], buf, sizeof buf, 1);
        (*lines)[i] = strdup(buf);
    }
    tevs_release(&t);
}

static void test_record_twice_gives_identical_event_streams(void **state)
{
    (void)state;
    const char *p1 = trace_path("det1"), *p2 = trace_path("det2");
    for (int k = 0; k < 2; k++) {
        const char *p = k ? p2 : p1;
        struct tu_run r = tu_run_sandtrace(
            (const char *[]){ "record", "-o", p, "--no-aslr", "--mount", world_mount(), "--",
                              tu_guest("importer"), "/d", "2", NULL },
            NULL);
        assert_int_equal(r.status, 0);
        tu_run_release(&r);
    }
    char **a, **b;
    size_t na, nb;
    read_lines(p1, &a, &na);
    read_lines(p2, &b, &nb);
    assert_int_equal(na, nb);
    assert_true(na > 50);
    for (size_t i = 0; i < na; i++) {
        if (strcmp(a[i], b[i]) != 0)
            fail_msg("event %zu differs:\n  %s\n  %s", i, a[i], b[i]);
        free(a[i]);
        free(b[i]);
    }
    free(a);
    free(b);
}

static const char *tguest(void)
{
    return tu_build_path("testguests/tguest");
}

static void test_record_protocol_violation_ends_with_violation_then_exit(void **state)
{
    (void)state;
    const char *modes[] = { "bad-kind", "zero-length", "too-many-args" };
    for (size_t m = 0; m < 3; m++) {
        const char *path = trace_path(modes[m]);
        struct tevs t;
        record_ok((const char *[]){ "record", "-o", path, "--quiet", "--", tguest(), modes[m],
                                    NULL },
                  NULL, 76, path, &t);
        assert_true(t.n >= 2);
        const struct tev *v = &t.ev[t.n - 2];
        if (v->kind != TRACE_EV_VIOLATION)
            fail_msg("%s: event before the exit is %s", modes[m], trace_event_kind_name(v->kind));
        assert_true(v->len >= 1); /* the offending bytes */
        if (!strcmp(modes[m], "bad-kind"))
            assert_non_null(memmem(v->data, v->len, "f(x)i", 5));
        tevs_release(&t);
    }
}

static void test_record_refused_call_is_a_note(void **state)
{
    (void)state;
    const char *path = trace_path("refused");
    struct tevs t;
    record_ok((const char *[]){ "record", "-o", path, "--", tu_build_path("testguests/tguest"),
                                "refused", NULL },
              NULL, 0, path, &t);
    long note = tevs_find(&t, TRACE_EV_NOTE, 0);
    assert_true(note >= 1);
    assert_non_null(strstr(t.ev[note].text, "refused 'fork()i'"));
    /* The note sits inside the refused request, before its errno and result. */
    assert_int_equal(t.ev[note - 1].kind, TRACE_EV_REQUEST);
    assert_string_equal(t.ev[note - 1].sig, "fork()i");
    assert_int_equal(t.ev[note + 1].kind, TRACE_EV_SET_ERRNO);
    tevs_release(&t);
}

static void test_record_max_calls_ends_with_limit_then_exit(void **state)
{
    (void)state;
    const char *path = trace_path("maxcalls");
    struct tevs t;
    record_ok((const char *[]){ "record", "-o", path, "--quiet", "--max-calls", "3", "--",
                                tu_guest("ping"), "10", NULL },
              NULL, 75, path, &t);
    long lim = tevs_find(&t, TRACE_EV_LIMIT, 0);
    assert_true(lim >= 0);
    /* The limit has the name of the status it causes (run --outcome). */
    assert_string_equal(t.ev[lim].text, "max-calls");
    assert_int_equal(t.ev[lim].value, 3);
    assert_int_equal(tevs_count(&t, TRACE_EV_RESULT), 3);
    assert_int_equal(t.ev[t.n - 1].kind, TRACE_EV_GUEST_EXIT);
    tevs_release(&t);
}

static void test_record_timeout_ends_with_limit_then_exit(void **state)
{
    (void)state;
    const char *path = trace_path("timeout");
    struct tevs t;
    record_ok((const char *[]){ "record", "-o", path, "--quiet", "--timeout", "0.3", "--",
                                tguest(), "spin", NULL },
              NULL, 71, path, &t);
    long lim = tevs_find(&t, TRACE_EV_LIMIT, 0);
    assert_true(lim >= 0);
    assert_string_equal(t.ev[lim].text, "timeout");
    assert_int_equal(t.ev[lim].value, 300);
    tevs_release(&t);
}

static void test_run_record_writes_the_same_trace_as_record(void **state)
{
    (void)state;
    const char *p1 = trace_path("viarun"), *p2 = trace_path("viarecord");
    struct tu_run r = tu_run_sandtrace(
        (const char *[]){ "run", "--record", p1, "--no-aslr", "--", tu_guest("ping"), "4", NULL },
        NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "ping: 4 requests"));
    tu_run_release(&r);
    r = tu_run_sandtrace(
        (const char *[]){ "record", "--no-aslr", "-o", p2, "--", tu_guest("ping"), "4", NULL },
        NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    char **a, **b;
    size_t na, nb;
    read_lines(p1, &a, &na);
    read_lines(p2, &b, &nb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_string_equal(a[i], b[i]);
        free(a[i]);
        free(b[i]);
    }
    free(a);
    free(b);
}

static void test_record_guest_arguments_are_never_taken_as_options(void **state)
{
    (void)state;
    /* "-o" after the executable belongs to the guest. */
    const char *path = trace_path("guestargs");
    struct tevs t;
    record_ok((const char *[]){ "record", "-o", path, "--mount", world_mount(), "--",
                                tu_guest("cat"), "/d/a.txt", NULL },
              NULL, 0, path, &t);
    tevs_release(&t);
    struct tu_run r = tu_run_sandtrace(
        (const char *[]){ "record", "-o", path, "--", tu_guest("stat"), "-o", "x", NULL }, NULL);
    /* stat reports '-o' as a missing path: the trace holds that request. */
    assert_int_equal(tevs_read(path, &t), 0);
    assert_true(has_data(&t, TRACE_EV_MEM_READ_STR, "-o"));
    tevs_release(&t);
    tu_run_release(&r);
}

static void test_record_usage_errors(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "record", "--", tu_guest("hello"), NULL },
                                       NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "no trace file given"));
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "record", "-o", NULL }, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "sandtrace record: option '-o' requires an argument\n"
                               "Try 'sandtrace record --help' for more information.\n");
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "record", "-o", trace_path("nope"), "--bogus", "--",
                                           tu_guest("hello"), NULL },
                         NULL);
    assert_int_equal(r.status, 2);
    tu_run_release(&r);
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/t.sbt", tmpdir);
    r = tu_run_sandtrace((const char *[]){ "record", "-o", bad, "--", tu_guest("hello"), NULL },
                         NULL);
    /* An output that cannot be written: 6, before the guest runs. */
    assert_int_equal(r.status, 6);
    assert_non_null(strstr(r.err, "sandtrace record: cannot write '"));
    assert_non_null(strstr(r.err, "/no/such/dir/t.sbt': No such file or directory\n"));
    assert_null(strstr(r.out, "hello"));
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "record", "--help", NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "usage: sandtrace record -o FILE"));
    tu_run_release(&r);
}

static void test_record_keyed_trace_verifies_only_with_its_key(void **state)
{
    (void)state;
    tu_write_file(tmpdir, "key", "0123456789abcdef0123456789abcdef", 32);
    char key_path[4300];
    snprintf(key_path, sizeof key_path, "%s/key", tmpdir);
    const char *path = trace_path("keyed");
    struct tu_run r = tu_run_sandtrace((const char *[]){ "record", "-o", path, "--key", key_path,
                                                         "--sync", "--", tu_guest("ping"), "2",
                                                         NULL },
                                       NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    uint8_t key[TRACE_KEY_BYTES];
    assert_int_equal(trace_key_load(key_path, key), 0);
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    struct trace_verify_result vr;
    assert_int_equal(trace_verify(io, key, &vr), 0);
    assert_int_equal(vr.keyed, 1);
    trace_io_free(io);
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    assert_int_equal(trace_verify(io, NULL, &vr), TRACE_E_KEY_REQUIRED);
    trace_io_free(io);
}

static void test_record_killed_recorder_keeps_its_complete_chunks(void **state)
{
    (void)state;
    const char *path = trace_path("killed");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        setpgid(0, 0);
        execl(tu_sandtrace(), tu_sandtrace(), "record", "-o", path, "--", tu_guest("ping"),
              "1000000000", (char *)NULL);
        _exit(127);
    }
    /* Wait until a few chunks are on disk, then kill it mid-run. */
    struct stat st;
    double deadline = tu__now() + 30;
    while (tu__now() < deadline && (stat(path, &st) != 0 || st.st_size < 20000)) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size >= 20000);

    struct trace_verify_result vr;
    int rc = verify_file(path, &vr);
    assert_int_equal(rc, TRACE_E_TRUNCATED);
    assert_true(vr.chunks >= 1);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, TRACE_E_TRUNCATED);
    assert_int_equal(t.n, vr.events);
    assert_true(t.n > 100);
    /* What was kept is a clean prefix: getpid requests with their results. */
    for (size_t i = 0; i + 1 < t.n; i += 2) {
        assert_int_equal(t.ev[i].kind, TRACE_EV_REQUEST);
        assert_string_equal(t.ev[i].sig, "getpid()i");
        assert_int_equal(t.ev[i + 1].kind, TRACE_EV_RESULT);
        assert_int_equal(t.ev[i + 1].value, 4200);
    }
    tevs_release(&t);
}

static void test_record_quiet_guest_events_reach_disk_before_the_end(void **state)
{
    (void)state;
    /* echo-stdin waits for input in read(0): nothing moves in the session,
     * yet what it did so far must be on disk (then SIGKILL loses nothing). */
    const char *path = trace_path("quiet");
    int in[2];
    assert_int_equal(pipe(in), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(in[0], 0);
        dup2(null, 1);
        dup2(null, 2);
        close(in[1]);
        setpgid(0, 0);
        execl(tu_sandtrace(), tu_sandtrace(), "record", "-o", path, "--", tu_guest("echo-stdin"),
              (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    assert_int_equal(write(in[1], "quiet input\n", 12), 12);
    /* Wait (bounded) until the trace holds the input, the guest still
     * blocked in its next read. */
    int seen = 0;
    double deadline = tu__now() + 20;
    while (!seen && tu__now() < deadline) {
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        struct tevs t;
        if (tevs_read(path, &t) == 0) {
            seen = has_data(&t, TRACE_EV_MEM_WRITE, "quiet input\n");
            tevs_release(&t);
        }
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    close(in[1]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(seen);
    assert_true(WIFSIGNALED(status)); /* it was still running when read */
}

/* A real sandbox-2 PyPy (pypy2, pypy3), recorded: the trace holds its write
 * of "42\n" to fd 1. */
static void test_record_real_pypy_prints_42(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    const char *path = trace_path(py->name);
    struct tevs t;
    record_ok((const char *[]){ "record", "-o", path, "--timeout", "120", "--lib-path", py->lib,
                                "--", py->exe, "-S", "-c", "print(6*7)", NULL },
              NULL, 0, path, &t);
    int found = 0;
    for (size_t i = 0; i + 1 < t.n && !found; i++)
        if (t.ev[i].kind == TRACE_EV_REQUEST && !strcmp(t.ev[i].sig, "write(ipi)i") &&
            t.ev[i].args[0] == 1 && t.ev[i + 1].kind == TRACE_EV_MEM_READ &&
            t.ev[i + 1].len == 3 && !memcmp(t.ev[i + 1].data, "42\n", 3))
            found = 1;
    assert_true(found);
    tevs_release(&t);
}

static void test_record_options_after_the_executable_are_the_guests(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace(
        (const char *[]){ "record", "--", "g", "-o", "x.sbt", NULL }, NULL);
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, "sandtrace record: no trace file given (-o FILE); options go before "
                               "the executable: '-o' after 'g' is passed to the guest\n"
                               "Try 'sandtrace record --help' for more information.\n");
    tu_run_release(&r);
}

/* The whole file (caller frees). */
static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        buf = realloc(buf, cap += 65536);
        assert_non_null(buf);
        size_t k = fread(buf + *len, 1, cap - *len, f);
        *len += k;
        if (k == 0)
            break;
    }
    fclose(f);
    return buf;
}

/* The names in `dir` that start with '.' (temporary files left behind). */
static int hidden_files(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void test_record_setup_error_leaves_an_existing_trace_untouched(void **state)
{
    (void)state;
    const char *path = trace_path("golden");
    struct tevs t;
    record_ok((const char *[]){ "record", "-o", path, "--", tu_guest("ping"), "3", NULL }, NULL, 0,
              path, &t);
    tevs_release(&t);
    size_t len0 = 0, len1 = 0;
    char *before = read_whole(path, &len0);
    /* A mount that does not exist: the guest never starts. */
    struct tu_run r = tu_run_sandtrace((const char *[]){ "record", "-o", path, "--mount",
                                                         "/d=./typo-not-there", "--",
                                                         tu_guest("hello"), NULL },
                                       NULL);
    assert_int_equal(r.status, 70);
    assert_non_null(strstr(r.err, "sandtrace record: cannot mount '/d' from './typo-not-there'"));
    tu_run_release(&r);
    /* An executable that cannot start. */
    r = tu_run_sandtrace((const char *[]){ "record", "-o", path, "--", "/no/such/guest", NULL },
                         NULL);
    assert_int_equal(r.status, 70);
    tu_run_release(&r);
    char *after = read_whole(path, &len1);
    assert_int_equal(len0, len1);
    assert_memory_equal(before, after, len0);
    assert_int_equal(hidden_files(tmpdir), 0);
    free(before);
    free(after);
}

/* Starts `sandtrace ARGS` (a record), waits until `marker` is on its stdout
 * (NULL: until the trace at `path` holds 20000 bytes), sends it `sig` and
 * returns its exit status. */
static int interrupt_record(const char *const *args, const char *path, const char *marker, int sig)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(out[1], 1);
        dup2(null, 2);
        close(out[0]);
        const char *argv[40] = { "sandtrace" };
        for (size_t i = 0; args[i] && i < 38; i++)
            argv[i + 1] = args[i];
        execv(tu_sandtrace(), (char **)argv);
        _exit(127);
    }
    close(out[1]);
    double deadline = tu__now() + 60;
    char seen[4096] = "";
    size_t nseen = 0;
    struct stat st;
    while (tu__now() < deadline) {
        if (!marker && stat(path, &st) == 0 && st.st_size >= 20000)
            break;
        if (marker) {
            struct pollfd pf = { out[0], POLLIN, 0 };
            if (poll(&pf, 1, 50) > 0) {
                ssize_t k = read(out[0], seen + nseen, sizeof seen - 1 - nseen);
                if (k <= 0)
                    break;
                nseen += (size_t)k;
                seen[nseen] = '\0';
                if (strstr(seen, marker))
                    break;
            }
            continue;
        }
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    kill(pid, sig);
    int status;
    waitpid(pid, &status, 0);
    close(out[0]);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* The trace of an interrupted recording: complete, its last events the
 * interruption (where it happened) and the end; replay stops there too. */
static void check_interrupted_trace(const char *path, int sig)
{
    struct trace_verify_result vr;
    if (verify_file(path, &vr) != 0)
        fail_msg("trace '%s' does not verify: %s", path, vr.message);
    struct tevs t;
    assert_int_equal(tevs_read(path, &t), 0);
    assert_int_equal(t.end, 0);
    long lim = tevs_find(&t, TRACE_EV_LIMIT, 0);
    assert_true(lim > 0);
    assert_string_equal(t.ev[lim].text, "interrupted");
    assert_int_equal(t.ev[t.n - 1].kind, TRACE_EV_GUEST_EXIT);
    assert_int_equal(t.ev[t.n - 1].signal, sig);
    char want[64];
    snprintf(want, sizeof want, "interrupted by signal %d (%s)", sig, strsignal(sig));
    assert_string_equal(t.ev[t.n - 1].text, want);
    tevs_release(&t);
    struct tu_run r = tu_run_sandtrace((const char *[]){ "replay", "--check", path, NULL }, NULL);
    if (r.status != 0)
        fail_msg("replay --check: status %d: %s", r.status, r.err);
    assert_non_null(strstr(r.err, "identical"));
    tu_run_release(&r);
    /* Without --check, replay exits as the recorded run did. */
    r = tu_run_sandtrace((const char *[]){ "replay", path, NULL }, NULL);
    assert_int_equal(r.status, 128 + sig);
    tu_run_release(&r);
    /* dump names the interruption without a meaningless value. */
    r = tu_run_sandtrace((const char *[]){ "dump", "--no-prefix", path, NULL }, NULL);
    assert_int_equal(r.status, 0);
    char line[128];
    snprintf(line, sizeof line, "\n!!! limit interrupted: %s !!!\n", want);
    if (!strstr(r.out, line))
        fail_msg("dump does not show '%s': ...%s", line + 1,
                 r.out_len > 300 ? r.out + r.out_len - 300 : r.out);
    tu_run_release(&r);
}

static void test_record_interrupted_exits_130_and_replays_identically(void **state)
{
    (void)state;
    const char *path = trace_path("interrupted");
    int code = interrupt_record((const char *[]){ "record", "-o", path, "--", tguest(), "calls",
                                                  "4000000000", NULL },
                                path, NULL, SIGINT);
    assert_int_equal(code, 130);
    check_interrupted_trace(path, SIGINT);
    path = trace_path("terminated");
    code = interrupt_record((const char *[]){ "record", "-o", path, "--", tguest(), "calls",
                                              "4000000000", NULL },
                            path, NULL, SIGTERM);
    assert_int_equal(code, 143);
    check_interrupted_trace(path, SIGTERM);
}

static void test_record_real_pypy_interrupted_replays_identically(void **state)
{
    struct tu_pypy *py = *state;
    TU_NEED_PYPY(py);
    char name[64];
    snprintf(name, sizeof name, "%s-interrupted", py->name);
    const char *path = trace_path(name);
    int code = interrupt_record(
        (const char *[]){ "record", "-o", path, "--timeout", "120", "--lib-path", py->lib, "--",
                          py->exe, "-S", "-c",
                          "import os, time\nos.write(1, b'ready\\n')\nwhile 1: time.time()\n",
                          NULL },
        path, "ready\n", SIGINT);
    assert_int_equal(code, 130);
    check_interrupted_trace(path, SIGINT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_hello_has_each_write_with_its_bytes),
        cmocka_unit_test(test_record_every_example_guest_reads_back_with_its_data),
        cmocka_unit_test(test_record_twice_gives_identical_event_streams),
        cmocka_unit_test(test_record_protocol_violation_ends_with_violation_then_exit),
        cmocka_unit_test(test_record_refused_call_is_a_note),
        cmocka_unit_test(test_record_max_calls_ends_with_limit_then_exit),
        cmocka_unit_test(test_record_timeout_ends_with_limit_then_exit),
        cmocka_unit_test(test_run_record_writes_the_same_trace_as_record),
        cmocka_unit_test(test_record_guest_arguments_are_never_taken_as_options),
        cmocka_unit_test(test_record_usage_errors),
        cmocka_unit_test(test_record_options_after_the_executable_are_the_guests),
        cmocka_unit_test(test_record_setup_error_leaves_an_existing_trace_untouched),
        cmocka_unit_test(test_record_interrupted_exits_130_and_replays_identically),
        cmocka_unit_test(test_record_keyed_trace_verifies_only_with_its_key),
        cmocka_unit_test(test_record_killed_recorder_keeps_its_complete_chunks),
        cmocka_unit_test(test_record_quiet_guest_events_reach_disk_before_the_end),
        TU_PYPY_TESTS(test_record_real_pypy_prints_42),
        TU_PYPY_TESTS(test_record_real_pypy_interrupted_replays_identically),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
