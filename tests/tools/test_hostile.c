/* dump, stats, export and diff on hostile but well-formed traces: random
 * (seeded, so reproducible) mixtures of known and unknown signatures,
 * signatures with control characters, memory commands of every kind at
 * matching and unrelated addresses with data of awkward sizes (a 3-byte
 * struct stat, a 19-byte dirent), results of the wrong kind, events outside
 * any request, requests that never finish. Every command must finish
 * without a signal (under `make check`, without a sanitizer report), JSON
 * outputs must parse, a trace must diff equal to itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/registry.h"
#include "format/trace.h"
#include "tests/testutil.h"
#include "tests/tools/json_mini.h"

#define NTRACES 10
#define NSTEPS 300

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static uint64_t pick(const uint64_t *v, size_t n)
{
    return v[rnd() % n];
}

static const uint64_t ptrs[] = { 0, 0x1000, 0x2000, 0x7ffc0000, 0xffffffffffffffffull, 0x1001 };
static const uint64_t ints[] = { 0, 1, 2, 3, (uint64_t)-1, (uint64_t)-100, 0x200, 0x100, 0644, 0x7fffffffffffffffull,
                                 0x8000000000000000ull, 02000000 | 0100 | 2 };
static const size_t lens[] = { 0, 1, 3, 8, 16, 19, 20, 32, 143, 144, 280, 390, 1000 };

static void add(struct trace_writer *w, struct trace_event *ev, uint64_t *t)
{
    *t += 1 + rnd() % 5000;
    ev->time_ns = rnd() % 50 == 0 ? *t / 2 : *t; /* sometimes back in time */
    trace_writer_add_event(w, ev); /* a refused event is simply not in the trace */
}

static void random_mem(struct trace_writer *w, uint64_t *t, uint8_t *buf)
{
    static const enum trace_event_kind kinds[] = { TRACE_EV_MEM_READ, TRACE_EV_MEM_READ_STR, TRACE_EV_MEM_WRITE,
                                                   TRACE_EV_MEM_ALLOC, TRACE_EV_MEM_FREE, TRACE_EV_SET_ERRNO };
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kinds[rnd() % 6];
    if (ev.kind == TRACE_EV_SET_ERRNO) {
        ev.set_errno.value = (int32_t)pick((const uint64_t[]){ 0, 2, 13, 34, 200, (uint64_t)-5 }, 6);
    } else {
        ev.mem.ptr = pick(ptrs, sizeof ptrs / sizeof ptrs[0]);
        ev.mem.size = pick((const uint64_t[]){ 0, 1, 256, UINT64_MAX }, 4);
        if (ev.kind != TRACE_EV_MEM_FREE) {
            ev.mem.len = lens[rnd() % (sizeof lens / sizeof lens[0])];
            for (size_t i = 0; i < ev.mem.len; i++)
                buf[i] = (uint8_t)(rnd() % 4 ? rnd() : 0);
            ev.mem.data = buf;
        }
    }
    add(w, &ev, t);
}

static void write_hostile_trace(const char *path, uint64_t seed)
{
    rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
    struct trace_io *io = NULL;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_WRITE, &io), 0);
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.guest_exe_path = "/g\x1b[31m\"quoted\"";
    struct trace_writer *w = NULL;
    assert_int_equal(trace_writer_new(&w, io, 1, &h, NULL), 0);
    static uint8_t buf[1024];
    static char text[300];
    uint64_t t = 0;
    for (int step = 0; step < NSTEPS; step++) {
        struct trace_event ev;
        memset(&ev, 0, sizeof ev);
        unsigned what = (unsigned)(rnd() % 100);
        if (what < 60) {
            ev.kind = TRACE_EV_REQUEST;
            const struct st_sig *s = st_registry_get((enum st_sig_id)(rnd() % st_registry_count()));
            if (rnd() % 8 == 0) {
                snprintf(text, sizeof text, "%s", rnd() % 2 ? "odd\x1b\n\"name(pfi)f" : "weird(ii)p");
                ev.request.sig = text;
                ev.request.nargs = rnd() % 4;
            } else {
                ev.request.sig = s->text;
                ev.request.nargs = rnd() % 10 ? s->nargs : rnd() % 5;
            }
            for (size_t i = 0; i < ev.request.nargs; i++)
                ev.request.args[i] = rnd() % 2 ? pick(ptrs, sizeof ptrs / sizeof ptrs[0])
                                               : pick(ints, sizeof ints / sizeof ints[0]);
            add(w, &ev, &t);
            for (int k = (int)(rnd() % 5); k > 0; k--)
                random_mem(w, &t, buf);
            if (rnd() % 10) {
                memset(&ev, 0, sizeof ev);
                ev.kind = TRACE_EV_RESULT;
                ev.result.kind = "ipfv"[rnd() % 4];
                ev.result.value = rnd() % 2 ? pick(ptrs, sizeof ptrs / sizeof ptrs[0])
                                            : pick(ints, sizeof ints / sizeof ints[0]);
                add(w, &ev, &t);
            }
        } else if (what < 70) {
            random_mem(w, &t, buf); /* outside any request (or in an unfinished one) */
        } else {
            size_t n = rnd() % 40;
            for (size_t i = 0; i < n; i++)
                text[i] = (char)(1 + rnd() % 255);
            text[n] = '\0';
            switch (rnd() % 6) {
            case 0:
                ev.kind = TRACE_EV_GUEST_STDERR;
                ev.guest_stderr.data = (const uint8_t *)text;
                ev.guest_stderr.len = n;
                break;
            case 1:
                ev.kind = TRACE_EV_NOTE;
                ev.note.text = text;
                break;
            case 2:
                ev.kind = TRACE_EV_LIMIT;
                ev.limit.name = text;
                ev.limit.value = rnd();
                ev.limit.detail = rnd() % 2 ? text : NULL;
                break;
            case 3:
                ev.kind = TRACE_EV_VIOLATION;
                ev.violation.text = text;
                ev.violation.data = (const uint8_t *)text;
                ev.violation.len = n;
                break;
            case 4:
                ev.kind = TRACE_EV_GUEST_EXIT;
                ev.guest_exit.code = (int32_t)rnd();
                ev.guest_exit.signal = (int32_t)(rnd() % 70) - 2;
                ev.guest_exit.reason = rnd() % 2 ? text : NULL;
                break;
            default:
                ev.kind = TRACE_EV_RESULT; /* a result without a request */
                ev.result.kind = 'i';
                ev.result.value = rnd();
                break;
            }
            add(w, &ev, &t);
        }
    }
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);
}

static void assert_json(const char *what, const char *text, size_t len)
{
    struct jm_val v;
    const char *err = NULL;
    if (jm_parse(text, len, &v, &err) < 0)
        fail_msg("%s is not JSON (%s): %.*s", what, err, (int)(len < 300 ? len : 300), text);
    jm_free(&v);
}

static void test_commands_survive_hostile_traces(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char prev[4200] = "";
    for (uint64_t seed = 1; seed <= NTRACES; seed++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/h%llu.sbt", dir, (unsigned long long)seed);
        write_hostile_trace(path, seed);
        static const char *const dumps[][7] = {
            { "dump", "-v", "--raw", "-x", "-T", "-y", NULL },
            { "dump", "-xx", "-s", "0", "-r", NULL },
            { "dump", "-e", "trace=%file,weird(ii)p", "--events", "10..200", NULL },
        };
        for (size_t k = 0; k < sizeof dumps / sizeof dumps[0]; k++) {
            const char *args[8];
            size_t n = 0;
            for (; dumps[k][n]; n++)
                args[n] = dumps[k][n];
            args[n++] = path;
            args[n] = NULL;
            struct tu_run r = tu_run_sandtrace(args, NULL);
            if (r.status != 0)
                fail_msg("seed %llu: sandtrace %s %s exited %d: %s", (unsigned long long)seed, args[1], args[2],
                         r.status, r.err);
            /* Only printable ASCII and newlines reach the terminal. */
            for (size_t i = 0; i < r.out_len; i++)
                if (((unsigned char)r.out[i] < 0x20 && r.out[i] != '\n') || (unsigned char)r.out[i] >= 0x7f)
                    fail_msg("seed %llu: control byte 0x%02x in dump output", (unsigned long long)seed,
                             (unsigned char)r.out[i]);
            tu_run_release(&r);
        }
        struct tu_run r = tu_run_sandtrace((const char *[]){ "stats", "--json", path, NULL }, NULL);
        assert_int_equal(r.status, 0);
        assert_json("stats --json", r.out, r.out_len);
        tu_run_release(&r);
        r = tu_run_sandtrace((const char *[]){ "stats", "-S", "name", path, NULL }, NULL);
        assert_int_equal(r.status, 0);
        tu_run_release(&r);
        r = tu_run_sandtrace((const char *[]){ "export", "--format", "perfetto", path, NULL }, NULL);
        assert_int_equal(r.status, 0);
        assert_json("perfetto export", r.out, r.out_len);
        tu_run_release(&r);
        r = tu_run_sandtrace((const char *[]){ "export", path, NULL }, NULL);
        assert_int_equal(r.status, 0);
        for (const char *p = r.out; *p;) {
            const char *nl = strchr(p, '\n');
            assert_non_null(nl);
            assert_json("jsonl line", p, (size_t)(nl - p));
            p = nl + 1;
        }
        tu_run_release(&r);
        r = tu_run_sandtrace((const char *[]){ "diff", path, path, NULL }, NULL);
        if (r.status != 0 || r.out_len)
            fail_msg("seed %llu: a trace differs from itself:\n%s", (unsigned long long)seed, r.out);
        tu_run_release(&r);
        if (*prev) {
            r = tu_run_sandtrace((const char *[]){ "diff", "--all", prev, path, NULL }, NULL);
            assert_int_equal(r.status, 1);
            tu_run_release(&r);
        }
        snprintf(prev, sizeof prev, "%s", path);
    }
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commands_survive_hostile_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
