/* sandtrace index: traces into an SQLite audit database (docs/index.md).
 *
 * Worker threads (-j) each take a trace, hash it, decode it with the same
 * collector and printer as `dump` (trace_calls.c, trace_print.c, the
 * registry of controller/sigtable.def) and hand rows in batches to one
 * writer thread, which owns the database and inserts them in transactions.
 * Memory is bounded whatever the traces' sizes: a batch holds at most
 * IX_BATCH_CALLS calls and IX_ARENA bytes of text, and the queue between the
 * workers and the writer at most 2 batches per worker (a worker waits when
 * it is full). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "controller/registry.h"
#include "format/trace.h"
#include "tools/commands.h"
#include "tools/corpus_list.h"
#include "tools/index_db.h"
#include "tools/options.h"
#include "tools/trace_calls.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"

#define IX_BATCH_CALLS 1024
#define IX_ARENA (1024u * 1024)       /* text bytes per batch */
#define IX_TEXT_MAX (64u * 1024)      /* one text field (arguments, a path...) */
#define IX_PATH_MAX 4096              /* bytes of a path kept */
#define IX_POLICY_MAX 1024            /* policy entries kept per run */
#define IX_LIMITS_MAX 8               /* distinct limit names kept per run */
#define IX_COMMIT_ROWS 50000          /* rows per transaction at most */
#define IX_JOBS_MAX 256

/* ------------------------------------------------------------ batches */

enum ix_batch_kind { IXB_BEGIN = 1, IXB_ROWS, IXB_END };

struct ix_job;

struct ix_batch {
    struct ix_batch *next;
    enum ix_batch_kind kind;
    struct ix_job *job;          /* IXB_BEGIN: the worker's, valid until the verdict */
    int64_t run_id;              /* IXB_ROWS, IXB_END: the run the rows belong to */
    char *arena;                 /* IX_ARENA bytes; strings never move */
    size_t used;
    struct ix_call_row calls[IX_BATCH_CALLS];
    size_t ncalls;
    struct ix_path_row *paths;   /* up to 4 per call */
    size_t npaths;
    struct ix_run_head head;     /* IXB_BEGIN */
    const char *pkey[IX_POLICY_MAX], *pval[IX_POLICY_MAX];
    size_t npolicy;
    struct ix_run_end end;       /* IXB_END */
};
#define IX_BATCH_PATHS (4 * IX_BATCH_CALLS)

static struct ix_batch *batch_new(enum ix_batch_kind kind, struct ix_job *job)
{
    struct ix_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->arena = malloc(IX_ARENA);
    b->paths = malloc(IX_BATCH_PATHS * sizeof *b->paths);
    if (!b->arena || !b->paths) {
        free(b->arena);
        free(b->paths);
        free(b);
        return NULL;
    }
    b->kind = kind;
    b->job = job;
    return b;
}

static void batch_free(struct ix_batch *b)
{
    if (!b)
        return;
    free(b->arena);
    free(b->paths);
    free(b);
}

/* Copies `len` bytes and a NUL into the arena; NULL when it is full. */
static const char *arena_add(struct ix_batch *b, const char *s, size_t len)
{
    if (len + 1 > IX_ARENA - b->used)
        return NULL;
    char *d = b->arena + b->used;
    memcpy(d, s, len);
    d[len] = '\0';
    b->used += len + 1;
    return d;
}

/* ------------------------------------------------------------ the queue */

enum { VERDICT_PENDING = 0, VERDICT_GO, VERDICT_SKIP, VERDICT_FAIL };

/* The handshake of one trace: the worker sends its header and waits for
 * the writer's verdict (and, to go on, the run's id) before decoding. */
struct ix_job {
    int verdict;                /* set by the writer, under ix_shared.mu */
    int64_t run_id;             /* set by the writer before VERDICT_GO */
};

struct ix_shared {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full, verdict_cv;
    struct ix_batch *head, *tail;
    size_t queued, cap;
    int closed;                 /* no worker will push again */
    int failed;                 /* the database failed: everyone stops */
    char db_error[512];
    /* Work: the next trace to take. */
    struct corpus_list *list;
    size_t next;
    /* Options. */
    size_t strsize;
    int verbose;
    /* Counts, under mu. */
    uint64_t indexed, skipped, damaged, unreadable, calls;
};

static void queue_push(struct ix_shared *s, struct ix_batch *b)
{
    pthread_mutex_lock(&s->mu);
    while (s->queued >= s->cap && !s->failed)
        pthread_cond_wait(&s->not_full, &s->mu);
    b->next = NULL;
    if (s->tail)
        s->tail->next = b;
    else
        s->head = b;
    s->tail = b;
    s->queued++;
    pthread_cond_signal(&s->not_empty);
    pthread_mutex_unlock(&s->mu);
}

/* The next batch; with `wait` 0, NULL at once when none is queued. NULL
 * also when the queue is closed and empty. */
static struct ix_batch *queue_pop(struct ix_shared *s, int wait)
{
    pthread_mutex_lock(&s->mu);
    while (!s->head && !s->closed && wait)
        pthread_cond_wait(&s->not_empty, &s->mu);
    struct ix_batch *b = s->head;
    if (b) {
        s->head = b->next;
        if (!s->head)
            s->tail = NULL;
        s->queued--;
        pthread_cond_signal(&s->not_full);
    }
    pthread_mutex_unlock(&s->mu);
    return b;
}

static int queue_drained(struct ix_shared *s)
{
    pthread_mutex_lock(&s->mu);
    int done = s->closed && !s->head;
    pthread_mutex_unlock(&s->mu);
    return done;
}

/* ------------------------------------------------------------ safe text */

/* Text from a trace as it goes into the database: valid UTF-8 stays as it
 * is; control characters, DEL and every byte that is not part of valid
 * UTF-8 become \xNN, and with `raw` (text that is not already the printer's
 * escaped output) a backslash becomes \\, so that a stored value is always
 * valid UTF-8 without control characters, and unambiguous. */
static void safe_text_esc(struct st_buf *out, const uint8_t *s, size_t n, int raw)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len = 0;
        if (c >= 0x20 && c < 0x7f && (c != '\\' || !raw)) {
            st_buf_add(out, &s[i], 1);
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef)
            len = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            len = 4;
        int ok = len && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = (s[i + k] & 0xc0) == 0x80;
        /* Overlong forms, surrogates and code points above U+10FFFF. */
        if (ok && len == 3 && c == 0xe0 && s[i + 1] < 0xa0)
            ok = 0;
        if (ok && len == 3 && c == 0xed && s[i + 1] >= 0xa0)
            ok = 0;
        if (ok && len == 4 && c == 0xf0 && s[i + 1] < 0x90)
            ok = 0;
        if (ok && len == 4 && c == 0xf4 && s[i + 1] >= 0x90)
            ok = 0;
        if (ok) {
            st_buf_add(out, &s[i], len);
            i += len;
        } else if (c == '\\') {
            st_buf_puts(out, "\\\\");
            i++;
        } else {
            st_buf_addf(out, "\\x%02x", c);
            i++;
        }
    }
}

static void safe_text(struct st_buf *out, const uint8_t *s, size_t n)
{
    safe_text_esc(out, s, n, 1);
}

static void safe_str(struct st_buf *out, const char *s)
{
    if (s)
        safe_text(out, (const uint8_t *)s, strlen(s));
}

/* The scratch buffer's text into the arena (marked "..." when it hit its
 * maximum), then the scratch is reset. NULL when the arena is full. */
static const char *take(struct ix_batch *b, struct st_buf *scratch)
{
    if (scratch->overflow) {
        /* Room for the mark: st_buf drops what is over its maximum. */
        size_t keep = scratch->len > 3 ? scratch->len - 3 : 0;
        while (keep > 0 && ((uint8_t)scratch->data[keep] & 0xc0) == 0x80)
            keep--; /* do not cut a UTF-8 sequence */
        scratch->len = keep;
        scratch->data[keep] = '\0';
        scratch->overflow = 0;
        st_buf_puts(scratch, "...");
    }
    const char *t = arena_add(b, scratch->data, scratch->len);
    st_buf_reset(scratch);
    return t;
}

static void hex(char *dst, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[p[i] >> 4];
        dst[2 * i + 1] = digits[p[i] & 15];
    }
    dst[2 * n] = '\0';
}

/* ------------------------------------------------------------ decoding */

struct ix_worker {
    struct ix_shared *sh;
    struct st_buf scratch;
    struct st_buf fmt;          /* the printer's text, before safe_text */
    struct tp_options popt;
    struct tp_fdtab fdtab;
    struct ix_batch *cur;       /* the batch being filled */
    struct ix_job job;
};

/* The run's summary, gathered while reading. */
struct ix_acc {
    struct ix_run_end end;
    int violation;
    char limits[IX_LIMITS_MAX][32];
    size_t nlimits;
    char reason[512];
    char limits_text[IX_LIMITS_MAX * 33];
    char damage[512];
};

static int send_current(struct ix_worker *w)
{
    if (!w->cur)
        return 0;
    queue_push(w->sh, w->cur);
    w->cur = NULL;
    return w->sh->failed ? -1 : 0;
}

static int ensure_batch(struct ix_worker *w)
{
    if (w->cur)
        return 0;
    w->cur = batch_new(IXB_ROWS, NULL);
    if (!w->cur)
        return -1;
    w->cur->run_id = w->job.run_id;
    return 0;
}

/* How a path argument of a call touched the file (docs/index.md). */
static const char *path_how(const struct tc_call *c, int refused)
{
    if (refused)
        return "refused";
    switch (c->reg->id) {
    case ST_SIG_open: case ST_SIG_openat: {
        uint64_t flags = 0;
        for (size_t i = 0; i < c->nargs; i++)
            if (c->reg->args[i] == ST_ARG_OPEN_FLAGS)
                flags = c->args[i];
        return flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND) ? "written" : "opened";
    }
    case ST_SIG_opendir:
        return "listed";
    case ST_SIG_stat64: case ST_SIG_lstat64: case ST_SIG_fstatat64: case ST_SIG_access:
    case ST_SIG_faccessat: case ST_SIG_readlink: case ST_SIG_readlinkat: case ST_SIG_getxattr:
    case ST_SIG_lgetxattr: case ST_SIG_listxattr: case ST_SIG_llistxattr: case ST_SIG_pathconf:
    case ST_SIG_statvfs:
        return "stat";
    case ST_SIG_chdir: case ST_SIG_chroot:
        return "other";
    default:
        return "written"; /* mkdir, unlink, rename, chmod...: they change the tree */
    }
}

static int is_refusal_errno(int32_t e)
{
    return e == EACCES || e == EPERM || e == EROFS;
}

/* The paths of a file-class call: each string argument, with the string
 * the controller read (Z), joined to its directory fd's path for the *at
 * calls when that is known. 0, or 1 when the batch is full. */
static int add_paths(struct ix_worker *w, const struct tc_call *c, const char *call_name)
{
    if (!c->reg || c->reg->cls != ST_CLASS_FILE)
        return 0;
    int failed = tc_call_failed(c);
    int refused = c->reg->action == ST_ACT_REFUSED || (failed && c->has_errno && is_refusal_errno(c->err));
    const char *how = path_how(c, refused);
    int dirfd_arg = -1;
    for (size_t i = 0; i < c->nargs; i++) {
        if (c->reg->args[i] == ST_ARG_DIRFD) {
            dirfd_arg = (int)i;
            continue;
        }
        if (c->reg->args[i] != ST_ARG_STR || !c->args[i])
            continue;
        unsigned nth = 0; /* rename("a", "a") reads the same address twice */
        for (size_t j = 0; j < i; j++)
            if (c->reg->args[j] == ST_ARG_STR && c->args[j] == c->args[i])
                nth++;
        const struct tc_mem *m = tc_call_find(c, TRACE_EV_MEM_READ_STR, c->args[i], nth);
        int dirfd = dirfd_arg;
        dirfd_arg = -1;
        if (!m)
            continue;
        if (w->cur->npaths >= IX_BATCH_PATHS)
            return 1;
        size_t len = m->kept < IX_PATH_MAX ? m->kept : IX_PATH_MAX;
        int64_t fd = dirfd >= 0 ? (int64_t)c->args[dirfd] : -100;
        if (len && m->data[0] != '/' && fd != -100 && fd >= 0 && fd < TP_FDTAB_MAX && w->fdtab.path[fd]) {
            safe_str(&w->scratch, w->fdtab.path[fd]);
            st_buf_puts(&w->scratch, "/");
        }
        safe_text(&w->scratch, m->data, len);
        if (m->kept < m->len)
            st_buf_puts(&w->scratch, "...");
        const char *p = take(w->cur, &w->scratch);
        if (!p)
            return 1;
        struct ix_path_row *row = &w->cur->paths[w->cur->npaths++];
        row->seq = c->seq;
        row->path = p;
        row->how = how;
        row->call = call_name;
        row->ok = c->finished && !failed;
    }
    return 0;
}

/* One call into the current batch: 0, 1 when the batch is full (nothing
 * added: send it and try again), -1 out of memory. */
static int add_call(struct ix_worker *w, const struct tc_call *c)
{
    struct ix_batch *b = w->cur;
    if (b->ncalls >= IX_BATCH_CALLS)
        return 1;
    size_t used = b->used, npaths = b->npaths;
    struct ix_call_row *r = &b->calls[b->ncalls];
    memset(r, 0, sizeof *r);
    r->seq = c->seq;
    r->time_ns = c->time_ns;
    r->duration_ns = c->finished && c->end_time_ns >= c->time_ns ? c->end_time_ns - c->time_ns : 0;
    r->cls = c->reg ? st_sig_class_name(c->reg->cls) : NULL;
    r->finished = c->finished;
    r->failed = tc_call_failed(c);
    r->result_kind = c->finished ? c->result_kind : 0;
    r->result = c->result;
    r->has_errno = c->has_errno;
    r->err = c->err;
    r->errno_name = c->has_errno ? tp_errno_name(c->err) : NULL;
    r->bytes_in = c->bytes_to_guest;
    r->bytes_out = c->bytes_from_guest;
    safe_str(&w->scratch, c->name);
    if (!(r->name = take(b, &w->scratch)))
        goto full;
    safe_str(&w->scratch, c->sig);
    if (!(r->sig = take(b, &w->scratch)))
        goto full;
    /* The printer escapes what it shows; safe_text makes it valid UTF-8
     * whatever the bytes were. */
    struct st_buf *t = &w->fmt;
    st_buf_reset(t);
    tp_format_call_args(t, c, &w->popt);
    if (c->mem_dropped)
        st_buf_addf(t, " /* %" PRIu64 " more memory commands not kept */", c->mem_dropped);
    safe_text_esc(&w->scratch, (const uint8_t *)t->data, t->len, 0);
    w->scratch.overflow |= t->overflow;
    if (!(r->args = take(b, &w->scratch)))
        goto full;
    if (c->finished) {
        st_buf_reset(t);
        tp_format_call_result(t, c, &w->popt);
        safe_text_esc(&w->scratch, (const uint8_t *)t->data, t->len, 0);
        w->scratch.overflow |= t->overflow;
        if (!(r->result_text = take(b, &w->scratch)))
            goto full;
    }
    if (add_paths(w, c, r->name))
        goto full;
    b->ncalls++;
    return 0;
full:
    st_buf_reset(&w->scratch);
    b->used = used;
    b->npaths = npaths;
    if (b->ncalls == 0 && npaths == 0)
        return -1; /* one call larger than a whole batch: cannot happen with the caps above */
    return 1;
}

static void note_event(struct ix_acc *a, const struct trace_event *ev)
{
    switch (ev->kind) {
    case TRACE_EV_GUEST_EXIT:
        a->end.has_exit = 1;
        a->end.exit_code = ev->guest_exit.code;
        a->end.signal = ev->guest_exit.signal;
        snprintf(a->reason, sizeof a->reason, "%s", ev->guest_exit.reason ? ev->guest_exit.reason : "");
        break;
    case TRACE_EV_LIMIT: {
        const char *n = ev->limit.name ? ev->limit.name : "?";
        for (size_t i = 0; i < a->nlimits; i++)
            if (!strncmp(a->limits[i], n, sizeof a->limits[i] - 1))
                return;
        if (a->nlimits < IX_LIMITS_MAX)
            snprintf(a->limits[a->nlimits++], sizeof a->limits[0], "%s", n);
        break;
    }
    case TRACE_EV_VIOLATION:
        a->violation = 1;
        break;
    case TRACE_EV_GUEST_STDERR:
        a->end.stderr_bytes += ev->guest_stderr.len;
        break;
    default:
        break;
    }
}

static int starts(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* The run's status, in the words of `run --outcome` (controller/session.h),
 * from the recorded end: its reason text first (the controller wrote it
 * from the status), then the limits and the exit itself. */
static const char *run_status(const struct ix_acc *a)
{
    static const struct { const char *limit, *status; } limits[] = {
        { "timeout", "timeout" }, { "cpu", "cpu" }, { "memory", "memory" },
        { "output", "output" }, { "calls", "max-calls" }, { "max-calls", "max-calls" },
        { "interrupted", "interrupted" },
    };
    if (!a->end.has_exit)
        return "unfinished";
    const char *r = a->reason;
    if (starts(r, "killed by the seccomp jail"))
        return "seccomp";
    if (starts(r, "protocol violation"))
        return "violation";
    if (starts(r, "called '"))
        return "unknown-call";
    if (starts(r, "timeout after"))
        return "timeout";
    if (starts(r, "cpu limit"))
        return "cpu";
    if (starts(r, "died of signal") && strstr(r, "memory limit"))
        return "memory";
    if (starts(r, "output limit"))
        return "output";
    if (starts(r, "more than ") && strstr(r, " calls"))
        return "max-calls";
    if (starts(r, "interrupted by signal") && a->nlimits)
        return "interrupted"; /* recorded as such (older traces: status error) */
    if (starts(r, "interrupted by signal") || starts(r, "cannot execute") || starts(r, "cannot start"))
        return "error";
    for (size_t i = 0; i < a->nlimits; i++)
        for (size_t k = 0; k < sizeof limits / sizeof limits[0]; k++)
            if (!strcmp(a->limits[i], limits[k].limit))
                return limits[k].status;
    if (a->violation)
        return "violation";
    if (a->end.signal)
        return "signaled";
    if (a->end.exit_code >= 0)
        return "exited";
    return "error";
}

/* The BEGIN batch: the header's fields, made safe. 0 or -1 (memory). */
static int build_head(struct ix_worker *w, struct ix_batch *b, const char *path, const char *hash,
                      uint64_t size, const struct trace_header *h)
{
    struct st_buf *s = &w->scratch;
    struct ix_run_head *rh = &b->head;
    rh->trace_bytes = size;
    rh->exe_size = h->guest_exe_size;
    rh->started_unix_ns = h->created_unix_ns;
    safe_str(s, path);
    rh->trace_path = take(b, s);
    rh->trace_hash = arena_add(b, hash, strlen(hash));
    safe_str(s, h->guest_exe_path ? h->guest_exe_path : "");
    rh->exe_path = take(b, s);
    if (h->guest_exe_hash_set) {
        char x[2 * TRACE_HASH_BYTES + 1];
        hex(x, h->guest_exe_blake2b, TRACE_HASH_BYTES);
        rh->exe_hash = arena_add(b, x, strlen(x));
    }
    /* argv and policy as JSON (tcli_json_str: bytes as ISO-8859-1, exact). */
    struct st_buf j;
    st_buf_init(&j, IX_TEXT_MAX);
    st_buf_puts(&j, "[");
    for (size_t i = 0; i < h->guest_argc; i++) {
        if (i)
            st_buf_puts(&j, ",");
        const char *a = h->guest_argv[i] ? h->guest_argv[i] : "";
        tcli_json_str(&j, a, strlen(a));
    }
    st_buf_puts(&j, "]");
    rh->argv_json = j.overflow ? arena_add(b, "[\"...\"]", 7) : arena_add(b, j.data, j.len);
    st_buf_reset(&j);
    st_buf_puts(&j, "[");
    for (size_t i = 0; i < h->policy_count; i++) {
        const char *k = h->policy[i].key ? h->policy[i].key : "";
        const char *v = h->policy[i].value ? h->policy[i].value : "";
        st_buf_puts(&j, i ? ",[" : "[");
        tcli_json_str(&j, k, strlen(k));
        st_buf_puts(&j, ",");
        tcli_json_str(&j, v, strlen(v));
        st_buf_puts(&j, "]");
        if (b->npolicy < IX_POLICY_MAX) {
            safe_str(s, k);
            const char *sk = take(b, s);
            safe_str(s, v);
            const char *sv = take(b, s);
            if (sk && sv) {
                b->pkey[b->npolicy] = sk;
                b->pval[b->npolicy] = sv;
                b->npolicy++;
            }
        }
    }
    st_buf_puts(&j, "]");
    rh->policy_json = j.overflow ? arena_add(b, "[]", 2) : arena_add(b, j.data, j.len);
    st_buf_release(&j);
    safe_str(s, h->writer_version);
    rh->writer_version = take(b, s);
    safe_str(s, h->host_arch);
    rh->host_arch = take(b, s);
    if (h->created_unix_ns > 0) {
        time_t secs = (time_t)(h->created_unix_ns / 1000000000);
        struct tm tm;
        char when[64];
        if (gmtime_r(&secs, &tm) && tm.tm_year + 1900 <= 9999) {
            size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
            snprintf(when + n, sizeof when - n, ".%06dZ", (int)(h->created_unix_ns % 1000000000 / 1000));
            rh->started_at = arena_add(b, when, strlen(when));
        }
    }
    if (!rh->trace_path || !rh->trace_hash || !rh->exe_path || !rh->argv_json || !rh->policy_json)
        return -1;
    return 0;
}

static void say(struct ix_shared *sh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct ix_shared *sh, const char *fmt, ...)
{
    (void)sh;
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fputs(line, stderr); /* one call: lines of two workers never mix */
}

static void count(struct ix_shared *sh, uint64_t *field)
{
    pthread_mutex_lock(&sh->mu);
    (*field)++;
    pthread_mutex_unlock(&sh->mu);
}

/* Is a reader's open error a damaged trace (rather than one that cannot be
 * read at all, or is not a trace)? */
static int damaged_error(int rc)
{
    return rc == TRACE_E_TRUNCATED || rc == TRACE_E_CHECKSUM || rc == TRACE_E_CORRUPT ||
           rc == TRACE_E_CHAIN || rc == TRACE_E_INDEX || rc == TRACE_E_LIMIT || rc == TRACE_E_COMPRESS;
}

/* Hashes and opens `path`: its reader, or NULL after saying why (and
 * counting it unreadable, or damaged when its header is). */
static struct trace_reader *open_one(struct ix_shared *sh, const char *path, const char *shown,
                                     char hash[2 * TRACE_HASH_BYTES + 1], uint64_t *size)
{
    uint8_t digest[TRACE_HASH_BYTES];
    struct trace_reader *r = NULL;
    struct trace_io *io = NULL;
    char msg[256] = "";
    struct stat st;
    int rc = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? (errno = EISDIR, TRACE_E_IO)
                                                         : trace_hash_file(path, digest, size);
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s", rc == TRACE_E_IO && errno ? strerror(errno) : trace_strerror(rc));
    } else if ((rc = trace_io_open_file(path, TRACE_IO_READ, &io)) < 0) {
        snprintf(msg, sizeof msg, "%s", rc == TRACE_E_IO && io && io->last_errno ? strerror(io->last_errno)
                                                                                 : trace_strerror(rc));
        trace_io_free(io);
    } else {
        struct trace_reader_options o = { .recover = 0, .key = NULL };
        rc = trace_reader_open(&r, io, 1, &o, msg, sizeof msg); /* frees io on failure */
        if (rc < 0 && !*msg)
            snprintf(msg, sizeof msg, "%s", trace_strerror(rc));
    }
    if (rc < 0) {
        say(sh, "sandtrace index: cannot read trace '%s': %s\n", shown, msg);
        count(sh, damaged_error(rc) ? &sh->damaged : &sh->unreadable);
        return NULL;
    }
    hex(hash, digest, sizeof digest);
    return r;
}

/* Sends the run's header to the writer and waits for its word (a trace
 * already indexed is not decoded): the VERDICT_*. */
static int begin_run(struct ix_worker *w, struct trace_reader *r, const char *path, const char *shown,
                     const char *hash, uint64_t size)
{
    struct ix_shared *sh = w->sh;
    memset(&w->job, 0, sizeof w->job);
    struct ix_batch *begin = batch_new(IXB_BEGIN, &w->job);
    if (!begin || build_head(w, begin, path, hash, size, trace_reader_header(r)) < 0) {
        say(sh, "sandtrace index: out of memory reading trace '%s'\n", shown);
        batch_free(begin);
        count(sh, &sh->unreadable);
        return VERDICT_FAIL;
    }
    queue_push(sh, begin);
    pthread_mutex_lock(&sh->mu);
    while (w->job.verdict == VERDICT_PENDING)
        pthread_cond_wait(&sh->verdict_cv, &sh->mu);
    int verdict = w->job.verdict;
    if (verdict == VERDICT_SKIP)
        sh->skipped++;
    pthread_mutex_unlock(&sh->mu);
    if (verdict == VERDICT_SKIP && sh->verbose)
        say(sh, "sandtrace index: '%s' is already indexed\n", shown);
    return verdict;
}

/* One call into the batches and the run's counts: 0, or -1 out of memory. */
static int index_call(struct ix_worker *w, struct ix_acc *acc, const struct tc_call *c)
{
    acc->end.calls++;
    acc->end.failed_calls += tc_call_failed(c) ? 1 : 0;
    acc->end.refused_calls += c->reg && c->reg->action == ST_ACT_REFUSED ? 1 : 0;
    acc->end.unknown_calls += c->reg ? 0 : 1;
    acc->end.unfinished_calls += c->finished ? 0 : 1;
    int added;
    while ((added = ensure_batch(w) < 0 ? -1 : add_call(w, c)) == 1)
        if (send_current(w) < 0)
            break;
    if (added < 0)
        return -1;
    tp_fdtab_update(&w->fdtab, c);
    return 0;
}

/* Decodes every call of the trace into batches: 0, or -1 when the run
 * stays incomplete (out of memory, or the database failed). */
static int decode_run(struct ix_worker *w, struct trace_reader *r, struct ix_acc *acc, const char *shown)
{
    struct ix_shared *sh = w->sh;
    struct tc_source src;
    int rc = tc_source_init(&src, r, 0, UINT64_MAX);
    int oom = rc == TRACE_E_NOMEM;
    struct tc_item it;
    tp_fdtab_release(&w->fdtab);
    while (rc >= 0 && !sh->failed && (rc = tc_source_next(&src, &it)) > 0) {
        if (it.kind == TC_ITEM_CALL && index_call(w, acc, &it.call) < 0)
            oom = 1;
        else if (it.kind == TC_ITEM_EVENT)
            note_event(acc, &it.ev);
        tc_item_release(&it);
        if (oom)
            break;
    }
    if (rc == TRACE_E_NOMEM)
        oom = 1;
    if (rc < 0 && !oom) {
        acc->end.damaged = 1;
        const char *m = trace_reader_error_message(r);
        snprintf(acc->damage, sizeof acc->damage, "%s at offset %" PRIu64 ": %s",
                 rc == TRACE_E_TRUNCATED ? "truncated" : "damaged", trace_reader_error_offset(r),
                 m && *m ? m : trace_strerror(rc));
        say(sh, "sandtrace index: trace '%s' is %s (indexed up to there)\n", shown, acc->damage);
    }
    tc_source_release(&src);
    if (send_current(w) < 0 || sh->failed || oom) {
        if (oom)
            say(sh, "sandtrace index: out of memory indexing trace '%s'; it stays incomplete\n", shown);
        return -1;
    }
    return 0;
}

/* The run's end (its status, counts, damage) to the writer. */
static void end_run(struct ix_worker *w, struct trace_reader *r, struct ix_acc *acc, const char *shown)
{
    struct ix_shared *sh = w->sh;
    struct trace_reader_stats st;
    trace_reader_stats(r, &st);
    struct ix_batch *end = batch_new(IXB_END, NULL);
    if (!end)
        return;
    end->run_id = w->job.run_id;
    end->end = acc->end;
    end->end.events = st.events;
    end->end.duration_ns = st.last_time_ns;
    end->end.status = run_status(acc);
    struct st_buf *s = &w->scratch;
    if (acc->end.has_exit) {
        safe_str(s, acc->reason);
        end->end.reason = take(end, s);
    }
    for (size_t i = 0; i < acc->nlimits; i++) {
        if (i)
            st_buf_puts(s, ",");
        safe_str(s, acc->limits[i]);
    }
    end->end.limits_hit = acc->nlimits ? take(end, s) : NULL;
    st_buf_reset(s);
    if (acc->end.damaged) {
        safe_str(s, acc->damage);
        end->end.damage = take(end, s);
        count(sh, &sh->damaged);
    }
    pthread_mutex_lock(&sh->mu);
    sh->indexed++;
    sh->calls += acc->end.calls;
    pthread_mutex_unlock(&sh->mu);
    if (sh->verbose)
        say(sh, "sandtrace index: '%s': %" PRIu64 " call%s, %s\n", shown, acc->end.calls,
            acc->end.calls == 1 ? "" : "s", end->end.status);
    queue_push(sh, end);
}

/* Indexes one trace. */
static void index_one(struct ix_worker *w, const char *path)
{
    struct st_buf shown;
    st_buf_init(&shown, 1024);
    tp_format_text(&shown, path); /* a file name on a terminal: escaped */
    char hash[2 * TRACE_HASH_BYTES + 1];
    uint64_t size = 0;
    struct trace_reader *r = open_one(w->sh, path, shown.data, hash, &size);
    if (r && begin_run(w, r, path, shown.data, hash, size) == VERDICT_GO) {
        struct ix_acc *acc = calloc(1, sizeof *acc);
        if (!acc)
            say(w->sh, "sandtrace index: out of memory indexing trace '%s'; it stays incomplete\n",
                shown.data);
        else if (decode_run(w, r, acc, shown.data) == 0)
            end_run(w, r, acc, shown.data);
        free(acc);
    }
    trace_reader_free(r);
    st_buf_release(&shown);
}

static void *worker_main(void *arg)
{
    struct ix_worker *w = arg;
    struct ix_shared *sh = w->sh;
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        size_t i = sh->next < sh->list->n && !sh->failed ? sh->next++ : SIZE_MAX;
        pthread_mutex_unlock(&sh->mu);
        if (i == SIZE_MAX)
            break;
        index_one(w, sh->list->paths[i]);
    }
    return NULL;
}

/* ------------------------------------------------------------ the writer */

struct ix_writer {
    struct ix_shared *sh;
    struct ix_db *db;
    int64_t active[IX_JOBS_MAX]; /* runs being indexed by this process */
    size_t nactive;
    uint64_t rows;               /* since the last commit */
};

static void set_verdict(struct ix_shared *sh, struct ix_job *job, int v)
{
    pthread_mutex_lock(&sh->mu);
    job->verdict = v;
    pthread_cond_broadcast(&sh->verdict_cv);
    pthread_mutex_unlock(&sh->mu);
}

static void writer_fail(struct ix_writer *wr)
{
    struct ix_shared *sh = wr->sh;
    pthread_mutex_lock(&sh->mu);
    if (!sh->failed)
        snprintf(sh->db_error, sizeof sh->db_error, "%s", ix_db_error(wr->db));
    sh->failed = 1;
    pthread_cond_broadcast(&sh->not_full);
    pthread_cond_broadcast(&sh->verdict_cv);
    pthread_mutex_unlock(&sh->mu);
}

static int handle_begin(struct ix_writer *wr, struct ix_batch *b)
{
    int64_t id;
    int complete;
    if (ix_db_run_find(wr->db, b->head.trace_hash, &id, &complete) < 0)
        return -1;
    if (id) {
        int busy = complete;
        for (size_t i = 0; i < wr->nactive; i++)
            busy |= wr->active[i] == id; /* the same bytes twice in this invocation */
        if (busy) {
            set_verdict(wr->sh, b->job, VERDICT_SKIP);
            return 0;
        }
        /* Left incomplete by an indexer that was stopped: indexed again. */
        if (ix_db_run_delete(wr->db, id) < 0)
            return -1;
    }
    if (ix_db_run_insert(wr->db, &b->head, &id) < 0)
        return -1;
    for (size_t i = 0; i < b->npolicy; i++)
        if (ix_db_policy_insert(wr->db, id, b->pkey[i], b->pval[i]) < 0)
            return -1;
    b->job->run_id = id;
    if (wr->nactive < IX_JOBS_MAX)
        wr->active[wr->nactive++] = id;
    wr->rows += 1 + b->npolicy;
    set_verdict(wr->sh, b->job, VERDICT_GO);
    return 0;
}

static int handle_batch(struct ix_writer *wr, struct ix_batch *b)
{
    if (ix_db_begin(wr->db) < 0)
        return -1;
    switch (b->kind) {
    case IXB_BEGIN:
        return handle_begin(wr, b);
    case IXB_ROWS:
        for (size_t i = 0; i < b->ncalls; i++)
            if (ix_db_call_insert(wr->db, b->run_id, &b->calls[i]) < 0)
                return -1;
        for (size_t i = 0; i < b->npaths; i++)
            if (ix_db_path_insert(wr->db, b->run_id, &b->paths[i]) < 0)
                return -1;
        wr->rows += b->ncalls + b->npaths;
        return 0;
    case IXB_END:
        if (ix_db_run_finish(wr->db, b->run_id, &b->end) < 0)
            return -1;
        for (size_t i = 0; i < wr->nactive; i++)
            if (wr->active[i] == b->run_id) {
                wr->active[i] = wr->active[--wr->nactive];
                break;
            }
        wr->rows++;
        return 0;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct ix_writer *wr = arg;
    struct ix_shared *sh = wr->sh;
    for (;;) {
        /* Commit whenever the workers let the queue run dry (a group
         * commit), or after IX_COMMIT_ROWS rows. */
        struct ix_batch *b = queue_pop(sh, !ix_db_in_transaction(wr->db));
        if (!b) {
            if (ix_db_in_transaction(wr->db)) {
                if (ix_db_commit(wr->db) < 0)
                    writer_fail(wr);
                wr->rows = 0;
                continue;
            }
            if (queue_drained(sh))
                break;
            continue;
        }
        if (sh->failed) {
            if (b->kind == IXB_BEGIN)
                set_verdict(sh, b->job, VERDICT_FAIL);
        } else if (handle_batch(wr, b) < 0) {
            if (b->kind == IXB_BEGIN)
                set_verdict(sh, b->job, VERDICT_FAIL);
            writer_fail(wr);
        } else if (wr->rows >= IX_COMMIT_ROWS) {
            if (ix_db_commit(wr->db) < 0)
                writer_fail(wr);
            wr->rows = 0;
        }
        batch_free(b);
    }
    return NULL;
}

/* ------------------------------------------------------------ main */

static void index_usage(FILE *f)
{
    fprintf(f,
            "usage: sandtrace index [OPTIONS] -o DB TRACE|DIR...\n"
            "       sandtrace index --merge -o DB SHARD.db...\n"
            "\n"
            "Add traces to an SQLite audit database DB (created if needed): one row per\n"
            "run in `runs` (trace and executable with their hashes, argv, policy, start\n"
            "time, status, exit, limits hit, counts, duration), one per call in `calls`\n"
            "(name, class, decoded arguments, result, errno, duration), one per path the\n"
            "guest named in `paths` (how: opened, written, stat, listed, refused, other)\n"
            "and the policy in `policy`. A DIR stands for the *.sbt files in it. A trace\n"
            "already in DB (the same bytes, by BLAKE2b hash) is skipped, so indexing is\n"
            "incremental; a damaged or truncated trace is indexed up to the damage and\n"
            "marked damaged. docs/index.md describes the schema and example queries.\n"
            "Options may come before or after the traces; `--` ends them.\n"
            "\n"
            "options:\n"
            "  -o, --output DB   the database (required; never one of the traces)\n"
            "  -j, --jobs N      decode N traces at once (default: the number of CPUs,\n"
            "                    at most 32); one writer thread inserts. index has no\n"
            "                    JSON output: -j means jobs, as for replay\n"
            "  -s N              keep at most N bytes of each string or buffer shown in\n"
            "                    the decoded arguments (default 256); paths are kept whole\n"
            "                    up to 4096 bytes\n"
            "  --merge           the arguments are audit databases (shards): add their runs\n"
            "                    that DB lacks\n"
            "  -v, --verbose     a line per trace\n"
            "  -q, --quiet       no summary line\n"
            "  -h, --help        this help\n"
            "\n"
            "exit status:\n"
            "  0     every trace indexed (or already there)\n"
            "  2     bad command line\n"
            "  4     a trace (or a --merge shard) cannot be read or is not one: not indexed\n"
            "  5     a trace is damaged or cut short: indexed up to there\n"
            "  6     the database cannot be opened or written, or the summary cannot be\n"
            "        written to stdout\n");
}

/* What the command line says. */
struct index_args {
    const char *out;
    size_t jobs, strsize;
    int merge, verbose, quiet;
    char **inputs;
    int ninputs;
};

enum { IO_OUT = 256, IO_JOBS, IO_SIZE, IO_MERGE, IO_VERBOSE, IO_QUIET, IO_HELP };

static const struct opt_spec index_specs[] = {
    { IO_OUT, 'o', "output", OPT_REQ },
    { IO_JOBS, 'j', "jobs", OPT_NUM },
    { IO_SIZE, 's', NULL, OPT_NUM },
    { IO_MERGE, 0, "merge", OPT_NONE },
    { IO_VERBOSE, 'v', "verbose", OPT_NONE },
    { IO_QUIET, 'q', "quiet", OPT_NONE },
    { IO_HELP, 'h', "help", OPT_NONE },
    OPT_SPEC_END,
};

/* Parses argv into `a`: -1 to go on, else the exit status (help, usage). */
static int index_parse(int argc, char **argv, struct index_args *a, struct opt_parser *p)
{
    memset(a, 0, sizeof *a);
    a->strsize = 256;
    opt_init(p, "index", index_specs, argc, argv, 0);
    for (int id; (id = opt_next(p)) != OPT_DONE;) {
        switch (id) {
        case OPT_ERROR:
            return ST_EXIT_USAGE;
        case IO_HELP:
            index_usage(stdout);
            return fflush(stdout) == 0 && !ferror(stdout) ? ST_EXIT_OK : ST_EXIT_OUTPUT;
        case IO_OUT: a->out = p->arg; break;
        case IO_JOBS:
            if (tcli_parse_size(p->arg, &a->jobs) < 0 || a->jobs < 1 || a->jobs > IX_JOBS_MAX)
                return opt_usage(p, "option '%s' needs a number of jobs from 1 to %d, not '%s'", p->name,
                                 IX_JOBS_MAX, p->arg);
            break;
        case IO_SIZE:
            if (tcli_parse_size(p->arg, &a->strsize) < 0 || a->strsize > IX_TEXT_MAX)
                return opt_bad_value(p, "bad string size");
            break;
        case IO_MERGE: a->merge = 1; break;
        case IO_VERBOSE: a->verbose = 1; break;
        case IO_QUIET: a->quiet = 1; break;
        }
    }
    a->inputs = p->operands;
    a->ninputs = p->noperands;
    if (!a->out)
        return opt_usage(p, "no database given (-o DB)");
    if (a->ninputs == 0)
        return opt_usage(p, a->merge ? "no shard given" : "no trace given");
    return -1;
}

/* The database is never one of the inputs (`index -o t.sbt t.sbt`). */
static int index_same_file(const struct opt_parser *p, const struct index_args *a)
{
    struct stat os, is;
    if (stat(a->out, &os) != 0)
        return 0;
    for (int i = 0; i < a->ninputs; i++)
        if (stat(a->inputs[i], &is) == 0 && is.st_dev == os.st_dev && is.st_ino == os.st_ino)
            return opt_usage(p, "the database '%s' is the input '%s': refusing to write into it", a->out,
                             a->inputs[i]);
    return 0;
}

/* Prints the summary line on stdout: 0, or ST_EXIT_OUTPUT after saying so. */
static int index_summary(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int index_summary(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int bad = vprintf(fmt, ap) < 0;
    va_end(ap);
    if (fflush(stdout) != 0 || bad || ferror(stdout)) {
        fprintf(stderr, "sandtrace index: cannot write to standard output: %s\n",
                strerror(errno ? errno : EIO));
        return ST_EXIT_OUTPUT;
    }
    return 0;
}

static int index_merge(const struct index_args *a)
{
    /* ATTACH would create a missing shard: say it is missing instead. */
    for (int i = 0; i < a->ninputs; i++) {
        if (access(a->inputs[i], R_OK) != 0) {
            fprintf(stderr, "sandtrace index: cannot open database '%s': %s\n", a->inputs[i],
                    strerror(errno));
            return ST_EXIT_UNREADABLE;
        }
    }
    struct ix_db *db;
    char err[600];
    if (ix_db_open(&db, a->out, err, sizeof err) < 0) {
        fprintf(stderr, "sandtrace index: %s\n", err);
        return ST_EXIT_OUTPUT;
    }
    uint64_t added = 0, skipped = 0;
    for (int i = 0; i < a->ninputs; i++) {
        uint64_t n, s;
        int rc = ix_db_merge(db, a->inputs[i], &n, &s);
        if (rc < 0) {
            fprintf(stderr, "sandtrace index: cannot merge '%s': %s\n", a->inputs[i], ix_db_error(db));
            ix_db_close(db);
            return rc == IX_E_SQL ? ST_EXIT_OUTPUT : ST_EXIT_UNREADABLE;
        }
        added += n;
        skipped += s;
    }
    ix_db_close(db);
    if (a->quiet)
        return ST_EXIT_OK;
    return index_summary("sandtrace index: merged %d database%s: %" PRIu64 " run%s added, %" PRIu64
                         " already present\n", a->ninputs, a->ninputs == 1 ? "" : "s", added,
                         added == 1 ? "" : "s", skipped);
}

/* The workers and the writer over `list` into `db`: fills sh's counts. */
static void index_run_threads(struct ix_shared *sh, struct ix_db *db, size_t jobs, size_t strsize)
{
    struct ix_writer wr = { .sh = sh, .db = db };
    struct ix_worker *ws = calloc(jobs, sizeof *ws);
    pthread_t *tids = calloc(jobs, sizeof *tids);
    pthread_t wtid;
    if (!ws || !tids || pthread_create(&wtid, NULL, writer_main, &wr) != 0) {
        sh->failed = 1;
        snprintf(sh->db_error, sizeof sh->db_error, "cannot start the writer thread");
        free(ws);
        free(tids);
        return;
    }
    size_t started = 0;
    for (size_t i = 0; i < jobs; i++) {
        ws[i].sh = sh;
        st_buf_init(&ws[i].scratch, IX_TEXT_MAX);
        st_buf_init(&ws[i].fmt, IX_TEXT_MAX);
        tp_options_init(&ws[i].popt);
        ws[i].popt.strsize = strsize;
        if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0)
            break;
        started++;
    }
    if (started == 0) /* no worker thread at all: this thread is the one */
        worker_main(&ws[0]);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_lock(&sh->mu);
    sh->closed = 1;
    pthread_cond_broadcast(&sh->not_empty);
    pthread_mutex_unlock(&sh->mu);
    pthread_join(wtid, NULL);
    if (!sh->failed && ix_db_commit(db) < 0) {
        sh->failed = 1;
        snprintf(sh->db_error, sizeof sh->db_error, "%s", ix_db_error(db));
    }
    for (size_t i = 0; i < jobs; i++) {
        st_buf_release(&ws[i].scratch);
        st_buf_release(&ws[i].fmt);
        tp_fdtab_release(&ws[i].fdtab);
        batch_free(ws[i].cur);
    }
    free(ws);
    free(tids);
}

static int index_traces(const struct index_args *a)
{
    struct corpus_list list = { 0 };
    for (int i = 0; i < a->ninputs; i++) {
        if (corpus_list_add(&list, a->inputs[i]) < 0) {
            fprintf(stderr, "sandtrace index: cannot list '%s': %s\n", a->inputs[i], strerror(errno));
            corpus_list_release(&list);
            return ST_EXIT_UNREADABLE;
        }
    }
    size_t jobs = a->jobs;
    if (!jobs) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        jobs = n > 0 ? (size_t)n : 1;
        if (jobs > 32)
            jobs = 32;
    }
    if (jobs > list.n && list.n > 0)
        jobs = list.n;
    struct ix_db *db;
    char err[600];
    if (ix_db_open(&db, a->out, err, sizeof err) < 0) {
        fprintf(stderr, "sandtrace index: %s\n", err);
        corpus_list_release(&list);
        return ST_EXIT_OUTPUT;
    }
    struct ix_shared sh;
    memset(&sh, 0, sizeof sh);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.not_empty, NULL);
    pthread_cond_init(&sh.not_full, NULL);
    pthread_cond_init(&sh.verdict_cv, NULL);
    sh.cap = 2 * jobs + 1;
    sh.list = &list;
    sh.strsize = a->strsize;
    sh.verbose = a->verbose;
    index_run_threads(&sh, db, jobs, a->strsize);
    ix_db_close(db);
    int status = ST_EXIT_OK;
    if (sh.failed) {
        fprintf(stderr, "sandtrace index: database '%s': %s\n", a->out, sh.db_error);
        status = ST_EXIT_OUTPUT;
    } else if (sh.unreadable) {
        status = ST_EXIT_UNREADABLE;
    } else if (sh.damaged) {
        status = ST_EXIT_DAMAGED;
    }
    int out = a->quiet ? 0
            : index_summary("sandtrace index: %zu trace%s: %" PRIu64 " indexed (%" PRIu64 " call%s), %" PRIu64
                            " already indexed, %" PRIu64 " damaged, %" PRIu64 " unreadable\n",
                            list.n, list.n == 1 ? "" : "s", sh.indexed, sh.calls, sh.calls == 1 ? "" : "s",
                            sh.skipped, sh.damaged, sh.unreadable);
    if (out && status == ST_EXIT_OK)
        status = out;
    corpus_list_release(&list);
    pthread_mutex_destroy(&sh.mu);
    pthread_cond_destroy(&sh.not_empty);
    pthread_cond_destroy(&sh.not_full);
    pthread_cond_destroy(&sh.verdict_cv);
    return status;
}

int cmd_index(int argc, char **argv)
{
    struct opt_parser p;
    struct index_args a;
    int status = index_parse(argc, argv, &a, &p);
    if (status < 0) {
        status = index_same_file(&p, &a);
        if (status == 0)
            status = a.merge ? index_merge(&a) : index_traces(&a);
    }
    opt_release(&p);
    return status;
}
