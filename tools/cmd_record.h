/* `sandtrace record`, and `sandtrace run --record FILE`, which is the same
 * code path. */
#ifndef SANDTRACE_TOOLS_CMD_RECORD_H
#define SANDTRACE_TOOLS_CMD_RECORD_H

/* 1 when the options of `run` (before its executable) include --record,
 * so that cmd_run hands the whole command line to cmd_record. */
int st_record_requested(int argc, char **argv);

#endif
