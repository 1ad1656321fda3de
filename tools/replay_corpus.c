/* `sandtrace replay --check` over a corpus: see replay_corpus.h. */
#include "tools/replay_corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/st_util.h"
#include "tools/commands.h"
#include "tools/corpus_list.h"

#define RC_REPORT_KEEP (64u * 1024)   /* bytes of a report kept for the verdict and JUnit */
#define RC_JOBS_MAX 256

/* The exit statuses of `replay --check` (cmd_replay.c). */
enum { RC_IDENTICAL = 0, RC_DIVERGED = 65, RC_TRUNCATED = 66, RC_ERROR = 67 };

enum rc_verdict { V_PASS, V_DIVERGED, V_TRUNCATED, V_ERROR };

struct rc_result {
    enum rc_verdict verdict;
    double seconds;
    char *report;            /* up to RC_REPORT_KEEP bytes of its stderr (owned) */
    char summary[512];       /* the one line that says why */
};

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

static pid_t start_one(const struct replay_corpus_options *o, const char *trace, const char *report)
{
    const char *argv[16];
    int n = 0;
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
            _exit(RC_ERROR);
        /* The same binary: the single-trace replay, unchanged. */
        execv("/proc/self/exe", (char *const *)argv);
        dprintf(2, "sandtrace replay: cannot start a replay: %s\n", strerror(errno));
        _exit(RC_ERROR);
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

static int write_junit(const char *path, struct corpus_list *l, const struct rc_result *res, double total,
                       size_t failures, size_t errors)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
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
        /* A divergence or a trace that ends early is a failure of the test;
         * a replay that could not run is an error. */
        const char *tag = r->verdict == V_ERROR ? "error" : "failure";
        const char *type = r->verdict == V_DIVERGED ? "diverged" : r->verdict == V_TRUNCATED ? "truncated" : "error";
        fprintf(f, ">\n      <%s type=\"%s\" message=\"", tag, type);
        xml_text(f, r->summary);
        fputs("\">", f);
        xml_text(f, r->report ? r->report : "");
        fprintf(f, "</%s>\n    </testcase>\n", tag);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return 0;
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

int replay_corpus_run(const struct replay_corpus_options *o, char **argv, int argc)
{
    struct corpus_list list = { 0 };
    for (int i = 0; i < argc; i++) {
        if (corpus_list_add(&list, argv[i]) < 0) {
            fprintf(stderr, "sandtrace replay: cannot list '%s': %s\n", argv[i], strerror(errno));
            corpus_list_release(&list);
            return RC_ERROR;
        }
    }
    if (list.n == 0) {
        fprintf(stderr, "sandtrace replay: no trace to replay (a directory stands for its *.sbt files)\n");
        corpus_list_release(&list);
        return ST_EXIT_USAGE;
    }
    char tmpdir[4200] = "";
    const char *dir = o->reports;
    if (dir) {
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            fprintf(stderr, "sandtrace replay: cannot create '%s': %s\n", dir, strerror(errno));
            corpus_list_release(&list);
            return RC_ERROR;
        }
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/sandtrace-replay-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir)) {
            fprintf(stderr, "sandtrace replay: cannot create a directory for the reports: %s\n",
                    strerror(errno));
            corpus_list_release(&list);
            return RC_ERROR;
        }
        dir = tmpdir;
    }
    struct rc_result *res = calloc(list.n, sizeof *res);
    size_t jobs = o->jobs < 1 ? 1 : o->jobs > RC_JOBS_MAX ? RC_JOBS_MAX : o->jobs;
    struct rc_slot *slots = calloc(jobs, sizeof *slots);
    if (!res || !slots) {
        fprintf(stderr, "sandtrace replay: out of memory\n");
        free(res);
        free(slots);
        corpus_list_release(&list);
        return RC_ERROR;
    }
    double t0 = st_clock_seconds();
    size_t next = 0, running = 0, counts[4] = { 0, 0, 0, 0 };
    while (next < list.n || running > 0) {
        /* Fill every free slot, then wait for one replay to end. */
        for (size_t s = 0; s < jobs && next < list.n; s++) {
            if (slots[s].pid > 0)
                continue;
            struct rc_slot *sl = &slots[s];
            sl->index = next++;
            report_name(sl->report_path, sizeof sl->report_path, dir, &list, sl->index);
            sl->start = st_clock_seconds();
            sl->pid = start_one(o, list.paths[sl->index], sl->report_path);
            if (sl->pid < 0) {
                struct rc_result *r = &res[sl->index];
                r->verdict = V_ERROR;
                snprintf(r->summary, sizeof r->summary, "cannot start a replay: %s", strerror(errno));
                counts[V_ERROR]++;
                sl->pid = 0;
                printf("ERROR     %s: %s\n", list.paths[sl->index], r->summary);
                continue;
            }
            running++;
        }
        if (running == 0)
            continue;
        int st;
        pid_t done = waitpid(-1, &st, 0);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "sandtrace replay: cannot wait for a replay: %s\n", strerror(errno));
            break;
        }
        size_t s;
        for (s = 0; s < jobs && slots[s].pid != done; s++)
            ;
        if (s == jobs)
            continue; /* not one of ours */
        struct rc_slot *sl = &slots[s];
        struct rc_result *r = &res[sl->index];
        sl->pid = 0;
        running--;
        r->seconds = st_clock_seconds() - sl->start;
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        r->verdict = code == RC_IDENTICAL ? V_PASS : code == RC_DIVERGED ? V_DIVERGED
                   : code == RC_TRUNCATED ? V_TRUNCATED : V_ERROR;
        r->report = read_report(sl->report_path);
        summarize(r);
        if (code < 0)
            snprintf(r->summary, sizeof r->summary, "the replay was killed by signal %d", WTERMSIG(st));
        counts[r->verdict]++;
        static const char *const words[] = { "ok", "DIVERGED", "TRUNCATED", "ERROR" };
        char shown[1024];
        plain(shown, sizeof shown, list.paths[sl->index], strlen(list.paths[sl->index]));
        if (r->verdict == V_PASS)
            printf("%-9s %s (%.3f s)\n", words[r->verdict], shown, r->seconds);
        else
            printf("%-9s %s (%.3f s): %s\n", words[r->verdict], shown, r->seconds, r->summary);
        fflush(stdout);
    }
    double total = st_clock_seconds() - t0;
    printf("sandtrace replay: %zu trace%s in %.2f s (-j %zu): %zu identical, %zu diverged, %zu truncated, "
           "%zu could not run\n", list.n, list.n == 1 ? "" : "s", total, jobs, counts[V_PASS],
           counts[V_DIVERGED], counts[V_TRUNCATED], counts[V_ERROR]);
    int status = counts[V_DIVERGED] ? RC_DIVERGED : counts[V_ERROR] ? RC_ERROR
               : counts[V_TRUNCATED] ? RC_TRUNCATED : ST_EXIT_OK;
    if (o->junit && write_junit(o->junit, &list, res, total, counts[V_DIVERGED] + counts[V_TRUNCATED],
                                counts[V_ERROR]) < 0) {
        fprintf(stderr, "sandtrace replay: cannot write '%s': %s\n", o->junit, strerror(errno));
        if (status == ST_EXIT_OK)
            status = RC_ERROR;
    }
    if (o->reports)
        printf("sandtrace replay: reports in %s\n", o->reports);
    else
        remove_dir(tmpdir, &list);
    for (size_t i = 0; i < list.n; i++)
        free(res[i].report);
    free(res);
    free(slots);
    corpus_list_release(&list);
    return status;
}
