/* sandtrace verify: checks every checksum, the hash chain and the index of a
 * trace, and says "ok" or where and why it is bad. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "format/trace.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/trace_cli.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sandtrace verify [OPTIONS] TRACE\n\n"
            "Check every checksum, the hash chain and the index of TRACE, and decode every\n"
            "event. Prints 'ok' with counts on stdout, or, on stderr, the offset of the first\n"
            "problem and why. TRACE may be '-' for stdin. Options may come before or after\n"
            "TRACE.\n\n"
            "options:\n"
            "  -k, --key FILE  verify the keyed chain (MAC) with the key in FILE\n"
            "  -q, --quiet     no 'ok' line and no progress line; problems are still reported\n"
            "  -h, --help      show this help\n\n"
            "exit codes:\n"
            "  0  the trace is valid\n"
            "  2  bad command line\n"
            "  4  the trace or the key file cannot be read (missing, a directory), or the\n"
            "     trace is not a trace\n"
            "  5  the trace is damaged, was tampered with, or is incomplete (no footer:\n"
            "     still being written, or cut short)\n"
            "  6  the output cannot be written\n"
            "  7  key problem: keyed trace without --key, wrong key, or a key for an\n"
            "     unkeyed trace\n");
}

static const struct opt_spec verify_specs[] = {
    TCLI_OPT_QUIET, TCLI_OPT_HELP,
    { 'k', 'k', "key", OPT_REQ },
    OPT_SPEC_END,
};

/* 0, ST_EXIT_USAGE (printed), or -1 after --help. */
static int verify_parse(struct opt_parser *p, const char **key_path, int *quiet)
{
    for (int id; (id = opt_next(p)) != OPT_DONE;) {
        switch (id) {
        case OPT_ERROR:
            return ST_EXIT_USAGE;
        case 'k':
            *key_path = p->arg;
            break;
        case TCLI_O_QUIET:
            *quiet = 1;
            break;
        case TCLI_O_HELP:
            usage(stdout);
            return -1;
        }
    }
    return tcli_check_operands(p, 1, "TRACE");
}

static int load_key(const char *key_path, uint8_t key[TRACE_KEY_BYTES])
{
    errno = 0;
    int rc = trace_key_load(key_path, key);
    if (rc == 0)
        return 0;
    int e = errno;
    fprintf(stderr, "sandtrace verify: cannot load key '%s': %s\n", key_path,
            rc == TRACE_E_LIMIT   ? "a key file must hold 16 to 65536 bytes"
            : rc == TRACE_E_INVAL ? "not a regular file"
            : e                   ? strerror(e)
                                  : "cannot read it");
    return ST_EXIT_UNREADABLE;
}

/* The exit code of a failed verification, and what it is called. */
static int verdict(int rc, const char **what)
{
    switch (rc) {
    case TRACE_E_TRUNCATED:
        *what = "is incomplete (no footer)";
        return ST_EXIT_DAMAGED;
    case TRACE_E_CHAIN:
        *what = "was tampered with or damaged";
        return ST_EXIT_DAMAGED;
    case TRACE_E_KEY_REQUIRED:
    case TRACE_E_WRONG_KEY:
    case TRACE_E_NOT_KEYED:
        *what = "cannot be verified";
        return ST_EXIT_KEY;
    case TRACE_E_BAD_MAGIC:
    case TRACE_E_VERSION:
        *what = "is not a trace this sandtrace reads";
        return ST_EXIT_UNREADABLE;
    case TRACE_E_IO:
    case TRACE_E_NOMEM:
        *what = "cannot be read";
        return ST_EXIT_UNREADABLE;
    default:
        *what = "is damaged";
        return ST_EXIT_DAMAGED;
    }
}

static int report(const char *path, int rc, const struct trace_verify_result *res)
{
    const char *what;
    int status = verdict(rc, &what);
    fprintf(stderr, "sandtrace verify: trace '%s' %s at offset %" PRIu64 ": %s", path, what,
            res->error_offset, res->message[0] ? res->message : tcli_error_word(rc));
    if (res->chunks)
        fprintf(stderr, " (%" PRIu64 " event%s in %" PRIu64 " chunk%s verified before it)",
                res->events, res->events == 1 ? "" : "s", res->chunks,
                res->chunks == 1 ? "" : "s");
    fputc('\n', stderr);
    return status;
}

int cmd_verify(int argc, char **argv)
{
    const char *key_path = NULL;
    int quiet = 0;
    struct opt_parser p;
    opt_init(&p, "verify", verify_specs, argc, argv, 0);
    int status = verify_parse(&p, &key_path, &quiet);
    const char *path = p.noperands ? p.operands[0] : NULL;
    uint8_t key[TRACE_KEY_BYTES];
    if (!status && key_path)
        status = load_key(key_path, key);
    struct tcli_trace t;
    struct trace_io *io = NULL;
    if (!status)
        status = tcli_trace_open_io(&t, "verify", path, quiet, &io);
    opt_release(&p);
    if (status)
        return status < 0 ? ST_EXIT_OK : status;
    struct trace_verify_result res;
    int rc = trace_verify(io, key_path ? key : NULL, &res);
    trace_io_free(io);
    progress_end(&t.pg);
    if (rc < 0)
        return report(path, rc, &res);
    struct tcli_out out;
    status = tcli_out_open(&out, "verify", NULL, NULL, 0);
    if (!status && !quiet)
        fprintf(out.f, "ok: %" PRIu64 " event%s in %" PRIu64 " chunk%s, %" PRIu64 " bytes, %s chain verified\n",
                res.events, res.events == 1 ? "" : "s", res.chunks, res.chunks == 1 ? "" : "s",
                res.file_bytes ? res.file_bytes : t.bytes_read, res.keyed ? "keyed" : "unkeyed");
    return status ? status : tcli_out_close(&out);
}
