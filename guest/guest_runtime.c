/* The guest runtime: request framing, the command loop, dump mode.
 *
 * Everything observable matches a real sandbox-2 PyPy (shared/PROTOCOL.md):
 * requests leave in one write() of a 512-byte buffer, commands are read
 * through a small buffer on fd 0, memory commands are obeyed blindly, and
 * every protocol violation is a "sandbox: ..." line on fd 2 and abort(). */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SG_FD_IN 0
#define SG_FD_OUT 1
#define SG_FD_ERR 2

const char *const sg_signatures[SG_SIG_COUNT] = {
#define SG_SIG(id, text) [SG_SIG_##id] = text,
#include "guest/guest_signatures.def"
#undef SG_SIG
};

/* Bytes read from fd 0 but not consumed yet. Commands are small and come in
 * bursts, so one read() usually brings a whole burst; large W/M payloads go
 * straight to their destination once the buffer is drained. */
static unsigned char in_buf[4096];
static size_t in_pos, in_len;
static int first_request_done;

/* glibc's malloc initialises itself on first use with getrandom(); a real
 * PyPy has allocated long before its first request, so do the same here:
 * after the first request a guest only reads fd 0, writes fds 1 and 2, and
 * maps memory (what a jail modelled on the real guest allows). */
__attribute__((constructor)) static void sg_runtime_init(void)
{
    void *volatile p = malloc(1); /* volatile: the pair must not be optimised away */
    free(p);
}

__attribute__((noreturn, format(printf, 1, 2))) static void sg_fatal(const char *fmt, ...)
{
    char msg[256];
    int n = snprintf(msg, sizeof msg, "sandbox: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof msg - 2)
        len = sizeof msg - 2;
    msg[len++] = '\n';
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(SG_FD_ERR, msg + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    abort();
}

/* Reads up to n bytes; fewer only at end of file or on a read error. */
static size_t in_read(void *dst, size_t n)
{
    unsigned char *d = dst;
    size_t got = 0;
    while (got < n) {
        if (in_pos < in_len) {
            size_t k = in_len - in_pos;
            if (k > n - got)
                k = n - got;
            memcpy(d + got, in_buf + in_pos, k);
            in_pos += k;
            got += k;
            continue;
        }
        ssize_t r;
        if (n - got >= sizeof in_buf) {
            r = read(SG_FD_IN, d + got, n - got);
            if (r > 0)
                got += (size_t)r;
        } else {
            r = read(SG_FD_IN, in_buf, sizeof in_buf);
            if (r > 0) {
                in_pos = 0;
                in_len = (size_t)r;
            }
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
    }
    return got;
}

/* The kernel reports a bad guest address in R/W as EFAULT where the real
 * runtime's memory access would fault: crash the same way, with a real
 * fault (raise() would be a tgkill, which a jail allows for SIGABRT only,
 * so the guest would be reported as killed by the jail). */
static void crash_on_efault(void)
{
    if (errno == EFAULT) {
        signal(SIGSEGV, SIG_DFL);
        volatile char *volatile nowhere = NULL;
        *nowhere = 0;
        raise(SIGSEGV); /* not reached */
    }
}

static void in_exact(void *dst, size_t n)
{
    errno = 0;
    if (in_read(dst, n) != n) {
        crash_on_efault();
        sg_fatal("stdin closed while waiting for the controller");
    }
}

static uint64_t in_u64(void)
{
    uint64_t v;
    in_exact(&v, sizeof v);
    return v;
}

static int out_all(const void *buf, size_t n)
{
    const unsigned char *p = buf;
    while (n > 0) {
        ssize_t w = write(SG_FD_OUT, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void out_exact(const void *buf, size_t n)
{
    if (out_all(buf, n) != 0) {
        crash_on_efault();
        sg_fatal("cannot write to the controller");
    }
}

void sg_sort_strings(const char **v, size_t n)
{
    /* Heapsort: in place, no allocation, no system call (glibc's qsort may
     * call sysinfo() for large arrays, which a jail refuses). */
    for (size_t end = n, start = n / 2;;) {
        size_t root;
        if (start > 0) {
            root = --start;
        } else {
            if (end <= 1)
                return;
            end--;
            const char *t = v[0];
            v[0] = v[end];
            v[end] = t;
            root = 0;
        }
        for (size_t child; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && strcmp(v[child], v[child + 1]) < 0)
                child++;
            if (strcmp(v[root], v[child]) >= 0)
                break;
            const char *t = v[root];
            v[root] = v[child];
            v[child] = t;
        }
    }
}

/* Dump mode: the function list, then exit 0 without sending the request. */
static void dump_and_exit(void)
{
    const char *sorted[SG_SIG_COUNT];
    memcpy(sorted, sg_signatures, sizeof sorted);
    sg_sort_strings(sorted, SG_SIG_COUNT);
    size_t len = 64;
    for (size_t i = 0; i < SG_SIG_COUNT; i++)
        len += strlen(sorted[i]) + 1;
    char *text = malloc(len);
    if (!text)
        sg_fatal("out of memory");
    int n = snprintf(text, len, "Version: %d\nPlatform: %s\nFuncs:", SG_PROTOCOL_VERSION,
                     SG_PLATFORM);
    size_t off = (size_t)n;
    for (size_t i = 0; i < SG_SIG_COUNT; i++) {
        text[off++] = ' ';
        size_t k = strlen(sorted[i]);
        memcpy(text + off, sorted[i], k);
        off += k;
    }
    text[off++] = '\n';
    out_exact(text, off);
    _exit(0);
}

static void check_dump_mode(void)
{
    if (first_request_done)
        return;
    first_request_done = 1;
    const char *d = getenv("RPY_SANDBOX_DUMP");
    if (d && *d)
        dump_and_exit();
}

static void cmd_read_memory(void)
{
    uint64_t ptr = in_u64(), size = in_u64();
    out_exact((const void *)(uintptr_t)ptr, (size_t)size);
}

static void cmd_read_string(void)
{
    uint64_t ptr = in_u64(), maxlen = in_u64();
    const char *s = (const char *)(uintptr_t)ptr;
    uint64_t len = strnlen(s, (size_t)maxlen);
    /* Plain write() only (a jail modelled on the real guest allows no
     * writev): one write for a short string, two for a long one. */
    unsigned char small[512];
    if (len <= sizeof small - sizeof len) {
        memcpy(small, &len, sizeof len);
        memcpy(small + sizeof len, s, (size_t)len);
        out_exact(small, sizeof len + (size_t)len);
    } else {
        out_exact(&len, sizeof len);
        out_exact(s, (size_t)len);
    }
}

static void cmd_write_memory(void)
{
    uint64_t ptr = in_u64(), size = in_u64();
    in_exact((void *)(uintptr_t)ptr, (size_t)size);
}

static void cmd_malloc(void)
{
    uint64_t size = in_u64();
    void *p = malloc(size ? (size_t)size : 1);
    if (!p)
        sg_fatal("out of memory (M of %llu bytes)", (unsigned long long)size);
    in_exact(p, (size_t)size);
    uint64_t addr = (uint64_t)(uintptr_t)p;
    out_exact(&addr, sizeof addr);
}

static void cmd_free(void)
{
    uint64_t ptr = in_u64();
    free((void *)(uintptr_t)ptr);
}

/* The command loop of one open request; errno was saved by the caller. */
static uint64_t serve(char result_kind, int saved_errno)
{
    int new_errno = saved_errno;
    for (;;) {
        unsigned char op;
        in_exact(&op, 1);
        switch (op) {
        case 'R':
            cmd_read_memory();
            break;
        case 'Z':
            cmd_read_string();
            break;
        case 'W':
            cmd_write_memory();
            break;
        case 'M':
            cmd_malloc();
            break;
        case 'F':
            cmd_free();
            break;
        case 'E': {
            int32_t e;
            in_exact(&e, sizeof e);
            new_errno = e;
            break;
        }
        case 'v':
        case 'i':
        case 'f':
        case 'p': {
            if (op != (unsigned char)result_kind)
                sg_fatal("wrong result kind '%c' for a call returning '%c'", op, result_kind);
            uint64_t value = 0;
            if (op != 'v')
                value = in_u64();
            errno = new_errno;
            return value;
        }
        default:
            sg_fatal("unknown command opcode 0x%02x", op);
        }
    }
}

/* Checks "name(ARGS)R"; returns the result kind and sets *nargs. */
static char parse_signature(const char *sig, size_t *nargs)
{
    size_t len = strlen(sig);
    if (len < 4 || len > SG_TEXT_MAX)
        sg_fatal("bad signature length %zu", len);
    char kind = sig[len - 1];
    if (sig[len - 2] != ')' || !strchr("ifpv", kind) || kind == '\0')
        sg_fatal("bad signature '%s'", sig);
    const char *open = memchr(sig, '(', len - 2);
    if (!open || open == sig)
        sg_fatal("bad signature '%s'", sig);
    /* The last '(' before ")R" starts ARGS. */
    for (const char *q = open + 1; q < sig + len - 2; q++)
        if (*q == '(')
            open = q;
    size_t n = 0;
    for (const char *q = open + 1; q < sig + len - 2; q++, n++)
        if (*q != 'i' && *q != 'f' && *q != 'p')
            sg_fatal("bad argument kind '%c' in '%s'", *q, sig);
    *nargs = n;
    return kind;
}

uint64_t sg_call(const char *sig, const uint64_t *args, size_t nargs)
{
    int saved_errno = errno;
    size_t want;
    char kind = parse_signature(sig, &want);
    if (want != nargs)
        sg_fatal("'%s' needs %zu arguments, got %zu", sig, want, nargs);
    if (nargs > SG_ARGS_MAX)
        sg_fatal("'%s' has %zu arguments, more than %d", sig, nargs, SG_ARGS_MAX);
    size_t tlen = strlen(sig);
    if (1 + tlen + 8 * nargs > SG_REQUEST_MAX)
        sg_fatal("request '%s' does not fit in %d bytes", sig, SG_REQUEST_MAX);
    check_dump_mode();
    unsigned char req[SG_REQUEST_MAX];
    req[0] = (unsigned char)tlen;
    memcpy(req + 1, sig, tlen);
    if (nargs)
        memcpy(req + 1 + tlen, args, 8 * nargs);
    out_exact(req, 1 + tlen + 8 * nargs);
    return serve(kind, saved_errno);
}

int sg_raw_write(const void *buf, size_t len)
{
    return out_all(buf, len);
}

size_t sg_raw_read(void *buf, size_t len)
{
    return in_read(buf, len);
}

uint64_t sg_raw_serve(char result_kind)
{
    return serve(result_kind, errno);
}
