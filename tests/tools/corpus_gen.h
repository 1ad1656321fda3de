/* A corpus of recorded runs for the many-trace tests (index, replay -j):
 * `sandtrace record` of the example guests, CG_KINDS kinds in turn, several
 * recordings at once. Trace i is DIR/run-NNNN.sbt and of kind i % CG_KINDS:
 *
 *   0 hello                          exited 0; writes to fds 1 and 2
 *   1 ls /w                          lists the mounted world
 *   2 cat /w/a.txt /w/nope           opens both; the second fails; exits 1
 *   3 fsops write /tmp/out.txt ...   writes inside the writable /tmp
 *   4 fsops write /w/evil ...        a write outside /tmp: refused (EROFS)
 *   5 clock                          time calls only
 *   6 writer 10 8 --max-calls 3      stopped by a limit: status max-calls
 *   7 stat /w/a.txt /w               stat64 twice
 *
 * Header-only: one copy per test program. Aborts when a fixture cannot be
 * made (a broken fixture is a broken test, not a failed one). */
#ifndef SANDTRACE_TESTS_TOOLS_CORPUS_GEN_H
#define SANDTRACE_TESTS_TOOLS_CORPUS_GEN_H

#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"

#define CG_KINDS 8

extern char **environ;

struct cg_corpus {
    char *dir;       /* the traces (owned) */
    char *world;     /* mounted at /w (owned) */
    size_t n;
};

static inline const char *cg_kind_name(size_t i)
{
    static const char *const names[CG_KINDS] = { "hello", "ls", "cat", "tmpwrite", "evilwrite",
                                                 "clock", "limit", "stat" };
    return names[i % CG_KINDS];
}

static inline void cg_trace_path(const struct cg_corpus *c, size_t i, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s/run-%04zu.sbt", c->dir, i);
}

/* Starts the recording of trace i; returns its pid. */
static inline pid_t cg_start(const struct cg_corpus *c, size_t i)
{
    static char mount[4200];
    char trace[4200];
    cg_trace_path(c, i, trace, sizeof trace);
    snprintf(mount, sizeof mount, "/w=%s", c->world);
    const char *argv[32];
    size_t n = 0;
    argv[n++] = tu_sandtrace();
    argv[n++] = "record";
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = "--mount";
    argv[n++] = mount;
    char text[32];
    snprintf(text, sizeof text, "run-%zu", i);
    switch (i % CG_KINDS) {
    case 0: argv[n++] = "--"; argv[n++] = tu_guest("hello"); break;
    case 1: argv[n++] = "--"; argv[n++] = tu_guest("ls"); argv[n++] = "/w"; break;
    case 2:
        argv[n++] = "--"; argv[n++] = tu_guest("cat"); argv[n++] = "/w/a.txt"; argv[n++] = "/w/nope";
        break;
    case 3:
        argv[n++] = "--tmp-write"; argv[n++] = "--"; argv[n++] = tu_build_path("testguests/fsops");
        argv[n++] = "write"; argv[n++] = "/tmp/out.txt"; argv[n++] = text;
        argv[n++] = "stat"; argv[n++] = "/tmp/out.txt";
        break;
    case 4:
        argv[n++] = "--"; argv[n++] = tu_build_path("testguests/fsops");
        argv[n++] = "write"; argv[n++] = "/w/evil"; argv[n++] = text;
        break;
    case 5: argv[n++] = "--"; argv[n++] = tu_guest("clock"); break;
    case 6:
        argv[n++] = "--max-calls"; argv[n++] = "3"; argv[n++] = "--"; argv[n++] = tu_guest("writer");
        argv[n++] = "10"; argv[n++] = "8";
        break;
    default:
        argv[n++] = "--"; argv[n++] = tu_guest("stat"); argv[n++] = "/w/a.txt"; argv[n++] = "/w";
        break;
    }
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
        abort();
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* The exit status `record` gives trace i's run. */
static inline int cg_expected_status(size_t i)
{
    switch (i % CG_KINDS) {
    case 2: return 1;
    case 6: return 75; /* max-calls */
    default: return 0;
    }
}

/* Records n runs into a fresh directory, `parallel` at a time. */
static inline void cg_make(struct cg_corpus *c, size_t n, int parallel)
{
    memset(c, 0, sizeof *c);
    char *base = tu_mkdtemp();
    if (asprintf(&c->dir, "%s/corpus", base) < 0 || asprintf(&c->world, "%s/world", base) < 0)
        abort();
    free(base);
    mkdir(c->dir, 0755);
    mkdir(c->world, 0755);
    tu_write_file(c->world, "a.txt", "alpha\n", 6);
    c->n = n;
    pid_t running[64];
    size_t which[64];
    int nrun = 0;
    if (parallel < 1 || parallel > 64)
        parallel = 4;
    for (size_t i = 0; i < n || nrun > 0;) {
        if (i < n && nrun < parallel) {
            which[nrun] = i;
            running[nrun++] = cg_start(c, i);
            i++;
            continue;
        }
        int st;
        pid_t done = waitpid(-1, &st, 0);
        if (done < 0)
            abort();
        for (int k = 0; k < nrun; k++) {
            if (running[k] != done)
                continue;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != cg_expected_status(which[k])) {
                fprintf(stderr, "corpus_gen: recording %zu (%s) ended with status 0x%x\n", which[k],
                        cg_kind_name(which[k]), st);
                abort();
            }
            running[k] = running[nrun - 1];
            which[k] = which[nrun - 1];
            nrun--;
            break;
        }
    }
}

/* Removes the corpus's directories (the parent of dir). */
static inline void cg_remove(struct cg_corpus *c)
{
    char *slash = c->dir ? strrchr(c->dir, '/') : NULL;
    if (slash) {
        *slash = '\0';
        tu_rm_rf(c->dir);
    }
    free(c->dir);
    free(c->world);
    memset(c, 0, sizeof *c);
}

/* The library directory of a real PyPy: the first directory holding
 * lib-python at or above the executable's (PYPY_SANDBOX_LIB overrides).
 * 1 found, 0 not. */
static inline int cg_pypy_lib(const char *exe, char *out, size_t cap)
{
    const char *env = getenv("PYPY_SANDBOX_LIB");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return 1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", exe);
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            return 0;
        *slash = '\0';
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/lib-python", dir);
        struct stat st;
        if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(out, cap, "%s", dir);
            return 1;
        }
    }
    return 0;
}

/* Records `n` runs of each real PyPy named by PYPY_SANDBOX and
 * PYPY3_SANDBOX into DIR/pypy-K-I.sbt (`-S -c 'print(I)'`); returns how
 * many it recorded (0: neither is set). Fails the test when a recording
 * fails. */
static inline size_t cg_record_pypys(const char *dir, size_t n)
{
    static const char *const vars[] = { "PYPY_SANDBOX", "PYPY3_SANDBOX" };
    size_t made = 0;
    for (size_t k = 0; k < 2; k++) {
        const char *exe = getenv(vars[k]);
        if (!exe || !*exe)
            continue;
        char lib[4096];
        if (!cg_pypy_lib(exe, lib, sizeof lib)) {
            fprintf(stderr, "corpus_gen: no lib-python at or above '%s'\n", exe);
            abort();
        }
        for (size_t i = 0; i < n; i++) {
            char trace[8300], code[64];
            snprintf(trace, sizeof trace, "%s/pypy-%zu-%02zu.sbt", dir, k, i);
            snprintf(code, sizeof code, "print(%zu)", i);
            const char *args[] = { "record", "-o", trace, "--timeout", "120", "--lib-path", lib, "--",
                                   exe, "-S", "-c", code, NULL };
            struct tu_run r = tu_run_sandtrace(args, NULL);
            if (r.status != 0) {
                fprintf(stderr, "corpus_gen: recording %s failed (%d): %s\n", exe, r.status, r.err);
                abort();
            }
            tu_run_release(&r);
            made++;
        }
    }
    return made;
}

#endif
