/* Seed corpora from real guest sessions (header-only, for the seed_*.c
 * programs of tests/fuzz/): records example guests and hostile guests with
 * `sandtrace record` (the normal build's binary: $SANDTRACE, guests in
 * $ST_GUEST_DIR and $ST_HOSTILE), reads each trace back, and rebuilds the
 * bytes that crossed the pipes: the guest's stream (requests, R/Z/M
 * replies, a violation's raw bytes) and the controller's (commands and
 * results), in wire order. Each seed program turns a session into its
 * target's input format. Without $SANDTRACE no session is recorded and the
 * seed program writes its hand-made seeds only. */
#ifndef SANDTRACE_TESTS_FUZZ_SEED_SESSIONS_H
#define SANDTRACE_TESTS_FUZZ_SEED_SESSIONS_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "controller/wire.h"
#include "format/trace.h"

struct seed_buf {
    uint8_t *p;
    size_t len, cap;
};

static void seed_put(struct seed_buf *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void seed_put_u64(struct seed_buf *b, uint64_t v)
{
    seed_put(b, &v, 8);
}

/* One piece of one direction, in wire order. */
struct seed_piece {
    int from_controller;
    size_t off, len;   /* in the direction's stream */
};

struct seed_session {
    struct seed_buf guest, controller;  /* the two streams */
    struct seed_piece *pieces;
    size_t npieces, cap_pieces;
    /* Requests as recorded (for formats that need them). */
    size_t nreq;
    char (*req_sig)[TRACE_MAX_SIG_LEN + 1];
    uint64_t (*req_args)[TRACE_MAX_ARGS];
    size_t *req_nargs;
    size_t *req_reply_off; /* where its replies start in `guest` */
    size_t *req_reply_len;
};

static void seed_piece_add(struct seed_session *s, int from_controller, const void *data, size_t n)
{
    struct seed_buf *b = from_controller ? &s->controller : &s->guest;
    if (s->npieces == s->cap_pieces) {
        s->cap_pieces = s->cap_pieces ? s->cap_pieces * 2 : 64;
        s->pieces = realloc(s->pieces, s->cap_pieces * sizeof *s->pieces);
        if (!s->pieces)
            abort();
    }
    s->pieces[s->npieces++] = (struct seed_piece){ from_controller, b->len, n };
    seed_put(b, data, n);
}

static void seed_session_free(struct seed_session *s)
{
    free(s->guest.p);
    free(s->controller.p);
    free(s->pieces);
    free(s->req_sig);
    free(s->req_args);
    free(s->req_nargs);
    free(s->req_reply_off);
    free(s->req_reply_len);
    memset(s, 0, sizeof *s);
}

/* Rebuilds the streams of the trace at `path`. Returns 0 or -1. */
static int seed_session_read(const char *path, struct seed_session *s)
{
    memset(s, 0, sizeof *s);
    struct trace_io *io = NULL;
    if (trace_io_open_file(path, TRACE_IO_READ, &io) < 0)
        return -1;
    struct trace_reader *r = NULL;
    if (trace_reader_open(&r, io, 1, NULL, NULL, 0) < 0)
        return -1;
    struct trace_event ev;
    size_t cap = 0;
    while (trace_reader_next(r, &ev) == 1) {
        switch (ev.kind) {
        case TRACE_EV_REQUEST: {
            uint8_t enc[ST_WIRE_MAX_REQUEST];
            int n = st_wire_encode_request(enc, sizeof enc, ev.request.sig, ev.request.args,
                                           (unsigned)ev.request.nargs);
            if (n > 0)
                seed_piece_add(s, 0, enc, (size_t)n);
            if (s->nreq == cap) {
                cap = cap ? cap * 2 : 64;
                s->req_sig = realloc(s->req_sig, cap * sizeof *s->req_sig);
                s->req_args = realloc(s->req_args, cap * sizeof *s->req_args);
                s->req_nargs = realloc(s->req_nargs, cap * sizeof *s->req_nargs);
                s->req_reply_off = realloc(s->req_reply_off, cap * sizeof *s->req_reply_off);
                s->req_reply_len = realloc(s->req_reply_len, cap * sizeof *s->req_reply_len);
                if (!s->req_sig || !s->req_args || !s->req_nargs || !s->req_reply_off ||
                    !s->req_reply_len)
                    abort();
            }
            snprintf(s->req_sig[s->nreq], sizeof s->req_sig[0], "%s", ev.request.sig);
            memcpy(s->req_args[s->nreq], ev.request.args, sizeof s->req_args[0]);
            s->req_nargs[s->nreq] = ev.request.nargs;
            s->req_reply_off[s->nreq] = s->guest.len;
            s->req_reply_len[s->nreq] = 0;
            s->nreq++;
            break;
        }
        case TRACE_EV_MEM_READ:
            seed_piece_add(s, 1, "R", 1);
            seed_piece_add(s, 1, &ev.mem.ptr, 8);
            {
                uint64_t len = ev.mem.len;
                seed_piece_add(s, 1, &len, 8);
            }
            seed_piece_add(s, 0, ev.mem.data, ev.mem.len);
            break;
        case TRACE_EV_MEM_READ_STR: {
            uint64_t len = ev.mem.len;
            seed_piece_add(s, 1, "Z", 1);
            seed_piece_add(s, 1, &ev.mem.ptr, 8);
            seed_piece_add(s, 1, &ev.mem.size, 8);
            seed_piece_add(s, 0, &len, 8);
            seed_piece_add(s, 0, ev.mem.data, ev.mem.len);
            break;
        }
        case TRACE_EV_MEM_WRITE: {
            uint64_t len = ev.mem.len;
            seed_piece_add(s, 1, "W", 1);
            seed_piece_add(s, 1, &ev.mem.ptr, 8);
            seed_piece_add(s, 1, &len, 8);
            seed_piece_add(s, 1, ev.mem.data, ev.mem.len);
            break;
        }
        case TRACE_EV_MEM_ALLOC: {
            uint64_t len = ev.mem.len;
            seed_piece_add(s, 1, "M", 1);
            seed_piece_add(s, 1, &len, 8);
            seed_piece_add(s, 1, ev.mem.data, ev.mem.len);
            seed_piece_add(s, 0, &ev.mem.ptr, 8);
            break;
        }
        case TRACE_EV_MEM_FREE:
            seed_piece_add(s, 1, "F", 1);
            seed_piece_add(s, 1, &ev.mem.ptr, 8);
            break;
        case TRACE_EV_SET_ERRNO:
            seed_piece_add(s, 1, "E", 1);
            seed_piece_add(s, 1, &ev.set_errno.value, 4);
            break;
        case TRACE_EV_RESULT: {
            char k = ev.result.kind;
            seed_piece_add(s, 1, &k, 1);
            if (k != 'v')
                seed_piece_add(s, 1, &ev.result.value, 8);
            break;
        }
        case TRACE_EV_VIOLATION:
            if (ev.violation.len)
                seed_piece_add(s, 0, ev.violation.data, ev.violation.len);
            break;
        default:
            break;
        }
        if (s->nreq && ev.kind != TRACE_EV_REQUEST)
            s->req_reply_len[s->nreq - 1] = s->guest.len - s->req_reply_off[s->nreq - 1];
    }
    trace_reader_free(r);
    return 0;
}

/* Records `sandtrace record -o TRACE [opts] -- argv...`. Returns 0 when a
 * trace was written (whatever the guest did). */
static int seed_record(const char *trace, const char *const *opts, const char *const *argv)
{
    const char *st = getenv("SANDTRACE");
    if (!st || !*st)
        return -1;
    const char *full[48];
    size_t n = 0;
    full[n++] = st;
    full[n++] = "record";
    full[n++] = "-o";
    full[n++] = trace;
    full[n++] = "--timeout";
    full[n++] = "10";
    full[n++] = "--quiet";
    for (size_t i = 0; opts && opts[i] && n < 40; i++)
        full[n++] = opts[i];
    full[n++] = "--";
    for (size_t i = 0; argv[i] && n < 47; i++)
        full[n++] = argv[i];
    full[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(st, (char *const *)full);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) != 127 && access(trace, R_OK) == 0 ? 0 : -1;
}

/* The sessions recorded for seeds: example guests doing ordinary work and
 * hostile guests breaking the protocol. `each` gets every session read
 * back; returns the number of sessions. */
static int seed_each_session(const char *tmpdir, void (*each)(const struct seed_session *s,
                                                              const char *name, void *ctx),
                             void *ctx)
{
    const char *gdir = getenv("ST_GUEST_DIR");
    const char *hostile = getenv("ST_HOSTILE");
    if (!getenv("SANDTRACE") || !gdir) {
        fprintf(stderr, "seed: SANDTRACE/ST_GUEST_DIR not set: no recorded sessions\n");
        return 0;
    }
    static const struct {
        const char *name;
        const char *guest;   /* example guest, or NULL for the hostile guest */
        const char *args[4];
    } runs[] = {
        { "hello", "hello", { 0 } },
        { "ls", "ls", { "/", 0 } },
        { "stat", "stat", { "/", "/dev/null", "/tmp", 0 } },
        { "clock", "clock", { 0 } },
        { "allcalls", "allcalls", { 0 } },
        { "ping", "ping", { "5", 0 } },
        { "cat", "cat", { "/dev/urandom", 0 } },
        { "writer", "writer", { "3", "100", 0 } },
        { "importer", "importer", { "/", "1", 0 } },
        { "h-zero-length", NULL, { "zero-length", 0 } },
        { "h-garbage", NULL, { "garbage-after-request", 0 } },
        { "h-too-many-args", NULL, { "too-many-args", 0 } },
        { "h-z-reply", NULL, { "z-reply-too-long", 0 } },
        { "h-m-reply-null", NULL, { "m-reply-null", 0 } },
        { "h-readdir", NULL, { "readdir-not-dir", 0 } },
        { "h-fd", NULL, { "fd-never-opened", 0 } },
        { "h-null", NULL, { "null-pointers", 0 } },
        { "h-paths", NULL, { "path-very-long", 0 } },
    };
    int count = 0;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        char exe[4096], trace[4096];
        if (runs[i].guest)
            snprintf(exe, sizeof exe, "%s/%s", gdir, runs[i].guest);
        else if (hostile)
            snprintf(exe, sizeof exe, "%s", hostile);
        else
            continue;
        snprintf(trace, sizeof trace, "%s/%s.sbt", tmpdir, runs[i].name);
        const char *argv[8];
        size_t n = 0;
        argv[n++] = exe;
        for (size_t k = 0; runs[i].args[k]; k++)
            argv[n++] = runs[i].args[k];
        argv[n] = NULL;
        const char *opts[] = { "--max-output", "4096", NULL };
        if (seed_record(trace, opts, argv) != 0)
            continue;
        struct seed_session s;
        if (seed_session_read(trace, &s) == 0) {
            each(&s, runs[i].name, ctx);
            count++;
        }
        seed_session_free(&s);
        unlink(trace);
    }
    return count;
}

static void seed_write(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "seed: cannot write '%s'\n", path);
        exit(1);
    }
}

/* A scratch directory for the traces (outside the corpus directory);
 * remove it with rmdir once the sessions are read (they unlink their
 * traces). NULL when it cannot be made. */
static char *seed_tmpdir(void)
{
    static char path[4096];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sandtrace-seed-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(path);
}

#endif
