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

#include "format/trace.pb-c.h"
#include "common/st_buf.h"
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

static void *arena_alloc(struct arena *a, size_t n)
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
static void arena_reset(struct arena *a)
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

static void *pb_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr;
}

static char *arena_strndup(struct arena *a, const void *p, size_t n)
{
    char *s = arena_alloc(a, n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* --- the reader --- */

struct index_entry {
    uint64_t offset, first_event, first_time;
};

struct scan_entry {
    uint64_t offset, first_event, first_time;
    uint32_t count, psize;
};

struct trace_reader {
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

static int set_err(struct trace_reader *r, int code, uint64_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void refresh_size(struct trace_reader *r);

static int set_err(struct trace_reader *r, int code, uint64_t off, const char *fmt, ...)
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
static int rd(struct trace_reader *r, void *buf, size_t n, size_t *got)
{
    size_t total = 0;
    while (total < n) {
        size_t g = 0;
        int rc = r->io->read(r->io, (uint8_t *)buf + total, n - total, &g);
        if (rc < 0)
            return set_err(r, TRACE_E_IO, r->pos + total, "cannot read at offset %llu",
                           (unsigned long long)(r->pos + total));
        if (g == 0)
            break;
        total += g;
    }
    r->pos += total;
    *got = total;
    return 0;
}

static int rd_seek(struct trace_reader *r, uint64_t off)
{
    if (off == r->pos)
        return 0;
    if (r->io->seek) {
        int rc = r->io->seek(r->io, off);
        if (rc < 0)
            return set_err(r, rc, off, "cannot seek to offset %llu", (unsigned long long)off);
        r->pos = off;
        return 0;
    }
    if (off < r->pos)
        return set_err(r, TRACE_E_UNSUPPORTED, off, "cannot seek backwards in this input");
    uint8_t buf[4096];
    while (r->pos < off) {
        size_t want = off - r->pos < sizeof buf ? (size_t)(off - r->pos) : sizeof buf;
        size_t got;
        int rc = rd(r, buf, want, &got);
        if (rc < 0)
            return rc;
        if (got < want)
            return set_err(r, TRACE_E_TRUNCATED, r->pos, "trace ends at offset %llu" STILL_WRITTEN,
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
static int data_reaches(struct trace_reader *r, uint64_t end)
{
    if (!r->size_known || end <= r->file_size)
        return 1;
    refresh_size(r);
    return end <= r->file_size;
}

static int chain_step(struct trace_reader *r, const uint8_t *prev, const void *a, size_t alen,
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

static int sig_define(struct trace_reader *r, uint32_t id, const uint8_t *text, size_t len,
                      uint64_t off)
{
    if (id >= TRACE_MAX_SIGNATURES)
        return set_err(r, TRACE_E_CORRUPT, off, "signature id %u at offset %llu is out of range",
                       id, (unsigned long long)off);
    if (len == 0 || len > TRACE_MAX_SIG_LEN || memchr(text, 0, len))
        return set_err(r, TRACE_E_CORRUPT, off,
                       "signature %u at offset %llu has an invalid text", id,
                       (unsigned long long)off);
    if (id >= r->sigs_cap) {
        size_t old = r->sigs_cap;
        if (grow(&r->sigs, &r->sigs_cap, (size_t)id + 1, sizeof *r->sigs) < 0)
            return set_err(r, TRACE_E_NOMEM, off, "out of memory");
        memset(r->sigs + old, 0, (r->sigs_cap - old) * sizeof *r->sigs);
    }
    if (r->sigs[id]) {
        if (strlen(r->sigs[id]) != len || memcmp(r->sigs[id], text, len))
            return set_err(r, TRACE_E_CORRUPT, off,
                           "signature %u at offset %llu contradicts its earlier definition", id,
                           (unsigned long long)off);
        return 0;
    }
    char *s = malloc(len + 1);
    if (!s)
        return set_err(r, TRACE_E_NOMEM, off, "out of memory");
    memcpy(s, text, len);
    s[len] = '\0';
    r->sigs[id] = s;
    return 0;
}

const char *trace_reader_signature(const struct trace_reader *r, uint32_t id)
{
    return r && id < r->sigs_cap ? r->sigs[id] : NULL;
}

/* --- file header --- */

static int convert_header(struct trace_reader *r, const Sandtrace__Header *hp)
{
    struct arena *a = &r->hdr_arena;
    struct trace_header *h = &r->hdr;
#define STR(dst, src)                                                                        \
    do {                                                                                     \
        if (!((dst) = arena_strndup(a, (src).data, (src).len)))                              \
            return TRACE_E_NOMEM;                                                            \
    } while (0)
    h->format_major = hp->format_major;
    h->format_minor = hp->format_minor;
    h->keyed = r->keyed;
    STR(h->writer_version, hp->writer_version);
    h->created_unix_ns = hp->created_unix_ns;
    STR(h->host_arch, hp->host_arch);
    h->host_pointer_size = hp->host_pointer_size;
    h->host_big_endian = hp->host_byte_order == 2;
    h->host_byte_order_set = hp->host_byte_order == 1 || hp->host_byte_order == 2;
    STR(h->host_kernel_release, hp->host_kernel_release);
    STR(h->guest_exe_path, hp->guest_exe_path);
    h->guest_exe_size = hp->guest_exe_size;
    if (hp->guest_exe_blake2b.len == TRACE_HASH_BYTES) {
        memcpy(h->guest_exe_blake2b, hp->guest_exe_blake2b.data, TRACE_HASH_BYTES);
        h->guest_exe_hash_set = 1;
    }
    const char **argv = arena_alloc(a, (hp->n_guest_argv + 1) * sizeof *argv);
    const char **env = arena_alloc(a, (hp->n_guest_env + 1) * sizeof *env);
    const char **renv = arena_alloc(a, (hp->n_guest_real_env + 1) * sizeof *renv);
    struct trace_kv *kv = arena_alloc(a, (hp->n_policy + 1) * sizeof *kv);
    if (!argv || !env || !renv || !kv)
        return TRACE_E_NOMEM;
    for (size_t i = 0; i < hp->n_guest_argv; i++)
        STR(argv[i], hp->guest_argv[i]);
    argv[hp->n_guest_argv] = NULL;
    for (size_t i = 0; i < hp->n_guest_env; i++)
        STR(env[i], hp->guest_env[i]);
    env[hp->n_guest_env] = NULL;
    for (size_t i = 0; i < hp->n_guest_real_env; i++)
        STR(renv[i], hp->guest_real_env[i]);
    renv[hp->n_guest_real_env] = NULL;
    for (size_t i = 0; i < hp->n_policy; i++) {
        STR(kv[i].key, hp->policy[i]->key);
        STR(kv[i].value, hp->policy[i]->value);
    }
    h->guest_argc = hp->n_guest_argv;
    h->guest_argv = argv;
    h->guest_envc = hp->n_guest_env;
    h->guest_env = env;
    h->guest_real_envc = hp->n_guest_real_env;
    h->guest_real_env = renv;
    h->policy_count = hp->n_policy;
    h->policy = kv;
#undef STR
    return 0;
}

/* Checks the fixed part of the file header (`got` bytes of it read). */
static int check_fixed_header(struct trace_reader *r, const uint8_t *fixed, size_t got)
{
    size_t m = got < 8 ? got : 8;
    if (memcmp(fixed, TF_MAGIC, m) != 0 || got == 0)
        return set_err(r, TRACE_E_BAD_MAGIC, 0,
                       got == 0 ? "file is empty: not a sandtrace trace"
                                : "bad magic number at offset 0: not a sandtrace trace");
    if (got < 12)
        return set_err(r, TRACE_E_TRUNCATED, got,
                       "trace ends at offset %zu, inside the file header" STILL_WRITTEN, got);
    unsigned major = st_le16_get(fixed + 8), minor = st_le16_get(fixed + 10);
    if (major != TRACE_FORMAT_MAJOR)
        return set_err(r, TRACE_E_VERSION, 8,
                       "trace format version %u.%u is not supported: this reader reads "
                       "version %d.x",
                       major, minor, TRACE_FORMAT_MAJOR);
    if (got < TF_FIXED_SIZE)
        return set_err(r, TRACE_E_TRUNCATED, got,
                       "trace ends at offset %zu, inside the file header" STILL_WRITTEN, got);
    if (TF_CHECK && st_le64_get(fixed + 40) != tf_xxh3(fixed, 40))
        return set_err(r, TRACE_E_CHECKSUM, 0, "file header checksum mismatch at offset 0");
    return 0;
}

/* The key given against the trace's (its key check, in the fixed header). */
static int check_key(struct trace_reader *r, const uint8_t *fixed)
{
    if (r->keyed && r->have_key) {
        uint8_t kc[8];
        tf_key_check(r->key, kc);
        if (tf_memcmp_ct(kc, fixed + 24, 8) != 0)
            return set_err(r, TRACE_E_WRONG_KEY, 24, "the key does not match this trace's key");
    } else if (!r->keyed && r->have_key) {
        return set_err(r, TRACE_E_NOT_KEYED, 12, "a key was given but the trace is not keyed");
    }
    return 0;
}

/* Unpacks and converts the header record hbuf[0, hsize) (checksum checked). */
static int unpack_header(struct trace_reader *r, const uint8_t *hbuf, uint32_t hsize)
{
    ProtobufCAllocator al = { pb_alloc, pb_free, &r->arena };
    Sandtrace__Header *hp = sandtrace__header__unpack(&al, hsize, hbuf);
    int rc = 0;
    if (!hp)
        rc = set_err(r, TRACE_E_CORRUPT, TF_FIXED_SIZE, "header record at offset %d is malformed",
                     TF_FIXED_SIZE);
    else if ((rc = convert_header(r, hp)) < 0)
        set_err(r, rc, TF_FIXED_SIZE, "out of memory");
    arena_reset(&r->arena);
    return rc;
}

static int read_file_header(struct trace_reader *r)
{
    uint8_t fixed[TF_FIXED_SIZE];
    size_t got;
    int rc = rd(r, fixed, sizeof fixed, &got);
    if (rc < 0 || (rc = check_fixed_header(r, fixed, got)) < 0)
        return rc;
    uint32_t flags = st_le32_get(fixed + 12);
    uint32_t hsize = st_le32_get(fixed + 16);
    r->keyed = (flags & TF_FLAG_KEYED) != 0;
    if (hsize > TRACE_MAX_HEADER)
        return set_err(r, TRACE_E_CORRUPT, 16, "header record size %u exceeds the limit",
                       hsize);
    if (!data_reaches(r, TF_FIXED_SIZE + (uint64_t)hsize))
        return set_err(r, TRACE_E_TRUNCATED, r->file_size,
                       "trace ends at offset %llu, inside the header record" STILL_WRITTEN,
                       (unsigned long long)r->file_size);
    uint8_t *buf = malloc(TF_FIXED_SIZE + (size_t)hsize);
    if (!buf)
        return set_err(r, TRACE_E_NOMEM, 0, "out of memory");
    memcpy(buf, fixed, TF_FIXED_SIZE);
    rc = rd(r, buf + TF_FIXED_SIZE, hsize, &got);
    if (rc == 0 && got < hsize)
        rc = set_err(r, TRACE_E_TRUNCATED, r->pos,
                     "trace ends at offset %llu, inside the header record" STILL_WRITTEN,
                     (unsigned long long)r->pos);
    if (rc == 0 && TF_CHECK && st_le64_get(fixed + 32) != tf_xxh3(buf + TF_FIXED_SIZE, hsize))
        rc = set_err(r, TRACE_E_CHECKSUM, TF_FIXED_SIZE,
                     "header record checksum mismatch at offset %d", TF_FIXED_SIZE);
    if (rc == 0)
        rc = unpack_header(r, buf + TF_FIXED_SIZE, hsize);
    if (rc == 0)
        rc = check_key(r, fixed);
    if (rc == 0) {
        tf_hash h;
        if ((rc = tf_hash_init(&h, r->keyed && r->have_key ? r->key : NULL)) == 0) {
            tf_hash_update(&h, TRACE_CHAIN_DOMAIN, strlen(TRACE_CHAIN_DOMAIN));
            tf_hash_update(&h, buf, TF_FIXED_SIZE + hsize);
            tf_hash_final(&h, r->chain);
        }
        r->chain_known = 1;
        r->data_start = TF_FIXED_SIZE + (uint64_t)hsize;
    }
    free(buf);
    return rc;
}

/* --- footer --- */

/* Parses a footer held whole in f[0, size): index into *idx (malloc'd),
 * signature definitions (when `define`), counts. Checks everything but the
 * chain. `off` is the footer's offset in the file. */
static int parse_footer(struct trace_reader *r, const uint8_t *f, uint64_t size, uint64_t off,
                        struct index_entry **idx, size_t *nidx, uint64_t *events,
                        uint64_t *last_time, int define)
{
    *idx = NULL;
    *nidx = 0;
    if (size < TFO_HEAD_SIZE + TFO_TRAILER_SIZE || memcmp(f, TFO_MAGIC, 8) != 0 ||
        st_le64_get(f + 8) != size)
        return set_err(r, TRACE_E_CORRUPT, off, "footer at offset %llu is malformed",
                       (unsigned long long)off);
    const uint8_t *t = f + size - TFO_TRAILER_SIZE;
    if (memcmp(t + 48, TFO_END_MAGIC, 8) != 0)
        return set_err(r, TRACE_E_CORRUPT, off + size - 8, "bad end magic at offset %llu",
                       (unsigned long long)(off + size - 8));
    if (TF_CHECK && st_le64_get(t + 40) != tf_xxh3(f, (size_t)(t + 40 - f)))
        return set_err(r, TRACE_E_CHECKSUM, off, "footer checksum mismatch at offset %llu",
                       (unsigned long long)off);
    if (st_le64_get(t + 32) != off)
        return set_err(r, TRACE_E_CORRUPT, off + size - 24,
                       "footer at offset %llu records offset %llu", (unsigned long long)off,
                       (unsigned long long)st_le64_get(t + 32));
    uint64_t nchunks = st_le64_get(f + 16);
    uint32_t nsigs = st_le32_get(f + 40);
    *events = st_le64_get(f + 24);
    *last_time = st_le64_get(f + 32);
    uint64_t avail = size - TFO_HEAD_SIZE - TFO_TRAILER_SIZE;
    if (nchunks > avail / TFO_ENTRY_SIZE || nsigs > TRACE_MAX_SIGNATURES)
        return set_err(r, TRACE_E_CORRUPT, off, "footer at offset %llu has impossible counts",
                       (unsigned long long)off);
    struct index_entry *e = malloc((nchunks ? nchunks : 1) * sizeof *e);
    if (!e)
        return set_err(r, TRACE_E_NOMEM, off, "out of memory");
    const uint8_t *p = f + TFO_HEAD_SIZE;
    for (uint64_t i = 0; i < nchunks; i++, p += TFO_ENTRY_SIZE) {
        e[i].offset = st_le64_get(p);
        e[i].first_event = st_le64_get(p + 8);
        e[i].first_time = st_le64_get(p + 16);
        if ((i == 0 && (e[i].offset != r->data_start || e[i].first_event != 0)) ||
            (i > 0 && (e[i].offset <= e[i - 1].offset ||
                       e[i].first_event <= e[i - 1].first_event)) ||
            e[i].offset >= off || e[i].first_event >= *events) {
            free(e);
            return set_err(r, TRACE_E_INDEX, off + TFO_HEAD_SIZE + i * TFO_ENTRY_SIZE,
                           "footer index entry %llu is inconsistent", (unsigned long long)i);
        }
    }
    if ((nchunks == 0) != (*events == 0)) {
        free(e);
        return set_err(r, TRACE_E_INDEX, off, "footer counts are inconsistent");
    }
    for (uint32_t i = 0; i < nsigs; i++) {
        if ((uint64_t)(t - p) < 2 || (uint64_t)(t - p) < 2u + st_le16_get(p)) {
            free(e);
            return set_err(r, TRACE_E_CORRUPT, off + (uint64_t)(p - f),
                           "footer signature table overruns at offset %llu",
                           (unsigned long long)(off + (uint64_t)(p - f)));
        }
        uint16_t n = st_le16_get(p);
        if (define && sig_define(r, i, p + 2, n, off + (uint64_t)(p - f)) < 0) {
            free(e);
            return r->err_code;
        }
        p += 2 + n;
    }
    if (p != t) {
        free(e);
        return set_err(r, TRACE_E_CORRUPT, off + (uint64_t)(p - f),
                       "footer has %llu unexpected bytes before its trailer",
                       (unsigned long long)(t - p));
    }
    *idx = e;
    *nidx = (size_t)nchunks;
    return 0;
}

/* Loads the index from the end of a seekable file (for seek). Not being
 * able to is not an error: the trace may be truncated. */
static void load_index(struct trace_reader *r)
{
    if (!r->size_known || r->file_size < r->data_start + TFO_HEAD_SIZE + TFO_TRAILER_SIZE)
        return;
    uint8_t t[TFO_TRAILER_SIZE];
    size_t got;
    if (rd_seek(r, r->file_size - TFO_TRAILER_SIZE) < 0 || rd(r, t, sizeof t, &got) < 0 ||
        got != sizeof t || memcmp(t + 48, TFO_END_MAGIC, 8) != 0)
        goto out;
    uint64_t off = st_le64_get(t + 32);
    if (off < r->data_start || off > r->file_size - TFO_HEAD_SIZE - TFO_TRAILER_SIZE ||
        r->file_size - off > MAX_FOOTER_BYTES)
        goto out;
    uint64_t size = r->file_size - off;
    uint8_t *f = malloc((size_t)size);
    if (!f)
        goto out;
    uint64_t events, last;
    struct index_entry *idx;
    size_t nidx;
    if (rd_seek(r, off) == 0 && rd(r, f, (size_t)size, &got) == 0 && got == size &&
        parse_footer(r, f, size, off, &idx, &nidx, &events, &last, 0) == 0) {
        r->index = idx;
        r->nindex = nidx;
        r->index_events = events;
        r->has_index = 1;
    }
    free(f);
out:
    /* Errors met here are not the caller's business. */
    r->err_code = 0;
    r->err_off = 0;
    r->err_msg[0] = '\0';
}

/* The footer at `off` (index idx[0, nidx), `events` events, the last at
 * time `last`) against the chunks read from the start: they must agree. */
static int footer_matches_chunks(struct trace_reader *r, uint64_t off,
                                 const struct index_entry *idx, size_t nidx, uint64_t events,
                                 uint64_t last)
{
    if (nidx != r->nseen || events != r->next_event)
        return set_err(r, TRACE_E_INDEX, off,
                       "footer at offset %llu counts %llu chunks and %llu events, the trace "
                       "has %zu and %llu",
                       (unsigned long long)off, (unsigned long long)nidx,
                       (unsigned long long)events, r->nseen, (unsigned long long)r->next_event);
    for (size_t i = 0; i < nidx; i++)
        if (idx[i].offset != r->seen[i].offset || idx[i].first_event != r->seen[i].first_event ||
            idx[i].first_time != r->seen[i].first_time)
            return set_err(r, TRACE_E_INDEX, off + TFO_HEAD_SIZE + i * TFO_ENTRY_SIZE,
                           "footer index entry %zu does not match chunk %zu at offset %llu", i,
                           i, (unsigned long long)r->seen[i].offset);
    if (events && last != r->prev_time)
        return set_err(r, TRACE_E_INDEX, off + 32,
                       "footer's last event time does not match the last event");
    return 0;
}

/* The footer f[0, size) at `off` ends the hash chain of the chunks before it. */
static int footer_chain_check(struct trace_reader *r, const uint8_t *f, uint64_t size,
                              uint64_t off)
{
    uint8_t want[TRACE_HASH_BYTES];
    const uint8_t *t = f + size - TFO_TRAILER_SIZE;
    int rc = chain_step(r, r->chain, f, (size_t)(t - f), NULL, 0, want);
    if (rc == 0 && TF_CHECK && tf_memcmp_ct(want, t, TRACE_HASH_BYTES) != 0)
        rc = set_err(r, TRACE_E_CHAIN, off + size - TFO_TRAILER_SIZE,
                     "hash chain mismatch at the footer (offset %llu): the trace was "
                     "edited, truncated or reordered",
                     (unsigned long long)off);
    return rc;
}

/* Reads the footer at `off` (its 8-byte magic already read). */
static int read_footer(struct trace_reader *r, uint64_t off, const uint8_t magic[8])
{
    uint8_t head[TFO_HEAD_SIZE];
    size_t got;
    memcpy(head, magic, 8);
    int rc = rd(r, head + 8, TFO_HEAD_SIZE - 8, &got);
    if (rc < 0)
        return rc;
    if (got < TFO_HEAD_SIZE - 8)
        return set_err(r, TRACE_E_TRUNCATED, r->pos,
                       "trace ends at offset %llu, inside the footer that starts at %llu"
                       STILL_WRITTEN,
                       (unsigned long long)r->pos, (unsigned long long)off);
    uint64_t size = st_le64_get(head + 8);
    if (size < TFO_HEAD_SIZE + TFO_TRAILER_SIZE || size > MAX_FOOTER_BYTES)
        return set_err(r, TRACE_E_CORRUPT, off + 8, "footer at offset %llu has a bad size",
                       (unsigned long long)off);
    if (!data_reaches(r, off + size))
        return set_err(r, TRACE_E_TRUNCATED, r->file_size,
                       "trace ends at offset %llu, inside the footer that starts at %llu"
                       STILL_WRITTEN,
                       (unsigned long long)r->file_size, (unsigned long long)off);
    if (r->size_known && off + size < r->file_size)
        return set_err(r, TRACE_E_CORRUPT, off + size,
                       "unexpected data after the footer at offset %llu",
                       (unsigned long long)(off + size));
    uint8_t *f = malloc((size_t)size);
    if (!f)
        return set_err(r, TRACE_E_NOMEM, off, "out of memory");
    memcpy(f, head, TFO_HEAD_SIZE);
    rc = rd(r, f + TFO_HEAD_SIZE, (size_t)size - TFO_HEAD_SIZE, &got);
    if (rc == 0 && got < size - TFO_HEAD_SIZE)
        rc = set_err(r, TRACE_E_TRUNCATED, r->pos,
                     "trace ends at offset %llu, inside the footer that starts at %llu"
                     STILL_WRITTEN,
                     (unsigned long long)r->pos, (unsigned long long)off);
    struct index_entry *idx = NULL;
    size_t nidx = 0;
    uint64_t events = 0, last = 0;
    if (rc == 0)
        rc = parse_footer(r, f, size, off, &idx, &nidx, &events, &last, 1);
    if (rc == 0 && r->from_start)
        rc = footer_matches_chunks(r, off, idx, nidx, events, last);
    if (rc == 0 && r->chain_checking && r->chain_known)
        rc = footer_chain_check(r, f, size, off);
    if (rc == 0 && !r->size_known) {
        /* Without a known size, check here that nothing follows. */
        uint8_t extra;
        if ((rc = rd(r, &extra, 1, &got)) == 0 && got)
            rc = set_err(r, TRACE_E_CORRUPT, off + size,
                         "unexpected data after the footer at offset %llu",
                         (unsigned long long)(off + size));
    }
    free(idx);
    free(f);
    if (rc == 0) {
        r->st.footer_seen = 1;
        r->state = 1;
    }
    return rc;
}

/* --- chunks --- */

/* Validates a chunk header h (TC_HEADER_SIZE bytes at `off`). */
static int check_chunk_header(struct trace_reader *r, const uint8_t *h, uint64_t off)
{
    if (memcmp(h, TC_SYNC, 8) != 0)
        return set_err(r, TRACE_E_CORRUPT, off, "no chunk sync marker at offset %llu",
                       (unsigned long long)off);
    if (TF_CHECK && st_le64_get(h + TC_XXH_OFF) != tf_xxh3(h, TC_XXH_OFF))
        return set_err(r, TRACE_E_CHECKSUM, off,
                       "chunk header checksum mismatch at offset %llu", (unsigned long long)off);
    uint32_t hsize = st_le32_get(h + 8), count = st_le32_get(h + 40), raw = st_le32_get(h + 44),
             psize = st_le32_get(h + 48);
    if (hsize != TC_HEADER_SIZE || count == 0 || raw > TRACE_MAX_CHUNK_RAW ||
        (uint64_t)count * 3 > raw || psize == 0 || psize > ZSTD_compressBound(raw))
        return set_err(r, TRACE_E_CORRUPT, off,
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
    int rc = rd(r, h + 8, TC_HEADER_SIZE - 8, &got);
    if (rc < 0)
        return rc;
    if (got < TC_HEADER_SIZE - 8)
        return set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the header of the chunk at %llu"
                       STILL_WRITTEN,
                       (unsigned long long)r->pos, (unsigned long long)off);
    if ((rc = check_chunk_header(r, h, off)) < 0)
        return rc;
    uint64_t number = st_le64_get(h + 16), first = st_le64_get(h + 24);
    uint32_t count = st_le32_get(h + 40);
    if (r->numbers_known && (number != r->next_chunk_number || first != r->next_event))
        return set_err(r, TRACE_E_CORRUPT, off,
                       "chunk at offset %llu is chunk %llu starting at event %llu, expected "
                       "chunk %llu at event %llu (chunks dropped or reordered)",
                       (unsigned long long)off, (unsigned long long)number,
                       (unsigned long long)first, (unsigned long long)r->next_chunk_number,
                       (unsigned long long)r->next_event);
    if (first > UINT64_MAX - count)
        return set_err(r, TRACE_E_CORRUPT, off, "chunk at offset %llu has an impossible index",
                       (unsigned long long)off);
    return 0;
}

/* Reads the compressed payload of the chunk with header h at `off` into
 * r->cbuf and checks its checksum and its link in the hash chain. */
static int read_payload(struct trace_reader *r, uint64_t off, const uint8_t *h)
{
    uint64_t number = st_le64_get(h + 16);
    uint32_t psize = st_le32_get(h + 48);
    if (!data_reaches(r, off + TC_HEADER_SIZE + psize)) {
        uint64_t at = off + TC_HEADER_SIZE; /* where the payload starts */
        return set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the payload of chunk %llu at %llu "
                       "(%llu of %u bytes)" STILL_WRITTEN,
                       (unsigned long long)r->file_size, (unsigned long long)number,
                       (unsigned long long)off,
                       (unsigned long long)(r->file_size > at ? r->file_size - at : 0),
                       psize);
    }
    if (grow(&r->cbuf, &r->cbuf_cap, psize, 1) < 0)
        return set_err(r, TRACE_E_NOMEM, off, "out of memory");
    size_t got;
    int rc = rd(r, r->cbuf, psize, &got);
    if (rc < 0)
        return rc;
    if (r->resyncing)
        r->recover_spent += got;
    if (got < psize)
        return set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the payload of chunk %llu at %llu "
                       "(%zu of %u bytes)" STILL_WRITTEN,
                       (unsigned long long)r->pos, (unsigned long long)number,
                       (unsigned long long)off, got, psize);
    if (TF_CHECK && st_le64_get(h + 56) != tf_xxh3(r->cbuf, psize))
        return set_err(r, TRACE_E_CHECKSUM, off,
                       "payload checksum mismatch in chunk %llu at offset %llu",
                       (unsigned long long)number, (unsigned long long)off);
    if (r->chain_checking && r->chain_known) {
        uint8_t want[TRACE_HASH_BYTES];
        if ((rc = chain_step(r, r->chain, h, TC_CHAIN_OFF, r->cbuf, psize, want)) < 0)
            return set_err(r, rc, off, "cannot hash");
        if (TF_CHECK && tf_memcmp_ct(want, h + TC_CHAIN_OFF, TRACE_HASH_BYTES) != 0)
            return set_err(r, TRACE_E_CHAIN, off,
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
        return set_err(r, TRACE_E_NOMEM, off, "out of memory");
    unsigned long long fcs = ZSTD_getFrameContentSize(r->cbuf, psize);
    size_t fsz = ZSTD_findFrameCompressedSize(r->cbuf, psize);
    size_t dsz = 0;
    if (fcs != raw || ZSTD_isError(fsz) || fsz != psize ||
        ZSTD_isError(dsz = ZSTD_decompressDCtx(r->dctx, r->raw, raw, r->cbuf, psize)) ||
        dsz != raw)
        return set_err(r, TRACE_E_CORRUPT, off,
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
            return set_err(r, TRACE_E_NOMEM, off, "out of memory");
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
    arena_reset(&r->arena);
    int rc = rd(r, h, 8, &got);
    if (rc < 0)
        return rc;
    if (got == 0)
        return set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu after %llu complete chunks, without a "
                       "footer" STILL_WRITTEN,
                       (unsigned long long)off, (unsigned long long)r->st.chunks);
    if (got < 8)
        return set_err(r, TRACE_E_TRUNCATED, off,
                       "trace ends at offset %llu, inside the chunk or footer that starts at "
                       "%llu" STILL_WRITTEN,
                       (unsigned long long)(off + got), (unsigned long long)off);
    if (memcmp(h, TFO_MAGIC, 8) == 0)
        return read_footer(r, off, h) < 0 ? r->err_code : 1;
    if (memcmp(h, TC_SYNC, 8) != 0)
        return set_err(r, TRACE_E_CORRUPT, off, "no chunk sync marker at offset %llu",
                       (unsigned long long)off);
    if ((rc = read_chunk_header(r, off, h)) < 0 || (rc = read_payload(r, off, h)) < 0 ||
        (rc = decompress_payload(r, off, h)) < 0)
        return rc;
    return enter_chunk(r, off, h);
}

/* Fills what every event has (kind, seq, time, request) from record `rec`
 * and checks its sizes against the limits. */
static int convert_frame(struct trace_reader *r, const Sandtrace__Record *rec,
                         struct trace_event *ev, uint64_t off)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = (enum trace_event_kind)rec->kind;
    ev->seq = r->seq;
    ev->time_ns = r->prev_time + (uint64_t)rec->dtime;
    ev->req_seq = TRACE_SEQ_NONE;
    if (rec->req_delta) {
        if (rec->req_delta > r->seq)
            return set_err(r, TRACE_E_CORRUPT, off,
                           "event %llu in chunk at offset %llu refers to a request before the "
                           "trace",
                           (unsigned long long)r->seq, (unsigned long long)off);
        ev->req_seq = r->seq - rec->req_delta;
    }
    if (rec->data.len > TRACE_MAX_BLOB || rec->text.len > TRACE_MAX_TEXT ||
        rec->detail.len > TRACE_MAX_TEXT)
        return set_err(r, TRACE_E_CORRUPT, off,
                       "event %llu in chunk at offset %llu exceeds a size limit",
                       (unsigned long long)r->seq, (unsigned long long)off);
    return 0;
}

static int convert_request(struct trace_reader *r, const Sandtrace__Record *rec,
                           struct trace_event *ev, uint64_t off)
{
    if (rec->n_args > TRACE_MAX_ARGS || !trace_reader_signature(r, rec->sig_id))
        return set_err(r, TRACE_E_CORRUPT, off, "request %llu in chunk at offset %llu has %s",
                       (unsigned long long)r->seq, (unsigned long long)off,
                       rec->n_args > TRACE_MAX_ARGS ? "too many arguments"
                                                    : "an undefined signature id");
    ev->request.sig_id = rec->sig_id;
    ev->request.sig = r->sigs[rec->sig_id];
    ev->request.nargs = rec->n_args;
    for (size_t i = 0; i < rec->n_args; i++)
        ev->request.args[i] = rec->args[i];
    return 0;
}

/* Converts record `rec` into ev. */
static int convert_event(struct trace_reader *r, const Sandtrace__Record *rec,
                         struct trace_event *ev, uint64_t off)
{
    int rc = convert_frame(r, rec, ev, off);
    if (rc < 0)
        return rc;
    const uint8_t *data = rec->data.len ? rec->data.data : NULL;
    char *txt = NULL;
    if (rec->text.len || rec->kind == TRACE_EV_NOTE || rec->kind == TRACE_EV_VIOLATION ||
        rec->kind == TRACE_EV_LIMIT) {
        txt = arena_strndup(&r->arena, rec->text.data, rec->text.len);
        if (!txt)
            return set_err(r, TRACE_E_NOMEM, off, "out of memory");
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
        ev->mem.len = rec->data.len;
        break;
    case TRACE_EV_SET_ERRNO:
        ev->set_errno.value = rec->code;
        break;
    case TRACE_EV_RESULT:
        if (rec->result_kind != 'v' && rec->result_kind != 'i' && rec->result_kind != 'f' &&
            rec->result_kind != 'p')
            return set_err(r, TRACE_E_CORRUPT, off,
                           "result %llu in chunk at offset %llu has an invalid kind",
                           (unsigned long long)r->seq, (unsigned long long)off);
        ev->result.kind = (char)rec->result_kind;
        ev->result.value = rec->value;
        break;
    case TRACE_EV_GUEST_STDERR:
        ev->guest_stderr.data = data;
        ev->guest_stderr.len = rec->data.len;
        break;
    case TRACE_EV_GUEST_EXIT:
        ev->guest_exit.code = rec->code;
        ev->guest_exit.signal = rec->signal;
        ev->guest_exit.reason = txt ? txt : "";
        break;
    case TRACE_EV_LIMIT: {
        char *d = arena_strndup(&r->arena, rec->detail.data, rec->detail.len);
        if (!d)
            return set_err(r, TRACE_E_NOMEM, off, "out of memory");
        ev->limit.name = txt;
        ev->limit.value = rec->value;
        ev->limit.detail = d;
        break;
    }
    case TRACE_EV_VIOLATION:
        ev->violation.text = txt;
        ev->violation.data = data;
        ev->violation.len = rec->data.len;
        break;
    case TRACE_EV_NOTE:
        ev->note.text = txt;
        break;
    default:
        return set_err(r, TRACE_E_CORRUPT, off,
                       "record in chunk at offset %llu has unknown kind %u",
                       (unsigned long long)off, rec->kind);
    }
    return 0;
}

/* Decodes records of the loaded chunk until an event. 1: *ev filled; 0: the
 * chunk is used up; <0: error. */
static int next_in_chunk(struct trace_reader *r, struct trace_event *ev)
{
    ProtobufCAllocator al = { pb_alloc, pb_free, &r->arena };
    while (r->raw_pos < r->raw_len) {
        uint64_t len;
        size_t n = tf_varint_get(r->raw + r->raw_pos, r->raw + r->raw_len, &len);
        if (n == 0 || len > r->raw_len - r->raw_pos - n)
            return set_err(r, TRACE_E_CORRUPT, r->chunk_off,
                           "chunk %llu at offset %llu has a malformed record at byte %zu",
                           (unsigned long long)r->chunk_number,
                           (unsigned long long)r->chunk_off, r->raw_pos);
        const uint8_t *p = r->raw + r->raw_pos + n;
        size_t at = r->raw_pos;
        r->raw_pos += n + (size_t)len;
        if (r->arena.total > ARENA_RESET_BYTES)
            arena_reset(&r->arena);
        Sandtrace__Record *rec = sandtrace__record__unpack(&al, (size_t)len, p);
        if (!rec)
            return set_err(r, TRACE_E_CORRUPT, r->chunk_off,
                           "chunk %llu at offset %llu has a malformed record at byte %zu",
                           (unsigned long long)r->chunk_number,
                           (unsigned long long)r->chunk_off, at);
        if (rec->kind == TR_KIND_SIGDEF) {
            int rc = sig_define(r, rec->sig_id, rec->text.data, rec->text.len, r->chunk_off);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r->chunk_left == 0)
            return set_err(r, TRACE_E_CORRUPT, r->chunk_off,
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
        return set_err(r, TRACE_E_CORRUPT, r->chunk_off,
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
        return set_err(r, TRACE_E_NOMEM, from, "out of memory");
    uint64_t at = from;
    int rc = TRACE_E_TRUNCATED;
    for (;;) {
        size_t got;
        if (rd_seek(r, at) < 0 || rd(r, buf, SCAN_BLOCK + TC_HEADER_SIZE, &got) < 0)
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
        rc = rd_seek(r, at);
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
                                                    !data_reaches(r, r->pos + 1))) {
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
        int rc = rd_seek(r, off);
        if (rc < 0)
            return rc;
        if ((rc = rd(r, h, sizeof h, &got)) < 0)
            return rc;
        if (got >= 8 && !memcmp(h, TFO_MAGIC, 8))
            return set_err(r, TRACE_E_RANGE, off, "event %llu is beyond the last event",
                           (unsigned long long)seq);
        if (got < sizeof h)
            return set_err(r, TRACE_E_RANGE, off,
                           "event %llu is beyond the last complete chunk",
                           (unsigned long long)seq);
        if ((rc = check_chunk_header(r, h, off)) < 0)
            return rc;
        uint64_t first = st_le64_get(h + 24);
        uint32_t count = st_le32_get(h + 40);
        if (st_le64_get(h + 16) != r->nscanned || first != next)
            return set_err(r, TRACE_E_CORRUPT, off,
                           "chunk at offset %llu is out of sequence",
                           (unsigned long long)off);
        if (grow(&r->scanned, &r->scanned_cap, r->nscanned + 1, sizeof *r->scanned) < 0)
            return set_err(r, TRACE_E_NOMEM, off, "out of memory");
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
        return set_err(r, TRACE_E_UNSUPPORTED, r->pos, "cannot seek in this input");
    struct index_entry e = { 0, 0, 0 };
    uint64_t number = 0;
    int rc;
    if (r->has_index) {
        if (seq >= r->index_events)
            return set_err(r, TRACE_E_RANGE, r->pos,
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
    if ((rc = rd_seek(r, e.offset)) < 0)
        return rc;
    r->state = 0;
    r->in_chunk = 0;
    r->chain_known = 0;
    r->from_start = 0;
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
                              : set_err(r, TRACE_E_INDEX, e.offset,
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
        rc = set_err(r, TRACE_E_NOMEM, 0, "out of memory");
        goto fail;
    }
    if (io->size && io->size(io, &r->file_size) == 0)
        r->size_known = 1;
    if (io->seek && io->seek(io, 0) < 0) {
        rc = set_err(r, TRACE_E_IO, 0, "cannot seek to the start of the trace");
        goto fail;
    }
    r->pos = 0;
    if ((rc = read_file_header(r)) < 0)
        goto fail;
    r->st.file_bytes = r->size_known ? r->file_size : 0;
    r->chain_checking = !r->keyed || r->have_key;
    r->st.chain_checked = r->chain_checking;
    r->from_start = 1;
    r->numbers_known = 1;
    if (io->seek && r->size_known) {
        load_index(r);
        if ((rc = rd_seek(r, r->data_start)) < 0)
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

/* --- verify --- */

int trace_verify(struct trace_io *io, const uint8_t *key, struct trace_verify_result *res)
{
    memset(res, 0, sizeof *res);
    struct trace_reader_options o = { .recover = 0, .key = key };
    struct trace_reader *r = NULL;
    int rc = trace_reader_open(&r, io, 0, &o, res->message, sizeof res->message);
    if (rc < 0) {
        res->error = rc;
        return rc;
    }
    res->keyed = r->keyed;
    /* Read everything even without the key, so that the counts are there. */
    struct trace_event ev;
    while ((rc = trace_reader_next(r, &ev)) > 0)
        ;
    if (r->keyed && !key) {
        res->error = TRACE_E_KEY_REQUIRED;
        snprintf(res->message, sizeof res->message,
                 "the trace is keyed: its hash chain can only be verified with its key");
        res->error_offset = 12;
    } else if (rc < 0) {
        res->error = rc;
        res->error_offset = r->err_off;
        snprintf(res->message, sizeof res->message, "%s",
                 r->err_msg[0] ? r->err_msg : trace_strerror(rc));
    }
    res->chunks = r->st.chunks;
    res->events = r->st.events;
    res->raw_bytes = r->st.raw_bytes;
    res->compressed_bytes = r->st.compressed_bytes;
    res->file_bytes = r->st.file_bytes;
    res->first_time_ns = r->st.first_time_ns;
    res->last_time_ns = r->st.last_time_ns;
    res->footer_seen = r->st.footer_seen;
    res->incomplete = res->error == TRACE_E_TRUNCATED;
    trace_reader_free(r);
    return res->error;
}
