/* sandtrace dump: a trace one call per line, like strace. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/commands.h"
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
            "controller notes appear in order. TRACE may be '-' for stdin.\n"
            "\n"
            "options:\n"
            "  -e trace=SET     show only these calls: names and classes (%%file, %%desc,\n"
            "                   %%time, %%process, %%memory), comma-separated; '!SET' negates\n"
            "  --events A..B    only events A to B (A.., ..B, or one number N)\n"
            "  -s N             show at most N bytes of each string or buffer (default 32)\n"
            "  -x               non-printable bytes in hex; -xx: every byte in hex\n"
            "  -v               every field of structures (stat, dirent, utsname, rusage)\n"
            "  -y               file descriptors with the path they were opened with: 3</lib/os.py>\n"
            "  --raw            each memory command, errno and result on its own line\n"
            "  -T               time spent in each call, <S.UUUUUU>, after the result\n"
            "  -r               time since the previous line instead of since the start\n"
            "  --no-prefix      no SEQ and TIME before each line\n"
            "  --recover        skip damaged regions of the trace instead of stopping\n"
            "  -o FILE          write to FILE instead of stdout\n"
            "  -h, --help       this help\n"
            "\n"
            "exit status: 0 ok, 2 usage, 4 cannot open TRACE, 5 TRACE damaged or truncated\n"
            "(what could be read is printed), 6 cannot write the output.\n");
}

enum { OPT_EVENTS = 256, OPT_RAW, OPT_RECOVER, OPT_NO_PREFIX };

int cmd_dump(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "events", required_argument, NULL, OPT_EVENTS },
        { "raw", no_argument, NULL, OPT_RAW },
        { "recover", no_argument, NULL, OPT_RECOVER },
        { "no-prefix", no_argument, NULL, OPT_NO_PREFIX },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct tp_options o;
    tp_options_init(&o);
    static struct tp_filter filter;
    uint64_t first = 0, last = UINT64_MAX;
    int recover = 0;
    const char *outpath = NULL;
    char err[256];
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+e:s:xvyTro:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (tp_filter_parse(&filter, optarg, err, sizeof err) < 0) {
                fprintf(stderr, "sandtrace dump: %s\n", err);
                return ST_EXIT_USAGE;
            }
            o.filter = &filter;
            break;
        case 's':
            if (tcli_parse_size(optarg, &o.strsize) < 0) {
                fprintf(stderr, "sandtrace dump: bad string size '%s'\n", optarg);
                return ST_EXIT_USAGE;
            }
            break;
        case 'x': o.hex++; break;
        case 'v': o.verbose = 1; break;
        case 'y': o.fd_paths = 1; break;
        case 'T': o.durations = 1; break;
        case 'r': o.relative = 1; break;
        case 'o': outpath = optarg; break;
        case OPT_RAW: o.raw = 1; break;
        case OPT_RECOVER: recover = 1; break;
        case OPT_NO_PREFIX: o.no_prefix = 1; break;
        case OPT_EVENTS:
            if (tcli_parse_range(optarg, &first, &last) < 0) {
                fprintf(stderr, "sandtrace dump: bad event range '%s' (A..B, A.., ..B or N)\n", optarg);
                return ST_EXIT_USAGE;
            }
            break;
        case 'h':
            dump_usage(stdout);
            return ST_EXIT_OK;
        default:
            fprintf(stderr, "sandtrace dump: unknown option '%s'\n", argv[optind - 1]);
            dump_usage(stderr);
            return ST_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "sandtrace dump: expected one TRACE\n");
        dump_usage(stderr);
        return ST_EXIT_USAGE;
    }
    const char *path = argv[optind];
    struct trace_reader *r = tcli_open("dump", path, recover);
    if (!r)
        return TCLI_EXIT_TRACE;
    FILE *out = stdout;
    if (outpath && !(out = fopen(outpath, "w"))) {
        fprintf(stderr, "sandtrace dump: cannot create '%s'\n", outpath);
        trace_reader_free(r);
        return TCLI_EXIT_OUTPUT;
    }
    struct tp_printer *p = tp_printer_new(&o, out, NULL);
    struct tc_source src;
    int rc = p ? tc_source_init(&src, r, first, last) : TRACE_E_NOMEM;
    if (rc < 0) {
        fprintf(stderr, "sandtrace dump: cannot read trace '%s': %s\n", path, trace_strerror(rc));
        tp_printer_free(p);
        trace_reader_free(r);
        return TCLI_EXIT_DAMAGED;
    }
    struct tc_item it;
    while ((rc = tc_source_next(&src, &it)) > 0) {
        tp_printer_print_item(p, &it);
        tc_item_release(&it);
    }
    int status = ST_EXIT_OK;
    if (rc < 0)
        status = tcli_read_error("dump", path, r, rc);
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(stderr, "sandtrace dump: cannot write the output\n");
        status = TCLI_EXIT_OUTPUT;
    }
    if (out != stdout)
        fclose(out);
    tc_source_release(&src);
    tp_printer_free(p);
    trace_reader_free(r);
    return status;
}
