/* The replayer: the trace drives the guest, the live guest is checked
 * against it (see replayer.h for the matching rules). */
#include "replayer/replayer.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/st_buf.h"
#include "controller/observer.h"
#include "controller/registry.h"
#include "controller/guest_link.h"
#include "controller/jail.h"
#include "controller/session.h"
#include "controller/spawn.h"
#include "controller/wire.h"
#include "replayer/replay_map.h"

/* A Z reply is read into a buffer of at most this many bytes (or the
 * recorded string's length + 1 when larger): a longer live string is a
 * divergence that ends the replay (the stream is then out of step). */
#define RP_STR_CAP (1024u * 1024)
/* With keep_going, how many recorded requests ahead a resynchronisation looks. */
#define RP_RESYNC_WINDOW 64u
#define RP_DEFAULT_MAX_DIVERGENCES 100u

const char *rp_strerror(int err)
{
    switch (err) {
    case RP_OK: return "success";
    case RP_E_NOMEM: return "out of memory";
    case RP_E_TRACE: return "cannot read the trace";
    case RP_E_EXE: return "no executable to replay";
    case RP_E_SPAWN: return "cannot start the guest";
    case RP_E_IO: return "talking to the guest failed";
    case RP_E_INVALID: return "invalid argument";
    case RP_E_STATE: return "replay already ran";
    case RP_E_DAMAGED: return "the trace is damaged";
    case RP_E_KEY: return "the trace's key is missing or wrong";
    }
    return "unknown error";
}

const char *rp_div_kind_name(enum rp_div_kind kind)
{
    switch (kind) {
    case RP_DIV_SIGNATURE: return "signature";
    case RP_DIV_ARG: return "argument";
    case RP_DIV_POINTER: return "pointer";
    case RP_DIV_DATA: return "data";
    case RP_DIV_EXTRA_CALL: return "extra call";
    case RP_DIV_ENDED: return "guest ended";
    case RP_DIV_EXIT: return "exit status";
    case RP_DIV_PROTOCOL: return "protocol";
    case RP_DIV_DUMP: return "function list";
    }
    return "?";
}

void rp_config_init(struct rp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seccomp = 1;
    cfg->stop_at = RP_NO_STOP;
    cfg->max_divergences = RP_DEFAULT_MAX_DIVERGENCES;
}

struct rp_replay {
    struct rp_config cfg;
    struct trace_io *own_io;
    struct trace_reader *rd;
    const struct trace_header *hdr;
    char *exe;
    int ran;
    /* The live guest. */
    struct st_link link;        /* its process, jail and wire; its deadline */
    int spawned;
    struct st_wire_request live;
    /* The recorded side. */
    struct trace_event ev;      /* the current event (reader arena) */
    struct rp_map map;
    int paused;                 /* stop_at done */
    /* Scratch buffers. */
    uint8_t *buf;               /* live R/Z replies */
    size_t buf_cap;
    uint8_t *patch;             /* W/M payloads with relocated words */
    size_t patch_cap;
    uint8_t *pending_out;       /* a write(1|2)'s live data, shown at its result */
    size_t pending_len, pending_cap;
    int pending_fd;
    int pending_fd_last;        /* the fd of the last write shown */
    uint64_t output_total;      /* guest output shown so far (write(1|2) and real stderr) */
    uint64_t limit_value;       /* the value of the first LIMIT event */
    struct rp_result *res;
};

/* ------------------------------------------------------------ helpers */

static int grow(uint8_t **p, size_t *cap, size_t need)
{
    uint8_t *np = st_grow(*p, cap, need, 1, 4096, SIZE_MAX);
    if (!np)
        return RP_E_NOMEM;
    *p = np;
    return 0;
}

static uint64_t policy_u64(const struct trace_header *h, const char *key)
{
    const char *v = trace_header_policy(h, key);
    if (!v || !*v)
        return 0;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    return errno || *end ? 0 : (uint64_t)x;
}

/* The link's hook: the live guest's real stderr, to on_stderr. */
static void on_live_stderr(void *ctx, const void *data, size_t n)
{
    struct rp_replay *r = ctx;
    if (r->cfg.on_stderr)
        r->cfg.on_stderr(r->cfg.ctx, data, n);
}

/* ------------------------------------------------------- open and free */

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (!err || !cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* What a reader's open error means: the trace cannot be read at all, its
 * header is damaged, or the key is the problem. */
static int trace_open_error(int rc)
{
    switch (rc) {
    case TRACE_E_NOMEM:
        return RP_E_NOMEM;
    case TRACE_E_TRUNCATED: case TRACE_E_CHECKSUM: case TRACE_E_CORRUPT: case TRACE_E_CHAIN:
    case TRACE_E_INDEX: case TRACE_E_LIMIT: case TRACE_E_COMPRESS:
        return RP_E_DAMAGED;
    case TRACE_E_KEY_REQUIRED: case TRACE_E_WRONG_KEY: case TRACE_E_NOT_KEYED:
        return RP_E_KEY;
    default:
        return RP_E_TRACE; /* I/O, not a trace, an unknown version */
    }
}

/* Opens r->cfg's trace into r->rd: 0, or an RP_E_* with the message in err. */
static int open_trace(struct rp_replay *r, char *err, size_t err_cap)
{
    const struct rp_config *cfg = &r->cfg;
    const char *name = cfg->trace_path ? cfg->trace_path : "(stream)";
    struct trace_io *io = cfg->io;
    int own = 0;
    if (!io) {
        struct stat st;
        if (stat(cfg->trace_path, &st) == 0 && S_ISDIR(st.st_mode)) {
            set_err(err, err_cap, "cannot open trace '%s': %s", name, strerror(EISDIR));
            return RP_E_TRACE;
        }
        errno = 0;
        int rc = trace_io_open_file(cfg->trace_path, TRACE_IO_READ, &io);
        if (rc < 0) {
            int e = io ? io->last_errno : errno;
            set_err(err, err_cap, "cannot open trace '%s': %s", name,
                    rc == TRACE_E_IO && e ? strerror(e) : trace_strerror(rc));
            trace_io_free(io);
            return rc == TRACE_E_NOMEM ? RP_E_NOMEM : RP_E_TRACE;
        }
        own = 1;
    }
    struct trace_reader_options ro = { 0 };
    ro.key = cfg->key;
    char msg[256] = "";
    int rc = trace_reader_open(&r->rd, io, own, &ro, msg, sizeof msg);
    if (rc < 0) {
        set_err(err, err_cap, "cannot open trace '%s': %s", name, msg[0] ? msg : trace_strerror(rc));
        return trace_open_error(rc);
    }
    return 0;
}

int rp_replay_new(const struct rp_config *cfg, struct rp_replay **out, char *err, size_t err_cap)
{
    if (out)
        *out = NULL;
    if (err && err_cap)
        err[0] = '\0';
    if (!cfg || !out || (!cfg->trace_path && !cfg->io))
        return RP_E_INVALID;
    struct rp_replay *r = calloc(1, sizeof *r);
    if (!r)
        return RP_E_NOMEM;
    r->cfg = *cfg;
    if (!r->cfg.max_divergences)
        r->cfg.max_divergences = RP_DEFAULT_MAX_DIVERGENCES;
    r->link.child.pid = 0;
    r->link.child.to_guest = r->link.child.from_guest = r->link.child.err_fd = -1;
    rp_map_init(&r->map);
    const char *name = cfg->trace_path ? cfg->trace_path : "(stream)";
    int rc = open_trace(r, err, err_cap);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->hdr = trace_reader_header(r->rd);
    const char *exe = cfg->exe ? cfg->exe : r->hdr->guest_exe_path;
    if (!exe || !*exe) {
        set_err(err, err_cap, "trace '%s' names no guest executable: give one with --exe", name);
        rp_replay_free(r);
        return RP_E_EXE;
    }
    if (r->hdr->guest_argc == 0 || !r->hdr->guest_argv || !r->hdr->guest_argv[0]) {
        set_err(err, err_cap, "trace '%s' has no recorded argv", name);
        rp_replay_free(r);
        return RP_E_EXE;
    }
    r->exe = strdup(exe);
    if (!r->exe) {
        rp_replay_free(r);
        return RP_E_NOMEM;
    }
    struct stat st;
    if (stat(r->exe, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_err(err, err_cap, "cannot find guest executable '%s': %s%s", r->exe,
                stat(r->exe, &st) != 0 ? strerror(errno) : "not a regular file",
                cfg->exe ? "" : " (name one with --exe)");
        rp_replay_free(r);
        return RP_E_EXE;
    }
    *out = r;
    return 0;
}

const struct trace_header *rp_replay_header(const struct rp_replay *r)
{
    return r->hdr;
}

const char *rp_replay_exe(const struct rp_replay *r)
{
    return r->exe;
}

int rp_replay_exe_matches(const struct rp_replay *r)
{
    if (!r->hdr->guest_exe_hash_set)
        return -1;
    uint8_t h[TRACE_HASH_BYTES];
    if (trace_hash_file(r->exe, h, NULL) < 0)
        return -1;
    return memcmp(h, r->hdr->guest_exe_blake2b, TRACE_HASH_BYTES) == 0;
}

static void end_guest(struct rp_replay *r, int kill_it)
{
    if (!r->spawned || r->link.child.pid <= 0)
        return;
    if (kill_it)
        st_child_kill(&r->link.child, SIGKILL);
    st_child_wait(&r->link.child, 0);
    st_link_drain_stderr(&r->link);
    st_link_close(&r->link);
    r->spawned = 0;
}

void rp_replay_free(struct rp_replay *r)
{
    if (!r)
        return;
    end_guest(r, 1);
    trace_reader_free(r->rd);
    rp_map_release(&r->map);
    free(r->exe);
    free(r->buf);
    free(r->patch);
    free(r->pending_out);
    free(r);
}

/* ------------------------------------------------------ the recorded side */

/* Reads the next event into r->ev: 1, 0 at a clean end, or a TRACE_E_*. */
static int next_event(struct rp_replay *r)
{
    int rc = trace_reader_next(r->rd, &r->ev);
    if (rc < 0) {
        r->res->trace_error = rc;
        const char *m = trace_reader_error_message(r->rd);
        snprintf(r->res->message, sizeof r->res->message,
                 "the trace ends early after %llu events: %s",
                 (unsigned long long)r->res->events, m && *m ? m : trace_strerror(rc));
    }
    return rc;
}

static void report_event(struct rp_replay *r, const struct trace_event *ev)
{
    r->res->events++;
    if (r->cfg.on_event)
        r->cfg.on_event(r->cfg.ctx, ev);
}

/* Reads events up to the next one that drives the guest (a request, a
 * memory command, errno, a result, the exit), passing the others (stderr,
 * notes, limits, violations) to on_event. Same returns as next_event. */
static int next_driving_event(struct rp_replay *r)
{
    for (;;) {
        int rc = next_event(r);
        if (rc <= 0)
            return rc;
        switch (r->ev.kind) {
        case TRACE_EV_LIMIT:
            if (!r->res->recorded_limit[0] && r->ev.limit.name) {
                snprintf(r->res->recorded_limit, sizeof r->res->recorded_limit, "%s",
                         r->ev.limit.name);
                r->limit_value = r->ev.limit.value;
            }
            report_event(r, &r->ev);
            continue;
        case TRACE_EV_VIOLATION:
            r->res->recorded_violation = 1;
            report_event(r, &r->ev);
            continue;
        case TRACE_EV_GUEST_STDERR:
            /* The session counts the guest's real stderr as output too. */
            r->output_total += r->ev.guest_stderr.len;
            report_event(r, &r->ev);
            continue;
        case TRACE_EV_NOTE:
            report_event(r, &r->ev);
            continue;
        default:
            return 1;
        }
    }
}

/* --stop-at: pause once, before acting on the first event at or after N. */
static void maybe_pause(struct rp_replay *r, uint64_t seq)
{
    if (r->paused || r->cfg.stop_at == RP_NO_STOP || seq < r->cfg.stop_at)
        return;
    r->paused = 1;
    if (r->cfg.on_stop) {
        /* Deadlines do not run while the user looks at the guest. */
        double t0 = st_link_now();
        r->cfg.on_stop(r->cfg.ctx, r->link.child.pid, seq);
        if (r->link.deadline > 0)
            r->link.deadline += st_link_now() - t0;
    }
}

/* ------------------------------------------------------------ divergences */

/* Fills the common fields of a divergence. */
static void div_init(struct rp_replay *r, struct rp_divergence *d, enum rp_div_kind kind,
                     uint64_t seq, const struct trace_event *rec)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->seq = seq;
    d->request = r->res->requests;
    d->arg_index = -1;
    if (rec && rec->kind == TRACE_EV_REQUEST) {
        snprintf(d->expected_sig, sizeof d->expected_sig, "%s", rec->request.sig);
        d->expected_nargs = (unsigned)rec->request.nargs;
        memcpy(d->expected_args, rec->request.args, rec->request.nargs * 8);
    }
}

static void div_set_live(struct rp_replay *r, struct rp_divergence *d)
{
    snprintf(d->got_sig, sizeof d->got_sig, "%s", r->live.text);
    d->got_nargs = r->live.nargs;
    memcpy(d->got_args, r->live.args, r->live.nargs * 8u);
}

/* Reports `d`. Returns 1 to go on (keep_going and under the cap), else 0. */
static int diverge(struct rp_replay *r, struct rp_divergence *d)
{
    r->res->divergences++;
    if (r->cfg.on_divergence)
        r->cfg.on_divergence(r->cfg.ctx, d);
    return r->cfg.keep_going && r->res->divergences < r->cfg.max_divergences;
}

/* ------------------------------------------------------------ the live side */

/* What a stream error means for the replay, as a message. */
static void live_error_message(struct rp_replay *r, int rc, char *dst, size_t cap)
{
    if (rc == ST_E_TIMEOUT) {
        r->res->timed_out = 1;
        snprintf(dst, cap, "timeout after %g s waiting for the guest", r->cfg.timeout_seconds);
    }
    else if (rc == ST_E_EOF || rc == ST_E_TRUNCATED || rc == ST_E_IO)
        snprintf(dst, cap, "the guest's stream ended (%s)", st_error_name(rc));
    else
        snprintf(dst, cap, "protocol error from the guest: %s", st_error_name(rc));
}

/* Compares the live request with the recorded one (`rec`). Returns 0 when
 * they match (and learns the pointer arguments), or fills `d`. */
static int match_request(struct rp_replay *r, const struct trace_event *rec, struct rp_divergence *d)
{
    const struct st_wire_request *lv = &r->live;
    if (strcmp(lv->text, rec->request.sig) != 0 || lv->nargs != rec->request.nargs) {
        div_init(r, d, RP_DIV_SIGNATURE, rec->seq, rec);
        div_set_live(r, d);
        snprintf(d->message, sizeof d->message, "expected a call to %s, got %s",
                 rec->request.sig, lv->text);
        return -1;
    }
    for (unsigned i = 0; i < lv->nargs; i++) {
        uint64_t want = rec->request.args[i], got = lv->args[i];
        if (lv->arg_kinds[i] != 'p') {
            if (want != got) {
                div_init(r, d, RP_DIV_ARG, rec->seq, rec);
                div_set_live(r, d);
                d->arg_index = (int)i;
                snprintf(d->message, sizeof d->message,
                         "%s: argument %u is %lld, recorded %lld",
                         lv->text, i + 1, (long long)got,
                         (long long)want);
                return -1;
            }
            continue;
        }
        uint64_t block_live;
        const char *why = NULL;
        if ((want == 0) != (got == 0))
            why = want == 0 ? "is not NULL, recorded NULL" : "is NULL, recorded not NULL";
        else if (want != 0 && rp_map_in_block(&r->map, want, &block_live) && block_live != got)
            why = "is not the controller-allocated block it was";
        if (why) {
            div_init(r, d, RP_DIV_POINTER, rec->seq, rec);
            div_set_live(r, d);
            d->arg_index = (int)i;
            snprintf(d->message, sizeof d->message, "%s: pointer argument %u %s",
                     lv->text, i + 1, why);
            return -1;
        }
    }
    return 0;
}

/* Learns recorded -> live from the pointer arguments of a matched request. */
static void learn_args(struct rp_replay *r, const struct trace_event *rec)
{
    const struct st_sig *sig = st_registry_lookup(r->live.text, r->live.text_len);
    for (unsigned i = 0; i < r->live.nargs; i++) {
        if (r->live.arg_kinds[i] != 'p' || rec->request.args[i] == 0)
            continue;
        uint64_t tmp;
        if (rp_map_in_block(&r->map, rec->request.args[i], &tmp))
            continue; /* a controller block: already known exactly */
        rp_map_learn(&r->map, rec->request.args[i], r->live.args[i],
                     st_sig_arg_extent(sig, rec->request.args, r->live.nargs, i), RP_MAP_ARG);
    }
}

/* Answers the live request with a refusal (ENOSYS), for an extra call. */
static int refuse_live(struct rp_replay *r)
{
    int rc = st_link_errno(&r->link, ENOSYS);
    if (rc == 0)
        rc = st_link_result(&r->link, r->live.res_kind,
                            r->live.res_kind == 'p' ? 0 : (uint64_t)-1);
    r->res->requests++;
    return rc;
}

static int data_diverge(struct rp_replay *r, char op, uint64_t ptr, const uint8_t *want,
                        size_t wlen, const uint8_t *got, size_t glen)
{
    size_t n = wlen < glen ? wlen : glen, off = 0;
    while (off < n && want[off] == got[off])
        off++;
    if (off == n && wlen == glen)
        return 1;
    struct rp_divergence d;
    div_init(r, &d, RP_DIV_DATA, r->ev.seq, NULL);
    snprintf(d.expected_sig, sizeof d.expected_sig, "%s", r->live.text);
    snprintf(d.got_sig, sizeof d.got_sig, "%s", r->live.text);
    d.expected_nargs = d.got_nargs = r->live.nargs;
    memcpy(d.got_args, r->live.args, r->live.nargs * 8u);
    d.op = op;
    d.ptr = ptr;
    d.offset = off;
    d.expected_data = want;
    d.expected_len = wlen;
    d.got_data = got;
    d.got_len = glen;
    if (off < n)
        snprintf(d.message, sizeof d.message,
                 "%s: the %s read at offset %zu is 0x%02x, recorded 0x%02x",
                 r->live.text, op == 'Z' ? "string" : "data", off,
                 got[off], want[off]);
    else
        snprintf(d.message, sizeof d.message,
                 "%s: the %s read is %zu bytes long, recorded %zu",
                 r->live.text, op == 'Z' ? "string" : "data", glen,
                 wlen);
    return diverge(r, &d) ? 1 : 0;
}

/* Outcomes of answering one request. */
enum step {
    STEP_NEXT = 0,      /* go on with the next request */
    STEP_END = 1,       /* the recorded run ended here: r->res says how */
    STEP_STOP = 2,      /* stop (divergence, truncated trace, error): res set */
};

static int stop_with(struct rp_replay *r, enum rp_end end, const char *msg)
{
    r->res->end = end;
    if (msg)
        snprintf(r->res->message, sizeof r->res->message, "%s", msg);
    return STEP_STOP;
}

/* A live-side failure while answering: a divergence when the guest ended or
 * broke the protocol, an error when it is our side (timeout, memory). */
static int live_failed(struct rp_replay *r, int rc)
{
    char msg[256];
    live_error_message(r, rc, msg, sizeof msg);
    if (rc == ST_E_TIMEOUT || rc == ST_E_NOMEM)
        return stop_with(r, RP_END_ERROR, msg);
    struct rp_divergence d;
    div_init(r, &d, rc == ST_E_EOF || rc == ST_E_TRUNCATED || rc == ST_E_IO ? RP_DIV_ENDED
                                                                           : RP_DIV_PROTOCOL,
             r->ev.seq, NULL);
    div_set_live(r, &d);
    snprintf(d.expected_sig, sizeof d.expected_sig, "%s", r->live.text);
    snprintf(d.message, sizeof d.message, "while answering %s: %s",
             r->live.text, msg);
    diverge(r, &d);
    return stop_with(r, RP_END_DIVERGED, d.message);
}

static void show_pending_output(struct rp_replay *r, uint64_t result)
{
    if (r->pending_fd < 0)
        return;
    size_t n = r->pending_len;
    /* What the controller passed on: at most what the result says. */
    if ((int64_t)result >= 0 && result < n)
        n = (size_t)result;
    if (n && r->cfg.on_output)
        r->cfg.on_output(r->cfg.ctx, r->pending_fd, r->pending_out, n);
    r->output_total += n;
    r->pending_fd_last = r->pending_fd;
    r->pending_fd = -1;
    r->pending_len = 0;
}

/* The recording ended the guest inside a request (an _exit, a limit, an
 * unknown function...): end the live one the same way. */
static int ended_in_request(struct rp_replay *r)
{
    r->res->live_killed = 1;
    if (r->pending_fd >= 0 && st_limit_by_name(r->res->recorded_limit) == ST_LIMIT_OUTPUT) {
        /* The output limit cut this write: the controller passed what was
         * left under the limit, then its marker (controller/io.c's text). */
        uint64_t max = r->limit_value ? r->limit_value : policy_u64(r->hdr, TRACE_POLICY_LIMIT_MAX_OUTPUT);
        uint64_t room = max > r->output_total ? max - r->output_total : 0;
        show_pending_output(r, room);
        if (max && r->cfg.on_output) {
            char marker[128];
            int len = snprintf(marker, sizeof marker, "\n[sandtrace: output truncated at %llu bytes]\n",
                               (unsigned long long)max);
            r->cfg.on_output(r->cfg.ctx, r->pending_fd_last, marker, (size_t)len);
        }
    }
    return STEP_END;
}

/* Performs the recorded memory commands, errno and result of the request
 * just matched. */
/* A recorded command inside a request was carried out: go on reading the
 * request's events (the other results are enum step's). */
#define STEP_MORE (-1)

/* R: read the live bytes and compare them with the recorded ones; a write
 * to fd 1 or 2 keeps them to show at its result. */
static int replay_mem_read(struct rp_replay *r, const struct trace_event *ev, int is_output)
{
    uint64_t live_ptr = rp_map_translate(&r->map, ev->mem.ptr, NULL);
    size_t n = ev->mem.len;
    if (grow(&r->buf, &r->buf_cap, n ? n : 1) < 0)
        return stop_with(r, RP_END_ERROR, "out of memory");
    int rc = st_link_mem_read(&r->link, live_ptr, r->buf, n);
    if (rc < 0)
        return live_failed(r, rc);
    if (is_output) {
        if (grow(&r->pending_out, &r->pending_cap, n ? n : 1) < 0)
            return stop_with(r, RP_END_ERROR, "out of memory");
        memcpy(r->pending_out, r->buf, n);
        r->pending_len = n;
        r->pending_fd = (int)r->live.args[0];
    }
    if (!data_diverge(r, 'R', live_ptr, ev->mem.data, ev->mem.len, r->buf, n))
        return stop_with(r, RP_END_DIVERGED, NULL);
    return STEP_MORE;
}

/* Z: read the live string and compare it with the recorded one. */
static int replay_mem_read_str(struct rp_replay *r, const struct trace_event *ev)
{
    uint64_t live_ptr = rp_map_translate(&r->map, ev->mem.ptr, NULL);
    uint64_t maxlen = ev->mem.size;
    size_t cap = maxlen < RP_STR_CAP ? (size_t)maxlen + 1 : RP_STR_CAP + 1;
    if (ev->mem.len + 1 > cap)
        cap = ev->mem.len + 1;
    if (grow(&r->buf, &r->buf_cap, cap) < 0)
        return stop_with(r, RP_END_ERROR, "out of memory");
    size_t got = 0;
    int rc = st_link_mem_read_str(&r->link, live_ptr, maxlen, (char *)r->buf, cap, &got);
    if (rc == ST_E_TOO_BIG) {
        struct rp_divergence d;
        div_init(r, &d, RP_DIV_DATA, ev->seq, NULL);
        div_set_live(r, &d);
        snprintf(d.expected_sig, sizeof d.expected_sig, "%s", r->live.text);
        d.op = 'Z';
        d.ptr = live_ptr;
        d.offset = ev->mem.len;
        d.expected_data = ev->mem.data;
        d.expected_len = ev->mem.len;
        snprintf(d.message, sizeof d.message,
                 "%s: the string read is longer than %zu bytes, recorded %zu",
                 r->live.text, cap - 1, ev->mem.len);
        diverge(r, &d);
        return stop_with(r, RP_END_DIVERGED, d.message);
    }
    if (rc < 0)
        return live_failed(r, rc);
    if (!data_diverge(r, 'Z', live_ptr, ev->mem.data, ev->mem.len, r->buf, got))
        return stop_with(r, RP_END_DIVERGED, NULL);
    return STEP_MORE;
}

/* W and M: the recorded bytes, with the pointers in them relocated, written
 * to (or allocated in) the live guest; M's live pointer is learnt. */
static int replay_mem_write(struct rp_replay *r, const struct trace_event *ev)
{
    size_t n = ev->mem.len;
    if (grow(&r->patch, &r->patch_cap, n ? n : 1) < 0)
        return stop_with(r, RP_END_ERROR, "out of memory");
    if (n)
        memcpy(r->patch, ev->mem.data, n);
    rp_map_patch_words(&r->map, r->patch, n);
    uint64_t live_ptr;
    int rc;
    if (ev->kind == TRACE_EV_MEM_WRITE) {
        live_ptr = rp_map_translate(&r->map, ev->mem.ptr, NULL);
        rc = st_link_mem_write(&r->link, live_ptr, r->patch, n);
        return rc < 0 ? live_failed(r, rc) : STEP_MORE;
    }
    rc = st_link_alloc(&r->link, r->patch, n, &live_ptr);
    if (rc < 0)
        return live_failed(r, rc);
    if (rp_map_learn(&r->map, ev->mem.ptr, live_ptr, n ? n : 1, RP_MAP_BLOCK) < 0)
        return stop_with(r, RP_END_ERROR, "out of memory");
    return STEP_MORE;
}

/* The recorded result, sent (a pointer result relocated when it is known
 * exactly); it ends the request. */
static int replay_result(struct rp_replay *r, const struct trace_event *ev)
{
    char kind = ev->result.kind;
    uint64_t value = ev->result.value;
    if (kind != r->live.res_kind) {
        char msg[256];
        snprintf(msg, sizeof msg, "malformed trace: event %llu is a result of kind '%c' for %s",
                 (unsigned long long)ev->seq, kind, r->live.text);
        return stop_with(r, RP_END_TRUNCATED, msg);
    }
    if (kind == 'p' && value) {
        enum rp_map_how how;
        uint64_t t = rp_map_translate(&r->map, value, &how);
        if (how == RP_MAP_EXACT)
            value = t;
    }
    int rc = st_link_result(&r->link, kind, value);
    if (rc < 0)
        return live_failed(r, rc);
    report_event(r, ev);
    r->res->requests++;
    show_pending_output(r, value);
    return STEP_NEXT;
}

/* One recorded event inside the request: its command carried out. */
static int replay_command(struct rp_replay *r, const struct trace_event *ev, int is_output)
{
    int rc;
    switch (ev->kind) {
    case TRACE_EV_MEM_READ:
        return replay_mem_read(r, ev, is_output);
    case TRACE_EV_MEM_READ_STR:
        return replay_mem_read_str(r, ev);
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
        return replay_mem_write(r, ev);
    case TRACE_EV_MEM_FREE:
        rc = st_link_free(&r->link, rp_map_translate(&r->map, ev->mem.ptr, NULL));
        if (rc < 0)
            return live_failed(r, rc);
        rp_map_forget_block(&r->map, ev->mem.ptr);
        return STEP_MORE;
    case TRACE_EV_SET_ERRNO:
        rc = st_link_errno(&r->link, ev->set_errno.value);
        return rc < 0 ? live_failed(r, rc) : STEP_MORE;
    case TRACE_EV_RESULT:
        return replay_result(r, ev);
    default:
        return STEP_MORE;
    }
}

/* Answers the live request (r->live) from the recorded events that follow
 * the request event req_seq, up to its result. */
static int answer_request(struct rp_replay *r, uint64_t req_seq)
{
    const struct st_sig *sig = st_registry_lookup(r->live.text, r->live.text_len);
    r->pending_fd = -1;
    r->pending_len = 0;
    int is_output = sig && sig->id == ST_SIG_write && r->live.nargs >= 1 &&
                    (r->live.args[0] == 1 || r->live.args[0] == 2);
    for (;;) {
        int k = next_driving_event(r);
        if (k < 0) {
            r->res->end = RP_END_TRUNCATED;
            return STEP_STOP;
        }
        if (k == 0) {
            snprintf(r->res->message, sizeof r->res->message,
                     "the trace ends inside the request of event %llu, without its result",
                     (unsigned long long)req_seq);
            r->res->end = RP_END_TRUNCATED;
            return STEP_STOP;
        }
        struct trace_event *ev = &r->ev;
        if (ev->kind == TRACE_EV_GUEST_EXIT)
            return ended_in_request(r);
        if (ev->kind == TRACE_EV_REQUEST) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "malformed trace: event %llu is a request before the result of event %llu",
                     (unsigned long long)ev->seq, (unsigned long long)req_seq);
            return stop_with(r, RP_END_TRUNCATED, msg);
        }
        maybe_pause(r, ev->seq);
        int step = replay_command(r, ev, is_output);
        if (step != STEP_MORE)
            return step;
        report_event(r, ev);
    }
}

/* Copies the request event (its signature text lives until the reader is
 * freed; its arguments are inline). */
static struct trace_event copy_request(const struct trace_event *ev)
{
    struct trace_event c = *ev;
    return c;
}

/* Keep-going after a signature mismatch at recorded request `rec`: find the
 * live request among the next recorded ones (some recorded calls did not
 * happen), else answer it as an extra call and compare the next live request
 * with `rec` again. Returns STEP_NEXT, or STEP_STOP. On a match ahead, r->ev
 * is that request (to be answered) and *found is set. */
static int resync(struct rp_replay *r, const struct trace_event *rec, int *found,
                  unsigned *skipped)
{
    *found = 0;
    unsigned seen = 0;
    int rc;
    for (;;) {
        rc = next_event(r);
        if (rc <= 0)
            break;
        if (r->ev.kind == TRACE_EV_GUEST_EXIT)
            break;
        if (r->ev.kind != TRACE_EV_REQUEST)
            continue;
        if (++seen > RP_RESYNC_WINDOW)
            break;
        if (!strcmp(r->ev.request.sig, r->live.text) && r->ev.request.nargs == r->live.nargs) {
            int same = 1;
            for (unsigned i = 0; i < r->live.nargs && same; i++)
                if (r->live.arg_kinds[i] != 'p' && r->ev.request.args[i] != r->live.args[i])
                    same = 0;
            if (same) {
                *found = 1;
                *skipped = seen; /* rec and the requests between */
                return STEP_NEXT;
            }
        }
    }
    /* Not found: go back to `rec` and treat the live call as extra. */
    r->res->trace_error = 0;
    r->res->message[0] = '\0';
    rc = trace_reader_seek(r->rd, rec->seq);
    if (rc < 0) {
        char msg[256];
        snprintf(msg, sizeof msg, "cannot resynchronise: seeking the trace failed: %s",
                 trace_strerror(rc));
        return stop_with(r, RP_END_ERROR, msg);
    }
    rc = next_event(r); /* rec itself again */
    if (rc <= 0)
        return stop_with(r, RP_END_ERROR, "cannot resynchronise: the trace cannot be read again");
    rc = refuse_live(r);
    if (rc < 0)
        return live_failed(r, rc);
    return STEP_NEXT;
}

/* Handles the recorded request in r->ev. */
static int replay_request(struct rp_replay *r)
{
    struct trace_event rec = copy_request(&r->ev);
    for (;;) {
        int rc = st_link_read_request(&r->link, &r->live);
        if (rc < 0) {
            char msg[256];
            live_error_message(r, rc, msg, sizeof msg);
            if (rc == ST_E_TIMEOUT)
                return stop_with(r, RP_END_ERROR, msg);
            struct rp_divergence d;
            int ended = rc == ST_E_EOF || rc == ST_E_TRUNCATED || rc == ST_E_IO;
            div_init(r, &d, ended ? RP_DIV_ENDED : RP_DIV_PROTOCOL, rec.seq, &rec);
            if (ended)
                snprintf(d.message, sizeof d.message,
                         "the guest ended where a call to %s was recorded",
                         rec.request.sig);
            else
                snprintf(d.message, sizeof d.message,
                         "the guest broke the protocol where a call to %s was "
                         "recorded: %s",
                         rec.request.sig, st_error_name(rc));
            diverge(r, &d);
            return stop_with(r, RP_END_DIVERGED, d.message);
        }
        maybe_pause(r, rec.seq);
        struct rp_divergence d;
        if (match_request(r, &rec, &d) == 0)
            break;
        if (d.kind == RP_DIV_SIGNATURE && r->cfg.keep_going &&
            r->res->divergences + 1 < r->cfg.max_divergences) {
            /* Resynchronise first, so that the report can say how. */
            int found = 0;
            unsigned skipped = 0;
            int step = resync(r, &rec, &found, &skipped);
            size_t ml = strlen(d.message);
            if (step == STEP_NEXT && found)
                snprintf(d.message + ml, sizeof d.message - ml,
                         "; resynchronised: %u recorded call%s skipped", skipped,
                         skipped == 1 ? "" : "s");
            else if (step == STEP_NEXT)
                snprintf(d.message + ml, sizeof d.message - ml,
                         "; the live call was answered as an extra one (ENOSYS)");
            diverge(r, &d);
            if (step != STEP_NEXT)
                return step;
            if (found) {
                rec = copy_request(&r->ev);
                break; /* the live request is this later recorded one */
            }
            continue; /* the live call was extra: the next one is compared with rec */
        }
        if (!diverge(r, &d))
            return stop_with(r, RP_END_DIVERGED, d.message);
        if (d.kind != RP_DIV_SIGNATURE)
            break; /* same function: answer it as recorded */
        /* keep_going with the cap reached was handled by diverge(). */
        return stop_with(r, RP_END_DIVERGED, d.message);
    }
    learn_args(r, &rec);
    report_event(r, &rec);
    return answer_request(r, rec.seq);
}

static int recorded_violation(const struct rp_result *res);

/* The recorded run ended (GUEST_EXIT in r->ev, no request open). */
static int replay_end(struct rp_replay *r, int controller_ended)
{
    if (controller_ended && !recorded_violation(r->res)) {
        /* A limit: the controller ended the guest wherever it was. */
        r->res->live_killed = 1;
        return STEP_END;
    }
    if (recorded_violation(r->res)) {
        /* The guest broke the protocol here: the live one must too. */
        int rc = st_link_read_request(&r->link, &r->live);
        r->res->live_killed = 1;
        if (rc == ST_E_TIMEOUT) {
            char msg[256];
            live_error_message(r, rc, msg, sizeof msg);
            return stop_with(r, RP_END_ERROR, msg);
        }
        if (rc < 0 && rc != ST_E_EOF)
            return STEP_END;
        struct rp_divergence d;
        div_init(r, &d, rc == 0 ? RP_DIV_EXTRA_CALL : RP_DIV_ENDED, r->ev.seq, NULL);
        if (rc == 0) {
            div_set_live(r, &d);
            snprintf(d.message, sizeof d.message,
                     "the guest called %s where the recording had a protocol violation (%s)",
                     r->live.text, r->res->recorded_reason);
        } else {
            snprintf(d.message, sizeof d.message,
                     "the guest ended cleanly where the recording had a protocol violation (%s)",
                     r->res->recorded_reason);
        }
        diverge(r, &d);
        return stop_with(r, RP_END_DIVERGED, d.message);
    }
    /* The guest should end by itself now: its stream must close. */
    for (;;) {
        int rc = st_link_read_request(&r->link, &r->live);
        /* A clean end (half a request is a violation, reported below). */
        if (rc == ST_E_EOF || rc == ST_E_IO)
            return STEP_END;
        if (rc == ST_E_TIMEOUT) {
            char msg[256];
            live_error_message(r, rc, msg, sizeof msg);
            return stop_with(r, RP_END_ERROR, msg);
        }
        struct rp_divergence d;
        div_init(r, &d, rc < 0 ? RP_DIV_PROTOCOL : RP_DIV_EXTRA_CALL, r->ev.seq, NULL);
        if (rc < 0) {
            snprintf(d.message, sizeof d.message,
                     "the guest broke the protocol after its recorded end: %s",
                     st_error_name(rc));
            diverge(r, &d);
            return stop_with(r, RP_END_DIVERGED, d.message);
        }
        div_set_live(r, &d);
        snprintf(d.message, sizeof d.message,
                 "the guest called %s where the recording ended (%s)",
                 r->live.text,
                 r->ev.guest_exit.reason ? r->ev.guest_exit.reason : "guest exit");
        if (!diverge(r, &d))
            return stop_with(r, RP_END_DIVERGED, d.message);
        rc = refuse_live(r);
        if (rc < 0)
            return STEP_END; /* it is gone: its status tells the rest */
    }
}

/* The exit code `run` gave the recorded run (tools/run_outcome.c's rules),
 * rebuilt from the LIMIT/VIOLATION events and the GUEST_EXIT's reason (the
 * session's own wording for each ending, controller/session.c). */
static int recorded_exit_code(const struct rp_result *res)
{
    static const int limits[ST_LIMIT_COUNT] = {
        [ST_LIMIT_TIMEOUT] = 71, [ST_LIMIT_CPU] = 72, [ST_LIMIT_MEMORY] = 73,
        [ST_LIMIT_OUTPUT] = 74, [ST_LIMIT_CALLS] = 75, [ST_LIMIT_TRACE] = 80,
    };
    static const struct { const char *prefix; int code; } reasons[] = {
        { "timeout after", 71 },
        { "cpu limit of", 72 },
        { "output limit of", 74 },
        { "more than ", 75 },
        { "protocol violation", 76 },
        { "called '", 77 },
        { "killed by the seccomp jail", 78 },
        { "killed by the jail", 78 },
        { "trace limit", 80 },
    };
    if (!res->recorded_end_seen)
        return -1;
    int limit = st_limit_by_name(res->recorded_limit);
    if (limit == ST_LIMIT_INTERRUPT) /* the run was interrupted by a signal: 128+N */
        return 128 + (res->recorded_signal & 0x7f);
    if (limit >= 0)
        return limits[limit];
    if (res->recorded_violation)
        return 76;
    const char *why = res->recorded_reason;
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (!strncmp(why, reasons[i].prefix, strlen(reasons[i].prefix)))
            return reasons[i].code;
    if (!strncmp(why, "died of ", 8) && strstr(why, "under the memory limit"))
        return 73;
    if (res->recorded_signal)
        return 128 + res->recorded_signal;
    return res->recorded_code >= 0 ? res->recorded_code : 70;
}

/* The recorded run ended with a protocol violation of the guest's. */
static int recorded_violation(const struct rp_result *res)
{
    return res->recorded_violation ||
           !strncmp(res->recorded_reason, "protocol violation", strlen("protocol violation"));
}

static void note_recorded_exit(struct rp_replay *r)
{
    struct rp_result *res = r->res;
    res->recorded_end_seen = 1;
    res->recorded_code = r->ev.guest_exit.code;
    res->recorded_signal = r->ev.guest_exit.signal;
    snprintf(res->recorded_reason, sizeof res->recorded_reason, "%s",
             r->ev.guest_exit.reason ? r->ev.guest_exit.reason : "");
    report_event(r, &r->ev);
}

/* Waits for the live guest to end (after its stream closed), honouring the
 * deadline and draining its stderr; kills it at the deadline. A pidfd
 * (Linux 5.3+) makes the wait exact; without one it polls every 10 ms. */
static void reap_live(struct rp_replay *r, int kill_now)
{
    if (!r->spawned)
        return;
    if (kill_now)
        st_link_kill(&r->link);
    else if (!st_link_wait_end(&r->link))
        st_link_kill(&r->link); /* the deadline: link.timed_out says so */
    /* What it left on its stderr. */
    st_link_finish_stderr(&r->link, 0.1);
    int st = r->link.child.status;
    if (r->link.child.reaped && WIFEXITED(st)) {
        r->res->live_code = WEXITSTATUS(st);
        r->res->live_signal = 0;
    } else if (r->link.child.reaped && WIFSIGNALED(st)) {
        r->res->live_code = -1;
        r->res->live_signal = WTERMSIG(st);
    }
    r->res->pid = r->link.child.pid;
    st_link_close(&r->link);
    r->spawned = 0;
}

/* ------------------------------------------------------------ dump mode */

/* The note that holds a dump-mode guest's recorded stdout starts with this
 * (tracer/tap.h, ST_TAP_NOTE_DUMP_OUTPUT; docs/trace-format.md). */
#define RP_DUMP_NOTE "dump output:\n"
/* The most of a live dump-mode guest's stdout kept (a real list is ~5 KiB). */
#define RP_DUMP_MAX (1024u * 1024)

static int dump_mode_trace(const struct trace_header *h)
{
    const char *v = trace_header_policy(h, TRACE_POLICY_DUMP_MODE);
    return v && !strcmp(v, "1");
}

/* Says where two dump texts first differ: in the Funcs list, by the
 * function at that place; elsewhere, by line. */
static void dump_describe(const char *want, size_t wn, const char *got, size_t gn, size_t off,
                          char *msg, size_t cap)
{
    char *a = strndup(want, wn), *b = strndup(got, gn);
    struct st_dump da, db;
    int pa = a ? st_dump_parse(a, &da) : -1, pb = b ? st_dump_parse(b, &db) : -1;
    if (pa == 0 && pb == 0 && da.version == db.version && !strcmp(da.platform, db.platform)) {
        size_t i = 0;
        while (i < da.nfuncs && i < db.nfuncs && !strcmp(da.funcs[i], db.funcs[i]))
            i++;
        snprintf(msg, cap,
                 "the guest's function list differs at function %zu: recorded '%.80s', live "
                 "'%.80s' (%zu functions recorded, %zu live)",
                 i + 1, i < da.nfuncs ? da.funcs[i] : "(end of list)",
                 i < db.nfuncs ? db.funcs[i] : "(end of list)", da.nfuncs, db.nfuncs);
    } else {
        size_t line = 1;
        for (size_t i = 0; i < off && i < wn; i++)
            line += want[i] == '\n';
        snprintf(msg, cap, "the guest's dump-mode output differs at byte %zu (line %zu)%s", off,
                 line, pb < 0 ? ": the live output is not a function list" : "");
    }
    if (pa == 0)
        st_dump_release(&da);
    if (pb == 0)
        st_dump_release(&db);
    free(a);
    free(b);
    /* The texts come from a trace and a guest: nothing but printable ASCII
     * goes into a message. */
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
}

/* Replays a dump-mode trace: the guest (started in dump mode) gets no
 * commands; its stdout is read to its end and compared with the recorded
 * list. Leaves r->ev at the recorded GUEST_EXIT and returns STEP_END (the
 * exit status is compared by the caller) or STEP_STOP. */
/* Dump mode: reads the guest's whole stdout (its function list) into
 * r->buf, *got bytes. STEP_MORE, or STEP_STOP when it cannot. */
static int dump_read_live(struct rp_replay *r, size_t *out)
{
    close(r->link.child.to_guest);
    r->link.child.to_guest = -1;
    size_t got = 0;
    int rc = 0;
    for (;;) {
        if (grow(&r->buf, &r->buf_cap, got + 4096) < 0)
            return stop_with(r, RP_END_ERROR, "out of memory");
        rc = st_link_wait_fd(&r->link, r->link.child.from_guest, POLLIN);
        if (rc < 0)
            break;
        ssize_t k = read(r->link.child.from_guest, r->buf + got, r->buf_cap - got);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0)
            break;
        if (r->cfg.on_output)
            r->cfg.on_output(r->cfg.ctx, 1, r->buf + got, (size_t)k);
        got += (size_t)k;
        if (got > RP_DUMP_MAX)
            break;
    }
    *out = got;
    if (rc == ST_E_TIMEOUT) {
        char msg[256];
        live_error_message(r, rc, msg, sizeof msg);
        return stop_with(r, RP_END_ERROR, msg);
    }
    return STEP_MORE;
}

/* Dump mode: the recorded list, up to the guest's exit: the note's text,
 * or the raw bytes of the violation tap records when the output was not
 * text (malloc'd in *want, *want_len bytes). STEP_MORE, or STEP_STOP. */
static int dump_read_recorded(struct rp_replay *r, char **out, size_t *out_len)
{
    char *want = NULL;
    size_t want_len = 0;
    int have = 0;
    for (;;) {
        int k = next_event(r);
        if (k == 0)
            snprintf(r->res->message, sizeof r->res->message,
                     "the trace ends after %llu events without the guest's exit",
                     (unsigned long long)r->res->events);
        if (k <= 0) {
            free(want);
            r->res->end = RP_END_TRUNCATED;
            return STEP_STOP;
        }
        const struct trace_event *ev = &r->ev;
        if (ev->kind == TRACE_EV_GUEST_EXIT)
            break;
        const char *text = ev->kind == TRACE_EV_NOTE ? ev->note.text : NULL;
        if (!have && text && !strncmp(text, RP_DUMP_NOTE, sizeof RP_DUMP_NOTE - 1)) {
            want_len = strlen(text + sizeof RP_DUMP_NOTE - 1);
            want = strndup(text + sizeof RP_DUMP_NOTE - 1, want_len);
            have = 1;
        } else if (ev->kind == TRACE_EV_VIOLATION) {
            r->res->recorded_violation = 1;
            if (!have && ev->violation.text && !strncmp(ev->violation.text, "dump mode:", 10)) {
                want_len = ev->violation.len;
                want = malloc(want_len + 1);
                if (want && want_len)
                    memcpy(want, ev->violation.data, want_len);
                have = 1;
            }
        }
        if (have && !want)
            return stop_with(r, RP_END_ERROR, "out of memory");
        report_event(r, ev);
    }
    if (!have)
        return stop_with(r, RP_END_ERROR, "a dump-mode trace without the guest's recorded "
                                          "output (no 'dump output' note)");
    *out = want;
    *out_len = want_len;
    return STEP_MORE;
}

static int replay_dump_mode(struct rp_replay *r)
{
    size_t got = 0, want_len = 0;
    char *want = NULL;
    int step = dump_read_live(r, &got);
    if (step == STEP_MORE)
        step = dump_read_recorded(r, &want, &want_len);
    if (step != STEP_MORE)
        return step;
    size_t off = 0;
    while (off < want_len && off < got && want[off] == (char)r->buf[off])
        off++;
    if (off == want_len && off == got) {
        struct st_dump d;
        char *copy = strndup(want ? want : "", want_len);
        size_t nfuncs = 0;
        if (copy && st_dump_parse(copy, &d) == 0) {
            nfuncs = d.nfuncs;
            st_dump_release(&d); /* a list of 0 functions too */
        }
        free(copy);
        snprintf(r->res->message, sizeof r->res->message,
                 "dump mode: the guest's function list is identical to the recorded one "
                 "(%zu functions)", nfuncs);
        free(want);
        return STEP_END;
    }
    struct rp_divergence d;
    div_init(r, &d, RP_DIV_DUMP, r->ev.seq, NULL);
    d.offset = off;
    d.expected_data = (const uint8_t *)want;
    d.expected_len = want_len;
    d.got_data = r->buf;
    d.got_len = got;
    dump_describe(want ? want : "", want_len, (const char *)r->buf, got, off, d.message,
                  sizeof d.message);
    diverge(r, &d);
    step = stop_with(r, RP_END_DIVERGED, d.message);
    free(want);
    return step;
}

/* Variables that would make the loader or libc load code, read files or
 * change their behaviour (glibc's own list for set-user-id programs, and
 * every LD_*): a trace is untrusted input, so its real environment never
 * carries them to the guest. */
static int real_env_var_unsafe(const char *kv)
{
    static const char *const unsafe[] = {
        "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN",
        "LOCPATH", "MALLOC_TRACE", "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF",
        "RES_OPTIONS", "TMPDIR", "TZDIR", NULL,
    };
    size_t n = strcspn(kv, "=");
    if (kv[n] != '=' || n == 0 || !strncmp(kv, "LD_", 3))
        return 1;
    for (size_t i = 0; unsafe[i]; i++)
        if (strlen(unsafe[i]) == n && !strncmp(kv, unsafe[i], n))
            return 1;
    return 0;
}

/* Builds the guest's real environment from the header (NULL-terminated;
 * its strings stay the header's). A variable that is not safe to pass ends
 * the replay before anything runs, with `msg` saying which. */
static int rp_safe_real_env(const struct trace_header *h, char ***out, char *msg, size_t cap)
{
    *out = NULL;
    if (h->guest_real_envc == 0)
        return 0;
    char **envp = calloc(h->guest_real_envc + 1, sizeof *envp);
    if (!envp)
        return RP_E_NOMEM;
    for (size_t i = 0; i < h->guest_real_envc; i++) {
        if (real_env_var_unsafe(h->guest_real_env[i])) {
            size_t n = strcspn(h->guest_real_env[i], "=");
            snprintf(msg, cap, "the trace's real environment names '%.*s', which replay never "
                     "passes to a guest (it changes what the loader or libc does)",
                     (int)(n > 64 ? 64 : n), h->guest_real_env[i]);
            free(envp);
            return RP_E_SPAWN;
        }
        envp[i] = (char *)h->guest_real_env[i];
    }
    *out = envp;
    return 0;
}

static int start_guest(struct rp_replay *r)
{
    const struct trace_header *h = r->hdr;
    char **argv = calloc(h->guest_argc + 1, sizeof *argv);
    if (!argv)
        return RP_E_NOMEM;
    for (size_t i = 0; i < h->guest_argc; i++)
        argv[i] = (char *)h->guest_argv[i];
    struct st_spawn_config sc;
    st_spawn_config_init(&sc);
    sc.path = r->exe;
    sc.argv = argv;
    /* The real environment the recording gave the guest (locale, TZ), less
     * what would change the loader's or libc's behaviour: a trace is
     * untrusted input. */
    char **envp = NULL;
    int rc = rp_safe_real_env(h, &envp, r->res->message, sizeof r->res->message);
    if (rc < 0) {
        free(argv);
        return rc;
    }
    sc.envp = envp;
    sc.stderr_pipe = 1;
    /* Always the full jail (a trace is untrusted input: its header may
     * tighten the jail, never take it away); only the user's --no-jail
     * runs without. A recording made with --loose-jail, whose forbidden
     * calls were refused rather than fatal, is replayed the same way: that
     * lets nothing more through. */
    sc.seccomp = r->cfg.seccomp;
    /* The namespaces, empty root and Landlock too: every layer this system
     * has (controller/fsjail.h), whatever the recording had. */
    sc.no_fs_jail = !r->cfg.seccomp;
    const char *loose = trace_header_policy(h, TRACE_POLICY_JAIL_LOOSE);
    sc.loose_jail = loose && !strcmp(loose, "1");
    sc.no_aslr = 1;
    /* The recorded memory limit, so that an allocation that failed fails
     * again. Not the CPU limit: the CPU a guest uses varies from run to run,
     * so the kernel would end it at another point; the trace's own end
     * (its LIMIT cpu event) is where replay ends it. */
    sc.memory_bytes = policy_u64(h, TRACE_POLICY_LIMIT_MEMORY_BYTES);
    sc.cpu_policy = r->cfg.cpu_policy;
    sc.cpu = r->cfg.cpu;
    struct st_link_hooks hooks = { .ctx = r, .on_stderr = on_live_stderr };
    rc = st_link_start(&r->link, &sc, r->cfg.timeout_seconds, &hooks);
    free(argv);
    free(envp);
    if (rc < 0) {
        if (rc == ST_E_SPAWN && r->link.child.exec_errno)
            snprintf(r->res->message, sizeof r->res->message, "cannot execute '%s': %s", r->exe,
                     strerror(r->link.child.exec_errno));
        else
            snprintf(r->res->message, sizeof r->res->message, "cannot start '%s': %s%s", r->exe,
                     st_error_name(rc), rc == ST_E_NOJAIL ? " (--no-jail replays without)" : "");
        return RP_E_SPAWN;
    }
    r->spawned = 1;
    r->res->pid = r->link.child.pid;
    return 0;
}

/* Drives the guest through the trace, request by request, to its end.
 * Returns the last step (STEP_END at the recorded end, STEP_STOP else). */
static int drive(struct rp_replay *r)
{
    struct rp_result *res = r->res;
    for (;;) {
        int k = next_driving_event(r);
        if (k < 0) {
            res->end = RP_END_TRUNCATED;
            return STEP_STOP;
        }
        if (k == 0) {
            res->end = RP_END_TRUNCATED;
            snprintf(res->message, sizeof res->message,
                     "the trace ends after %llu events without the guest's exit",
                     (unsigned long long)res->events);
            return STEP_STOP;
        }
        int step = STEP_NEXT;
        switch (r->ev.kind) {
        case TRACE_EV_REQUEST:
            step = replay_request(r);
            break;
        case TRACE_EV_GUEST_EXIT:
            maybe_pause(r, r->ev.seq);
            note_recorded_exit(r);
            /* A limit or a violation means the controller ended the guest. */
            step = replay_end(r, res->recorded_limit[0] || res->recorded_violation);
            break;
        default:
            /* A memory command outside any request (a tap recording of a
             * controller that misbehaved): nothing to drive, pass it. */
            report_event(r, &r->ev);
            break;
        }
        if (step != STEP_NEXT)
            return step;
    }
}

/* At the recorded end: the live guest must end the way the recording did
 * (unless the controller ended both), and the result says how it went. */
static void judge_end(struct rp_replay *r)
{
    struct rp_result *res = r->res;
    res->end = res->divergences ? RP_END_DIVERGED : RP_END_COMPLETE;
    if (!res->live_killed &&
        (res->live_code != res->recorded_code || res->live_signal != res->recorded_signal)) {
        struct rp_divergence d;
        div_init(r, &d, RP_DIV_EXIT, r->ev.seq, NULL);
        d.expected_code = res->recorded_code;
        d.expected_signal = res->recorded_signal;
        d.got_code = res->live_code;
        d.got_signal = res->live_signal;
        char want[64], got[64];
        if (res->recorded_signal)
            snprintf(want, sizeof want, "killed by signal %d", res->recorded_signal);
        else
            snprintf(want, sizeof want, "exited with code %d", res->recorded_code);
        if (res->live_signal)
            snprintf(got, sizeof got, "killed by signal %d", res->live_signal);
        else
            snprintf(got, sizeof got, "exited with code %d", res->live_code);
        snprintf(d.message, sizeof d.message, "the guest %s, recorded: %s", got, want);
        diverge(r, &d);
        res->end = RP_END_DIVERGED;
    }
    if (res->end == RP_END_COMPLETE && !res->message[0]) {
        if (res->live_killed && st_limit_by_name(res->recorded_limit) == ST_LIMIT_INTERRUPT)
            snprintf(res->message, sizeof res->message,
                     "the recording was %s here: the guest was ended at the same point",
                     res->recorded_reason);
        else if (res->live_killed && res->recorded_limit[0])
            snprintf(res->message, sizeof res->message, "trace ends with limit %s",
                     res->recorded_limit);
        else if (res->live_killed)
            snprintf(res->message, sizeof res->message,
                     "trace ends with the controller ending the guest (%s)",
                     res->recorded_reason);
    }
}

int rp_replay_run(struct rp_replay *r, struct rp_result *res)
{
    memset(res, 0, sizeof *res);
    res->recorded_exit = -1;
    res->live_code = -1;
    r->res = res;
    if (r->ran) {
        res->end = RP_END_ERROR;
        snprintf(res->message, sizeof res->message, "replay already ran");
        return RP_E_STATE;
    }
    r->ran = 1;
    int rc = start_guest(r);
    if (rc < 0) {
        res->end = RP_END_ERROR;
        return rc;
    }
    int step = dump_mode_trace(r->hdr) ? replay_dump_mode(r) : STEP_NEXT;
    if (step == STEP_NEXT)
        step = drive(r);
    if (step == STEP_END && r->ev.kind == TRACE_EV_GUEST_EXIT && !res->recorded_end_seen)
        note_recorded_exit(r);
    reap_live(r, step != STEP_END || res->live_killed);
    if (r->link.timed_out && step == STEP_END) {
        res->end = RP_END_ERROR;
        res->timed_out = 1;
        snprintf(res->message, sizeof res->message,
                 "timeout after %g s waiting for the guest to end", r->cfg.timeout_seconds);
    } else if (step == STEP_END) {
        judge_end(r);
    }
    res->recorded_exit = recorded_exit_code(res);
    return 0;
}
