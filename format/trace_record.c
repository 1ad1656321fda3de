/* format/trace_record.c: the hand-written encoder of sandtrace.Record, the
 * one message a trace holds once per event.
 *
 * protobuf-c's generic packer walks the message's descriptor and tests
 * every one of the 14 fields of every record; it was the measured cost of
 * recording (issue 15). This encoder writes the same bytes directly: the
 * fields in field-number order, each only when it is not its proto3 default
 * (0, or empty for bytes and repeated fields), exactly as protobuf-c 1.x
 * emits them. tests/format/test_trace_record_enc.c compares the two on
 * every kind and on edge values. The reader and the header still use
 * protobuf-c. */
#include "format/trace_internal.h"

/* Wire types (protobuf encoding): varint and length-delimited. */
#define WT_VARINT 0u
#define WT_LEN 2u
#define TAG(field, wt) (((field) << 3) | (wt))

size_t tf_varint_len(uint64_t v)
{
    /* 7 bits a byte: (highest bit set + 1) / 7 rounded up, which for 0 to 63
     * is (highest * 9 + 73) / 64 (protobuf's formula): a multiply by 9 and
     * a shift instead of a division by 7, on every field of every record. */
    unsigned highest = 63u - (unsigned)__builtin_clzll(v | 1);
    return (highest * 9 + 73) / 64;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Every tag of Record is below 16, so it is one byte. */
static inline uint8_t *put_u64(uint8_t *p, unsigned field, uint64_t v)
{
    if (v == 0)
        return p;
    *p++ = (uint8_t)TAG(field, WT_VARINT);
    return put_varint(p, v);
}

/* sint64: zigzag, so that small negative values stay short. */
static inline uint64_t zigzag64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* sint32: zigzag on 32 bits (protobuf-c's zigzag32), then a varint of at
 * most 5 bytes. */
static inline uint64_t zigzag32(int32_t v)
{
    return (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

static inline uint8_t *put_bytes(uint8_t *p, unsigned field, const uint8_t *data, size_t len)
{
    if (len == 0)
        return p;
    *p++ = (uint8_t)TAG(field, WT_LEN);
    p = put_varint(p, len);
    memcpy(p, data, len);
    return p + len;
}

static size_t args_payload(const struct tf_record *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nargs; i++)
        n += tf_varint_len(r->args[i]);
    return n;
}

static inline size_t u64_len(uint64_t v)
{
    return v ? 1 + tf_varint_len(v) : 0;
}

static inline size_t bytes_len(size_t len)
{
    return len ? 1 + tf_varint_len(len) + len : 0;
}

size_t tf_record_size(const struct tf_record *r)
{
    size_t n = u64_len(r->kind) + u64_len(zigzag64(r->dtime)) + u64_len(r->req_delta) +
               u64_len(r->sig_id);
    if (r->nargs) {
        size_t a = args_payload(r);
        n += 1 + tf_varint_len(a) + a;
    }
    n += u64_len(r->ptr) + u64_len(r->size) + bytes_len(r->data_len) + u64_len(r->value) +
         u64_len(r->result_kind) + u64_len(zigzag32(r->code)) + u64_len(zigzag32(r->signal)) +
         bytes_len(r->text_len) + bytes_len(r->detail_len);
    return n;
}

size_t tf_record_encode(const struct tf_record *r, uint8_t *out)
{
    uint8_t *p = out;
    p = put_u64(p, 1, r->kind);
    p = put_u64(p, 2, zigzag64(r->dtime));
    p = put_u64(p, 3, r->req_delta);
    p = put_u64(p, 4, r->sig_id);
    if (r->nargs) {
        /* packed = true: one length-delimited field of varints */
        *p++ = (uint8_t)TAG(5u, WT_LEN);
        p = put_varint(p, args_payload(r));
        for (size_t i = 0; i < r->nargs; i++)
            p = put_varint(p, r->args[i]);
    }
    p = put_u64(p, 6, r->ptr);
    p = put_u64(p, 7, r->size);
    p = put_bytes(p, 8, r->data, r->data_len);
    p = put_u64(p, 9, r->value);
    p = put_u64(p, 10, r->result_kind);
    p = put_u64(p, 11, zigzag32(r->code));
    p = put_u64(p, 12, zigzag32(r->signal));
    p = put_bytes(p, 13, r->text, r->text_len);
    p = put_bytes(p, 14, r->detail, r->detail_len);
    return (size_t)(p - out);
}
