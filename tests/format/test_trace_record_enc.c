/* The writer's hand-written Record encoder (format/trace_record.c) writes
 * exactly the bytes protobuf-c's generic packer writes, so that traces are
 * the same files as before it, byte for byte: on every event kind, on edge
 * values (0, 2^64-1, INT64_MIN, negative sint32, every varint width, empty
 * and large data, 0 and 32 arguments) and on many random records; and the
 * records inside a real trace's chunks re-pack to themselves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zstd.h>

#include "format/trace.pb-c.h"
#include "format/trace_internal.h"
#include "tests/prng.h"

/* The same record as protobuf-c's message (pointers borrowed). */
static void to_pb(const struct tf_record *r, Sandtrace__Record *m)
{
    sandtrace__record__init(m);
    m->kind = r->kind;
    m->dtime = r->dtime;
    m->req_delta = r->req_delta;
    m->sig_id = r->sig_id;
    m->n_args = r->nargs;
    m->args = (uint64_t *)(uintptr_t)r->args;
    m->ptr = r->ptr;
    m->size = r->size;
    m->data.len = r->data_len;
    m->data.data = (uint8_t *)(uintptr_t)r->data;
    m->value = r->value;
    m->result_kind = r->result_kind;
    m->code = r->code;
    m->signal = r->signal;
    m->text.len = r->text_len;
    m->text.data = (uint8_t *)(uintptr_t)r->text;
    m->detail.len = r->detail_len;
    m->detail.data = (uint8_t *)(uintptr_t)r->detail;
}

static unsigned compared;

/* Encodes r both ways and fails on the first differing byte, naming it. */
static void check_same(const struct tf_record *r, const char *what)
{
    Sandtrace__Record m;
    to_pb(r, &m);
    size_t want = sandtrace__record__get_packed_size(&m);
    size_t got_size = tf_record_size(r);
    if (got_size != want)
        fail_msg("%s: tf_record_size %zu, protobuf-c %zu", what, got_size, want);
    uint8_t *a = malloc(want + 1), *b = malloc(want + 1);
    assert_non_null(a);
    assert_non_null(b);
    size_t na = sandtrace__record__pack(&m, a);
    size_t nb = tf_record_encode(r, b);
    if (na != nb)
        fail_msg("%s: encoded %zu bytes, protobuf-c %zu", what, nb, na);
    for (size_t i = 0; i < na; i++)
        if (a[i] != b[i])
            fail_msg("%s: byte %zu is 0x%02x, protobuf-c wrote 0x%02x", what, i, b[i], a[i]);
    free(a);
    free(b);
    compared++;
}

static const uint64_t edge_u64[] = {
    0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0xffffffffu, 0x100000000ull, 0x7fffffffffffffffull,
    0x8000000000000000ull, UINT64_MAX - 1, UINT64_MAX,
};
static const int64_t edge_s64[] = { 0, 1, -1, 63, -64, 64, -65, INT64_MAX, INT64_MIN, INT64_MIN + 1 };
static const int32_t edge_s32[] = { 0, 1, -1, 2, -2, 4095, -4096, INT32_MAX, INT32_MIN };

static void test_record_enc_every_kind_matches_protobuf_c(void **state)
{
    (void)state;
    static const uint8_t bytes[] = "0123456789";
    uint64_t args[TRACE_MAX_ARGS];
    for (size_t i = 0; i < TRACE_MAX_ARGS; i++)
        args[i] = edge_u64[i % (sizeof edge_u64 / sizeof edge_u64[0])];
    /* What the writer fills in for each kind (trace_writer.c build_record). */
    struct tf_record rs[] = {
        { .kind = 1, .sig_id = 3, .args = args, .nargs = 3 },
        { .kind = 1, .dtime = 1000 },                         /* no args */
        { .kind = 2, .req_delta = 1, .ptr = 0x7ffd12345678, .data = bytes, .data_len = 10 },
        { .kind = 3, .req_delta = 2, .ptr = 1, .size = UINT64_MAX, .data = bytes, .data_len = 4 },
        { .kind = 4, .req_delta = 1, .ptr = UINT64_MAX, .data = bytes, .data_len = 1 },
        { .kind = 5, .req_delta = 1, .ptr = 0x1000, .data = bytes, .data_len = 0 },
        { .kind = 6, .req_delta = 9, .ptr = 0x1000 },
        { .kind = 7, .req_delta = 3, .code = 2 },
        { .kind = 8, .dtime = -5, .req_delta = 1, .value = 4242, .result_kind = 'i' },
        { .kind = 8, .req_delta = 1, .value = 0, .result_kind = 'v' },
        { .kind = 9, .data = bytes, .data_len = 10 },
        { .kind = 10, .code = -1, .signal = 9, .text = bytes, .text_len = 6 },
        { .kind = 11, .value = 5000, .text = bytes, .text_len = 7, .detail = bytes, .detail_len = 3 },
        { .kind = 12, .text = bytes, .text_len = 2, .data = bytes, .data_len = 5 },
        { .kind = 13, .text = bytes, .text_len = 9 },
        { .kind = TR_KIND_SIGDEF, .sig_id = 65535, .text = bytes, .text_len = 10 },
        { .kind = 0 },                                        /* every field absent */
    };
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
        char what[32];
        snprintf(what, sizeof what, "record %zu (kind %u)", i, rs[i].kind);
        check_same(&rs[i], what);
    }
}

static void test_record_enc_edge_values_match_protobuf_c(void **state)
{
    (void)state;
    char what[96];
    size_t nu = sizeof edge_u64 / sizeof edge_u64[0];
    for (size_t i = 0; i < nu; i++) {
        uint64_t v = edge_u64[i];
        struct tf_record r = { .kind = (uint32_t)v, .req_delta = v, .sig_id = (uint32_t)v,
                               .ptr = v, .size = v, .value = v, .result_kind = (uint32_t)v };
        r.args = &edge_u64[i];
        r.nargs = nu - i;
        snprintf(what, sizeof what, "unsigned fields = %llu", (unsigned long long)v);
        check_same(&r, what);
    }
    for (size_t i = 0; i < sizeof edge_s64 / sizeof edge_s64[0]; i++) {
        struct tf_record r = { .kind = 8, .dtime = edge_s64[i] };
        snprintf(what, sizeof what, "dtime = %lld", (long long)edge_s64[i]);
        check_same(&r, what);
    }
    for (size_t i = 0; i < sizeof edge_s32 / sizeof edge_s32[0]; i++) {
        struct tf_record r = { .kind = 10, .code = edge_s32[i], .signal = -edge_s32[i / 2] };
        snprintf(what, sizeof what, "code = %d", edge_s32[i]);
        check_same(&r, what);
    }
    /* 32 arguments of every width, the most a request has. */
    uint64_t args[TRACE_MAX_ARGS];
    for (size_t i = 0; i < TRACE_MAX_ARGS; i++)
        args[i] = i < 2 ? UINT64_MAX : 1ull << (2 * i);
    struct tf_record many = { .kind = 1, .args = args, .nargs = TRACE_MAX_ARGS };
    check_same(&many, "32 arguments");
    /* Data whose length prefix takes 1, 2, 3 and 4 bytes (127, 128, 16384,
     * 2 MiB + 1), and a large text and detail. */
    static const size_t lens[] = { 127, 128, 16383, 16384, 2u * 1024 * 1024 + 1 };
    uint8_t *big = malloc(lens[4]);
    assert_non_null(big);
    for (size_t i = 0; i < lens[4]; i++)
        big[i] = (uint8_t)(i * 131 + 7);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct tf_record r = { .kind = 2, .req_delta = 1, .ptr = 0x400000, .data = big,
                               .data_len = lens[i] };
        snprintf(what, sizeof what, "data of %zu bytes", lens[i]);
        check_same(&r, what);
    }
    struct tf_record lim = { .kind = 11, .text = big, .text_len = TRACE_MAX_TEXT, .detail = big + 1,
                             .detail_len = TRACE_MAX_TEXT, .value = UINT64_MAX };
    check_same(&lim, "64 KiB text and detail");
    free(big);
}

/* xorshift64*: deterministic, so a failure names a reproducible record. */
static uint64_t rng = 0x1234abcd5678ef01ull;
static uint64_t next(void)
{
    return tu_xorshift64(&rng);
}

/* A random value of a random width (most are small, as in real traces). */
static uint64_t rand_u64(void)
{
    uint64_t r = next();
    switch (r & 7) {
    case 0: return 0;
    case 1: return UINT64_MAX;
    default: return next() >> (r >> 58);
    }
}

static void test_record_enc_random_records_match_protobuf_c(void **state)
{
    (void)state;
    uint8_t data[600];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)next();
    uint64_t args[TRACE_MAX_ARGS];
    for (int n = 0; n < 20000; n++) {
        struct tf_record r = { 0 };
        uint64_t mask = next();
        r.kind = (uint32_t)(1 + next() % 13);
        if (mask & 1)
            r.dtime = (int64_t)rand_u64();
        if (mask & 2)
            r.req_delta = rand_u64();
        if (mask & 4)
            r.sig_id = (uint32_t)rand_u64();
        if (mask & 8) {
            r.nargs = next() % (TRACE_MAX_ARGS + 1);
            for (size_t i = 0; i < r.nargs; i++)
                args[i] = rand_u64();
            r.args = args;
        }
        if (mask & 16)
            r.ptr = rand_u64();
        if (mask & 32)
            r.size = rand_u64();
        if (mask & 64) {
            r.data = data;
            r.data_len = next() % sizeof data;
        }
        if (mask & 128)
            r.value = rand_u64();
        if (mask & 256)
            r.result_kind = (uint32_t)rand_u64();
        if (mask & 512)
            r.code = (int32_t)rand_u64();
        if (mask & 1024)
            r.signal = (int32_t)rand_u64();
        if (mask & 2048) {
            r.text = data + 7;
            r.text_len = next() % 300;
        }
        if (mask & 4096) {
            r.detail = data + 3;
            r.detail_len = next() % 200;
        }
        char what[48];
        snprintf(what, sizeof what, "random record %d", n);
        check_same(&r, what);
    }
    assert_true(compared >= 20000);
}

/* A trace written through trace_writer_add_event: every record in its
 * chunks, decoded by protobuf-c and packed again by protobuf-c, gives back
 * its own bytes, length prefix included. */
static void test_record_enc_writer_records_repack_to_themselves(void **state)
{
    (void)state;
    struct trace_io *io = trace_io_mem_writer(0);
    assert_non_null(io);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX;
    o.chunk_bytes = 4096; /* several chunks: definitions repeat */
    struct trace_header h = { .created_unix_ns = 1 };
    struct trace_writer *w;
    assert_int_equal(trace_writer_new(&w, io, 0, &h, &o), 0);
    static const uint8_t blob[3000] = { 1, 2, 3 };
    static const char *const sigs[] = { "getpid()i", "write(ipi)i", "stat64(pp)i" };
    uint64_t t = 5;
    for (int i = 0; i < 400; i++) {
        struct trace_event e = { .kind = TRACE_EV_REQUEST, .time_ns = t += (uint64_t)(i * 37) };
        e.request.sig = sigs[i % 3];
        e.request.nargs = (size_t)(i % 3);
        e.request.args[0] = 1;
        e.request.args[1] = UINT64_MAX - (uint64_t)i;
        assert_int_equal(trace_writer_add_event(w, &e), 0);
        struct trace_event m = { .kind = (enum trace_event_kind)(2 + i % 5), .time_ns = t += 3 };
        m.mem.ptr = 0x7fff00000000ull + (uint64_t)i;
        m.mem.size = i % 5 == 1 ? UINT64_MAX : 0;
        m.mem.data = i % 5 == 4 ? NULL : blob;
        m.mem.len = i % 5 == 4 ? 0 : (size_t)(i * 7) % sizeof blob;
        assert_int_equal(trace_writer_add_event(w, &m), 0);
        if (i % 4 == 0) {
            struct trace_event er = { .kind = TRACE_EV_SET_ERRNO, .time_ns = t };
            er.set_errno.value = -i;
            assert_int_equal(trace_writer_add_event(w, &er), 0);
        }
        struct trace_event r = { .kind = TRACE_EV_RESULT, .time_ns = t += 1000 };
        r.result.kind = "vifp"[i % 4];
        r.result.value = (uint64_t)-i;
        assert_int_equal(trace_writer_add_event(w, &r), 0);
        if (i % 50 == 0) {
            struct trace_event n = { .kind = TRACE_EV_NOTE, .time_ns = t };
            n.note.text = "a note";
            assert_int_equal(trace_writer_add_event(w, &n), 0);
            struct trace_event l = { .kind = TRACE_EV_LIMIT, .time_ns = t };
            l.limit.name = "calls";
            l.limit.value = 7;
            l.limit.detail = "detail";
            assert_int_equal(trace_writer_add_event(w, &l), 0);
            struct trace_event v = { .kind = TRACE_EV_VIOLATION, .time_ns = t };
            v.violation.text = "bad";
            v.violation.data = blob;
            v.violation.len = 5;
            assert_int_equal(trace_writer_add_event(w, &v), 0);
            struct trace_event s = { .kind = TRACE_EV_GUEST_STDERR, .time_ns = t };
            s.guest_stderr.data = blob;
            s.guest_stderr.len = 2;
            assert_int_equal(trace_writer_add_event(w, &s), 0);
        }
    }
    struct trace_event x = { .kind = TRACE_EV_GUEST_EXIT, .time_ns = t + 1 };
    x.guest_exit.code = -1;
    x.guest_exit.signal = 9;
    x.guest_exit.reason = "killed";
    assert_int_equal(trace_writer_add_event(w, &x), 0);
    assert_int_equal(trace_writer_close(w), 0);

    size_t len;
    const uint8_t *f = trace_io_mem_data(io, &len);
    size_t off = TF_FIXED_SIZE + st_le32_get(f + 16);
    unsigned chunks = 0, records = 0;
    while (off + 8 <= len && !memcmp(f + off, TC_SYNC, 8)) {
        uint32_t raw = st_le32_get(f + off + 44), psize = st_le32_get(f + off + 48);
        uint8_t *p = malloc(raw);
        assert_non_null(p);
        assert_int_equal(ZSTD_decompress(p, raw, f + off + TC_HEADER_SIZE, psize), raw);
        for (size_t at = 0; at < raw;) {
            uint64_t rl;
            size_t vl = tf_varint_get(p + at, p + raw, &rl);
            assert_true(vl > 0 && at + vl + rl <= raw);
            Sandtrace__Record *m = sandtrace__record__unpack(NULL, rl, p + at + vl);
            assert_non_null(m);
            assert_int_equal(sandtrace__record__get_packed_size(m), rl);
            uint8_t *again = malloc(rl + 1);
            assert_non_null(again);
            sandtrace__record__pack(m, again);
            assert_memory_equal(again, p + at + vl, rl);
            free(again);
            sandtrace__record__free_unpacked(m, NULL);
            at += vl + rl;
            records++;
        }
        free(p);
        off += TC_HEADER_SIZE + psize;
        chunks++;
    }
    assert_true(chunks > 10);
    assert_true(records > 1500);
    assert_memory_equal(f + off, TFO_MAGIC, 8); /* every chunk was walked */
    trace_writer_free(w);
    trace_io_free(io);
}

/* tf_varint_len against the bytes tf_varint_put writes, at every bit
 * length's edges (0, 2^k - 1, 2^k, 2^k + 1) and the largest value. */
static void test_record_enc_varint_len_is_the_bytes_put(void **state)
{
    (void)state;
    uint8_t buf[16];
    assert_int_equal(tf_varint_len(0), tf_varint_put(buf, 0));
    assert_int_equal(tf_varint_len(UINT64_MAX), tf_varint_put(buf, UINT64_MAX));
    assert_int_equal(tf_varint_len(UINT64_MAX), 10);
    for (unsigned k = 1; k < 64; k++) {
        uint64_t edge = (uint64_t)1 << k;
        for (uint64_t v = edge - 1; v <= edge + 1; v++)
            assert_int_equal(tf_varint_len(v), tf_varint_put(buf, v));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_enc_every_kind_matches_protobuf_c),
        cmocka_unit_test(test_record_enc_edge_values_match_protobuf_c),
        cmocka_unit_test(test_record_enc_random_records_match_protobuf_c),
        cmocka_unit_test(test_record_enc_writer_records_repack_to_themselves),
        cmocka_unit_test(test_record_enc_varint_len_is_the_bytes_put),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
