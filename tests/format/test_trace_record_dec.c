/* The reader's hand-written Record decoder (format/trace_record.c) accepts
 * exactly the records protobuf-c's sandtrace__record__unpack accepts and
 * reads the same values from them: on records protobuf-c packed (every
 * kind of value), on crafted edge cases of the wire format (long varints
 * and tags, groups, unknown fields of every wire type, wrong wire types,
 * repeated and split fields, cut lengths), and on many records damaged at
 * random (bytes flipped, cut, inserted). A trace is input from outside: a
 * record protobuf-c refused must not become an event now. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/trace.h"
#include "format/trace.pb-c.h"
#include "format/trace_internal.h"
#include "tests/prng.h"

#define ARGS_CAP TRACE_MAX_ARGS

static unsigned accepted, refused;

static int same_bytes(const ProtobufCBinaryData *b, const uint8_t *p, size_t n)
{
    return b->len == n && (n == 0 || !memcmp(b->data, p, n));
}

/* Decodes `buf` both ways; fails, naming the first difference, unless both
 * refuse it or both read the same record. */
static void check_both(const uint8_t *buf, size_t len, const char *what)
{
    Sandtrace__Record *m = sandtrace__record__unpack(NULL, len, buf);
    struct tf_record r;
    uint64_t args[ARGS_CAP];
    int rc = tf_record_decode(buf, len, &r, args, ARGS_CAP);
    if (!m || rc < 0) {
        if (m || rc == 0)
            fail_msg("%s (%zu bytes): protobuf-c %s it, tf_record_decode %s it", what, len,
                     m ? "accepts" : "refuses", rc == 0 ? "accepts" : "refuses");
        refused++;
        return;
    }
    accepted++;
    const char *diff = NULL;
    if (m->kind != r.kind)
        diff = "kind";
    else if (m->dtime != r.dtime)
        diff = "dtime";
    else if (m->req_delta != r.req_delta)
        diff = "req_delta";
    else if (m->sig_id != r.sig_id)
        diff = "sig_id";
    else if (m->n_args != r.nargs)
        diff = "the number of arguments";
    else if (m->ptr != r.ptr)
        diff = "ptr";
    else if (m->size != r.size)
        diff = "size";
    else if (!same_bytes(&m->data, r.data, r.data_len))
        diff = "data";
    else if (m->value != r.value)
        diff = "value";
    else if (m->result_kind != r.result_kind)
        diff = "result_kind";
    else if (m->code != r.code)
        diff = "code";
    else if (m->signal != r.signal)
        diff = "signal";
    else if (!same_bytes(&m->text, r.text, r.text_len))
        diff = "text";
    else if (!same_bytes(&m->detail, r.detail, r.detail_len))
        diff = "detail";
    for (size_t i = 0; !diff && i < m->n_args && i < ARGS_CAP; i++)
        if (m->args[i] != args[i])
            diff = "an argument";
    if (diff)
        fail_msg("%s (%zu bytes): %s differs", what, len, diff);
    sandtrace__record__free_unpacked(m, NULL);
}

/* xorshift64*: the same cases on every run. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    return tu_xorshift64(&rng);
}

/* A value of a random width: 0, small, each varint width, the extremes. */
static uint64_t rnd_value(void)
{
    switch (rnd() % 6) {
    case 0: return 0;
    case 1: return rnd() % 200;
    case 2: return UINT64_MAX - rnd() % 3;
    case 3: return (uint64_t)1 << (rnd() % 64);
    default: return rnd() >> (rnd() % 64);
    }
}

static uint8_t blob[300];

/* A random record, packed by protobuf-c into out (room for 4096 bytes). */
static size_t random_packed(uint8_t *out)
{
    Sandtrace__Record m;
    sandtrace__record__init(&m);
    uint64_t args[40];
    m.kind = (uint32_t)(rnd() % 3 ? rnd() % 16 : rnd_value());
    m.dtime = (int64_t)rnd_value();
    m.req_delta = rnd() % 2 ? rnd_value() : 0;
    m.sig_id = (uint32_t)rnd_value();
    m.n_args = rnd() % 3 ? 0 : rnd() % 40;
    for (size_t i = 0; i < m.n_args; i++)
        args[i] = rnd_value();
    m.args = args;
    m.ptr = rnd() % 2 ? rnd_value() : 0;
    m.size = rnd() % 4 ? 0 : rnd_value();
    m.data.len = rnd() % 3 ? 0 : rnd() % sizeof blob;
    m.data.data = blob;
    m.value = rnd() % 2 ? rnd_value() : 0;
    m.result_kind = (uint32_t)(rnd() % 2 ? "vifp"[rnd() % 4] : 0);
    m.code = (int32_t)rnd_value();
    m.signal = rnd() % 4 ? 0 : (int32_t)rnd_value();
    m.text.len = rnd() % 3 ? 0 : rnd() % 40;
    m.text.data = blob + 7;
    m.detail.len = rnd() % 5 ? 0 : rnd() % 40;
    m.detail.data = blob + 11;
    assert_true(sandtrace__record__get_packed_size(&m) <= 4096);
    return sandtrace__record__pack(&m, out);
}

static void test_record_dec_reads_what_protobuf_c_packed(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 31 + 5);
    uint8_t buf[4096];
    for (int i = 0; i < 20000; i++) {
        size_t n = random_packed(buf);
        check_both(buf, n, "a packed record");
    }
    check_both(buf, 0, "the empty record");
    assert_int_equal(refused, 0);
}

struct crafted {
    const char *what;
    size_t len;
    uint8_t bytes[24];
};

#define C(what, ...) { what, sizeof((uint8_t[]){ __VA_ARGS__ }), { __VA_ARGS__ } }

static const struct crafted crafted[] = {
    C("kind as a 10-byte varint", 0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01),
    C("kind as an 11-byte varint", 0x08, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
      0x01),
    C("kind: a 10th byte above 1", 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
    C("ptr: a 10th byte above 1", 0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
    C("sig_id: a 5th byte with high bits", 0x20, 0xff, 0xff, 0xff, 0xff, 0x7f),
    C("code: a negative sint32 in 10 bytes", 0x58, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0xff, 0x01),
    C("dtime: INT64_MIN", 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
    C("an unterminated varint", 0x08, 0x80),
    C("a tag alone", 0x08),
    C("tag 0", 0x00, 0x01),
    C("field 0 in a 2-byte tag", 0x80, 0x00, 0x01),
    C("field 1 in a 2-byte tag", 0x88, 0x00, 0x05),
    C("a 5-byte tag", 0x88, 0x80, 0x80, 0x80, 0x00, 0x05),
    C("a 5-byte tag that wraps to field 1", 0x88, 0x80, 0x80, 0x80, 0x10, 0x05),
    C("a 6-byte tag", 0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x05),
    C("a group start", 0x0b, 0x0c),
    C("a group end", 0x0c),
    C("wire type 6", 0x0e, 0x00),
    C("wire type 7", 0x0f, 0x00),
    C("an unknown varint field", 0x78, 0x05, 0x08, 0x02),
    C("an unknown 64-bit field", 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x08, 0x02),
    C("an unknown 64-bit field cut", 0x79, 1, 2, 3, 4, 5, 6, 7),
    C("an unknown 32-bit field", 0x7d, 1, 2, 3, 4, 0x08, 0x02),
    C("an unknown 32-bit field cut", 0x7d, 1, 2, 3),
    C("an unknown bytes field", 0x7a, 0x03, 1, 2, 3, 0x08, 0x02),
    C("an unknown bytes field cut", 0x7a, 0x05, 1, 2, 3),
    C("an unknown group", 0x7b, 0x7c),
    C("a known field as 64 bits", 0x09, 1, 2, 3, 4, 5, 6, 7, 8),
    C("a known field as 32 bits", 0x0d, 1, 2, 3, 4),
    C("a known varint as bytes", 0x0a, 0x01, 0x05),
    C("data as a varint", 0x40, 0x05),
    C("args as 64 bits", 0x29, 1, 2, 3, 4, 5, 6, 7, 8),
    C("args packed, unpacked, packed", 0x2a, 0x02, 0x01, 0x02, 0x28, 0x03, 0x2a, 0x01, 0x04),
    C("args packed, with a cut varint", 0x2a, 0x02, 0x01, 0x80),
    C("args packed, empty", 0x2a, 0x00),
    C("args packed, an 11-byte varint", 0x2a, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
      0x80, 0x80, 0x01),
    C("kind twice: the last counts", 0x08, 0x01, 0x08, 0x02),
    C("text twice: the last counts", 0x6a, 0x01, 0x41, 0x6a, 0x02, 0x42, 0x43),
    C("data empty", 0x42, 0x00),
    C("a length in 6 bytes", 0x42, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00),
    C("a length past the end", 0x42, 0x05, 0x01),
    C("a length of 2^31", 0x42, 0x80, 0x80, 0x80, 0x80, 0x08),
    C("a length of 2^32", 0x42, 0x80, 0x80, 0x80, 0x80, 0x10),
};

static void test_record_dec_agrees_on_crafted_records(void **state)
{
    (void)state;
    accepted = refused = 0;
    for (size_t i = 0; i < sizeof crafted / sizeof *crafted; i++)
        check_both(crafted[i].bytes, crafted[i].len, crafted[i].what);
    /* 40 unpacked arguments: more than a request may have; the decoder
     * counts them all (the reader then refuses the request). */
    uint8_t many[80];
    for (int i = 0; i < 40; i++) {
        many[2 * i] = 0x28;
        many[2 * i + 1] = (uint8_t)i;
    }
    check_both(many, sizeof many, "40 unpacked arguments");
    /* Both outcomes are exercised, not one. */
    assert_true(accepted >= 15);
    assert_true(refused >= 15);
}

static void test_record_dec_agrees_on_damaged_records(void **state)
{
    (void)state;
    accepted = refused = 0;
    uint8_t buf[4200];
    for (int i = 0; i < 100000; i++) {
        size_t n = random_packed(buf);
        switch (rnd() % 5) {
        case 0: /* bytes flipped */
            for (int k = 1 + (int)(rnd() % 3); k > 0 && n; k--)
                buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 1: /* cut */
            n = n ? rnd() % n : 0;
            break;
        case 2: /* random bytes inserted */
            if (n < 4000) {
                size_t at = n ? rnd() % (n + 1) : 0, k = 1 + rnd() % 6;
                memmove(buf + at + k, buf + at, n - at);
                for (size_t j = 0; j < k; j++)
                    buf[at + j] = (uint8_t)rnd();
                n += k;
            }
            break;
        case 3: /* random bytes throughout */
            n = rnd() % 24;
            for (size_t j = 0; j < n; j++)
                buf[j] = (uint8_t)rnd();
            break;
        default: /* a byte replaced by one with a high bit or a wire type */
            if (n)
                buf[rnd() % n] = (uint8_t)(0x80 | rnd() % 8 | (rnd() % 16) << 3);
            break;
        }
        check_both(buf, n, "a damaged record");
    }
    assert_true(accepted > 10000);
    assert_true(refused > 10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_dec_reads_what_protobuf_c_packed),
        cmocka_unit_test(test_record_dec_agrees_on_crafted_records),
        cmocka_unit_test(test_record_dec_agrees_on_damaged_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
