/* A scripted controller peer for the guest runtime's tests (header-only).
 *
 * peer_start_fn() forks a child that puts pipes on its fds 0, 1 and 2 and then
 * runs a function as a guest (linked with libsandtrace_guest.a);
 * peer_start_exec() does the same for an example guest program. The test then
 * reads requests and sends commands byte by byte, and peer_finish() collects
 * the guest's stderr and exit status. Every read has a deadline, and the test
 * program arms alarm() as a last resort, so nothing here can hang CI. */
#ifndef SANDTRACE_TESTS_GUEST_PEER_H
#define SANDTRACE_TESTS_GUEST_PEER_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/testutil.h"

#define PEER_READ_TIMEOUT_MS 20000

struct peer {
    pid_t pid;
    int to_guest;   /* -> guest fd 0 (commands) */
    int from_guest; /* <- guest fd 1 (requests, replies) */
    int err;        /* <- guest fd 2 */
};

struct peer_req {
    size_t len;     /* of the text */
    char text[256]; /* NUL-terminated */
    char kind;      /* result kind */
    size_t nargs;
    uint64_t args[64];
};

struct peer_end {
    int status; /* exit code, or 128+signal */
    char *err;  /* the guest's stderr, NUL-terminated; free() it */
    size_t err_len;
};

static inline void peer__child_fds(int in_r, int out_w, int err_w)
{
    if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        _exit(126);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    /* Like a guest started by a controller: default SIGPIPE. */
    signal(SIGPIPE, SIG_DFL);
}

static inline void peer__start(struct peer *p, void (*fn)(void), const char *const *argv,
                               char *const *env)
{
    int in[2], out[2], er[2];
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(er, O_CLOEXEC))
        abort();
    signal(SIGPIPE, SIG_IGN);
    pid_t pid = fork();
    if (pid < 0)
        abort();
    if (pid == 0) {
        peer__child_fds(in[0], out[1], er[1]);
        if (fn) {
            fn();
            _exit(0);
        }
        if (env)
            execve(argv[0], (char *const *)argv, env);
        else
            execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(er[1]);
    p->pid = pid;
    p->to_guest = in[1];
    p->from_guest = out[0];
    p->err = er[0];
}

static inline void peer_start_fn(struct peer *p, void (*fn)(void))
{
    peer__start(p, fn, NULL, NULL);
}

static inline void peer_start_exec(struct peer *p, const char *const *argv, char *const *env)
{
    peer__start(p, NULL, argv, env);
}

/* Reads up to n bytes from the guest's stdout; returns what arrived before
 * end of file. Fails the test on a timeout. */
static inline size_t peer_recv_some(struct peer *p, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pf = { p->from_guest, POLLIN, 0 };
        int r = poll(&pf, 1, PEER_READ_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            kill(p->pid, SIGKILL);
            fail_msg("timed out waiting for the guest (%zu of %zu bytes)", got, n);
        }
        ssize_t k = read(p->from_guest, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    return got;
}

static inline void peer_recv(struct peer *p, void *buf, size_t n)
{
    size_t got = peer_recv_some(p, buf, n);
    if (got != n)
        fail_msg("guest's stdout ended after %zu of %zu bytes", got, n);
}

static inline uint64_t peer_recv_u64(struct peer *p)
{
    uint64_t v;
    peer_recv(p, &v, sizeof v);
    return v;
}

static inline void peer_send(struct peer *p, const void *buf, size_t n)
{
    const char *c = buf;
    while (n > 0) {
        ssize_t w = write(p->to_guest, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            fail_msg("cannot write to the guest: %s", strerror(errno));
        c += w;
        n -= (size_t)w;
    }
}

static inline void peer_send_u64(struct peer *p, uint64_t v)
{
    peer_send(p, &v, sizeof v);
}

/* Reads one request: u8 length, the text, one 8-byte field per argument. */
static inline void peer_recv_request(struct peer *p, struct peer_req *r)
{
    memset(r, 0, sizeof *r);
    unsigned char n;
    peer_recv(p, &n, 1);
    assert_true(n >= 1);
    r->len = n;
    peer_recv(p, r->text, n);
    r->text[n] = '\0';
    const char *open = strrchr(r->text, '(');
    const char *close = strrchr(r->text, ')');
    if (!open || !close || close < open || close[1] == '\0' || close[2] != '\0')
        fail_msg("malformed request text '%s'", r->text);
    r->kind = close[1];
    r->nargs = (size_t)(close - open - 1);
    assert_true(r->nargs <= 64);
    for (size_t i = 0; i < r->nargs; i++)
        r->args[i] = peer_recv_u64(p);
}

/* Reads one request and checks its signature text. */
static inline void peer_expect(struct peer *p, struct peer_req *r, const char *sig)
{
    peer_recv_request(p, r);
    if (strcmp(r->text, sig) != 0)
        fail_msg("expected request '%s', got '%s'", sig, r->text);
}

static inline void peer_cmd_R(struct peer *p, uint64_t ptr, uint64_t size, void *out)
{
    peer_send(p, "R", 1);
    peer_send_u64(p, ptr);
    peer_send_u64(p, size);
    peer_recv(p, out, (size_t)size);
}

/* Z: returns the length the guest announced; copies at most cap bytes of the
 * string into out (the rest is read and dropped). */
static inline uint64_t peer_cmd_Z(struct peer *p, uint64_t ptr, uint64_t maxlen, char *out,
                                  size_t cap)
{
    peer_send(p, "Z", 1);
    peer_send_u64(p, ptr);
    peer_send_u64(p, maxlen);
    uint64_t len = peer_recv_u64(p);
    assert_true(len < (1u << 24));
    char *tmp = malloc((size_t)len + 1);
    assert_non_null(tmp);
    peer_recv(p, tmp, (size_t)len);
    size_t k = (size_t)len < cap ? (size_t)len : cap;
    memcpy(out, tmp, k);
    if (k < cap)
        out[k] = '\0';
    free(tmp);
    return len;
}

static inline void peer_cmd_W(struct peer *p, uint64_t ptr, const void *data, uint64_t size)
{
    peer_send(p, "W", 1);
    peer_send_u64(p, ptr);
    peer_send_u64(p, size);
    peer_send(p, data, (size_t)size);
}

static inline uint64_t peer_cmd_M(struct peer *p, const void *data, uint64_t size)
{
    peer_send(p, "M", 1);
    peer_send_u64(p, size);
    peer_send(p, data, (size_t)size);
    return peer_recv_u64(p);
}

static inline void peer_cmd_F(struct peer *p, uint64_t ptr)
{
    peer_send(p, "F", 1);
    peer_send_u64(p, ptr);
}

static inline void peer_cmd_E(struct peer *p, int32_t e)
{
    peer_send(p, "E", 1);
    peer_send(p, &e, sizeof e);
}

/* One write(): a guest that dies on a bad opcode cannot make half of it fail
 * with EPIPE. */
static inline void peer_result(struct peer *p, char kind, uint64_t value)
{
    unsigned char buf[9];
    buf[0] = (unsigned char)kind;
    memcpy(buf + 1, &value, 8);
    peer_send(p, buf, kind == 'v' ? 1 : 9);
}

/* Answers a write(ipi)i request: reads the bytes with R, answers the full
 * count, and appends them to *acc (a NUL-terminated heap string, or NULL). */
static inline void peer_answer_write(struct peer *p, const struct peer_req *r, char **acc,
                                     size_t *acc_len)
{
    assert_string_equal(r->text, "write(ipi)i");
    uint64_t n = r->args[2];
    assert_true(n < (1u << 26));
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    peer_cmd_R(p, r->args[1], n, data);
    if (acc) {
        char *nb = realloc(*acc, *acc_len + (size_t)n + 1);
        assert_non_null(nb);
        memcpy(nb + *acc_len, data, (size_t)n);
        *acc_len += (size_t)n;
        nb[*acc_len] = '\0';
        *acc = nb;
    }
    free(data);
    peer_result(p, 'i', n);
}

/* Closes the command pipe, drains the request pipe to end of file, collects
 * stderr and the exit status (killing the guest after the read deadline). */
static inline struct peer_end peer_finish(struct peer *p)
{
    struct peer_end e = { 0 };
    close(p->to_guest);
    char buf[4096];
    while (peer_recv_some(p, buf, sizeof buf) > 0)
        ;
    close(p->from_guest);
    e.err = calloc(1, 1);
    for (;;) {
        struct pollfd pf = { p->err, POLLIN, 0 };
        int r = poll(&pf, 1, PEER_READ_TIMEOUT_MS);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            kill(p->pid, SIGKILL);
            break;
        }
        ssize_t k = read(p->err, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        tu__append(&e.err, &e.err_len, buf, (size_t)k);
    }
    close(p->err);
    int st = 0;
    while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
        ;
    e.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return e;
}

/* The stdout bytes the guest sent after the last request was handled (up to
 * end of file) must be none: checks that and finishes. */
static inline struct peer_end peer_finish_clean(struct peer *p)
{
    char extra[64];
    close(p->to_guest);
    p->to_guest = open("/dev/null", O_WRONLY | O_CLOEXEC);
    size_t n = peer_recv_some(p, extra, sizeof extra);
    if (n)
        fail_msg("guest sent %zu unexpected bytes after its last request (first 0x%02x)", n,
                 (unsigned char)extra[0]);
    return peer_finish(p);
}

#endif
