/* tools/progress.h: a progress line on a terminal for long work (replay
 * --check of a large trace, export, verify), silent when stderr is not a
 * terminal or the command was asked to be quiet.
 *
 *     struct progress pg;
 *     progress_start(&pg, "export", "events", total_or_0, quiet);
 *     for (...) progress_update(&pg, done);   // cheap: looks at the clock every 4096 calls
 *     progress_end(&pg);                       // erases the line
 *
 * The line is "sandtrace export: 41% (1.2 GB of 2.8 GB)" when a total is
 * known, else "sandtrace export: 3 200 000 events", redrawn at most five
 * times a second on stderr. */
#ifndef SANDTRACE_TOOLS_PROGRESS_H
#define SANDTRACE_TOOLS_PROGRESS_H

#include <stdint.h>

struct progress {
    int on;                 /* stderr is a terminal and not quiet */
    const char *cmd;
    const char *unit;       /* "bytes" shows sizes, anything else counts */
    uint64_t total;         /* 0: unknown */
    uint64_t calls;
    uint64_t last_ns;       /* when the line was last drawn */
    int drawn;
};

void progress_start(struct progress *pg, const char *cmd, const char *unit, uint64_t total,
                    int quiet);
void progress_update(struct progress *pg, uint64_t done);
void progress_end(struct progress *pg);

#endif
