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

/* The modes a workload is timed in: run, record, run with polled waits
 * (SANDTRACE_LINK_WAIT=poll: the controller's wait before the blocking
 * fast path), and run with --pin any (guest and controller free to run on
 * any CPU, as before they shared one), for comparison in the same run. */
enum { M_RUN, M_RECORD, M_POLLED, M_UNPINNED, M_MODES };

/* SANDTRACE_LINK_WAIT=poll for what is started until the next call with 0. */
static void polled_waits(int on)
{
    if (on)
        setenv("SANDTRACE_LINK_WAIT", "poll", 1);
    else
        unsetenv("SANDTRACE_LINK_WAIT");
}

static int run_one(const char *sandtrace, const struct build *bd, const struct workload *w,
                   long n, int mode, const char *tmp, const char *log, struct one *o,
                   char *why, size_t cap)
{
    int record = mode == M_RECORD;
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
    if (mode == M_UNPINNED) {
        argv[k++] = "--pin";
        argv[k++] = "any";
    }
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
    polled_waits(mode == M_POLLED);
    int sp = bench_spawn((char *const *)argv, NULL, log, &p);
    polled_waits(0);
    if (sp < 0 || bench_wait(&p, 0) < 0) {
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

/* --- system calls, counted outside the timed runs --- */

/* The counting tool: `perf trace -s` (the kernel's syscall tracepoints:
 * the traced processes are not stopped at every call, so the controller
 * waits for its guest as often as it does untraced, which decides how many
 * of its reads would block), else `strace -f -ff` (each call stops the
 * process: the guest is always late, and every wait of a polling
 * controller becomes an EAGAIN read and a poll). */
enum counter { C_NONE, C_PERF, C_STRACE };

static const char *find_tool(const char *name)
{
    static char found[3][64];
    static int next;
    static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/local/bin" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char *p = found[next % 3];
        snprintf(p, sizeof found[0], "%s/%s", dirs[i], name);
        if (access(p, X_OK) == 0) {
            next++;
            return p;
        }
    }
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

/* Adds up a strace -ff directory's files. 0 or -1. */
static int count_strace_dir(const char *dir, const char *exe, double *ctrl, double *guest)
{
    int ok = 1;
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
        long c = count_file(path, exe, &is_guest);
        if (c < 0)
            ok = 0;
        else if (is_guest)
            *guest += (double)c;
        else
            *ctrl += (double)c;
        unlink(path);
    }
    closedir(d);
    return ok ? 0 : -1;
}

/* Adds up `perf trace -s` output: a block per thread, headed
 * " COMM (TID), N events, P%", then one line per system call whose second
 * column is the number of calls. The guest's threads are the ones named
 * pypy*; every other one (the controller, its jail's warden, its watcher
 * thread, the child before its execve) is the controller's. 0 or -1. */
static int count_perf_file(const char *path, double *ctrl, double *guest)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[1024];
    int blocks = 0, in_guest = 0;
    while (fgets(line, sizeof line, f)) {
        char comm[64], name[64];
        long tid, calls;
        if (sscanf(line, " %63s (%ld), %ld events", comm, &tid, &calls) == 3) {
            blocks++;
            in_guest = !strncmp(comm, "pypy", 4);
            continue;
        }
        if (blocks && sscanf(line, " %63[a-z0-9_] %ld", name, &calls) == 2)
            *(in_guest ? guest : ctrl) += (double)calls;
    }
    fclose(f);
    return blocks ? 0 : -1;
}

/* Runs the workload at n iterations (polled waits or not) under the
 * counter; *ctrl and *guest get the system calls of the controller (all
 * its threads) and the guest, *calls the requests. Returns 0 or -1. */
static int count_one(enum counter how, const char *tool, const char *sandtrace,
                     const struct build *bd, const struct workload *w, long n, int polled,
                     const char *tmp, const char *log, double *ctrl, double *guest, double *calls)
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
    const char *argv[32];
    int k = 0;
    argv[k++] = tool;
    if (how == C_PERF) {
        argv[k++] = "trace";
        argv[k++] = "-s";
        argv[k++] = "-o";
    } else {
        argv[k++] = "-f";
        argv[k++] = "-ff";
        argv[k++] = "-o";
    }
    argv[k++] = prefix;
    if (how == C_PERF)
        argv[k++] = "--";
    const char *rest[] = { sandtrace, "run", "--quiet", "--outcome", outcome, "--mount", mount,
                           "--lib-path", bd->lib, "--", bd->exe, "-S", "-c", script, NULL };
    for (size_t i = 0; rest[i]; i++)
        argv[k++] = rest[i];
    argv[k] = NULL;
    unlink(outcome);
    struct bench_proc p;
    polled_waits(polled);
    int sp = bench_spawn((char *const *)argv, NULL, log, &p);
    polled_waits(0);
    if (sp < 0 || bench_wait(&p, 0) < 0)
        return -1;
    struct bench_outcome bo;
    int ok = WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0 &&
             bench_outcome_read(outcome, &bo) == 0;
    *ctrl = *guest = 0;
    if (how == C_PERF) {
        if (count_perf_file(prefix, ctrl, guest) < 0)
            ok = 0;
        unlink(prefix);
    } else if (count_strace_dir(dir, bd->exe, ctrl, guest) < 0) {
        ok = 0;
    }
    rmdir(dir);
    if (!ok)
        return -1;
    *calls = bo.calls;
    return 0;
}

/* System calls per request of a workload (at n/4 iterations less at 0).
 * 0 or -1. */
static int count_per_request(enum counter how, const char *tool, const char *sandtrace,
                             const struct build *bd, const struct workload *w, long n, int polled,
                             const char *tmp, const char *log, double *ctrl, double *guest)
{
    double c1, g1, k1, c0, g0, k0;
    long ns = n / 4 > 0 ? n / 4 : 1;
    if (count_one(how, tool, sandtrace, bd, w, ns, polled, tmp, log, &c1, &g1, &k1) < 0 ||
        count_one(how, tool, sandtrace, bd, w, 0, polled, tmp, log, &c0, &g0, &k0) < 0 ||
        k1 <= k0)
        return -1;
    *ctrl = (c1 - c0) / (k1 - k0);
    *guest = (g1 - g0) / (k1 - k0);
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

/* What every workload of bench_pypy_measure shares: where to run, how
 * many repetitions, the system-call counter (which can fall back from perf
 * to strace, then to none, as runs go) and the results. */
struct measure {
    const char *sandtrace, *tmp, *log;
    int quick, reps;
    const char *perf, *strace;
    enum counter how;
    struct bench_pypy *out;
};

/* A workload's runs: o[rep][mode][zero iterations]. */
struct runs {
    struct one o[MAX_REPS][M_MODES][2];
};

/* Every repetition of every mode, at n and at 0 iterations, in an order
 * that alternates. 0, or -1 with the build's skipped reason filled. */
static int run_reps(const struct measure *m, const struct build *bd, const struct workload *w,
                    long n, int b, struct runs *rs)
{
    for (int rep = 0; rep < m->reps; rep++) {
        progress(bd->name, w->name, rep + 1, m->reps);
        for (int s = 0; s < 2 * M_MODES; s++) {
            int k = rep % 2 ? 2 * M_MODES - 1 - s : s;
            int mode = k / 2, zero = k % 2;
            if (run_one(m->sandtrace, bd, w, zero ? 0 : n, mode, m->tmp, m->log,
                        &rs->o[rep][mode][zero], m->out->skipped[b],
                        sizeof m->out->skipped[b]) < 0)
                return -1;
        }
    }
    return 0;
}

/* Start-up (the runs at 0 iterations), the median of each mode's, is
 * taken off every run at N: one slow start on a loaded machine then spoils
 * no repetition. */
static void start_up(const struct runs *rs, int reps, struct one z[M_MODES])
{
    for (int mode = 0; mode < M_MODES; mode++) {
        double v[4][MAX_REPS];
        for (int rep = 0; rep < reps; rep++) {
            v[0][rep] = rs->o[rep][mode][1].wall;
            v[1][rep] = rs->o[rep][mode][1].ctrl;
            v[2][rep] = rs->o[rep][mode][1].guest;
            v[3][rep] = rs->o[rep][mode][1].calls;
        }
        z[mode] = (struct one){ median(v[0], (size_t)reps), median(v[1], (size_t)reps),
                                median(v[2], (size_t)reps), median(v[3], (size_t)reps) };
    }
}

/* The per-request figures of each repetition, start-up taken off, and
 * their medians in *r. 0, or -1 with the build's skipped reason filled
 * when the modes did not make the same requests. */
static int fill_row(const struct measure *m, const struct workload *w, long n, int b,
                    const struct runs *rs, struct bench_pypy_row *r)
{
    double wall[MAX_REPS], ctrl[MAX_REPS], guest[MAX_REPS], ratio[MAX_REPS];
    double rwall[MAX_REPS], rctrl[MAX_REPS], rratio[MAX_REPS], per_iter[MAX_REPS];
    double pwall[MAX_REPS], pctrl[MAX_REPS], pratio[MAX_REPS];
    double uwall[MAX_REPS], uctrl[MAX_REPS], uratio[MAX_REPS];
    int reps = m->reps;
    struct one z[M_MODES];
    start_up(rs, reps, z);
    for (int rep = 0; rep < reps; rep++) {
        const struct one *run = &rs->o[rep][M_RUN][0], *rec = &rs->o[rep][M_RECORD][0],
                         *pol = &rs->o[rep][M_POLLED][0], *unp = &rs->o[rep][M_UNPINNED][0];
        double dc = run->calls - z[M_RUN].calls, rdc = rec->calls - z[M_RECORD].calls,
               pdc = pol->calls - z[M_POLLED].calls, udc = unp->calls - z[M_UNPINNED].calls;
        if (dc <= 0 || rdc != dc || pdc != dc || udc != dc) {
            snprintf(m->out->skipped[b], sizeof m->out->skipped[b],
                     "%s: run made %.0f requests more at %ld iterations, record %.0f, "
                     "run with polled waits %.0f, with --pin any %.0f", w->name, dc, n, rdc, pdc,
                     udc);
            return -1;
        }
        wall[rep] = (run->wall - z[M_RUN].wall) / dc * 1e9;
        ctrl[rep] = (run->ctrl - z[M_RUN].ctrl) / dc * 1e9;
        guest[rep] = (run->guest - z[M_RUN].guest) / dc * 1e9;
        ratio[rep] = wall[rep] / guest[rep];
        rwall[rep] = (rec->wall - z[M_RECORD].wall) / dc * 1e9;
        rctrl[rep] = (rec->ctrl - z[M_RECORD].ctrl) / dc * 1e9;
        rratio[rep] = rwall[rep] / wall[rep];
        pwall[rep] = (pol->wall - z[M_POLLED].wall) / dc * 1e9;
        pctrl[rep] = (pol->ctrl - z[M_POLLED].ctrl) / dc * 1e9;
        pratio[rep] = ctrl[rep] / pctrl[rep];
        uwall[rep] = (unp->wall - z[M_UNPINNED].wall) / dc * 1e9;
        uctrl[rep] = (unp->ctrl - z[M_UNPINNED].ctrl) / dc * 1e9;
        uratio[rep] = wall[rep] / uwall[rep];
        per_iter[rep] = dc / (double)n;
    }
    r->requests_per_iter = median(per_iter, (size_t)reps);
    r->wall_ns = median(wall, (size_t)reps);
    r->ctrl_ns = median(ctrl, (size_t)reps);
    r->guest_ns = median(guest, (size_t)reps);
    r->wall_guest_ratio = median(ratio, (size_t)reps);
    r->rec_wall_ns = median(rwall, (size_t)reps);
    r->rec_ctrl_ns = median(rctrl, (size_t)reps);
    r->rec_ratio = median(rratio, (size_t)reps);
    r->poll_wall_ns = median(pwall, (size_t)reps);
    r->poll_ctrl_ns = median(pctrl, (size_t)reps);
    r->poll_ctrl_ratio = median(pratio, (size_t)reps);
    r->unpinned_wall_ns = median(uwall, (size_t)reps);
    r->unpinned_ctrl_ns = median(uctrl, (size_t)reps);
    r->pinned_wall_ratio = median(uratio, (size_t)reps);
    return 0;
}

/* The system calls per request of a row, with perf trace, else strace;
 * when neither can trace, NAN and m->how left at C_NONE for the rest. */
static void count_row(struct measure *m, const struct build *bd, const struct workload *w,
                      long n, struct bench_pypy_row *r)
{
    r->sc_ctrl = r->sc_guest = r->sc_ctrl_poll = r->sc_guest_poll = NAN;
    while (m->how != C_NONE) {
        /* Counting slows every call down: a quarter of the
         * iterations, and counts, not times, are kept. */
        enum counter how = m->how;
        const char *tool = how == C_PERF ? m->perf : m->strace;
        fprintf(stderr, "bench: real PyPy: %s %s, system calls counted with %s\n",
                bd->name, w->name, how == C_PERF ? "perf trace" : "strace");
        if (count_per_request(how, tool, m->sandtrace, bd, w, n, 0, m->tmp, m->log, &r->sc_ctrl,
                              &r->sc_guest) == 0 &&
            count_per_request(how, tool, m->sandtrace, bd, w, n, 1, m->tmp, m->log,
                              &r->sc_ctrl_poll, &r->sc_guest_poll) == 0) {
            r->sc_tool = how == C_PERF ? "perf trace" : "strace";
            break;
        }
        r->sc_ctrl = r->sc_guest = r->sc_ctrl_poll = r->sc_guest_poll = NAN;
        if (how == C_PERF && m->strace) {
            m->how = C_STRACE; /* perf refused (permissions): strace for the rest */
            continue;
        }
        m->how = C_NONE;
        snprintf(m->out->strace_note, sizeof m->out->strace_note,
                 "neither perf trace nor strace could trace sandtrace here");
    }
}

/* Every workload on one build (b, its index): a row each, or none, with
 * the build's skipped reason, when one fails. */
static void measure_build(struct measure *m, int b, const struct build *bd)
{
    struct bench_pypy *out = m->out;
    int first_row = out->nrows;
    for (int wi = 0; wi < BENCH_PYPY_WORKLOADS; wi++) {
        const struct workload *w = &workloads[wi];
        long n = m->quick ? w->n_quick : w->n;
        struct runs rs;
        struct bench_pypy_row *r = &out->rows[out->nrows];
        if (run_reps(m, bd, w, n, b, &rs) < 0 || fill_row(m, w, n, b, &rs, r) < 0) {
            out->nrows = first_row;
            return;
        }
        out->nrows++;
        r->build = bd->name;
        r->workload = w->name;
        r->statement = w->statement;
        r->n = n;
        count_row(m, bd, w, n, r);
    }
}

void bench_pypy_measure(const char *sandtrace, const char *build_dir, const char *tmp,
                        const char *log, int quick, struct bench_pypy *out)
{
    memset(out, 0, sizeof *out);
    struct build builds[BENCH_PYPY_BUILDS] = {
        { "pypy2", "PYPY_SANDBOX", "pypy2-sandbox/bin/pypy-c-sandbox", "", "" },
        { "pypy3", "PYPY3_SANDBOX", "pypy3-sandbox/bin/pypy3-c-sandbox", "", "" },
    };
    struct measure m = { .sandtrace = sandtrace, .tmp = tmp, .log = log, .quick = quick,
                         .reps = quick ? 1 : 3, .out = out };
    m.perf = find_tool("perf");
    m.strace = find_tool("strace");
    m.how = m.perf ? C_PERF : m.strace ? C_STRACE : C_NONE;
    if (m.how == C_NONE)
        snprintf(out->strace_note, sizeof out->strace_note, "neither perf nor strace on this "
                 "machine");
    if (make_data(tmp) < 0) {
        for (int b = 0; b < BENCH_PYPY_BUILDS; b++)
            snprintf(out->skipped[b], sizeof out->skipped[b], "cannot write the workloads' file");
        return;
    }
    for (int b = 0; b < BENCH_PYPY_BUILDS; b++) {
        if (find_build(&builds[b], build_dir, out->skipped[b], sizeof out->skipped[b]))
            measure_build(&m, b, &builds[b]);
    }
}
