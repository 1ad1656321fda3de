/* The real-PyPy figures of `make bench` (issue 15): workloads of N
 * iterations of one Python statement under the real sandbox-2 pypy2 and
 * pypy3 builds, run and recorded.
 *
 * Every figure is per request and excludes PyPy's start-up: each workload
 * also runs with 0 iterations (the same script, the same imports), and a
 * figure is (value at N - value at 0) / (requests at N - requests at 0),
 * where "at 0" is the median of the repetitions' runs at 0 (one slow
 * start on a loaded machine spoils no repetition). The runs of one
 * repetition are interleaved (run N, run 0, record N, record 0, the order
 * alternating between repetitions); a value is the median over
 * repetitions. Each workload is also run with polled waits
 * (SANDTRACE_LINK_WAIT=poll, the controller's way of waiting before the
 * blocking fast path), and with --pin any (guest and controller not
 * sharing one CPU), interleaved the same way. System calls are counted
 * once per workload and wait mode, outside the timed runs, with `perf
 * trace -s` (the kernel's tracepoints; per thread), or `strace -f -ff`
 * where perf is missing or refused, at N/4 and 0 iterations. */
#ifndef SANDTRACE_BENCH_PYPY_H
#define SANDTRACE_BENCH_PYPY_H

#include <stddef.h>

#define BENCH_PYPY_BUILDS 2
#define BENCH_PYPY_WORKLOADS 4

/* One workload on one build: medians over the repetitions. */
struct bench_pypy_row {
    const char *build;        /* "pypy2", "pypy3" */
    const char *workload;     /* "stat", "write", "read", "time" */
    const char *statement;    /* the Python statement, for the table */
    long n;                   /* iterations */
    double requests_per_iter; /* requests one iteration makes */
    double wall_ns;           /* run: wall per request */
    double ctrl_ns;           /* run: the controller's CPU per request (the outcome's) */
    double guest_ns;          /* run: the guest's own CPU (user + sys) per request */
    double wall_guest_ratio;  /* run: wall / the guest's CPU, median of the repetitions' */
    double rec_wall_ns;       /* record: wall per request */
    double rec_ctrl_ns;       /* record: the controller's CPU per request */
    double rec_ratio;         /* record wall / run wall, median of the repetitions' */
    double poll_wall_ns;      /* run with polled waits (SANDTRACE_LINK_WAIT=poll): wall */
    double poll_ctrl_ns;      /*   and the controller's CPU per request */
    double poll_ctrl_ratio;   /* controller CPU, fast path / polled waits, median of ratios */
    double unpinned_wall_ns;  /* run with --pin any (no shared CPU): wall */
    double unpinned_ctrl_ns;  /*   and the controller's CPU per request */
    double pinned_wall_ratio; /* wall, one shared CPU / --pin any, median of ratios */
    double sc_ctrl, sc_guest; /* system calls per request, controller (every thread) and
                                 guest; NAN when not counted */
    double sc_ctrl_poll, sc_guest_poll; /* the same with polled waits */
    const char *sc_tool;      /* what counted them: "perf trace" or "strace" */
};

struct bench_pypy {
    int nrows;
    struct bench_pypy_row rows[BENCH_PYPY_BUILDS * BENCH_PYPY_WORKLOADS];
    char skipped[BENCH_PYPY_BUILDS][200]; /* why a build has no rows ("" if it has) */
    char strace_note[160];                /* why system calls were not counted ("" if they were) */
};

/* Measures every workload on every build found: $PYPY_SANDBOX and
 * $PYPY3_SANDBOX when set (empty: skip that build), else the builds `make
 * pypy-fixtures` unpacked into BUILD/pypy. `tmp` is a scratch directory,
 * `log` a file for failing runs' stderr. A build that is absent, or whose
 * run fails, is skipped with the reason in out->skipped. */
void bench_pypy_measure(const char *sandtrace, const char *build_dir, const char *tmp,
                        const char *log, int quick, struct bench_pypy *out);

#endif
