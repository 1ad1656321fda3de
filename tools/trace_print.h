/* tools/trace_print.h: the symbolic printer of trace events, strace style.
 *
 * One call prints as one line, decoded with the signature registry
 * (controller/sigtable.def): strings and paths from the recorded Z data,
 * buffers from the R/W data, open flags, modes, whence, access modes, AT_*
 * flags, struct stat/dirent/timeval/timespec/..., errno names:
 *
 *   12 +0.000184 open("/lib/pypy/lib-python/2.7/os.py", O_RDONLY, 0666) = 3
 *   20 +0.000301 stat64("/tmp/x", {st_mode=S_IFREG|0644, st_size=120, ...}) = 0
 *   31 +0.000342 getcwd(0x7ffc1000, 2) = NULL ERANGE (Numerical result out of range)
 *
 * The prefix is the event seq and the time: "+S.UUUUUU" since the start of
 * the recording, or (tp_options.relative, strace -r) since the previous line.
 * Other events print as strace prints signals and exits:
 *
 *   40 +0.001000 --- stderr "warning\n" ---
 *   41 +0.001200 +++ exited with 0 +++
 *
 * Used by `sandtrace dump` and `sandtrace replay --print-events`. The output
 * goes to a st_buf (a growable string with a maximum size) or a FILE. */
#ifndef SANDTRACE_TOOLS_TRACE_PRINT_H
#define SANDTRACE_TOOLS_TRACE_PRINT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/st_buf.h"
#include "format/trace.h"
#include "tools/trace_calls.h"

/* The printer writes into common/st_buf. The names below are its older
 * ones, kept for code written before common/ existed: new code uses st_buf. */
#define tp_buf st_buf
#define TP_BUF_DEFAULT_MAX ST_BUF_DEFAULT_MAX
#define tp_buf_init st_buf_init
#define tp_buf_release st_buf_release
#define tp_buf_reset st_buf_reset
#define tp_buf_add st_buf_add
#define tp_buf_puts st_buf_puts
#define tp_buf_addf st_buf_addf

/* Which functions to show: strace's -e trace=SET. */
#define TP_FILTER_MAX_NAMES 256
struct tp_filter {
    int active;             /* 0: everything */
    int negate;             /* "!SET": everything but SET */
    unsigned classes;       /* bit (1 << enum st_sig_class) */
    size_t nnames;
    char names[TP_FILTER_MAX_NAMES][64];
};
/* Parses "open,read,%file,%desc" (optionally "trace=" first, "!" to
 * negate; "all" and "none"). A name must be a function of the signature
 * table (controller/sigtable.def) or a whole signature ("open(pii)i"); a
 * class must be one of the five. 0, or -1 with a message in err that names
 * what is unknown and lists the valid classes. */
int tp_filter_parse(struct tp_filter *f, const char *spec, char *err, size_t err_cap);
/* Does the filter let the call through? */
int tp_filter_match(const struct tp_filter *f, const struct tc_call *c);

struct tp_options {
    size_t strsize;         /* -s: bytes of a string or buffer shown (default 32) */
    int hex;                /* -x: non-printable bytes as \xNN; 2 (-xx): every byte */
    int raw;                /* --raw: every memory command on its own line after the call */
    int verbose;            /* -v: every field of structures */
    int relative;           /* -r: time since the previous line instead of since the start */
    int absolute;           /* -t: wall-clock time of day, -tt: with microseconds, -ttt: seconds
                             * since the epoch (strace's forms), from the recording's start time */
    int64_t start_unix_ns;  /* for -t: when the recording started (the header's created time) */
    uint64_t range_first;   /* --events A..: a memory command whose request is before A is
                             * shown as "(of the call at event N)" */
    int durations;          /* -T: " <S.UUUUUU>" time from request to result */
    int no_prefix;          /* no "SEQ TIME " prefix */
    int fd_paths;           /* -y: file descriptors with their paths, 3</lib/os.py> */
    const struct tp_filter *filter; /* NULL: every call */
    const struct tp_fdtab *fdtab;   /* set by the printer when fd_paths is on */
};
void tp_options_init(struct tp_options *o);

/* What each guest file descriptor names, learnt from the calls seen so far
 * (open, openat, dup*, close): for -y. */
#define TP_FDTAB_MAX 1024
struct tp_fdtab {
    char *path[TP_FDTAB_MAX]; /* NULL: unknown */
};
/* Learns from one call (finished or not). */
void tp_fdtab_update(struct tp_fdtab *t, const struct tc_call *c);
/* Frees the paths; the table is empty again. */
void tp_fdtab_release(struct tp_fdtab *t);

/* A call by its signature's wire kinds only, "name(1, 0x7f.., 2.5)": for a
 * request without its memory commands (replay's diagnostics). */
void tp_format_raw_call(struct st_buf *out, const char *sig, const uint64_t *args, size_t nargs);

/* The call's text without prefix or newline: `open("/x", O_RDONLY) = 3`. */
void tp_format_call(struct st_buf *out, const struct tc_call *c, const struct tp_options *o);
/* The same in two parts, for `sandtrace index`: the arguments alone
 * (`"/x", O_RDONLY`), and the result alone (`3`, `-1 ENOENT (No such file or
 * directory)`; nothing for an unfinished call). */
void tp_format_call_args(struct st_buf *out, const struct tc_call *c, const struct tp_options *o);
void tp_format_call_result(struct st_buf *out, const struct tc_call *c, const struct tp_options *o);
/* The text of a non-call event (or of a memory command in raw form), without
 * prefix or newline: `+++ exited with 0 +++`, `R 0x1000 3 -> "abc"`. */
void tp_format_event(struct st_buf *out, const struct trace_event *ev, const struct tp_options *o);
/* A quoted, escaped buffer cut at o->strsize ("abc"...). */
void tp_format_bytes(struct st_buf *out, const uint8_t *data, size_t len, const struct tp_options *o);
/* Text from a trace (signature, note, reason) with control and non-ASCII
 * bytes escaped as \ooo, so that a hostile trace cannot drive a terminal. */
void tp_format_text(struct st_buf *out, const char *s);
/* "ENOENT"; NULL when unknown. And "No such file or directory"; NULL when unknown. */
const char *tp_errno_name(int err);
const char *tp_errno_text(int err);
/* "SIGKILL"; NULL when unknown. */
const char *tp_signal_name(int sig);

/* A stateful printer: feed it events, it prints whole lines as calls
 * complete (to `f`, or appended to `buf` when f is NULL). */
struct tp_printer;
struct tp_printer *tp_printer_new(const struct tp_options *o, FILE *f, struct st_buf *buf);
/* 0, or -1 when out of memory. */
int tp_printer_add_event(struct tp_printer *p, const struct trace_event *ev);
/* Prints an item (a call or an event) now, with its prefix, if the filter lets it through. */
void tp_printer_print_item(struct tp_printer *p, const struct tc_item *it);
/* Prints what is still open (as unfinished). */
void tp_printer_finish(struct tp_printer *p);
void tp_printer_free(struct tp_printer *p);

#endif
