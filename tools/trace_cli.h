/* tools/trace_cli.h: what the trace-reading commands (dump, stats, diff,
 * export, info, verify) share: the options they have in common (same
 * letter, same name, same meaning in each), opening a trace with a clear
 * message and its exit code, an output file that never replaces one of the
 * inputs and appears only once complete, --events ranges, JSON strings. */
#ifndef SANDTRACE_TOOLS_TRACE_CLI_H
#define SANDTRACE_TOOLS_TRACE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format/trace.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/progress.h"
#include "tools/trace_print.h"

/* The ids of the shared options; a command numbers its own long-only
 * options from TCLI_O_OWN. */
enum {
    TCLI_O_OUTPUT = 'o',
    TCLI_O_EXPR = 'e',
    TCLI_O_QUIET = 'q',
    TCLI_O_JSON = 'j',
    TCLI_O_HELP = 'h',
    TCLI_O_EVENTS = 0x100,
    TCLI_O_RECOVER,
    TCLI_O_OWN = 0x200,
};
#define TCLI_OPT_OUTPUT { TCLI_O_OUTPUT, 'o', "output", OPT_REQ }
#define TCLI_OPT_EXPR { TCLI_O_EXPR, 'e', NULL, OPT_REQ }
#define TCLI_OPT_QUIET { TCLI_O_QUIET, 'q', "quiet", OPT_NONE }
#define TCLI_OPT_JSON { TCLI_O_JSON, 'j', "json", OPT_NONE }
#define TCLI_OPT_HELP { TCLI_O_HELP, 'h', "help", OPT_NONE }
#define TCLI_OPT_EVENTS { TCLI_O_EVENTS, 0, "events", OPT_REQ }
#define TCLI_OPT_RECOVER { TCLI_O_RECOVER, 0, "recover", OPT_NONE }

/* What the shared options set. */
struct tcli_common {
    const char *outpath;     /* -o FILE; NULL: stdout */
    struct tp_filter *filter; /* -e trace=SET; NULL: every call (owned) */
    uint64_t first, last;    /* --events A..B; 0..UINT64_MAX by default */
    int recover;             /* --recover */
    int quiet;               /* -q: no summary, no progress line */
    int json;                /* -j, --json */
};
void tcli_common_init(struct tcli_common *c);
void tcli_common_release(struct tcli_common *c);

/* opt_next, with the shared options (-o, -e, --events, --recover, -q, -j)
 * handled on the way: the command's own next option (TCLI_O_HELP
 * included), OPT_DONE, or OPT_ERROR (printed, a bad value included). */
int tcli_next_option(struct tcli_common *c, struct opt_parser *p);

/* Checks the operands: exactly `n` traces, and at most one of them "-"
 * (standard input can be read only once). ST_EXIT_USAGE after printing,
 * or 0. */
int tcli_check_operands(const struct opt_parser *p, int n, const char *what);

/* A trace opened for reading, with progress over its bytes when asked. */
struct tcli_trace {
    const char *cmd, *path;
    struct trace_reader *r;
    struct progress pg;
    uint64_t bytes_read;     /* through the reader's I/O */
    uint64_t total;          /* the file's size when known, else 0 */
};

/* Opens `path` ("-" is stdin). With a progress unit (NULL: none) a
 * progress line follows the bytes read. On failure prints
 * "sandtrace CMD: cannot open trace 'PATH': WHY" and returns the exit code
 * (ST_EXIT_UNREADABLE: missing, a directory, not a trace; ST_EXIT_DAMAGED:
 * a trace whose header is damaged or cut short); 0 on success. */
int tcli_trace_open(struct tcli_trace *t, const char *cmd, const char *path, int recover,
                    int quiet_progress);
/* The progress line follows the bytes read (call often: it is cheap). */
void tcli_trace_progress(struct tcli_trace *t);
void tcli_trace_close(struct tcli_trace *t);

/* Opens `path` as a raw trace_io ("-" is stdin), with the same checks and
 * messages as tcli_trace_open, the bytes counted into t->bytes_read (for
 * verify, which reads the io itself). */
int tcli_trace_open_io(struct tcli_trace *t, const char *cmd, const char *path,
                       int quiet_progress, struct trace_io **io);

/* After the reading ended (rc is the reader's last result: 0 at the end,
 * or an error): prints what was skipped (--recover) and why reading
 * stopped, on stderr (the events lost are the reader's events_missing);
 * returns ST_EXIT_OK or ST_EXIT_DAMAGED. */
int tcli_trace_end(struct tcli_trace *t, int rc);

/* The output of a command: stdout, or a file written to a temporary file
 * beside it and renamed into place by tcli_out_close. */
struct tcli_out {
    const char *cmd;
    FILE *f;
    char *path;              /* as given, for messages; NULL for stdout */
    char *target;            /* the file replaced (a link's target); NULL when written in place */
    char *tmp;               /* the temporary file; NULL when writing in place (stdout, a device) */
    int err;                 /* errno of the first write error, or 0 */
};

/* Opens the output (`path` NULL or "-": stdout). Refuses, before writing
 * anything, an output that is one of the `inputs` (same device and inode;
 * "-" is standard input). ST_EXIT_OUTPUT after printing, or 0. */
int tcli_out_open(struct tcli_out *o, const char *cmd, const char *path,
                  const char *const *inputs, size_t ninputs);
/* Notes a write error of o->f (ferror) with its errno; 1 when the output
 * has failed (the command may stop early). */
int tcli_out_failed(struct tcli_out *o);
/* Writes the buffer to the output and resets it; 1 when the output failed. */
int tcli_out_buf(struct tcli_out *o, struct st_buf *b);
/* Flushes and closes; the file is renamed into place when everything was
 * written. ST_EXIT_OUTPUT after printing "cannot write ...: WHY", or 0. */
int tcli_out_close(struct tcli_out *o);

/* Parses "A..B", "A..", "..B" or "N" into an inclusive range; -1 if bad. */
int tcli_parse_range(const char *s, uint64_t *first, uint64_t *last);

/* Parses a non-negative decimal; -1 if bad. */
int tcli_parse_size(const char *s, size_t *out);

/* The word for a trace error in JSON and messages ("truncated",
 * "checksum", ...): never an internal name. */
const char *tcli_error_word(int err);

/* A JSON string literal of `len` bytes: bytes 0x80-0xff are taken as
 * ISO-8859-1 (U+0080-U+00FF), so the bytes are recovered exactly by
 * encoding the string back to Latin-1. */
void tcli_json_str(struct st_buf *b, const void *data, size_t len);

/* "1 event", "2 events". */
const char *tcli_plural(uint64_t n, const char *one, const char *many);

#endif
