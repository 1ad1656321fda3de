/* sandtrace stats: a per-function summary of a trace, like strace -c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/trace_calls.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"

struct fn_stat {
    char sig[TRACE_MAX_SIG_LEN + 1];
    char name[TRACE_MAX_SIG_LEN + 1];
    const char *cls;          /* registry class, or NULL */
    uint64_t calls, errors, unfinished;
    uint64_t ns;              /* time from request to result, finished calls */
    uint64_t bytes_in, bytes_out; /* into the guest (W, M), out of it (R, Z) */
    size_t order;             /* first seen */
};

enum sort_key { SORT_TIME, SORT_CALLS, SORT_ERRORS, SORT_NAME, SORT_BYTES_IN, SORT_BYTES_OUT, SORT_NOTHING };
static enum sort_key sort_by;

static int cmp_fn(const void *a, const void *b)
{
    const struct fn_stat *x = a, *y = b;
#define DESC(f) if (x->f != y->f) return x->f < y->f ? 1 : -1
    switch (sort_by) {
    case SORT_TIME: DESC(ns); break;
    case SORT_CALLS: DESC(calls); break;
    case SORT_ERRORS: DESC(errors); break;
    case SORT_BYTES_IN: DESC(bytes_in); break;
    case SORT_BYTES_OUT: DESC(bytes_out); break;
    case SORT_NAME: {
        int c = strcmp(x->name, y->name);
        if (c)
            return c;
        break;
    }
    case SORT_NOTHING: break;
    }
#undef DESC
    return x->order < y->order ? -1 : x->order > y->order;
}

static void stats_usage(FILE *f)
{
    fprintf(f,
            "usage: sandtrace stats [OPTIONS] TRACE\n"
            "\n"
            "Summarise a trace per function, like strace -c: share of the time, seconds,\n"
            "microseconds per call, calls, errors, and the bytes that went into the guest\n"
            "(W and M data: what it read) and out of it (R and Z data: what it wrote or named).\n"
            "The time of a call runs from its request to its result. TRACE may be '-' for\n"
            "stdin. Options may come before or after TRACE.\n"
            "\n"
            "options:\n"
            "  -S KEY           sort by time (default), calls, errors, name, bytes-in,\n"
            "                   bytes-out or nothing (order of first call)\n"
            "  -e trace=SET     count only these calls (as in dump)\n"
            "  --events A..B    only events A to B\n"
            "  -j, --json       one JSON object instead of the table\n"
            "  --recover        skip damaged regions of the trace instead of stopping; what\n"
            "                   was skipped is said on stderr, and the exit status is 5\n"
            "  -o, --output FILE  write to FILE instead of stdout (never over TRACE)\n"
            "  -q, --quiet      no progress line\n"
            "  -h, --help       this help\n"
            "\n"
            "exit status: 0 ok, 2 usage, 4 cannot open TRACE (missing, a directory, not a\n"
            "trace), 5 TRACE damaged or cut short (the summary covers what could be read),\n"
            "6 cannot write the output.\n");
}

static void fmt_secs(struct st_buf *b, uint64_t ns)
{
    st_buf_addf(b, "%" PRIu64 ".%06" PRIu64, ns / 1000000000u, ns / 1000u % 1000000u);
}

static void fmt_pct(struct st_buf *b, uint64_t part, uint64_t total)
{
    /* Hundredths of a percent, rounded, in integers (no float rounding surprises). */
    uint64_t h = total ? (uint64_t)(((unsigned __int128)part * 20000 + total) / (2 * total)) : 0;
    st_buf_addf(b, "%" PRIu64 ".%02" PRIu64, h / 100, h % 100);
}

/* What the reading gathered. */
struct stats {
    struct fn_stat *fns;
    size_t nfn, cap;
    struct fn_stat tot;
    int have_exit;
    int32_t exit_code, exit_signal;
    char exit_reason[256];
    uint64_t events;
};

static int stats_add_call(struct stats *s, const struct tc_call *call)
{
    size_t k;
    for (k = 0; k < s->nfn; k++)
        if (!strcmp(s->fns[k].sig, call->sig))
            break;
    if (k == s->nfn) {
        struct fn_stat *n = st_grow(s->fns, &s->cap, s->nfn + 1, sizeof *n, 32, SIZE_MAX);
        if (!n)
            return TRACE_E_NOMEM;
        s->fns = n;
        memset(&s->fns[k], 0, sizeof s->fns[k]);
        snprintf(s->fns[k].sig, sizeof s->fns[k].sig, "%s", call->sig);
        snprintf(s->fns[k].name, sizeof s->fns[k].name, "%s", call->reg ? call->name : call->sig);
        s->fns[k].cls = call->reg ? st_sig_class_name(call->reg->cls) : NULL;
        s->fns[k].order = k;
        s->nfn++;
    }
    struct fn_stat *f = &s->fns[k];
    f->calls++;
    f->errors += tc_call_failed(call) ? 1 : 0;
    if (call->finished)
        f->ns += call->end_time_ns >= call->time_ns ? call->end_time_ns - call->time_ns : 0;
    else
        f->unfinished++;
    f->bytes_in += call->bytes_to_guest;
    f->bytes_out += call->bytes_from_guest;
    return 0;
}

/* Reads the range; the reader's last result. */
static int stats_read(struct stats *s, struct tc_source *src, const struct tp_filter *fp)
{
    struct tc_item it;
    int rc;
    while ((rc = tc_source_next(src, &it)) > 0) {
        if (it.kind == TC_ITEM_EVENT && it.ev.kind == TRACE_EV_GUEST_EXIT) {
            s->have_exit = 1;
            s->exit_code = it.ev.guest_exit.code;
            s->exit_signal = it.ev.guest_exit.signal;
            snprintf(s->exit_reason, sizeof s->exit_reason, "%s",
                     it.ev.guest_exit.reason ? it.ev.guest_exit.reason : "");
        }
        if (it.kind == TC_ITEM_CALL && tp_filter_match(fp, &it.call))
            rc = stats_add_call(s, &it.call);
        tc_item_release(&it);
        if (rc < 0)
            return rc;
    }
    return rc;
}

static void stats_total(struct stats *s)
{
    if (s->nfn)
        qsort(s->fns, s->nfn, sizeof *s->fns, cmp_fn);
    memset(&s->tot, 0, sizeof s->tot);
    for (size_t k = 0; k < s->nfn; k++) {
        s->tot.calls += s->fns[k].calls;
        s->tot.errors += s->fns[k].errors;
        s->tot.unfinished += s->fns[k].unfinished;
        s->tot.ns += s->fns[k].ns;
        s->tot.bytes_in += s->fns[k].bytes_in;
        s->tot.bytes_out += s->fns[k].bytes_out;
    }
}

/* One function's (or the total's) numbers as JSON members. */
static void json_numbers(struct st_buf *b, const struct fn_stat *f, uint64_t total_ns)
{
    st_buf_puts(b, "\"percent_time\":");
    if (total_ns)
        fmt_pct(b, f->ns, total_ns);
    else
        st_buf_puts(b, "null");
    st_buf_puts(b, ",\"seconds\":");
    fmt_secs(b, f->ns);
    st_buf_puts(b, ",\"usecs_per_call\":");
    if (f->calls)
        st_buf_addf(b, "%" PRIu64, f->ns / 1000 / f->calls);
    else
        st_buf_puts(b, "null");
    st_buf_addf(b, ",\"calls\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"unfinished\":%" PRIu64
                   ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 "}",
                f->calls, f->errors, f->unfinished, f->bytes_in, f->bytes_out);
}

static void stats_json(struct st_buf *b, const struct stats *s)
{
    st_buf_puts(b, "{\"schema_version\":1,\"functions\":[");
    for (size_t k = 0; k < s->nfn; k++) {
        const struct fn_stat *f = &s->fns[k];
        st_buf_puts(b, k ? ",{\"name\":" : "{\"name\":");
        tcli_json_str(b, f->name, strlen(f->name));
        st_buf_puts(b, ",\"sig\":");
        tcli_json_str(b, f->sig, strlen(f->sig));
        st_buf_puts(b, ",\"class\":");
        if (f->cls)
            tcli_json_str(b, f->cls, strlen(f->cls));
        else
            st_buf_puts(b, "null");
        st_buf_puts(b, ",");
        json_numbers(b, f, s->tot.ns);
    }
    st_buf_puts(b, "],\"total\":{");
    json_numbers(b, &s->tot, s->tot.ns);
    st_buf_addf(b, ",\"events\":%" PRIu64 ",\"exit\":", s->events);
    if (s->have_exit) {
        st_buf_addf(b, "{\"code\":%" PRId32 ",\"signal\":%" PRId32 ",\"reason\":", s->exit_code,
                    s->exit_signal);
        tcli_json_str(b, s->exit_reason, strlen(s->exit_reason));
        st_buf_puts(b, "}");
    } else {
        st_buf_puts(b, "null");
    }
    st_buf_puts(b, "}\n");
}

static void table_row(struct st_buf *b, const struct fn_stat *f, uint64_t total_ns, const char *name,
                      int is_total)
{
    struct st_buf cell;
    st_buf_init(&cell, 0);
    fmt_pct(&cell, f->ns, total_ns);
    st_buf_addf(b, "%6s ", cell.data);
    st_buf_reset(&cell);
    fmt_secs(&cell, f->ns);
    st_buf_addf(b, "%11s ", cell.data);
    st_buf_release(&cell);
    if (!is_total)
        st_buf_addf(b, "%11" PRIu64 " ", f->calls ? f->ns / 1000 / f->calls : 0);
    else
        st_buf_addf(b, "%11s ", "");
    st_buf_addf(b, "%9" PRIu64 " ", f->calls);
    if (f->errors)
        st_buf_addf(b, "%9" PRIu64 " ", f->errors);
    else
        st_buf_addf(b, "%9s ", "");
    st_buf_addf(b, "%11" PRIu64 " %11" PRIu64 " ", f->bytes_in, f->bytes_out);
    tp_format_text(b, name);
    st_buf_puts(b, "\n");
}

static void stats_table(struct st_buf *b, const struct stats *s)
{
    static const char *const rule = "------ ----------- ----------- --------- --------- ----------- "
                                    "----------- ----------------\n";
    st_buf_addf(b, "%6s %11s %11s %9s %9s %11s %11s %s\n", "% time", "seconds", "usecs/call",
                "calls", "errors", "bytes in", "bytes out", "function");
    st_buf_puts(b, rule);
    for (size_t k = 0; k < s->nfn; k++)
        table_row(b, &s->fns[k], s->tot.ns, s->fns[k].name, 0);
    st_buf_puts(b, rule);
    table_row(b, &s->tot, s->tot.ns, "total", 1);
    if (s->tot.unfinished)
        st_buf_addf(b, "(%" PRIu64 " unfinished call%s: not in the times)\n", s->tot.unfinished,
                    s->tot.unfinished == 1 ? "" : "s");
}

static const struct opt_spec stats_specs[] = {
    TCLI_OPT_EXPR, TCLI_OPT_EVENTS, TCLI_OPT_RECOVER, TCLI_OPT_OUTPUT, TCLI_OPT_QUIET,
    TCLI_OPT_JSON, TCLI_OPT_HELP,
    { 'S', 'S', NULL, OPT_REQ },
    OPT_SPEC_END,
};

/* 0, ST_EXIT_USAGE (printed), or -1 after --help. */
static int stats_parse(struct opt_parser *p, struct tcli_common *c)
{
    static const char *const keys[] = { "time", "calls", "errors", "name", "bytes-in",
                                        "bytes-out", "nothing", NULL };
    for (int id; (id = tcli_next_option(c, p)) != OPT_DONE;) {
        if (id == OPT_ERROR)
            return ST_EXIT_USAGE;
        if (id == TCLI_O_HELP) {
            stats_usage(stdout);
            return -1;
        }
        /* -S KEY */
        size_t k;
        for (k = 0; keys[k]; k++)
            if (!strcmp(p->arg, keys[k]))
                break;
        if (!keys[k]) {
            const char *near = opt_suggest(p->arg, keys);
            return opt_usage(p, "option '-S': unknown sort key '%s'%s%s%s (time, calls, errors, "
                                "name, bytes-in, bytes-out or nothing)",
                             p->arg, near ? " (did you mean '" : "", near ? near : "",
                             near ? "'?)" : "");
        }
        sort_by = (enum sort_key)k;
    }
    return tcli_check_operands(p, 1, "TRACE");
}

int cmd_stats(int argc, char **argv)
{
    struct tcli_common c;
    tcli_common_init(&c);
    struct opt_parser p;
    opt_init(&p, "stats", stats_specs, argc, argv, 0);
    sort_by = SORT_TIME;
    int status = stats_parse(&p, &c);
    const char *path = p.noperands ? p.operands[0] : NULL;
    struct tcli_trace t;
    if (!status)
        status = tcli_trace_open(&t, "stats", path, c.recover, c.quiet);
    if (status) {
        opt_release(&p);
        tcli_common_release(&c);
        return status < 0 ? ST_EXIT_OK : status;
    }
    struct stats s;
    memset(&s, 0, sizeof s);
    struct tc_source src;
    int rc = tc_source_init(&src, t.r, c.first, c.last);
    if (rc == 0)
        rc = stats_read(&s, &src, c.filter);
    status = tcli_trace_end(&t, rc);
    struct trace_reader_stats rs;
    trace_reader_stats(t.r, &rs);
    s.events = rs.events;
    stats_total(&s);
    struct tcli_out out;
    int ostatus = tcli_out_open(&out, "stats", c.outpath, &path, 1);
    if (!ostatus) {
        struct st_buf b;
        st_buf_init(&b, 0);
        if (c.json)
            stats_json(&b, &s);
        else
            stats_table(&b, &s);
        tcli_out_buf(&out, &b);
        st_buf_release(&b);
        ostatus = tcli_out_close(&out);
    }
    free(s.fns);
    tc_source_release(&src);
    tcli_trace_close(&t);
    opt_release(&p);
    tcli_common_release(&c);
    return ostatus ? ostatus : status;
}
