/* Measuring processes for `make bench`: wall time, CPU and peak RSS of a
 * child (the `sandtrace` process), the pipe-floor program, the outcome JSON
 * that `sandtrace run --outcome` writes, and small statistics.
 *
 * How CPU time is attributed (checked by bench_main's rusage check on every
 * run): wait4() returns the rusage of the waited-for process *including* the
 * children it has itself reaped (the kernel fills it with RUSAGE_BOTH when
 * the zombie is reaped). The guest is sandtrace's child and sandtrace reaps
 * it, so wait4()'s user+sys of sandtrace is controller + guest. The
 * controller's own CPU is that minus the guest's, which sandtrace itself got
 * from its wait4() of the guest and reports in the outcome JSON
 * (guest_user_seconds + guest_sys_seconds). Before reaping, the zombie's
 * /proc/PID/stat gives utime/stime (its own) and cutime/cstime (its reaped
 * children) in clock ticks: a coarse, independent cross-check.
 *
 * ru_maxrss from wait4() is likewise the maximum of the process and its
 * reaped children, so the controller's own peak RSS is sampled from
 * /proc/PID/status (VmHWM, a high-water mark) while it runs. */
#ifndef SANDTRACE_BENCH_PROC_H
#define SANDTRACE_BENCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What one finished process cost. */
struct bench_proc {
    pid_t pid;
    double t_start;          /* CLOCK_MONOTONIC seconds, just before fork() */
    double wall;             /* seconds, fork() to the end of the process */
    double cpu;              /* wait4(): user + sys, the process and its reaped children */
    long maxrss_kb;          /* wait4(): max over the process and its reaped children */
    long hwm_kb;             /* max VmHWM sampled from /proc/PID/status (0: not sampled) */
    double proc_self_cpu;    /* /proc/PID/stat utime+stime of the zombie, seconds */
    double proc_children_cpu;/* /proc/PID/stat cutime+cstime of the zombie, seconds */
    int status;              /* wait status */
};

double bench_now(void);

/* Starts argv[0] (a path) with stdin from /dev/null, stdout to `out_path`
 * (NULL: /dev/null) and stderr to `err_path` (NULL: /dev/null). Fills
 * p->pid and p->t_start. Returns 0 or -1 (errno set). */
int bench_spawn(char *const argv[], const char *out_path, const char *err_path,
                struct bench_proc *p);

/* Waits for p->pid to end. With sample_ms > 0, samples its VmHWM every
 * sample_ms milliseconds meanwhile. Reads the zombie's /proc stat before
 * reaping it with wait4(). Returns 0, or -1 when waiting failed. */
int bench_wait(struct bench_proc *p, int sample_ms);

/* The pipe floor: a forked child sends `req` (req_len bytes) on one pipe
 * and reads `res_len` bytes from the other, n times; this process reads
 * each request (into a 16 KiB buffer, as the controller does) and answers
 * with `res`. Blocking pipes, no poll; with `pinned`, both sides on one
 * CPU, as sandtrace's guest and controller are by default. Returns 0 and
 * the wall time of the whole exchange (fork to reap) and this process's
 * own CPU (user + sys) over it, or -1. */
int bench_floor(const void *req, size_t req_len, const void *res, size_t res_len, long n,
                int pinned, double *wall, double *cpu);

/* The same exchange, but this side reads the way the controller does: its
 * request pipe is O_NONBLOCK, and when a read() finds nothing it poll()s that
 * pipe together with a second, idle one (the guest's stderr in the
 * controller), then reads again; both sides on one CPU. A diagnostic: how much of the controller's
 * cost is that design rather than its work per request. */
int bench_floor_nonblocking(const void *req, size_t req_len, const void *res, size_t res_len,
                            long n, double *wall, double *cpu);

/* What `sandtrace run --outcome FILE` reported (the fields the bench uses). */
struct bench_outcome {
    char status[32];
    double calls;
    double bytes_in, bytes_out;
    double guest_user, guest_sys;
    double wall_seconds;
    /* The controller's own RUSAGE_SELF over the run (spawn to the guest's
     * end; not its start-up nor the trace's close); -1 when not reported. */
    double controller_cpu;
};

/* Reads an outcome JSON file. Returns 0, or -1 if it cannot be read or a
 * field is missing. */
int bench_outcome_read(const char *path, struct bench_outcome *o);

/* Median of n values (sorts `v` in place); 0 for n == 0. */
double bench_median(double *v, size_t n);

#endif
