#ifndef SANDTRACE_TOOLS_COMMANDS_H
#define SANDTRACE_TOOLS_COMMANDS_H

/* Exit codes shared by every subcommand (documented in docs/sandtrace.1).
 * `run`, `record` and `replay` add their own above 64; see their --help. */
enum {
    ST_EXIT_OK = 0,
    ST_EXIT_USAGE = 2,        /* bad command line */
    ST_EXIT_NOT_BUILT = 3,    /* the subcommand is not implemented yet */
};

#define CMD(name, summary) int cmd_##name(int argc, char **argv);
#include "tools/commands.def"
#undef CMD

#endif
