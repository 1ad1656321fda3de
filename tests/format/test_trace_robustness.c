/* format/: the reader and verify against damaged, truncated, tampered and
 * foreign input, and a writer killed with SIGKILL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <xxhash.h>

#include "format/trace.h"
#include "tests/format/trace_samples.h"
#include "tests/testutil.h"

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Chunk boundaries of a cleanly closed trace, read from its footer as
 * docs/trace-format.md describes it: ends[i] is where chunk i ends; firsts[i]
 * its first event. Returns the chunk count. */
static size_t chunk_layout(const uint8_t *t, size_t len, uint64_t *ends, uint64_t *firsts,
                           size_t max)
{
    uint64_t foff = le64(t + len - 24);
    uint64_t n = le64(t + foff + 16);
    assert_true(n <= max);
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = t + foff + 48 + 24 * i;
        firsts[i] = le64(e + 8);
        if (i > 0)
            ends[i - 1] = le64(e);
    }
    ends[n - 1] = foff;
    return (size_t)n;
}

/* Reads every event; checks them against the samples; returns the count and
 * the final return code in *rc. */
static uint64_t read_events(const uint8_t *t, size_t len, int recover, int *rc, char *msg,
                            size_t msg_cap)
{
    struct trace_reader *r = NULL;
    struct trace_reader_options o = { recover, NULL };
    *rc = trace_reader_open(&r, trace_io_mem_reader(t, len), 1, &o, msg, msg_cap);
    if (*rc < 0)
        return 0;
    struct trace_event ev, want;
    uint64_t n = 0;
    while ((*rc = trace_reader_next(r, &ev)) == 1) {
        ts_event(ev.seq, &want);
        assert_int_equal(ev.kind, want.kind);
        assert_int_equal(ev.time_ns, want.time_ns);
        n++;
    }
    snprintf(msg, msg_cap, "%s", trace_reader_error_message(r));
    trace_reader_free(r);
    return n;
}

static void test_truncation_at_every_offset_keeps_complete_chunks(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(120, 300, NULL, &len);
    uint64_t ends[256], firsts[256];
    size_t nchunks = chunk_layout(t, len, ends, firsts, 256);
    assert_true(nchunks >= 5);
    uint64_t data_start = 48 + (t[16] | (t[17] << 8) | (t[18] << 16) | ((uint64_t)t[19] << 24));
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, t, cut);
        for (int recover = 0; recover < 2; recover++) {
            int rc;
            char msg[256];
            uint64_t n = read_events(copy, cut, recover, &rc, msg, sizeof msg);
            if (cut < data_start) {
                if (rc != (cut == 0 ? TRACE_E_BAD_MAGIC : TRACE_E_TRUNCATED))
                    fail_msg("cut at %zu: open gave %s (%s)", cut, trace_error_name(rc), msg);
                continue;
            }
            uint64_t want = 0;
            for (size_t i = 0; i < nchunks; i++)
                if (ends[i] <= cut)
                    want = i + 1 < nchunks ? firsts[i + 1] : 120;
            if (n != want || rc != TRACE_E_TRUNCATED)
                fail_msg("cut at %zu (recover %d): %llu events (want %llu), rc %s: %s", cut,
                         recover, (unsigned long long)n, (unsigned long long)want,
                         trace_error_name(rc), msg);
            if (!strstr(msg, "ends at offset"))
                fail_msg("cut at %zu: message does not name the truncation: %s", cut, msg);
        }
        free(copy);
    }
    /* The whole file is fine. */
    int rc;
    char msg[256];
    assert_int_equal(read_events(t, len, 0, &rc, msg, sizeof msg), 120);
    assert_int_equal(rc, 0);
    free(t);
}

static void test_every_single_byte_flip_is_detected_by_verify(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(60, 400, NULL, &len);
    struct trace_verify_result vr;
    struct trace_io *io = trace_io_mem_reader(t, len);
    assert_int_equal(trace_verify(io, NULL, &vr), 0);
    trace_io_free(io);
    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    for (size_t off = 0; off < len; off++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            t[off] ^= masks[m];
            io = trace_io_mem_reader(t, len);
            int rc = trace_verify(io, NULL, &vr);
            trace_io_free(io);
            t[off] ^= masks[m];
            if (rc == 0)
                fail_msg("flip 0x%02x at offset %zu of %zu not detected", masks[m], off, len);
            assert_int_equal(rc, vr.error);
            assert_true(vr.message[0] != '\0');
        }
    }
    free(t);
}

static void test_corrupt_chunk_is_reported_with_its_offset_and_recovered(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(100, 300, NULL, &len);
    uint64_t ends[256], firsts[256];
    size_t nchunks = chunk_layout(t, len, ends, firsts, 256);
    assert_true(nchunks >= 4);
    /* Damage the payload of chunk 2. */
    uint64_t c2 = ends[1];
    t[c2 + 104 + 5] ^= 0x40;
    int rc;
    char msg[256];
    uint64_t n = read_events(t, len, 0, &rc, msg, sizeof msg);
    assert_int_equal(rc, TRACE_E_CHECKSUM);
    assert_int_equal(n, firsts[2]);
    char want[64];
    snprintf(want, sizeof want, "at offset %llu", (unsigned long long)c2);
    if (!strstr(msg, want))
        fail_msg("message '%s' does not name offset %llu", msg, (unsigned long long)c2);

    /* Recovery skips exactly that chunk and reads on to the footer. */
    struct trace_reader *r;
    struct trace_reader_options o = { 1, NULL };
    assert_int_equal(trace_reader_open(&r, trace_io_mem_reader(t, len), 1, &o, NULL, 0), 0);
    struct trace_event ev;
    uint64_t count = 0;
    while ((rc = trace_reader_next(r, &ev)) == 1) {
        assert_false(ev.seq >= firsts[2] && ev.seq < firsts[3]);
        count++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(count, 100 - (firsts[3] - firsts[2]));
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    assert_int_equal(st.damaged_regions, 1);
    assert_true(st.skipped_bytes > 0);
    assert_int_equal(trace_reader_error_offset(r), c2);
    trace_reader_free(r);

    /* Garbage between chunks (a torn write) is skipped as well. */
    uint8_t *g = malloc(len + 77);
    memcpy(g, t, c2);
    memset(g + c2, 0x8e, 77); /* looks like the start of a sync marker */
    memcpy(g + c2 + 77, t + c2, len - c2);
    t[c2 + 104 + 5] ^= 0x40; /* undo the damage: only the garbage is wrong now */
    memcpy(g + c2 + 77, t + c2, len - c2);
    n = read_events(g, len + 77, 1, &rc, msg, sizeof msg);
    assert_int_equal(n, 100);
    free(g);
    free(t);
}

/* Rewrites the chunk header and payload checksums after an edit, as an
 * attacker without the key could. */
static void fix_checksums(uint8_t *t, uint64_t chunk_off)
{
    uint8_t *h = t + chunk_off;
    uint32_t psize = (uint32_t)(h[48] | (h[49] << 8) | (h[50] << 16) | ((uint32_t)h[51] << 24));
    put64(h + 56, XXH3_64bits(h + 104, psize));
    put64(h + 96, XXH3_64bits(h, 96));
}

static void test_edit_with_fixed_checksums_breaks_the_chain(void **state)
{
    (void)state;
    uint8_t key[TRACE_KEY_BYTES] = { 1, 2, 3 };
    for (int keyed = 0; keyed < 2; keyed++) {
        size_t len;
        uint8_t *t = ts_make_trace(80, 300, keyed ? key : NULL, &len);
        uint64_t ends[256], firsts[256];
        chunk_layout(t, len, ends, firsts, 256);
        /* Change the chunk's first-event time (in the header): checksums
         * fixed, the chain is not. */
        t[ends[0] + 32] ^= 1;
        fix_checksums(t, ends[0]);
        struct trace_verify_result vr;
        struct trace_io *io = trace_io_mem_reader(t, len);
        assert_int_equal(trace_verify(io, keyed ? key : NULL, &vr), TRACE_E_CHAIN);
        assert_int_equal(vr.error_offset, ends[0]);
        assert_non_null(strstr(vr.message, "hash chain mismatch"));
        trace_io_free(io);
        free(t);
    }
}

static void test_dropped_chunk_is_detected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(80, 300, NULL, &len);
    uint64_t ends[256], firsts[256];
    chunk_layout(t, len, ends, firsts, 256);
    /* Splice chunk 1 out. */
    uint64_t a = ends[0], b = ends[1];
    memmove(t + a, t + b, len - b);
    size_t nlen = len - (size_t)(b - a);
    struct trace_verify_result vr;
    struct trace_io *io = trace_io_mem_reader(t, nlen);
    assert_true(trace_verify(io, NULL, &vr) < 0);
    assert_int_equal(vr.error_offset, a);
    trace_io_free(io);
    free(t);
}

static void test_wrong_magic_future_version_and_keys_have_clear_errors(void **state)
{
    (void)state;
    uint8_t key[TRACE_KEY_BYTES] = { 9 }, other[TRACE_KEY_BYTES] = { 8 };
    size_t len;
    uint8_t *t = ts_make_trace(20, 0, NULL, &len);
    struct trace_reader *r;
    char msg[256];

    uint8_t *bad = malloc(len);
    memcpy(bad, t, len);
    memcpy(bad, "GIF89a\0\0", 8);
    assert_int_equal(trace_reader_open(&r, trace_io_mem_reader(bad, len), 1, NULL, msg,
                                       sizeof msg),
                     TRACE_E_BAD_MAGIC);
    assert_null(r);
    assert_non_null(strstr(msg, "not a sandtrace trace"));

    memcpy(bad, t, len);
    bad[8] = 2; /* major version 2 */
    assert_int_equal(trace_reader_open(&r, trace_io_mem_reader(bad, len), 1, NULL, msg,
                                       sizeof msg),
                     TRACE_E_VERSION);
    assert_non_null(strstr(msg, "version 2.0 is not supported"));
    free(bad);

    struct trace_verify_result vr;
    struct trace_io *io = trace_io_mem_reader(t, len);
    assert_int_equal(trace_verify(io, key, &vr), TRACE_E_NOT_KEYED);
    trace_io_free(io);
    free(t);

    t = ts_make_trace(20, 0, key, &len);
    io = trace_io_mem_reader(t, len);
    assert_int_equal(trace_verify(io, NULL, &vr), TRACE_E_KEY_REQUIRED);
    assert_int_equal(vr.events, 20); /* still counted */
    assert_int_equal(trace_verify(io, other, &vr), TRACE_E_WRONG_KEY);
    assert_non_null(strstr(vr.message, "key does not match"));
    assert_int_equal(trace_verify(io, key, &vr), 0);
    assert_int_equal(vr.events, 20);
    assert_true(vr.keyed);
    trace_io_free(io);
    free(t);

    /* Strangers: empty input, random bytes. */
    io = trace_io_mem_reader("", 0);
    assert_int_equal(trace_verify(io, NULL, &vr), TRACE_E_BAD_MAGIC);
    trace_io_free(io);
}

static void test_writer_killed_with_sigkill_verifies_up_to_last_chunk(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/killed.sbt", dir);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(30); /* never outlive the test */
        struct trace_io *io;
        if (trace_io_open_file(path, TRACE_IO_WRITE, &io) < 0)
            _exit(1);
        struct trace_writer_options o;
        trace_writer_options_init(&o);
        o.chunk_bytes = 2000;
        o.chunk_ns = UINT64_MAX;
        struct trace_header h = ts_header();
        struct trace_writer *w;
        if (trace_writer_new(&w, io, 1, &h, &o) < 0)
            _exit(1);
        for (uint64_t i = 0;; i++) {
            struct trace_event ev;
            ts_event(i, &ev);
            if (trace_writer_add_event(w, &ev) < 0)
                _exit(1);
            if (i == 5000 && write(ready[1], "r", 1) != 1)
                _exit(1);
        }
    }
    close(ready[1]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    close(ready[0]);
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    struct trace_io *io;
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    struct trace_verify_result vr;
    assert_int_equal(trace_verify(io, NULL, &vr), TRACE_E_TRUNCATED);
    assert_true(vr.events >= 4000);
    assert_true(vr.chunks > 10);
    assert_false(vr.footer_seen);
    trace_io_free(io);

    /* Every event of every complete chunk reads back intact. */
    assert_int_equal(trace_io_open_file(path, TRACE_IO_READ, &io), 0);
    struct trace_reader *r;
    assert_int_equal(trace_reader_open(&r, io, 1, NULL, NULL, 0), 0);
    struct trace_event ev, want;
    uint64_t n = 0;
    int rc;
    while ((rc = trace_reader_next(r, &ev)) == 1) {
        ts_event(n, &want);
        assert_int_equal(ev.seq, n);
        assert_int_equal(ev.kind, want.kind);
        n++;
    }
    assert_int_equal(rc, TRACE_E_TRUNCATED);
    assert_int_equal(n, vr.events);
    trace_reader_free(r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_hostile_sizes_are_refused_without_allocating(void **state)
{
    (void)state;
    size_t len;
    uint8_t *t = ts_make_trace(30, 0, NULL, &len);
    uint64_t ends[16], firsts[16];
    chunk_layout(t, len, ends, firsts, 16);
    (void)ends;
    uint64_t c0 = 48 + (t[16] | (t[17] << 8) | (t[18] << 16) | ((uint64_t)t[19] << 24));
    /* raw size 4 GiB - 1 and payload size 4 GiB - 1, checksums fixed. */
    for (int field = 44; field <= 48; field += 4) {
        uint8_t *bad = malloc(len);
        memcpy(bad, t, len);
        memset(bad + c0 + field, 0xff, 4);
        put64(bad + c0 + 96, XXH3_64bits(bad + c0, 96));
        int rc;
        char msg[256];
        uint64_t n = read_events(bad, len, 0, &rc, msg, sizeof msg);
        assert_int_equal(n, 0);
        assert_int_equal(rc, TRACE_E_CORRUPT);
        assert_non_null(strstr(msg, "impossible sizes"));
        free(bad);
    }
    free(t);
}

static void test_recovery_through_fake_chunk_headers_terminates(void **state)
{
    (void)state;
    /* A file header, then 120000 forged chunk headers (valid header
     * checksums) each claiming an 8 MiB payload that fails its checksum:
     * recovery must give up after a bounded amount of reading (reading
     * every candidate's payload would be ~900 GB). */
    size_t len;
    uint8_t *t = ts_make_trace(1, 0, NULL, &len);
    uint64_t data_start = 48 + (t[16] | (t[17] << 8) | (t[18] << 16) | ((uint64_t)t[19] << 24));
    size_t nfake = 120000, flen = (size_t)data_start + nfake * 104;
    uint8_t *f = calloc(1, flen);
    memcpy(f, t, data_start);
    for (size_t i = 0; i < nfake; i++) {
        uint8_t *h = f + data_start + i * 104;
        memcpy(h, "\x8eSBTCHNK", 8);
        h[8] = 104;
        h[40] = 1;                    /* one event */
        h[44 + 3] = 1;                /* raw size 16 MiB */
        h[48 + 2] = 0x80;             /* payload size 8 MiB */
        put64(h + 96, XXH3_64bits(h, 96));
    }
    int rc;
    char msg[256];
    uint64_t n = read_events(f, flen, 1, &rc, msg, sizeof msg);
    assert_int_equal(n, 0);
    assert_true(rc < 0);
    free(f);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_truncation_at_every_offset_keeps_complete_chunks),
        cmocka_unit_test(test_every_single_byte_flip_is_detected_by_verify),
        cmocka_unit_test(test_corrupt_chunk_is_reported_with_its_offset_and_recovered),
        cmocka_unit_test(test_edit_with_fixed_checksums_breaks_the_chain),
        cmocka_unit_test(test_dropped_chunk_is_detected),
        cmocka_unit_test(test_wrong_magic_future_version_and_keys_have_clear_errors),
        cmocka_unit_test(test_writer_killed_with_sigkill_verifies_up_to_last_chunk),
        cmocka_unit_test(test_hostile_sizes_are_refused_without_allocating),
        cmocka_unit_test(test_recovery_through_fake_chunk_headers_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
