/* The user-handler figures (bench_handlers.h). */
#include "bench/bench_handlers.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_proc.h"

#define BH_MAX_REPS 15

/* The handler process: one {"result":4200} per request line. */
static const char bh_py[] =
    "import sys\n"
    "w = sys.stdout.write\n"
    "for line in sys.stdin:\n"
    "    w('{\"result\":4200}\\n'); sys.stdout.flush()\n";

/* Wall seconds of `sandtrace run --quiet EXTRA... -- ping N`; NAN on failure. */
static double bh_run(const char *sandtrace, const char *ping, const char *const *extra, long n,
                     const char *log)
{
    char count[32];
    snprintf(count, sizeof count, "%ld", n);
    const char *argv[16];
    size_t k = 0;
    argv[k++] = sandtrace;
    argv[k++] = "run";
    argv[k++] = "--quiet";
    for (size_t i = 0; extra && extra[i] && k < 12; i++)
        argv[k++] = extra[i];
    argv[k++] = "--";
    argv[k++] = ping;
    argv[k++] = count;
    argv[k] = NULL;
    struct bench_proc p;
    if (bench_spawn((char *const *)argv, NULL, log, &p) < 0 || bench_wait(&p, 0) < 0)
        return NAN;
    if (!WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0)
        return NAN;
    return p.wall;
}

static void bh_fail(const char *what, const char *log)
{
    fprintf(stderr, "sandtrace-bench: the %s run failed (its stderr is in %s)\n", what, log);
    exit(1);
}

/* One pair (built-in, subject) at n calls: per-call ns of both. */
static void bh_pair(const char *sandtrace, const char *ping, const char *const *subject, long n,
                    int rep, const char *log, double *base_ns, double *subj_ns)
{
    double bn, b0, sn, s0;
    if (rep % 2 == 0) {
        bn = bh_run(sandtrace, ping, NULL, n, log);
        sn = bh_run(sandtrace, ping, subject, n, log);
        b0 = bh_run(sandtrace, ping, NULL, 0, log);
        s0 = bh_run(sandtrace, ping, subject, 0, log);
    } else {
        sn = bh_run(sandtrace, ping, subject, n, log);
        bn = bh_run(sandtrace, ping, NULL, n, log);
        s0 = bh_run(sandtrace, ping, subject, 0, log);
        b0 = bh_run(sandtrace, ping, NULL, 0, log);
    }
    if (isnan(bn) || isnan(b0))
        bh_fail("built-in", log);
    if (isnan(sn) || isnan(s0)) {
        *subj_ns = NAN;
        return;
    }
    *base_ns = (bn - b0) / (double)n * 1e9;
    *subj_ns = (sn - s0) / (double)n * 1e9;
}

void bench_handlers_measure(const char *sandtrace, const char *build_dir, const char *tmp,
                            const char *log, int quick, struct bench_handlers *out)
{
    memset(out, 0, sizeof *out);
    char ping[PATH_MAX], plugin[PATH_MAX], script[PATH_MAX], handler[PATH_MAX + 64];
    snprintf(ping, sizeof ping, "%s/guests/ping", build_dir);
    snprintf(plugin, sizeof plugin, "%s/testplugins/getpid.so", build_dir);
    snprintf(script, sizeof script, "%s/bench_handler.py", tmp);
    int reps = quick ? 3 : 9;
    out->plugin_n = quick ? 100000 : 500000;
    out->proc_n = quick ? 2000 : 10000;
    double b[BH_MAX_REPS], s[BH_MAX_REPS], r[BH_MAX_REPS];

    fprintf(stderr, "bench: handlers: getpid()i by a C plugin, %d repetitions of %ld calls\n", reps,
            out->plugin_n);
    const char *const with_plugin[] = { "--plugin", plugin, NULL };
    for (int i = 0; i < reps; i++) {
        bh_pair(sandtrace, ping, with_plugin, out->plugin_n, i, log, &b[i], &s[i]);
        if (isnan(s[i]))
            bh_fail("--plugin", log);
        r[i] = s[i] / b[i];
    }
    out->builtin_ns = bench_median(b, (size_t)reps);
    out->plugin_ns = bench_median(s, (size_t)reps);
    out->plugin_ratio = bench_median(r, (size_t)reps);

    if (access("/usr/bin/python3", X_OK) != 0) {
        snprintf(out->skipped, sizeof out->skipped, "no /usr/bin/python3 for the handler process");
        out->proc_ns = out->proc_ratio = out->builtin_small_ns = NAN;
        return;
    }
    FILE *f = fopen(script, "w");
    if (!f || fputs(bh_py, f) < 0 || fclose(f) != 0) {
        snprintf(out->skipped, sizeof out->skipped, "cannot write '%.120s': %s", script, strerror(errno));
        out->proc_ns = out->proc_ratio = out->builtin_small_ns = NAN;
        return;
    }
    fprintf(stderr, "bench: handlers: getpid()i by a handler process (python3), %d repetitions of "
            "%ld calls\n", reps, out->proc_n);
    snprintf(handler, sizeof handler, "getpid=exec /usr/bin/python3 %s", script);
    const char *const with_proc[] = { "--handler", handler, NULL };
    for (int i = 0; i < reps; i++) {
        bh_pair(sandtrace, ping, with_proc, out->proc_n, i, log, &b[i], &s[i]);
        if (isnan(s[i]))
            bh_fail("--handler", log);
        r[i] = s[i] / b[i];
    }
    out->builtin_small_ns = bench_median(b, (size_t)reps);
    out->proc_ns = bench_median(s, (size_t)reps);
    out->proc_ratio = bench_median(r, (size_t)reps);
    unlink(script);
}
