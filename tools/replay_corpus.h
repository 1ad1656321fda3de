/* tools/replay_corpus.h: `sandtrace replay --check` over many traces.
 *
 * Each trace is replayed by its own `sandtrace replay --check TRACE`
 * process (the single-trace command, unchanged: one guest, one jail, one
 * process, so a trace that crashes or hangs its replay harms no other), up
 * to `jobs` at once. Each one's stderr is its report. Prints a verdict line
 * per trace as it ends and a summary, keeps the reports, and writes JUnit
 * XML. Part of tools/: it prints and returns exit codes. */
#ifndef SANDTRACE_TOOLS_REPLAY_CORPUS_H
#define SANDTRACE_TOOLS_REPLAY_CORPUS_H

#include <stddef.h>

struct replay_corpus_options {
    size_t jobs;             /* replays at once (>= 1) */
    const char *exe;         /* --exe, or NULL */
    const char *timeout;     /* --timeout SECS as given, or NULL */
    const char *key;         /* --key FILE, or NULL */
    int no_jail;             /* --no-jail */
    int keep_going;          /* --keep-going */
    const char *pin;         /* --pin WHERE as given, or NULL: each job on its own CPU */
    int quiet;               /* -q: only the lines of the traces that failed */
    const char *junit;       /* write JUnit XML here, or NULL */
    const char *reports;     /* keep each trace's report in this directory, or NULL */
};

/* Replays every trace of argv[0..argc) (a directory: its *.sbt files).
 * Returns the exit status (enum st_exit): 0 every trace identical; else 65
 * one diverged; else 70 one could not be replayed (setup, timeout, key);
 * else 4 one cannot be read; else 5 one is damaged or ends early; else 6
 * the lines, the JUnit file or the reports could not be written; 2 bad
 * arguments (no trace at all). With `reports`, DIR/summary.json holds every
 * trace's verdict (docs/replay-corpus.md). */
int replay_corpus_run(const struct replay_corpus_options *o, char **argv, int argc);

#endif
