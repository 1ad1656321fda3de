/* format/trace_header_footer.c: both ends of a trace, as the reader reads
 * them: the file header (read when the trace is opened) and the footer (its
 * index, loaded for seek, and its check against the chunks read from the
 * start). The reader's state and helpers: format/trace_reader_int.h. */
#include <stdlib.h>

#include "common/st_buf.h"
#include "format/trace_reader_int.h"

/* --- file header --- */

static int convert_header(struct trace_reader *r, const Sandtrace__Header *hp)
{
    struct arena *a = &r->hdr_arena;
    struct trace_header *h = &r->hdr;
#define STR(dst, src)                                                                        \
    do {                                                                                     \
        if (!((dst) = trr_arena_strndup(a, (src).data, (src).len)))                              \
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
    const char **argv = trr_arena_alloc(a, (hp->n_guest_argv + 1) * sizeof *argv);
    const char **env = trr_arena_alloc(a, (hp->n_guest_env + 1) * sizeof *env);
    const char **renv = trr_arena_alloc(a, (hp->n_guest_real_env + 1) * sizeof *renv);
    struct trace_kv *kv = trr_arena_alloc(a, (hp->n_policy + 1) * sizeof *kv);
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
        return trr_set_err(r, TRACE_E_BAD_MAGIC, 0,
                       got == 0 ? "file is empty: not a sandtrace trace"
                                : "bad magic number at offset 0: not a sandtrace trace");
    if (got < 12)
        return trr_set_err(r, TRACE_E_TRUNCATED, got,
                       "trace ends at offset %zu, inside the file header" STILL_WRITTEN, got);
    unsigned major = st_le16_get(fixed + 8), minor = st_le16_get(fixed + 10);
    if (major != TRACE_FORMAT_MAJOR)
        return trr_set_err(r, TRACE_E_VERSION, 8,
                       "trace format version %u.%u is not supported: this reader reads "
                       "version %d.x",
                       major, minor, TRACE_FORMAT_MAJOR);
    if (got < TF_FIXED_SIZE)
        return trr_set_err(r, TRACE_E_TRUNCATED, got,
                       "trace ends at offset %zu, inside the file header" STILL_WRITTEN, got);
    if (TF_CHECK && st_le64_get(fixed + 40) != tf_xxh3(fixed, 40))
        return trr_set_err(r, TRACE_E_CHECKSUM, 0, "file header checksum mismatch at offset 0");
    return 0;
}

/* The key given against the trace's (its key check, in the fixed header). */
static int check_key(struct trace_reader *r, const uint8_t *fixed)
{
    if (r->keyed && r->have_key) {
        uint8_t kc[8];
        tf_key_check(r->key, kc);
        if (tf_memcmp_ct(kc, fixed + 24, 8) != 0)
            return trr_set_err(r, TRACE_E_WRONG_KEY, 24, "the key does not match this trace's key");
    } else if (!r->keyed && r->have_key) {
        return trr_set_err(r, TRACE_E_NOT_KEYED, 12, "a key was given but the trace is not keyed");
    }
    return 0;
}

/* Unpacks and converts the header record hbuf[0, hsize) (checksum checked). */
static int unpack_header(struct trace_reader *r, const uint8_t *hbuf, uint32_t hsize)
{
    ProtobufCAllocator al = { trr_pb_alloc, trr_pb_free, &r->arena };
    Sandtrace__Header *hp = sandtrace__header__unpack(&al, hsize, hbuf);
    int rc = 0;
    if (!hp)
        rc = trr_set_err(r, TRACE_E_CORRUPT, TF_FIXED_SIZE, "header record at offset %d is malformed",
                     TF_FIXED_SIZE);
    else if ((rc = convert_header(r, hp)) < 0)
        trr_set_err(r, rc, TF_FIXED_SIZE, "out of memory");
    trr_arena_reset(&r->arena);
    return rc;
}

int trr_read_file_header(struct trace_reader *r)
{
    uint8_t fixed[TF_FIXED_SIZE];
    size_t got;
    int rc = trr_rd(r, fixed, sizeof fixed, &got);
    if (rc < 0 || (rc = check_fixed_header(r, fixed, got)) < 0)
        return rc;
    uint32_t flags = st_le32_get(fixed + 12);
    uint32_t hsize = st_le32_get(fixed + 16);
    r->keyed = (flags & TF_FLAG_KEYED) != 0;
    if (hsize > TRACE_MAX_HEADER)
        return trr_set_err(r, TRACE_E_CORRUPT, 16, "header record size %u exceeds the limit",
                       hsize);
    if (!trr_data_reaches(r, TF_FIXED_SIZE + (uint64_t)hsize))
        return trr_set_err(r, TRACE_E_TRUNCATED, r->file_size,
                       "trace ends at offset %llu, inside the header record" STILL_WRITTEN,
                       (unsigned long long)r->file_size);
    uint8_t *buf = malloc(TF_FIXED_SIZE + (size_t)hsize);
    if (!buf)
        return trr_set_err(r, TRACE_E_NOMEM, 0, "out of memory");
    memcpy(buf, fixed, TF_FIXED_SIZE);
    rc = trr_rd(r, buf + TF_FIXED_SIZE, hsize, &got);
    if (rc == 0 && got < hsize)
        rc = trr_set_err(r, TRACE_E_TRUNCATED, r->pos,
                     "trace ends at offset %llu, inside the header record" STILL_WRITTEN,
                     (unsigned long long)r->pos);
    if (rc == 0 && TF_CHECK && st_le64_get(fixed + 32) != tf_xxh3(buf + TF_FIXED_SIZE, hsize))
        rc = trr_set_err(r, TRACE_E_CHECKSUM, TF_FIXED_SIZE,
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
        return trr_set_err(r, TRACE_E_CORRUPT, off, "footer at offset %llu is malformed",
                       (unsigned long long)off);
    const uint8_t *t = f + size - TFO_TRAILER_SIZE;
    if (memcmp(t + 48, TFO_END_MAGIC, 8) != 0)
        return trr_set_err(r, TRACE_E_CORRUPT, off + size - 8, "bad end magic at offset %llu",
                       (unsigned long long)(off + size - 8));
    if (TF_CHECK && st_le64_get(t + 40) != tf_xxh3(f, (size_t)(t + 40 - f)))
        return trr_set_err(r, TRACE_E_CHECKSUM, off, "footer checksum mismatch at offset %llu",
                       (unsigned long long)off);
    if (st_le64_get(t + 32) != off)
        return trr_set_err(r, TRACE_E_CORRUPT, off + size - 24,
                       "footer at offset %llu records offset %llu", (unsigned long long)off,
                       (unsigned long long)st_le64_get(t + 32));
    uint64_t nchunks = st_le64_get(f + 16);
    uint32_t nsigs = st_le32_get(f + 40);
    *events = st_le64_get(f + 24);
    *last_time = st_le64_get(f + 32);
    uint64_t avail = size - TFO_HEAD_SIZE - TFO_TRAILER_SIZE;
    if (nchunks > avail / TFO_ENTRY_SIZE || nsigs > TRACE_MAX_SIGNATURES)
        return trr_set_err(r, TRACE_E_CORRUPT, off, "footer at offset %llu has impossible counts",
                       (unsigned long long)off);
    struct index_entry *e = malloc((nchunks ? nchunks : 1) * sizeof *e);
    if (!e)
        return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
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
            return trr_set_err(r, TRACE_E_INDEX, off + TFO_HEAD_SIZE + i * TFO_ENTRY_SIZE,
                           "footer index entry %llu is inconsistent", (unsigned long long)i);
        }
    }
    if ((nchunks == 0) != (*events == 0)) {
        free(e);
        return trr_set_err(r, TRACE_E_INDEX, off, "footer counts are inconsistent");
    }
    for (uint32_t i = 0; i < nsigs; i++) {
        if ((uint64_t)(t - p) < 2 || (uint64_t)(t - p) < 2u + st_le16_get(p)) {
            free(e);
            return trr_set_err(r, TRACE_E_CORRUPT, off + (uint64_t)(p - f),
                           "footer signature table overruns at offset %llu",
                           (unsigned long long)(off + (uint64_t)(p - f)));
        }
        uint16_t n = st_le16_get(p);
        if (define && trr_sig_define(r, i, p + 2, n, off + (uint64_t)(p - f)) < 0) {
            free(e);
            return r->err_code;
        }
        p += 2 + n;
    }
    if (p != t) {
        free(e);
        return trr_set_err(r, TRACE_E_CORRUPT, off + (uint64_t)(p - f),
                       "footer has %llu unexpected bytes before its trailer",
                       (unsigned long long)(t - p));
    }
    *idx = e;
    *nidx = (size_t)nchunks;
    return 0;
}

/* Loads the index from the end of a seekable file (for seek). Not being
 * able to is not an error: the trace may be truncated. */
void trr_load_index(struct trace_reader *r)
{
    if (!r->size_known || r->file_size < r->data_start + TFO_HEAD_SIZE + TFO_TRAILER_SIZE)
        return;
    uint8_t t[TFO_TRAILER_SIZE];
    size_t got;
    if (trr_rd_seek(r, r->file_size - TFO_TRAILER_SIZE) < 0 || trr_rd(r, t, sizeof t, &got) < 0 ||
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
    if (trr_rd_seek(r, off) == 0 && trr_rd(r, f, (size_t)size, &got) == 0 && got == size &&
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
        return trr_set_err(r, TRACE_E_INDEX, off,
                       "footer at offset %llu counts %llu chunks and %llu events, the trace "
                       "has %zu and %llu",
                       (unsigned long long)off, (unsigned long long)nidx,
                       (unsigned long long)events, r->nseen, (unsigned long long)r->next_event);
    for (size_t i = 0; i < nidx; i++)
        if (idx[i].offset != r->seen[i].offset || idx[i].first_event != r->seen[i].first_event ||
            idx[i].first_time != r->seen[i].first_time)
            return trr_set_err(r, TRACE_E_INDEX, off + TFO_HEAD_SIZE + i * TFO_ENTRY_SIZE,
                           "footer index entry %zu does not match chunk %zu at offset %llu", i,
                           i, (unsigned long long)r->seen[i].offset);
    if (events && last != r->prev_time)
        return trr_set_err(r, TRACE_E_INDEX, off + 32,
                       "footer's last event time does not match the last event");
    return 0;
}

/* The footer f[0, size) at `off` ends the hash chain of the chunks before it. */
static int footer_chain_check(struct trace_reader *r, const uint8_t *f, uint64_t size,
                              uint64_t off)
{
    uint8_t want[TRACE_HASH_BYTES];
    const uint8_t *t = f + size - TFO_TRAILER_SIZE;
    int rc = trr_chain_step(r, r->chain, f, (size_t)(t - f), NULL, 0, want);
    if (rc == 0 && TF_CHECK && tf_memcmp_ct(want, t, TRACE_HASH_BYTES) != 0)
        rc = trr_set_err(r, TRACE_E_CHAIN, off + size - TFO_TRAILER_SIZE,
                     "hash chain mismatch at the footer (offset %llu): the trace was "
                     "edited, truncated or reordered",
                     (unsigned long long)off);
    return rc;
}

/* Reads the footer at `off` (its 8-byte magic already read). */
int trr_read_footer(struct trace_reader *r, uint64_t off, const uint8_t magic[8])
{
    uint8_t head[TFO_HEAD_SIZE];
    size_t got;
    memcpy(head, magic, 8);
    int rc = trr_rd(r, head + 8, TFO_HEAD_SIZE - 8, &got);
    if (rc < 0)
        return rc;
    if (got < TFO_HEAD_SIZE - 8)
        return trr_set_err(r, TRACE_E_TRUNCATED, r->pos,
                       "trace ends at offset %llu, inside the footer that starts at %llu"
                       STILL_WRITTEN,
                       (unsigned long long)r->pos, (unsigned long long)off);
    uint64_t size = st_le64_get(head + 8);
    if (size < TFO_HEAD_SIZE + TFO_TRAILER_SIZE || size > MAX_FOOTER_BYTES)
        return trr_set_err(r, TRACE_E_CORRUPT, off + 8, "footer at offset %llu has a bad size",
                       (unsigned long long)off);
    if (!trr_data_reaches(r, off + size))
        return trr_set_err(r, TRACE_E_TRUNCATED, r->file_size,
                       "trace ends at offset %llu, inside the footer that starts at %llu"
                       STILL_WRITTEN,
                       (unsigned long long)r->file_size, (unsigned long long)off);
    if (r->size_known && off + size < r->file_size)
        return trr_set_err(r, TRACE_E_CORRUPT, off + size,
                       "unexpected data after the footer at offset %llu",
                       (unsigned long long)(off + size));
    uint8_t *f = malloc((size_t)size);
    if (!f)
        return trr_set_err(r, TRACE_E_NOMEM, off, "out of memory");
    memcpy(f, head, TFO_HEAD_SIZE);
    rc = trr_rd(r, f + TFO_HEAD_SIZE, (size_t)size - TFO_HEAD_SIZE, &got);
    if (rc == 0 && got < size - TFO_HEAD_SIZE)
        rc = trr_set_err(r, TRACE_E_TRUNCATED, r->pos,
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
        if ((rc = trr_rd(r, &extra, 1, &got)) == 0 && got)
            rc = trr_set_err(r, TRACE_E_CORRUPT, off + size,
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
