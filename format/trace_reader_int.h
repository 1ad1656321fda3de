/* format/trace_reader_int.h: what the parts of the trace reader share (not
 * installed): its state (struct trace_reader) and limits, the arena records
 * are unpacked into, the error, read and seek helpers and the signature
 * table (format/trace_reader.c), and the file header and footer readers
 * (format/trace_header_footer.c). */
#ifndef SANDTRACE_FORMAT_TRACE_READER_INT_H
#define SANDTRACE_FORMAT_TRACE_READER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <zstd.h>

#include "format/trace.pb-c.h"
#include "format/trace_internal.h"

#define ARENA_BLOCK (64u * 1024)
#define ARENA_RESET_BYTES (1u * 1024 * 1024)
/* The largest footer a valid trace can have with at most 2^26 chunks. */
#define MAX_FOOTER_BYTES                                                                     \
    ((uint64_t)TFO_HEAD_SIZE + ((uint64_t)1 << 26) * TFO_ENTRY_SIZE +                        \
     (uint64_t)TRACE_MAX_SIGNATURES * (2 + TRACE_MAX_SIG_LEN) + TFO_TRAILER_SIZE)
#define SCAN_BLOCK 65536
/* The end of every message about data that ends early: a trace without its
 * footer is being written right now, or its writer stopped without closing it. */
#define STILL_WRITTEN ": it is still being written, or was cut short"

/* --- arena --- */

struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

struct arena {
    struct arena_block *head;
    size_t total;
};

/* --- the reader --- */

struct index_entry {
    uint64_t offset, first_event, first_time;
};

struct scan_entry {
    uint64_t offset, first_event, first_time;
    uint32_t count, psize;
};

struct trace_reader {
    uint64_t next_seq;          /* the seq expected next (st.events_missing) */
    int seq_sought;             /* a seek: no event returned since, nothing to count yet */
    struct trace_io *io;
    int own_io;
    int recover;
    uint8_t key[TRACE_KEY_BYTES];
    int have_key, keyed;
    ZSTD_DCtx *dctx;
    uint64_t file_size;
    int size_known;
    uint64_t pos; /* the io's position */
    uint64_t data_start;

    struct trace_header hdr;
    struct arena hdr_arena;

    uint8_t chain[TRACE_HASH_BYTES];
    int chain_known;   /* chain holds the previous chunk's value */
    int chain_checking;
    int from_start;    /* every chunk since the file header was read in order */
    int numbers_known; /* next_chunk_number/next_event are expected values */
    uint64_t next_chunk_number, next_event;

    uint8_t *cbuf;
    size_t cbuf_cap;
    uint8_t *raw;
    size_t raw_cap, raw_len, raw_pos;

    uint64_t args[TRACE_MAX_ARGS]; /* the record being decoded's */

    int in_chunk;
    uint64_t chunk_off, chunk_number;
    uint32_t chunk_left, chunk_events;
    uint64_t seq, prev_time;

    char **sigs;
    size_t sigs_cap;

    struct index_entry *index; /* from the footer, for seek */
    size_t nindex;
    uint64_t index_events;
    int has_index;
    struct scan_entry *scanned; /* chunk headers found by seek without an index */
    size_t nscanned, scanned_cap;
    uint64_t recover_spent; /* payload bytes read for chunks found by resync */
    int resyncing;
    struct index_entry *seen; /* chunks read in order, to check the footer */
    size_t nseen, seen_cap;

    struct arena arena;
    int state; /* 0 reading, 1 ended cleanly, <0 sticky error */

    int err_code;
    uint64_t err_off;
    char err_msg[256];
    struct trace_reader_stats st;
    int last_time_set;
};

/* --- helpers (trace_reader.c) --- */

void *trr_arena_alloc(struct arena *a, size_t n);
/* Frees every block but one small one, which is kept for reuse. */
void trr_arena_reset(struct arena *a);
void *trr_pb_alloc(void *data, size_t size);
void trr_pb_free(void *data, void *ptr);
char *trr_arena_strndup(struct arena *a, const void *p, size_t n);
int trr_set_err(struct trace_reader *r, int code, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Reads up to n bytes at r->pos; *got < n only at end of file. */
int trr_rd(struct trace_reader *r, void *buf, size_t n, size_t *got);
int trr_rd_seek(struct trace_reader *r, uint64_t off);
/* 1 when the data reaches offset `end` (always, when the size is unknown:
 * then reading finds out). */
int trr_data_reaches(struct trace_reader *r, uint64_t end);
int trr_chain_step(struct trace_reader *r, const uint8_t *prev, const void *a, size_t alen,
               const void *b, size_t blen, uint8_t out[TRACE_HASH_BYTES]);
int trr_sig_define(struct trace_reader *r, uint32_t id, const uint8_t *text, size_t len,
               uint64_t off);

/* --- file header and footer (trace_header_footer.c) --- */

int trr_read_file_header(struct trace_reader *r);
/* Loads the index from the end of a seekable file (for seek). Not being
 * able to is not an error: the trace may be truncated. */
void trr_load_index(struct trace_reader *r);
/* Reads the footer at `off` (its 8-byte magic already read). */
int trr_read_footer(struct trace_reader *r, uint64_t off, const uint8_t magic[8]);

#endif
