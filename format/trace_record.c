/* format/trace_record.c: the hand-written encoder and decoder of
 * sandtrace.Record, the one message a trace holds once per event.
 *
 * protobuf-c's generic packer walks the message's descriptor and tests
 * every one of the 14 fields of every record; it was the measured cost of
 * recording (issue 15). This encoder writes the same bytes directly: the
 * fields in field-number order, each only when it is not its proto3 default
 * (0, or empty for bytes and repeated fields), exactly as protobuf-c 1.x
 * emits them. tests/format/test_trace_record_enc.c compares the two on
 * every kind and on edge values. The reader decodes records with its
 * mirror below (tests/format/test_trace_record_dec.c); the file header
 * still goes through protobuf-c. */
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

/* ------------------------------------------------------------ decoding */

/* The decoder mirrors protobuf-c 1.x's sandtrace__record__unpack, which
 * the reader used before (and tests/format/test_trace_record_dec.c
 * compares the two on valid records and on every kind of damage): the
 * same records accepted, the same values read from them, without its
 * allocations and its descriptor walk (a third of `verify`'s time). Its
 * rules, from protobuf-c's protobuf-c.c:
 * - a tag is a varint of at most 5 bytes whose first byte's field bits are
 *   not all 0, its value cut to 32 bits; wire types 3, 4, 6 and 7 are
 *   refused, others skipped when the field is unknown;
 * - a varint field is at most 10 bytes, read into 64 bits (bits beyond are
 *   dropped), or into 32 for the 32-bit fields (from its first 5 bytes);
 * - a length prefix is a varint of at most 5 bytes, its data within the
 *   record;
 * - a known field with a wire type other than its own is refused; a field
 *   seen twice keeps its last value; `args` takes packed blocks and single
 *   varints alike, in order. */

#define WT_64BIT 1u
#define WT_32BIT 5u

/* A varint of at most 10 bytes within `rem`: its length, or 0. */
static size_t scan_varint(const uint8_t *p, size_t rem)
{
    size_t max = rem < 10 ? rem : 10;
    for (size_t i = 0; i < max; i++)
        if (!(p[i] & 0x80))
            return i + 1;
    return 0;
}

static uint32_t varint32(const uint8_t *p, size_t len)
{
    uint32_t v = p[0] & 0x7f;
    if (len > 1)
        v |= (uint32_t)(p[1] & 0x7f) << 7;
    if (len > 2)
        v |= (uint32_t)(p[2] & 0x7f) << 14;
    if (len > 3)
        v |= (uint32_t)(p[3] & 0x7f) << 21;
    if (len > 4)
        v |= (uint32_t)p[4] << 28;
    return v;
}

static uint64_t varint64(const uint8_t *p, size_t len)
{
    if (len < 5)
        return varint32(p, len);
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++)
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    return v;
}

/* The tag at p: its length (0: malformed), field number and wire type. */
static size_t scan_tag(const uint8_t *p, size_t rem, uint32_t *field, unsigned *wt)
{
    if ((p[0] & 0xf8) == 0)
        return 0;
    *wt = p[0] & 7u;
    uint32_t tag = (p[0] & 0x7fu) >> 3;
    if (!(p[0] & 0x80)) {
        *field = tag;
        return 1;
    }
    size_t max = rem < 5 ? rem : 5;
    unsigned shift = 4;
    for (size_t i = 1; i < max; i++) {
        if (p[i] & 0x80) {
            tag |= (uint32_t)(p[i] & 0x7f) << shift;
            shift += 7;
        } else {
            tag |= (uint32_t)p[i] << shift;
            *field = tag;
            return i + 1;
        }
    }
    return 0;
}

/* A length-prefixed field's whole length (prefix and data), or 0. */
static size_t scan_len(const uint8_t *p, size_t rem, size_t *prefix)
{
    size_t max = rem < 5 ? rem : 5, val = 0, i;
    for (i = 0; i < max; i++) {
        val |= (size_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80))
            break;
    }
    if (i == max)
        return 0;
    *prefix = i + 1;
    if (val > INT32_MAX || *prefix + val > rem)
        return 0;
    return *prefix + val;
}

/* Appends the varint of `len` bytes at p to r's arguments (counted past
 * `cap`, kept up to it). */
static void add_arg(struct tf_record *r, uint64_t *args, size_t cap, const uint8_t *p, size_t len)
{
    if (r->nargs < cap)
        args[r->nargs] = varint64(p, len);
    r->nargs++;
}

/* Appends a packed block of varints to r's arguments. 0 or -1. */
static int add_packed(struct tf_record *r, uint64_t *args, size_t cap, const uint8_t *p,
                      size_t len)
{
    while (len > 0) {
        size_t s = scan_varint(p, len);
        if (s == 0)
            return -1;
        add_arg(r, args, cap, p, s);
        p += s;
        len -= s;
    }
    return 0;
}

int tf_record_decode(const uint8_t *p, size_t len, struct tf_record *r, uint64_t *args,
                     size_t args_cap)
{
    memset(r, 0, sizeof *r);
    r->args = args;
    while (len > 0) {
        uint32_t field;
        unsigned wt;
        size_t n = scan_tag(p, len, &field, &wt), flen, prefix = 0;
        if (n == 0)
            return -1;
        p += n;
        len -= n;
        switch (wt) {
        case WT_VARINT:
            flen = scan_varint(p, len);
            break;
        case WT_64BIT:
            flen = len < 8 ? 0 : 8;
            break;
        case WT_LEN:
            flen = scan_len(p, len, &prefix);
            break;
        case WT_32BIT:
            flen = len < 4 ? 0 : 4;
            break;
        default:
            return -1; /* groups, and wire types 6 and 7 */
        }
        if (flen == 0)
            return -1;
        const uint8_t *d = p + prefix;
        size_t dlen = flen - prefix;
        p += flen;
        len -= flen;
        if (field < 1 || field > 14)
            continue; /* unknown: skipped */
        if (field == 5) {
            if (wt == WT_LEN) {
                if (add_packed(r, args, args_cap, d, dlen) < 0)
                    return -1;
            } else if (wt == WT_VARINT) {
                add_arg(r, args, args_cap, d, dlen);
            } else {
                return -1;
            }
            continue;
        }
        int is_bytes = field == 8 || field == 13 || field == 14;
        if (wt != (is_bytes ? WT_LEN : WT_VARINT))
            return -1;
        switch (field) {
        case 1: r->kind = varint32(d, dlen); break;
        case 2: {
            uint64_t z = varint64(d, dlen);
            r->dtime = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            break;
        }
        case 3: r->req_delta = varint64(d, dlen); break;
        case 4: r->sig_id = varint32(d, dlen); break;
        case 6: r->ptr = varint64(d, dlen); break;
        case 7: r->size = varint64(d, dlen); break;
        case 8: r->data = d; r->data_len = dlen; break;
        case 9: r->value = varint64(d, dlen); break;
        case 10: r->result_kind = varint32(d, dlen); break;
        case 11: case 12: {
            uint32_t z = varint32(d, dlen);
            int32_t v = (int32_t)(z >> 1) ^ -(int32_t)(z & 1);
            if (field == 11)
                r->code = v;
            else
                r->signal = v;
            break;
        }
        case 13: r->text = d; r->text_len = dlen; break;
        default: r->detail = d; r->detail_len = dlen; break;
        }
    }
    return 0;
}
