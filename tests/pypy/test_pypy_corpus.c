/* The corpus: real Python programs (tests/pypy/programs, whose README gives
 * the sidecar-file convention) under each real sandbox-2 PyPy that
 * PYPY_SANDBOX / PYPY3_SANDBOX name (tests/pypy_env.h).
 *
 * For each program and build, one cmocka test named "PROGRAM(pypy2)" proves:
 *  - `sandtrace record` (which runs the guest exactly as `run` does) gives
 *    the expected stdout, stderr, exit code and outcome status;
 *  - `sandtrace replay --check` of that trace finds no divergence;
 *  - `sandtrace replay` with the program's world (its script, the fixture
 *    tree it mounts, its --stdin file) renamed away prints the same stdout
 *    and ends with the same exit code: the trace alone is enough.
 *
 * The runs take most of the time, so they all happen first, CORPUS_JOBS at a
 * time, each in a child process that leaves its results in files; the tests
 * then compare those files with the expectations. A build whose variable is
 * unset makes its tests skip, saying so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <sodium.h>

#include "tests/testutil.h"
#include "tests/pypy_env.h"

/* Two cores here: three runs at once keep them busy while the limit
 * programs sit in their timeouts. */
#define CORPUS_JOBS 3
#define CORPUS_MAX_ARGS 64

static const char *programs_dir(void)
{
    return ST_SOURCE_DIR "/tests/pypy/programs";
}

struct job {
    char name[128];      /* NAME of NAME.py */
    char test_name[160]; /* "NAME(pypy2)": what cmocka prints */
    struct tu_pypy *py;
    int present;         /* 1: build found; 0: skip (why); -1: broken setup (why) */
    char why[8400];
    char dir[4096];      /* this job's work directory */
};

static struct job *jobs;
static size_t njobs;
static char *workdir;

/* ------------------------------------------------------------ files */

/* The whole file, NUL-terminated, or NULL when it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        tu__append(&buf, &n, chunk, got);
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    if (len)
        *len = n;
    return buf;
}

static void write_path(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

/* The expectation file NAME.pyN.EXT for this build, else NAME.EXT; NULL when
 * neither exists. */
static char *expected(const struct job *j, const char *ext, size_t *len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.py%c.%s", programs_dir(), j->name,
             j->py->name[4], ext);
    char *s = slurp(path, len);
    if (s)
        return s;
    snprintf(path, sizeof path, "%s/%s.%s", programs_dir(), j->name, ext);
    return slurp(path, len);
}

/* The fixture tree that programs mount (--mount /data=@FIXTURES@), described
 * in programs/README. Each job gets its own, since each renames its world
 * away before replaying. */
static void make_fixtures(const char *dir)
{
    char sub[4400], deeper[4500];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    snprintf(deeper, sizeof deeper, "%s/deeper", sub);
    if (mkdir(dir, 0755) || mkdir(sub, 0755) || mkdir(deeper, 0755))
        abort();
    const char *hello = "hello from the fixture\nsecond line\nthird line\n";
    tu_write_file(dir, "hello.txt", hello, strlen(hello));
    unsigned char bytes[256];
    for (int i = 0; i < 256; i++)
        bytes[i] = (unsigned char)i;
    tu_write_file(dir, "numbers.bin", bytes, sizeof bytes);
    tu_write_file(dir, "input.txt", "alpha\nbeta\ngamma\n", 17);
    tu_write_file(dir, "empty.txt", "", 0);
    tu_write_file(sub, "nested.txt", "nested\n", 7);
    tu_write_file(deeper, "leaf.txt", "leaf\n", 5);
}

/* ------------------------------------------------------------ one run */

/* `line` with every @FIXTURES@ replaced by `fixtures`, into out. */
static void substitute(const char *line, const char *fixtures, char *out, size_t cap)
{
    static const char key[] = "@FIXTURES@";
    size_t o = 0;
    while (*line && o + 1 < cap) {
        if (!strncmp(line, key, sizeof key - 1)) {
            o += (size_t)snprintf(out + o, cap - o, "%s", fixtures);
            if (o >= cap)
                o = cap - 1;
            line += sizeof key - 1;
        } else {
            out[o++] = *line++;
        }
    }
    out[o] = '\0';
}

static void save_run(const char *dir, const char *step, const struct tu_run *r)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s.out", dir, step);
    write_path(path, r->out, r->out_len);
    snprintf(path, sizeof path, "%s/%s.err", dir, step);
    write_path(path, r->err, r->err_len);
    char rc[32];
    int n = snprintf(rc, sizeof rc, "%d\n", r->status);
    snprintf(path, sizeof path, "%s/%s.rc", dir, step);
    write_path(path, rc, (size_t)n);
}

/* In a child process: the job's three runs, each leaving STEP.out, STEP.err
 * and STEP.rc in its directory (plus outcome.json and trace.sbt). */
static void job_run(const struct job *j)
{
    char world[4200], fixtures[4300], script[200], gone[4300], trace[4200], outcome[4200];
    snprintf(world, sizeof world, "%s/world", j->dir);
    snprintf(fixtures, sizeof fixtures, "%s/fixtures", world);
    snprintf(gone, sizeof gone, "%s/world.gone", j->dir);
    snprintf(trace, sizeof trace, "%s/trace.sbt", j->dir);
    snprintf(outcome, sizeof outcome, "%s/outcome.json", j->dir);
    if (mkdir(world, 0755))
        abort();
    make_fixtures(fixtures);
    /* The script is part of the world too: copied in, renamed away with it. */
    char src[4400];
    snprintf(src, sizeof src, "%s/%s.py", programs_dir(), j->name);
    size_t code_len;
    char *code = slurp(src, &code_len);
    if (!code)
        abort();
    snprintf(script, sizeof script, "%s.py", j->name);
    tu_write_file(world, script, code, code_len);
    free(code);

    static char storage[CORPUS_MAX_ARGS][4400];
    const char *argv[2 * CORPUS_MAX_ARGS + 32];
    size_t n = 0, ns = 0;
    char file_opt[4700], vscript[200];
    snprintf(vscript, sizeof vscript, "/code/%s.py", j->name);
    snprintf(file_opt, sizeof file_opt, "%s=%s/%s.py", vscript, world, j->name);
    argv[n++] = "record";
    argv[n++] = "-o";
    argv[n++] = trace;
    argv[n++] = "--outcome";
    argv[n++] = outcome;
    argv[n++] = "--timeout"; /* a hung guest fails its test, not the suite */
    argv[n++] = "60";
    argv[n++] = "--lib-path";
    argv[n++] = j->py->lib;
    argv[n++] = "--file";
    argv[n++] = file_opt;
    const char *guest[CORPUS_MAX_ARGS];
    size_t ng = 0;
    char args_path[4400];
    snprintf(args_path, sizeof args_path, "%s/%s.args", programs_dir(), j->name);
    char *args = slurp(args_path, NULL);
    int in_guest = 0, raw_stdout = 0;
    for (char *line = args ? strtok(args, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        if (!*line || *line == '#')
            continue;
        if (!strcmp(line, "--")) {
            in_guest = 1;
            continue;
        }
        if (ns == CORPUS_MAX_ARGS || ng == CORPUS_MAX_ARGS)
            abort();
        const char *arg = storage[ns];
        if (in_guest && !strcmp(line, "@SCRIPT@"))
            arg = vscript;
        else
            substitute(line, fixtures, storage[ns++], sizeof storage[0]);
        if (in_guest)
            guest[ng++] = arg;
        else
            argv[n++] = arg;
        raw_stdout |= !in_guest && !strcmp(arg, "--raw-stdout");
    }
    argv[n++] = "--";
    argv[n++] = j->py->exe;
    if (ng == 0)
        argv[n++] = vscript;
    for (size_t i = 0; i < ng; i++)
        argv[n++] = guest[i];
    argv[n] = NULL;

    char stdin_path[4400];
    snprintf(stdin_path, sizeof stdin_path, "%s/%s.stdin", programs_dir(), j->name);
    size_t in_len = 0;
    char *in = slurp(stdin_path, &in_len);
    const char *full[2 * CORPUS_MAX_ARGS + 34];
    full[0] = tu_sandtrace();
    for (size_t i = 0; i <= n; i++)
        full[i + 1] = argv[i];
    struct tu_run r = tu_run_env(full, in, in_len, NULL);
    save_run(j->dir, "record", &r);
    tu_run_release(&r);
    free(in);
    free(args);

    r = tu_run_sandtrace((const char *[]){ "replay", "--check", trace, NULL }, NULL);
    save_run(j->dir, "check", &r);
    tu_run_release(&r);

    if (rename(world, gone))
        abort();
    /* Replay filters the guest's stdout as run does, unless told otherwise
     * the same way. */
    r = tu_run_sandtrace(raw_stdout ? (const char *[]){ "replay", "--raw-stdout", trace, NULL }
                                    : (const char *[]){ "replay", trace, NULL },
                         NULL);
    save_run(j->dir, "replay", &r);
    tu_run_release(&r);
}

/* Runs every job whose build is present, CORPUS_JOBS at a time. */
static void run_all(void)
{
    size_t next = 0, running = 0;
    double start = tu__now();
    for (;;) {
        while (running < CORPUS_JOBS && next < njobs) {
            struct job *j = &jobs[next++];
            if (j->present != 1)
                continue;
            pid_t pid = fork();
            if (pid < 0)
                abort();
            if (pid == 0) {
                job_run(j);
                _exit(0);
            }
            running++;
        }
        if (running == 0)
            break;
        int st;
        if (wait(&st) > 0)
            running--;
        else if (errno != EINTR)
            abort();
    }
    print_message("corpus: %zu runs of record, replay --check and replay in %.1f s\n", njobs,
                  tu__now() - start);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The programs, sorted: every NAME.py in programs_dir(). */
static char **list_programs(size_t *count)
{
    DIR *d = opendir(programs_dir());
    if (!d)
        abort();
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".py"))
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strndup(e->d_name, len - 3);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names;
}

/* ------------------------------------------------------------ the tests */

static char *step_file(const struct job *j, const char *step, const char *ext, size_t *len)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.%s", j->dir, step, ext);
    char *s = slurp(path, len);
    if (!s)
        fail_msg("%s: no %s.%s: the run did not finish", j->test_name, step, ext);
    return s;
}

static int step_rc(const struct job *j, const char *step)
{
    char *s = step_file(j, step, "rc", NULL);
    int rc = atoi(s);
    free(s);
    return rc;
}

/* The outcome's "status" string (static buffer), or "" when absent. */
static const char *outcome_status(const struct job *j)
{
    static char status[64];
    char path[4300];
    snprintf(path, sizeof path, "%s/outcome.json", j->dir);
    char *json = slurp(path, NULL);
    status[0] = '\0';
    const char *at = json ? strstr(json, "\"status\":\"") : NULL;
    if (at) {
        at += strlen("\"status\":\"");
        size_t k = 0;
        while (at[k] && at[k] != '"' && k + 1 < sizeof status) {
            status[k] = at[k];
            k++;
        }
        status[k] = '\0';
    }
    free(json);
    return status;
}

static void sha256_hex(const char *data, size_t len, char hex[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)data, len);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
}

/* Fails the test, naming the program, build and stream, when got differs
 * from want; shows both (or where they first differ, for long ones). */
static void expect_bytes(const struct job *j, const char *what, const char *got, size_t got_len,
                         const char *want, size_t want_len)
{
    if (got_len == want_len && !memcmp(got, want, got_len))
        return;
    size_t at = 0;
    while (at < got_len && at < want_len && got[at] == want[at])
        at++;
    if (got_len < 4000 && want_len < 4000)
        fail_msg("%s: %s differs at byte %zu\n--- expected (%zu bytes):\n%s\n--- got (%zu "
                 "bytes):\n%s", j->test_name, what, at, want_len, want, got_len, got);
    fail_msg("%s: %s differs at byte %zu (expected %zu bytes, got %zu); from there, "
             "expected: %.200s\ngot: %.200s", j->test_name, what, at, want_len, got_len,
             want + at, got + at);
}

static void test_corpus_program(void **state)
{
    struct job *j = *state;
    if (j->present == 0) {
        print_message("skipping: %s\n", j->why);
        skip();
        return;
    }
    if (j->present < 0)
        fail_msg("%s", j->why);

    /* 1. record: the run itself, against the expectations. */
    size_t out_len, err_len, want_len;
    char *out = step_file(j, "record", "out", &out_len);
    char *err = step_file(j, "record", "err", &err_len);
    int rc = step_rc(j, "record");
    char *want_rc = expected(j, "rc", NULL);
    int want = want_rc ? atoi(want_rc) : 0;
    free(want_rc);
    if (rc != want)
        fail_msg("%s: exit code %d, expected %d\n--- stderr:\n%s", j->test_name, rc, want, err);
    char *want_hash = expected(j, "out.sha256", NULL);
    if (want_hash) {
        char hex[65];
        sha256_hex(out, out_len, hex);
        if (strncmp(hex, want_hash, 64))
            fail_msg("%s: stdout (%zu bytes) has SHA-256 %s, expected %.64s", j->test_name,
                     out_len, hex, want_hash);
        free(want_hash);
    } else {
        char *want_out = expected(j, "out", &want_len);
        expect_bytes(j, "stdout", out, out_len, want_out ? want_out : "", want_out ? want_len : 0);
        free(want_out);
    }
    char *want_err = expected(j, "err", &want_len);
    expect_bytes(j, "stderr", err, err_len, want_err ? want_err : "", want_err ? want_len : 0);
    free(want_err);
    char *want_status = expected(j, "status", NULL);
    if (want_status)
        want_status[strcspn(want_status, "\n")] = '\0';
    const char *status = outcome_status(j);
    if (strcmp(status, want_status ? want_status : "exited"))
        fail_msg("%s: outcome status '%s', expected '%s'", j->test_name, status,
                 want_status ? want_status : "exited");
    free(want_status);

    /* 2. replay --check: the same requests, arguments and bytes. */
    char *check_err = step_file(j, "check", "err", NULL);
    if (step_rc(j, "check") != 0)
        fail_msg("%s: replay --check exited %d\n%s", j->test_name, step_rc(j, "check"),
                 check_err);
    free(check_err);

    /* 3. replay with the world gone: the same stdout and exit code. */
    size_t rout_len;
    char *rout = step_file(j, "replay", "out", &rout_len);
    char *rerr = step_file(j, "replay", "err", NULL);
    if (step_rc(j, "replay") != rc)
        fail_msg("%s: replay without the world exited %d, the recorded run %d\n%s",
                 j->test_name, step_rc(j, "replay"), rc, rerr);
    expect_bytes(j, "stdout of the replay without the world", rout, rout_len, out, out_len);
    free(rerr);
    free(rout);
    free(out);
    free(err);
}

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0)
        return -1;
    workdir = tu_mkdtemp();
    size_t nprog;
    char **names = list_programs(&nprog);
    struct tu_pypy *builds[] = { &tu_pypy2, &tu_pypy3 };
    jobs = calloc(nprog * 2, sizeof *jobs);
    for (size_t b = 0; b < 2; b++) {
        struct tu_pypy *py = builds[b];
        char why[8400] = "";
        int present = tu_pypy_find(py->name, py->var, py, why, sizeof why);
        for (size_t p = 0; p < nprog; p++) {
            struct job *j = &jobs[njobs++];
            snprintf(j->name, sizeof j->name, "%s", names[p]);
            snprintf(j->test_name, sizeof j->test_name, "%s(%s)", names[p], py->name);
            j->py = py;
            j->present = present;
            snprintf(j->why, sizeof j->why, "%s", why);
            snprintf(j->dir, sizeof j->dir, "%s/%s.%s", workdir, names[p], py->name);
            if (present == 1 && mkdir(j->dir, 0755))
                abort();
        }
    }
    for (size_t p = 0; p < nprog; p++)
        free(names[p]);
    free(names);
    run_all();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(workdir);
    free(workdir);
    free(jobs);
    return 0;
}

int main(void)
{
    /* The test list is the programs found: setup (which also makes every
     * run) comes before the tests exist. */
    if (setup(NULL) != 0)
        return 1;
    struct CMUnitTest *tests = calloc(njobs, sizeof *tests);
    for (size_t i = 0; i < njobs; i++) {
        tests[i].name = jobs[i].test_name;
        tests[i].test_func = test_corpus_program;
        tests[i].initial_state = &jobs[i];
    }
    int failed = _cmocka_run_group_tests("pypy_corpus", tests, njobs, NULL, NULL);
    free(tests);
    teardown(NULL);
    return failed;
}
