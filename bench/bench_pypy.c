/* The real-PyPy figures of `make bench`: bench_pypy.h says what and how. */
#include "bench/bench_pypy.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_proc.h"

#define MAX_REPS 9

struct workload {
    const char *name;
    const char *statement; /* shown in the table */
    const char *import;    /* the script: IMPORT, then the loop over BODY */
    const char *body;
    long n, n_quick;       /* iterations */
};

/* Python 2 and 3 alike; -S: no site, so that start-up is small and the
 * same at 0 iterations. /data is a mount holding the 4 KB file. */
static const struct workload workloads[BENCH_PYPY_WORKLOADS] = {
    { "stat", "os.path.exists(f)", "import os", "os.path.exists('/data/f4k')", 20000, 3000 },
    { "write", "os.write(1, b\"x\\n\")", "import os", "os.write(1, b'x\\n')", 20000, 3000 },
    { "read", "open/read/close of a 4 KB file", "import os",
      "f = open('/data/f4k', 'rb'); f.read(); f.close()", 2000, 300 },
    { "time", "time.time()", "import time", "time.time()", 20000, 3000 },
};

static void make_script(char *dst, size_t cap, const struct workload *w, long n)
{
    snprintf(dst, cap, "%s\nfor i in range(%ld): %s\n", w->import, n, w->body);
}

struct build {
    const char *name, *var, *exe_rel;
    char exe[PATH_MAX], lib[PATH_MAX];
};

/* The build `var` names, else the one under BUILD/pypy. Returns 1 when
 * found, else 0 with `why` filled. */
static int find_build(struct build *bd, const char *build_dir, char *why, size_t cap)
{
    const char *env = getenv(bd->var);
    if (env && !*env) {
        snprintf(why, cap, "%s is set empty", bd->var);
        return 0;
    }
    if (env)
        snprintf(bd->exe, sizeof bd->exe, "%s", env);
    else if ((size_t)snprintf(bd->exe, sizeof bd->exe, "%s/pypy/%s", build_dir, bd->exe_rel) >=
             sizeof bd->exe)
        return 0;
    if (access(bd->exe, X_OK) != 0) {
        snprintf(why, cap, "no %s build (%s; make pypy-fixtures unpacks it, or set %s)", bd->name,
                 env ? "$PYPY_SANDBOX names no executable" : "nothing in BUILD/pypy", bd->var);
        return 0;
    }
    /* Its library tree (lib-python, lib_pypy) is the directory above bin/. */
    snprintf(bd->lib, sizeof bd->lib, "%s", bd->exe);
    for (int up = 0; up < 2; up++) {
        char *slash = strrchr(bd->lib, '/');
        if (!slash) {
            snprintf(why, cap, "cannot find %s's library tree", bd->exe);
            return 0;
        }
        *slash = '\0';
    }
    return 1;
}

/* One sandtrace run or record of a workload's script at n iterations. */
struct one {
    double wall, ctrl, guest, calls;
};

static int run_one(const char *sandtrace, const struct build *bd, const struct workload *w,
                   long n, int record, const char *tmp, const char *log, struct one *o,
                   char *why, size_t cap)
{
    char script[512], outcome[PATH_MAX], trace[PATH_MAX], mount[PATH_MAX + 16];
    make_script(script, sizeof script, w, n);
    snprintf(outcome, sizeof outcome, "%s/pypy-outcome.json", tmp);
    snprintf(trace, sizeof trace, "%s/pypy.sbt", tmp);
    snprintf(mount, sizeof mount, "/data=%s/pypydata", tmp);
    unlink(outcome);
    const char *argv[24];
    int k = 0;
    argv[k++] = sandtrace;
    argv[k++] = record ? "record" : "run";
    if (record) {
        argv[k++] = "-o";
        argv[k++] = trace;
    }
    argv[k++] = "--quiet";
    argv[k++] = "--outcome";
    argv[k++] = outcome;
    argv[k++] = "--mount";
    argv[k++] = mount;
    argv[k++] = "--lib-path";
    argv[k++] = bd->lib;
    argv[k++] = "--";
    argv[k++] = bd->exe;
    argv[k++] = "-S";
    argv[k++] = "-c";
    argv[k++] = script;
    argv[k] = NULL;
    struct bench_proc p;
    if (bench_spawn((char *const *)argv, NULL, log, &p) < 0 || bench_wait(&p, 0) < 0) {
        snprintf(why, cap, "cannot run sandtrace: %s", strerror(errno));
        return -1;
    }
    struct bench_outcome bo;
    if (!WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0 ||
        bench_outcome_read(outcome, &bo) < 0 || bo.controller_cpu < 0) {
        snprintf(why, cap, "sandtrace %s of the %s workload failed (wait status 0x%x; its stderr "
                 "is in %s)", argv[1], w->name, p.status, log);
        return -1;
    }
    o->wall = p.wall;
    o->ctrl = bo.controller_cpu;
    o->guest = bo.guest_user + bo.guest_sys;
    o->calls = bo.calls;
    unlink(trace);
    return 0;
}

/* --- system calls, counted with strace outside the timed runs --- */

static const char *find_strace(void)
{
    static const char *const paths[] = { "/usr/bin/strace", "/bin/strace", "/usr/local/bin/strace" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

/* Counts the system calls in one strace -ff output file (one process or
 * thread); *is_guest when it execs the guest. */
static long count_file(const char *path, const char *exe, int *is_guest)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096], want[PATH_MAX + 16];
    snprintf(want, sizeof want, "execve(\"%s\"", exe);
    long n = 0;
    *is_guest = 0;
    while (fgets(line, sizeof line, f)) {
        /* A call starts with its name; "+++ exited", "--- SIGCHLD" and
         * "<... resumed>" do not. Long lines come in several pieces: only
         * the piece that starts a line counts. */
        if (line[0] >= 'a' && line[0] <= 'z')
            n++;
        if (!strncmp(line, want, strlen(want)))
            *is_guest = 1;
        while (!strchr(line, '\n') && fgets(line, sizeof line, f))
            ;
    }
    fclose(f);
    return n;
}

/* Runs the workload at n iterations under strace -f -ff; *ctrl and *guest
 * get the system calls of the controller (all its threads) and the guest,
 * *calls the requests. Returns 0 or -1. */
static int strace_one(const char *strace, const char *sandtrace, const struct build *bd,
                      const struct workload *w, long n, const char *tmp, const char *log,
                      double *ctrl, double *guest, double *calls)
{
    char dir[PATH_MAX], prefix[PATH_MAX + 8], script[512], outcome[PATH_MAX],
        mount[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/strace", tmp);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    snprintf(prefix, sizeof prefix, "%s/t", dir);
    make_script(script, sizeof script, w, n);
    snprintf(outcome, sizeof outcome, "%s/pypy-outcome.json", tmp);
    snprintf(mount, sizeof mount, "/data=%s/pypydata", tmp);
    const char *argv[] = { strace, "-f", "-ff", "-o", prefix, sandtrace, "run", "--quiet",
                           "--outcome", outcome, "--mount", mount, "--lib-path", bd->lib, "--",
                           bd->exe, "-S", "-c", script, NULL };
    struct bench_proc p;
    if (bench_spawn((char *const *)argv, NULL, log, &p) < 0 || bench_wait(&p, 0) < 0)
        return -1;
    struct bench_outcome bo;
    int ok = WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0 &&
             bench_outcome_read(outcome, &bo) == 0;
    *ctrl = *guest = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "t.", 2))
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        int is_guest;
        long c = count_file(path, bd->exe, &is_guest);
        if (c < 0)
            ok = 0;
        else if (is_guest)
            *guest += (double)c;
        else
            *ctrl += (double)c;
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
    if (!ok)
        return -1;
    *calls = bo.calls;
    return 0;
}

static double median(double *v, size_t n)
{
    return n ? bench_median(v, n) : NAN;
}

static void progress(const char *build, const char *workload, int rep, int reps)
{
    fprintf(stderr, "bench: real PyPy: %s %s, run and record (repetition %d/%d)\n", build,
            workload, rep, reps);
}

static int make_data(const char *tmp)
{
    char dir[PATH_MAX], file[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/pypydata", tmp);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return -1;
    snprintf(file, sizeof file, "%s/f4k", dir);
    FILE *f = fopen(file, "w");
    if (!f)
        return -1;
    for (int i = 0; i < 4096; i++)
        fputc('a' + i % 26, f);
    return fclose(f);
}

void bench_pypy_measure(const char *sandtrace, const char *build_dir, const char *tmp,
                        const char *log, int quick, struct bench_pypy *out)
{
    memset(out, 0, sizeof *out);
    struct build builds[BENCH_PYPY_BUILDS] = {
        { "pypy2", "PYPY_SANDBOX", "pypy2-sandbox/bin/pypy-c-sandbox", "", "" },
        { "pypy3", "PYPY3_SANDBOX", "pypy3-sandbox/bin/pypy3-c-sandbox", "", "" },
    };
    int reps = quick ? 1 : 3;
    const char *strace = find_strace();
    if (!strace)
        snprintf(out->strace_note, sizeof out->strace_note, "no strace on this machine");
    if (make_data(tmp) < 0) {
        for (int b = 0; b < BENCH_PYPY_BUILDS; b++)
            snprintf(out->skipped[b], sizeof out->skipped[b], "cannot write the workloads' file");
        return;
    }
    for (int b = 0; b < BENCH_PYPY_BUILDS; b++) {
        struct build *bd = &builds[b];
        if (!find_build(bd, build_dir, out->skipped[b], sizeof out->skipped[b]))
            continue;
        int first_row = out->nrows;
        for (int wi = 0; wi < BENCH_PYPY_WORKLOADS; wi++) {
            const struct workload *w = &workloads[wi];
            long n = quick ? w->n_quick : w->n;
            double wall[MAX_REPS], ctrl[MAX_REPS], guest[MAX_REPS], ratio[MAX_REPS];
            double rwall[MAX_REPS], rctrl[MAX_REPS], rratio[MAX_REPS], per_iter[MAX_REPS];
            /* o[rep][record][zero iterations] */
            struct one o[MAX_REPS][2][2];
            for (int rep = 0; rep < reps; rep++) {
                progress(bd->name, w->name, rep + 1, reps);
                for (int s = 0; s < 4; s++) {
                    int k = rep % 2 ? 3 - s : s;
                    int rec = k / 2, zero = k % 2;
                    if (run_one(sandtrace, bd, w, zero ? 0 : n, rec, tmp, log, &o[rep][rec][zero],
                                out->skipped[b], sizeof out->skipped[b]) < 0) {
                        out->nrows = first_row;
                        goto next_build;
                    }
                }
            }
            /* Start-up (the runs at 0 iterations), the median of each
             * mode's, is taken off every run at N: one slow start on a
             * loaded machine then spoils no repetition. */
            struct one z[2];
            for (int rec = 0; rec < 2; rec++) {
                double v[4][MAX_REPS];
                for (int rep = 0; rep < reps; rep++) {
                    v[0][rep] = o[rep][rec][1].wall;
                    v[1][rep] = o[rep][rec][1].ctrl;
                    v[2][rep] = o[rep][rec][1].guest;
                    v[3][rep] = o[rep][rec][1].calls;
                }
                z[rec] = (struct one){ median(v[0], (size_t)reps), median(v[1], (size_t)reps),
                                       median(v[2], (size_t)reps), median(v[3], (size_t)reps) };
            }
            for (int rep = 0; rep < reps; rep++) {
                const struct one *run = &o[rep][0][0], *rec = &o[rep][1][0];
                double dc = run->calls - z[0].calls, rdc = rec->calls - z[1].calls;
                if (dc <= 0 || rdc != dc) {
                    snprintf(out->skipped[b], sizeof out->skipped[b],
                             "%s: run made %.0f requests more at %ld iterations, record %.0f",
                             w->name, dc, n, rdc);
                    out->nrows = first_row;
                    goto next_build;
                }
                wall[rep] = (run->wall - z[0].wall) / dc * 1e9;
                ctrl[rep] = (run->ctrl - z[0].ctrl) / dc * 1e9;
                guest[rep] = (run->guest - z[0].guest) / dc * 1e9;
                ratio[rep] = wall[rep] / guest[rep];
                rwall[rep] = (rec->wall - z[1].wall) / dc * 1e9;
                rctrl[rep] = (rec->ctrl - z[1].ctrl) / dc * 1e9;
                rratio[rep] = rwall[rep] / wall[rep];
                per_iter[rep] = dc / (double)n;
            }
            struct bench_pypy_row *r = &out->rows[out->nrows++];
            r->build = bd->name;
            r->workload = w->name;
            r->statement = w->statement;
            r->n = n;
            r->requests_per_iter = median(per_iter, (size_t)reps);
            r->wall_ns = median(wall, (size_t)reps);
            r->ctrl_ns = median(ctrl, (size_t)reps);
            r->guest_ns = median(guest, (size_t)reps);
            r->wall_guest_ratio = median(ratio, (size_t)reps);
            r->rec_wall_ns = median(rwall, (size_t)reps);
            r->rec_ctrl_ns = median(rctrl, (size_t)reps);
            r->rec_ratio = median(rratio, (size_t)reps);
            r->sc_ctrl = r->sc_guest = NAN;
            if (strace) {
                /* strace slows every call down: a quarter of the
                 * iterations, and counts, not times, are kept. */
                double c1, g1, k1, c0, g0, k0;
                long ns = n / 4 > 0 ? n / 4 : 1;
                fprintf(stderr, "bench: real PyPy: %s %s, system calls counted with strace\n",
                        bd->name, w->name);
                if (strace_one(strace, sandtrace, bd, w, ns, tmp, log, &c1, &g1, &k1) == 0 &&
                    strace_one(strace, sandtrace, bd, w, 0, tmp, log, &c0, &g0, &k0) == 0 &&
                    k1 > k0) {
                    r->sc_ctrl = (c1 - c0) / (k1 - k0);
                    r->sc_guest = (g1 - g0) / (k1 - k0);
                } else if (!out->strace_note[0]) {
                    snprintf(out->strace_note, sizeof out->strace_note,
                             "strace could not trace sandtrace here (ptrace refused?)");
                }
            }
        }
    next_build:;
    }
}
