/* The generator of the golden traces (tests/golden/NAME.sbt).
 *
 * Each golden trace is written here, event by event, as the controller
 * would record the example guest it is named after (same requests, same
 * answers as guest/examples/NAME.c under a small virtual tree), with fixed
 * times, so that every output of dump/stats/export is deterministic.
 * `pypy2-startup` is converted from the transcript of a real pypy2
 * sandbox-2 run (tests/golden/pypy2-startup.calls, a copy of
 * shared/pypy-startup-calls.txt). test_golden regenerates the traces and
 * the expected outputs with SANDTRACE_UPDATE_GOLDEN=1. Header-only: one
 * copy per test program. */
#ifndef SANDTRACE_TESTS_TOOLS_GOLDEN_GEN_H
#define SANDTRACE_TESTS_TOOLS_GOLDEN_GEN_H

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/registry.h"
#include "format/trace.h"

struct gg {
    char pypy_version; /* '2' or '3': the made-up file data names it */
    struct trace_writer *w;
    uint64_t t;   /* the next event's time */
    int failed;
};

static inline void gg_add(struct gg *g, struct trace_event *ev, uint64_t step)
{
    g->t += step;
    ev->time_ns = g->t;
    if (trace_writer_add_event(g->w, ev) < 0)
        g->failed = 1;
}

/* A request; times advance by fixed steps so outputs are deterministic. */
static inline void gg_req(struct gg *g, const char *sig, size_t n, ...)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_REQUEST;
    ev.request.sig = sig;
    ev.request.nargs = n;
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        ev.request.args[i] = va_arg(ap, uint64_t);
    va_end(ap);
    gg_add(g, &ev, 9000 + (g->t / 7) % 5000);
}

static inline void gg_mem(struct gg *g, enum trace_event_kind k, uint64_t ptr, uint64_t size,
                          const void *data, size_t len)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = k;
    ev.mem.ptr = ptr;
    ev.mem.size = size;
    ev.mem.data = data;
    ev.mem.len = len;
    gg_add(g, &ev, 1500 + len / 4);
}

static inline void gg_Z(struct gg *g, uint64_t ptr, const char *s)
{
    gg_mem(g, TRACE_EV_MEM_READ_STR, ptr, 4096, s, strlen(s));
}
static inline void gg_R(struct gg *g, uint64_t ptr, const void *d, size_t n)
{
    gg_mem(g, TRACE_EV_MEM_READ, ptr, 0, d, n);
}
static inline void gg_W(struct gg *g, uint64_t ptr, const void *d, size_t n)
{
    gg_mem(g, TRACE_EV_MEM_WRITE, ptr, 0, d, n);
}
static inline void gg_M(struct gg *g, const void *d, size_t n, uint64_t ptr)
{
    gg_mem(g, TRACE_EV_MEM_ALLOC, ptr, 0, d, n);
}
static inline void gg_F(struct gg *g, uint64_t ptr)
{
    gg_mem(g, TRACE_EV_MEM_FREE, ptr, 0, NULL, 0);
}

static inline void gg_E(struct gg *g, int32_t e)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_SET_ERRNO;
    ev.set_errno.value = e;
    gg_add(g, &ev, 700);
}

static inline void gg_res(struct gg *g, char kind, uint64_t v)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_RESULT;
    ev.result.kind = kind;
    ev.result.value = v;
    gg_add(g, &ev, 2100);
}

static inline void gg_exit(struct gg *g, int code, int sig, const char *reason)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_GUEST_EXIT;
    ev.guest_exit.code = code;
    ev.guest_exit.signal = sig;
    ev.guest_exit.reason = reason;
    gg_add(g, &ev, 50000);
}

static inline void gg_stderr(struct gg *g, const char *s)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_GUEST_STDERR;
    ev.guest_stderr.data = (const uint8_t *)s;
    ev.guest_stderr.len = strlen(s);
    gg_add(g, &ev, 4000);
}

static inline void gg_note(struct gg *g, const char *s)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_NOTE;
    ev.note.text = s;
    gg_add(g, &ev, 300);
}

static inline void gg_limit(struct gg *g, const char *name, uint64_t v, const char *detail)
{
    struct trace_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TRACE_EV_LIMIT;
    ev.limit.name = name;
    ev.limit.value = v;
    ev.limit.detail = detail;
    gg_add(g, &ev, 300);
}

/* A guest write(fd, buf, n) answered in full. */
static inline void gg_write(struct gg *g, int fd, uint64_t buf, const char *s)
{
    size_t n = strlen(s);
    gg_req(g, "write(ipi)i", 3, (uint64_t)fd, buf, (uint64_t)n);
    gg_R(g, buf, s, n);
    gg_res(g, 'i', n);
}

/* A failing call of result kind 'i': E err, then -1. */
static inline void gg_fail(struct gg *g, int err)
{
    gg_E(g, err);
    gg_res(g, 'i', (uint64_t)-1);
}

/* struct stat (PROTOCOL.md's 144-byte layout). */
static inline void gg_statbuf(uint8_t st[144], uint64_t ino, uint32_t mode, uint64_t size,
                              uint64_t rdev, int64_t mtime)
{
    memset(st, 0, 144);
#define GG_PUT(off, v, n) do { uint64_t gv_ = (uint64_t)(v); for (int k_ = 0; k_ < (n); k_++) st[(off) + k_] = (uint8_t)(gv_ >> (8 * k_)); } while (0)
    GG_PUT(0, 0x2a, 8);       /* st_dev */
    GG_PUT(8, ino, 8);
    GG_PUT(16, (mode & 0170000) == 0040000 ? 2 : 1, 8);
    GG_PUT(24, mode, 4);
    GG_PUT(28, 1000, 4);
    GG_PUT(32, 1000, 4);
    GG_PUT(40, rdev, 8);
    GG_PUT(48, size, 8);
    GG_PUT(56, 4096, 8);
    GG_PUT(64, (size + 511) / 512, 8);
    GG_PUT(72, mtime, 8);
    GG_PUT(88, mtime, 8);
    GG_PUT(96, 250000000, 8);
    GG_PUT(104, mtime, 8);
#undef GG_PUT
}

static inline void gg_dirent(uint8_t d[280], uint64_t ino, uint8_t type, const char *name)
{
    memset(d, 0, 280);
    for (int k = 0; k < 8; k++)
        d[k] = (uint8_t)(ino >> (8 * k));
    d[8] = (uint8_t)ino; /* d_off */
    d[16] = 280 & 0xff;
    d[17] = 280 >> 8;
    d[18] = type;
    snprintf((char *)d + 19, 256, "%s", name);
}

static inline void gg_timeval(uint8_t t[16], int64_t sec, int64_t sub)
{
    for (int k = 0; k < 8; k++) {
        t[k] = (uint8_t)((uint64_t)sec >> (8 * k));
        t[8 + k] = (uint8_t)((uint64_t)sub >> (8 * k));
    }
}

#define GG_STACK 0x7ffd5e3c1000ull
#define GG_HEAP 0x5606e9523000ull

/* --- the guests --------------------------------------------------------- */

static inline void gg_hello(struct gg *g)
{
    gg_write(g, 1, GG_HEAP + 0x2a0, "hello from the sandbox\n");
    gg_write(g, 2, GG_HEAP + 0x2a0, "hello: this line goes to stderr\n");
    gg_exit(g, 0, 0, "exited");
}

/* cat /etc/motd /nonexistent: a file of 10000 bytes (two reads), then a
 * missing file; exit 1. */
static inline void gg_cat(struct gg *g)
{
    static char data[10000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i % 64 == 63 ? '\n' : "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]);
    static const char head[] = "Welcome to the sandbox\n\tline two\x01\x7f\xfe\n";
    memcpy(data, head, sizeof head - 1);
    uint64_t path = GG_STACK + 0x800, buf = GG_STACK - 0x2000;
    gg_req(g, "open(pii)i", 3, path, (uint64_t)0, (uint64_t)0);
    gg_Z(g, path, "/etc/motd");
    gg_res(g, 'i', 3);
    size_t off = 0;
    while (off <= sizeof data) {
        size_t n = sizeof data - off < 8192 ? sizeof data - off : 8192;
        gg_req(g, "read(ipi)i", 3, (uint64_t)3, buf, (uint64_t)8192);
        if (n)
            gg_W(g, buf, data + off, n);
        gg_res(g, 'i', n);
        if (!n)
            break;
        gg_req(g, "write(ipi)i", 3, (uint64_t)1, buf, (uint64_t)n);
        gg_R(g, buf, data + off, n);
        gg_res(g, 'i', n);
        off += n;
    }
    gg_req(g, "close(i)i", 1, (uint64_t)3);
    gg_res(g, 'i', 0);
    gg_req(g, "open(pii)i", 3, path + 0x40, (uint64_t)0, (uint64_t)0);
    gg_Z(g, path + 0x40, "/nonexistent");
    gg_fail(g, 2);
    gg_write(g, 2, GG_HEAP + 0x2a0, "cat: cannot open '/nonexistent': No such file or directory\n");
    gg_exit(g, 1, 0, "exited");
}

/* ls /lib: opendir (a DIR block allocated with M), readdir until NULL,
 * closedir (F), then the sorted names. */
static inline void gg_ls(struct gg *g)
{
    static const struct { const char *name; uint8_t type; } ents[] = {
        { ".", 4 }, { "..", 4 }, { "os.py", 8 }, { "lib-python", 4 }, { "pypy", 10 }, { "null", 2 },
    };
    uint64_t path = GG_STACK + 0x900, dir = GG_HEAP + 0x4000;
    uint8_t blk[280], d[280];
    memset(blk, 0, sizeof blk);
    gg_req(g, "opendir(p)p", 1, path);
    gg_Z(g, path, "/lib");
    gg_M(g, blk, sizeof blk, dir);
    gg_res(g, 'p', dir);
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
        gg_req(g, "readdir(p)p", 1, dir);
        gg_dirent(d, 100 + i, ents[i].type, ents[i].name);
        gg_W(g, dir, d, sizeof d);
        gg_res(g, 'p', dir);
    }
    gg_req(g, "readdir(p)p", 1, dir);
    gg_res(g, 'p', 0);
    gg_req(g, "closedir(p)i", 1, dir);
    gg_F(g, dir);
    gg_res(g, 'i', 0);
    gg_write(g, 1, GG_HEAP + 0x2a0, "lib-python\nnull\nos.py\npypy\n");
    gg_req(g, "opendir(p)p", 1, path + 0x10);
    gg_Z(g, path + 0x10, "/etc/shadow");
    gg_E(g, 13);
    gg_res(g, 'p', 0);
    gg_note(g, "refused opendir of /etc/shadow: not under a mount");
    gg_write(g, 2, GG_HEAP + 0x2a0, "ls: cannot open directory '/etc/shadow': Permission denied\n");
    gg_exit(g, 1, 0, "exited");
}

/* stat /tmp/x /lib /dev/null; stat -l /missing */
static inline void gg_stat(struct gg *g)
{
    uint8_t st[144];
    uint64_t path = GG_STACK + 0xa00, buf = GG_STACK - 0x300;
    static const struct { const char *p; uint32_t mode; uint64_t size, rdev; } f[] = {
        { "/tmp/x", 0100644, 120, 0 }, { "/lib", 040755, 4096, 0 }, { "/dev/null", 020666, 0, 0x103 },
    };
    char line[256];
    for (size_t i = 0; i < 3; i++) {
        gg_req(g, "stat64(pp)i", 2, path, buf);
        gg_Z(g, path, f[i].p);
        gg_statbuf(st, 11 + i, f[i].mode, f[i].size, f[i].rdev, 1700000000 + (int64_t)i);
        gg_W(g, buf, st, sizeof st);
        gg_res(g, 'i', 0);
        snprintf(line, sizeof line, "%s: mode=%04o size=%llu\n", f[i].p, f[i].mode & 07777,
                 (unsigned long long)f[i].size);
        gg_write(g, 1, GG_HEAP + 0x2a0, line);
    }
    gg_req(g, "fstatat64(ippi)i", 4, (uint64_t)-100, path, buf, (uint64_t)0x100);
    gg_Z(g, path, "/tmp/link");
    gg_statbuf(st, 14, 0120777, 6, 0, 1700000100);
    gg_W(g, buf, st, sizeof st);
    gg_res(g, 'i', 0);
    gg_req(g, "faccessat(ipii)i", 4, (uint64_t)-100, path, (uint64_t)6, (uint64_t)0x200);
    gg_Z(g, path, "/tmp/x");
    gg_fail(g, 13);
    gg_req(g, "open(pii)i", 3, path, (uint64_t)(01 | 0100 | 0200 | 01000 | 02000000 | 040000000000ull), (uint64_t)0100644);
    gg_Z(g, path, "/tmp/x.pyc");
    gg_fail(g, 30);
    gg_req(g, "lstat64(pp)i", 2, path, buf);
    gg_Z(g, path, "/missing");
    gg_fail(g, 2);
    gg_write(g, 2, GG_HEAP + 0x2a0, "stat: cannot stat '/missing': No such file or directory\n");
    gg_exit(g, 1, 0, "exited");
}

/* clock: time, gettimeofday, clock_gettime x2, getpid; then a guest that is
 * killed inside a call by the time limit (the call stays unfinished). */
static inline void gg_clock(struct gg *g)
{
    uint8_t tv[16], t8[8];
    uint64_t p = GG_STACK - 0x100;
    gg_req(g, "time(p)i", 1, (uint64_t)0);
    gg_res(g, 'i', 1700000000);
    gg_req(g, "time(p)i", 1, p);
    for (int k = 0; k < 8; k++)
        t8[k] = (uint8_t)(1700000000ull >> (8 * k));
    gg_W(g, p, t8, 8);
    gg_res(g, 'i', 1700000000);
    gg_req(g, "gettimeofday(pp)i", 2, p, (uint64_t)0);
    gg_timeval(tv, 1700000000, 123456);
    gg_W(g, p, tv, 16);
    gg_res(g, 'i', 0);
    gg_req(g, "clock_gettime(ip)i", 2, (uint64_t)0, p);
    gg_timeval(tv, 1700000000, 123456789);
    gg_W(g, p, tv, 16);
    gg_res(g, 'i', 0);
    gg_req(g, "clock_gettime(ip)i", 2, (uint64_t)1, p);
    gg_timeval(tv, 42, 5);
    gg_W(g, p, tv, 16);
    gg_res(g, 'i', 0);
    gg_req(g, "getpid()i", 0);
    gg_res(g, 'i', 4242);
    gg_write(g, 1, GG_HEAP + 0x2a0, "time 1700000000\n");
    gg_req(g, "getcwd(pi)p", 2, p, (uint64_t)2);
    gg_E(g, 34);
    gg_res(g, 'p', 0);
    gg_req(g, "getcwd(pi)p", 2, p, (uint64_t)4096);
    gg_W(g, p, "/tmp", 5);
    gg_res(g, 'p', p);
    gg_req(g, "lseek(iii)i", 3, (uint64_t)3, (uint64_t)-16, (uint64_t)2);
    gg_res(g, 'i', 104);
    gg_req(g, "unknown_call(pfi)i", 3, p, (uint64_t)0x3ff8000000000000ull, (uint64_t)-7);
    gg_E(g, 38);
    gg_res(g, 'i', (uint64_t)-1);
    gg_stderr(g, "sandbox: about to sleep\n");
    gg_req(g, "read(ipi)i", 3, (uint64_t)0, p, (uint64_t)4096);
    gg_limit(g, "timeout", 2, "no answer after 2 s");
    gg_exit(g, -1, 9, "killed by the time limit");
}

/* Every registry signature once, as `allcalls` makes them: integers 0,
 * pointers to a scratch buffer holding "/nonexistent/sandtrace-allcalls",
 * handles NULL. Refused functions get their refusal; handled ones a
 * plausible answer. */
static inline void gg_allcalls(struct gg *g)
{
    const uint64_t scratch = GG_HEAP + 0x8000;
    const char *path = "/nonexistent/sandtrace-allcalls";
    uint8_t zero[512];
    memset(zero, 0, sizeof zero);
    for (size_t id = 0; id < st_registry_count(); id++) {
        const struct st_sig *s = st_registry_get((enum st_sig_id)id);
        if (s->id == ST_SIG__exit)
            continue;
        int handle = s->id == ST_SIG_closedir || s->id == ST_SIG_dirfd || s->id == ST_SIG_readdir ||
                     s->id == ST_SIG_rewinddir || s->id == ST_SIG__pypy_init_free;
        struct trace_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = TRACE_EV_REQUEST;
        ev.request.sig = s->text;
        ev.request.nargs = s->nargs;
        for (unsigned i = 0; i < s->nargs; i++)
            ev.request.args[i] = s->arg_kinds[i] == 'p' && !handle ? scratch : 0;
        gg_add(g, &ev, 8000);
        int zs = 0;
        for (unsigned i = 0; i < s->nargs; i++)
            if (s->args[i] == 's' && ev.request.args[i] && zs++ == 0)
                gg_Z(g, scratch, path);
        if (s->action != ST_ACT_HANDLED) {
            gg_E(g, s->refuse_errno);
            gg_res(g, s->res_kind, s->res_kind == 'p' ? 0 : s->res_kind == 'v' ? 0 : (uint64_t)-1);
            continue;
        }
        /* Handled: paths do not exist; everything else answers sensibly. */
        int has_path = strchr(s->args, 's') != NULL;
        if (has_path && s->res_kind == 'i') {
            gg_fail(g, 2);
            continue;
        }
        if (has_path && s->res_kind == 'p') {
            if (s->id == ST_SIG_getenv) {
                gg_res(g, 'p', 0);
            } else {
                gg_E(g, 2);
                gg_res(g, 'p', 0);
            }
            continue;
        }
        if (handle && s->res_kind != 'v') {
            gg_E(g, 9);
            gg_res(g, s->res_kind, s->res_kind == 'p' ? 0 : (uint64_t)-1);
            continue;
        }
        uint8_t buf[512];
        memset(buf, 0, sizeof buf);
        switch (s->id) {
        case ST_SIG_getcwd:
            gg_W(g, scratch, "/tmp", 5);
            gg_res(g, 'p', scratch);
            break;
        case ST_SIG_clock_getres: case ST_SIG_clock_gettime:
            gg_timeval(buf, s->id == ST_SIG_clock_getres ? 0 : 1700000000, s->id == ST_SIG_clock_getres ? 1 : 5000);
            gg_W(g, scratch, buf, 16);
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_gettimeofday:
            gg_timeval(buf, 1700000000, 250000);
            gg_W(g, scratch, buf, 16);
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_fstat64:
            gg_statbuf(buf, 3, 010600, 0, 0, 1700000000);
            gg_W(g, scratch, buf, 144);
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_getresuid: case ST_SIG_getresgid:
            for (int k = 0; k < 3; k++) {
                uint8_t id4[4] = { 0xe8, 0x03, 0, 0 };
                gg_W(g, scratch, id4, 4);
            }
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_getgroups:
            gg_res(g, 'i', 1);
            break;
        case ST_SIG_getrusage:
            buf[8] = 0x10;
            gg_W(g, scratch, buf, 144);
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_times:
            buf[0] = 7;
            gg_W(g, scratch, buf, 32);
            gg_res(g, 'i', 12345);
            break;
        case ST_SIG_time:
            gg_timeval(buf, 1700000000, 0);
            gg_W(g, scratch, buf, 8);
            gg_res(g, 'i', 1700000000);
            break;
        case ST_SIG_uname:
            memcpy(buf, "Linux", 6);
            memcpy(buf + 65, "sandbox", 8);
            memcpy(buf + 130, "6.1.0", 6);
            memcpy(buf + 195, "#1 SMP", 7);
            memcpy(buf + 260, "x86_64", 7);
            gg_W(g, scratch, buf, 390);
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_get_environ:
            gg_M(g, zero, 8, GG_HEAP + 0x9000);
            gg_res(g, 'p', GG_HEAP + 0x9000);
            break;
        case ST_SIG__pypy_init_home:
            gg_M(g, "/lib/pypy", 10, GG_HEAP + 0x9100);
            gg_res(g, 'p', GG_HEAP + 0x9100);
            break;
        case ST_SIG_ctermid:
            gg_W(g, scratch, "/dev/tty", 9);
            gg_res(g, 'p', scratch);
            break;
        case ST_SIG_read: case ST_SIG_pread:
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_write: case ST_SIG_pwrite:
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_isatty:
            gg_E(g, 25);
            gg_res(g, 'i', 0);
            break;
        case ST_SIG_getpid: case ST_SIG_getppid: case ST_SIG_getpgrp:
            gg_res(g, 'i', 4242);
            break;
        case ST_SIG_getuid: case ST_SIG_geteuid: case ST_SIG_getgid: case ST_SIG_getegid:
            gg_res(g, 'i', 1000);
            break;
        case ST_SIG_umask:
            gg_res(g, 'i', 022);
            break;
        case ST_SIG_sysconf:
            gg_res(g, 'i', 4096);
            break;
        case ST_SIG_rpy_cpu_count:
            gg_res(g, 'i', 1);
            break;
        case ST_SIG_fcntl:
            gg_res(g, 'i', 0);
            break;
        default:
            if (s->res_kind == 'v')
                gg_res(g, 'v', 0);
            else if (s->res_kind == 'p')
                gg_res(g, 'p', 0);
            else if (strchr(s->args, 'd') || strchr(s->args, 'D'))
                gg_fail(g, 9); /* fd 0 is not open in the virtual world */
            else
                gg_res(g, 'i', 0);
            break;
        }
    }
    gg_req(g, "_exit(i)v", 1, (uint64_t)0);
    gg_exit(g, 0, 0, "exited");
}

/* Parses the transcript format of shared/pypy-startup-calls.txt. */
static inline int gg_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[1] && isxdigit((unsigned char)s[0]) && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return (int)n;
}

/* b'...' with Python escapes, into out; returns the length. */
static inline size_t gg_pybytes(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (s[0] != 'b' || (s[1] != '\'' && s[1] != '"'))
        return 0;
    char q = s[1];
    for (s += 2; *s && *s != q && n < cap; s++) {
        if (*s != '\\') {
            out[n++] = (uint8_t)*s;
            continue;
        }
        s++;
        switch (*s) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case 'x': {
            unsigned v = 0;
            sscanf(s + 1, "%2x", &v);
            out[n++] = (uint8_t)v;
            s += 2;
            break;
        }
        default: out[n++] = (uint8_t)*s; break;
        }
    }
    return n;
}

static inline int gg_pypy(struct gg *g, const char *transcript_path)
{
    FILE *f = fopen(transcript_path, "r");
    if (!f)
        return -1;
    char line[8192];
    static uint8_t data[65536];
    int open_kind = 0;
    unsigned fileno = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        if (line[0] != ' ') {
            /* "sig arg arg..." */
            char sig[256];
            uint64_t a[TRACE_MAX_ARGS];
            size_t n = 0;
            char *save = NULL, *tok = strtok_r(line, " ", &save);
            snprintf(sig, sizeof sig, "%s", tok);
            while ((tok = strtok_r(NULL, " ", &save)) && n < TRACE_MAX_ARGS)
                a[n++] = strtoull(tok, NULL, 0);
            struct trace_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = TRACE_EV_REQUEST;
            ev.request.sig = sig;
            ev.request.nargs = n;
            memcpy(ev.request.args, a, n * sizeof a[0]);
            gg_add(g, &ev, 9000 + (g->t / 7) % 5000);
            open_kind = strchr(sig, ')')[1];
            continue;
        }
        const char *p = line + 2;
        uint64_t ptr, size;
        if (p[0] == 'Z') {
            sscanf(p + 2, "%" SCNx64 " %" SCNu64, &ptr, &size);
            const char *arrow = strstr(p, "-> ");
            size_t len = arrow ? gg_pybytes(arrow + 3, data, sizeof data) : 0;
            gg_mem(g, TRACE_EV_MEM_READ_STR, ptr, size, data, len);
        } else if (p[0] == 'R') {
            sscanf(p + 2, "%" SCNx64 " %" SCNu64, &ptr, &size);
            const char *arrow = strstr(p, "-> ");
            size_t len = arrow ? gg_pybytes(arrow + 3, data, sizeof data) : 0;
            gg_mem(g, TRACE_EV_MEM_READ, ptr, 0, data, len);
        } else if (p[0] == 'W') {
            sscanf(p + 2, "%" SCNx64, &ptr);
            const char *h = strstr(p, "hex:"), *el = strstr(p, " <");
            size_t len = 0;
            if (h) {
                len = (size_t)gg_hex(h + 4, data, sizeof data);
                const char *all = strstr(p, "bytes in all");
                if (all) {
                    while (all > p && all[-1] == ' ')
                        all--;
                    const char *num = all;
                    while (num > p && isdigit((unsigned char)num[-1]))
                        num--;
                    size_t total = strtoul(num, NULL, 10);
                    if (total <= sizeof data) {
                        memset(data + len, 0, total - len);
                        len = total;
                    }
                }
            } else if (el) {
                /* "<N bytes of file data>": elided; made-up Python-like text. */
                len = strtoul(el + 2, NULL, 10);
                if (len > sizeof data)
                    len = sizeof data;
                for (size_t k = 0; k < len; k++)
                    data[k] = (uint8_t)(g->pypy_version == '3'
                                            ? "# file of the pypy3 library\nimport sys\n"[(k + fileno) % 39]
                                            : "# file %u of the pypy2 library\nimport sys\n"[(k + fileno) % 42]);
                fileno++;
            }
            gg_mem(g, TRACE_EV_MEM_WRITE, ptr, 0, data, len);
        } else if (p[0] == 'M') {
            size_t len = gg_pybytes(p + 2, data, sizeof data);
            /* "b'...'...(280 bytes)": the rest of the block is zeros. */
            const char *more = strstr(p, "...(");
            if (more) {
                size_t total = strtoul(more + 4, NULL, 10);
                if (total > len && total <= sizeof data) {
                    memset(data + len, 0, total - len);
                    len = total;
                }
            }
            const char *arrow = strstr(p, "-> ");
            ptr = arrow ? strtoull(arrow + 3, NULL, 0) : 0;
            gg_mem(g, TRACE_EV_MEM_ALLOC, ptr, 0, data, len);
        } else if (p[0] == 'F') {
            gg_F(g, strtoull(p + 2, NULL, 0));
        } else if (p[0] == 'E') {
            gg_E(g, (int32_t)strtol(p + 2, NULL, 10));
        } else if (p[0] == '=') {
            uint64_t v = (uint64_t)strtoll(p + 2, NULL, 0);
            if (open_kind == 'p')
                v = strtoull(p + 2, NULL, 0);
            gg_res(g, (char)open_kind, v);
        }
    }
    fclose(f);
    gg_exit(g, 0, 0, "exited");
    return 0;
}

struct gg_golden {
    const char *name;
    void (*gen)(struct gg *g);
    const char *argv0;
    int recorded; /* recorded by tests/golden/record.sh, not generated here */
    int dump_only; /* large: only the dump and stats outputs are kept */
};

static const struct gg_golden gg_goldens[] = {
    { "hello", gg_hello, "hello", 0, 0 },
    { "cat", gg_cat, "cat", 0, 0 },
    { "ls", gg_ls, "ls", 0, 0 },
    { "stat", gg_stat, "stat", 0, 0 },
    { "clock", gg_clock, "clock", 0, 0 },
    { "allcalls", gg_allcalls, "allcalls", 0, 0 },
    { "pypy2-startup", NULL, "/lib/pypy", 0, 0 },
    { "pypy3-startup", NULL, "/lib/pypy", 0, 1 },
    { "rec-hello", NULL, NULL, 1, 0 },
    { "rec-cat", NULL, NULL, 1, 0 },
    { "rec-ls", NULL, NULL, 1, 0 },
    { "rec-stat", NULL, NULL, 1, 0 },
    { "rec-clock", NULL, NULL, 1, 0 },
    { "rec-echo-stdin", NULL, NULL, 1, 0 },
    { "rec-importer", NULL, NULL, 1, 0 },
    { "rec-allcalls", NULL, NULL, 1, 0 },
};

/* Writes golden trace `gd` to `path` (the transcript of pypy2-startup is
 * read from `src_dir`). 0 or -1. */
static inline int gg_write_trace(const struct gg_golden *gd, const char *path, const char *src_dir)
{
    struct trace_io *io = NULL;
    if (trace_io_open_file(path, TRACE_IO_WRITE, &io) < 0)
        return -1;
    struct trace_header h;
    memset(&h, 0, sizeof h);
    h.writer_version = "sandtrace golden generator";
    h.created_unix_ns = 1700000000000000000LL;
    h.host_arch = "x86_64";
    h.host_pointer_size = 8;
    h.host_byte_order_set = 1;
    h.host_kernel_release = "6.1.0";
    char exe[256];
    snprintf(exe, sizeof exe, "/guests/%s", gd->argv0);
    h.guest_exe_path = exe;
    const char *argv[] = { gd->argv0 };
    h.guest_argc = 1;
    h.guest_argv = argv;
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_ns = UINT64_MAX;
    o.chunk_bytes = 64 * 1024;
    struct gg g = { 0 };
    if (trace_writer_new(&g.w, io, 1, &h, &o) < 0)
        return -1;
    if (gd->gen) {
        gd->gen(&g);
    } else {
        char tp[4096];
        snprintf(tp, sizeof tp, "%s/%s.calls", src_dir, gd->name);
        g.pypy_version = gd->name[4];
        if (gg_pypy(&g, tp) < 0)
            g.failed = 1;
    }
    if (trace_writer_close(g.w) < 0)
        g.failed = 1;
    trace_writer_free(g.w);
    return g.failed ? -1 : 0;
}

#endif
