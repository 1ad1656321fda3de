/* sandtrace export: a trace as JSON lines (one object per event, for
 * scripts and jq) or as a Perfetto / chrome://tracing timeline. The JSON
 * lines schema is documented in docs/sandtrace.1 (EXPORT SCHEMA); fields
 * are only ever added, never renamed or removed, within schema 1. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/trace_calls.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"

#define EXPORT_TEXT_MAX 4096 /* bytes of guest output attached to one Perfetto event */

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: sandtrace export [OPTIONS] TRACE\n"
            "\n"
            "Export a trace for other tools.\n"
            "  --format jsonl     one JSON object per event (default); the schema is in\n"
            "                     'man sandtrace' (EXPORT SCHEMA). Data bytes are JSON strings\n"
            "                     read as ISO-8859-1: encode back to Latin-1 to get the bytes.\n"
            "  --format perfetto  a Chrome Trace Event JSON timeline for ui.perfetto.dev and\n"
            "                     chrome://tracing: one slice per call with its decoded text,\n"
            "                     guest output and the exit as instant events.\n"
            "\n"
            "options:\n"
            "  -o FILE          write to FILE instead of stdout\n"
            "  --events A..B    only events A to B (jsonl; perfetto: calls starting in A..B)\n"
            "  --recover        skip damaged regions of the trace instead of stopping\n"
            "  -h, --help       this help\n"
            "\n"
            "exit status: 0 ok, 2 usage, 4 cannot open TRACE, 5 TRACE damaged or truncated\n"
            "(the output covers what could be read, and is still valid JSON), 6 cannot write.\n");
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

static void json_event(struct st_buf *b, const struct trace_event *ev, const struct tc_call *done,
                       const struct tp_options *po)
{
    st_buf_addf(b, "{\"seq\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"kind\":\"%s\"", ev->seq, ev->time_ns,
                trace_event_kind_name(ev->kind));
    if (ev->kind >= TRACE_EV_MEM_READ && ev->kind <= TRACE_EV_RESULT && ev->req_seq != TRACE_SEQ_NONE)
        st_buf_addf(b, ",\"req_seq\":%" PRIu64, ev->req_seq);
    switch (ev->kind) {
    case TRACE_EV_REQUEST: {
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
        break;
    }
    case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE: case TRACE_EV_MEM_ALLOC:
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
        st_buf_addf(b, ",\"result_kind\":\"%c\",\"value\":", ev->result.kind);
        json_wire(b, ev->result.kind, ev->result.value);
        if (done) {
            struct st_buf line;
            st_buf_init(&line, 0);
            tp_format_call(&line, done, po);
            json_key_str(b, "call", line.data);
            st_buf_release(&line);
            st_buf_addf(b, ",\"duration_ns\":%" PRIu64 ",\"failed\":%s",
                        done->end_time_ns >= done->time_ns ? done->end_time_ns - done->time_ns : 0,
                        tc_call_failed(done) ? "true" : "false");
        }
        break;
    case TRACE_EV_GUEST_STDERR:
        st_buf_addf(b, ",\"len\":%zu,\"data\":", ev->guest_stderr.len);
        tcli_json_str(b, ev->guest_stderr.data, ev->guest_stderr.len);
        break;
    case TRACE_EV_GUEST_EXIT:
        st_buf_addf(b, ",\"code\":%" PRId32 ",\"signal\":%" PRId32, ev->guest_exit.code, ev->guest_exit.signal);
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
    st_buf_puts(b, "}\n");
}

static int export_jsonl(struct trace_reader *r, FILE *out, uint64_t first, uint64_t last)
{
    struct tc_collector *col = tc_collector_new();
    if (!col)
        return TRACE_E_NOMEM;
    struct tp_options po;
    tp_options_init(&po);
    struct st_buf b;
    st_buf_init(&b, 0);
    int rc = 0;
    if (first > 0 && (rc = trace_reader_seek(r, first)) < 0 && rc != TRACE_E_UNSUPPORTED) {
        if (rc == TRACE_E_RANGE)
            rc = 0;
        goto out;
    }
    struct trace_event ev;
    while ((rc = trace_reader_next(r, &ev)) > 0) {
        if (ev.seq < first)
            continue;
        if (ev.seq > last)
            break;
        if (tc_collector_add(col, &ev) < 0) {
            rc = TRACE_E_NOMEM;
            break;
        }
        struct tc_item it, done;
        int have_done = 0;
        memset(&done, 0, sizeof done);
        while (tc_collector_pop(col, &it)) {
            if (ev.kind == TRACE_EV_RESULT && it.kind == TC_ITEM_CALL && it.call.seq == ev.req_seq &&
                it.call.finished && !have_done) {
                done = it;
                have_done = 1;
            } else {
                tc_item_release(&it);
            }
        }
        json_event(&b, &ev, have_done ? &done.call : NULL, &po);
        tc_item_release(&done);
        if (b.len > 1 << 20 && tcli_flush(&b, out) < 0)
            break;
    }
out:
    tcli_flush(&b, out);
    st_buf_release(&b);
    tc_collector_free(col);
    return rc;
}

static void ts_us(struct st_buf *b, uint64_t ns)
{
    st_buf_addf(b, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
}

static int export_perfetto(struct trace_reader *r, FILE *out, uint64_t first, uint64_t last)
{
    const struct trace_header *h = trace_reader_header(r);
    struct tp_options po;
    tp_options_init(&po);
    struct st_buf b;
    st_buf_init(&b, 0);
    const char *exe = h && h->guest_exe_path ? h->guest_exe_path : "guest";
    st_buf_puts(&b, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"sandtrace " SANDTRACE_VERSION
                    "\",\"guest\":");
    tcli_json_str(&b, exe, strlen(exe));
    st_buf_puts(&b, "},\"traceEvents\":[\n");
    st_buf_puts(&b, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":");
    tcli_json_str(&b, exe, strlen(exe));
    st_buf_puts(&b, "}},\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"calls\"}},\n"
                    "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":2,\"args\":{\"name\":\"output\"}}");
    struct tc_source src;
    int rc = tc_source_init(&src, r, first, last);
    struct tc_item it;
    struct st_buf line;
    st_buf_init(&line, 0);
    while (rc >= 0 && (rc = tc_source_next(&src, &it)) > 0) {
        if (it.kind == TC_ITEM_CALL) {
            const struct tc_call *c = &it.call;
            st_buf_reset(&line);
            tp_format_call(&line, c, &po);
            st_buf_puts(&b, ",\n{\"name\":");
            tcli_json_str(&b, c->name, strlen(c->name));
            st_buf_puts(&b, ",\"cat\":");
            const char *cls = c->reg ? st_sig_class_name(c->reg->cls) : "unknown";
            tcli_json_str(&b, cls, strlen(cls));
            st_buf_puts(&b, ",\"ph\":\"X\",\"ts\":");
            ts_us(&b, c->time_ns);
            st_buf_puts(&b, ",\"dur\":");
            ts_us(&b, c->end_time_ns >= c->time_ns ? c->end_time_ns - c->time_ns : 0);
            st_buf_addf(&b, ",\"pid\":1,\"tid\":1,\"args\":{\"seq\":%" PRIu64 ",\"call\":", c->seq);
            tcli_json_str(&b, line.data, line.len);
            st_buf_addf(&b, ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64, c->bytes_to_guest,
                        c->bytes_from_guest);
            if (!c->finished)
                st_buf_puts(&b, ",\"unfinished\":true");
            else if (tc_call_failed(c) && c->has_errno)
                json_key_str(&b, "errno", tp_errno_name(c->err));
            st_buf_puts(&b, "}}");
            /* What the guest wrote on its fds 1 and 2: an instant on the output track. */
            if (c->reg && (c->reg->id == ST_SIG_write || c->reg->id == ST_SIG_pwrite) && c->nargs >= 2 &&
                (c->args[0] == 1 || c->args[0] == 2)) {
                const struct tc_mem *m = tc_call_find(c, TRACE_EV_MEM_READ, c->args[1], 0);
                if (m) {
                    size_t n = m->kept < EXPORT_TEXT_MAX ? m->kept : EXPORT_TEXT_MAX;
                    st_buf_addf(&b, ",\n{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"ts\":",
                                c->args[0] == 1 ? "stdout" : "stderr");
                    ts_us(&b, c->time_ns);
                    st_buf_puts(&b, ",\"pid\":1,\"tid\":2,\"args\":{\"text\":");
                    tcli_json_str(&b, m->data, n);
                    st_buf_addf(&b, ",\"len\":%zu}}", m->len);
                }
            }
        } else {
            const struct trace_event *ev = &it.ev;
            st_buf_reset(&line);
            tp_format_event(&line, ev, &po);
            const char *name = trace_event_kind_name(ev->kind);
            int tid = ev->kind == TRACE_EV_GUEST_STDERR ? 2 : 1;
            const char *scope = ev->kind == TRACE_EV_GUEST_EXIT ? "p" : "t";
            st_buf_addf(&b, ",\n{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"%s\",\"ts\":",
                        ev->kind == TRACE_EV_GUEST_STDERR ? "real stderr" : name, scope);
            ts_us(&b, ev->time_ns);
            st_buf_addf(&b, ",\"pid\":1,\"tid\":%d,\"args\":{\"seq\":%" PRIu64 ",\"text\":", tid, ev->seq);
            if (ev->kind == TRACE_EV_GUEST_STDERR) {
                size_t n = ev->guest_stderr.len < EXPORT_TEXT_MAX ? ev->guest_stderr.len : EXPORT_TEXT_MAX;
                tcli_json_str(&b, ev->guest_stderr.data, n);
            } else {
                tcli_json_str(&b, line.data, line.len);
            }
            st_buf_puts(&b, "}}");
        }
        tc_item_release(&it);
        if (b.len > 1 << 20 && tcli_flush(&b, out) < 0)
            break;
    }
    st_buf_puts(&b, "\n]}\n");
    tcli_flush(&b, out);
    st_buf_release(&b);
    st_buf_release(&line);
    tc_source_release(&src);
    return rc;
}

enum { OPT_FORMAT = 256, OPT_EVENTS, OPT_RECOVER };

int cmd_export(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "format", required_argument, NULL, OPT_FORMAT },
        { "events", required_argument, NULL, OPT_EVENTS },
        { "recover", no_argument, NULL, OPT_RECOVER },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *format = "jsonl", *outpath = NULL;
    uint64_t first = 0, last = UINT64_MAX;
    int recover = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            if (strcmp(optarg, "jsonl") && strcmp(optarg, "perfetto")) {
                fprintf(stderr, "sandtrace export: unknown format '%s' (jsonl or perfetto)\n", optarg);
                return ST_EXIT_USAGE;
            }
            format = optarg;
            break;
        case OPT_EVENTS:
            if (tcli_parse_range(optarg, &first, &last) < 0) {
                fprintf(stderr, "sandtrace export: bad event range '%s' (A..B, A.., ..B or N)\n", optarg);
                return ST_EXIT_USAGE;
            }
            break;
        case OPT_RECOVER: recover = 1; break;
        case 'o': outpath = optarg; break;
        case 'h':
            export_usage(stdout);
            return ST_EXIT_OK;
        default:
            fprintf(stderr, "sandtrace export: unknown option '%s'\n", argv[optind - 1]);
            export_usage(stderr);
            return ST_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "sandtrace export: expected one TRACE\n");
        export_usage(stderr);
        return ST_EXIT_USAGE;
    }
    const char *path = argv[optind];
    struct trace_reader *r = tcli_open("export", path, recover);
    if (!r)
        return TCLI_EXIT_TRACE;
    FILE *out = stdout;
    if (outpath && !(out = fopen(outpath, "w"))) {
        fprintf(stderr, "sandtrace export: cannot create '%s'\n", outpath);
        trace_reader_free(r);
        return TCLI_EXIT_OUTPUT;
    }
    int rc = !strcmp(format, "jsonl") ? export_jsonl(r, out, first, last)
                                      : export_perfetto(r, out, first, last);
    int status = ST_EXIT_OK;
    if (rc == TRACE_E_NOMEM) {
        fprintf(stderr, "sandtrace export: out of memory\n");
        status = TCLI_EXIT_DAMAGED;
    } else if (rc < 0) {
        status = tcli_read_error("export", path, r, rc);
    }
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "sandtrace export: cannot write the output\n");
        status = TCLI_EXIT_OUTPUT;
    }
    if (out != stdout)
        fclose(out);
    trace_reader_free(r);
    return status;
}
