/* The symbolic printer: see trace_print.h. This part: the calls that
 * sigtable.def gives a decoder, results, whole calls and events, and the
 * printer. The guest's constants and the argument formatters are in
 * trace_print_args.c, the options and the -e filter in trace_print_filter.c. */
#include "tools/trace_print.h"

#include <inttypes.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/st_util.h"
#include "tools/options.h"
#include "tools/trace_print_int.h"

/* ------------------------------------------------------------------------
 * Calls that sigtable.def gives a decoder (its last column). */

/* fcntl: the commands that take no third argument do not show it (as
 * strace), F_SETFL's is open flags, F_GETFL's and F_GETFD's results are
 * decoded. */
static uint64_t fcntl_cmd(const struct tc_call *c)
{
    return c->nargs >= 2 ? c->args[1] : UINT64_MAX;
}

static size_t fcntl_shown(const struct tc_call *c)
{
    uint64_t cmd = fcntl_cmd(c);
    if (c->nargs == 3 && (cmd == GUEST_F_GETFD || cmd == GUEST_F_GETFL || cmd == GUEST_F_GETOWN ||
                          cmd == GUEST_F_GETSIG || cmd == GUEST_F_GETPIPE_SZ))
        return 2;
    return c->nargs;
}

static int fcntl_arg(struct st_buf *b, const struct tc_call *c, size_t i)
{
    if (i != 2 || fcntl_cmd(c) != GUEST_F_SETFL)
        return 0;
    fmt_open_flags(b, c->args[i]);
    return 1;
}

static int fcntl_result(struct st_buf *b, const struct tc_call *c)
{
    uint64_t v = c->result;
    if (fcntl_cmd(c) == GUEST_F_GETFL) {
        st_buf_addf(b, "%#" PRIx64 " (flags ", v);
        fmt_open_flags(b, v);
        st_buf_puts(b, ")");
        return 1;
    }
    if (fcntl_cmd(c) == GUEST_F_GETFD) {
        st_buf_addf(b, "%#" PRIx64 " (flags %s)", v, v == GUEST_FD_CLOEXEC ? "FD_CLOEXEC" : "0");
        return 1;
    }
    return 0;
}

static const struct call_decoder {
    size_t (*shown)(const struct tc_call *c);                      /* arguments shown */
    int (*arg)(struct st_buf *b, const struct tc_call *c, size_t i); /* 1: it showed argument i */
    int (*result)(struct st_buf *b, const struct tc_call *c);       /* 1: it showed the (successful) result */
} decoders[] = {
    [ST_DEC_FCNTL] = { fcntl_shown, fcntl_arg, fcntl_result },
};

/* The decoder sigtable.def names for the call, or NULL. */
static const struct call_decoder *decoder_of(const struct tc_call *c)
{
    if (!c->reg || c->reg->decoder == ST_DEC_NONE ||
        (size_t)c->reg->decoder >= sizeof decoders / sizeof decoders[0])
        return NULL;
    return &decoders[c->reg->decoder];
}

/* An argument by its wire kind only (unknown signatures). */
static void fmt_wire(struct st_buf *b, char kind, uint64_t v)
{
    if (kind == 'p') {
        fmt_ptr(b, v);
    } else if (kind == 'f') {
        double d;
        memcpy(&d, &v, sizeof d);
        st_buf_addf(b, "%.17g", d);
    } else {
        st_buf_addf(b, "%" PRId64, (int64_t)v);
    }
}

static void fmt_errno(struct st_buf *b, int32_t err)
{
    const char *n = tp_errno_name(err);
    if (n)
        st_buf_addf(b, " %s (%s)", n, tp_errno_text(err));
    else
        st_buf_addf(b, " errno %" PRId32 " (Unknown error %" PRId32 ")", err, err);
}

/* The data a pointer result points to: an M (allocated) or W (written)
 * block of this call at that address. */
static const struct tc_mem *pointed(const struct tc_call *c, uint64_t ptr)
{
    const struct tc_mem *m = NULL;
    for (size_t i = 0; i < c->nmem; i++)
        if ((c->mem[i].kind == TRACE_EV_MEM_ALLOC || c->mem[i].kind == TRACE_EV_MEM_WRITE) &&
            c->mem[i].ptr == ptr)
            m = &c->mem[i]; /* the last one written is what the guest sees */
    return m;
}

static void fmt_result(struct st_buf *b, const struct tc_call *c, const struct tp_options *o)
{
    char meaning = c->reg ? c->reg->res : 0;
    int failed = tc_call_failed(c);
    uint64_t v = c->result;
    switch (c->result_kind) {
    case 'v':
        st_buf_puts(b, "void");
        break;
    case 'f':
        fmt_wire(b, 'f', v);
        break;
    case 'p': {
        fmt_ptr(b, v);
        const struct tc_mem *m = v && !failed ? pointed(c, v) : NULL;
        if (m && meaning == ST_RES_STR) {
            st_buf_puts(b, " ");
            fmt_cstr(b, m->data, m->kept, m->len, o);
        } else if (m && meaning == ST_RES_DIRENT && m->kept >= 19 + 1) {
            st_buf_puts(b, " ");
            fmt_dirent(b, m->data, m->kept, o);
        }
        break;
    }
    default: {
        int64_t sv = (int64_t)v;
        const struct call_decoder *dec = decoder_of(c);
        if (!failed && dec && dec->result && dec->result(b, c)) {
            /* shown by the call's decoder */
        } else if (meaning == ST_RES_MODE) {
            st_buf_addf(b, "%#04" PRIo64, v);
        } else if (meaning == ST_RES_FD && !failed && o->fd_paths) {
            /* The new descriptor, named by this very call (open) or by the one it copies (dup). */
            st_buf_addf(b, "%" PRId64, sv);
            int dirfd;
            const struct tc_mem *m = first_path(c, &dirfd);
            int64_t a0 = c->nargs > 0 ? (int64_t)c->args[0] : -1;
            const char *copied = o->fdtab && a0 >= 0 && a0 < TP_FDTAB_MAX && !m ? o->fdtab->path[a0] : NULL;
            if (m || copied) {
                st_buf_puts(b, "<");
                if (m) {
                    char tmp[4097];
                    size_t n = m->kept < 4096 ? m->kept : 4096;
                    memcpy(tmp, m->data, n);
                    tmp[n] = '\0';
                    tp_format_text(b, tmp);
                } else {
                    tp_format_text(b, copied);
                }
                st_buf_puts(b, ">");
            }
        } else {
            st_buf_addf(b, "%" PRId64, sv);
        }
        break;
    }
    }
    if (c->has_errno) {
        if (failed) {
            fmt_errno(b, c->err);
        } else if (c->err) {
            const char *n = tp_errno_name(c->err);
            if (n)
                st_buf_addf(b, " (errno %s)", n);
            else
                st_buf_addf(b, " (errno %" PRId32 ")", c->err);
        }
    }
}

static void fmt_secs(struct st_buf *b, uint64_t ns)
{
    st_buf_addf(b, "%" PRIu64 ".%06" PRIu64, ns / 1000000000u, ns / 1000u % 1000000u);
}

void tp_format_call_args(struct st_buf *out, const struct tc_call *c, const struct tp_options *o)
{
    const struct call_decoder *dec = decoder_of(c);
    size_t shown = dec && dec->shown ? dec->shown(c) : c->nargs;
    for (size_t i = 0; i < shown; i++) {
        if (i)
            st_buf_puts(out, ", ");
        if (dec && dec->arg && dec->arg(out, c, i))
            continue;
        if (c->reg)
            fmt_arg(out, c, i, o);
        else
            fmt_wire(out, i < strlen(c->arg_kinds) ? c->arg_kinds[i] : 'i', c->args[i]);
    }
}

void tp_format_raw_call(struct st_buf *out, const char *sig, const uint64_t *args, size_t nargs)
{
    char name[TRACE_MAX_SIG_LEN + 1], kinds[TRACE_MAX_ARGS + 1], res;
    tc_parse_sig(sig, name, sizeof name, kinds, sizeof kinds, &res);
    size_t nk = strlen(kinds);
    tp_format_text(out, name);
    st_buf_puts(out, "(");
    for (size_t i = 0; i < nargs; i++) {
        if (i)
            st_buf_puts(out, ", ");
        fmt_wire(out, i < nk ? kinds[i] : 'i', args[i]);
    }
    st_buf_puts(out, ")");
}

void tp_format_call_result(struct st_buf *out, const struct tc_call *c, const struct tp_options *o)
{
    if (c->finished)
        fmt_result(out, c, o);
}

void tp_format_call(struct st_buf *out, const struct tc_call *c, const struct tp_options *o)
{
    tp_format_text(out, c->name);
    st_buf_puts(out, "(");
    tp_format_call_args(out, c, o);
    if (!c->finished) {
        if (c->reg && c->reg->id == ST_SIG__exit)
            st_buf_puts(out, ") = ?");
        else
            st_buf_puts(out, " <unfinished ...>");
    } else {
        st_buf_puts(out, ") = ");
        fmt_result(out, c, o);
        if (o->durations) {
            st_buf_puts(out, " <");
            fmt_secs(out, c->end_time_ns >= c->time_ns ? c->end_time_ns - c->time_ns : 0);
            st_buf_puts(out, ">");
        }
    }
    if (c->mem_dropped)
        st_buf_addf(out, " /* %" PRIu64 " more memory commands not kept */", c->mem_dropped);
}

static void fmt_request_event(struct st_buf *out, const struct trace_event *ev)
{
    char name[TRACE_MAX_SIG_LEN + 1], kinds[TRACE_MAX_ARGS + 1], res;
    const char *sig = ev->request.sig ? ev->request.sig : "";
    tc_parse_sig(sig, name, sizeof name, kinds, sizeof kinds, &res);
    tp_format_text(out, sig);
    for (size_t i = 0; i < ev->request.nargs && i < TRACE_MAX_ARGS; i++) {
        st_buf_puts(out, " ");
        char k = i < strlen(kinds) ? kinds[i] : 'i';
        if (k == 'p')
            st_buf_addf(out, "%#" PRIx64, ev->request.args[i]);
        else
            fmt_wire(out, k, ev->request.args[i]);
    }
}

/* A memory command, E or RESULT in raw form: 1 when `ev` is one. */
static int fmt_call_part_event(struct st_buf *out, const struct trace_event *ev,
                               const struct tp_options *o)
{
    const char *s;
    switch (ev->kind) {
    case TRACE_EV_MEM_READ:
        st_buf_addf(out, "R %#" PRIx64 " %zu -> ", ev->mem.ptr, ev->mem.len);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        return 1;
    case TRACE_EV_MEM_READ_STR:
        st_buf_addf(out, "Z %#" PRIx64 " %" PRId64 " -> ", ev->mem.ptr, (int64_t)ev->mem.size);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        return 1;
    case TRACE_EV_MEM_WRITE:
        st_buf_addf(out, "W %#" PRIx64 " %zu <- ", ev->mem.ptr, ev->mem.len);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        return 1;
    case TRACE_EV_MEM_ALLOC:
        st_buf_addf(out, "M %zu ", ev->mem.len);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        st_buf_addf(out, " -> %#" PRIx64, ev->mem.ptr);
        return 1;
    case TRACE_EV_MEM_FREE:
        st_buf_addf(out, "F %#" PRIx64, ev->mem.ptr);
        return 1;
    case TRACE_EV_SET_ERRNO:
        st_buf_addf(out, "E %" PRId32, ev->set_errno.value);
        if ((s = tp_errno_name(ev->set_errno.value)))
            st_buf_addf(out, " %s", s);
        return 1;
    case TRACE_EV_RESULT:
        st_buf_puts(out, "= ");
        if (ev->result.kind == 'v')
            st_buf_puts(out, "void");
        else if (ev->result.kind == 'p')
            st_buf_addf(out, "%#" PRIx64, ev->result.value);
        else
            fmt_wire(out, ev->result.kind, ev->result.value);
        return 1;
    default:
        return 0;
    }
}

static void fmt_exit_event(struct st_buf *out, const struct trace_event *ev)
{
    const char *s;
    if (ev->guest_exit.signal) {
        if ((s = tp_signal_name(ev->guest_exit.signal)))
            st_buf_addf(out, "+++ killed by %s", s);
        else
            st_buf_addf(out, "+++ killed by signal %" PRId32, ev->guest_exit.signal);
    } else {
        st_buf_addf(out, "+++ exited with %" PRId32, ev->guest_exit.code);
    }
    /* The reason, unless it only says what the line already says. */
    if (ev->guest_exit.reason && *ev->guest_exit.reason &&
        (ev->guest_exit.signal || strncmp(ev->guest_exit.reason, "exited", 6))) {
        st_buf_puts(out, " (");
        tp_format_text(out, ev->guest_exit.reason);
        st_buf_puts(out, ")");
    }
    st_buf_puts(out, " +++");
}

void tp_format_event(struct st_buf *out, const struct trace_event *ev, const struct tp_options *o)
{
    if (fmt_call_part_event(out, ev, o))
        return;
    switch (ev->kind) {
    case TRACE_EV_REQUEST:
        fmt_request_event(out, ev);
        break;
    case TRACE_EV_GUEST_STDERR:
        st_buf_puts(out, "--- stderr ");
        tp_format_bytes(out, ev->guest_stderr.data, ev->guest_stderr.len, o);
        st_buf_puts(out, " ---");
        break;
    case TRACE_EV_GUEST_EXIT:
        fmt_exit_event(out, ev);
        break;
    case TRACE_EV_LIMIT:
        st_buf_puts(out, "!!! limit ");
        tp_format_text(out, ev->limit.name ? ev->limit.name : "?");
        if (ev->limit.value) /* 0: a limit without a value (interrupted) */
            st_buf_addf(out, "=%" PRIu64, ev->limit.value);
        if (ev->limit.detail && *ev->limit.detail) {
            st_buf_puts(out, ": ");
            tp_format_text(out, ev->limit.detail);
        }
        st_buf_puts(out, " !!!");
        break;
    case TRACE_EV_VIOLATION:
        st_buf_puts(out, "!!! violation: ");
        tp_format_text(out, ev->violation.text ? ev->violation.text : "");
        if (ev->violation.len) {
            st_buf_puts(out, " ");
            tp_format_bytes(out, ev->violation.data, ev->violation.len, o);
        }
        st_buf_puts(out, " !!!");
        break;
    case TRACE_EV_NOTE:
        st_buf_puts(out, "--- note: ");
        tp_format_text(out, ev->note.text ? ev->note.text : "");
        st_buf_puts(out, " ---");
        break;
    default:
        st_buf_addf(out, "??? event of kind %d", (int)ev->kind);
        break;
    }
}

/* ------------------------------------------------------------------------
 * The printer. */

struct tp_printer {
    struct tp_options o;
    FILE *f;
    struct st_buf *out;
    struct st_buf line;
    struct tc_collector *col;
    uint64_t last_ns;
    int have_last;
    struct tp_fdtab fdtab; /* -y */
};

struct tp_printer *tp_printer_new(const struct tp_options *o, FILE *f, struct st_buf *buf)
{
    struct tp_printer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (o)
        p->o = *o;
    else
        tp_options_init(&p->o);
    p->f = f;
    p->out = buf;
    st_buf_init(&p->line, 0);
    p->col = tc_collector_new();
    if (!p->col) {
        free(p);
        return NULL;
    }
    return p;
}

/* -t, -tt, -ttt: the wall-clock time of an event, strace's forms. */
static void abs_time(struct st_buf *b, int level, int64_t start, uint64_t ns)
{
    int64_t t = start + (int64_t)ns;
    int64_t sec = t / 1000000000, us = t % 1000000000 / 1000;
    if (us < 0) {
        us += 1000000;
        sec--;
    }
    if (level >= 3) {
        st_buf_addf(b, "%" PRId64 ".%06" PRId64, sec, us);
        return;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if (!localtime_r(&tt, &tm)) {
        st_buf_puts(b, "??:??:??");
        return;
    }
    st_buf_addf(b, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (level == 2)
        st_buf_addf(b, ".%06" PRId64, us);
}

static void prefix(struct tp_printer *p, uint64_t seq, uint64_t ns)
{
    if (p->o.no_prefix)
        return;
    st_buf_addf(&p->line, "%" PRIu64 " ", seq);
    if (p->o.absolute) {
        abs_time(&p->line, p->o.absolute, p->o.start_unix_ns, ns);
    } else if (p->o.relative) {
        uint64_t d = p->have_last && ns >= p->last_ns ? ns - p->last_ns : 0;
        st_buf_puts(&p->line, " ");
        fmt_secs(&p->line, d);
    } else {
        st_buf_puts(&p->line, "+");
        fmt_secs(&p->line, ns);
    }
    st_buf_puts(&p->line, " ");
    p->last_ns = ns;
    p->have_last = 1;
}

static void emit(struct tp_printer *p)
{
    st_buf_puts(&p->line, "\n");
    if (p->f)
        fwrite(p->line.data, 1, p->line.len, p->f);
    else if (p->out)
        st_buf_add(p->out, p->line.data, p->line.len);
    st_buf_reset(&p->line);
}

/* A memory command of a call, back as an event, for the raw lines. */
static void mem_event(const struct tc_mem *m, uint64_t req_seq, struct trace_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = m->kind;
    ev->seq = m->seq;
    ev->time_ns = m->time_ns;
    ev->req_seq = req_seq;
    if (m->kind == TRACE_EV_SET_ERRNO) {
        ev->set_errno.value = m->err;
    } else {
        ev->mem.ptr = m->ptr;
        ev->mem.size = m->size;
        ev->mem.data = m->data;
        ev->mem.len = m->kept;
    }
}

void tp_printer_print_item(struct tp_printer *p, const struct tc_item *it)
{
    if (it->kind == TC_ITEM_CALL) {
        const struct tc_call *c = &it->call;
        if (p->o.fd_paths)
            p->o.fdtab = &p->fdtab;
        if (!tp_filter_match(p->o.filter, c)) {
            if (p->o.fd_paths)
                tp_fdtab_update(&p->fdtab, c); /* hidden calls still open and close files */
            return;
        }
        prefix(p, c->seq, c->time_ns);
        tp_format_call(&p->line, c, &p->o);
        emit(p);
        if (p->o.fd_paths)
            tp_fdtab_update(&p->fdtab, c);
        if (!p->o.raw)
            return;
        for (size_t i = 0; i < c->nmem; i++) {
            struct trace_event ev;
            mem_event(&c->mem[i], c->seq, &ev);
            prefix(p, ev.seq, ev.time_ns);
            st_buf_puts(&p->line, "  ");
            tp_format_event(&p->line, &ev, &p->o);
            emit(p);
        }
        if (c->finished) {
            struct trace_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = TRACE_EV_RESULT;
            ev.result.kind = c->result_kind;
            ev.result.value = c->result;
            prefix(p, c->end_seq, c->end_time_ns);
            st_buf_puts(&p->line, "  ");
            tp_format_event(&p->line, &ev, &p->o);
            emit(p);
        }
    } else if (it->kind == TC_ITEM_EVENT) {
        prefix(p, it->ev.seq, it->ev.time_ns);
        int part = 0;
        switch (it->ev.kind) {
        case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
        case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE: case TRACE_EV_SET_ERRNO: case TRACE_EV_RESULT:
            part = 1;
            break;
        default:
            break;
        }
        /* A part of a call shown alone: the range (--events) starts after
         * its request (dump --raw), or it belongs to no request. */
        int before = part && it->ev.req_seq != TRACE_SEQ_NONE && it->ev.req_seq < p->o.range_first;
        if (part)
            st_buf_puts(&p->line, before ? "  " : "??? outside any request: ");
        tp_format_event(&p->line, &it->ev, &p->o);
        if (before)
            st_buf_addf(&p->line, " (of the call at event %" PRIu64 ")", it->ev.req_seq);
        emit(p);
    }
}

static void drain(struct tp_printer *p)
{
    struct tc_item it;
    while (tc_collector_pop(p->col, &it)) {
        tp_printer_print_item(p, &it);
        tc_item_release(&it);
    }
}

int tp_printer_add_event(struct tp_printer *p, const struct trace_event *ev)
{
    int rc = tc_collector_add(p->col, ev);
    drain(p);
    return rc;
}

void tp_printer_finish(struct tp_printer *p)
{
    tc_collector_finish(p->col);
    drain(p);
}

void tp_printer_free(struct tp_printer *p)
{
    if (!p)
        return;
    tc_collector_free(p->col);
    st_buf_release(&p->line);
    tp_fdtab_release(&p->fdtab);
    free(p);
}
