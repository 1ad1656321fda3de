/* sandtrace verify: checks every checksum, the hash chain and the index of a
 * trace, and says "ok" or where and why it is bad. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "format/trace.h"
#include "tools/commands.h"

/* Exit codes of `sandtrace verify` (also in its --help). */
enum {
    VERIFY_EXIT_BAD = 1,       /* the trace is corrupt, tampered with, or not a trace */
    VERIFY_EXIT_OPEN = 4,      /* the trace or the key file cannot be read */
    VERIFY_EXIT_TRUNCATED = 5, /* every complete chunk is valid, but the trace is cut short */
    VERIFY_EXIT_KEY = 6,       /* keyed trace without --key, wrong key, or key for unkeyed trace */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sandtrace verify [--key FILE] TRACE\n\n"
            "Check every checksum, the hash chain and the index of TRACE, and decode every\n"
            "event. Prints 'ok' with counts, or the offset of the first problem and why.\n\n"
            "options:\n"
            "  -k, --key FILE  verify the keyed chain (MAC) with the key in FILE\n"
            "  -q, --quiet     print nothing; the exit code says it all\n"
            "  -h, --help      show this help\n\n"
            "exit codes:\n"
            "  0  the trace is valid\n"
            "  1  the trace is corrupt, was tampered with, or is not a trace\n"
            "  2  bad command line\n"
            "  4  the trace or the key file cannot be read\n"
            "  5  the trace is truncated (no footer): every complete chunk is valid\n"
            "  6  key problem: keyed trace without --key, wrong key, or a key for an\n"
            "     unkeyed trace\n");
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "key", required_argument, NULL, 'k' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *key_path = NULL;
    int quiet = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "+k:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key_path = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return ST_EXIT_OK;
        default:
            usage(stderr);
            return ST_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "sandtrace verify: %s\n",
                argc - optind == 0 ? "missing TRACE" : "too many arguments");
        usage(stderr);
        return ST_EXIT_USAGE;
    }
    const char *path = argv[optind];
    uint8_t key[TRACE_KEY_BYTES];
    if (key_path) {
        int rc = trace_key_load(key_path, key);
        if (rc < 0) {
            fprintf(stderr, "sandtrace verify: cannot load key '%s': %s\n", key_path,
                    rc == TRACE_E_LIMIT ? "a key file must hold 16 to 65536 bytes"
                    : rc == TRACE_E_INVAL ? "not a regular file"
                                          : "cannot read it");
            return VERIFY_EXIT_OPEN;
        }
    }
    struct trace_io *io;
    if (trace_io_open_file(path, TRACE_IO_READ, &io) < 0) {
        fprintf(stderr, "sandtrace verify: cannot open trace '%s': %s\n", path, strerror(errno));
        return VERIFY_EXIT_OPEN;
    }
    struct trace_verify_result res;
    int rc = trace_verify(io, key_path ? key : NULL, &res);
    trace_io_free(io);
    if (rc == 0) {
        if (!quiet)
            printf("ok: %llu event%s in %llu chunk%s, %llu bytes, %s chain verified\n",
                   (unsigned long long)res.events, res.events == 1 ? "" : "s",
                   (unsigned long long)res.chunks, res.chunks == 1 ? "" : "s",
                   (unsigned long long)res.file_bytes, res.keyed ? "keyed" : "unkeyed");
        return ST_EXIT_OK;
    }
    if (!quiet) {
        printf("bad: '%s' at offset %llu: %s\n", path, (unsigned long long)res.error_offset,
               res.message);
        printf("(%llu events in %llu chunks verified before it; error %s)\n",
               (unsigned long long)res.events, (unsigned long long)res.chunks,
               trace_error_name(rc));
    }
    switch (rc) {
    case TRACE_E_TRUNCATED:
        return VERIFY_EXIT_TRUNCATED;
    case TRACE_E_KEY_REQUIRED:
    case TRACE_E_WRONG_KEY:
    case TRACE_E_NOT_KEYED:
        return VERIFY_EXIT_KEY;
    case TRACE_E_IO:
    case TRACE_E_NOMEM:
        return VERIFY_EXIT_OPEN;
    default:
        return VERIFY_EXIT_BAD;
    }
}
