/* sandtrace-bench: the figures of `make bench`, each measured side by side
 * with its baseline in the same run (issue 8).
 *
 *   sandtrace-bench --build DIR [--json FILE] [--markdown FILE] [--quick]
 *
 * Prints a markdown table (figure, value, baseline, ratio, goal, met, note)
 * and writes it as JSON. BENCH_QUICK=1 in the environment is --quick.
 *
 * Method. Baselines and subjects run interleaved within each repetition
 * (the machine is shared and noisy), their order alternating between
 * repetitions; a value is the median over repetitions, and a ratio is the
 * median of the per-repetition ratios (so it can differ slightly from
 * value / baseline). Wall time is CLOCK_MONOTONIC from fork() to the end of
 * the `sandtrace` process, start-up included, divided by the calls the
 * outcome counted. CPU and memory attribution: bench_proc.h. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_floor.h"
#include "bench/bench_proc.h"
#include "bench/bench_handlers.h"
#include "bench/bench_pypy.h"

#define MAX_REPS 25
#define MAX_CONC 100

struct bench {
    const char *build;
    char sandtrace[PATH_MAX];
    char guests[PATH_MAX];
    const char *json_path;
    const char *md_path;
    int quick;
    int reps, conc_reps;
    long floor_n, ping_n, writer_n, writer_size, importer_rounds;
    long mem_small, mem_mid, mem_big, conc_n;
    char tmp[PATH_MAX];
    char tree[PATH_MAX];
    char log[PATH_MAX];
};

/* ------------------------------------------------------------ helpers */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sandtrace-bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void path_join(char *dst, size_t cap, const char *a, const char *b)
{
    if ((size_t)snprintf(dst, cap, "%s/%s", a, b) >= cap)
        die("path too long: '%s/%s'", a, b);
}

/* Shows the first lines of a file, indented (a failed run's stderr). */
static void show_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) && n++ < 20)
        fprintf(stderr, "  | %s", line);
    fclose(f);
}

/* ----------------------------------------------------- sandtrace runs */

enum mode { MODE_RUN, MODE_RECORD, MODE_REPLAY };

struct subject {
    struct bench_proc p;
    struct bench_outcome o; /* run and record only */
    double calls;
    double ctrl_cpu;        /* seconds: wait4's user+sys minus the guest's */
    double trace_bytes;     /* record only */
};

/* Runs `sandtrace run|record|replay` on guest_argv (a NULL-terminated list
 * whose first word is a guest name in $(BUILD)/guests), with `extra` run
 * options (NULL-terminated, may be NULL). Dies when it fails. */
static void run_subject(struct bench *b, enum mode mode, const char *trace,
                        const char *const *extra, const char *const *guest_argv, int sample_ms,
                        struct subject *s)
{
    memset(s, 0, sizeof *s);
    char outcome[PATH_MAX], guest[PATH_MAX];
    path_join(outcome, sizeof outcome, b->tmp, "outcome.json");
    unlink(outcome);
    path_join(guest, sizeof guest, b->guests, guest_argv[0]);
    const char *argv[64];
    int n = 0;
    argv[n++] = b->sandtrace;
    if (mode == MODE_REPLAY) {
        argv[n++] = "replay";
        argv[n++] = trace;
    } else {
        argv[n++] = mode == MODE_RUN ? "run" : "record";
        if (mode == MODE_RECORD) {
            argv[n++] = "-o";
            argv[n++] = trace;
        }
        argv[n++] = "--quiet";
        argv[n++] = "--outcome";
        argv[n++] = outcome;
        for (int i = 0; extra && extra[i]; i++)
            argv[n++] = extra[i];
        argv[n++] = "--";
        argv[n++] = guest;
        for (int i = 1; guest_argv[i]; i++)
            argv[n++] = guest_argv[i];
    }
    argv[n] = NULL;
    if (bench_spawn((char *const *)argv, NULL, b->log, &s->p) < 0)
        die("cannot start '%s': %s", b->sandtrace, strerror(errno));
    if (bench_wait(&s->p, sample_ms) < 0)
        die("cannot wait for sandtrace: %s", strerror(errno));
    if (!WIFEXITED(s->p.status) || WEXITSTATUS(s->p.status) != 0) {
        fprintf(stderr, "sandtrace-bench: sandtrace %s %s failed (wait status 0x%x); its stderr:\n",
                argv[1], guest_argv[0], s->p.status);
        show_log(b->log);
        if (mode != MODE_REPLAY) {
            fprintf(stderr, "its outcome:\n");
            show_log(outcome); /* --quiet leaves the reason to the outcome */
        }
        exit(1);
    }
    if (mode != MODE_REPLAY) {
        if (bench_outcome_read(outcome, &s->o) < 0)
            die("cannot read the outcome '%s'", outcome);
        s->calls = s->o.calls;
        s->ctrl_cpu = s->p.cpu - (s->o.guest_user + s->o.guest_sys);
    }
    if (mode == MODE_RECORD) {
        struct stat st;
        if (stat(trace, &st) < 0)
            die("cannot stat trace '%s': %s", trace, strerror(errno));
        s->trace_bytes = (double)st.st_size;
    }
}

/* ---------------------------------------------------------- importer tree */

static void write_file(const char *path, long size, unsigned seed)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot create '%s': %s", path, strerror(errno));
    /* Python-looking text, different per file. */
    for (long i = 0; i < size;) {
        int k = fprintf(f, "def f%u_%ld(x):\n    return x * %ld + %u\n", seed, i, i % 97, seed);
        if (k < 0)
            die("cannot write '%s'", path);
        i += k;
    }
    fclose(f);
}

/* A small library tree like lib-python's: 4 packages of 8 modules and a
 * subpackage of 5, plus 6 top-level modules, 0.5 to 20 KB each. */
static void make_tree(struct bench *b)
{
    path_join(b->tree, sizeof b->tree, b->tmp, "lib");
    if (mkdir(b->tree, 0755) < 0)
        die("cannot create '%s': %s", b->tree, strerror(errno));
    char p[PATH_MAX + 16], q[PATH_MAX + 32], r[PATH_MAX + 64];
    unsigned seed = 1;
    for (int m = 0; m < 6; m++) {
        snprintf(r, sizeof r, "%s/top%d.py", b->tree, m);
        write_file(r, 500 + 3300L * m, seed++);
    }
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "%s/pkg%d", b->tree, k);
        if (mkdir(p, 0755) < 0)
            die("cannot create '%s': %s", p, strerror(errno));
        snprintf(r, sizeof r, "%s/__init__.py", p);
        write_file(r, 300, seed++);
        for (int m = 0; m < 8; m++) {
            snprintf(r, sizeof r, "%s/mod%d.py", p, m);
            write_file(r, 800 + 2400L * m, seed++);
        }
        snprintf(q, sizeof q, "%s/sub", p);
        if (mkdir(q, 0755) < 0)
            die("cannot create '%s': %s", q, strerror(errno));
        snprintf(r, sizeof r, "%s/__init__.py", q);
        write_file(r, 200, seed++);
        for (int m = 0; m < 5; m++) {
            snprintf(r, sizeof r, "%s/leaf%d.py", q, m);
            write_file(r, 1000 + 1500L * m, seed++);
        }
    }
}

static int remove_tree(const char *path)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    return system(cmd);
}

/* The temporary directory (traces of up to 10 million calls), removed at
 * exit whatever the way out. */
static char tmp_to_remove[PATH_MAX];

static void remove_tmp(void)
{
    if (tmp_to_remove[0])
        remove_tree(tmp_to_remove);
    tmp_to_remove[0] = '\0';
}

/* ------------------------------------------------------------- figures */

enum goal_kind { G_NONE, G_LE, G_LT, G_GE, G_GT };

struct figure {
    const char *id;
    char name[96];
    double value;
    const char *unit;
    double baseline;       /* NAN: none */
    char baseline_name[64];
    double ratio;          /* NAN: none */
    enum goal_kind goal;
    int goal_on_ratio;     /* the goal is about the ratio (else about the value) */
    double limit;
    const char *goal_text;
    int met;               /* -1: no goal */
    char note[320];
};

static struct figure figs[112];
static size_t nfigs;

static struct figure *add_fig(const char *id, const char *name, double value, const char *unit,
                              double baseline, const char *baseline_name, double ratio)
{
    if (nfigs >= sizeof figs / sizeof figs[0])
        die("too many figures");
    struct figure *f = &figs[nfigs++];
    memset(f, 0, sizeof *f);
    f->id = id;
    snprintf(f->name, sizeof f->name, "%s", name);
    f->value = value;
    f->unit = unit;
    f->baseline = baseline;
    snprintf(f->baseline_name, sizeof f->baseline_name, "%s", baseline_name ? baseline_name : "");
    f->ratio = ratio;
    f->goal = G_NONE;
    f->met = -1;
    return f;
}

static void set_goal(struct figure *f, enum goal_kind g, int on_ratio, double limit,
                     const char *text)
{
    f->goal = g;
    f->goal_on_ratio = on_ratio;
    f->limit = limit;
    f->goal_text = text;
    double x = on_ratio ? f->ratio : f->value;
    switch (g) {
    case G_LE: f->met = x <= limit; break;
    case G_LT: f->met = x < limit; break;
    case G_GE: f->met = x >= limit; break;
    case G_GT: f->met = x > limit; break;
    default: f->met = -1; break;
    }
    if (f->met == 0) {
        const char *u = on_ratio ? "" : f->unit;
        double pct = g == G_LE || g == G_LT ? (x / limit - 1) * 100 : (1 - x / limit) * 100;
        int prec = pct < 10 ? 1 : 0;
        if (g == G_LE || g == G_LT)
            snprintf(f->note, sizeof f->note, "missed by %.*f%% (%.4g%s%s against %.4g%s%s)",
                     prec, pct, x, *u ? " " : "", u, limit, *u ? " " : "", u);
        else
            snprintf(f->note, sizeof f->note, "missed by %.*f%% (%.4g against %.4g)", prec, pct,
                     x, limit);
    }
}

/* Appends "; <text>" to a missed figure's note: what the same run measured
 * that explains the miss. */
static void add_why(struct figure *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_why(struct figure *f, const char *fmt, ...)
{
    if (f->met != 0)
        return;
    size_t len = strlen(f->note);
    if (len + 3 >= sizeof f->note)
        return;
    memcpy(f->note + len, "; ", 3);
    len += 2;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->note + len, sizeof f->note - len, fmt, ap);
    va_end(ap);
}

/* Per-repetition samples. */
struct series {
    double v[MAX_REPS * 2];
    size_t n;
};

static void push(struct series *s, double x)
{
    if (s->n < sizeof s->v / sizeof s->v[0])
        s->v[s->n++] = x;
}

static double med(const struct series *s)
{
    double tmp[MAX_REPS * 2];
    memcpy(tmp, s->v, s->n * sizeof tmp[0]);
    return bench_median(tmp, s->n);
}

/* ------------------------------------------------------------- output */

static void fmt_num(char *dst, size_t cap, double v, const char *unit)
{
    if (isnan(v)) {
        snprintf(dst, cap, "-");
        return;
    }
    double a = fabs(v);
    if (a >= 1e6 && strcmp(unit, "B") && strcmp(unit, "KiB"))
        snprintf(dst, cap, "%.3g M%s", v / 1e6, unit);
    else if (a >= 1000)
        snprintf(dst, cap, "%.0f %s", v, unit);
    else if (a >= 10)
        snprintf(dst, cap, "%.1f %s", v, unit);
    else
        snprintf(dst, cap, "%.2f %s", v, unit);
}

static void print_table(FILE *out)
{
    fprintf(out, "| figure | value | baseline | ratio | goal | met | note |\n");
    fprintf(out, "|---|---:|---|---:|---|---|---|\n");
    for (size_t i = 0; i < nfigs; i++) {
        struct figure *f = &figs[i];
        char v[48], bl[48], r[32];
        fmt_num(v, sizeof v, f->value, f->unit);
        fmt_num(bl, sizeof bl, f->baseline, f->unit);
        if (isnan(f->ratio))
            snprintf(r, sizeof r, "-");
        else
            snprintf(r, sizeof r, "%.3f", f->ratio);
        fprintf(out, "| %s | %s | %s%s%s%s | %s | %s | %s | %s |\n", f->name, v,
                isnan(f->baseline) ? "-" : bl, f->baseline_name[0] ? " (" : "", f->baseline_name,
                f->baseline_name[0] ? ")" : "", r, f->goal_text ? f->goal_text : "-",
                f->met < 0 ? "-" : f->met ? "yes" : "**no**", f->note);
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isnan(v) || isinf(v))
        fputs("null", f);
    else
        fprintf(f, "%.6g", v);
}

struct machine {
    char load_start[64], load_end[64]; /* /proc/loadavg's first three fields */
    long nproc;
    char cpu[128];
    char kernel[160];
    char when[32];
};

static void read_loadavg(char *dst, size_t cap)
{
    snprintf(dst, cap, "unknown");
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f)
        return;
    double a, b, c;
    if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
        snprintf(dst, cap, "%.2f %.2f %.2f", a, b, c);
    fclose(f);
}

static void machine_info(struct machine *m)
{
    m->nproc = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(m->cpu, sizeof m->cpu, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c) {
                    c++;
                    while (*c == ' ' || *c == '\t')
                        c++;
                    c[strcspn(c, "\n")] = '\0';
                    snprintf(m->cpu, sizeof m->cpu, "%s", c);
                }
                break;
            }
        }
        fclose(f);
    }
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(m->kernel, sizeof m->kernel, "%.60s %.90s", u.sysname, u.release);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(m->when, sizeof m->when, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct rusage_check {
    double wait4_cpu, proc_self, proc_children, outcome_guest, outcome_controller;
    long maxrss_small, maxrss_mid, maxrss_big, maxrss_guest_alone, hwm_small, hwm_mid, hwm_big;
};

static void write_json(struct bench *b, const struct machine *m, const struct rusage_check *rc,
                       double total_seconds)
{
    FILE *f = fopen(b->json_path, "w");
    if (!f)
        die("cannot write '%s': %s", b->json_path, strerror(errno));
    fprintf(f, "{\n  \"generated\": ");
    json_str(f, m->when);
    fprintf(f, ",\n  \"machine\": {\"nproc\": %ld, \"cpu_model\": ", m->nproc);
    json_str(f, m->cpu);
    fprintf(f, ", \"kernel\": ");
    json_str(f, m->kernel);
    fprintf(f, ", \"loadavg_at_start\": ");
    json_str(f, m->load_start);
    fprintf(f, ", \"loadavg_at_end\": ");
    json_str(f, m->load_end);
    fprintf(f, "},\n  \"quick\": %s,\n  \"bench_seconds\": %.1f,\n", b->quick ? "true" : "false",
            total_seconds);
    fprintf(f, "  \"parameters\": {\"repetitions\": %d, \"floor_round_trips\": %ld, "
               "\"ping_calls\": %ld, \"writer_calls\": %ld, \"writer_size\": %ld, "
               "\"importer_rounds\": %ld, \"memory_small_calls\": %ld, \"memory_mid_calls\": %ld, "
               "\"memory_big_calls\": %ld, "
               "\"concurrency_calls_each\": %ld, \"concurrency_repetitions\": %d},\n",
            b->reps, b->floor_n, b->ping_n, b->writer_n, b->writer_size, b->importer_rounds,
            b->mem_small, b->mem_mid, b->mem_big, b->conc_n, b->conc_reps);
    fprintf(f, "  \"rusage_check\": {\"wait4_user_sys_seconds\": ");
    json_num(f, rc->wait4_cpu);
    fprintf(f, ", \"proc_stat_own_seconds\": ");
    json_num(f, rc->proc_self);
    fprintf(f, ", \"proc_stat_reaped_children_seconds\": ");
    json_num(f, rc->proc_children);
    fprintf(f, ", \"outcome_guest_seconds\": ");
    json_num(f, rc->outcome_guest);
    fprintf(f, ", \"outcome_controller_seconds\": ");
    json_num(f, rc->outcome_controller);
    fprintf(f, "},\n  \"memory_check\": {\"wait4_maxrss_kib_small\": %ld, "
               "\"wait4_maxrss_kib_mid\": %ld, \"wait4_maxrss_kib_big\": %ld, "
               "\"guest_alone_maxrss_kib\": %ld, \"sampled_vmhwm_kib_small\": %ld, "
               "\"sampled_vmhwm_kib_mid\": %ld, \"sampled_vmhwm_kib_big\": %ld},\n",
            rc->maxrss_small, rc->maxrss_mid, rc->maxrss_big, rc->maxrss_guest_alone,
            rc->hwm_small, rc->hwm_mid, rc->hwm_big);
    fprintf(f, "  \"figures\": [\n");
    for (size_t i = 0; i < nfigs; i++) {
        struct figure *g = &figs[i];
        fprintf(f, "    {\"id\": ");
        json_str(f, g->id);
        fprintf(f, ", \"figure\": ");
        json_str(f, g->name);
        fprintf(f, ", \"value\": ");
        json_num(f, g->value);
        fprintf(f, ", \"unit\": ");
        json_str(f, g->unit);
        fprintf(f, ", \"baseline\": ");
        json_num(f, g->baseline);
        fprintf(f, ", \"baseline_is\": ");
        json_str(f, g->baseline_name);
        fprintf(f, ", \"ratio\": ");
        json_num(f, g->ratio);
        fprintf(f, ", \"goal\": ");
        if (g->goal_text)
            json_str(f, g->goal_text);
        else
            fputs("null", f);
        fprintf(f, ", \"met\": %s", g->met < 0 ? "null" : g->met ? "true" : "false");
        fprintf(f, ", \"note\": ");
        json_str(f, g->note);
        fprintf(f, "}%s\n", i + 1 < nfigs ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    if (fclose(f) != 0)
        die("cannot write '%s'", b->json_path);
}

/* ------------------------------------------------------------ the bench */

static void usage(void)
{
    fprintf(stderr, "usage: sandtrace-bench --build DIR [--json FILE] [--markdown FILE] [--quick]\n");
    exit(2);
}

static void parse_args(struct bench *b, int argc, char **argv)
{
    memset(b, 0, sizeof *b);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--build") && i + 1 < argc)
            b->build = argv[++i];
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            b->json_path = argv[++i];
        else if (!strcmp(argv[i], "--markdown") && i + 1 < argc)
            b->md_path = argv[++i];
        else if (!strcmp(argv[i], "--quick"))
            b->quick = 1;
        else
            usage();
    }
    if (!b->build)
        usage();
    const char *q = getenv("BENCH_QUICK");
    if (q && *q && strcmp(q, "0"))
        b->quick = 1;
    char real[PATH_MAX];
    if (!realpath(b->build, real))
        die("cannot find build directory '%s': %s", b->build, strerror(errno));
    path_join(b->sandtrace, sizeof b->sandtrace, real, "bin/sandtrace");
    path_join(b->guests, sizeof b->guests, real, "guests");
    if (access(b->sandtrace, X_OK) < 0)
        die("no '%s' (run make first)", b->sandtrace);
    if (b->quick) {
        b->reps = 3;
        b->conc_reps = 1;
        b->floor_n = b->ping_n = 50000;
        b->writer_n = 25000;
        b->importer_rounds = 30;
        b->mem_small = 10000;
        b->mem_mid = 100000;
        b->mem_big = 1000000;
        b->conc_n = 5000;
    } else {
        /* Many short repetitions rather than a few long ones: on a shared
         * machine a burst of someone else's work then spoils a few pairs,
         * which the medians leave out. */
        b->reps = 11;
        b->conc_reps = 3;
        b->floor_n = b->ping_n = 100000;
        b->writer_n = 50000;
        b->importer_rounds = 60;
        b->mem_small = 10000;
        b->mem_mid = 1000000;
        b->mem_big = 10000000;
        b->conc_n = 20000;
    }
    b->writer_size = 64;
}

static void progress(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* One workload: run, record and replay, in an order that alternates. */
struct workload {
    const char *name;
    const char *const *argv;
    const char *const *extra;
    struct series run_wall, rec_wall, rep_wall; /* ns per call */
    struct series run_cpu, rec_cpu;             /* controller ns per call */
    struct series rec_ratio_wall, rec_ratio_cpu, rep_ratio;
    struct series trace_per_call, trace_per_pipe;
    struct series floor_ratio;                  /* run wall / (k x floor) */
    struct series cpu_floor_ratio;
    int jail_diag;                              /* also run it with --no-seccomp, --pin any */
    struct series nojail_wall, nojail_ratio;    /* ns per call; / (k x floor) */
    struct series any_cpu_wall, any_cpu_ratio;  /* the same with --pin any */
};

/* One run of `w` with the options `extra`: its wall per call, and that
 * over `floor` (the floor's for as many round trips). */
static void diagnostic_run(struct bench *b, const struct workload *w, const char *const *extra,
                           double floor, struct series *wall, struct series *ratio)
{
    struct subject d;
    run_subject(b, MODE_RUN, NULL, extra, w->argv, 0, &d);
    double ns = d.p.wall / d.calls * 1e9;
    push(wall, ns);
    push(ratio, ns / floor);
}

static void measure_workload(struct bench *b, struct workload *w, int rep, double floor_ns,
                             double floor_cpu_ns, int floor_mult, struct rusage_check *rc)
{
    char trace[PATH_MAX];
    path_join(trace, sizeof trace, b->tmp, "bench.sbt");
    struct subject run, rec, rpl;
    if (rep % 2 == 0) {
        run_subject(b, MODE_RUN, NULL, w->extra, w->argv, 0, &run);
        run_subject(b, MODE_RECORD, trace, w->extra, w->argv, 0, &rec);
        run_subject(b, MODE_REPLAY, trace, NULL, w->argv, 0, &rpl);
    } else {
        run_subject(b, MODE_RECORD, trace, w->extra, w->argv, 0, &rec);
        run_subject(b, MODE_REPLAY, trace, NULL, w->argv, 0, &rpl);
        run_subject(b, MODE_RUN, NULL, w->extra, w->argv, 0, &run);
    }
    unlink(trace);
    if (w->jail_diag && floor_ns > 0) {
        /* Unjailed, on one CPU as the jailed run is (an unjailed guest is
         * pinned only to a CPU named): the jail's cost alone. */
        char cpu[16];
        int here = sched_getcpu();
        snprintf(cpu, sizeof cpu, "%d", here < 0 ? 0 : here);
        const char *const nojail[] = { "--no-seccomp", "--pin", cpu, NULL };
        diagnostic_run(b, w, nojail, floor_mult * floor_ns, &w->nojail_wall, &w->nojail_ratio);
        static const char *const any_cpu[] = { "--pin", "any", NULL };
        diagnostic_run(b, w, any_cpu, floor_mult * floor_ns, &w->any_cpu_wall,
                       &w->any_cpu_ratio);
    }
    if (run.calls != rec.calls)
        die("%s: run made %.0f calls, record %.0f", w->name, run.calls, rec.calls);
    double calls = run.calls;
    double run_ns = run.p.wall / calls * 1e9, rec_ns = rec.p.wall / calls * 1e9;
    double rpl_ns = rpl.p.wall / calls * 1e9;
    double run_cpu = run.ctrl_cpu / calls * 1e9, rec_cpu = rec.ctrl_cpu / calls * 1e9;
    push(&w->run_wall, run_ns);
    push(&w->rec_wall, rec_ns);
    push(&w->rep_wall, rpl_ns);
    push(&w->run_cpu, run_cpu);
    push(&w->rec_cpu, rec_cpu);
    push(&w->rec_ratio_wall, rec_ns / run_ns);
    push(&w->rec_ratio_cpu, rec_cpu / run_cpu);
    push(&w->rep_ratio, rpl_ns / rec_ns);
    push(&w->trace_per_call, rec.trace_bytes / calls);
    push(&w->trace_per_pipe, rec.trace_bytes / (rec.o.bytes_in + rec.o.bytes_out));
    if (floor_ns > 0) {
        push(&w->floor_ratio, run_ns / (floor_mult * floor_ns));
        push(&w->cpu_floor_ratio, run_cpu / (floor_mult * floor_cpu_ns));
    }
    if (rc && rep == 0) {
        rc->wait4_cpu = run.p.cpu;
        rc->proc_self = run.p.proc_self_cpu;
        rc->proc_children = run.p.proc_children_cpu;
        rc->outcome_guest = run.o.guest_user + run.o.guest_sys;
        rc->outcome_controller = run.o.controller_cpu;
    }
}

/* How the floor is measured: on one CPU (the baseline), read the
 * controller's way, or with the two sides free to run on any CPU. */
enum floor_way { FLOOR_ONE_CPU, FLOOR_NONBLOCKING, FLOOR_ANY_CPU };

static void floor_once(struct bench *b, const unsigned char *req, size_t req_len,
                       struct series *ns, struct series *cpu_ns, enum floor_way way)
{
    unsigned char res[BENCH_FLOOR_RESULT_LEN];
    bench_floor_result(res, 4200); /* sandtrace's default virtual pid */
    double wall, cpu;
    int rc = way == FLOOR_NONBLOCKING
                 ? bench_floor_nonblocking(req, req_len, res, sizeof res, b->floor_n, &wall, &cpu)
                 : bench_floor(req, req_len, res, sizeof res, b->floor_n, way == FLOOR_ONE_CPU,
                               &wall, &cpu);
    if (rc < 0)
        die("the pipe floor failed: %s", strerror(errno));
    push(ns, wall / (double)b->floor_n * 1e9);
    push(cpu_ns, cpu / (double)b->floor_n * 1e9);
}

/* 9 and 10. Many runs (issue 18): `index` throughput against `dump` of the
 * same trace, and corpus replay with -j 1 and -j 2. */
struct many_runs {
    struct series idx_rate, dump_rate, idx_ratio;   /* calls per second */
    struct series rep1_rate, rep2_rate, rep_ratio;  /* traces per second */
    long idx_calls, corpus_n;
};

/* Runs argv to its end with stdout to /dev/null; dies unless it exits with
 * `want`. Returns its wall time in seconds. */
static double timed_run(struct bench *b, char *const *argv, int want)
{
    struct bench_proc p;
    if (bench_spawn(argv, NULL, b->log, &p) < 0 || bench_wait(&p, 0) < 0)
        die("cannot run '%s %s': %s", argv[0], argv[1], strerror(errno));
    if (!WIFEXITED(p.status) || WEXITSTATUS(p.status) != want) {
        fprintf(stderr, "sandtrace-bench: sandtrace %s failed (wait status 0x%x); its stderr:\n", argv[1],
                p.status);
        show_log(b->log);
        exit(1);
    }
    return p.wall;
}

static void measure_many_runs(struct bench *b, struct many_runs *m)
{
    memset(m, 0, sizeof *m);
    m->idx_calls = b->quick ? 50000 : 200000;
    m->corpus_n = b->quick ? 32 : 96;
    int reps = b->quick ? 3 : 5;
    char trace[PATH_MAX], db[PATH_MAX], corpus[PATH_MAX], n[32];
    path_join(trace, sizeof trace, b->tmp, "index.sbt");
    path_join(db, sizeof db, b->tmp, "index.db");
    path_join(corpus, sizeof corpus, b->tmp, "corpus");
    snprintf(n, sizeof n, "%ld", m->idx_calls);
    /* The indexed trace: many calls with a buffer argument each (writer's
     * write(1, "...", 16)), so that decoding and text cost something. */
    const char *rec_argv[] = { "writer", n, "16", NULL };
    struct subject s;
    progress("many runs: recording writer %ld and a corpus of %ld hello runs", m->idx_calls, m->corpus_n);
    run_subject(b, MODE_RECORD, trace, NULL, rec_argv, 0, &s);
    if (mkdir(corpus, 0755) < 0 && errno != EEXIST)
        die("cannot create '%s': %s", corpus, strerror(errno));
    char hello[PATH_MAX];
    path_join(hello, sizeof hello, b->guests, "hello");
    for (long i = 0; i < m->corpus_n; i++) {
        char t[PATH_MAX + 32];
        snprintf(t, sizeof t, "%s/run-%04ld.sbt", corpus, i);
        char *argv[] = { b->sandtrace, "record", "-o", t, "--quiet", "--", hello, NULL };
        timed_run(b, argv, 0);
    }
    char db_wal[PATH_MAX + 8], db_shm[PATH_MAX + 8];
    snprintf(db_wal, sizeof db_wal, "%s-wal", db);
    snprintf(db_shm, sizeof db_shm, "%s-shm", db);
    char *dump_argv[] = { b->sandtrace, "dump", trace, NULL };
    char *index_argv[] = { b->sandtrace, "index", "-j", "1", "-o", db, trace, NULL };
    char *rep1_argv[] = { b->sandtrace, "replay", "--check", "-j", "1", corpus, NULL };
    char *rep2_argv[] = { b->sandtrace, "replay", "--check", "-j", "2", corpus, NULL };
    for (int rep = 0; rep < reps; rep++) {
        progress("many runs: index, dump, replay -j 1 and -j 2 (repetition %d/%d)", rep + 1, reps);
        unlink(db);
        unlink(db_wal);
        unlink(db_shm);
        double ti, td;
        if (rep % 2 == 0) {
            ti = timed_run(b, index_argv, 0);
            td = timed_run(b, dump_argv, 0);
        } else {
            td = timed_run(b, dump_argv, 0);
            ti = timed_run(b, index_argv, 0);
        }
        push(&m->idx_rate, (double)m->idx_calls / ti);
        push(&m->dump_rate, (double)m->idx_calls / td);
        push(&m->idx_ratio, td / ti);
        double t1, t2;
        if (rep % 2 == 0) {
            t1 = timed_run(b, rep1_argv, 0);
            t2 = timed_run(b, rep2_argv, 0);
        } else {
            t2 = timed_run(b, rep2_argv, 0);
            t1 = timed_run(b, rep1_argv, 0);
        }
        push(&m->rep1_rate, (double)m->corpus_n / t1);
        push(&m->rep2_rate, (double)m->corpus_n / t2);
        push(&m->rep_ratio, t1 / t2);
    }
    unlink(trace);
    unlink(db);
    unlink(db_wal);
    unlink(db_shm);
    for (long i = 0; i < m->corpus_n; i++) {
        char t[PATH_MAX + 32];
        snprintf(t, sizeof t, "%s/run-%04ld.sbt", corpus, i);
        unlink(t);
    }
    rmdir(corpus);
}

/* Figure 11's diagnostic rows of one workload, with the ids given: the
 * controller's CPU against polled waits, and the wall on one shared CPU
 * against --pin any. */
static void add_pypy_diagnostics(const struct bench_pypy_row *r, const char *scp, char *id1,
                                 char *id2, size_t idcap)
{
    char name[128];
    snprintf(id1, idcap, "pypy_%s_%s_polled", r->build, r->workload);
    snprintf(name, sizeof name, "11. (diagnostic) %s %s: controller CPU per request, "
             "fast path against polled waits", r->build, r->workload);
    struct figure *f = add_fig(id1, name, r->ctrl_ns, "ns", r->poll_ctrl_ns, "polled waits",
                               r->poll_ctrl_ratio);
    snprintf(f->note, sizeof f->note, "polled waits (SANDTRACE_LINK_WAIT=poll): %s; wall "
             "per request %.0f ns polled, %.0f ns fast", scp, r->poll_wall_ns, r->wall_ns);
    snprintf(id2, idcap, "pypy_%s_%s_unpinned", r->build, r->workload);
    snprintf(name, sizeof name, "11. (diagnostic) %s %s: wall per request, one CPU for both "
             "against --pin any", r->build, r->workload);
    f = add_fig(id2, name, r->wall_ns, "ns", r->unpinned_wall_ns, "--pin any",
                r->pinned_wall_ratio);
    snprintf(f->note, sizeof f->note, "controller CPU per request: %.0f ns on one CPU, %.0f ns "
             "with --pin any", r->ctrl_ns, r->unpinned_ctrl_ns);
}

/* The rows of figure 11 (bench_pypy.h): per build and workload, the wall
 * per request against the guest's own CPU, the controller's CPU per
 * request with the system calls behind it, and record against run. */
static void add_pypy_figures(const struct bench_pypy *py)
{
    static char ids[BENCH_PYPY_BUILDS * BENCH_PYPY_WORKLOADS * 5 + BENCH_PYPY_BUILDS][48];
    size_t nid = 0;
    static const char *const names[BENCH_PYPY_BUILDS] = { "pypy2", "pypy3" };
    for (int bi = 0; bi < BENCH_PYPY_BUILDS; bi++) {
        if (!py->skipped[bi][0])
            continue;
        fprintf(stderr, "bench: real PyPy: %s skipped: %s\n", names[bi], py->skipped[bi]);
        snprintf(ids[nid], sizeof ids[nid], "pypy_%s_skipped", names[bi]);
        char name[96];
        snprintf(name, sizeof name, "11. %s: real-PyPy rows skipped", names[bi]);
        struct figure *f = add_fig(ids[nid++], name, NAN, "", NAN, NULL, NAN);
        snprintf(f->note, sizeof f->note, "%s", py->skipped[bi]);
    }
    for (int i = 0; i < py->nrows; i++) {
        const struct bench_pypy_row *r = &py->rows[i];
        char name[96], sc[200], scp[160];
        if (isnan(r->sc_ctrl)) {
            snprintf(sc, sizeof sc, "system calls not counted: %s", py->strace_note);
            snprintf(scp, sizeof scp, "system calls not counted");
        } else {
            snprintf(sc, sizeof sc, "%.2f system calls per request in the controller, %.2f in "
                     "the guest (%s)", r->sc_ctrl, r->sc_guest, r->sc_tool);
            snprintf(scp, sizeof scp, "%.2f system calls per request in the controller, %.2f in "
                     "the guest (%s)", r->sc_ctrl_poll, r->sc_guest_poll, r->sc_tool);
        }

        snprintf(ids[nid], sizeof ids[nid], "pypy_%s_%s_wall", r->build, r->workload);
        snprintf(name, sizeof name, "11. %s %s (%s): wall per request", r->build, r->workload,
                 r->statement);
        struct figure *f = add_fig(ids[nid++], name, r->wall_ns, "ns", r->guest_ns,
                                   "the guest's own CPU", r->wall_guest_ratio);
        /* Figures taken as differences: noise larger than the workload
         * shows as a value <= 0, which no goal can judge. */
        int measurable = r->wall_ns > 0 && r->guest_ns > 0;
        if (measurable)
            set_goal(f, G_LE, 1, 1.30, "ratio <= 1.30");
        else
            snprintf(f->note, sizeof f->note, "not measurable in this run (start-up noise "
                     "larger than the workload)");
        if (f->met == 1)
            snprintf(f->note, sizeof f->note, "%ld iterations, %.1f requests each", r->n,
                     r->requests_per_iter);
        add_why(f, "the controller's CPU per request is %.0f ns, %.2f x the guest's; %ld "
                   "iterations, %.1f requests each", r->ctrl_ns, r->ctrl_ns / r->guest_ns, r->n,
                r->requests_per_iter);

        snprintf(ids[nid], sizeof ids[nid], "pypy_%s_%s_ctrl_cpu", r->build, r->workload);
        snprintf(name, sizeof name, "11. %s %s: controller CPU per request", r->build,
                 r->workload);
        f = add_fig(ids[nid++], name, r->ctrl_ns, "ns", NAN, NULL, NAN);
        if (!strcmp(r->workload, "stat") || !strcmp(r->workload, "write")) {
            set_goal(f, G_LE, 0, 4000, "<= 4000 ns");
            add_why(f, "%s, with direct guest memory and the blocking fast path", sc);
        }
        if (f->met != 0)
            snprintf(f->note, sizeof f->note, "%s", sc);

        add_pypy_diagnostics(r, scp, ids[nid], ids[nid + 1], sizeof ids[nid]);
        nid += 2;

        snprintf(ids[nid], sizeof ids[nid], "pypy_%s_%s_record", r->build, r->workload);
        snprintf(name, sizeof name, "11. %s %s: record, wall per request", r->build, r->workload);
        f = add_fig(ids[nid++], name, r->rec_wall_ns, "ns", r->wall_ns, "run", r->rec_ratio);
        snprintf(f->note, sizeof f->note, "controller CPU per request: %.0f ns recording, %.0f ns "
                 "running (%+.0f ns)", r->rec_ctrl_ns, r->ctrl_ns, r->rec_ctrl_ns - r->ctrl_ns);
    }
}

/* ---------------------------------------------------- the measurements */

static const int conc_m[3] = { 1, 10, 100 }; /* 8.'s sandboxes at once */

/* What the measuring functions hand the table's. */
struct results {
    /* 1 to 6: the floor and the workloads, repetition by repetition */
    struct series floor_ns, floor_cpu;
    struct series floor_nb_ns, floor_nb_cpu, floor_nb_ratio, floor_nb_cpu_ratio;
    struct series floor_any_ns, floor_any_ratio, floor_any_cpu_ratio;
    struct workload ping, writer, importer;
    struct rusage_check rc;
    /* 7. memory */
    struct subject msmall, mmid, mbig;
    struct bench_proc guest_alone;
    /* 8. concurrency, per conc_m */
    struct series conc_rate[3], conc_cpu[3], conc_busy[3];
    struct many_runs mr;      /* 9 and 10 */
    struct bench_pypy py;     /* 11 */
    struct bench_handlers hb; /* 12 */
};

/* 1 to 6: the floor, then ping, writer and importer run, recorded and
 * replayed, interleaved in each repetition. */
static void measure_reps(struct bench *b, struct results *r)
{
    /* The request bytes of getpid()i, encoded by the controller's own codec
     * (tests/bench/test_bench_floor.c checks them against a real guest). */
    unsigned char req[ST_WIRE_MAX_REQUEST];
    int req_len = bench_floor_request(req, sizeof req);
    if (req_len < 0)
        die("cannot encode the floor's request");

    char ping_n[32], writer_n[32], writer_size[32], rounds[32], mount[PATH_MAX + 8];
    snprintf(ping_n, sizeof ping_n, "%ld", b->ping_n);
    snprintf(writer_n, sizeof writer_n, "%ld", b->writer_n);
    snprintf(writer_size, sizeof writer_size, "%ld", b->writer_size);
    snprintf(rounds, sizeof rounds, "%ld", b->importer_rounds);
    snprintf(mount, sizeof mount, "/lib=%s", b->tree);
    const char *ping_argv[] = { "ping", ping_n, NULL };
    const char *writer_argv[] = { "writer", writer_n, writer_size, NULL };
    const char *importer_argv[] = { "importer", "/lib", rounds, NULL };
    const char *importer_extra[] = { "--mount", mount, NULL };
    struct workload *ping = &r->ping, *writer = &r->writer, *importer = &r->importer;
    *ping = (struct workload){ .name = "ping", .argv = ping_argv, .jail_diag = 1 };
    *writer = (struct workload){ .name = "writer", .argv = writer_argv };
    *importer = (struct workload){ .name = "importer", .argv = importer_argv,
                                   .extra = importer_extra };

    r->rc = (struct rusage_check){ NAN, NAN, NAN, NAN, NAN, 0, 0, 0, 0, 0, 0, 0 };
    progress("%s mode: %d repetitions of floor, ping %ld, writer %ld x %ld B, importer %ld rounds "
             "(run, record, replay each)",
             b->quick ? "quick" : "full", b->reps, b->ping_n, b->writer_n, b->writer_size,
             b->importer_rounds);
    for (int rep = 0; rep < b->reps; rep++) {
        progress("repetition %d/%d", rep + 1, b->reps);
        struct series f1 = { .n = 0 }, c1 = { .n = 0 }, fnb = { .n = 0 }, cnb = { .n = 0 };
        struct series fany = { .n = 0 }, cany = { .n = 0 };
        floor_once(b, req, (size_t)req_len, &f1, &c1, FLOOR_ONE_CPU);
        floor_once(b, req, (size_t)req_len, &fnb, &cnb, FLOOR_NONBLOCKING);
        floor_once(b, req, (size_t)req_len, &fany, &cany, FLOOR_ANY_CPU);
        push(&r->floor_nb_ns, fnb.v[0]);
        push(&r->floor_nb_cpu, cnb.v[0]);
        push(&r->floor_nb_ratio, fnb.v[0] / f1.v[0]);
        push(&r->floor_nb_cpu_ratio, cnb.v[0] / c1.v[0]);
        push(&r->floor_any_ns, fany.v[0]);
        push(&r->floor_any_ratio, fany.v[0] / f1.v[0]);
        push(&r->floor_any_cpu_ratio, cany.v[0] / c1.v[0]);
        measure_workload(b, ping, rep, f1.v[0], c1.v[0], 1, &r->rc);
        struct series f2 = { .n = 0 }, c2 = { .n = 0 };
        floor_once(b, req, (size_t)req_len, &f2, &c2, FLOOR_ONE_CPU);
        measure_workload(b, writer, rep, f2.v[0], c2.v[0], 2, NULL);
        measure_workload(b, importer, rep, 0, 0, 0, NULL);
        push(&r->floor_ns, f1.v[0]);
        push(&r->floor_ns, f2.v[0]);
        push(&r->floor_cpu, c1.v[0]);
        push(&r->floor_cpu, c2.v[0]);
    }
    /* Their arguments live in this function only: the table needs none. */
    ping->argv = writer->argv = importer->argv = importer->extra = NULL;
}

/* 7. Memory: the recording controller's peak RSS, small and big. */
static void measure_memory(struct bench *b, struct results *r)
{
    char trace[PATH_MAX], small_n[32], mid_n[32], big_n[32];
    path_join(trace, sizeof trace, b->tmp, "memory.sbt");
    snprintf(small_n, sizeof small_n, "%ld", b->mem_small);
    snprintf(mid_n, sizeof mid_n, "%ld", b->mem_mid);
    snprintf(big_n, sizeof big_n, "%ld", b->mem_big);
    const char *small_argv[] = { "ping", small_n, NULL };
    const char *mid_argv[] = { "ping", mid_n, NULL };
    const char *big_argv[] = { "ping", big_n, NULL };
    progress("memory: recording ping %ld, ping %ld, then ping %ld", b->mem_small, b->mem_mid,
             b->mem_big);
    run_subject(b, MODE_RECORD, trace, NULL, small_argv, 2, &r->msmall);
    run_subject(b, MODE_RECORD, trace, NULL, mid_argv, 20, &r->mmid);
    run_subject(b, MODE_RECORD, trace, NULL, big_argv, 20, &r->mbig);
    unlink(trace);
    /* wait4's ru_maxrss is the larger of the controller's and its guest's
     * peaks: measure the guest alone (dump mode: it starts, prints its
     * function list and exits) to show which one it is. */
    char ping_path[PATH_MAX];
    path_join(ping_path, sizeof ping_path, b->guests, "ping");
    char *dump_argv[] = { ping_path, "0", NULL };
    setenv("RPY_SANDBOX_DUMP", "1", 1);
    int dump_rc = bench_spawn(dump_argv, NULL, NULL, &r->guest_alone);
    unsetenv("RPY_SANDBOX_DUMP");
    if (dump_rc < 0 || bench_wait(&r->guest_alone, 0) < 0)
        die("cannot run the ping guest alone: %s", strerror(errno));
    r->rc.maxrss_small = r->msmall.p.maxrss_kb;
    r->rc.maxrss_mid = r->mmid.p.maxrss_kb;
    r->rc.maxrss_big = r->mbig.p.maxrss_kb;
    r->rc.hwm_mid = r->mmid.p.hwm_kb;
    r->rc.maxrss_guest_alone = r->guest_alone.maxrss_kb;
    r->rc.hwm_small = r->msmall.p.hwm_kb;
    r->rc.hwm_big = r->mbig.p.hwm_kb;
}

/* 8. Concurrency: M sandboxes with ping at once. */
static void measure_concurrency(struct bench *b, struct results *r)
{
    memset(r->conc_rate, 0, sizeof r->conc_rate);
    memset(r->conc_cpu, 0, sizeof r->conc_cpu);
    memset(r->conc_busy, 0, sizeof r->conc_busy);
    char conc_n[32], guest[PATH_MAX];
    snprintf(conc_n, sizeof conc_n, "%ld", b->conc_n);
    path_join(guest, sizeof guest, b->guests, "ping");
    char *conc_argv[] = { b->sandtrace, "run", "--quiet", "--", guest, conc_n, NULL };
    for (int rep = 0; rep < b->conc_reps; rep++) {
        for (int k = 0; k < 3; k++) {
            int nsb = conc_m[k];
            progress("concurrency: %d sandbox%s of ping %ld (repetition %d/%d)", nsb,
                     nsb > 1 ? "es" : "", b->conc_n, rep + 1, b->conc_reps);
            static struct bench_proc procs[MAX_CONC];
            double t0 = bench_now();
            for (int i = 0; i < nsb; i++)
                if (bench_spawn(conc_argv, NULL, NULL, &procs[i]) < 0)
                    die("cannot start sandtrace: %s", strerror(errno));
            for (int i = 0; i < nsb; i++) {
                if (bench_wait(&procs[i], 0) < 0)
                    die("cannot wait for sandtrace: %s", strerror(errno));
                if (!WIFEXITED(procs[i].status) || WEXITSTATUS(procs[i].status) != 0)
                    die("a concurrent sandtrace run failed (wait status 0x%x)", procs[i].status);
            }
            double wall = bench_now() - t0;
            double cpu = 0; /* every sandtrace with its guest (bench_proc.h) */
            for (int i = 0; i < nsb; i++)
                cpu += procs[i].cpu;
            double calls = (double)nsb * (double)(b->conc_n + 1);
            push(&r->conc_rate[k], calls / wall);
            push(&r->conc_cpu[k], cpu / calls * 1e9);
            push(&r->conc_busy[k], cpu / wall);
        }
    }
}

/* Every measurement, in the order they run; the scratch directory is gone
 * after. */
static void measure_all(struct bench *b, struct results *r)
{
    measure_reps(b, r);
    measure_memory(b, r);
    measure_concurrency(b, r);
    /* 11. The real PyPys (bench_pypy.h), when a build is there. */
    bench_pypy_measure(b->sandtrace, b->build, b->tmp, b->log, b->quick, &r->py);
    /* 12. Calls answered by the user's handlers (bench_handlers.h). */
    bench_handlers_measure(b->sandtrace, b->build, b->tmp, b->log, b->quick, &r->hb);
    /* 9 and 10. */
    measure_many_runs(b, &r->mr);
    remove_tmp(); /* after the last figure that writes there */
}

/* ------------------------------------------------------- the table */

/* 1. The pipe floor. */
static void table_floor(const struct results *r)
{
    double fl = med(&r->floor_ns), flc = med(&r->floor_cpu);
    add_fig("floor_round_trip", "1. pipe floor: one getpid()i round trip (10 B + 9 B)", fl, "ns",
            NAN, NULL, NAN);
    add_fig("floor_cpu", "1. pipe floor: answering side's CPU per round trip", flc, "ns", NAN,
            NULL, NAN);
    add_fig("floor_nonblocking", "1. (diagnostic) floor read the controller's way (O_NONBLOCK, "
            "poll on EAGAIN)", med(&r->floor_nb_ns), "ns", fl, "floor", med(&r->floor_nb_ratio));
    add_fig("floor_nonblocking_cpu", "1. (diagnostic) its answering side's CPU per round trip",
            med(&r->floor_nb_cpu), "ns", flc, "floor's", med(&r->floor_nb_cpu_ratio));
    struct figure *f = add_fig("floor_any_cpu", "1. (diagnostic) floor, the two sides free to "
                               "run on any CPU", med(&r->floor_any_ns), "ns", fl, "floor",
                               med(&r->floor_any_ratio));
    snprintf(f->note, sizeof f->note, "the answering side's CPU per round trip is %.2f x the "
             "floor's on one CPU", med(&r->floor_any_cpu_ratio));
}

/* 2 and 3. run ping and writer against the floor. */
static void table_run(const struct results *r)
{
    const struct workload *ping = &r->ping, *writer = &r->writer;
    double fl = med(&r->floor_ns), flc = med(&r->floor_cpu);
    struct figure *f;
    f = add_fig("ping_wall", "2. run ping: wall per call", med(&ping->run_wall), "ns", fl,
                "floor", med(&ping->floor_ratio));
    set_goal(f, G_LE, 1, 1.10, "ratio <= 1.10");
    add_why(f, "%.2f without the seccomp jail; the controller's CPU per call is %.2f x the "
               "floor's", med(&ping->nojail_ratio), med(&ping->cpu_floor_ratio));
    f = add_fig("ping_ctrl_cpu", "2. run ping: controller CPU per call", med(&ping->run_cpu),
                "ns", flc, "floor's answering CPU", med(&ping->cpu_floor_ratio));
    set_goal(f, G_LT, 0, 1000, "< 1000 ns");
    add_why(f, "a bare read() + write() round trip already costs %.0f ns of "
                                  "CPU on this machine", flc);
    add_fig("ping_nojail_wall", "2. (diagnostic) run ping --no-seccomp: wall per call",
            med(&ping->nojail_wall), "ns", fl, "floor", med(&ping->nojail_ratio));
    add_fig("ping_any_cpu_wall", "2. (diagnostic) run ping --pin any: wall per call",
            med(&ping->any_cpu_wall), "ns", fl, "floor", med(&ping->any_cpu_ratio));

    f = add_fig("writer_wall", "3. run writer (64 B): wall per call", med(&writer->run_wall),
                "ns", 2 * fl, "2 x floor", med(&writer->floor_ratio));
    set_goal(f, G_LE, 1, 1.10, "ratio <= 1.10");
    add_why(f, "the controller's CPU per call is %.2f x twice the floor's; each call also "
               "writes its 64 B to stdout", med(&writer->cpu_floor_ratio));
    add_fig("writer_ctrl_cpu", "3. run writer: controller CPU per call", med(&writer->run_cpu),
            "ns", 2 * flc, "2 x floor's answering CPU", med(&writer->cpu_floor_ratio));
}

/* 4. record against run, per workload (ping, writer, importer). */
static void table_record(const struct workload *const ws[3])
{
    static const char *const wall_ids[3] = { "record_ping_wall", "record_writer_wall",
                                             "record_importer_wall" };
    static const char *const cpu_ids[3] = { "record_ping_cpu", "record_writer_cpu",
                                            "record_importer_cpu" };
    for (int i = 0; i < 3; i++) {
        const struct workload *w = ws[i];
        char name[96];
        snprintf(name, sizeof name, "4. record %s: wall per call", w->name);
        struct figure *f = add_fig(wall_ids[i], name, med(&w->rec_wall), "ns", med(&w->run_wall),
                                   "run", med(&w->rec_ratio_wall));
        set_goal(f, G_LE, 1, 1.05, "ratio <= 1.05");
        add_why(f, "encoding and compressing the events costs %.0f ns of controller CPU per call",
                med(&w->rec_cpu) - med(&w->run_cpu));
        snprintf(name, sizeof name, "4. record %s: controller CPU per call", w->name);
        add_fig(cpu_ids[i], name, med(&w->rec_cpu), "ns", med(&w->run_cpu), "run",
                med(&w->rec_ratio_cpu));
    }
}

/* 5. trace size, per workload (ping, writer, importer). */
static void table_trace(const struct workload *const ws[3])
{
    static const char *const bytes_ids[3] = { "trace_ping_bytes", "trace_writer_bytes",
                                              "trace_importer_bytes" };
    static const char *const pipe_ids[3] = { "trace_ping_vs_pipe", "trace_writer_vs_pipe",
                                             "trace_importer_vs_pipe" };
    for (int i = 0; i < 3; i++) {
        const struct workload *w = ws[i];
        char name[96];
        snprintf(name, sizeof name, "5. trace bytes per call, %s", w->name);
        struct figure *f = add_fig(bytes_ids[i], name, med(&w->trace_per_call), "B", NAN, NULL,
                                   NAN);
        if (i == 0) /* ping */
            set_goal(f, G_LE, 0, 4, "<= 4 B");
        snprintf(name, sizeof name, "5. trace size / bytes over the pipes, %s", w->name);
        add_fig(pipe_ids[i], name, med(&w->trace_per_pipe), "", NAN, NULL, NAN);
    }
}

/* 6. replay against the recorded run, per workload (ping, writer,
 * importer). */
static void table_replay(const struct workload *const ws[3])
{
    static const char *const ids[3] = { "replay_ping_wall", "replay_writer_wall",
                                        "replay_importer_wall" };
    for (int i = 0; i < 3; i++) {
        const struct workload *w = ws[i];
        char name[96];
        snprintf(name, sizeof name, "6. replay %s: wall per call", w->name);
        struct figure *f = add_fig(ids[i], name, med(&w->rep_wall), "ns", med(&w->rec_wall),
                                   "recorded run", med(&w->rep_ratio));
        set_goal(f, G_LE, 1, 1.00, "ratio <= 1.00");
        add_why(f, "%+.0f ns per call", med(&w->rep_wall) - med(&w->rec_wall));
    }
}

/* 7. The recording controller's peak RSS. */
static void table_memory(const struct bench *b, const struct results *r)
{
    long small = r->msmall.p.maxrss_kb, mid = r->mmid.p.maxrss_kb, big = r->mbig.p.maxrss_kb;
    char name[96];
    snprintf(name, sizeof name, "7. recording controller peak RSS, %ld calls", b->mem_big);
    char bl[64];
    snprintf(bl, sizeof bl, "%ld calls", b->mem_small);
    struct figure *f = add_fig("memory_peak_rss", name, (double)big, "KiB", (double)small, bl,
                               (double)big / (double)small);
    set_goal(f, G_LE, 1, 1.10, "flat: ratio <= 1.10");
    add_why(f, "from %ld to %ld calls the ratio is %.3f: bounded, see README", b->mem_mid,
            b->mem_big, (double)big / (double)mid);
    struct figure *fmem = f;
    snprintf(name, sizeof name, "7. (diagnostic) the same, %ld calls against %ld", b->mem_big,
             b->mem_mid);
    snprintf(bl, sizeof bl, "%ld calls", b->mem_mid);
    add_fig("memory_peak_rss_mid", name, (double)big, "KiB", (double)mid, bl,
            (double)big / (double)mid);
    if (r->guest_alone.maxrss_kb >= small)
        snprintf(fmem->note, sizeof fmem->note, "(the guest alone peaks at %ld KiB: this may be "
                 "the guest's)", r->guest_alone.maxrss_kb);
}

/* 8. Calls per second with 1, 10 and 100 sandboxes at once. */
static void table_concurrency(const struct results *r)
{
    const struct series *busy = r->conc_busy, *cpu = r->conc_cpu;
    double r1 = med(&r->conc_rate[0]), r10 = med(&r->conc_rate[1]), r100 = med(&r->conc_rate[2]);
    add_fig("concurrency_1", "8. 1 sandbox (ping): calls per second", r1, "calls/s", NAN, NULL,
            NAN);
    struct figure *f = add_fig("concurrency_10", "8. 10 sandboxes at once: calls per second", r10,
                               "calls/s", r1, "1 sandbox", r10 / r1);
    set_goal(f, G_GT, 1, 1.0, "grows: ratio > 1");
    add_why(f, "our processes kept %.2f cores busy with 1 sandbox and %.2f with 10 (of %ld)",
            med(&busy[0]), med(&busy[1]), sysconf(_SC_NPROCESSORS_ONLN));
    f = add_fig("concurrency_100", "8. 100 sandboxes at once: calls per second", r100, "calls/s",
                r10, "10 sandboxes", r100 / r10);
    set_goal(f, G_GE, 1, 0.90, "holds (cores busy): >= 0.90");
    add_why(f, "CPU per call (controller and guest) went from %.0f to %.0f ns, with %.2f and "
               "%.2f cores busy", med(&cpu[1]), med(&cpu[2]), med(&busy[1]), med(&busy[2]));
    static const char *const conc_ids[3] = { "concurrency_cpu_1", "concurrency_cpu_10",
                                              "concurrency_cpu_100" };
    for (int k = 0; k < 3; k++) {
        char cname[96], cbl[32];
        snprintf(cname, sizeof cname, "8. (diagnostic) %d sandbox%s: CPU per call, controller "
                 "and guest", conc_m[k], conc_m[k] > 1 ? "es" : "");
        snprintf(cbl, sizeof cbl, "%d sandbox%s", k ? conc_m[k - 1] : 0, k > 1 ? "es" : "");
        f = add_fig(conc_ids[k], cname, med(&cpu[k]), "ns", k ? med(&cpu[k - 1]) : NAN,
                    k ? cbl : NULL, k ? med(&cpu[k]) / med(&cpu[k - 1]) : NAN);
        snprintf(f->note, sizeof f->note, "%.2f cores busy", med(&busy[k]));
    }
}

/* 9 and 10. Many runs: index against dump, corpus replay -j 2 against -j 1. */
static void table_many_runs(const struct many_runs *mr)
{
    char name[96];
    snprintf(name, sizeof name, "9. index: calls indexed per second (writer, %ld calls)",
             mr->idx_calls);
    struct figure *f = add_fig("index_calls_per_s", name, med(&mr->idx_rate), "calls/s",
                               med(&mr->dump_rate), "dump of the same trace",
                               med(&mr->idx_ratio));
    snprintf(f->note, sizeof f->note, "a row per call in SQLite, in transactions, WAL; dump "
             "writes to /dev/null");
    snprintf(name, sizeof name, "10. replay --check of %ld traces: traces per second, -j 2",
             mr->corpus_n);
    f = add_fig("replay_corpus_j2", name, med(&mr->rep2_rate), "traces/s", med(&mr->rep1_rate),
                "-j 1", med(&mr->rep_ratio));
    set_goal(f, G_GT, 1, 1.0, "scales: ratio > 1");
    add_why(f, "%ld CPUs online", sysconf(_SC_NPROCESSORS_ONLN));
}

/* 12. The user's handlers: a C plugin and a handler process. */
static void table_handlers(const struct bench_handlers *hb)
{
    struct figure *f;
    f = add_fig("handler_plugin_wall", "12. getpid()i by a C plugin (--plugin): wall per call",
                hb->plugin_ns, "ns", hb->builtin_ns, "built-in answer", hb->plugin_ratio);
    set_goal(f, G_LE, 1, 1.10, "ratio <= 1.10");
    snprintf(f->note, sizeof f->note, "%ld calls per run, start-up subtracted%s%s", hb->plugin_n,
             f->met == 0 ? "; " : "", f->met == 0 ? "see the ratio" : "");
    f = add_fig("handler_process_wall",
                "12. getpid()i by a handler process (--handler, python3): wall per call",
                hb->proc_ns, "ns", hb->builtin_small_ns, "built-in answer", hb->proc_ratio);
    if (hb->skipped[0])
        snprintf(f->note, sizeof f->note, "skipped: %s", hb->skipped);
    else
        snprintf(f->note, sizeof f->note, "%ld calls per run, start-up subtracted; measured, no "
                 "goal", hb->proc_n);
}

/* Every figure, in the table's order. */
static void build_table(const struct bench *b, const struct results *r)
{
    const struct workload *const ws[3] = { &r->ping, &r->writer, &r->importer };
    table_floor(r);
    table_run(r);
    table_record(ws);
    table_trace(ws);
    table_replay(ws);
    table_memory(b, r);
    table_concurrency(r);
    table_many_runs(&r->mr);
    add_pypy_figures(&r->py);
    table_handlers(&r->hb);
}

/* The table on stdout with the run's circumstances and the memory and CPU
 * attribution checks, then as markdown and JSON when asked. */
static void report(struct bench *b, const struct results *r, struct machine *m, double total)
{
    const struct rusage_check *rc = &r->rc;
    printf("sandtrace bench, %s, %ld CPU%s (%s), %s, %s mode, %.0f s, load average %s at the "
           "start and %s at the end\n\n",
           m->when, m->nproc, m->nproc > 1 ? "s" : "", m->cpu, m->kernel,
           b->quick ? "quick" : "full", total, m->load_start, m->load_end);
    print_table(stdout);
    printf("\nmemory: wait4's ru_maxrss (max of the controller and its reaped guest): %ld KiB "
           "(%ld calls), %ld KiB (%ld calls), %ld KiB (%ld calls); the ping guest alone: %ld KiB; "
           "the controller's VmHWM sampled while it ran: %ld, %ld, %ld KiB\n",
           r->msmall.p.maxrss_kb, b->mem_small, r->mmid.p.maxrss_kb, b->mem_mid,
           r->mbig.p.maxrss_kb, b->mem_big, r->guest_alone.maxrss_kb, r->msmall.p.hwm_kb,
           r->mmid.p.hwm_kb, r->mbig.p.hwm_kb);
    printf("cpu attribution check (first ping run): wait4 user+sys %.3f s; the zombie's "
           "/proc stat: own %.2f s + reaped children %.2f s; outcome: guest %.3f s, "
           "controller during the run %.3f s (so wait4 - guest = %.3f s)\n",
           rc->wait4_cpu, rc->proc_self, rc->proc_children, rc->outcome_guest,
           rc->outcome_controller, rc->wait4_cpu - rc->outcome_guest);
    if (b->md_path) {
        FILE *md = fopen(b->md_path, "w");
        if (!md)
            die("cannot write '%s': %s", b->md_path, strerror(errno));
        fprintf(md, "Measured %s on %ld CPU%s (%s), %s; %s mode, %.0f s; load average %s at "
                "the start, %s at the end.\n\n",
                m->when, m->nproc, m->nproc > 1 ? "s" : "", m->cpu, m->kernel,
                b->quick ? "quick" : "full", total, m->load_start, m->load_end);
        print_table(md);
        fclose(md);
    }
    if (b->json_path)
        write_json(b, m, rc, total);
}

int main(int argc, char **argv)
{
    struct bench b;
    parse_args(&b, argc, argv);
    double t_begin = bench_now();
    struct machine m;
    read_loadavg(m.load_start, sizeof m.load_start);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(b.tmp, sizeof b.tmp, "%s/sandtrace-bench.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(b.tmp))
        die("cannot create a temporary directory: %s", strerror(errno));
    snprintf(tmp_to_remove, sizeof tmp_to_remove, "%s", b.tmp);
    atexit(remove_tmp);
    path_join(b.log, sizeof b.log, b.tmp, "stderr.log");
    make_tree(&b);

    static struct results r; /* zeroed: the series start empty */
    measure_all(&b, &r);
    build_table(&b, &r);

    machine_info(&m);
    read_loadavg(m.load_end, sizeof m.load_end);
    double total = bench_now() - t_begin;
    report(&b, &r, &m, total);
    return 0;
}
