/* `sandtrace record`, and `sandtrace run` (with --record FILE, a recording):
 * one code path. */
#ifndef SANDTRACE_TOOLS_CMD_RECORD_H
#define SANDTRACE_TOOLS_CMD_RECORD_H

#include <stdio.h>

/* Parses the command line of `run` or `record` (prog), prints `usage` for
 * --help, then runs or records. Returns the exit code. */
int st_run_main(int argc, char **argv, const char *prog, void (*usage)(FILE *out, const char *prog));

#endif
