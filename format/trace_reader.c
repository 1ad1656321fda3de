/* format/trace_reader.c: reads, checks and seeks a trace.
 *
 * Every size read from the file is checked against a TRACE_MAX_* limit (and
 * against the file size when known) before anything is allocated, so no
 * input makes the reader crash, hang or allocate without bound. Records are
 * unpacked lazily, one per trace_reader_next(), into an arena that is reset
 * when a chunk is loaded (and when it grows past ARENA_RESET_BYTES), not
 * with one malloc per field. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <zstd.h>

#include "common/st_buf.h"
#include "format/trace_reader_int.h"

/* --- arena --- */

void *trr_arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    struct arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    a->total += n;
    return p;
}

/* Frees every block but one small one, which is kept for reuse. */
void trr_arena_reset(struct arena *a)
{
    struct arena_block *keep = NULL;
    for (struct arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        if (!keep && b->cap == ARENA_BLOCK) {
            keep = b;
            continue;
        }
        free(b);
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
    a->total = 0;
}

static void arena_free(struct arena *a)
{
    for (struct arena_block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    a->head = NULL;
    a->total = 0;
}

void *trr_pb_alloc(void *data, size_t size)
{
    return trr_arena_alloc(data, size);
}

void trr_pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

char *trr_arena_strndup(struct arena *a, const void *p, size_t n)
{
    char *s = trr_arena_alloc(a, n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* --- the reader --- */

static void refresh_size(struct trace_reader *r);

int trr_set_err(struct trace_reader *r, int code, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
    va_end(ap);
    r->err_code = code;
    r->err_off = off;
    if (code == TRACE_E_TRUNCATED)
        refresh_size(r); /* the stats give the size the trace ended at */
    return code;
}

static int grow(void *pp, size_t *cap, size_t need, size_t elem)
{
    void *n = st_grow(*(void **)pp, cap, need, elem, 16, SIZE_MAX);
    if (!n)
        return TRACE_E_NOMEM;
    *(void **)pp = n;
    return 0;
}

/* Reads up to n bytes at r->pos; *got < n only at end of file. */
int trr_rd(struct trace_reader *r, void *buf, size_t n, size_t *got)
{
    size_t total = 0;
    while (total < n) {
        size_t g = 0;
        int rc = r->io->read(r->io, (uint8_t *)buf + total, n - total, &g);
        if (rc < 0)
            return trr_set_err(r, TRACE_E_IO, r->pos + total, "cannot read at offset %llu",
                           (unsigned long long)(r->pos + total));
        if (g == 0)
            break;
        total += g;
    }
    r->pos += total;
    *got = total;
    return 0;
}

int trr_rd_seek(struct trace_reader *r, uint64_t off)
{
    if (off == r->pos)
        return 0;
    if (r->io->seek) {
        int rc = r->io->seek(r->io, off);
        if (rc < 0)
            return trr_set_err(r, rc, off, "cannot seek to offset %llu", (unsigned long long)off);
        r->pos = off;
        return 0;
    }
    if (off < r->pos)
        return trr_set_err(r, TRACE_E_UNSUPPORTED, off, "cannot seek backwards in this input");
    uint8_t buf[4096];
    while (r->pos < off) {
        size_t want = off - r->pos < sizeof buf ? (size_t)(off - r->pos) : sizeof buf;
        size_t got;
        int rc = trr_rd(r, buf, want, &got);
        if (rc < 0)
            return rc;
        if (got < want)
            return trr_set_err(r, TRACE_E_TRUNCATED, r->pos, "trace ends at offset %llu" STILL_WRITTEN,
                           (unsigned long long)r->pos);
    }
    return 0;
}

/* Asks the backend for the file's size again. A trace that is still being
 * written grows after the reader opened it: whatever the reader would call
 * missing is first checked against the size as it is now, so that a stale
 * size neither cuts the trace short nor makes a size negative. */
static void refresh_size(struct trace_reader *r)
{
    uint64_t now;
    if (r->size_known && r->io->size && r->io->size(r->io, &now) == 0) {
        r->file_size = now;
        r->st.file_bytes = now;
    }
}

/* 1 when the data reaches offset `end` (always, when the size is unknown:
 * then reading finds out). */
int trr_data_reaches(struct trace_reader *r, uint64_t end)
{
    if (!r->size_known || end <= r->file_size)
        return 1;
    refresh_size(r);
    return end <= r->file_size;
}

int trr_chain_step(struct trace_reader *r, const uint8_t *prev, const void *a, size_t alen,
               const void *b, size_t blen, uint8_t out[TRACE_HASH_BYTES])
{
    tf_hash h;
    int rc = tf_hash_init(&h, r->keyed && r->have_key ? r->key : NULL);
    if (rc < 0)
        return rc;
    if (prev)
        tf_hash_update(&h, prev, TRACE_HASH_BYTES);
    tf_hash_update(&h, a, alen);
    if (blen)
        tf_hash_update(&h, b, blen);
    tf_hash_final(&h, out);
    return 0;
}

/* --- signatures --- */

int trr_sig_define(struct trace_reader *r, uint32_t id, const uint8_t *text, size_t len,
               uint64_t off)
{
    if (id >= TRACE_MAX_SIGNATURES)
        return trr_set_err(r, TRACE_E_CORRUPT, off, "signature id %u at offset %llu is out of range",
                       id, (unsigned long long)off);
    if (len == 0 || len > TRACE_MAX_SIG_LEN || memchr(text, 0, len))
        return trr_set_err(r, TRACE_E_CORRUPT, off,
                       "signature %u at offset %llu has an invalid text", id,
                       (unsigned long long)off);
    if (id >= r->sigs_cap) {
        size_t old = r->sigs_cap;
        if (grow(&r->sigs, &r->sigs_cap, (size_t)id + 1, sizeof *r->sigs) < 0)
            return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
        memset(r->sigs + old, 0, (r->sigs_cap - old) * sizeof *r->sigs);
    }
    if (r->sigs[id]) {
        if (strlen(r->sigs[id]) != len || memcmp(r->sigs[id], text, len))
            return trr_set_err(r, TRACE_E_CORRUPT, off,
                           "signature %u at offset %llu contradicts its earlier definition", id,
                           (unsigned long long)off);
        return 0;
    }
    char *s = malloc(len + 1);
    if (!s)
        return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
    memcpy(s, text, len);
    s[len] = '\0';
    r->sigs[id] = s;
    return 0;
}

const char *trace_reader_signature(const struct trace_reader *r, uint32_t id)
{
    return r && id < r->sigs_cap ? r->sigs[id] : NULL;
}

/* --- chunks --- */

/* Validates a chunk header h (TC_HEADER_SIZE bytes at `off`). */
static int check_chunk_header(struct trace_reader *r, const uint8_t *h, uint64_t off)
{
    if (memcmp(h, TC_SYNC, 8) != 0)
        return trr_set_err(r, TRACE_E_CORRUPT, off, "no chunk sync marker at offset %llu",
                       (unsigned long long)off);
    if (TF_CHECK && st_le64_get(h + TC_XXH_OFF) != tf_xxh3(h, TC_XXH_OFF))
        return trr_set_err(r, TRACE_E_CHECKSUM, off,
                       "chunk header checksum mismatch at offset %llu", (unsigned long long)off);
    uint32_t hsize = st_le32_get(h + 8), count = st_le32_get(h + 40), raw = st_le32_get(h + 44),
             psize = st_le32_get(h + 48);
    if (hsize != TC_HEADER_SIZE || count == 0 || raw > TRACE_MAX_CHUNK_RAW ||
        (uint64_t)count * 3 > raw || psize == 0 || psize > ZSTD_compressBound(raw))
        return trr_set_err(r, TRACE_E_CORRUPT, off,
                       "chunk header at offset %llu has impossible sizes",
                       (unsigned long long)off);
    return 0;
}

/* Reads the rest of the chunk header whose 8-byte sync marker h[0, 8) is
 * already read (the chunk starts at `off`), checks it and that it is the
 * chunk expected next. */
static int read_chunk_header(struct trace_reader *r, uint64_t off, uint8_t h[TC_HEADER_SIZE])
{
    size_t got;
    int rc = trr_rd(r, h + 8, TC_HEADER_SIZE - 8, &got);
    if (rc < 0)
        return rc;
    if (got < TC_HEADER_SIZE - 8)
        return trr_set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the header of the chunk at %llu"
                       STILL_WRITTEN,
                       (unsigned long long)r->pos, (unsigned long long)off);
    if ((rc = check_chunk_header(r, h, off)) < 0)
        return rc;
    uint64_t number = st_le64_get(h + 16), first = st_le64_get(h + 24);
    uint32_t count = st_le32_get(h + 40);
    if (r->numbers_known && (number != r->next_chunk_number || first != r->next_event))
        return trr_set_err(r, TRACE_E_CORRUPT, off,
                       "chunk at offset %llu is chunk %llu starting at event %llu, expected "
                       "chunk %llu at event %llu (chunks dropped or reordered)",
                       (unsigned long long)off, (unsigned long long)number,
                       (unsigned long long)first, (unsigned long long)r->next_chunk_number,
                       (unsigned long long)r->next_event);
    if (first > UINT64_MAX - count)
        return trr_set_err(r, TRACE_E_CORRUPT, off, "chunk at offset %llu has an impossible index",
                       (unsigned long long)off);
    return 0;
}

/* Reads the compressed payload of the chunk with header h at `off` into
 * r->cbuf and checks its checksum and its link in the hash chain. */
static int read_payload(struct trace_reader *r, uint64_t off, const uint8_t *h)
{
    uint64_t number = st_le64_get(h + 16);
    uint32_t psize = st_le32_get(h + 48);
    if (!trr_data_reaches(r, off + TC_HEADER_SIZE + psize)) {
        uint64_t at = off + TC_HEADER_SIZE; /* where the payload starts */
        return trr_set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the payload of chunk %llu at %llu "
                       "(%llu of %u bytes)" STILL_WRITTEN,
                       (unsigned long long)r->file_size, (unsigned long long)number,
                       (unsigned long long)off,
                       (unsigned long long)(r->file_size > at ? r->file_size - at : 0),
                       psize);
    }
    if (grow(&r->cbuf, &r->cbuf_cap, psize, 1) < 0)
        return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
    size_t got;
    int rc = trr_rd(r, r->cbuf, psize, &got);
    if (rc < 0)
        return rc;
    if (r->resyncing)
        r->recover_spent += got;
    if (got < psize)
        return trr_set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the payload of chunk %llu at %llu "
                       "(%zu of %u bytes)" STILL_WRITTEN,
                       (unsigned long long)r->pos, (unsigned long long)number,
                       (unsigned long long)off, got, psize);
    if (TF_CHECK && st_le64_get(h + 56) != tf_xxh3(r->cbuf, psize))
        return trr_set_err(r, TRACE_E_CHECKSUM, off,
                       "payload checksum mismatch in chunk %llu at offset %llu",
                       (unsigned long long)number, (unsigned long long)off);
    if (r->chain_checking && r->chain_known) {
        uint8_t want[TRACE_HASH_BYTES];
        if ((rc = trr_chain_step(r, r->chain, h, TC_CHAIN_OFF, r->cbuf, psize, want)) < 0)
            return trr_set_err(r, rc, off, "cannot hash");
        if (TF_CHECK && tf_memcmp_ct(want, h + TC_CHAIN_OFF, TRACE_HASH_BYTES) != 0)
            return trr_set_err(r, TRACE_E_CHAIN, off,
                           "hash chain mismatch at chunk %llu (offset %llu): the trace was "
                           "edited, or chunks were dropped or reordered",
                           (unsigned long long)number, (unsigned long long)off);
    } else if (r->chain_checking) {
        r->st.chain_checked = 0;
    }
    memcpy(r->chain, h + TC_CHAIN_OFF, TRACE_HASH_BYTES);
    r->chain_known = 1;
    return 0;
}

/* Decompresses r->cbuf (the payload of the chunk with header h at `off`)
 * into r->raw: exactly one zstd frame of the header's raw size. */
static int decompress_payload(struct trace_reader *r, uint64_t off, const uint8_t *h)
{
    uint64_t number = st_le64_get(h + 16);
    uint32_t raw = st_le32_get(h + 44), psize = st_le32_get(h + 48);
    if (grow(&r->raw, &r->raw_cap, raw ? raw : 1, 1) < 0)
        return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
    unsigned long long fcs = ZSTD_getFrameContentSize(r->cbuf, psize);
    size_t fsz = ZSTD_findFrameCompressedSize(r->cbuf, psize);
    size_t dsz = 0;
    if (fcs != raw || ZSTD_isError(fsz) || fsz != psize ||
        ZSTD_isError(dsz = ZSTD_decompressDCtx(r->dctx, r->raw, raw, r->cbuf, psize)) ||
        dsz != raw)
        return trr_set_err(r, TRACE_E_CORRUPT, off,
                       "payload of chunk %llu at offset %llu is not one zstd frame of %u bytes",
                       (unsigned long long)number, (unsigned long long)off, raw);
    return 0;
}

/* Makes the decompressed chunk with header h at `off` the one events are
 * read from, and counts it. */
static int enter_chunk(struct trace_reader *r, uint64_t off, const uint8_t *h)
{
    uint64_t number = st_le64_get(h + 16), first = st_le64_get(h + 24), t0 = st_le64_get(h + 32);
    uint32_t count = st_le32_get(h + 40), raw = st_le32_get(h + 44), psize = st_le32_get(h + 48);
    if (r->from_start) {
        if (grow(&r->seen, &r->seen_cap, r->nseen + 1, sizeof *r->seen) < 0)
            return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
        r->seen[r->nseen++] = (struct index_entry){ off, first, t0 };
    }
    r->raw_len = raw;
    r->raw_pos = 0;
    r->in_chunk = 1;
    r->resyncing = 0;
    r->chunk_off = off;
    r->chunk_number = number;
    r->chunk_events = r->chunk_left = count;
    r->seq = first;
    r->prev_time = t0;
    r->numbers_known = 1;
    r->next_chunk_number = number + 1;
    r->next_event = first + count;
    r->st.chunks++;
    r->st.raw_bytes += raw;
    r->st.compressed_bytes += psize;
    return 0;
}

/* Loads the chunk (or footer) at r->pos. Returns 0 (a chunk is loaded), 1
 * (the footer was read: clean end) or an error. */
static int load_chunk(struct trace_reader *r)
{
    uint64_t off = r->pos;
    uint8_t h[TC_HEADER_SIZE];
    size_t got;
    r->in_chunk = 0;
    trr_arena_reset(&r->arena);
    int rc = trr_rd(r, h, 8, &got);
    if (rc < 0)
        return rc;
    if (got == 0)
        return trr_set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu after %llu complete chunks, without a "
                       "footer" STILL_WRITTEN,
                       (unsigned long long)off, (unsigned long long)r->st.chunks);
    if (got < 8)
        return trr_set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the chunk or footer that starts at "
                       "%llu" STILL_WRITTEN,
                       (unsigned long long)(off + got), (unsigned long long)off);
    if (memcmp(h, TFO_MAGIC, 8) == 0)
        return trr_read_footer(r, off, h) < 0 ? r->err_code : 1;
    if (memcmp(h, TC_SYNC, 8) != 0)
        return trr_set_err(r, TRACE_E_CORRUPT, off, "no chunk sync marker at offset %llu",
                       (unsigned long long)off);
    if ((rc = read_chunk_header(r, off, h)) < 0 || (rc = read_payload(r, off, h)) < 0 ||
        (rc = decompress_payload(r, off, h)) < 0)
        return rc;
    return enter_chunk(r, off, h);
}

/* Fills what every event has (kind, seq, time, request) from record `rec`
 * and checks its sizes against the limits. */
static int convert_frame(struct trace_reader *r, const struct tf_record *rec,
                         struct trace_event *ev, uint64_t off)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = (enum trace_event_kind)rec->kind;
    ev->seq = r->seq;
    ev->time_ns = r->prev_time + (uint64_t)rec->dtime;
    ev->req_seq = TRACE_SEQ_NONE;
    if (rec->req_delta) {
        if (rec->req_delta > r->seq)
            return trr_set_err(r, TRACE_E_CORRUPT, off,
                           "event %llu in chunk at offset %llu refers to a request before the "
                           "trace",
                           (unsigned long long)r->seq, (unsigned long long)off);
        ev->req_seq = r->seq - rec->req_delta;
    }
    if (rec->data_len > TRACE_MAX_BLOB || rec->text_len > TRACE_MAX_TEXT ||
        rec->detail_len > TRACE_MAX_TEXT)
        return trr_set_err(r, TRACE_E_CORRUPT, off,
                       "event %llu in chunk at offset %llu exceeds a size limit",
                       (unsigned long long)r->seq, (unsigned long long)off);
    return 0;
}

static int convert_request(struct trace_reader *r, const struct tf_record *rec,
                           struct trace_event *ev, uint64_t off)
{
    if (rec->nargs > TRACE_MAX_ARGS || !trace_reader_signature(r, rec->sig_id))
        return trr_set_err(r, TRACE_E_CORRUPT, off, "request %llu in chunk at offset %llu has %s",
                       (unsigned long long)r->seq, (unsigned long long)off,
                       rec->nargs > TRACE_MAX_ARGS ? "too many arguments"
                                                    : "an undefined signature id");
    ev->request.sig_id = rec->sig_id;
    ev->request.sig = r->sigs[rec->sig_id];
    ev->request.nargs = rec->nargs;
    memcpy(ev->request.args, rec->args, rec->nargs * sizeof *rec->args);
    return 0;
}

/* Converts record `rec` into ev. */
static int convert_event(struct trace_reader *r, const struct tf_record *rec,
                         struct trace_event *ev, uint64_t off)
{
    int rc = convert_frame(r, rec, ev, off);
    if (rc < 0)
        return rc;
    const uint8_t *data = rec->data_len ? rec->data : NULL;
    char *txt = NULL;
    if (rec->text_len || rec->kind == TRACE_EV_NOTE || rec->kind == TRACE_EV_VIOLATION ||
        rec->kind == TRACE_EV_LIMIT) {
        txt = trr_arena_strndup(&r->arena, rec->text, rec->text_len);
        if (!txt)
            return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
    }
    switch (rec->kind) {
    case TRACE_EV_REQUEST:
        return convert_request(r, rec, ev, off);
    case TRACE_EV_MEM_READ:
    case TRACE_EV_MEM_READ_STR:
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
    case TRACE_EV_MEM_FREE:
        ev->mem.ptr = rec->ptr;
        ev->mem.size = rec->size;
        ev->mem.data = data;
        ev->mem.len = rec->data_len;
        break;
    case TRACE_EV_SET_ERRNO:
        ev->set_errno.value = rec->code;
        break;
    case TRACE_EV_RESULT:
        if (rec->result_kind != 'v' && rec->result_kind != 'i' && rec->result_kind != 'f' &&
            rec->result_kind != 'p')
            return trr_set_err(r, TRACE_E_CORRUPT, off,
                           "result %llu in chunk at offset %llu has an invalid kind",
                           (unsigned long long)r->seq, (unsigned long long)off);
        ev->result.kind = (char)rec->result_kind;
        ev->result.value = rec->value;
        break;
    case TRACE_EV_GUEST_STDERR:
        ev->guest_stderr.data = data;
        ev->guest_stderr.len = rec->data_len;
        break;
    case TRACE_EV_GUEST_EXIT:
        ev->guest_exit.code = rec->code;
        ev->guest_exit.signal = rec->signal;
        ev->guest_exit.reason = txt ? txt : "";
        break;
    case TRACE_EV_LIMIT: {
        char *d = trr_arena_strndup(&r->arena, rec->detail, rec->detail_len);
        if (!d)
            return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
        ev->limit.name = txt;
        ev->limit.value = rec->value;
        ev->limit.detail = d;
        break;
    }
    case TRACE_EV_VIOLATION:
        ev->violation.text = txt;
        ev->violation.data = data;
        ev->violation.len = rec->data_len;
        break;
    case TRACE_EV_NOTE:
        ev->note.text = txt;
        break;
    default:
        return trr_set_err(r, TRACE_E_CORRUPT, off,
                       "record in chunk at offset %llu has unknown kind %u",
                       (unsigned long long)off, rec->kind);
    }
    return 0;
}

/* Decodes records of the loaded chunk until an event. 1: *ev filled; 0: the
 * chunk is used up; <0: error. */
static int next_in_chunk(struct trace_reader *r, struct trace_event *ev)
{
    while (r->raw_pos < r->raw_len) {
        uint64_t len;
        size_t n = tf_varint_get(r->raw + r->raw_pos, r->raw + r->raw_len, &len);
        if (n == 0 || len > r->raw_len - r->raw_pos - n)
            return trr_set_err(r, TRACE_E_CORRUPT, r->chunk_off,
                           "chunk %llu at offset %llu has a malformed record at byte %zu",
                           (unsigned long long)r->chunk_number,
                           (unsigned long long)r->chunk_off, r->raw_pos);
        const uint8_t *p = r->raw + r->raw_pos + n;
        size_t at = r->raw_pos;
        r->raw_pos += n + (size_t)len;
        if (r->arena.total > ARENA_RESET_BYTES)
            trr_arena_reset(&r->arena);
        struct tf_record rec_;
        const struct tf_record *rec = &rec_;
        if (tf_record_decode(p, (size_t)len, &rec_, r->args, TRACE_MAX_ARGS) < 0)
            return trr_set_err(r, TRACE_E_CORRUPT, r->chunk_off,
                           "chunk %llu at offset %llu has a malformed record at byte %zu",
                           (unsigned long long)r->chunk_number,
                           (unsigned long long)r->chunk_off, at);
        if (rec->kind == TR_KIND_SIGDEF) {
            int rc = trr_sig_define(r, rec->sig_id, rec->text, rec->text_len, r->chunk_off);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r->chunk_left == 0)
            return trr_set_err(r, TRACE_E_CORRUPT, r->chunk_off,
                           "chunk %llu at offset %llu holds more events than its header says",
                           (unsigned long long)r->chunk_number,
                           (unsigned long long)r->chunk_off);
        int rc = convert_event(r, rec, ev, r->chunk_off);
        if (rc < 0)
            return rc;
        r->prev_time = ev->time_ns;
        r->seq++;
        r->chunk_left--;
        return 1;
    }
    if (r->chunk_left != 0)
        return trr_set_err(r, TRACE_E_CORRUPT, r->chunk_off,
                       "chunk %llu at offset %llu holds fewer events than its header says",
                       (unsigned long long)r->chunk_number, (unsigned long long)r->chunk_off);
    r->in_chunk = 0;
    return 0;
}

/* Recover mode: finds the next valid chunk header or footer after `from`
 * and positions the reader there. 0: found; TRACE_E_TRUNCATED: none left. */
static int resync(struct trace_reader *r, uint64_t from)
{
    uint8_t *buf = malloc(SCAN_BLOCK + TC_HEADER_SIZE);
    if (!buf)
        return trr_set_err(r, TRACE_E_NOMEM, from, "out of memory");
    uint64_t at = from;
    int rc = TRACE_E_TRUNCATED;
    for (;;) {
        size_t got;
        if (trr_rd_seek(r, at) < 0 || trr_rd(r, buf, SCAN_BLOCK + TC_HEADER_SIZE, &got) < 0)
            break;
        if (got < 8)
            break;
        size_t i;
        for (i = 0; i + 8 <= got; i++) {
            if (buf[i] != (uint8_t)TC_SYNC[0] && buf[i] != (uint8_t)TFO_MAGIC[0])
                continue;
            if (!memcmp(buf + i, TFO_MAGIC, 8)) {
                rc = 0;
                break;
            }
            if (!memcmp(buf + i, TC_SYNC, 8)) {
                if (i + TC_HEADER_SIZE > got && got == SCAN_BLOCK + TC_HEADER_SIZE)
                    break; /* read again from here */
                if (i + TC_HEADER_SIZE <= got &&
                    (!TF_CHECK ||
                     st_le64_get(buf + i + TC_XXH_OFF) == tf_xxh3(buf + i, TC_XXH_OFF))) {
                    rc = 0;
                    break;
                }
            }
        }
        if (rc == 0) {
            at += i;
            break;
        }
        if (got < SCAN_BLOCK + TC_HEADER_SIZE)
            break;
        at += i > 0 ? i : 1;
    }
    free(buf);
    if (rc == 0) {
        r->st.skipped_bytes += at - from + 1;
        rc = trr_rd_seek(r, at);
    }
    return rc;
}

static int is_recoverable(int rc)
{
    return rc == TRACE_E_CHECKSUM || rc == TRACE_E_CORRUPT || rc == TRACE_E_CHAIN ||
           rc == TRACE_E_TRUNCATED || rc == TRACE_E_INDEX;
}

int trace_reader_next(struct trace_reader *r, struct trace_event *ev)
{
    if (!r || !ev)
        return TRACE_E_INVAL;
    if (r->state < 0)
        return r->state;
    if (r->state == 1)
        return 0;
    for (;;) {
        int rc = 0;
        if (r->in_chunk) {
            rc = next_in_chunk(r, ev);
            if (rc > 0) {
                r->st.events++;
                if (!r->seq_sought && ev->seq > r->next_seq)
                    r->st.events_missing += ev->seq - r->next_seq;
                r->next_seq = ev->seq + 1;
                r->seq_sought = 0;
                if (!r->last_time_set) {
                    r->st.first_time_ns = ev->time_ns;
                    r->last_time_set = 1;
                }
                r->st.last_time_ns = ev->time_ns;
                return 1;
            }
        }
        if (rc == 0) {
            rc = load_chunk(r);
            if (rc == 1)
                return 0;
            if (rc == 0)
                continue;
        }
        /* rc < 0: stop, or skip to the next valid chunk. */
        uint64_t bad = r->in_chunk ? r->chunk_off : r->err_off;
        if (!r->recover || !is_recoverable(rc) || (rc == TRACE_E_TRUNCATED && !r->in_chunk &&
                                                    !trr_data_reaches(r, r->pos + 1))) {
            r->state = rc;
            return rc;
        }
        /* Candidates found by the scan whose payloads turn out bad cost a
         * read each; cap the total so that a file of fake chunk headers
         * cannot make recovery quadratic. */
        uint64_t budget = 8 * (r->size_known ? r->file_size : ((uint64_t)1 << 30)) +
                          2 * (uint64_t)TRACE_MAX_CHUNK_RAW;
        if (r->recover_spent > budget) {
            r->state = rc;
            return rc;
        }
        int saved = r->err_code;
        uint64_t saved_off = r->err_off;
        char saved_msg[sizeof r->err_msg];
        memcpy(saved_msg, r->err_msg, sizeof saved_msg);
        r->st.damaged_regions++;
        r->in_chunk = 0;
        r->chain_known = 0;
        r->from_start = 0;
        r->numbers_known = 0;
        r->resyncing = 1;
        int rs = resync(r, bad + 1);
        /* Keep the message of the damage, not of the scan. */
        r->err_code = saved;
        r->err_off = saved_off;
        memcpy(r->err_msg, saved_msg, sizeof saved_msg);
        if (rs < 0) {
            r->state = rs == TRACE_E_TRUNCATED ? rc : rs;
            return r->state;
        }
    }
}

/* --- seek --- */

/* Finds the chunk holding event `seq` by scanning chunk headers (no footer
 * index). What was scanned is kept, so that later seeks are a binary search
 * plus a scan of only the chunks not seen yet. */
static int scan_for(struct trace_reader *r, uint64_t seq, struct index_entry *out,
                    uint64_t *number)
{
    if (r->nscanned && seq < r->scanned[r->nscanned - 1].first_event +
                                 r->scanned[r->nscanned - 1].count) {
        size_t lo = 0, hi = r->nscanned;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (r->scanned[mid].first_event <= seq)
                lo = mid;
            else
                hi = mid;
        }
        *out = (struct index_entry){ r->scanned[lo].offset, r->scanned[lo].first_event,
                                     r->scanned[lo].first_time };
        *number = lo;
        return 0;
    }
    uint64_t off = r->data_start, next = 0;
    if (r->nscanned) {
        const struct scan_entry *last = &r->scanned[r->nscanned - 1];
        off = last->offset + TC_HEADER_SIZE + last->psize;
        next = last->first_event + last->count;
    }
    for (;;) {
        uint8_t h[TC_HEADER_SIZE];
        size_t got;
        int rc = trr_rd_seek(r, off);
        if (rc < 0)
            return rc;
        if ((rc = trr_rd(r, h, sizeof h, &got)) < 0)
            return rc;
        if (got >= 8 && !memcmp(h, TFO_MAGIC, 8))
            return trr_set_err(r, TRACE_E_RANGE, off, "event %llu is beyond the last event",
                           (unsigned long long)seq);
        if (got < sizeof h)
            return trr_set_err(r, TRACE_E_RANGE, off,
                           "event %llu is beyond the last complete chunk",
                           (unsigned long long)seq);
        if ((rc = check_chunk_header(r, h, off)) < 0)
            return rc;
        uint64_t first = st_le64_get(h + 24);
        uint32_t count = st_le32_get(h + 40);
        if (st_le64_get(h + 16) != r->nscanned || first != next)
            return trr_set_err(r, TRACE_E_CORRUPT, off,
                           "chunk at offset %llu is out of sequence",
                           (unsigned long long)off);
        if (grow(&r->scanned, &r->scanned_cap, r->nscanned + 1, sizeof *r->scanned) < 0)
            return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
        r->scanned[r->nscanned++] =
            (struct scan_entry){ off, first, st_le64_get(h + 32), count, st_le32_get(h + 48) };
        if (seq - first < count && seq >= first) {
            *out = (struct index_entry){ off, first, st_le64_get(h + 32) };
            *number = r->nscanned - 1;
            return 0;
        }
        off += TC_HEADER_SIZE + st_le32_get(h + 48);
        next = first + count;
    }
}

int trace_reader_seek(struct trace_reader *r, uint64_t seq)
{
    if (!r)
        return TRACE_E_INVAL;
    if (!r->io->seek)
        return trr_set_err(r, TRACE_E_UNSUPPORTED, r->pos, "cannot seek in this input");
    struct index_entry e = { 0, 0, 0 };
    uint64_t number = 0;
    int rc;
    if (r->has_index) {
        if (seq >= r->index_events)
            return trr_set_err(r, TRACE_E_RANGE, r->pos,
                           "event %llu is beyond the last event (%llu events)",
                           (unsigned long long)seq, (unsigned long long)r->index_events);
        size_t lo = 0, hi = r->nindex; /* last entry with first_event <= seq */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (r->index[mid].first_event <= seq)
                lo = mid;
            else
                hi = mid;
        }
        e = r->index[lo];
        number = lo;
    } else if ((rc = scan_for(r, seq, &e, &number)) < 0) {
        return rc;
    }
    if ((rc = trr_rd_seek(r, e.offset)) < 0)
        return rc;
    r->state = 0;
    r->in_chunk = 0;
    r->chain_known = 0;
    r->from_start = 0;
    r->seq_sought = 1;
    r->numbers_known = 1;
    r->next_chunk_number = number;
    r->next_event = e.first_event;
    r->err_code = 0;
    r->err_msg[0] = '\0';
    if ((rc = load_chunk(r)) != 0) {
        r->state = rc < 0 ? rc : TRACE_E_INDEX;
        return r->state;
    }
    struct trace_event ev;
    while (r->seq < seq) {
        rc = next_in_chunk(r, &ev);
        if (rc <= 0) {
            r->state = rc < 0 ? rc
                              : trr_set_err(r, TRACE_E_INDEX, e.offset,
                                        "index says event %llu is in the chunk at offset %llu, "
                                        "it is not",
                                        (unsigned long long)seq, (unsigned long long)e.offset);
            return r->state;
        }
    }
    return 0;
}

/* --- open, accessors, free --- */

int trace_reader_open(struct trace_reader **out, struct trace_io *io, int own_io,
                      const struct trace_reader_options *opt, char *out_err, size_t err_cap)
{
    if (out_err && err_cap)
        out_err[0] = '\0';
    if (!out || !io || !io->read) {
        if (own_io)
            trace_io_free(io);
        return TRACE_E_INVAL;
    }
    *out = NULL;
    struct trace_reader *r = calloc(1, sizeof *r);
    if (!r) {
        if (own_io)
            trace_io_free(io);
        return TRACE_E_NOMEM;
    }
    r->io = io;
    r->own_io = own_io;
    if (opt) {
        r->recover = opt->recover;
        if (opt->key) {
            memcpy(r->key, opt->key, TRACE_KEY_BYTES);
            r->have_key = 1;
        }
    }
    r->dctx = ZSTD_createDCtx();
    int rc = 0;
    if (!r->dctx) {
        rc = trr_set_err(r, TRACE_E_NOMEM, 0, "out of memory");
        goto fail;
    }
    if (io->size && io->size(io, &r->file_size) == 0)
        r->size_known = 1;
    if (io->seek && io->seek(io, 0) < 0) {
        rc = trr_set_err(r, TRACE_E_IO, 0, "cannot seek to the start of the trace");
        goto fail;
    }
    r->pos = 0;
    if ((rc = trr_read_file_header(r)) < 0)
        goto fail;
    r->st.file_bytes = r->size_known ? r->file_size : 0;
    r->chain_checking = !r->keyed || r->have_key;
    r->st.chain_checked = r->chain_checking;
    r->from_start = 1;
    r->numbers_known = 1;
    if (io->seek && r->size_known) {
        trr_load_index(r);
        if ((rc = trr_rd_seek(r, r->data_start)) < 0)
            goto fail;
    }
    r->st.has_index = r->has_index;
    *out = r;
    return 0;
fail:
    if (out_err && err_cap)
        snprintf(out_err, err_cap, "%s", r->err_msg[0] ? r->err_msg : trace_strerror(rc));
    trace_reader_free(r);
    return rc;
}

const struct trace_header *trace_reader_header(const struct trace_reader *r)
{
    return r ? &r->hdr : NULL;
}

uint64_t trace_reader_error_offset(const struct trace_reader *r)
{
    return r ? r->err_off : 0;
}

const char *trace_reader_error_message(const struct trace_reader *r)
{
    return r ? r->err_msg : "";
}

void trace_reader_stats(const struct trace_reader *r, struct trace_reader_stats *st)
{
    *st = r->st;
    st->incomplete = r->state == TRACE_E_TRUNCATED;
}

void trace_reader_free(struct trace_reader *r)
{
    if (!r)
        return;
    if (r->own_io)
        trace_io_free(r->io);
    ZSTD_freeDCtx(r->dctx);
    arena_free(&r->arena);
    arena_free(&r->hdr_arena);
    for (size_t i = 0; i < r->sigs_cap; i++)
        free(r->sigs[i]);
    free(r->sigs);
    free(r->index);
    free(r->seen);
    free(r->scanned);
    free(r->cbuf);
    free(r->raw);
    sodium_memzero(r->key, sizeof r->key);
    free(r);
}
