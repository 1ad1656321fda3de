/* sandtrace stats: a per-function summary of a trace, like strace -c. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"
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
            "The time of a call runs from its request to its result.\n"
            "\n"
            "options:\n"
            "  -S KEY           sort by time (default), calls, errors, name, bytes-in,\n"
            "                   bytes-out or nothing (order of first call)\n"
            "  -e trace=SET     count only these calls (as in dump)\n"
            "  --events A..B    only events A to B\n"
            "  --json           one JSON object instead of the table\n"
            "  --recover        skip damaged regions of the trace instead of stopping\n"
            "  -h, --help       this help\n"
            "\n"
            "exit status: 0 ok, 2 usage, 4 cannot open TRACE, 5 TRACE damaged or truncated\n"
            "(the summary covers what could be read), 6 cannot write the output.\n");
}

enum { OPT_EVENTS = 256, OPT_JSON, OPT_RECOVER };

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

int cmd_stats(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "events", required_argument, NULL, OPT_EVENTS },
        { "json", no_argument, NULL, OPT_JSON },
        { "recover", no_argument, NULL, OPT_RECOVER },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static struct tp_filter filter;
    const struct tp_filter *fp = NULL;
    uint64_t first = 0, last = UINT64_MAX;
    int json = 0, recover = 0, c;
    char err[256];
    sort_by = SORT_TIME;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+S:e:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'S': {
            static const char *const keys[] = { "time", "calls", "errors", "name", "bytes-in", "bytes-out",
                                                "nothing" };
            size_t k;
            for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
                if (!strcmp(optarg, keys[k]))
                    break;
            if (k == sizeof keys / sizeof keys[0]) {
                fprintf(stderr, "sandtrace stats: unknown sort key '%s'\n", optarg);
                return ST_EXIT_USAGE;
            }
            sort_by = (enum sort_key)k;
            break;
        }
        case 'e':
            if (tp_filter_parse(&filter, optarg, err, sizeof err) < 0) {
                fprintf(stderr, "sandtrace stats: %s\n", err);
                return ST_EXIT_USAGE;
            }
            fp = &filter;
            break;
        case OPT_EVENTS:
            if (tcli_parse_range(optarg, &first, &last) < 0) {
                fprintf(stderr, "sandtrace stats: bad event range '%s' (A..B, A.., ..B or N)\n", optarg);
                return ST_EXIT_USAGE;
            }
            break;
        case OPT_JSON: json = 1; break;
        case OPT_RECOVER: recover = 1; break;
        case 'h':
            stats_usage(stdout);
            return ST_EXIT_OK;
        default:
            fprintf(stderr, "sandtrace stats: unknown option '%s'\n", argv[optind - 1]);
            stats_usage(stderr);
            return ST_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "sandtrace stats: expected one TRACE\n");
        stats_usage(stderr);
        return ST_EXIT_USAGE;
    }
    const char *path = argv[optind];
    struct trace_reader *r = tcli_open("stats", path, recover);
    if (!r)
        return TCLI_EXIT_TRACE;
    struct tc_source src;
    int rc = tc_source_init(&src, r, first, last);
    struct fn_stat *fns = NULL;
    size_t nfn = 0, cap = 0;
    int have_exit = 0;
    struct trace_event exit_ev;
    char exit_reason[256] = "";
    struct tc_item it;
    while (rc >= 0 && (rc = tc_source_next(&src, &it)) > 0) {
        if (it.kind == TC_ITEM_EVENT && it.ev.kind == TRACE_EV_GUEST_EXIT) {
            have_exit = 1;
            exit_ev = it.ev;
            snprintf(exit_reason, sizeof exit_reason, "%s", it.ev.guest_exit.reason ? it.ev.guest_exit.reason : "");
        }
        if (it.kind == TC_ITEM_CALL && tp_filter_match(fp, &it.call)) {
            const struct tc_call *call = &it.call;
            size_t k;
            for (k = 0; k < nfn; k++)
                if (!strcmp(fns[k].sig, call->sig))
                    break;
            if (k == nfn) {
                struct fn_stat *n = st_grow(fns, &cap, nfn + 1, sizeof *n, 32, SIZE_MAX);
                if (!n) {
                    tc_item_release(&it);
                    rc = TRACE_E_NOMEM;
                    break;
                }
                fns = n;
                memset(&fns[k], 0, sizeof fns[k]);
                snprintf(fns[k].sig, sizeof fns[k].sig, "%s", call->sig);
                snprintf(fns[k].name, sizeof fns[k].name, "%s", call->reg ? call->name : call->sig);
                fns[k].cls = call->reg ? st_sig_class_name(call->reg->cls) : NULL;
                fns[k].order = k;
                nfn++;
            }
            struct fn_stat *f = &fns[k];
            f->calls++;
            f->errors += tc_call_failed(call) ? 1 : 0;
            if (call->finished)
                f->ns += call->end_time_ns >= call->time_ns ? call->end_time_ns - call->time_ns : 0;
            else
                f->unfinished++;
            f->bytes_in += call->bytes_to_guest;
            f->bytes_out += call->bytes_from_guest;
        }
        tc_item_release(&it);
    }
    int status = ST_EXIT_OK;
    if (rc == TRACE_E_NOMEM) {
        fprintf(stderr, "sandtrace stats: out of memory\n");
        status = TCLI_EXIT_DAMAGED;
    } else if (rc < 0) {
        status = tcli_read_error("stats", path, r, rc);
    }
    if (nfn)
        qsort(fns, nfn, sizeof *fns, cmp_fn);
    struct fn_stat tot;
    memset(&tot, 0, sizeof tot);
    for (size_t k = 0; k < nfn; k++) {
        tot.calls += fns[k].calls;
        tot.errors += fns[k].errors;
        tot.unfinished += fns[k].unfinished;
        tot.ns += fns[k].ns;
        tot.bytes_in += fns[k].bytes_in;
        tot.bytes_out += fns[k].bytes_out;
    }
    struct trace_reader_stats rs;
    trace_reader_stats(r, &rs);
    struct st_buf b;
    st_buf_init(&b, 0);
    if (json) {
        st_buf_puts(&b, "{\"functions\":[");
        for (size_t k = 0; k <= nfn; k++) {
            const struct fn_stat *f = k < nfn ? &fns[k] : &tot;
            if (k == nfn)
                st_buf_puts(&b, "],\"total\":{");
            else
                st_buf_puts(&b, k ? ",{" : "{");
            if (k < nfn) {
                st_buf_puts(&b, "\"name\":");
                tcli_json_str(&b, f->name, strlen(f->name));
                st_buf_puts(&b, ",\"sig\":");
                tcli_json_str(&b, f->sig, strlen(f->sig));
                st_buf_puts(&b, ",\"class\":");
                if (f->cls)
                    tcli_json_str(&b, f->cls, strlen(f->cls));
                else
                    st_buf_puts(&b, "null");
                st_buf_puts(&b, ",");
            }
            st_buf_puts(&b, "\"percent_time\":");
            fmt_pct(&b, f->ns, tot.ns);
            st_buf_puts(&b, ",\"seconds\":");
            fmt_secs(&b, f->ns);
            st_buf_addf(&b, ",\"usecs_per_call\":%" PRIu64 ",\"calls\":%" PRIu64 ",\"errors\":%" PRIu64
                            ",\"unfinished\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 "}",
                        f->calls ? f->ns / 1000 / f->calls : 0, f->calls, f->errors, f->unfinished,
                        f->bytes_in, f->bytes_out);
        }
        st_buf_addf(&b, ",\"events\":%" PRIu64 ",\"exit\":", rs.events);
        if (have_exit) {
            st_buf_addf(&b, "{\"code\":%" PRId32 ",\"signal\":%" PRId32 ",\"reason\":", exit_ev.guest_exit.code,
                        exit_ev.guest_exit.signal);
            tcli_json_str(&b, exit_reason, strlen(exit_reason));
            st_buf_puts(&b, "}");
        } else {
            st_buf_puts(&b, "null");
        }
        st_buf_puts(&b, "}\n");
    } else {
        static const char *const rule = "------ ----------- ----------- --------- --------- ----------- ----------- "
                                        "----------------\n";
        st_buf_addf(&b, "%6s %11s %11s %9s %9s %11s %11s %s\n", "% time", "seconds", "usecs/call", "calls",
                    "errors", "bytes in", "bytes out", "function");
        st_buf_puts(&b, rule);
        for (size_t k = 0; k <= nfn; k++) {
            const struct fn_stat *f = k < nfn ? &fns[k] : &tot;
            if (k == nfn)
                st_buf_puts(&b, rule);
            struct st_buf cell;
            st_buf_init(&cell, 0);
            fmt_pct(&cell, f->ns, tot.ns);
            st_buf_addf(&b, "%6s ", cell.data);
            st_buf_reset(&cell);
            fmt_secs(&cell, f->ns);
            st_buf_addf(&b, "%11s ", cell.data);
            st_buf_release(&cell);
            if (k < nfn)
                st_buf_addf(&b, "%11" PRIu64 " ", f->calls ? f->ns / 1000 / f->calls : 0);
            else
                st_buf_addf(&b, "%11s ", "");
            st_buf_addf(&b, "%9" PRIu64 " ", f->calls);
            if (f->errors)
                st_buf_addf(&b, "%9" PRIu64 " ", f->errors);
            else
                st_buf_addf(&b, "%9s ", "");
            st_buf_addf(&b, "%11" PRIu64 " %11" PRIu64 " ", f->bytes_in, f->bytes_out);
            tp_format_text(&b, k < nfn ? f->name : "total");
            st_buf_puts(&b, "\n");
        }
        if (tot.unfinished)
            st_buf_addf(&b, "(%" PRIu64 " unfinished call%s: not in the times)\n", tot.unfinished,
                        tot.unfinished == 1 ? "" : "s");
    }
    if (tcli_flush(&b, stdout) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "sandtrace stats: cannot write the output\n");
        status = TCLI_EXIT_OUTPUT;
    }
    st_buf_release(&b);
    free(fns);
    tc_source_release(&src);
    trace_reader_free(r);
    return status;
}
