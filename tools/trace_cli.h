/* tools/trace_cli.h: what the trace-reading commands (dump, stats, diff,
 * export) share: opening a trace with a clear message, --events ranges,
 * exit codes, JSON string output. */
#ifndef SANDTRACE_TOOLS_TRACE_CLI_H
#define SANDTRACE_TOOLS_TRACE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "format/trace.h"
#include "tools/trace_print.h"

/* Exit codes of dump, stats, diff and export (docs/sandtrace.1). */
enum {
    TCLI_EXIT_DIFFERENT = 1, /* diff: the traces differ */
    TCLI_EXIT_TRACE = 4,     /* a trace cannot be opened or is not a trace */
    TCLI_EXIT_DAMAGED = 5,   /* a trace is truncated or damaged: output covers what could be read */
    TCLI_EXIT_OUTPUT = 6,    /* writing the output failed */
};

/* Opens `path` ("-" is stdin) for reading; on failure prints
 * "sandtrace CMD: cannot open trace 'PATH': WHY" and returns NULL. */
struct trace_reader *tcli_open(const char *cmd, const char *path, int recover);

/* Parses "A..B", "A..", "..B" or "N" into an inclusive range; -1 if bad. */
int tcli_parse_range(const char *s, uint64_t *first, uint64_t *last);

/* Parses a non-negative decimal; -1 if bad. */
int tcli_parse_size(const char *s, size_t *out);

/* Reports a read error of `path` after some output: prints the reader's
 * message to stderr and returns TCLI_EXIT_DAMAGED. */
int tcli_read_error(const char *cmd, const char *path, struct trace_reader *r, int err);

/* A JSON string literal of `len` bytes: bytes 0x80-0xff are taken as
 * ISO-8859-1 (U+0080-U+00FF), so the bytes are recovered exactly by
 * encoding the string back to Latin-1. */
void tcli_json_str(struct st_buf *b, const void *data, size_t len);

/* Writes the buffer to f and resets it; -1 on a write error. */
int tcli_flush(struct st_buf *b, FILE *f);

#endif
