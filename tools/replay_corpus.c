/* `sandtrace replay --check` over a corpus: see replay_corpus.h. */
#include "tools/replay_corpus.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/st_buf.h"
#include "common/st_util.h"
#include "controller/cpu_place.h"
#include "tools/commands.h"
#include "tools/corpus_list.h"

#define RC_REPORT_KEEP (64u * 1024)   /* bytes of a report kept for the verdict and JUnit */
#define RC_JOBS_MAX 256

/* What a trace's `replay --check` said, by its exit status (enum st_exit). */
enum rc_verdict { V_PASS, V_DIVERGED, V_DAMAGED, V_UNREADABLE, V_ERROR, V_COUNT };

static const char *const verdict_word[V_COUNT] = { "ok", "DIVERGED", "DAMAGED", "UNREADABLE", "ERROR" };
static const char *const verdict_json[V_COUNT] = { "identical", "diverged", "damaged", "unreadable", "error" };

struct rc_result {
    enum rc_verdict verdict;
    int code;                /* its exit status, or -1 */
    int signal;              /* the signal that killed it, or 0 */
    double seconds;
    char *report;            /* up to RC_REPORT_KEEP bytes of its stderr (owned) */
    char summary[512];       /* the one line that says why */
    int64_t divergence;      /* the event of the first divergence, or -1 */
};

static enum rc_verdict verdict_of(int code)
{
    switch (code) {
    case ST_EXIT_OK: return V_PASS;
    case ST_EXIT_DIVERGED: return V_DIVERGED;
    case ST_EXIT_DAMAGED: return V_DAMAGED;
    case ST_EXIT_UNREADABLE: return V_UNREADABLE;
    default: return V_ERROR; /* could not run, timeout, key, killed */
    }
}

struct rc_slot {
    pid_t pid;
    size_t index;            /* into the trace list */
    double start;
    char report_path[4200];
};

/* Text for a terminal or an XML attribute's summary: printable ASCII kept,
 * every other byte as \xNN (a report quotes guest bytes). */
static void plain(char *dst, size_t cap, const char *s, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n && j + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            dst[j++] = (char)c;
        else
            j += (size_t)snprintf(dst + j, cap - j, "\\x%02x", c);
    }
    dst[j] = '\0';
}

/* The report's line that says why: the divergence, else the last line of
 * `replay` that is not a warning. */
static void summarize(struct rc_result *r)
{
    const char *rep = r->report ? r->report : "";
    static const char prefix[] = "sandtrace replay: ";
    const char *best = NULL;
    for (const char *p = rep; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (!strncmp(p, prefix, sizeof prefix - 1)) {
            const char *body = p + sizeof prefix - 1;
            if (!strncmp(body, "divergence at event", 19)) {
                best = p;
                break;
            }
            if (strncmp(body, "warning:", 8) != 0)
                best = p;
        }
        p = nl ? nl + 1 : p + len;
    }
    if (!best) {
        snprintf(r->summary, sizeof r->summary, "%s", r->verdict == V_PASS ? "identical" : "no report");
        return;
    }
    best += sizeof prefix - 1;
    unsigned long long seq;
    if (sscanf(best, "divergence at event %llu (", &seq) == 1 && seq <= INT64_MAX)
        r->divergence = (int64_t)seq;
    const char *nl = strchr(best, '\n');
    plain(r->summary, sizeof r->summary, best, nl ? (size_t)(nl - best) : strlen(best));
}

static char *read_report(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *buf = malloc(RC_REPORT_KEEP + 1);
    size_t got = 0;
    while (buf && got < RC_REPORT_KEEP) {
        ssize_t n = read(fd, buf + got, RC_REPORT_KEEP - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (buf)
        buf[got] = '\0';
    return buf;
}

/* The report's file name: the trace's base name with .txt; a base name that
 * an earlier trace of the list has too gets -N (its place in the list). */
static void report_name(char *dst, size_t cap, const char *dir, struct corpus_list *l, size_t i)
{
    const char *base = strrchr(l->paths[i], '/');
    base = base ? base + 1 : l->paths[i];
    size_t n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".sbt"))
        n -= 4;
    int dup = 0;
    for (size_t k = 0; k < i && !dup; k++) {
        const char *b = strrchr(l->paths[k], '/');
        b = b ? b + 1 : l->paths[k];
        dup = !strcmp(b, base);
    }
    if (dup)
        snprintf(dst, cap, "%s/%.*s-%zu.txt", dir, (int)n, base, i);
    else
        snprintf(dst, cap, "%s/%.*s.txt", dir, (int)n, base);
}

static pid_t start_one(const struct replay_corpus_options *o, size_t slot, const char *trace,
                       const char *report)
{
    const char *argv[18];
    int n = 0;
    /* Each job slot on a CPU of its own (by default): the jobs start at
     * once, and each replay left to choose would often take the one CPU
     * the scheduler started them all on (controller/cpu_place.h). */
    char cpu[16];
    int nth = o->pin ? -1 : st_cpu_nth_allowed(slot);
    snprintf(cpu, sizeof cpu, "%d", nth);
    argv[n++] = "sandtrace";
    argv[n++] = "replay";
    argv[n++] = "--check";
    if (o->exe) {
        argv[n++] = "--exe";
        argv[n++] = o->exe;
    }
    if (o->timeout) {
        argv[n++] = "--timeout";
        argv[n++] = o->timeout;
    }
    if (o->key) {
        argv[n++] = "--key";
        argv[n++] = o->key;
    }
    if (o->no_jail)
        argv[n++] = "--no-jail";
    if (o->keep_going)
        argv[n++] = "--keep-going";
    if (o->pin || nth >= 0) {
        argv[n++] = "--pin";
        argv[n++] = o->pin ? o->pin : cpu;
    }
    argv[n++] = "--";
    argv[n++] = trace;
    argv[n] = NULL;
    int err = open(report, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (err < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(err, 2) < 0)
            _exit(ST_EXIT_ERROR);
        /* The same binary: the single-trace replay, unchanged. */
        execv("/proc/self/exe", (char *const *)argv);
        dprintf(2, "sandtrace replay: cannot start a replay: %s\n", strerror(errno));
        _exit(ST_EXIT_ERROR);
    }
    close(err);
    return pid;
}

/* ------------------------------------------------------------ JUnit */

/* XML character data from report bytes: & < > " ' as entities; valid UTF-8
 * kept; control characters (but tab and newline) and invalid bytes as the
 * text \xNN, which XML 1.0 cannot carry otherwise. */
static void xml_text(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        switch (c) {
        case '&': fputs("&amp;", f); i++; continue;
        case '<': fputs("&lt;", f); i++; continue;
        case '>': fputs("&gt;", f); i++; continue;
        case '"': fputs("&quot;", f); i++; continue;
        case '\'': fputs("&apos;", f); i++; continue;
        case '\t': case '\n': fputc(c, f); i++; continue;
        default: break;
        }
        if (c >= 0x20 && c < 0x7f) {
            fputc(c, f);
            i++;
            continue;
        }
        size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        int ok = len && i + len <= n;
        for (size_t k = 1; ok && k < len; k++)
            ok = (p[i + k] & 0xc0) == 0x80;
        if (ok && len == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] >= 0xa0)))
            ok = 0;
        if (ok && len == 3 && c == 0xef && p[i + 1] == 0xbf && p[i + 2] >= 0xbe)
            ok = 0; /* U+FFFE, U+FFFF: not XML characters */
        if (ok && len == 4 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] >= 0x90)))
            ok = 0;
        if (ok) {
            fwrite(p + i, 1, len, f);
            i += len;
        } else {
            fprintf(f, "\\x%02x", c);
            i++;
        }
    }
}

/* An output file written whole or not at all: a temporary file beside
 * `path`, renamed into place by out_commit. A path that exists and is not a
 * regular file (/dev/stdout, /dev/full, a FIFO) is written directly: it is
 * never replaced. */
struct rc_out {
    const char *path;
    char tmp[4200];              /* "" when writing `path` directly */
    FILE *f;
};

/* Creates the temporary file (or opens a special file): 0, or -1 with
 * errno (said by the caller before any replay starts). */
static int out_open(struct rc_out *o, const char *path)
{
    o->path = path;
    o->f = NULL;
    o->tmp[0] = '\0';
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            errno = EISDIR;
            return -1;
        }
        o->f = fopen(path, "w");
        return o->f ? 0 : -1;
    }
    if ((size_t)snprintf(o->tmp, sizeof o->tmp, "%s.tmpXXXXXX", path) >= sizeof o->tmp) {
        o->tmp[0] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        o->tmp[0] = '\0';
        return -1;
    }
    fchmod(fd, 0644);
    o->f = fdopen(fd, "w");
    if (!o->f) {
        int e = errno;
        close(fd);
        unlink(o->tmp);
        o->tmp[0] = '\0';
        errno = e;
        return -1;
    }
    return 0;
}

/* Closes and renames into place: 0, or -1 with errno (the temporary file
 * removed). */
static int out_commit(struct rc_out *o)
{
    if (!o->f)
        return 0;
    errno = 0;
    int bad = fflush(o->f) != 0 || ferror(o->f);
    int e = errno;
    int rc = fclose(o->f);
    if (!e)
        e = errno;
    o->f = NULL;
    if (!bad && rc == 0 && (!o->tmp[0] || rename(o->tmp, o->path) == 0))
        return 0;
    if (!e)
        e = errno ? errno : EIO;
    if (o->tmp[0])
        unlink(o->tmp);
    errno = e;
    return -1;
}

static void out_abandon(struct rc_out *o)
{
    if (!o->f)
        return;
    fclose(o->f);
    o->f = NULL;
    if (o->tmp[0])
        unlink(o->tmp);
}

static void write_junit(FILE *f, struct corpus_list *l, const struct rc_result *res, double total,
                        size_t failures, size_t errors)
{
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"sandtrace replay --check\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "time=\"%.3f\">\n", l->n, failures, errors, total);
    fprintf(f, "  <testsuite name=\"sandtrace replay --check\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "skipped=\"0\" time=\"%.3f\">\n", l->n, failures, errors, total);
    for (size_t i = 0; i < l->n; i++) {
        const struct rc_result *r = &res[i];
        fputs("    <testcase classname=\"sandtrace.replay\" name=\"", f);
        xml_text(f, l->paths[i]);
        fprintf(f, "\" time=\"%.3f\"", r->seconds);
        if (r->verdict == V_PASS) {
            fputs("/>\n", f);
            continue;
        }
        /* A divergence or a damaged trace is a failure of the test; a
         * replay that could not run or read its trace is an error. */
        int failure = r->verdict == V_DIVERGED || r->verdict == V_DAMAGED;
        const char *tag = failure ? "failure" : "error";
        fprintf(f, ">\n      <%s type=\"%s\" message=\"", tag, verdict_json[r->verdict]);
        xml_text(f, r->summary);
        fputs("\">", f);
        xml_text(f, r->report ? r->report : "");
        fprintf(f, "</%s>\n    </testcase>\n", tag);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
}

/* DIR/summary.json: one JSON document (docs/replay-corpus.md). */
static void write_summary(FILE *f, const char *dir, struct corpus_list *l, const struct rc_result *res,
                          double total, size_t jobs, const size_t *counts, int status)
{
    struct st_buf b;
    st_buf_init(&b, 0);
    st_buf_addf(&b, "{\"schema_version\":1,\"command\":\"replay --check\",\"traces\":%zu,"
                    "\"seconds\":%.3f,\"jobs\":%zu,\"exit_status\":%d,\"counts\":{", l->n, total, jobs, status);
    for (int v = 0; v < V_COUNT; v++)
        st_buf_addf(&b, "%s\"%s\":%zu", v ? "," : "", verdict_json[v], counts[v]);
    st_buf_puts(&b, "},\"results\":[");
    for (size_t i = 0; i < l->n; i++) {
        const struct rc_result *r = &res[i];
        char rep[4200];
        report_name(rep, sizeof rep, dir, l, i);
        const char *base = rep + strlen(dir) + 1;
        st_buf_puts(&b, i ? ",\n{\"trace\":" : "\n{\"trace\":");
        st_buf_add_json_string(&b, l->paths[i], strlen(l->paths[i]), ST_JSON_UTF8);
        st_buf_puts(&b, ",\"report\":");
        st_buf_add_json_string(&b, base, strlen(base), ST_JSON_UTF8);
        st_buf_addf(&b, ",\"verdict\":\"%s\",", verdict_json[r->verdict]);
        if (r->code >= 0)
            st_buf_addf(&b, "\"exit_status\":%d,\"signal\":null,", r->code);
        else if (r->signal > 0)
            st_buf_addf(&b, "\"exit_status\":null,\"signal\":%d,", r->signal);
        else
            st_buf_puts(&b, "\"exit_status\":null,\"signal\":null,");
        st_buf_addf(&b, "\"seconds\":%.3f,\"summary\":", r->seconds);
        st_buf_add_json_string(&b, r->summary, strlen(r->summary), ST_JSON_UTF8);
        if (r->divergence >= 0)
            st_buf_addf(&b, ",\"divergence_event\":%lld}", (long long)r->divergence);
        else
            st_buf_puts(&b, ",\"divergence_event\":null}");
        fwrite(b.data, 1, b.len, f);
        st_buf_reset(&b);
    }
    st_buf_puts(&b, "\n]}\n");
    fwrite(b.data, 1, b.len, f);
    st_buf_release(&b);
}

/* ------------------------------------------------------------ main */

static int remove_dir(const char *dir, struct corpus_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        char p[4200];
        report_name(p, sizeof p, dir, l, i);
        unlink(p);
    }
    return rmdir(dir);
}

/* The whole run's state. */
struct rc_run {
    const struct replay_corpus_options *o;
    struct corpus_list list;
    const char *dir;             /* where the reports go */
    char tmpdir[4200];           /* without --reports: a directory removed at the end */
    struct rc_out junit, summary;
    char summary_path[4200];     /* DIR/summary.json */
    struct rc_result *res;
    struct rc_slot *slots;
    size_t jobs, next, running;
    size_t counts[V_COUNT];
    int out_failed;              /* a line could not be written to stdout */
};

/* Lists the traces and prepares every output before any replay starts: 0,
 * or the exit status. */
static int rc_prepare(struct rc_run *run, char **argv, int argc)
{
    const struct replay_corpus_options *o = run->o;
    for (int i = 0; i < argc; i++) {
        if (corpus_list_add(&run->list, argv[i]) < 0) {
            fprintf(stderr, "sandtrace replay: cannot list '%s': %s\n", argv[i], strerror(errno));
            return ST_EXIT_UNREADABLE;
        }
    }
    if (run->list.n == 0) {
        fprintf(stderr, "sandtrace replay: no trace to replay (a directory stands for its *.sbt files)\n");
        return ST_EXIT_USAGE;
    }
    /* The JUnit file is never one of the traces. */
    struct stat js, ts;
    for (size_t i = 0; o->junit && stat(o->junit, &js) == 0 && i < run->list.n; i++) {
        if (stat(run->list.paths[i], &ts) == 0 && ts.st_dev == js.st_dev && ts.st_ino == js.st_ino) {
            fprintf(stderr, "sandtrace replay: --junit '%s' is the trace '%s': refusing to overwrite it\n",
                    o->junit, run->list.paths[i]);
            return ST_EXIT_USAGE;
        }
    }
    if (o->junit && out_open(&run->junit, o->junit) < 0) {
        fprintf(stderr, "sandtrace replay: cannot write '%s': %s\n", o->junit, strerror(errno));
        return ST_EXIT_OUTPUT;
    }
    run->dir = o->reports;
    if (run->dir) {
        snprintf(run->summary_path, sizeof run->summary_path, "%s/summary.json", run->dir);
        if ((mkdir(run->dir, 0755) < 0 && errno != EEXIST) ||
            out_open(&run->summary, run->summary_path) < 0) {
            fprintf(stderr, "sandtrace replay: cannot write the reports in '%s': %s\n", run->dir,
                    strerror(errno));
            return ST_EXIT_OUTPUT;
        }
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(run->tmpdir, sizeof run->tmpdir, "%s/sandtrace-replay-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(run->tmpdir)) {
            fprintf(stderr, "sandtrace replay: cannot create a directory for the reports: %s\n",
                    strerror(errno));
            run->tmpdir[0] = '\0';
            return ST_EXIT_ERROR;
        }
        run->dir = run->tmpdir;
    }
    run->res = calloc(run->list.n, sizeof *run->res);
    run->jobs = o->jobs < 1 ? 1 : o->jobs > RC_JOBS_MAX ? RC_JOBS_MAX : o->jobs;
    run->slots = calloc(run->jobs, sizeof *run->slots);
    if (!run->res || !run->slots) {
        fprintf(stderr, "sandtrace replay: out of memory\n");
        return ST_EXIT_ERROR;
    }
    return 0;
}

/* Prints a line on stdout, noting a failure to write it. */
static void rc_line(struct rc_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rc_line(struct rc_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vprintf(fmt, ap) < 0 || fflush(stdout) != 0)
        run->out_failed = 1;
    va_end(ap);
}

/* The verdict line of trace i, which has ended. */
static void rc_print_result(struct rc_run *run, size_t i)
{
    const struct rc_result *r = &run->res[i];
    run->counts[r->verdict]++;
    if (r->verdict == V_PASS && run->o->quiet)
        return;
    char shown[1024];
    plain(shown, sizeof shown, run->list.paths[i], strlen(run->list.paths[i]));
    if (r->verdict == V_PASS)
        rc_line(run, "%-9s %s (%.3f s)\n", verdict_word[r->verdict], shown, r->seconds);
    else
        rc_line(run, "%-9s %s (%.3f s): %s\n", verdict_word[r->verdict], shown, r->seconds, r->summary);
}

/* Starts replays in every free slot. */
static void rc_fill(struct rc_run *run)
{
    for (size_t s = 0; s < run->jobs && run->next < run->list.n; s++) {
        struct rc_slot *sl = &run->slots[s];
        if (sl->pid > 0)
            continue;
        sl->index = run->next++;
        report_name(sl->report_path, sizeof sl->report_path, run->dir, &run->list, sl->index);
        sl->start = st_clock_seconds();
        sl->pid = start_one(run->o, s, run->list.paths[sl->index], sl->report_path);
        if (sl->pid < 0) {
            struct rc_result *r = &run->res[sl->index];
            r->verdict = V_ERROR;
            r->code = -1;
            r->divergence = -1;
            snprintf(r->summary, sizeof r->summary, "cannot start a replay: %s", strerror(errno));
            sl->pid = 0;
            rc_print_result(run, sl->index);
            continue;
        }
        run->running++;
    }
}

/* Waits for one replay to end and records it: 0, or -1 when waiting fails. */
static int rc_reap(struct rc_run *run)
{
    int st;
    pid_t done = waitpid(-1, &st, 0);
    if (done < 0) {
        if (errno == EINTR)
            return 0;
        fprintf(stderr, "sandtrace replay: cannot wait for a replay: %s\n", strerror(errno));
        return -1;
    }
    size_t s;
    for (s = 0; s < run->jobs && run->slots[s].pid != done; s++)
        ;
    if (s == run->jobs)
        return 0; /* not one of ours */
    struct rc_slot *sl = &run->slots[s];
    struct rc_result *r = &run->res[sl->index];
    sl->pid = 0;
    run->running--;
    r->seconds = st_clock_seconds() - sl->start;
    r->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    r->verdict = verdict_of(r->code);
    r->divergence = -1;
    r->report = read_report(sl->report_path);
    summarize(r);
    if (r->code < 0)
        snprintf(r->summary, sizeof r->summary, "the replay was killed by signal %d", r->signal);
    rc_print_result(run, sl->index);
    return 0;
}

/* The summary line and the files: the exit status. */
static int rc_finish(struct rc_run *run, double total)
{
    const size_t *c = run->counts;
    int status = c[V_DIVERGED] ? ST_EXIT_DIVERGED : c[V_ERROR] ? ST_EXIT_ERROR
               : c[V_UNREADABLE] ? ST_EXIT_UNREADABLE : c[V_DAMAGED] ? ST_EXIT_DAMAGED : ST_EXIT_OK;
    if (!run->o->quiet)
        rc_line(run, "sandtrace replay: %zu trace%s in %.2f s (-j %zu): %zu identical, %zu diverged, "
                     "%zu damaged, %zu unreadable, %zu could not run\n", run->list.n,
                run->list.n == 1 ? "" : "s", total, run->jobs, c[V_PASS], c[V_DIVERGED], c[V_DAMAGED],
                c[V_UNREADABLE], c[V_ERROR]);
    if (run->junit.f) {
        write_junit(run->junit.f, &run->list, run->res, total, c[V_DIVERGED] + c[V_DAMAGED],
                    c[V_UNREADABLE] + c[V_ERROR]);
        if (out_commit(&run->junit) < 0) {
            fprintf(stderr, "sandtrace replay: cannot write '%s': %s\n", run->o->junit, strerror(errno));
            status = status == ST_EXIT_OK ? ST_EXIT_OUTPUT : status;
        }
    }
    if (run->summary.f) {
        write_summary(run->summary.f, run->dir, &run->list, run->res, total, run->jobs, c, status);
        if (out_commit(&run->summary) < 0) {
            fprintf(stderr, "sandtrace replay: cannot write '%s': %s\n", run->summary.path, strerror(errno));
            status = status == ST_EXIT_OK ? ST_EXIT_OUTPUT : status;
        }
    }
    if (run->o->reports && !run->o->quiet)
        rc_line(run, "sandtrace replay: reports in %s\n", run->o->reports);
    if (run->out_failed) {
        fprintf(stderr, "sandtrace replay: cannot write to standard output: %s\n",
                strerror(errno ? errno : EIO));
        status = status == ST_EXIT_OK ? ST_EXIT_OUTPUT : status;
    }
    return status;
}

static void rc_release(struct rc_run *run)
{
    out_abandon(&run->junit);
    out_abandon(&run->summary);
    if (run->tmpdir[0])
        remove_dir(run->tmpdir, &run->list);
    if (run->res)
        for (size_t i = 0; i < run->list.n; i++)
            free(run->res[i].report);
    free(run->res);
    free(run->slots);
    corpus_list_release(&run->list);
}

int replay_corpus_run(const struct replay_corpus_options *o, char **argv, int argc)
{
    struct rc_run run;
    memset(&run, 0, sizeof run);
    run.o = o;
    int status = rc_prepare(&run, argv, argc);
    if (status != 0) {
        rc_release(&run);
        return status;
    }
    double t0 = st_clock_seconds();
    while (run.next < run.list.n || run.running > 0) {
        /* Fill every free slot, then wait for one replay to end. */
        rc_fill(&run);
        if (run.running > 0 && rc_reap(&run) < 0)
            break;
    }
    status = rc_finish(&run, st_clock_seconds() - t0);
    rc_release(&run);
    return status;
}
