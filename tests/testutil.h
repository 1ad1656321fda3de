/* Helpers shared by the test programs (header-only: each test is one program).
 *
 * tu_run() runs a command with optional stdin bytes, captures its stdout and
 * stderr in full, and kills it (status -1, `timed_out` set) after a deadline,
 * so that no test can hang CI. Paths of built programs come from ST_BUILD_DIR,
 * which the Makefile defines. */
#ifndef SANDTRACE_TESTS_TESTUTIL_H
#define SANDTRACE_TESTS_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct tu_run {
    int status;     /* exit code, 128+signal when killed by a signal, -1 on timeout */
    int timed_out;
    char *out;      /* NUL-terminated; out_len excludes the NUL */
    size_t out_len;
    char *err;
    size_t err_len;
    long max_rss_kib; /* peak resident set of the command (or of a descendant it waited for) */
};

static int tu_timeout_seconds = 60;

static inline void tu__append(char **buf, size_t *len, const char *data, size_t n)
{
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        abort();
    memcpy(nb + *len, data, n);
    *len += n;
    nb[*len] = '\0';
    *buf = nb;
}

static inline double tu__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs argv[0] (a path) with argv, feeding `in` (in_len bytes, may be NULL)
 * on its stdin. `env` NULL keeps the current environment. */
static inline struct tu_run tu_run_env(const char *const *argv, const void *in, size_t in_len,
                                       char *const *env)
{
    struct tu_run r = { 0 };
    int pin[2], pout[2], perr[2];
    if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC))
        abort();
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(perr[1], 2);
        setpgid(0, 0);
        if (env)
            execve(argv[0], (char *const *)argv, env);
        else
            execv(argv[0], (char *const *)argv);
        fprintf(stderr, "tu_run: cannot exec '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    close(perr[1]);
    signal(SIGPIPE, SIG_IGN);
    size_t in_off = 0;
    int in_fd = pin[1];
    if (!in || in_len == 0) {
        close(in_fd);
        in_fd = -1;
    } else {
        fcntl(in_fd, F_SETFL, O_NONBLOCK);
    }
    r.out = calloc(1, 1);
    r.err = calloc(1, 1);
    double deadline = tu__now() + tu_timeout_seconds;
    int open_fds = 2;
    while (open_fds > 0) {
        struct pollfd p[3] = { { pout[0], POLLIN, 0 }, { perr[0], POLLIN, 0 },
                               { in_fd, POLLOUT, 0 } };
        double left = deadline - tu__now();
        if (left <= 0) {
            r.timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        int n = poll(p, in_fd >= 0 ? 3 : 2, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        char buf[65536];
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(p[i].fd, buf, sizeof buf);
            if (got > 0) {
                if (i == 0)
                    tu__append(&r.out, &r.out_len, buf, (size_t)got);
                else
                    tu__append(&r.err, &r.err_len, buf, (size_t)got);
            } else if (got == 0 || errno != EINTR) {
                close(p[i].fd);
                if (i == 0)
                    pout[0] = -1;
                else
                    perr[0] = -1;
                open_fds--;
            }
        }
        if (in_fd >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = write(in_fd, (const char *)in + in_off, in_len - in_off);
            if (w > 0)
                in_off += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) {
                close(in_fd);
                in_fd = -1;
            }
        }
    }
    if (in_fd >= 0)
        close(in_fd);
    if (pout[0] >= 0)
        close(pout[0]);
    if (perr[0] >= 0)
        close(perr[0]);
    int st = 0;
    struct rusage ru = { 0 };
    while (wait4(pid, &st, 0, &ru) < 0 && errno == EINTR)
        ;
    r.max_rss_kib = ru.ru_maxrss;
    if (r.timed_out)
        r.status = -1;
    else if (WIFEXITED(st))
        r.status = WEXITSTATUS(st);
    else
        r.status = 128 + WTERMSIG(st);
    return r;
}

static inline struct tu_run tu_run(const char *const *argv, const char *in)
{
    return tu_run_env(argv, in, in ? strlen(in) : 0, NULL);
}

static inline void tu_run_release(struct tu_run *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* A path under the build directory, in a static ring of buffers (valid for
 * the next 7 calls). */
static inline const char *tu_build_path(const char *rel)
{
    static char bufs[8][4096];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", ST_BUILD_DIR, rel);
    return b;
}

static inline const char *tu_sandtrace(void)
{
    return tu_build_path("bin/sandtrace");
}

/* The example guest NAME (guest/examples/NAME.c), built to $(BUILD)/guests. */
static inline const char *tu_guest(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "guests/%s", name);
    return tu_build_path(rel);
}

/* Runs `sandtrace ARGS...` (args is NULL-terminated, without "sandtrace"). */
static inline struct tu_run tu_run_sandtrace(const char *const *args, const char *in)
{
    const char *argv[128];
    size_t n = 0;
    argv[n++] = tu_sandtrace();
    for (size_t i = 0; args[i] && n < 127; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_run(argv, in);
}

/* A fresh directory under $TMPDIR (or /tmp); the caller owns the string and
 * removes the tree with tu_rm_rf(). */
static inline char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/sandtrace-test-XXXXXX", base && *base ? base : "/tmp") < 0)
        abort();
    if (!mkdtemp(path))
        abort();
    return path;
}

static inline void tu_rm_rf(const char *path)
{
    const char *argv[] = { "/bin/rm", "-rf", path, NULL };
    struct tu_run r = tu_run(argv, NULL);
    tu_run_release(&r);
}

/* Writes `len` bytes to DIR/NAME (creating parent directories is the caller's
 * job). Aborts on error: a test fixture that cannot be made is a broken test. */
static inline void tu_write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, len) != (ssize_t)len)
        abort();
    close(fd);
}

#endif
