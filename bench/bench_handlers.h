/* The user-handler figures of `make bench` (issue 14): a getpid()i call
 * answered by a C plugin (testplugins/getpid.so) and by a handler process
 * (a Python program reading and writing one JSON line per call), each
 * against the built-in answer of the same call in the same repetition.
 *
 * Per call, start-up excluded: each subject also runs the ping guest with
 * 0 calls, and a figure is (wall at N - wall at 0) / N. The runs of one
 * repetition are interleaved (built-in N, subject N, built-in 0, subject
 * 0; the order alternating between repetitions); a ratio is the median of
 * the repetitions' ratios, a value the median of their values. */
#ifndef SANDTRACE_BENCH_HANDLERS_H
#define SANDTRACE_BENCH_HANDLERS_H

struct bench_handlers {
    long plugin_n, proc_n;      /* calls per run */
    double builtin_ns;          /* the built-in answer, per call (plugin's repetitions) */
    double plugin_ns, plugin_ratio;
    double builtin_small_ns;    /* the built-in answer at proc_n calls */
    double proc_ns, proc_ratio;
    char skipped[200];          /* why the handler-process figures are absent ("" if not) */
};

/* Measures both; `log` gets a failing run's stderr. Dies on a failing
 * built-in or plugin run; a missing python3 skips the process figures. */
void bench_handlers_measure(const char *sandtrace, const char *build_dir, const char *tmp,
                            const char *log, int quick, struct bench_handlers *out);

#endif
