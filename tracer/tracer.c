/* tracer/tracer.c: the observer that writes trace events, and the header
 * builder. No allocation per event.
 *
 * The callbacks copy each event, stamped with its time, into a batch (40
 * bytes an event plus its bytes). Without a background writer, a batch is
 * written when a request's result has been sent or an event outside a
 * request comes: the encoding happens while the guest works on its answer,
 * not while it waits for it (issue 15). With one
 * (st_tracer_set_background_flush, which `record` and `tap` use), a
 * thread of its own takes a batch of about a thousand events at a time and
 * encodes it beside the guest, on the CPUs the process had before its
 * guest link pinned the answering thread, so that recording costs the
 * controller's thread a copy of each event and no encoding; the thread
 * also writes what waits every interval, so that a quiet guest's events
 * reach the disk too. Either way the trace is the same: the same events,
 * in the same order, with the times of their callbacks. */
#include "tracer/tracer.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/st_buf.h"
#include "common/st_util.h"
#include "controller/registry.h"
#include "controller/session.h"

/* By the negated code (the codes run from 0 down without gaps). */
static const char *const tracer_errors[] = {
    [-ST_TRACER_OK] = "success",
    [-ST_TRACER_E_NOMEM] = "out of memory",
    [-ST_TRACER_E_INVALID] = "invalid argument",
    [-ST_TRACER_E_TRACE] = "cannot write the trace",
    [-ST_TRACER_E_HASH] = "cannot read the guest executable to hash it",
    [-ST_TRACER_E_SPAWN] = "cannot start the guest",
    [-ST_TRACER_E_IO] = "cannot relay between controller and guest",
    [-ST_TRACER_E_LIMIT] = "size beyond a hard limit",
};

const char *st_tracer_strerror(int err)
{
    int n = (int)(sizeof tracer_errors / sizeof *tracer_errors);
    if (err <= 0 && err > -n && tracer_errors[-err])
        return tracer_errors[-err];
    return "unknown tracer error";
}

/* ------------------------------------------------------------------------- */
/* The header builder. */

void st_tracer_meta_init(struct st_tracer_meta *m)
{
    memset(m, 0, sizeof *m);
}

static char **copy_strings(const char *const *v, size_t n)
{
    char **out = calloc(n + 1, sizeof *out);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i] ? v[i] : "");
        if (!out[i]) {
            for (size_t j = 0; j < i; j++)
                free(out[j]);
            free(out);
            return NULL;
        }
    }
    return out;
}

static void free_strings(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int st_tracer_meta_set_guest(struct st_tracer_meta *m, const char *exe, const char *const *argv,
                             size_t argc, const char *const *env, size_t nenv)
{
    if (!m || !exe || (argc && !argv) || (nenv && !env))
        return ST_TRACER_E_INVALID;
    uint64_t size = 0;
    uint8_t hash[TRACE_HASH_BYTES];
    if (trace_hash_file(exe, hash, &size) < 0)
        return ST_TRACER_E_HASH;
    /* The absolute path, so that a replay from elsewhere finds it. */
    char *path = realpath(exe, NULL);
    if (!path)
        path = strdup(exe);
    char **a = copy_strings(argv, argc);
    char **e = copy_strings(env, nenv);
    if (!path || !a || !e) {
        free(path);
        free_strings(a, argc);
        free_strings(e, nenv);
        return m->error = ST_TRACER_E_NOMEM;
    }
    free(m->exe_path);
    free_strings(m->argv, m->argc);
    free_strings(m->env, m->nenv);
    m->exe_path = path;
    m->argv = a;
    m->argc = argc;
    m->env = e;
    m->nenv = nenv;
    m->header.guest_exe_path = path;
    m->header.guest_exe_size = size;
    memcpy(m->header.guest_exe_blake2b, hash, sizeof hash);
    m->header.guest_exe_hash_set = 1;
    m->header.guest_argc = argc;
    m->header.guest_argv = (const char *const *)a;
    m->header.guest_envc = nenv;
    m->header.guest_env = (const char *const *)e;
    return 0;
}

int st_tracer_meta_set_real_env(struct st_tracer_meta *m, const char *const *env, size_t n)
{
    if (!m || (n && !env))
        return ST_TRACER_E_INVALID;
    char **e = copy_strings(env, n);
    if (!e)
        return m->error = ST_TRACER_E_NOMEM;
    free_strings(m->real_env, m->nreal_env);
    m->real_env = e;
    m->nreal_env = n;
    m->header.guest_real_envc = n;
    m->header.guest_real_env = (const char *const *)e;
    return 0;
}

int st_tracer_meta_add(struct st_tracer_meta *m, const char *key, const char *fmt, ...)
{
    if (!m || !key || !fmt)
        return ST_TRACER_E_INVALID;
    struct trace_kv *nk = st_grow(m->kv, &m->kv_cap, m->nkv + 1, sizeof *nk, 32, SIZE_MAX);
    if (!nk)
        return m->error = ST_TRACER_E_NOMEM;
    m->kv = nk;
    va_list ap;
    va_start(ap, fmt);
    char *value = NULL;
    int n = vasprintf(&value, fmt, ap);
    va_end(ap);
    char *k = strdup(key);
    if (n < 0 || !k) {
        if (n >= 0)
            free(value);
        free(k);
        return m->error = ST_TRACER_E_NOMEM;
    }
    m->kv[m->nkv].key = k;
    m->kv[m->nkv].value = value;
    m->nkv++;
    m->header.policy = m->kv;
    m->header.policy_count = m->nkv;
    return 0;
}

static const char *time_mode_name(enum st_time_mode mode)
{
    switch (mode) {
    case ST_TIME_FROZEN: return "frozen";
    case ST_TIME_REAL: return "real";
    case ST_TIME_OFFSET: return "offset";
    }
    return "unknown";
}

int st_tracer_meta_add_session(struct st_tracer_meta *m, const struct st_session_config *c)
{
    if (!m || !c)
        return ST_TRACER_E_INVALID;
    st_tracer_meta_add(m, TRACE_POLICY_CONTROLLER, "sandtrace");
    st_tracer_meta_add(m, TRACE_POLICY_UID, "%u", (unsigned)c->uid);
    st_tracer_meta_add(m, TRACE_POLICY_GID, "%u", (unsigned)c->gid);
    st_tracer_meta_add(m, TRACE_POLICY_PID, "%lld", (long long)c->pid);
    st_tracer_meta_add(m, TRACE_POLICY_PPID, "%lld", (long long)c->ppid);
    if (c->hostname)
        st_tracer_meta_add(m, TRACE_POLICY_HOSTNAME, "%s", c->hostname);
    if (c->pypy_home)
        st_tracer_meta_add(m, TRACE_POLICY_PYPY_HOME, "%s", c->pypy_home);
    st_tracer_meta_add(m, TRACE_POLICY_TIME_MODE, "%s", time_mode_name(c->time_mode));
    st_tracer_meta_add(m, TRACE_POLICY_TIME_BASE, "%lld", (long long)c->time_base);
    st_tracer_meta_add(m, TRACE_POLICY_TIME_OFFSET, "%lld", (long long)c->time_offset);
    st_tracer_meta_add(m, TRACE_POLICY_LIMIT_TIMEOUT_SECONDS, "%g", c->timeout_seconds);
    st_tracer_meta_add(m, TRACE_POLICY_LIMIT_CPU_SECONDS, "%llu", (unsigned long long)c->cpu_seconds);
    st_tracer_meta_add(m, TRACE_POLICY_LIMIT_MEMORY_BYTES, "%llu", (unsigned long long)c->memory_bytes);
    st_tracer_meta_add(m, TRACE_POLICY_LIMIT_MAX_CALLS, "%llu", (unsigned long long)c->max_calls);
    st_tracer_meta_add(m, TRACE_POLICY_LIMIT_MAX_OUTPUT, "%llu", (unsigned long long)c->max_output);
    st_tracer_meta_add(m, TRACE_POLICY_SECCOMP, "%d", c->seccomp);
    /* The jail of controller/jail.h: one filter and its warden. */
    if (c->seccomp)
        st_tracer_meta_add(m, TRACE_POLICY_JAIL_LOOSE, "%d", c->loose_jail);
    st_tracer_meta_add(m, TRACE_POLICY_NO_ASLR, "%d", c->no_aslr);
    st_tracer_meta_add(m, TRACE_POLICY_ALLOW_UNKNOWN, "%d", c->allow_unknown);
    st_tracer_meta_add(m, TRACE_POLICY_LOG_REFUSED, "%d", c->log_refused);
    return m->error;
}

void st_tracer_meta_release(struct st_tracer_meta *m)
{
    if (!m)
        return;
    free_strings(m->argv, m->argc);
    free_strings(m->env, m->nenv);
    free_strings(m->real_env, m->nreal_env);
    for (size_t i = 0; i < m->nkv; i++) {
        free((char *)m->kv[i].key);
        free((char *)m->kv[i].value);
    }
    free(m->kv);
    free(m->exe_path);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------------------- */
/* The tracer. */

/* An event on its way to the writer, in 40 bytes (a struct trace_event
 * takes 300, most of them a request's 32 possible arguments, and a batch
 * of those is more memory than a cache keeps). Its bytes are a copy in
 * its batch's buffer: a request's signature, NUL-terminated, then its
 * arguments at the next multiple of 8; a memory command's data; for an
 * event outside a request, the whole struct trace_event, packed with its
 * texts and data. */
struct held {
    uint64_t time_ns;
    uint64_t a, b; /* REQUEST: -, nargs; MEM_*: ptr, size; SET_ERRNO, RESULT: value, - */
    uint8_t *bytes;
    uint32_t len; /* MEM_*: the data's; REQUEST: the signature's */
    uint8_t kind; /* enum trace_event_kind */
    char result_kind;
};

/* Events on their way to the writer, with their bytes in `bytes`, a
 * buffer that never moves (the events point into it). */
struct batch {
    struct held *ev;
    unsigned n;
    uint8_t *bytes;
    size_t nbytes;
};

struct st_tracer {
    struct trace_writer *w;
    int err; /* first TRACE_E_* error */
    int unflushed; /* events added since the last explicit flush */
    pthread_mutex_t lock; /* everything below, and the writer (see `writing`) */
    /* The background writer (st_tracer_set_background_flush): a thread
     * that takes `out` from the callbacks and writes it, and every
     * flush_ms makes the writer close a chunk whose time has come. */
    pthread_cond_t wake; /* to the thread: `out` is full, or stop */
    pthread_cond_t idle; /* from the thread: `out` is written */
    unsigned flush_ms;
    int thread_started, stopping;
    int writing; /* the thread uses the writer without the lock */
    pthread_t thread;
    cpu_set_t cpus; /* where the process could run when the tracer was made */
    int have_cpus;
    uint64_t limit_values[ST_LIMIT_COUNT]; /* recorded with a LIMIT event */
    /* `fill` takes the callbacks' events; with the thread, a full `fill`
     * becomes `out` (the thread's) and the empty `out` becomes `fill`.
     * Without it, `fill` is written by the callback that closes a request
     * or adds an event outside one, so that nothing waits in it. */
    struct batch fill, out;
    unsigned released; /* events of `fill` not waiting for a result */
    int open;          /* a request waits for its result */
    uint64_t open_ns;  /* since when */
    /* The trace's bounds. The writer writes through `cio`, which counts the
     * bytes into `written` and passes them to `inner`. */
    struct trace_io cio;
    struct trace_io *inner;
    int own_inner;
    _Atomic uint64_t written; /* added to by the writer's compressor thread */
    uint64_t max_bytes;  /* 0: no bound */
    int bound;           /* the bound reached (BOUND_*): events but the end are dropped */
    int bound_reported;  /* the run was asked to end */
    int have_control;
    struct st_run_control control;
};

enum { BOUND_NONE, BOUND_SIZE, BOUND_SIGNATURES };

/* A batch holds at most BATCH_EVENTS events and BATCH_BYTES bytes. With
 * the background writer, a batch is handed to it once it holds
 * HANDOFF_EVENTS events or HANDOFF_BYTES bytes: one wake-up of the thread
 * every few hundred requests, not one a request. An event with more than
 * ONE_MAX bytes is not copied: it is written at once, after the batch
 * (its copy would cost more than its encoding). */
#define BATCH_EVENTS 2048u
#define BATCH_BYTES (512u * 1024)
#define HANDOFF_EVENTS 1024u
#define HANDOFF_BYTES (128u * 1024)
#define ONE_MAX (64u * 1024)

static int batch_alloc(struct batch *b)
{
    b->ev = calloc(BATCH_EVENTS, sizeof *b->ev);
    b->bytes = malloc(BATCH_BYTES);
    b->n = 0;
    b->nbytes = 0;
    if (b->ev && b->bytes)
        return 0;
    free(b->ev);
    free(b->bytes);
    b->ev = NULL;
    b->bytes = NULL;
    return -1;
}

static void batch_free(struct batch *b)
{
    free(b->ev);
    free(b->bytes);
    b->ev = NULL;
    b->bytes = NULL;
}

static int tracer_init_batches(struct st_tracer *t)
{
    if (batch_alloc(&t->fill) < 0)
        return -1;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    pthread_cond_init(&t->idle, NULL);
    /* The background writer runs where the process could when the tracer
     * was made (st_thread_start). */
    t->have_cpus = pthread_getaffinity_np(pthread_self(), sizeof t->cpus, &t->cpus) == 0;
    return 0;
}

static void tracer_fini(struct st_tracer *t)
{
    batch_free(&t->fill);
    batch_free(&t->out);
    pthread_mutex_destroy(&t->lock);
    pthread_cond_destroy(&t->wake);
    pthread_cond_destroy(&t->idle);
}

static int cio_read(struct trace_io *io, void *buf, size_t cap, size_t *got)
{
    struct st_tracer *t = io->ctx;
    return t->inner->read(t->inner, buf, cap, got);
}

static int cio_write(struct trace_io *io, const void *buf, size_t len)
{
    struct st_tracer *t = io->ctx;
    int rc = t->inner->write(t->inner, buf, len);
    io->last_errno = t->inner->last_errno;
    if (rc == 0)
        atomic_fetch_add_explicit(&t->written, len, memory_order_relaxed);
    return rc;
}

static int cio_seek(struct trace_io *io, uint64_t offset)
{
    struct st_tracer *t = io->ctx;
    return t->inner->seek(t->inner, offset);
}

static int cio_size(struct trace_io *io, uint64_t *size)
{
    struct st_tracer *t = io->ctx;
    return t->inner->size(t->inner, size);
}

static int cio_sync(struct trace_io *io)
{
    struct st_tracer *t = io->ctx;
    return t->inner->sync(t->inner);
}

static void cio_free(struct trace_io *io)
{
    struct st_tracer *t = io->ctx;
    if (t->own_inner)
        trace_io_free(t->inner);
    t->inner = NULL;
}

int st_tracer_new(struct st_tracer **out, struct trace_io *io, int own_io,
                  const struct trace_header *header, const struct trace_writer_options *opt,
                  int *trace_err)
{
    if (trace_err)
        *trace_err = 0;
    if (!out || !io || !header) {
        if (own_io)
            trace_io_free(io);
        return ST_TRACER_E_INVALID;
    }
    *out = NULL;
    struct st_tracer *t = calloc(1, sizeof *t);
    if (!t) {
        if (own_io)
            trace_io_free(io);
        return ST_TRACER_E_NOMEM;
    }
    if (tracer_init_batches(t) < 0) {
        free(t);
        if (own_io)
            trace_io_free(io);
        return ST_TRACER_E_NOMEM;
    }
    /* The writer writes through a counting io, so that --max-trace knows
     * the trace's size. */
    t->inner = io;
    t->own_inner = own_io;
    t->cio = (struct trace_io){
        .read = io->read ? cio_read : NULL,
        .write = cio_write,
        .seek = io->seek ? cio_seek : NULL,
        .size = io->size ? cio_size : NULL,
        .sync = io->sync ? cio_sync : NULL,
        .free = cio_free,
        .ctx = t,
    };
    /* A live guest's chunks are compressed beside it, not in its way: the
     * writer's background compressor (issue 15). */
    struct trace_writer_options wo;
    if (opt)
        wo = *opt;
    else
        trace_writer_options_init(&wo);
    wo.background = 1;
    int rc = trace_writer_new(&t->w, &t->cio, 1, header, &wo);
    if (rc < 0) {
        /* trace_writer_new has freed io already when it owned it. */
        tracer_fini(t);
        free(t);
        if (trace_err)
            *trace_err = rc;
        return rc == TRACE_E_NOMEM ? ST_TRACER_E_NOMEM : ST_TRACER_E_TRACE;
    }
    *out = t;
    return 0;
}

/* Where a request's arguments start in its bytes. */
static size_t args_offset(size_t sig_len)
{
    return (sig_len + 1 + 7) & ~(size_t)7;
}

/* The event `h` holds: in `tmp`, or packed in its bytes. */
static const struct trace_event *to_event(const struct held *h, struct trace_event *tmp)
{
    switch (h->kind) {
    case TRACE_EV_REQUEST:
        tmp->request.sig = (const char *)h->bytes;
        tmp->request.nargs = h->b;
        memcpy(tmp->request.args, h->bytes + args_offset(h->len), h->b * sizeof(uint64_t));
        break;
    case TRACE_EV_MEM_READ:
    case TRACE_EV_MEM_READ_STR:
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
    case TRACE_EV_MEM_FREE:
        tmp->mem.ptr = h->a;
        tmp->mem.size = h->b;
        tmp->mem.data = h->len ? h->bytes : NULL;
        tmp->mem.len = h->len;
        break;
    case TRACE_EV_SET_ERRNO:
        tmp->set_errno.value = (int32_t)h->a;
        break;
    case TRACE_EV_RESULT:
        tmp->result.kind = h->result_kind;
        tmp->result.value = h->a;
        break;
    default:
        return (const struct trace_event *)(const void *)h->bytes;
    }
    tmp->kind = (enum trace_event_kind)h->kind;
    tmp->time_ns = h->time_ns;
    return tmp;
}

/* The kinds recorded past a bound: why the run ended, and how. */
static int is_end_kind(enum trace_event_kind kind)
{
    return kind == TRACE_EV_LIMIT || kind == TRACE_EV_VIOLATION || kind == TRACE_EV_NOTE ||
           kind == TRACE_EV_GUEST_EXIT;
}

/* Writes one event, unless past an error or a bound (*bound, set here
 * when one is reached: then only the end's events are written). The
 * caller has the writer to itself. */
static void write_one(struct st_tracer *t, const struct trace_event *ev, int *bound, int *err,
                      uint64_t max_bytes)
{
    if (*err || (*bound && !is_end_kind(ev->kind)))
        return;
    int rc = trace_writer_add_event(t->w, ev);
    if (rc == TRACE_E_LIMIT && ev->kind == TRACE_EV_REQUEST) {
        /* The signature table is full (TRACE_MAX_SIGNATURES): the request
         * cannot be named. Not a write error (nothing was written), so the
         * trace stays whole and records the end; the request's other
         * events are dropped with it. */
        *bound = BOUND_SIGNATURES;
    } else if (rc < 0) {
        *err = rc;
    } else if (!*bound && ev->kind != TRACE_EV_GUEST_EXIT && max_bytes &&
               atomic_load_explicit(&t->written, memory_order_relaxed) >= max_bytes) {
        *bound = BOUND_SIZE; /* --max-trace */
    }
}

/* Writes b's events, in order. The caller has the writer to itself and
 * empties the batch after. */
static void write_batch(struct st_tracer *t, const struct batch *b, int *bound, int *err,
                        uint64_t max_bytes)
{
    struct trace_event tmp = { .kind = TRACE_EV_NOTE }; /* each event sets its fields */
    for (unsigned i = 0; i < b->n && !*err; i++)
        write_one(t, to_event(&b->ev[i], &tmp), bound, err, max_bytes);
}

/* Callers hold t->lock: waits until the background writer has written
 * `out` and left the writer. */
static void wait_idle_locked(struct st_tracer *t)
{
    while (t->out.n || t->writing)
        pthread_cond_wait(&t->idle, &t->lock);
}

/* Writes `fill` on the caller's thread, after `out`. Callers hold t->lock. */
static void drain_locked(struct st_tracer *t)
{
    wait_idle_locked(t);
    write_batch(t, &t->fill, &t->bound, &t->err, t->max_bytes);
    t->fill.n = 0;
    t->fill.nbytes = 0;
    t->released = 0;
}

/* Gives `fill` to the background writer. Callers hold t->lock. */
static void hand_over_locked(struct st_tracer *t)
{
    wait_idle_locked(t);
    struct batch empty = t->out;
    t->out = t->fill;
    t->fill = empty;
    t->released = 0;
    pthread_cond_signal(&t->wake);
}

/* Makes room in `fill` for one event of `len` bytes (a multiple of 8).
 * Callers hold t->lock. */
static void make_room_locked(struct st_tracer *t, size_t len)
{
    if (t->fill.n < BATCH_EVENTS && t->fill.nbytes + len <= BATCH_BYTES)
        return;
    if (t->thread_started)
        hand_over_locked(t);
    else
        drain_locked(t);
}

/* A new event in `fill`, stamped now, with room for `len` bytes at its
 * `bytes`. Callers hold t->lock. */
static struct held *push_locked(struct st_tracer *t, enum trace_event_kind kind, size_t len)
{
    size_t need = (len + 7) & ~(size_t)7; /* keeps the next one's bytes aligned */
    make_room_locked(t, need);
    struct held *h = &t->fill.ev[t->fill.n++];
    h->kind = (uint8_t)kind;
    h->time_ns = trace_writer_now_ns(t->w);
    h->bytes = t->fill.bytes + t->fill.nbytes;
    t->fill.nbytes += need;
    return h;
}

/* The events in `fill` wait for no result now. Without the background
 * writer they are written at once. With it, `fill` is handed over when it
 * holds enough for a wake-up to be worth it and the thread is free; until
 * then the thread's tick writes it within flush_ms. Callers hold t->lock. */
static void release_locked(struct st_tracer *t)
{
    if (!t->thread_started) {
        drain_locked(t);
        return;
    }
    t->released = t->fill.n;
    if ((t->fill.n >= HANDOFF_EVENTS || t->fill.nbytes >= HANDOFF_BYTES) && !t->out.n &&
        !t->writing)
        hand_over_locked(t);
}

/* The background writer's part: writes `out` without the lock (the
 * callbacks go on filling `fill`). Called and returns with t->lock held. */
static void write_out_locked(struct st_tracer *t)
{
    int bound = t->bound, err = t->err;
    uint64_t max_bytes = t->max_bytes;
    t->writing = 1;
    pthread_mutex_unlock(&t->lock);
    write_batch(t, &t->out, &bound, &err, max_bytes);
    pthread_mutex_lock(&t->lock);
    t->writing = 0;
    t->out.n = 0;
    t->out.nbytes = 0;
    if (!t->err)
        t->err = err;
    if (!t->bound)
        t->bound = bound;
    pthread_cond_broadcast(&t->idle);
}

/* Every flush_ms: what waits in `fill` is written, then the chunk is
 * closed if its time has come, or at once when a request has been open for
 * half an interval or more: it waits on its handler (input, a slow file),
 * the guest is quiet, and the request should reach the disk now, not a
 * chunk bound later. Called and returns with t->lock held. */
static void tick_locked(struct st_tracer *t)
{
    int quiet = t->open &&
                trace_writer_now_ns(t->w) - t->open_ns >= (uint64_t)t->flush_ms * 500000u;
    /* A batch handed over as the wait timed out is this thread's to write,
     * first: handing over `fill` waits for `out` to be written. */
    if (t->out.n)
        write_out_locked(t);
    if (t->fill.n) {
        hand_over_locked(t);
        write_out_locked(t);
    }
    if (t->err)
        return;
    t->writing = 1;
    pthread_mutex_unlock(&t->lock);
    int rc = quiet ? trace_writer_flush(t->w) : trace_writer_poll(t->w);
    pthread_mutex_lock(&t->lock);
    t->writing = 0;
    if (rc < 0 && !t->err)
        t->err = rc;
    pthread_cond_broadcast(&t->idle);
}

static void deadline_after_ms(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    uint64_t ns = (uint64_t)ts->tv_nsec + (uint64_t)ms * 1000000u;
    ts->tv_sec += (time_t)(ns / 1000000000u);
    ts->tv_nsec = (long)(ns % 1000000000u);
}

static void *flusher_main(void *arg)
{
    struct st_tracer *t = arg;
    pthread_mutex_lock(&t->lock);
    struct timespec next;
    deadline_after_ms(&next, t->flush_ms);
    for (;;) {
        if (t->out.n) {
            write_out_locked(t);
            continue;
        }
        if (t->stopping)
            break;
        if (pthread_cond_timedwait(&t->wake, &t->lock, &next) != ETIMEDOUT)
            continue; /* a batch, or stop */
        deadline_after_ms(&next, t->flush_ms);
        if (!t->err && t->unflushed)
            tick_locked(t);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Starts the background writer with the first event (once the guest runs:
 * no fork happens with it running). Callers hold t->lock. */
static void start_flusher_locked(struct st_tracer *t)
{
    if (!t->flush_ms || t->thread_started)
        return;
    int rc = batch_alloc(&t->out) < 0
                 ? -1
                 : st_thread_start(&t->thread, t->have_cpus ? &t->cpus : NULL, flusher_main, t);
    if (rc == 0)
        t->thread_started = 1;
    else
        t->flush_ms = 0; /* no thread: events are written by their callbacks */
}

/* Writes an event with more than ONE_MAX bytes now, after the batch.
 * Callers hold t->lock. */
static void write_direct_locked(struct st_tracer *t, struct trace_event *ev)
{
    drain_locked(t);
    ev->time_ns = trace_writer_now_ns(t->w);
    write_one(t, ev, &t->bound, &t->err, t->max_bytes);
}

/* Adds an event that belongs to no request, after the others, with a copy
 * of its texts and data. Callers hold t->lock. */
static void add_locked(struct st_tracer *t, struct trace_event *ev)
{
    if (t->err)
        return;
    start_flusher_locked(t);
    /* Past a bound only the end is recorded: why it ended, and how. */
    if (t->bound && !is_end_kind(ev->kind))
        return;
    t->unflushed = 1;
    size_t need = trace_event_pack(NULL, ev, NULL, 0, SIZE_MAX, SIZE_MAX);
    if (need > ONE_MAX) {
        write_direct_locked(t, ev);
        return;
    }
    struct held *h = push_locked(t, ev->kind, sizeof *ev + need);
    struct trace_event *packed = (struct trace_event *)(void *)h->bytes;
    trace_event_pack(packed, ev, h->bytes + sizeof *ev, need, SIZE_MAX, SIZE_MAX);
    packed->time_ns = h->time_ns;
    release_locked(t);
}

/* A bound was reached: the run is asked to end (once), which records the
 * LIMIT through on_limit. Without a controller to ask (tap), the LIMIT is
 * recorded here and the trace keeps only the end. Called without the lock:
 * the controller calls back into the tracer. */
static void report_bound(struct st_tracer *t)
{
    char reason[128];
    const char *detail;
    if (t->bound == BOUND_SIZE) {
        detail = "trace size limit reached";
        snprintf(reason, sizeof reason, "trace limit of %llu bytes reached",
                 (unsigned long long)t->max_bytes);
    } else {
        detail = "signature table full: the trace cannot name another signature";
        snprintf(reason, sizeof reason, "trace limit: more than %u distinct signatures",
                 (unsigned)TRACE_MAX_SIGNATURES);
    }
    if (t->have_control) {
        t->control.stop(t->control.session, ST_STATUS_TRACE_LIMIT, ST_LIMIT_TRACE, detail, reason);
    } else {
        struct trace_event ev = { .kind = TRACE_EV_LIMIT };
        ev.limit.name = st_limit_name(ST_LIMIT_TRACE);
        ev.limit.value = t->bound == BOUND_SIGNATURES ? TRACE_MAX_SIGNATURES : t->max_bytes;
        ev.limit.detail = detail;
        pthread_mutex_lock(&t->lock);
        add_locked(t, &ev);
        pthread_mutex_unlock(&t->lock);
    }
}

/* Releases the lock, then asks the run to end once when the trace reached
 * its bound (report_bound takes the lock itself). */
static void unlock_reporting_bound(struct st_tracer *t)
{
    int report = t->bound && !t->bound_reported;
    if (report)
        t->bound_reported = 1;
    pthread_mutex_unlock(&t->lock);
    if (report)
        report_bound(t);
}

static void add(struct st_tracer *t, struct trace_event *ev)
{
    pthread_mutex_lock(&t->lock);
    add_locked(t, ev);
    unlock_reporting_bound(t);
}

/* Whether an event of a request is recorded (not past an error or a
 * bound); if so, the background writer is started. Callers hold t->lock. */
static int begin_locked(struct st_tracer *t)
{
    if (t->err || t->bound)
        return 0;
    start_flusher_locked(t);
    t->unflushed = 1;
    return 1;
}

/* Holds a memory command's event with a copy of its `len` bytes at `data`.
 * Callers hold t->lock. */
static void hold_mem_locked(struct st_tracer *t, enum trace_event_kind kind, uint64_t ptr,
                            uint64_t size, const void *data, size_t len)
{
    if (!begin_locked(t))
        return;
    if (len > ONE_MAX) {
        struct trace_event ev = { .kind = kind };
        ev.mem.ptr = ptr;
        ev.mem.size = size;
        ev.mem.data = data;
        ev.mem.len = len;
        write_direct_locked(t, &ev);
        return;
    }
    struct held *h = push_locked(t, kind, len);
    if (len)
        memcpy(h->bytes, data, len);
    h->a = ptr;
    h->b = size;
    h->len = (uint32_t)len;
}

static void stop_flusher(struct st_tracer *t)
{
    pthread_mutex_lock(&t->lock);
    t->stopping = 1;
    pthread_cond_signal(&t->wake);
    int started = t->thread_started;
    t->thread_started = 0;
    pthread_mutex_unlock(&t->lock);
    if (started)
        pthread_join(t->thread, NULL);
}

static void flush_now(struct st_tracer *t)
{
    pthread_mutex_lock(&t->lock);
    if (!t->err) {
        drain_locked(t);
        int rc = t->err ? t->err : trace_writer_flush(t->w);
        if (rc < 0)
            t->err = rc;
        t->unflushed = 0;
    }
    pthread_mutex_unlock(&t->lock);
}

static void on_request(void *ctx, const char *text, size_t text_len, const uint64_t *args,
                       unsigned nargs)
{
    struct st_tracer *t = ctx;
    if (text_len > TRACE_MAX_SIG_LEN)
        text_len = TRACE_MAX_SIG_LEN;
    if (nargs > TRACE_MAX_ARGS)
        nargs = TRACE_MAX_ARGS; /* the codec refuses more; never reached */
    pthread_mutex_lock(&t->lock);
    if (begin_locked(t)) {
        size_t off = args_offset(text_len);
        struct held *h = push_locked(t, TRACE_EV_REQUEST, off + nargs * sizeof *args);
        memcpy(h->bytes, text, text_len);
        h->bytes[text_len] = '\0';
        if (nargs)
            memcpy(h->bytes + off, args, nargs * sizeof *args);
        h->len = (uint32_t)text_len;
        h->b = nargs;
        t->open = 1;
        t->open_ns = h->time_ns;
    }
    pthread_mutex_unlock(&t->lock);
    /* A controller usually kills the guest at _exit (sandtrace does, and a
     * tapped guest's controller kills tap with it): keep what led there. */
    const struct st_sig *exit_sig = st_registry_get(ST_SIG__exit);
    if (text_len && exit_sig && text[0] == exit_sig->text[0] &&
        st_registry_lookup(text, text_len) == exit_sig)
        flush_now(t); /* the first letter spares the lookup of other calls */
}

static void mem_event(struct st_tracer *t, enum trace_event_kind kind, uint64_t ptr, uint64_t size,
                      const void *data, size_t len)
{
    pthread_mutex_lock(&t->lock);
    hold_mem_locked(t, kind, ptr, size, data, len);
    pthread_mutex_unlock(&t->lock);
}

static void on_mem_read(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    mem_event(ctx, TRACE_EV_MEM_READ, ptr, 0, data, len);
}

static void on_mem_read_str(void *ctx, uint64_t ptr, uint64_t maxlen, const void *data, size_t len)
{
    mem_event(ctx, TRACE_EV_MEM_READ_STR, ptr, maxlen, data, len);
}

static void on_mem_write(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    mem_event(ctx, TRACE_EV_MEM_WRITE, ptr, 0, data, len);
}

static void on_mem_alloc(void *ctx, const void *data, size_t len, uint64_t ptr)
{
    mem_event(ctx, TRACE_EV_MEM_ALLOC, ptr, 0, data, len);
}

static void on_mem_free(void *ctx, uint64_t ptr)
{
    mem_event(ctx, TRACE_EV_MEM_FREE, ptr, 0, NULL, 0);
}

static void on_errno(void *ctx, int32_t err)
{
    struct st_tracer *t = ctx;
    pthread_mutex_lock(&t->lock);
    if (begin_locked(t))
        push_locked(t, TRACE_EV_SET_ERRNO, 0)->a = (uint64_t)(int64_t)err;
    pthread_mutex_unlock(&t->lock);
}

/* The controller reports the result after sending it: the guest has its
 * answer, and the request's events can be written now. */
static void on_result(void *ctx, char kind, uint64_t value)
{
    struct st_tracer *t = ctx;
    pthread_mutex_lock(&t->lock);
    if (begin_locked(t)) {
        struct held *h = push_locked(t, TRACE_EV_RESULT, 0);
        h->result_kind = kind;
        h->a = kind == 'v' ? 0 : value;
    }
    t->open = 0;
    release_locked(t);
    unlock_reporting_bound(t);
}

static void on_guest_stderr(void *ctx, const void *data, size_t len)
{
    struct st_tracer *t = ctx;
    /* One event per TRACE_MAX_BLOB at most (a pipe read never gets near). */
    const uint8_t *p = data;
    while (len > 0) {
        size_t n = len < TRACE_MAX_BLOB ? len : TRACE_MAX_BLOB;
        struct trace_event ev = { .kind = TRACE_EV_GUEST_STDERR };
        ev.guest_stderr.data = p;
        ev.guest_stderr.len = n;
        add(t, &ev);
        p += n;
        len -= n;
    }
}

static void on_limit(void *ctx, enum st_limit which, const char *detail)
{
    struct st_tracer *t = ctx;
    struct trace_event ev = { .kind = TRACE_EV_LIMIT };
    ev.limit.name = st_limit_name(which);
    ev.limit.value = (unsigned)which < ST_LIMIT_COUNT ? t->limit_values[which] : 0;
    if (which == ST_LIMIT_TRACE && t->bound == BOUND_SIGNATURES)
        ev.limit.value = TRACE_MAX_SIGNATURES; /* the bound reached was the table's */
    ev.limit.detail = detail;
    add(t, &ev);
}

static void on_violation(void *ctx, const char *what, const void *raw, size_t len)
{
    struct trace_event ev = { .kind = TRACE_EV_VIOLATION };
    ev.violation.text = what ? what : "protocol violation";
    ev.violation.data = raw;
    ev.violation.len = raw ? (len < TRACE_MAX_BLOB ? len : TRACE_MAX_BLOB) : 0;
    add(ctx, &ev);
}

static void on_note(void *ctx, const char *text)
{
    struct trace_event ev = { .kind = TRACE_EV_NOTE };
    ev.note.text = text ? text : "";
    add(ctx, &ev);
}

static void on_start(void *ctx, const struct st_run_control *control)
{
    struct st_tracer *t = ctx;
    t->control = *control;
    t->have_control = control->stop != NULL;
}

static void on_exit_cb(void *ctx, const struct st_outcome *o)
{
    struct st_tracer *t = ctx;
    t->have_control = 0; /* the run is over */
    t->bound_reported = 1; /* a bound reached now is past the end: not recorded */
    struct trace_event ev = { .kind = TRACE_EV_GUEST_EXIT };
    ev.guest_exit.code = o->status == ST_STATUS_EXITED ? o->exit_code : -1;
    ev.guest_exit.signal = o->signal;
    ev.guest_exit.reason = o->reason[0] ? o->reason : st_status_name(o->status);
    add(t, &ev);
    /* The end is the one event a reader most wants: make it durable now. */
    flush_now(t);
}

struct st_observer st_tracer_observer(struct st_tracer *t)
{
    struct st_observer o = {
        .ctx = t,
        .on_start = on_start,
        .on_request = on_request,
        .on_mem_read = on_mem_read,
        .on_mem_read_str = on_mem_read_str,
        .on_mem_write = on_mem_write,
        .on_mem_alloc = on_mem_alloc,
        .on_mem_free = on_mem_free,
        .on_errno = on_errno,
        .on_result = on_result,
        .on_guest_stderr = on_guest_stderr,
        .on_limit = on_limit,
        .on_violation = on_violation,
        .on_note = on_note,
        .on_exit = on_exit_cb,
    };
    return o;
}

int st_tracer_set_limit_value(struct st_tracer *t, enum st_limit which, uint64_t value)
{
    if (!t || (unsigned)which >= ST_LIMIT_COUNT)
        return ST_TRACER_E_INVALID;
    t->limit_values[which] = value;
    return 0;
}

int st_tracer_set_max_bytes(struct st_tracer *t, uint64_t max_bytes)
{
    if (!t)
        return ST_TRACER_E_INVALID;
    pthread_mutex_lock(&t->lock);
    t->max_bytes = max_bytes;
    pthread_mutex_unlock(&t->lock);
    return st_tracer_set_limit_value(t, ST_LIMIT_TRACE, max_bytes);
}

void st_tracer_set_session_limits(struct st_tracer *t, const struct st_session_config *c)
{
    if (!t || !c)
        return;
    st_tracer_set_limit_value(t, ST_LIMIT_TIMEOUT, (uint64_t)(c->timeout_seconds * 1000.0));
    st_tracer_set_limit_value(t, ST_LIMIT_CPU, c->cpu_seconds);
    st_tracer_set_limit_value(t, ST_LIMIT_MEMORY, c->memory_bytes);
    st_tracer_set_limit_value(t, ST_LIMIT_OUTPUT, c->max_output);
    st_tracer_set_limit_value(t, ST_LIMIT_CALLS, c->max_calls);
}

int st_tracer_set_background_flush(struct st_tracer *t, unsigned interval_ms)
{
    if (!t)
        return ST_TRACER_E_INVALID;
    pthread_mutex_lock(&t->lock);
    int ok = !t->thread_started;
    if (ok)
        t->flush_ms = interval_ms;
    pthread_mutex_unlock(&t->lock);
    return ok ? 0 : ST_TRACER_E_INVALID;
}

int st_tracer_flush(struct st_tracer *t)
{
    if (!t)
        return ST_TRACER_E_INVALID;
    flush_now(t);
    return st_tracer_trace_error(t) ? ST_TRACER_E_TRACE : 0;
}

int st_tracer_close(struct st_tracer *t)
{
    if (!t)
        return ST_TRACER_E_INVALID;
    stop_flusher(t);
    pthread_mutex_lock(&t->lock);
    drain_locked(t);
    pthread_mutex_unlock(&t->lock);
    if (t->err)
        return ST_TRACER_E_TRACE;
    int rc = trace_writer_close(t->w);
    if (rc < 0) {
        t->err = rc;
        return ST_TRACER_E_TRACE;
    }
    return 0;
}

int st_tracer_trace_error(const struct st_tracer *t)
{
    if (!t)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&t->lock);
    int err = t->err;
    pthread_mutex_unlock((pthread_mutex_t *)&t->lock);
    return err;
}

uint64_t st_tracer_event_count(const struct st_tracer *t)
{
    if (!t)
        return 0;
    struct st_tracer *m = (struct st_tracer *)t; /* waits for the writer */
    pthread_mutex_lock(&m->lock);
    wait_idle_locked(m);
    uint64_t n = trace_writer_event_count(t->w) + t->released;
    pthread_mutex_unlock(&m->lock);
    return n;
}

void st_tracer_free(struct st_tracer *t)
{
    if (!t)
        return;
    stop_flusher(t);
    trace_writer_free(t->w);
    tracer_fini(t);
    free(t);
}
