/* sandtrace dump: a trace one call per line, like strace. */
#include <stdio.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/options.h"
#include "tools/trace_calls.h"
#include "tools/trace_cli.h"
#include "tools/trace_print.h"

static void dump_usage(FILE *f)
{
    fprintf(f,
            "usage: sandtrace dump [OPTIONS] TRACE\n"
            "\n"
            "Print a trace one call per line, like strace: SEQ +TIME name(args) = result.\n"
            "Arguments are decoded with the signature registry (strings, buffers, flags,\n"
            "structures, errno names). The guest's stderr, its exit, limits, violations and\n"
            "controller notes appear in order. TRACE may be '-' for stdin. Options may come\n"
            "before or after TRACE.\n"
            "\n"
            "options:\n"
            "  -e trace=SET     show only these calls: function names and classes (%%file,\n"
            "                   %%desc, %%time, %%process, %%memory), comma-separated; '!SET'\n"
            "                   negates; an unknown name or class is an error\n"
            "  --events A..B    only events A to B (A.., ..B, or one number N)\n"
            "  -s N             show at most N bytes of each string or buffer (default 32)\n"
            "  -x               non-printable bytes in hex; -xx: every byte in hex\n"
            "  -v               every field of structures (stat, dirent, utsname, rusage)\n"
            "  -y               file descriptors with the path they were opened with: 3</lib/os.py>\n"
            "  --raw            each memory command, errno and result on its own line (with\n"
            "                   --events, also those of a call that began before the range)\n"
            "  -T               time spent in each call, <S.UUUUUU>, after the result\n"
            "  -r               time since the previous line instead of since the start\n"
            "  -t, -tt, -ttt    wall-clock time instead: HH:MM:SS, with microseconds, or\n"
            "                   seconds since the epoch (from the recording's start time)\n"
            "  --no-prefix      no SEQ and TIME before each line\n"
            "  --recover        skip damaged regions of the trace instead of stopping; what\n"
            "                   was skipped is said on stderr, and the exit status is 5\n"
            "  -o, --output FILE  write to FILE instead of stdout (never over TRACE; FILE\n"
            "                   appears only once complete)\n"
            "  -h, --help       this help\n"
            "\n"
            "exit status: 0 ok, 2 usage, 4 cannot open TRACE (missing, a directory, not a\n"
            "trace), 5 TRACE damaged or cut short (what could be read is printed), 6 cannot\n"
            "write the output.\n");
}

enum { O_RAW = TCLI_O_OWN, O_NO_PREFIX };

static const struct opt_spec dump_specs[] = {
    TCLI_OPT_EXPR, TCLI_OPT_EVENTS, TCLI_OPT_RECOVER, TCLI_OPT_OUTPUT, TCLI_OPT_HELP,
    { 's', 's', NULL, OPT_NUM },
    { 'x', 'x', NULL, OPT_NONE },
    { 'v', 'v', NULL, OPT_NONE },
    { 'y', 'y', NULL, OPT_NONE },
    { 'T', 'T', NULL, OPT_NONE },
    { 'r', 'r', NULL, OPT_NONE },
    { 't', 't', NULL, OPT_NONE },
    { O_RAW, 0, "raw", OPT_NONE },
    { O_NO_PREFIX, 0, "no-prefix", OPT_NONE },
    OPT_SPEC_END,
};

/* Parses the command line into `o` and `c`: 0, ST_EXIT_USAGE (printed), or
 * -1 after --help. */
static int dump_parse(struct opt_parser *p, struct tp_options *o, struct tcli_common *c)
{
    for (int id; (id = tcli_next_option(c, p)) != OPT_DONE;) {
        if (id == OPT_ERROR)
            return ST_EXIT_USAGE;
        switch (id) {
        case 's':
            if (tcli_parse_size(p->arg, &o->strsize) < 0)
                return opt_bad_value(p, "bad string size");
            break;
        case 'x': o->hex++; break;
        case 'v': o->verbose = 1; break;
        case 'y': o->fd_paths = 1; break;
        case 'T': o->durations = 1; break;
        case 'r': o->relative = 1; break;
        case 't': o->absolute++; break;
        case O_RAW: o->raw = 1; break;
        case O_NO_PREFIX: o->no_prefix = 1; break;
        case TCLI_O_HELP:
            dump_usage(stdout);
            return -1;
        }
    }
    if (o->absolute > 3)
        return opt_usage(p, "option '-t' given %d times: -t, -tt or -ttt", o->absolute);
    if (o->absolute && o->relative)
        return opt_usage(p, "options '-t' and '-r' cannot be used together");
    return tcli_check_operands(p, 1, "TRACE");
}

/* Prints every item of the range; the reader's last result. */
static int dump_items(struct tc_source *src, struct tp_printer *pr, struct tcli_out *out)
{
    struct tc_item it;
    int rc;
    while ((rc = tc_source_next(src, &it)) > 0) {
        tp_printer_print_item(pr, &it);
        tc_item_release(&it);
        if (tcli_out_failed(out))
            return 0; /* the output failed: reading on is pointless */
    }
    return rc;
}

int cmd_dump(int argc, char **argv)
{
    struct tp_options o;
    tp_options_init(&o);
    struct tcli_common c;
    tcli_common_init(&c);
    struct opt_parser p;
    opt_init(&p, "dump", dump_specs, argc, argv, 0);
    int status = dump_parse(&p, &o, &c);
    if (status) {
        opt_release(&p);
        tcli_common_release(&c);
        return status < 0 ? ST_EXIT_OK : status;
    }
    const char *path = p.operands[0];
    o.filter = c.filter;
    o.range_first = c.first;
    struct tcli_trace t;
    struct tcli_out out;
    status = tcli_trace_open(&t, "dump", path, c.recover, 1);
    if (!status && (status = tcli_out_open(&out, "dump", c.outpath, &path, 1)) != 0)
        tcli_trace_close(&t);
    if (status) {
        opt_release(&p);
        tcli_common_release(&c);
        return status;
    }
    const struct trace_header *h = trace_reader_header(t.r);
    o.start_unix_ns = h ? h->created_unix_ns : 0;
    struct tp_printer *pr = tp_printer_new(&o, out.f, NULL);
    struct tc_source src;
    int rc = pr ? tc_source_init(&src, t.r, c.first, c.last) : TRACE_E_NOMEM;
    if (rc == 0) {
        src.keep_orphans = o.raw;
        rc = dump_items(&src, pr, &out);
        tc_source_release(&src);
    }
    status = tcli_trace_end(&t, rc);
    int ostatus = tcli_out_close(&out);
    tp_printer_free(pr);
    tcli_trace_close(&t);
    opt_release(&p);
    tcli_common_release(&c);
    return ostatus ? ostatus : status;
}
