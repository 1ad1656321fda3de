/* The symbolic printer (tools/trace_print.c) and the call collector
 * (tools/trace_calls.c), tested through their API with events made in
 * memory, plus the dump/stats/export command lines on damaged input.
 * tools/ is not a library: its sources are compiled into this program. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "tools/options.c"
#include "tools/progress.c"
#include "tools/trace_calls.c"
#include "tools/trace_cli.c"
#include "tools/trace_print.c"
#include "tools/trace_print_args.c"
#include "tools/trace_print_filter.c"

/* ------------------------------------------------------------------------
 * Building calls from events. */

struct evs {
    struct trace_event ev[64];
    size_t n;
    uint64_t seq, open_req;
};

static struct trace_event *ev_add(struct evs *e, enum trace_event_kind k)
{
    struct trace_event *ev = &e->ev[e->n++];
    memset(ev, 0, sizeof *ev);
    ev->kind = k;
    ev->seq = e->seq++;
    ev->time_ns = 1000000 + ev->seq * 1500;
    ev->req_seq = k == TRACE_EV_REQUEST ? TRACE_SEQ_NONE : e->open_req;
    if (k == TRACE_EV_REQUEST)
        e->open_req = ev->seq;
    return ev;
}

static void req(struct evs *e, const char *sig, size_t n, const uint64_t *args)
{
    struct trace_event *ev = ev_add(e, TRACE_EV_REQUEST);
    ev->request.sig = sig;
    ev->request.nargs = n;
    memcpy(ev->request.args, args, n * 8);
}

static void mem(struct evs *e, enum trace_event_kind k, uint64_t ptr, uint64_t size, const void *d, size_t len)
{
    struct trace_event *ev = ev_add(e, k);
    ev->mem.ptr = ptr;
    ev->mem.size = size;
    ev->mem.data = d;
    ev->mem.len = len;
}

static void err(struct evs *e, int32_t v)
{
    ev_add(e, TRACE_EV_SET_ERRNO)->set_errno.value = v;
}

static void res(struct evs *e, char kind, uint64_t v)
{
    struct trace_event *ev = ev_add(e, TRACE_EV_RESULT);
    ev->result.kind = kind;
    ev->result.value = v;
}

/* Feeds the events to a printer and returns what it printed (caller frees). */
static char *print_events(const struct evs *e, const struct tp_options *o)
{
    struct st_buf out;
    st_buf_init(&out, 0);
    struct tp_printer *p = tp_printer_new(o, NULL, &out);
    assert_non_null(p);
    for (size_t i = 0; i < e->n; i++)
        assert_int_equal(tp_printer_add_event(p, &e->ev[i]), 0);
    tp_printer_finish(p);
    tp_printer_free(p);
    char *s = strdup(out.data);
    st_buf_release(&out);
    return s;
}

/* The printed text of the events with no prefix. */
static char *text_of(const struct evs *e, const struct tp_options *base)
{
    struct tp_options o;
    if (base)
        o = *base;
    else
        tp_options_init(&o);
    o.no_prefix = 1;
    return print_events(e, &o);
}

static void assert_prints(const struct evs *e, const struct tp_options *o, const char *want)
{
    char *got = text_of(e, o);
    if (strcmp(got, want))
        fail_msg("printed:\n%s\nwanted:\n%s", got, want);
    free(got);
}

/* ------------------------------------------------------------------------ */

static void test_buf_never_grows_past_its_maximum(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 10);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    st_buf_puts(&b, "12345");
    st_buf_addf(&b, "%d", 6789);
    assert_string_equal(b.data, "123456789");
    assert_int_equal(b.overflow, 0);
    st_buf_puts(&b, "abc");
    assert_int_equal(b.overflow, 1);
    assert_true(b.len <= 10);
    assert_string_equal(b.data, "123456789");
    st_buf_release(&b);
    assert_string_equal(b.data, "");
}

static void test_open_flags_modes_and_errno_are_symbolic(void **state)
{
    (void)state;
    struct evs e = { .n = 0 };
    uint64_t a[] = { 0x1000, 02 | 0100 | 02000 | 04000 | 0200000 | 0400000 | 010000000000ull, 0644 };
    req(&e, "open(pii)i", 3, a);
    mem(&e, TRACE_EV_MEM_READ_STR, 0x1000, 4096, "/a b\"c", 6);
    err(&e, 17);
    res(&e, 'i', (uint64_t)-1);
    assert_prints(&e, NULL,
                  "open(\"/a b\\\"c\", O_RDWR|O_CREAT|O_APPEND|O_NONBLOCK|O_DIRECTORY|O_NOFOLLOW|010000000000, "
                  "0644) = -1 EEXIST (File exists)\n");
}

static void test_buffers_are_escaped_like_strace_and_cut_at_s(void **state)
{
    (void)state;
    static const uint8_t data[] = { 'a', 0, '1', 0, 'b', '\n', '\t', 0x7f, 0xff, '\\', 'z', 'z', 'z' };
    struct evs e = { .n = 0 };
    uint64_t a[] = { 1, 0x2000, sizeof data };
    req(&e, "write(ipi)i", 3, a);
    mem(&e, TRACE_EV_MEM_READ, 0x2000, 0, data, sizeof data);
    res(&e, 'i', sizeof data);
    struct tp_options o;
    tp_options_init(&o);
    assert_prints(&e, &o, "write(1, \"a\\0001\\0b\\n\\t\\177\\377\\\\zzz\", 13) = 13\n");
    o.strsize = 4;
    assert_prints(&e, &o, "write(1, \"a\\0001\\0\"..., 13) = 13\n");
    o.strsize = 32;
    o.hex = 1;
    assert_prints(&e, &o, "write(1, \"a\\x001\\x00b\\n\\t\\x7f\\xff\\\\zzz\", 13) = 13\n");
    o.hex = 2;
    o.strsize = 2;
    assert_prints(&e, &o, "write(1, \"\\x61\\x00\"..., 13) = 13\n");
}

static void test_stat_is_decoded_only_on_success_and_only_when_complete(void **state)
{
    (void)state;
    uint8_t st[144];
    memset(st, 0, sizeof st);
    st[24] = 0xa4;
    st[25] = 0x81; /* 0100644 */
    st[48] = 120;
    struct evs e = { .n = 0 };
    uint64_t a[] = { 0x1000, 0x3000 };
    req(&e, "stat64(pp)i", 2, a);
    mem(&e, TRACE_EV_MEM_READ_STR, 0x1000, 4096, "/x", 2);
    mem(&e, TRACE_EV_MEM_WRITE, 0x3000, 0, st, sizeof st);
    res(&e, 'i', 0);
    /* The same with a short W (a lying trace): no decoding past its end. */
    req(&e, "stat64(pp)i", 2, a);
    mem(&e, TRACE_EV_MEM_READ_STR, 0x1000, 4096, "/y", 2);
    mem(&e, TRACE_EV_MEM_WRITE, 0x3000, 0, st, 100);
    res(&e, 'i', 0);
    /* A failed call: the buffer is a pointer. */
    req(&e, "stat64(pp)i", 2, a);
    mem(&e, TRACE_EV_MEM_READ_STR, 0x1000, 4096, "/z", 2);
    err(&e, 2);
    res(&e, 'i', (uint64_t)-1);
    assert_prints(&e, NULL,
                  "stat64(\"/x\", {st_mode=S_IFREG|0644, st_size=120, ...}) = 0\n"
                  "stat64(\"/y\", 0x3000) = 0\n"
                  "stat64(\"/z\", 0x3000) = -1 ENOENT (No such file or directory)\n");
}

static void test_dirent_without_nul_is_not_overread(void **state)
{
    (void)state;
    uint8_t d[24];
    memset(d, 'N', sizeof d);
    d[18] = 8;
    struct evs e = { .n = 0 };
    uint64_t a[] = { 0x5000 };
    req(&e, "readdir(p)p", 1, a);
    mem(&e, TRACE_EV_MEM_WRITE, 0x5000, 0, d, sizeof d);
    res(&e, 'p', 0x5000);
    char *got = text_of(&e, NULL);
    assert_non_null(strstr(got, "d_type=DT_REG, d_name=\"NNNNN\"...}"));
    free(got);
}

static void test_unknown_and_malformed_signatures_print_raw_arguments(void **state)
{
    (void)state;
    struct evs e = { .n = 0 };
    double d = -2.5;
    uint64_t dbits;
    memcpy(&dbits, &d, 8);
    uint64_t a[] = { 0xdead0000, dbits, (uint64_t)-3 };
    req(&e, "frob(pfi)f", 3, a);
    res(&e, 'f', dbits);
    uint64_t b[] = { 7 };
    req(&e, "not a signature", 1, b);
    res(&e, 'i', 0);
    /* Known text, wrong argument count (a lying trace): raw by wire kinds. */
    uint64_t c[] = { 3, 0x10 };
    req(&e, "close(i)i", 2, c);
    res(&e, 'i', 0);
    assert_prints(&e, NULL,
                  "frob(0xdead0000, -2.5, -3) = -2.5\n"
                  "not a signature(7) = 0\n"
                  "close(3, 16) = 0\n");
}

static void test_unfinished_call_then_exit_in_order(void **state)
{
    (void)state;
    struct evs e = { .n = 0 };
    uint64_t a[] = { 0, 0x1000, 4096 };
    req(&e, "read(ipi)i", 3, a);
    struct trace_event *se = ev_add(&e, TRACE_EV_GUEST_STDERR);
    se->guest_stderr.data = (const uint8_t *)"sandbox: x\n";
    se->guest_stderr.len = 11;
    struct trace_event *x = ev_add(&e, TRACE_EV_GUEST_EXIT);
    x->guest_exit.signal = 6;
    x->guest_exit.reason = "killed by a signal";
    uint64_t b[] = { 3 };
    req(&e, "_exit(i)v", 1, b);
    assert_prints(&e, NULL,
                  "read(0, 0x1000, 4096 <unfinished ...>\n"
                  "--- stderr \"sandbox: x\\n\" ---\n"
                  "+++ killed by SIGABRT (killed by a signal) +++\n"
                  "_exit(3) = ?\n");
}

static void test_prefix_relative_times_durations_and_raw_lines(void **state)
{
    (void)state;
    struct evs e = { .n = 0 };
    uint64_t a[] = { 1, 0x2000, 2 };
    req(&e, "write(ipi)i", 3, a);
    mem(&e, TRACE_EV_MEM_READ, 0x2000, 0, "hi", 2);
    res(&e, 'i', 2);
    req(&e, "getpid()i", 0, a);
    res(&e, 'i', 42);
    struct tp_options o;
    tp_options_init(&o);
    char *got = print_events(&e, &o);
    assert_string_equal(got, "0 +0.001000 write(1, \"hi\", 2) = 2\n3 +0.001004 getpid() = 42\n");
    free(got);
    o.relative = 1;
    o.durations = 1;
    got = print_events(&e, &o);
    assert_string_equal(got, "0  0.000000 write(1, \"hi\", 2) = 2 <0.000003>\n"
                             "3  0.000004 getpid() = 42 <0.000001>\n");
    free(got);
    tp_options_init(&o);
    o.raw = 1;
    got = print_events(&e, &o);
    assert_string_equal(got, "0 +0.001000 write(1, \"hi\", 2) = 2\n"
                             "1 +0.001001   R 0x2000 2 -> \"hi\"\n"
                             "2 +0.001003   = 2\n"
                             "3 +0.001004 getpid() = 42\n"
                             "4 +0.001006   = 42\n");
    free(got);
}

static void test_fd_paths_follow_open_dup_and_close(void **state)
{
    (void)state;
    struct evs e = { .n = 0 };
    uint64_t o[] = { 0x1000, 0, 0 };
    req(&e, "open(pii)i", 3, o);
    mem(&e, TRACE_EV_MEM_READ_STR, 0x1000, 4096, "/lib/os.py", 10);
    res(&e, 'i', 3);
    uint64_t d[] = { 3 };
    req(&e, "dup(i)i", 1, d);
    res(&e, 'i', 4);
    uint64_t c[] = { 3 };
    req(&e, "close(i)i", 1, c);
    res(&e, 'i', 0);
    uint64_t r3[] = { 3, 0x2000, 0 }, r4[] = { 4, 0x2000, 0 };
    req(&e, "read(ipi)i", 3, r3);
    err(&e, 9);
    res(&e, 'i', (uint64_t)-1);
    req(&e, "read(ipi)i", 3, r4);
    res(&e, 'i', 0);
    struct tp_options opt;
    tp_options_init(&opt);
    opt.fd_paths = 1;
    assert_prints(&e, &opt,
                  "open(\"/lib/os.py\", O_RDONLY, 0) = 3</lib/os.py>\n"
                  "dup(3</lib/os.py>) = 4</lib/os.py>\n"
                  "close(3</lib/os.py>) = 0\n"
                  "read(3, 0x2000, 0) = -1 EBADF (Bad file descriptor)\n"
                  "read(4</lib/os.py>, \"\", 0) = 0\n");
    /* Hidden calls still teach the table. */
    struct tp_filter f;
    char msg[64];
    assert_int_equal(tp_filter_parse(&f, "read", msg, sizeof msg), 0);
    opt.filter = &f;
    assert_prints(&e, &opt,
                  "read(3, 0x2000, 0) = -1 EBADF (Bad file descriptor)\n"
                  "read(4</lib/os.py>, \"\", 0) = 0\n");
}

static void test_filter_selects_by_name_and_class(void **state)
{
    (void)state;
    struct evs e = { .n = 0 };
    uint64_t a[] = { 1, 0x2000, 2 };
    req(&e, "write(ipi)i", 3, a);
    mem(&e, TRACE_EV_MEM_READ, 0x2000, 0, "hi", 2);
    res(&e, 'i', 2);
    req(&e, "getpid()i", 0, a);
    res(&e, 'i', 42);
    uint64_t t[] = { 0 };
    req(&e, "time(p)i", 1, t);
    res(&e, 'i', 7);
    struct tp_filter f;
    char msg[128];
    struct tp_options o;
    tp_options_init(&o);
    o.filter = &f;
    assert_int_equal(tp_filter_parse(&f, "trace=%desc,time", msg, sizeof msg), 0);
    assert_prints(&e, &o, "write(1, \"hi\", 2) = 2\ntime(NULL) = 7\n");
    assert_int_equal(tp_filter_parse(&f, "!%desc", msg, sizeof msg), 0);
    assert_prints(&e, &o, "getpid() = 42\ntime(NULL) = 7\n");
    assert_int_equal(tp_filter_parse(&f, "none", msg, sizeof msg), 0);
    assert_prints(&e, &o, "");
    assert_int_equal(tp_filter_parse(&f, "all", msg, sizeof msg), 0);
    assert_prints(&e, &o, "write(1, \"hi\", 2) = 2\ngetpid() = 42\ntime(NULL) = 7\n");
    assert_int_equal(tp_filter_parse(&f, "%files", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "unknown class '%files'"));
    assert_int_equal(tp_filter_parse(&f, "read,,write", msg, sizeof msg), -1);
    assert_int_equal(tp_filter_parse(&f, "signal=all", msg, sizeof msg), -1);
}

static void test_collector_caps_memory_commands_of_one_call(void **state)
{
    (void)state;
    struct tc_collector *c = tc_collector_new();
    assert_non_null(c);
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_REQUEST;
    ev.request.sig = "closedir(p)i";
    ev.request.nargs = 1;
    ev.request.args[0] = 0x10;
    assert_int_equal(tc_collector_add(c, &ev), 0);
    for (uint64_t i = 0; i < TC_CALL_MEM_MAX + 5; i++) {
        memset(&ev, 0, sizeof ev);
        ev.kind = TRACE_EV_MEM_FREE;
        ev.seq = i + 1;
        ev.req_seq = 0;
        ev.mem.ptr = 0x10;
        assert_int_equal(tc_collector_add(c, &ev), 0);
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_RESULT;
    ev.req_seq = 0;
    ev.result.kind = 'i';
    assert_int_equal(tc_collector_add(c, &ev), 0);
    struct tc_item it;
    assert_int_equal(tc_collector_pop(c, &it), 1);
    assert_int_equal(it.kind, TC_ITEM_CALL);
    assert_int_equal(it.call.nmem, TC_CALL_MEM_MAX);
    assert_int_equal(it.call.mem_dropped, 5);
    assert_true(it.call.finished);
    struct tp_options o;
    tp_options_init(&o);
    struct st_buf b;
    st_buf_init(&b, 0);
    tp_format_call(&b, &it.call, &o);
    assert_string_equal(b.data, "closedir(0x10) = 0 /* 5 more memory commands not kept */");
    st_buf_release(&b);
    tc_item_release(&it);
    tc_collector_free(c);
}

static void test_json_strings_escape_controls_and_keep_bytes_as_latin1(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 0);
    tcli_json_str(&b, "a\"\\\n\x01\xe9\x7f", 7);
    assert_string_equal(b.data, "\"a\\\"\\\\\\n\\u0001\xc3\xa9\\u007f\"");
    st_buf_release(&b);
    uint64_t f, l;
    assert_int_equal(tcli_parse_range("5..10", &f, &l), 0);
    assert_true(f == 5 && l == 10);
    assert_int_equal(tcli_parse_range("..7", &f, &l), 0);
    assert_true(f == 0 && l == 7);
    assert_int_equal(tcli_parse_range("9", &f, &l), 0);
    assert_true(f == 9 && l == 9);
    assert_int_equal(tcli_parse_range("10..5", &f, &l), -1);
    assert_int_equal(tcli_parse_range("..", &f, &l), -1);
    assert_int_equal(tcli_parse_range("x", &f, &l), -1);
    assert_int_equal(tcli_parse_range("99999999999999999999999", &f, &l), -1);
}

/* ------------------------------------------------------------------------
 * The commands on damaged or hostile input. */

static void write_truncated_trace(const char *path)
{
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_WRITE, &io), 0);
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.guest_exe_path = "/g";
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX;
    struct trace_writer *w = NULL;
    assert_int_equal(trace_writer_new(&w, io, 1, &h, &o), 0);
    for (int i = 0; i < 3; i++) {
        struct trace_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = TRACE_EV_REQUEST;
        ev.time_ns = 1000u * (unsigned)i;
        ev.request.sig = "getpid()i";
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
        memset(&ev, 0, sizeof ev);
        ev.kind = TRACE_EV_RESULT;
        ev.time_ns = 1000u * (unsigned)i + 500;
        ev.result.kind = 'i';
        ev.result.value = 7;
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
        if (i == 1)
            assert_int_equal(trace_writer_flush(w), 0);
    }
    /* Freed without close: the last chunk and the footer are lost, as in a crash. */
    trace_writer_free(w);
}

static void test_commands_print_what_a_truncated_trace_holds_and_exit_5(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4200];
    snprintf(path, sizeof path, "%s/cut.sbt", dir);
    write_truncated_trace(path);
    struct tu_run r = tu_run_sandtrace((const char *[]){ "dump", path, NULL }, NULL);
    assert_int_equal(r.status, 5);
    assert_string_equal(r.out, "0 +0.000000 getpid() = 7\n2 +0.000001 getpid() = 7\n");
    assert_non_null(strstr(r.err, "is incomplete after 4 events: "));
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "stats", "--json", path, NULL }, NULL);
    assert_int_equal(r.status, 5);
    assert_non_null(strstr(r.out, "\"calls\":2"));
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "export", "--format", "perfetto", path, NULL }, NULL);
    assert_int_equal(r.status, 5);
    assert_non_null(strstr(r.out, "\n]}\n")); /* still closed: valid JSON */
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_commands_refuse_bad_input_with_clear_messages(void **state)
{
    (void)state;
    const char *golden = ST_SOURCE_DIR "/tests/golden/cat.sbt";
    static const struct {
        const char *args[6];
        int status;
        const char *err;
    } cases[] = {
        { { "dump", "/nonexistent/t.sbt" }, 4, "cannot open trace '/nonexistent/t.sbt'" },
        { { "dump", ST_SOURCE_DIR "/tests/golden/cat.dump" }, 4, "cannot open trace" },
        { { "stats", "/nonexistent/t.sbt" }, 4, "cannot open trace" },
        { { "export", "/nonexistent/t.sbt" }, 4, "cannot open trace" },
        { { "dump", "-s", "x", "T" }, 2, "option '-s' requires a number (not 'x')" },
        { { "dump", "-s", "1x", "T" }, 2, "option '-s': bad string size '1x'" },
        { { "dump", "--events", "9..1", "T" }, 2, "bad event range '9..1'" },
        { { "dump", "-e", "trace=%nope", "T" }, 2, "unknown class '%nope'" },
        { { "dump", "--frobnicate", "T" }, 2, "unknown option '--frobnicate'" },
        { { "dump" }, 2, "no TRACE given" },
        { { "stats", "-S", "size", "T" }, 2, "unknown sort key 'size'" },
        { { "export", "--format", "xml", "T" }, 2, "unknown format 'xml'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[8];
        size_t n = 0;
        for (; n < 6 && cases[i].args[n]; n++)
            args[n] = !strcmp(cases[i].args[n], "T") ? golden : cases[i].args[n];
        args[n] = NULL;
        struct tu_run r = tu_run_sandtrace(args, NULL);
        if (r.status != cases[i].status || !strstr(r.err, cases[i].err))
            fail_msg("case %zu (%s %s): exit %d, stderr: %s", i, args[0], args[1] ? args[1] : "", r.status, r.err);
        tu_run_release(&r);
    }
}

static void test_dump_events_range_shows_whole_calls(void **state)
{
    (void)state;
    const char *golden = ST_SOURCE_DIR "/tests/golden/cat.sbt";
    /* Events 4..7: starts inside the call at 3 (skipped), keeps the call at 6 whole. */
    struct tu_run r = tu_run_sandtrace((const char *[]){ "dump", "--events", "4..7", golden, NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "6 +0.000042 write(1, \"Welcome to the sandbox\\n\\tline two\"..., 8192) = 8192\n");
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "dump", "--events", "26", golden, NULL }, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "26 +0.000184 +++ exited with 1 +++\n");
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_never_grows_past_its_maximum),
        cmocka_unit_test(test_open_flags_modes_and_errno_are_symbolic),
        cmocka_unit_test(test_buffers_are_escaped_like_strace_and_cut_at_s),
        cmocka_unit_test(test_stat_is_decoded_only_on_success_and_only_when_complete),
        cmocka_unit_test(test_dirent_without_nul_is_not_overread),
        cmocka_unit_test(test_unknown_and_malformed_signatures_print_raw_arguments),
        cmocka_unit_test(test_unfinished_call_then_exit_in_order),
        cmocka_unit_test(test_prefix_relative_times_durations_and_raw_lines),
        cmocka_unit_test(test_fd_paths_follow_open_dup_and_close),
        cmocka_unit_test(test_filter_selects_by_name_and_class),
        cmocka_unit_test(test_collector_caps_memory_commands_of_one_call),
        cmocka_unit_test(test_json_strings_escape_controls_and_keep_bytes_as_latin1),
        cmocka_unit_test(test_commands_print_what_a_truncated_trace_holds_and_exit_5),
        cmocka_unit_test(test_commands_refuse_bad_input_with_clear_messages),
        cmocka_unit_test(test_dump_events_range_shows_whole_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
