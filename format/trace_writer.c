/* format/trace_writer.c: writes a trace: file header, chunks, footer.
 *
 * Events are encoded (by hand, trace_record.c: protobuf-c's generic packer
 * was the cost of recording; no malloc per event) into a reused raw buffer
 * as varint-length-prefixed records. protobuf-c packs the header record. A chunk is closed at
 * its size or time bound: compressed as one zstd frame into a reused output
 * buffer that already has room for the chunk header in front, chained, and
 * written with one write, so a killed writer loses at most the open chunk. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <time.h>

/* ZSTD_estimateCCtxSize and ZSTD_initStaticCCtx: exported by the shared
 * libzstd, declared in its "static linking only" section. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "common/st_util.h"
#include "common/st_buf.h"
#include "format/trace.pb-c.h"
#include "format/trace_internal.h"

#define DEFAULT_CHUNK_BYTES (256u * 1024)
#define DEFAULT_CHUNK_NS (100ull * 1000 * 1000)
#define MAX_CHUNK_BYTES (64u * 1024 * 1024)

struct index_entry {
    uint64_t offset, first_event, first_time;
};

/* A closed chunk on its way to the file: its raw records and its header's
 * numbers. */
struct chunk_job {
    uint8_t *raw;
    size_t raw_len, raw_cap;
    uint64_t number, first_event, first_time;
    uint32_t events;
};

struct sig_slot {
    uint64_t hash;
    uint32_t id_plus1; /* 0: empty */
};

struct trace_writer {
    struct trace_io *io;
    int own_io;
    int state; /* 0 open, 1 closed, <0 sticky error */
    struct trace_writer_options opt;
    uint8_t key[TRACE_KEY_BYTES];
    int keyed;
    ZSTD_CCtx *cctx; /* lives in zws (a static context): no ZSTD_freeCCtx */
    void *zws;
    size_t zws_size;

    uint64_t offset;  /* bytes written so far */
    uint8_t chain[TRACE_HASH_BYTES];
    uint64_t start_mono;

    /* the open chunk */
    uint8_t *raw;
    size_t raw_len, raw_cap;
    uint64_t chunk_number;
    uint64_t chunk_first_event, chunk_first_time, chunk_prev_time;
    uint32_t chunk_events;
    uint64_t chunk_open_mono;
    uint8_t *out; /* TC_HEADER_SIZE + compressed payload */
    size_t out_cap;

    uint64_t events;
    uint64_t last_time;
    uint64_t open_request; /* seq of the open request, or TRACE_SEQ_NONE */

    /* signatures: texts by id, an open-addressing map, and the chunk in
     * which each was last defined (definitions repeat per chunk so that a
     * reader that seeks into a chunk can name every request in it). */
    char **sigs;
    uint64_t *sig_chunk;
    size_t nsigs, sigs_cap;
    struct sig_slot *map;
    size_t map_cap;
    uint32_t last_sig; /* the id sig_lookup found last (valid when nsigs) */
    size_t last_sig_len;

    struct index_entry *index;
    size_t nindex, index_cap;

    /* The background compressor (trace_writer_options.background). From
     * the moment a chunk is handed to it (`bg_busy` set) until it is
     * written (`bg_busy` cleared, under bg_lock), the thread owns `job` and
     * what write_chunk touches: cctx, out, chain, offset, index and io. */
    struct chunk_job job;
    pthread_t bg_thread;
    pthread_mutex_t bg_lock;
    pthread_cond_t bg_cond; /* a chunk handed over, written, or stop */
    int bg_started, bg_busy, bg_stop, bg_rc;
    cpu_set_t cpus; /* where the process could run at trace_writer_new */
    int have_cpus;
};

void trace_writer_options_init(struct trace_writer_options *o)
{
    memset(o, 0, sizeof *o);
    o->chunk_bytes = DEFAULT_CHUNK_BYTES;
    o->chunk_ns = DEFAULT_CHUNK_NS;
    o->zstd_level = 3;
}

uint64_t trace_writer_now_ns(const struct trace_writer *w)
{
    return st_clock_ns() - w->start_mono;
}

uint64_t trace_writer_event_count(const struct trace_writer *w)
{
    return w->events;
}

static int grow(void *pp, size_t *cap, size_t need, size_t elem, size_t max)
{
    if (need <= *cap)
        return 0;
    if (need > max)
        return TRACE_E_LIMIT;
    void *n = st_grow(*(void **)pp, cap, need, elem, 16, max);
    if (!n)
        return TRACE_E_NOMEM;
    *(void **)pp = n;
    return 0;
}

/* Makes room for `need` bytes in a chunk's buffer: for `usual` bytes at
 * once (a whole chunk, or its compressed bound), then as needed up to `max`
 * (an event bigger than a chunk). Allocated once and touched as it fills,
 * where doubling from 16 bytes copied the buffer at every step and left
 * the old copies as holes in the heap (issue 15, figure 7). */
static int reserve(uint8_t **buf, size_t *cap, size_t need, size_t usual, size_t max)
{
    if (need <= *cap)
        return 0;
    if (need > max)
        return TRACE_E_LIMIT;
    uint8_t *n = st_grow(*buf, cap, need, 1, usual, max);
    if (!n)
        return TRACE_E_NOMEM;
    *buf = n;
    return 0;
}

static ProtobufCBinaryData bin(const void *p, size_t n)
{
    ProtobufCBinaryData b = { n, (uint8_t *)(uintptr_t)p };
    if (!p)
        b.len = 0;
    return b;
}

static ProtobufCBinaryData text(const char *s)
{
    return bin(s, s ? strlen(s) : 0);
}

static int write_out(struct trace_writer *w, const void *buf, size_t len)
{
    int rc = w->io->write(w->io, buf, len);
    if (rc < 0)
        return rc;
    w->offset += len;
    return 0;
}

/* The compression context lives in one workspace, allocated here for the
 * largest chunk (ZSTD_estimateCCtxSize takes the maximum over every source
 * size) and kept to the end. A context of zstd's own resizes itself to each
 * chunk's size class (its tables follow the source size, and chunks closed
 * by their age vary in size around those classes): it was freed and
 * allocated again every few chunks, and the heap kept what it left behind,
 * so the recording controller's peak RSS grew over its first million calls
 * (issue 15, figure 7). The output is the same: it depends on the
 * parameters and the input, not on where the tables live. */
static int compressor_init(struct trace_writer *w)
{
    w->zws_size = ZSTD_estimateCCtxSize(w->opt.zstd_level);
    if (ZSTD_isError(w->zws_size))
        return TRACE_E_INVAL;
    w->zws = malloc(w->zws_size);
    if (!w->zws)
        return TRACE_E_NOMEM;
    /* Touched whole now, one write a page, not as zstd first reaches each
     * page: its tables are sized for the largest chunk, and a short
     * recording's few chunks touch part of them, a long one's sooner or
     * later all. So the writer's resident memory is what it will be at its
     * peak from the first event on (figure 7 compares the peak RSS of 10
     * thousand calls with 10 million's). A memset after a malloc may be
     * compiled as a calloc, which touches nothing: hence the volatile. */
    volatile uint8_t *page = w->zws;
    for (size_t at = 0; at < w->zws_size; at += 4096)
        page[at] = 0;
    w->cctx = ZSTD_initStaticCCtx(w->zws, w->zws_size);
    if (!w->cctx)
        return TRACE_E_NOMEM;
    if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->opt.zstd_level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1)))
        return TRACE_E_INVAL;
    return 0;
}

/* --- the file header --- */

/* The header record's single fields: the writer, the time, the host (from
 * uname and the build where `h` leaves them out) and the guest's executable.
 * The texts point into `h` and `un`. */
static void header_fields(Sandtrace__Header *hp, const struct trace_header *h,
                          const struct utsname *un)
{
    hp->format_major = TRACE_FORMAT_MAJOR;
    hp->format_minor = TRACE_FORMAT_MINOR;
    hp->writer_version =
        text(h->writer_version ? h->writer_version : "sandtrace " SANDTRACE_VERSION);
    if (h->created_unix_ns) {
        hp->created_unix_ns = h->created_unix_ns;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        hp->created_unix_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    hp->host_arch = text(h->host_arch ? h->host_arch : un ? un->machine : NULL);
    hp->host_pointer_size = h->host_pointer_size ? h->host_pointer_size : (uint32_t)sizeof(void *);
    if (h->host_byte_order_set)
        hp->host_byte_order = h->host_big_endian ? 2 : 1;
    else
        hp->host_byte_order = __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 2 : 1;
    hp->host_kernel_release =
        text(h->host_kernel_release ? h->host_kernel_release : un ? un->release : NULL);
    hp->guest_exe_path = text(h->guest_exe_path);
    hp->guest_exe_size = h->guest_exe_size;
    if (h->guest_exe_hash_set)
        hp->guest_exe_blake2b = bin(h->guest_exe_blake2b, TRACE_HASH_BYTES);
}

/* The header record's lists (argv, environments, policy): arrays of
 * pointers into the caller's header, owned here. */
struct header_lists {
    ProtobufCBinaryData *argv, *env, *renv;
    Sandtrace__KeyValue *kv, **kvp;
};

static void header_lists_release(struct header_lists *l)
{
    free(l->argv);
    free(l->env);
    free(l->renv);
    free(l->kv);
    free(l->kvp);
}

/* Fills hp's lists from `h`, in `l` (released by the caller, also on error). */
static int header_lists(Sandtrace__Header *hp, const struct trace_header *h,
                        struct header_lists *l)
{
    memset(l, 0, sizeof *l);
    if ((h->guest_argc && !h->guest_argv) || (h->guest_envc && !h->guest_env) ||
        (h->guest_real_envc && !h->guest_real_env) || (h->policy_count && !h->policy))
        return TRACE_E_INVAL;
    if (h->guest_argc > 65536 || h->guest_envc > 65536 || h->guest_real_envc > 65536 ||
        h->policy_count > 65536)
        return TRACE_E_LIMIT;
    l->argv = calloc(h->guest_argc + 1, sizeof *l->argv);
    l->env = calloc(h->guest_envc + 1, sizeof *l->env);
    l->renv = calloc(h->guest_real_envc + 1, sizeof *l->renv);
    l->kv = calloc(h->policy_count + 1, sizeof *l->kv);
    l->kvp = calloc(h->policy_count + 1, sizeof *l->kvp);
    if (!l->argv || !l->env || !l->renv || !l->kv || !l->kvp)
        return TRACE_E_NOMEM;
    for (size_t i = 0; i < h->guest_argc; i++)
        l->argv[i] = text(h->guest_argv[i]);
    for (size_t i = 0; i < h->guest_envc; i++)
        l->env[i] = text(h->guest_env[i]);
    for (size_t i = 0; i < h->guest_real_envc; i++)
        l->renv[i] = text(h->guest_real_env[i]);
    for (size_t i = 0; i < h->policy_count; i++) {
        sandtrace__key_value__init(&l->kv[i]);
        l->kv[i].key = text(h->policy[i].key);
        l->kv[i].value = text(h->policy[i].value);
        l->kvp[i] = &l->kv[i];
    }
    hp->n_guest_argv = h->guest_argc;
    hp->guest_argv = l->argv;
    hp->n_guest_env = h->guest_envc;
    hp->guest_env = l->env;
    hp->n_guest_real_env = h->guest_real_envc;
    hp->guest_real_env = l->renv;
    hp->n_policy = h->policy_count;
    hp->policy = l->kvp;
    return 0;
}

/* Packs the whole file header (the fixed part, then the record hp) into a
 * malloc'd *out of *len bytes. */
static int pack_file_header(struct trace_writer *w, const Sandtrace__Header *hp, uint8_t **out,
                            size_t *len)
{
    size_t pb = sandtrace__header__get_packed_size(hp);
    if (pb > TRACE_MAX_HEADER)
        return TRACE_E_LIMIT;
    uint8_t *buf = malloc(TF_FIXED_SIZE + pb);
    if (!buf)
        return TRACE_E_NOMEM;
    memset(buf, 0, TF_FIXED_SIZE);
    sandtrace__header__pack(hp, buf + TF_FIXED_SIZE);
    memcpy(buf, TF_MAGIC, 8);
    st_le16_put(buf + 8, TRACE_FORMAT_MAJOR);
    st_le16_put(buf + 10, TRACE_FORMAT_MINOR);
    st_le32_put(buf + 12, w->keyed ? TF_FLAG_KEYED : 0);
    st_le32_put(buf + 16, (uint32_t)pb);
    if (w->keyed)
        tf_key_check(w->key, buf + 24);
    st_le64_put(buf + 32, tf_xxh3(buf + TF_FIXED_SIZE, pb));
    st_le64_put(buf + 40, tf_xxh3(buf, 40));
    *out = buf;
    *len = TF_FIXED_SIZE + pb;
    return 0;
}

static int write_file_header(struct trace_writer *w, const struct trace_header *h)
{
    Sandtrace__Header hp = SANDTRACE__HEADER__INIT;
    struct utsname un;
    header_fields(&hp, h, uname(&un) == 0 ? &un : NULL);
    struct header_lists lists;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = header_lists(&hp, h, &lists);
    if (rc == 0)
        rc = pack_file_header(w, &hp, &buf, &len);
    if (rc == 0) {
        /* c0 = H_k(domain || the whole file header) */
        tf_hash hh;
        if ((rc = tf_hash_init(&hh, w->keyed ? w->key : NULL)) == 0) {
            tf_hash_update(&hh, TRACE_CHAIN_DOMAIN, strlen(TRACE_CHAIN_DOMAIN));
            tf_hash_update(&hh, buf, len);
            tf_hash_final(&hh, w->chain);
            rc = write_out(w, buf, len);
        }
    }
    free(buf);
    header_lists_release(&lists);
    return rc;
}

int trace_writer_new(struct trace_writer **out, struct trace_io *io, int own_io,
                     const struct trace_header *header, const struct trace_writer_options *opt)
{
    if (!out || !io || !io->write) {
        if (own_io)
            trace_io_free(io);
        return TRACE_E_INVAL;
    }
    *out = NULL;
    struct trace_header empty;
    if (!header) {
        memset(&empty, 0, sizeof empty);
        header = &empty;
    }
    struct trace_writer *w = calloc(1, sizeof *w);
    if (!w) {
        if (own_io)
            trace_io_free(io);
        return TRACE_E_NOMEM;
    }
    w->io = io;
    w->own_io = own_io;
    if (opt)
        w->opt = *opt;
    else
        trace_writer_options_init(&w->opt);
    if (!w->opt.chunk_bytes)
        w->opt.chunk_bytes = DEFAULT_CHUNK_BYTES;
    if (!w->opt.chunk_ns)
        w->opt.chunk_ns = DEFAULT_CHUNK_NS;
    if (!w->opt.zstd_level)
        w->opt.zstd_level = 3;
    int rc = 0;
    if (w->opt.chunk_bytes > MAX_CHUNK_BYTES) {
        rc = TRACE_E_LIMIT;
        goto fail;
    }
    if (w->opt.key) {
        memcpy(w->key, w->opt.key, TRACE_KEY_BYTES);
        w->keyed = 1;
        w->opt.key = NULL; /* don't keep the caller's pointer */
    }
    if ((rc = compressor_init(w)) < 0)
        goto fail;
    w->have_cpus = pthread_getaffinity_np(pthread_self(), sizeof w->cpus, &w->cpus) == 0;
    w->open_request = TRACE_SEQ_NONE;
    w->start_mono = st_clock_ns();
    rc = write_file_header(w, header);
    if (rc < 0)
        goto fail;
    *out = w;
    return 0;
fail:
    trace_writer_free(w);
    return rc;
}

/* --- chunks --- */

/* Makes room for a chunk of `raw_len` raw bytes: its compressed bound in
 * `out` and its entry in the index. Called by the thread that owns them
 * (so that the background compressor never allocates: a thread that does
 * gets a malloc arena of its own). */
static int chunk_room(struct trace_writer *w, size_t raw_len)
{
    int rc = reserve(&w->out, &w->out_cap, TC_HEADER_SIZE + ZSTD_compressBound(raw_len),
                     TC_HEADER_SIZE + ZSTD_compressBound(w->opt.chunk_bytes), (size_t)-1);
    if (rc < 0)
        return rc;
    return grow(&w->index, &w->index_cap, w->nindex + 1, sizeof *w->index, (size_t)1 << 40);
}

/* Compresses one closed chunk, chains it and writes it with one write
 * (chunk_room made room for it). */
static int write_chunk(struct trace_writer *w, const struct chunk_job *j)
{
    size_t bound = ZSTD_compressBound(j->raw_len);
    size_t csize = ZSTD_compress2(w->cctx, w->out + TC_HEADER_SIZE, bound, j->raw, j->raw_len);
    if (ZSTD_isError(csize))
        return TRACE_E_COMPRESS;
    uint8_t *h = w->out;
    memset(h, 0, TC_HEADER_SIZE);
    memcpy(h, TC_SYNC, 8);
    st_le32_put(h + 8, TC_HEADER_SIZE);
    st_le64_put(h + 16, j->number);
    st_le64_put(h + 24, j->first_event);
    st_le64_put(h + 32, j->first_time);
    st_le32_put(h + 40, j->events);
    st_le32_put(h + 44, (uint32_t)j->raw_len);
    st_le32_put(h + 48, (uint32_t)csize);
    st_le64_put(h + 56, tf_xxh3(h + TC_HEADER_SIZE, csize));
    /* c_i = H_k(c_{i-1} || header[0,64) || payload) */
    tf_hash hh;
    int rc = tf_hash_init(&hh, w->keyed ? w->key : NULL);
    if (rc < 0)
        return rc;
    tf_hash_update(&hh, w->chain, TRACE_HASH_BYTES);
    tf_hash_update(&hh, h, TC_CHAIN_OFF);
    tf_hash_update(&hh, h + TC_HEADER_SIZE, csize);
    tf_hash_final(&hh, w->chain);
    memcpy(h + TC_CHAIN_OFF, w->chain, TRACE_HASH_BYTES);
    st_le64_put(h + TC_XXH_OFF, tf_xxh3(h, TC_XXH_OFF));

    w->index[w->nindex++] =
        (struct index_entry){ w->offset, j->first_event, j->first_time };
    rc = write_out(w, h, TC_HEADER_SIZE + csize);
    if (rc < 0)
        return rc;
    if (w->opt.sync && w->io->sync && (rc = w->io->sync(w->io)) < 0)
        return rc;
    return 0;
}

/* The open chunk as a job (its raw buffer borrowed), and the next chunk
 * opened in its place. */
static struct chunk_job seal_chunk(struct trace_writer *w)
{
    struct chunk_job j = { w->raw,          w->raw_len,         w->raw_cap,         w->chunk_number,
                           w->chunk_first_event, w->chunk_first_time, w->chunk_events };
    w->chunk_number++;
    w->chunk_events = 0;
    w->raw_len = 0;
    return j;
}

/* Waits until the compressor has written the chunk it holds; returns the
 * first error it met (sticky). */
static int compressor_idle(struct trace_writer *w)
{
    if (!w->bg_started)
        return 0;
    pthread_mutex_lock(&w->bg_lock);
    while (w->bg_busy)
        pthread_cond_wait(&w->bg_cond, &w->bg_lock);
    int rc = w->bg_rc;
    pthread_mutex_unlock(&w->bg_lock);
    return rc;
}

/* Writes the open chunk, and any chunk before it, before returning. */
static int flush_chunk(struct trace_writer *w)
{
    int rc = compressor_idle(w);
    if (rc < 0 || w->chunk_events == 0)
        return rc;
    if ((rc = chunk_room(w, w->raw_len)) < 0)
        return rc;
    struct chunk_job j = seal_chunk(w);
    return write_chunk(w, &j);
}

static void *compressor_main(void *arg)
{
    struct trace_writer *w = arg;
    pthread_mutex_lock(&w->bg_lock);
    for (;;) {
        while (!w->bg_busy && !w->bg_stop)
            pthread_cond_wait(&w->bg_cond, &w->bg_lock);
        if (!w->bg_busy)
            break; /* stopped, with nothing left to write */
        pthread_mutex_unlock(&w->bg_lock);
        int rc = w->bg_rc < 0 ? 0 : write_chunk(w, &w->job);
        pthread_mutex_lock(&w->bg_lock);
        if (rc < 0)
            w->bg_rc = rc;
        w->bg_busy = 0;
        pthread_cond_broadcast(&w->bg_cond);
    }
    pthread_mutex_unlock(&w->bg_lock);
    return NULL;
}

/* Starts the compressor with the first chunk it gets (once the guest runs:
 * no fork happens with it running, as with the tracer's flusher), on the
 * CPUs the process had when the writer was created (st_thread_start). */
static int compressor_start(struct trace_writer *w)
{
    if (pthread_mutex_init(&w->bg_lock, NULL) != 0)
        return TRACE_E_NOMEM;
    if (pthread_cond_init(&w->bg_cond, NULL) != 0) {
        pthread_mutex_destroy(&w->bg_lock);
        return TRACE_E_NOMEM;
    }
    int rc = st_thread_start(&w->bg_thread, w->have_cpus ? &w->cpus : NULL, compressor_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->bg_cond);
        pthread_mutex_destroy(&w->bg_lock);
        return TRACE_E_NOMEM;
    }
    w->bg_started = 1;
    return 0;
}

/* Lets the compressor write what it holds, then ends it. */
static void compressor_stop(struct trace_writer *w)
{
    if (!w->bg_started)
        return;
    pthread_mutex_lock(&w->bg_lock);
    w->bg_stop = 1;
    pthread_cond_broadcast(&w->bg_cond);
    pthread_mutex_unlock(&w->bg_lock);
    pthread_join(w->bg_thread, NULL);
    pthread_cond_destroy(&w->bg_cond);
    pthread_mutex_destroy(&w->bg_lock);
    w->bg_started = 0;
}

/* Closes the open chunk on its size or time bound. With the background
 * option it is handed to the compressor, which compresses and writes it
 * while the events that follow fill the other raw buffer: the guest does
 * not wait for the compression of a chunk (issue 15); otherwise, or when
 * no thread can be started, it is written now. */
static int close_chunk(struct trace_writer *w)
{
    if (!w->opt.background || w->chunk_events == 0)
        return flush_chunk(w);
    int rc = compressor_idle(w);
    if (rc < 0 || (rc = chunk_room(w, w->raw_len)) < 0)
        return rc;
    if (!w->bg_started && compressor_start(w) < 0) {
        w->opt.background = 0;
        return flush_chunk(w);
    }
    struct chunk_job spare = w->job;
    pthread_mutex_lock(&w->bg_lock);
    w->job = seal_chunk(w);
    w->bg_busy = 1;
    pthread_cond_broadcast(&w->bg_cond);
    pthread_mutex_unlock(&w->bg_lock);
    w->raw = spare.raw;
    w->raw_cap = spare.raw_cap;
    return 0;
}

size_t trace_writer_memory(struct trace_writer *w)
{
    if (!w)
        return 0;
    (void)compressor_idle(w); /* what it owns is read below */
    size_t n = sizeof *w + ZSTD_sizeof_CCtx(w->cctx) + w->raw_cap + w->job.raw_cap + w->out_cap +
               w->index_cap * sizeof *w->index + w->map_cap * sizeof *w->map +
               w->sigs_cap * (sizeof *w->sigs + sizeof *w->sig_chunk);
    for (size_t i = 0; i < w->nsigs; i++)
        n += strlen(w->sigs[i]) + 1;
    return n;
}

int trace_writer_poll(struct trace_writer *w)
{
    if (!w)
        return TRACE_E_INVAL;
    if (w->state != 0)
        return TRACE_E_STATE;
    /* The age of a chunk is checked at every event: the coarse clock (a
     * few ms of resolution, a fraction of the cost) is plenty for a 100 ms bound. */
    if (w->chunk_events == 0 || w->opt.chunk_ns == UINT64_MAX ||
        st_clock_coarse_ns() - w->chunk_open_mono < w->opt.chunk_ns)
        return 0;
    return trace_writer_flush(w);
}

int trace_writer_flush(struct trace_writer *w)
{
    if (!w)
        return TRACE_E_INVAL;
    if (w->state < 0)
        return TRACE_E_STATE;
    if (w->state > 0)
        return TRACE_E_STATE;
    int rc = flush_chunk(w);
    if (rc < 0)
        w->state = rc;
    return rc;
}

/* A record's encoded size and its length prefix's. */
struct framed {
    size_t size, prefix;
};

static struct framed frame_of(const struct tf_record *rec)
{
    size_t size = tf_record_size(rec);
    return (struct framed){ size, tf_varint_len(size) };
}

/* Appends one record of `f`'s size, length-prefixed, to the raw buffer,
 * encoded once, straight into place. */
static int append_record(struct trace_writer *w, const struct tf_record *rec, struct framed f)
{
    int rc = reserve(&w->raw, &w->raw_cap, w->raw_len + f.prefix + f.size, w->opt.chunk_bytes,
                     TRACE_MAX_CHUNK_RAW);
    if (rc < 0)
        return rc;
    uint8_t *p = w->raw + w->raw_len;
    tf_varint_put(p, f.size);
    tf_record_encode(rec, p + f.prefix);
    w->raw_len += f.prefix + f.size;
    return 0;
}

/* Finds or assigns the id of a signature text. */
static int sig_find_or_add(struct trace_writer *w, const char *sig, size_t len, uint32_t *id)
{
    uint64_t hv = tf_xxh3(sig, len);
    if (w->map_cap) {
        for (size_t i = hv & (w->map_cap - 1);; i = (i + 1) & (w->map_cap - 1)) {
            struct sig_slot *s = &w->map[i];
            if (!s->id_plus1)
                break;
            if (s->hash == hv && strlen(w->sigs[s->id_plus1 - 1]) == len &&
                !memcmp(w->sigs[s->id_plus1 - 1], sig, len)) {
                *id = s->id_plus1 - 1;
                return 0;
            }
        }
    }
    if (w->nsigs >= TRACE_MAX_SIGNATURES)
        return TRACE_E_LIMIT;
    /* Keep the map at most half full. */
    if ((w->nsigs + 1) * 2 > w->map_cap) {
        size_t ncap = w->map_cap ? w->map_cap * 2 : 64;
        struct sig_slot *nm = calloc(ncap, sizeof *nm);
        if (!nm)
            return TRACE_E_NOMEM;
        for (size_t i = 0; i < w->map_cap; i++) {
            if (!w->map[i].id_plus1)
                continue;
            size_t j = w->map[i].hash & (ncap - 1);
            while (nm[j].id_plus1)
                j = (j + 1) & (ncap - 1);
            nm[j] = w->map[i];
        }
        free(w->map);
        w->map = nm;
        w->map_cap = ncap;
    }
    int rc = grow(&w->sigs, &w->sigs_cap, w->nsigs + 1, sizeof *w->sigs, TRACE_MAX_SIGNATURES);
    if (rc < 0)
        return rc;
    size_t cap2 = w->sigs_cap;
    uint64_t *nc = realloc(w->sig_chunk, cap2 * sizeof *nc);
    if (!nc)
        return TRACE_E_NOMEM;
    w->sig_chunk = nc;
    char *copy = malloc(len + 1);
    if (!copy)
        return TRACE_E_NOMEM;
    memcpy(copy, sig, len);
    copy[len] = '\0';
    uint32_t nid = (uint32_t)w->nsigs;
    w->sigs[nid] = copy;
    w->sig_chunk[nid] = UINT64_MAX;
    w->nsigs++;
    size_t i = hv & (w->map_cap - 1);
    while (w->map[i].id_plus1)
        i = (i + 1) & (w->map_cap - 1);
    w->map[i].hash = hv;
    w->map[i].id_plus1 = nid + 1;
    *id = nid;
    return 0;
}

/* sig_find_or_add, after a look at the signature used last. */
static int sig_lookup(struct trace_writer *w, const char *sig, size_t len, uint32_t *id)
{
    /* A loop of one call repeats one signature: no hash for it. */
    if (w->nsigs && w->last_sig_len == len && !memcmp(w->sigs[w->last_sig], sig, len)) {
        *id = w->last_sig;
        return 0;
    }
    int rc = sig_find_or_add(w, sig, len, id);
    if (rc == 0) {
        w->last_sig = *id;
        w->last_sig_len = len;
    }
    return rc;
}

static int check_text(const char *s)
{
    return s && strlen(s) > TRACE_MAX_TEXT ? TRACE_E_LIMIT : 0;
}

static int check_blob(const void *data, size_t len)
{
    if (len && !data)
        return TRACE_E_INVAL;
    return len > TRACE_MAX_BLOB ? TRACE_E_LIMIT : 0;
}

/* A byte field of a record from a pointer and a length (NULL: empty). */
static void set_bytes(const uint8_t **dst, size_t *dst_len, const void *p, size_t n)
{
    *dst = p;
    *dst_len = p ? n : 0;
}

static void set_text(const uint8_t **dst, size_t *dst_len, const char *s)
{
    set_bytes(dst, dst_len, s, s ? strlen(s) : 0);
}

/* Fills the record of an event that belongs to no request (the guest's
 * stderr and end, limits, violations, notes). */
static int build_report(const struct trace_event *ev, struct tf_record *rec)
{
    int rc;
    switch (ev->kind) {
    case TRACE_EV_GUEST_STDERR:
        if ((rc = check_blob(ev->guest_stderr.data, ev->guest_stderr.len)) < 0)
            return rc;
        set_bytes(&rec->data, &rec->data_len, ev->guest_stderr.data, ev->guest_stderr.len);
        break;
    case TRACE_EV_GUEST_EXIT:
        if ((rc = check_text(ev->guest_exit.reason)) < 0)
            return rc;
        rec->code = ev->guest_exit.code;
        rec->signal = ev->guest_exit.signal;
        set_text(&rec->text, &rec->text_len, ev->guest_exit.reason);
        break;
    case TRACE_EV_LIMIT:
        if ((rc = check_text(ev->limit.name)) < 0 || (rc = check_text(ev->limit.detail)) < 0)
            return rc;
        set_text(&rec->text, &rec->text_len, ev->limit.name);
        set_text(&rec->detail, &rec->detail_len, ev->limit.detail);
        rec->value = ev->limit.value;
        break;
    case TRACE_EV_VIOLATION:
        if ((rc = check_text(ev->violation.text)) < 0 ||
            (rc = check_blob(ev->violation.data, ev->violation.len)) < 0)
            return rc;
        set_text(&rec->text, &rec->text_len, ev->violation.text);
        set_bytes(&rec->data, &rec->data_len, ev->violation.data, ev->violation.len);
        break;
    case TRACE_EV_NOTE:
        if ((rc = check_text(ev->note.text)) < 0)
            return rc;
        set_text(&rec->text, &rec->text_len, ev->note.text);
        break;
    default:
        return TRACE_E_INVAL;
    }
    return 0;
}

/* Fills the record for `ev` (pointers into ev; nothing allocated). For a
 * request, *sig_len is the signature's length. */
static int build_record(struct trace_writer *w, const struct trace_event *ev,
                        struct tf_record *rec, uint64_t seq, int *is_request, int *closes,
                        size_t *sig_len)
{
    int rc = 0;
    rec->kind = (uint32_t)ev->kind;
    int owned = 0;
    switch (ev->kind) {
    case TRACE_EV_REQUEST:
        if (!ev->request.sig || ev->request.nargs > TRACE_MAX_ARGS)
            return TRACE_E_INVAL;
        *sig_len = strnlen(ev->request.sig, TRACE_MAX_SIG_LEN + 1);
        if (*sig_len == 0 || *sig_len > TRACE_MAX_SIG_LEN)
            return TRACE_E_LIMIT;
        rec->nargs = ev->request.nargs;
        rec->args = ev->request.args;
        *is_request = 1;
        break;
    case TRACE_EV_MEM_READ:
    case TRACE_EV_MEM_READ_STR:
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
        if ((rc = check_blob(ev->mem.data, ev->mem.len)) < 0)
            return rc;
        rec->ptr = ev->mem.ptr;
        rec->size = ev->kind == TRACE_EV_MEM_READ_STR ? ev->mem.size : 0;
        set_bytes(&rec->data, &rec->data_len, ev->mem.data, ev->mem.len);
        owned = 1;
        break;
    case TRACE_EV_MEM_FREE:
        rec->ptr = ev->mem.ptr;
        owned = 1;
        break;
    case TRACE_EV_SET_ERRNO:
        rec->code = ev->set_errno.value;
        owned = 1;
        break;
    case TRACE_EV_RESULT:
        if (!strchr("vifp", ev->result.kind) || !ev->result.kind)
            return TRACE_E_INVAL;
        rec->result_kind = (uint32_t)(unsigned char)ev->result.kind;
        rec->value = ev->result.kind == 'v' ? 0 : ev->result.value;
        owned = 1;
        *closes = 1;
        break;
    default:
        return build_report(ev, rec);
    }
    if (owned && w->open_request != TRACE_SEQ_NONE)
        rec->req_delta = seq - w->open_request;
    return 0;
}

/* Encodes an event (after its signature's definition, the first time the
 * chunk uses it) straight into the open chunk. An event that would take a
 * chunk that already holds events past its size closes it first, and opens
 * the next one (the same chunks as appending it, taking it back and closing
 * the chunk would give, without the raw buffer ever growing past a chunk
 * for it). */
static int encode_event(struct trace_writer *w, struct tf_record *rec, int is_request,
                        size_t sig_len, uint64_t seq, uint64_t t)
{
    for (;;) {
        if (w->chunk_events == 0) {
            w->chunk_first_event = seq;
            w->chunk_first_time = t;
            w->chunk_prev_time = t;
        }
        /* The definition's record is filled only when the chunk needs it
         * (the first use of its signature in the chunk): zeroing a record
         * for every event was a tenth of the writer's own cost. */
        struct tf_record def;
        struct framed fd = { 0, 0 };
        int with_def = is_request && w->sig_chunk[rec->sig_id] != w->chunk_number;
        if (with_def) {
            def = (struct tf_record){ .kind = TR_KIND_SIGDEF, .sig_id = rec->sig_id };
            set_bytes(&def.text, &def.text_len, w->sigs[rec->sig_id], sig_len);
            fd = frame_of(&def);
        }
        rec->dtime = (int64_t)(t - w->chunk_prev_time);
        struct framed fr = frame_of(rec);
        if (w->chunk_events == 0 ||
            w->raw_len + fd.prefix + fd.size + fr.prefix + fr.size <= w->opt.chunk_bytes) {
            int rc = with_def ? append_record(w, &def, fd) : 0;
            return rc < 0 ? rc : append_record(w, rec, fr);
        }
        int rc = close_chunk(w);
        if (rc < 0)
            return rc;
    }
}

int trace_writer_add_event(struct trace_writer *w, const struct trace_event *ev)
{
    if (!w || !ev)
        return TRACE_E_INVAL;
    if (w->state != 0)
        return TRACE_E_STATE;
    uint64_t seq = w->events;
    struct tf_record rec = { 0 };
    int is_request = 0, closes = 0;
    size_t sig_len = 0;
    int rc = build_record(w, ev, &rec, seq, &is_request, &closes, &sig_len);
    if (rc < 0)
        return rc; /* invalid input: not sticky, nothing was written */
    uint32_t sig_id = 0;
    if (is_request) {
        rc = sig_lookup(w, ev->request.sig, sig_len, &sig_id);
        if (rc < 0)
            return rc;
        rec.sig_id = sig_id;
    }
    uint64_t t = ev->time_ns == TRACE_TIME_NOW ? trace_writer_now_ns(w) : ev->time_ns;

    if ((rc = encode_event(w, &rec, is_request, sig_len, seq, t)) < 0)
        goto fail;
    uint64_t now_coarse = st_clock_coarse_ns();
    if (w->chunk_events == 0)
        w->chunk_open_mono = now_coarse;
    if (is_request)
        w->sig_chunk[sig_id] = w->chunk_number;
    w->chunk_prev_time = t;
    w->last_time = t;
    w->chunk_events++;
    w->events++;
    if (is_request)
        w->open_request = seq;
    else if (closes)
        w->open_request = TRACE_SEQ_NONE;

    if (w->raw_len >= w->opt.chunk_bytes || w->chunk_events == UINT32_MAX ||
        (w->opt.chunk_ns != UINT64_MAX && now_coarse - w->chunk_open_mono >= w->opt.chunk_ns)) {
        if ((rc = close_chunk(w)) < 0)
            goto fail;
    }
    return 0;
fail:
    w->state = rc;
    return rc;
}

/* --- footer --- */

static int write_footer(struct trace_writer *w)
{
    size_t size = TFO_HEAD_SIZE + w->nindex * TFO_ENTRY_SIZE;
    for (size_t i = 0; i < w->nsigs; i++)
        size += 2 + strlen(w->sigs[i]);
    size += TFO_TRAILER_SIZE;
    uint8_t *f = calloc(1, size);
    if (!f)
        return TRACE_E_NOMEM;
    uint64_t foff = w->offset;
    memcpy(f, TFO_MAGIC, 8);
    st_le64_put(f + 8, size);
    st_le64_put(f + 16, w->nindex);
    st_le64_put(f + 24, w->events);
    st_le64_put(f + 32, w->last_time);
    st_le32_put(f + 40, (uint32_t)w->nsigs);
    uint8_t *p = f + TFO_HEAD_SIZE;
    for (size_t i = 0; i < w->nindex; i++, p += TFO_ENTRY_SIZE) {
        st_le64_put(p, w->index[i].offset);
        st_le64_put(p + 8, w->index[i].first_event);
        st_le64_put(p + 16, w->index[i].first_time);
    }
    for (size_t i = 0; i < w->nsigs; i++) {
        size_t n = strlen(w->sigs[i]);
        st_le16_put(p, (uint16_t)n);
        memcpy(p + 2, w->sigs[i], n);
        p += 2 + n;
    }
    /* final = H_k(c_n || footer bytes before the trailer) */
    tf_hash hh;
    int rc = tf_hash_init(&hh, w->keyed ? w->key : NULL);
    if (rc < 0) {
        free(f);
        return rc;
    }
    tf_hash_update(&hh, w->chain, TRACE_HASH_BYTES);
    tf_hash_update(&hh, f, (size_t)(p - f));
    tf_hash_final(&hh, p);
    st_le64_put(p + 32, foff);
    st_le64_put(p + 40, tf_xxh3(f, (size_t)(p + 40 - f)));
    memcpy(p + 48, TFO_END_MAGIC, 8);
    rc = write_out(w, f, size);
    free(f);
    if (rc == 0 && w->opt.sync && w->io->sync)
        rc = w->io->sync(w->io);
    return rc;
}

int trace_writer_close(struct trace_writer *w)
{
    if (!w)
        return TRACE_E_INVAL;
    if (w->state != 0)
        return TRACE_E_STATE;
    int rc = flush_chunk(w);
    if (rc == 0)
        rc = write_footer(w);
    w->state = rc < 0 ? rc : 1;
    return rc;
}

void trace_writer_free(struct trace_writer *w)
{
    if (!w)
        return;
    compressor_stop(w);
    if (w->own_io)
        trace_io_free(w->io);
    free(w->zws); /* and the context in it */
    for (size_t i = 0; i < w->nsigs; i++)
        free(w->sigs[i]);
    free(w->sigs);
    free(w->sig_chunk);
    free(w->map);
    free(w->index);
    free(w->raw);
    free(w->job.raw);
    free(w->out);
    sodium_memzero(w->key, sizeof w->key);
    free(w);
}
