/* What `run` and `record` make of a session's outcome (controller/session.h):
 * the process exit code (tools/commands.h) and the --outcome JSON document. */
#ifndef SANDTRACE_TOOLS_RUN_OUTCOME_H
#define SANDTRACE_TOOLS_RUN_OUTCOME_H

#include <stddef.h>

#include "controller/session.h"

/* The exit code of `run`/`record` for an outcome: the guest's own code when
 * it exited, 128+N when signal N killed it or interrupted the run, and the
 * code of each other end (ST_EXIT_ERROR, ST_EXIT_TIMEOUT .. ST_EXIT_TRACE_LIMIT).
 * A guest that itself exits with 70..80 is told apart only by the JSON's
 * "status". */
int run_outcome_exit_code(const struct st_outcome *o);

/* `o` as one JSON object (no newline) into dst (cap bytes, NUL-terminated
 * when cap > 0), beginning with "schema_version":1; a value that does not
 * exist is null. Returns the length the whole object needs (as snprintf). */
int run_outcome_to_json(const struct st_outcome *o, char *dst, size_t cap);

#endif
