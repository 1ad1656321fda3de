/* docs/trace-format.md is exact: an independent decoder written from the
 * document alone (no format/ internals) checks a real trace's bytes: file
 * header, chunk headers, checksums, the keyed hash chain, records and the
 * footer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include <xxhash.h>
#include <zstd.h>

#include "format/trace.h"

static uint64_t u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}
static uint32_t u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void hk(const uint8_t *key, const void *a, size_t an, const void *b, size_t bn,
               const void *c, size_t cn, uint8_t out[32])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, key ? 32 : 0, 32);
    crypto_generichash_update(&st, a, an);
    if (bn)
        crypto_generichash_update(&st, b, bn);
    if (cn)
        crypto_generichash_update(&st, c, cn);
    crypto_generichash_final(&st, out, 32);
}

static uint8_t *write_getpid_trace(const uint8_t *key, size_t *len)
{
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.key = key;
    o.chunk_ns = UINT64_MAX;
    o.chunk_bytes = 64; /* several chunks */
    struct trace_writer *w;
    struct trace_header h = { .created_unix_ns = 1 };
    assert_int_equal(trace_writer_new(&w, io, 0, &h, &o), 0);
    for (int i = 0; i < 12; i++) {
        struct trace_event e = { .kind = TRACE_EV_REQUEST, .time_ns = 1000 + (uint64_t)i * 1000 };
        e.request.sig = "getpid()i";
        assert_int_equal(trace_writer_add_event(w, &e), 0);
        struct trace_event r = { .kind = TRACE_EV_RESULT, .time_ns = 1500 + (uint64_t)i * 1000 };
        r.result.kind = 'i';
        r.result.value = 4242;
        assert_int_equal(trace_writer_add_event(w, &r), 0);
    }
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);
    size_t n;
    const uint8_t *d = trace_io_mem_data(io, &n);
    uint8_t *copy = malloc(n);
    memcpy(copy, d, n);
    trace_io_free(io);
    *len = n;
    return copy;
}

static void test_layout_matches_the_document(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    /* The key as a key file defines it: BLAKE2b-256 of the file's bytes. */
    static const char keyfile[] = "a key file of some thirty bytes";
    uint8_t key[32];
    crypto_generichash(key, 32, (const uint8_t *)keyfile, strlen(keyfile), NULL, 0);
    size_t len;
    uint8_t *t = write_getpid_trace(key, &len);

    /* File header. */
    assert_memory_equal(t, "\x89SBT\r\n\x1a\n", 8);
    assert_int_equal(t[8] | t[9] << 8, 1);
    assert_int_equal(u32(t + 12) & 1, 1);
    uint32_t s = u32(t + 16);
    assert_int_equal(u64(t + 32), XXH3_64bits(t + 48, s));
    assert_int_equal(u64(t + 40), XXH3_64bits(t, 40));
    uint8_t kc[32];
    hk(key, "sandtrace-key-check-v1", 22, NULL, 0, NULL, 0, kc);
    assert_memory_equal(t + 24, kc, 8);
    uint64_t data_start = 48 + (uint64_t)s;
    uint8_t chain[32];
    hk(key, "sandtrace-chain-v1", 18, t, data_start, NULL, 0, chain);

    /* Chunks. */
    uint64_t off = data_start, next_event = 0, number = 0;
    uint64_t offsets[64];
    int sigdefs = 0;
    while (memcmp(t + off, "\x8eSBTCHNK", 8) == 0) {
        const uint8_t *h = t + off;
        assert_int_equal(u32(h + 8), 104);
        assert_int_equal(u64(h + 16), number);
        assert_int_equal(u64(h + 24), next_event);
        assert_int_equal(u64(h + 96), XXH3_64bits(h, 96));
        uint32_t count = u32(h + 40), raw = u32(h + 44), p = u32(h + 48);
        assert_int_equal(u64(h + 56), XXH3_64bits(h + 104, p));
        hk(key, chain, 32, h, 64, h + 104, p, chain);
        assert_memory_equal(h + 64, chain, 32);
        uint8_t *buf = malloc(raw);
        assert_int_equal(ZSTD_decompress(buf, raw, h + 104, p), raw);
        /* Records: varint length + protobuf; count events, find the
         * definition and the result encoding given in the document. */
        uint32_t events = 0;
        int defined = 0, requests = 0;
        for (uint32_t at = 0; at < raw;) {
            uint32_t l = buf[at++];
            assert_true(l < 128);
            if (buf[at] == 0x08 && buf[at + 1] == 0x40) {
                assert_int_equal(l, 13);
                assert_memory_equal(buf + at + 2, "\x6a\x09getpid()i", 11);
                sigdefs++;
                defined++;
            } else {
                events++;
                if (buf[at + 1] == 0x01) { /* a REQUEST: defined earlier in this chunk */
                    assert_int_equal(defined, 1);
                    requests++;
                }
                if (buf[at + 1] == 0x08) /* a RESULT: kind 8 */
                    assert_memory_equal(buf + at + l - 7, "\x18\x01\x48\x92\x21\x50\x69", 7);
            }
            at += l;
        }
        assert_int_equal(events, count);
        assert_int_equal(defined, requests ? 1 : 0); /* each chunk defines what it uses */
        free(buf);
        offsets[number] = off;
        next_event += count;
        number++;
        off += 104 + p;
    }
    assert_true(number > 2);
    assert_true(sigdefs > 1);

    /* Footer. */
    const uint8_t *f = t + off;
    assert_memory_equal(f, "\x89SBTFOOT", 8);
    uint64_t fsize = u64(f + 8);
    assert_int_equal(off + fsize, len);
    assert_int_equal(u64(f + 16), number);
    assert_int_equal(u64(f + 24), 24);
    assert_int_equal(u64(f + 32), 1500 + 11 * 1000);
    assert_int_equal(u32(f + 40), 1);
    for (uint64_t i = 0; i < number; i++)
        assert_int_equal(u64(f + 48 + 24 * i), offsets[i]);
    const uint8_t *sig = f + 48 + 24 * number;
    assert_int_equal(sig[0] | sig[1] << 8, 9);
    assert_memory_equal(sig + 2, "getpid()i", 9);
    const uint8_t *trailer = t + len - 56;
    assert_ptr_equal(sig + 11, trailer);
    hk(key, chain, 32, f, (size_t)(trailer - f), NULL, 0, chain);
    assert_memory_equal(trailer, chain, 32);
    assert_int_equal(u64(trailer + 32), off);
    assert_int_equal(u64(trailer + 40), XXH3_64bits(f, fsize - 16));
    assert_memory_equal(t + len - 8, "SBTEND\r\n", 8);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_matches_the_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
