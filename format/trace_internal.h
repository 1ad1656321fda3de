/* format/trace_internal.h: layout constants and helpers shared by the
 * writer and the reader (not installed). docs/trace-format.md is the
 * reference for every offset here. */
#ifndef SANDTRACE_FORMAT_TRACE_INTERNAL_H
#define SANDTRACE_FORMAT_TRACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "common/st_util.h"
#include "format/trace.h"

/* File header: magic(8) major(2) minor(2) flags(4) header_size(4)
 * reserved(4) key_check(8) header_xxh3(8) fixed_xxh3(8), then the header
 * record. */
#define TF_MAGIC "\x89SBT\r\n\x1a\n"
#define TF_FIXED_SIZE 48
#define TF_FLAG_KEYED 1u

/* Chunk header: sync(8) header_size(4) flags(4) chunk_number(8)
 * first_event(8) first_time_ns(8) event_count(4) raw_size(4)
 * payload_size(4) reserved(4) payload_xxh3(8) chain(32) header_xxh3(8). */
#define TC_SYNC "\x8eSBTCHNK"
#define TC_HEADER_SIZE 104
#define TC_CHAIN_OFF 64
#define TC_XXH_OFF 96

/* Footer: magic(8) footer_size(8) chunk_count(8) event_count(8)
 * last_time_ns(8) sig_count(4) reserved(4), index entries (24 each),
 * signature table (u16 length + bytes each), then the trailer:
 * chain(32) footer_offset(8) footer_xxh3(8) end_magic(8). */
#define TFO_MAGIC "\x89SBTFOOT"
#define TFO_HEAD_SIZE 48
#define TFO_ENTRY_SIZE 24
#define TFO_TRAILER_SIZE 56
#define TFO_END_MAGIC "SBTEND\r\n"

/* A fuzzing build (tests/fuzz/run_fuzz.sh) ignores checksum and chain
 * mismatches so that the fuzzer reaches the decoding code behind them. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define TF_CHECK 0
#else
#define TF_CHECK 1
#endif

/* Record kind of a signature definition (not an event). */
#define TR_KIND_SIGDEF 64

#define TRACE_CHAIN_DOMAIN "sandtrace-chain-v1"
#define TRACE_KEY_CHECK_DOMAIN "sandtrace-key-check-v1"


/* XXH3-64 of a buffer. */
uint64_t tf_xxh3(const void *data, size_t len);

/* The chain hash: BLAKE2b-256, keyed when key != NULL. */
typedef struct {
    crypto_generichash_state st;
} tf_hash;
int tf_hash_init(tf_hash *h, const uint8_t *key);
void tf_hash_update(tf_hash *h, const void *data, size_t len);
void tf_hash_final(tf_hash *h, uint8_t out[TRACE_HASH_BYTES]);
/* The 8-byte key check stored in a keyed trace's file header. */
void tf_key_check(const uint8_t key[TRACE_KEY_BYTES], uint8_t out[8]);
/* Constant-time comparison of n bytes; 0 when equal. */
int tf_memcmp_ct(const void *a, const void *b, size_t n);

/* Unsigned LEB128 varint: writes at most 10 bytes, returns the count. */
size_t tf_varint_put(uint8_t *p, uint64_t v);
/* Reads a varint from [p, end); returns bytes used, 0 if malformed or cut. */
size_t tf_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v);
/* Bytes of the varint of v (1 to 10). */
size_t tf_varint_len(uint64_t v);

/* One sandtrace.Record (format/trace.proto) as plain C, for the writer's
 * hand-written encoder (trace_record.c). A field at 0 (a byte field with
 * length 0, args with nargs 0) is absent from the encoding, as proto3 has
 * it. The pointers are borrowed. */
struct tf_record {
    uint32_t kind;
    int64_t dtime;
    uint64_t req_delta;
    uint32_t sig_id;
    const uint64_t *args;
    size_t nargs;
    uint64_t ptr, size;
    const uint8_t *data;
    size_t data_len;
    uint64_t value;
    uint32_t result_kind;
    int32_t code, signal;
    const uint8_t *text;
    size_t text_len;
    const uint8_t *detail;
    size_t detail_len;
};
/* The exact encoded size of r, without its length prefix. */
size_t tf_record_size(const struct tf_record *r);
/* Encodes r at out (tf_record_size(r) bytes of room); returns the bytes
 * written. The bytes are those protobuf-c's sandtrace__record__pack writes. */
size_t tf_record_encode(const struct tf_record *r, uint8_t *out);
/* Decodes the record of `len` bytes at p into r (its byte fields point into
 * p; its arguments go to `args`, the first `args_cap` of them, r->nargs
 * counting all). 0, or -1 when protobuf-c would refuse it as malformed. */
int tf_record_decode(const uint8_t *p, size_t len, struct tf_record *r, uint64_t *args,
                     size_t args_cap);

#endif
