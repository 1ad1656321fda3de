#ifndef SANDTRACE_TOOLS_COMMANDS_H
#define SANDTRACE_TOOLS_COMMANDS_H

/* The exit codes of every subcommand: one table (docs/sandtrace.1, EXIT
 * STATUS). A command uses only the codes that can happen to it, and each
 * code means the same thing wherever it appears. */
enum st_exit {
    ST_EXIT_OK = 0,
    ST_EXIT_DIFFERENT = 1,    /* a "no" answer: diff found a difference, check an unhandled function */
    ST_EXIT_USAGE = 2,        /* bad command line */
    ST_EXIT_NOT_BUILT = 3,    /* the subcommand is not implemented yet */
    ST_EXIT_UNREADABLE = 4,   /* an input (trace, key, config, database) cannot be read, or a trace is not a trace */
    ST_EXIT_DAMAGED = 5,      /* a trace is damaged or cut short; what could be read was used */
    ST_EXIT_OUTPUT = 6,       /* an output cannot be written */
    ST_EXIT_KEY = 7,          /* a keyed trace without --key, or the wrong key */
    ST_EXIT_DIVERGED = 65,    /* replay: the guest diverged from the trace */
    ST_EXIT_ERROR = 70,       /* run/record/replay: the guest could not be set up or run */
    ST_EXIT_TIMEOUT = 71,     /* run/record/replay: the limits the guest reached, 71-80 */
    ST_EXIT_CPU = 72,
    ST_EXIT_MEMORY = 73,
    ST_EXIT_OUTPUT_LIMIT = 74,
    ST_EXIT_MAX_CALLS = 75,
    ST_EXIT_VIOLATION = 76,
    ST_EXIT_UNKNOWN_CALL = 77,
    ST_EXIT_SECCOMP = 78,
    ST_EXIT_HANDLER = 79,
    ST_EXIT_TRACE_LIMIT = 80,
    ST_EXIT_SIGNAL_BASE = 128, /* + a signal: the guest was killed by it, or (130 = SIGINT,
                                * 143 = SIGTERM) the run was interrupted by it */
};

#define CMD(name, summary) int cmd_##name(int argc, char **argv);
#include "tools/commands.def"
#undef CMD

#endif
