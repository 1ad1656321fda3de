/* sandtrace export: a trace as JSON lines (one object per event, for
 * scripts and jq) or as a Perfetto / chrome://tracing timeline. The JSON
 * lines schema is documented in docs/sandtrace.1 (EXPORT SCHEMA); fields
 * are only ever added, never renamed or removed, within schema 1. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/trace_calls.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"

#define EXPORT_TEXT_MAX 4096 /* bytes of guest output attached to one Perfetto event */
#define EXPORT_WARN_BYTES 1000000000ull /* a Perfetto output larger than this gets a warning */
#define EXPORT_ESTIMATE_AFTER (4u << 20) /* input bytes read before the size is estimated */

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: sandtrace export [OPTIONS] TRACE\n"
            "\n"
            "Export a trace for other tools. TRACE may be '-' for stdin. Options may come\n"
            "before or after TRACE.\n"
            "  --format jsonl     one JSON object per event (default), after a header line\n"
            "                     (\"kind\":\"header\", \"schema_version\":1); the schema is in\n"
            "                     'man sandtrace' (EXPORT SCHEMA). Data bytes are JSON strings\n"
            "                     read as ISO-8859-1: encode back to Latin-1 to get the bytes.\n"
            "  --format perfetto  a Chrome Trace Event JSON timeline for ui.perfetto.dev and\n"
            "                     chrome://tracing: one slice per call with its decoded text,\n"
            "                     guest output and the exit as instant events. A warning says\n"
            "                     when the output will be larger than 1 GB.\n"
            "\n"
            "options:\n"
            "  -o, --output FILE  write to FILE instead of stdout (never over TRACE; FILE\n"
            "                   appears only once complete)\n"
            "  -e trace=SET     only these calls (as in dump); other events are kept\n"
            "  --events A..B    only events A to B (jsonl; perfetto: calls starting in A..B)\n"
            "  --recover        skip damaged regions of the trace instead of stopping; what\n"
            "                   was skipped is said on stderr, and the exit status is 5\n"
            "  -q, --quiet      no progress line, no size warning\n"
            "  -h, --help       this help\n"
            "\n"
            "exit status: 0 ok, 2 usage, 4 cannot open TRACE (missing, a directory, not a\n"
            "trace), 5 TRACE damaged or cut short (the output covers what could be read, and\n"
            "is still valid JSON), 6 cannot write the output.\n");
}

static void json_hex(struct st_buf *b, uint64_t v)
{
    st_buf_addf(b, "\"0x%" PRIx64 "\"", v);
}

/* A raw 8-byte value by wire kind: integers signed, pointers as hex strings,
 * floats as numbers (non-finite ones as strings). */
static void json_wire(struct st_buf *b, char kind, uint64_t v)
{
    if (kind == 'p') {
        json_hex(b, v);
    } else if (kind == 'f') {
        double d;
        memcpy(&d, &v, sizeof d);
        if (d != d || d > 1.7976931348623157e308 || d < -1.7976931348623157e308)
            st_buf_addf(b, "\"%g\"", d);
        else
            st_buf_addf(b, "%.17g", d);
    } else if (kind == 'v') {
        st_buf_puts(b, "null");
    } else {
        st_buf_addf(b, "%" PRId64, (int64_t)v);
    }
}

static void json_key_str(struct st_buf *b, const char *key, const char *s)
{
    st_buf_addf(b, ",\"%s\":", key);
    if (s)
        tcli_json_str(b, s, strlen(s));
    else
        st_buf_puts(b, "null");
}

static void json_request(struct st_buf *b, const struct trace_event *ev)
{
    char name[TRACE_MAX_SIG_LEN + 1], kinds[TRACE_MAX_ARGS + 1], res;
    const char *sig = ev->request.sig ? ev->request.sig : "";
    tc_parse_sig(sig, name, sizeof name, kinds, sizeof kinds, &res);
    const struct st_sig *reg = st_registry_lookup(sig, strlen(sig));
    json_key_str(b, "sig", sig);
    json_key_str(b, "name", name);
    json_key_str(b, "class", reg ? st_sig_class_name(reg->cls) : NULL);
    st_buf_puts(b, ",\"args\":[");
    for (size_t i = 0; i < ev->request.nargs && i < TRACE_MAX_ARGS; i++) {
        if (i)
            st_buf_puts(b, ",");
        json_wire(b, i < strlen(kinds) ? kinds[i] : 'i', ev->request.args[i]);
    }
    st_buf_puts(b, "]");
}

static void json_result(struct st_buf *b, const struct trace_event *ev, const struct tc_call *done,
                        const struct tp_options *po)
{
    st_buf_addf(b, ",\"result_kind\":\"%c\",\"value\":", ev->result.kind);
    json_wire(b, ev->result.kind, ev->result.value);
    if (!done)
        return;
    struct st_buf line;
    st_buf_init(&line, 0);
    tp_format_call(&line, done, po);
    json_key_str(b, "call", line.data);
    st_buf_release(&line);
    st_buf_addf(b, ",\"duration_ns\":%" PRIu64 ",\"failed\":%s",
                done->end_time_ns >= done->time_ns ? done->end_time_ns - done->time_ns : 0,
                tc_call_failed(done) ? "true" : "false");
}

/* The members of the events that are not part of a call. */
static void json_other(struct st_buf *b, const struct trace_event *ev)
{
    switch (ev->kind) {
    case TRACE_EV_GUEST_STDERR:
        st_buf_addf(b, ",\"len\":%zu,\"data\":", ev->guest_stderr.len);
        tcli_json_str(b, ev->guest_stderr.data, ev->guest_stderr.len);
        break;
    case TRACE_EV_GUEST_EXIT:
        st_buf_addf(b, ",\"code\":%" PRId32 ",\"signal\":%" PRId32, ev->guest_exit.code,
                    ev->guest_exit.signal);
        json_key_str(b, "signal_name", tp_signal_name(ev->guest_exit.signal));
        json_key_str(b, "reason", ev->guest_exit.reason);
        break;
    case TRACE_EV_LIMIT:
        json_key_str(b, "name", ev->limit.name);
        st_buf_addf(b, ",\"value\":%" PRIu64, ev->limit.value);
        json_key_str(b, "detail", ev->limit.detail);
        break;
    case TRACE_EV_VIOLATION:
        json_key_str(b, "text", ev->violation.text);
        st_buf_addf(b, ",\"len\":%zu,\"data\":", ev->violation.len);
        tcli_json_str(b, ev->violation.data, ev->violation.len);
        break;
    case TRACE_EV_NOTE:
        json_key_str(b, "text", ev->note.text);
        break;
    default:
        break;
    }
}

static void json_event(struct st_buf *b, const struct trace_event *ev, const struct tc_call *done,
                       const struct tp_options *po)
{
    st_buf_addf(b, "{\"seq\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"kind\":\"%s\"", ev->seq,
                ev->time_ns, trace_event_kind_name(ev->kind));
    if (ev->kind >= TRACE_EV_MEM_READ && ev->kind <= TRACE_EV_RESULT) {
        /* The request it answers; null for one outside any request. */
        if (ev->req_seq != TRACE_SEQ_NONE)
            st_buf_addf(b, ",\"req_seq\":%" PRIu64, ev->req_seq);
        else
            st_buf_puts(b, ",\"req_seq\":null");
    }
    switch (ev->kind) {
    case TRACE_EV_REQUEST:
        json_request(b, ev);
        break;
    case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
        st_buf_puts(b, ",\"ptr\":");
        json_hex(b, ev->mem.ptr);
        if (ev->kind == TRACE_EV_MEM_READ_STR)
            st_buf_addf(b, ",\"maxlen\":%" PRId64, (int64_t)ev->mem.size);
        st_buf_addf(b, ",\"len\":%zu,\"data\":", ev->mem.len);
        tcli_json_str(b, ev->mem.data, ev->mem.len);
        break;
    case TRACE_EV_MEM_FREE:
        st_buf_puts(b, ",\"ptr\":");
        json_hex(b, ev->mem.ptr);
        break;
    case TRACE_EV_SET_ERRNO:
        st_buf_addf(b, ",\"errno\":%" PRId32, ev->set_errno.value);
        json_key_str(b, "errno_name", tp_errno_name(ev->set_errno.value));
        break;
    case TRACE_EV_RESULT:
        json_result(b, ev, done, po);
        break;
    default:
        json_other(b, ev);
        break;
    }
    st_buf_puts(b, "}\n");
}

/* The first line of the JSON lines: what the trace is. */
static void json_header(struct st_buf *b, const struct trace_header *h)
{
    st_buf_puts(b, "{\"schema_version\":1,\"kind\":\"header\",\"generator\":\"sandtrace "
                   SANDTRACE_VERSION "\"");
    st_buf_addf(b, ",\"format_major\":%u,\"format_minor\":%u,\"created_unix_ns\":%" PRId64,
                h->format_major, h->format_minor, h->created_unix_ns);
    json_key_str(b, "exe_path", h->guest_exe_path);
    st_buf_puts(b, ",\"argv\":[");
    for (size_t i = 0; i < h->guest_argc; i++) {
        if (i)
            st_buf_puts(b, ",");
        tcli_json_str(b, h->guest_argv[i], strlen(h->guest_argv[i]));
    }
    st_buf_addf(b, "],\"keyed\":%s}\n", h->keyed ? "true" : "false");
}

/* What every exporter shares. */
struct export {
    struct tcli_trace *t;
    struct tcli_out *out;
    const struct tcli_common *c;
    struct tp_options po;
    struct st_buf b;
    uint64_t written;        /* bytes handed to the output */
    int warned;              /* the size warning was given (or cannot be) */
};

/* Hands the buffer to the output when it is large (or `force`); 1 when the
 * output failed. The first time enough of the input was read, estimates the
 * whole output's size and warns when it is large. */
static int export_flush(struct export *x, int force, const char *what)
{
    if (!force && x->b.len < (1u << 20))
        return 0;
    x->written += x->b.len;
    int failed = tcli_out_buf(x->out, &x->b);
    uint64_t in = x->t->bytes_read, total = x->t->total;
    int whole = x->c->first == 0 && x->c->last == UINT64_MAX; /* a range: cannot tell */
    if (!x->warned && what && whole && total && in >= EXPORT_ESTIMATE_AFTER && in < total) {
        x->warned = 1;
        uint64_t estimate = (uint64_t)((double)x->written * (double)total / (double)in);
        if (estimate > EXPORT_WARN_BYTES) {
            progress_end(&x->t->pg);
            fprintf(stderr,
                    "sandtrace export: warning: the %s output will be about %.1f GB (%.1f GB "
                    "written after %.0f%% of the trace); ui.perfetto.dev may not load it: "
                    "--events A..B or -e trace=SET export a part\n",
                    what, (double)estimate / 1e9, (double)x->written / 1e9,
                    100.0 * (double)in / (double)total);
        }
    }
    return failed;
}

/* The call's REQUEST shown or hidden by -e (its parts follow the request). */
static int export_request_shown(const struct export *x, const struct trace_event *ev)
{
    if (!x->c->filter)
        return 1;
    static struct tc_call call;
    memset(&call, 0, sizeof call);
    const char *sig = ev->request.sig ? ev->request.sig : "";
    snprintf(call.sig, sizeof call.sig, "%s", sig);
    char res;
    tc_parse_sig(sig, call.name, sizeof call.name, call.arg_kinds, sizeof call.arg_kinds, &res);
    call.reg = st_registry_lookup(sig, strlen(sig));
    return tp_filter_match(x->c->filter, &call);
}

/* Hands the finished call of a RESULT out of the collector (for its
 * decoded text); the items the collector made are released. */
static void export_pop_done(struct tc_collector *col, const struct trace_event *ev,
                            struct tc_item *done, int *have_done)
{
    struct tc_item it;
    *have_done = 0;
    memset(done, 0, sizeof *done);
    while (tc_collector_pop(col, &it)) {
        if (ev->kind == TRACE_EV_RESULT && it.kind == TC_ITEM_CALL && it.call.seq == ev->req_seq &&
            it.call.finished && !*have_done) {
            *done = it;
            *have_done = 1;
        } else {
            tc_item_release(&it);
        }
    }
}

static int export_jsonl(struct export *x)
{
    struct trace_reader *r = x->t->r;
    struct tc_collector *col = tc_collector_new();
    if (!col)
        return TRACE_E_NOMEM;
    json_header(&x->b, trace_reader_header(r));
    int rc = 0;
    if (x->c->first > 0 && (rc = trace_reader_seek(r, x->c->first)) < 0 &&
        rc != TRACE_E_UNSUPPORTED) {
        if (rc == TRACE_E_RANGE)
            rc = 0;
        goto out;
    }
    uint64_t hidden = TRACE_SEQ_NONE;
    struct trace_event ev;
    while ((rc = trace_reader_next(r, &ev)) > 0) {
        if (ev.seq < x->c->first)
            continue;
        if (ev.seq > x->c->last)
            break;
        if (ev.kind == TRACE_EV_REQUEST)
            hidden = export_request_shown(x, &ev) ? TRACE_SEQ_NONE : ev.seq;
        else if (ev.kind >= TRACE_EV_MEM_READ && ev.kind <= TRACE_EV_RESULT &&
                 hidden != TRACE_SEQ_NONE && ev.req_seq == hidden)
            continue;
        if (ev.kind == TRACE_EV_REQUEST && hidden != TRACE_SEQ_NONE)
            continue;
        if (tc_collector_add(col, &ev) < 0) {
            rc = TRACE_E_NOMEM;
            break;
        }
        struct tc_item done;
        int have_done;
        export_pop_done(col, &ev, &done, &have_done);
        json_event(&x->b, &ev, have_done ? &done.call : NULL, &x->po);
        tc_item_release(&done);
        if (export_flush(x, 0, NULL))
            break;
    }
out:
    export_flush(x, 1, NULL);
    tc_collector_free(col);
    return rc;
}

static void ts_us(struct st_buf *b, uint64_t ns)
{
    st_buf_addf(b, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

static void perfetto_head(struct st_buf *b, const struct trace_header *h)
{
    const char *exe = h && h->guest_exe_path ? h->guest_exe_path : "guest";
    st_buf_puts(b, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"schema_version\":1,"
                   "\"generator\":\"sandtrace " SANDTRACE_VERSION "\",\"guest\":");
    tcli_json_str(b, exe, strlen(exe));
    st_buf_puts(b, "},\"traceEvents\":[\n");
    st_buf_puts(b, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":");
    tcli_json_str(b, exe, strlen(exe));
    st_buf_puts(b, "}},\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":"
                   "{\"name\":\"calls\"}},\n"
                   "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":"
                   "{\"name\":\"output\"}}");
}

/* What the guest wrote on its fds 1 and 2: an instant on the output track. */
static void perfetto_output(struct st_buf *b, const struct tc_call *c)
{
    if (!c->reg || (c->reg->id != ST_SIG_write && c->reg->id != ST_SIG_pwrite) || c->nargs < 2 ||
        (c->args[0] != 1 && c->args[0] != 2))
        return;
    const struct tc_mem *m = tc_call_find(c, TRACE_EV_MEM_READ, c->args[1], 0);
    if (!m)
        return;
    size_t n = m->kept < EXPORT_TEXT_MAX ? m->kept : EXPORT_TEXT_MAX;
    st_buf_addf(b, ",\n{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"ts\":",
                c->args[0] == 1 ? "stdout" : "stderr");
    ts_us(b, c->time_ns);
    st_buf_puts(b, ",\"pid\":1,\"tid\":2,\"args\":{\"text\":");
    tcli_json_str(b, m->data, n);
    st_buf_addf(b, ",\"len\":%zu}}", m->len);
}

static void perfetto_call(struct st_buf *b, struct st_buf *line, const struct tc_call *c,
                          const struct tp_options *po)
{
    st_buf_reset(line);
    tp_format_call(line, c, po);
    st_buf_puts(b, ",\n{\"name\":");
    tcli_json_str(b, c->name, strlen(c->name));
    st_buf_puts(b, ",\"cat\":");
    const char *cls = c->reg ? st_sig_class_name(c->reg->cls) : "unknown";
    tcli_json_str(b, cls, strlen(cls));
    st_buf_puts(b, ",\"ph\":\"X\",\"ts\":");
    ts_us(b, c->time_ns);
    st_buf_puts(b, ",\"dur\":");
    ts_us(b, c->end_time_ns >= c->time_ns ? c->end_time_ns - c->time_ns : 0);
    st_buf_addf(b, ",\"pid\":1,\"tid\":1,\"args\":{\"seq\":%" PRIu64 ",\"call\":", c->seq);
    tcli_json_str(b, line->data, line->len);
    st_buf_addf(b, ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64, c->bytes_to_guest,
                c->bytes_from_guest);
    if (!c->finished)
        st_buf_puts(b, ",\"unfinished\":true");
    else if (tc_call_failed(c) && c->has_errno)
        json_key_str(b, "errno", tp_errno_name(c->err));
    st_buf_puts(b, "}}");
    perfetto_output(b, c);
}

static void perfetto_event(struct st_buf *b, struct st_buf *line, const struct trace_event *ev,
                           const struct tp_options *po)
{
    st_buf_reset(line);
    tp_format_event(line, ev, po);
    const char *name = trace_event_kind_name(ev->kind);
    int tid = ev->kind == TRACE_EV_GUEST_STDERR ? 2 : 1;
    const char *scope = ev->kind == TRACE_EV_GUEST_EXIT ? "p" : "t";
    st_buf_addf(b, ",\n{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"%s\",\"ts\":",
                ev->kind == TRACE_EV_GUEST_STDERR ? "real stderr" : name, scope);
    ts_us(b, ev->time_ns);
    st_buf_addf(b, ",\"pid\":1,\"tid\":%d,\"args\":{\"seq\":%" PRIu64 ",\"text\":", tid, ev->seq);
    if (ev->kind == TRACE_EV_GUEST_STDERR) {
        size_t n = ev->guest_stderr.len < EXPORT_TEXT_MAX ? ev->guest_stderr.len : EXPORT_TEXT_MAX;
        tcli_json_str(b, ev->guest_stderr.data, n);
    } else {
        tcli_json_str(b, line->data, line->len);
    }
    st_buf_puts(b, "}}");
}

static int export_perfetto(struct export *x)
{
    perfetto_head(&x->b, trace_reader_header(x->t->r));
    struct tc_source src;
    int rc = tc_source_init(&src, x->t->r, x->c->first, x->c->last);
    struct tc_item it;
    struct st_buf line;
    st_buf_init(&line, 0);
    while (rc >= 0 && (rc = tc_source_next(&src, &it)) > 0) {
        if (it.kind == TC_ITEM_CALL) {
            if (tp_filter_match(x->c->filter, &it.call))
                perfetto_call(&x->b, &line, &it.call, &x->po);
        } else {
            perfetto_event(&x->b, &line, &it.ev, &x->po);
        }
        tc_item_release(&it);
        if (export_flush(x, 0, "Perfetto"))
            break;
    }
    st_buf_puts(&x->b, "\n]}\n");
    export_flush(x, 1, NULL);
    st_buf_release(&line);
    tc_source_release(&src);
    return rc;
}

enum { O_FORMAT = TCLI_O_OWN };

static const struct opt_spec export_specs[] = {
    TCLI_OPT_EXPR, TCLI_OPT_EVENTS, TCLI_OPT_RECOVER, TCLI_OPT_OUTPUT, TCLI_OPT_QUIET, TCLI_OPT_HELP,
    { O_FORMAT, 0, "format", OPT_REQ },
    OPT_SPEC_END,
};

/* 0, ST_EXIT_USAGE (printed), or -1 after --help. */
static int export_parse(struct opt_parser *p, struct tcli_common *c, int *perfetto)
{
    for (int id; (id = tcli_next_option(c, p)) != OPT_DONE;) {
        if (id == OPT_ERROR)
            return ST_EXIT_USAGE;
        if (id == TCLI_O_HELP) {
            export_usage(stdout);
            return -1;
        }
        if (strcmp(p->arg, "jsonl") && strcmp(p->arg, "perfetto"))
            return opt_usage(p, "option '--format': unknown format '%s' (jsonl or perfetto)",
                             p->arg);
        *perfetto = !strcmp(p->arg, "perfetto");
    }
    return tcli_check_operands(p, 1, "TRACE");
}

int cmd_export(int argc, char **argv)
{
    struct tcli_common c;
    tcli_common_init(&c);
    struct opt_parser p;
    opt_init(&p, "export", export_specs, argc, argv, 0);
    int perfetto = 0;
    int status = export_parse(&p, &c, &perfetto);
    const char *path = p.noperands ? p.operands[0] : NULL;
    struct tcli_trace t;
    struct tcli_out out;
    if (!status && (status = tcli_trace_open(&t, "export", path, c.recover, c.quiet)) == 0 &&
        (status = tcli_out_open(&out, "export", c.outpath, &path, 1)) != 0)
        tcli_trace_close(&t);
    if (status) {
        opt_release(&p);
        tcli_common_release(&c);
        return status < 0 ? ST_EXIT_OK : status;
    }
    struct export x = { .t = &t, .out = &out, .c = &c, .warned = c.quiet };
    tp_options_init(&x.po);
    st_buf_init(&x.b, 0);
    int rc = perfetto ? export_perfetto(&x) : export_jsonl(&x);
    status = tcli_trace_end(&t, rc);
    int ostatus = tcli_out_close(&out);
    st_buf_release(&x.b);
    tcli_trace_close(&t);
    opt_release(&p);
    tcli_common_release(&c);
    return ostatus ? ostatus : status;
}
