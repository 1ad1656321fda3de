/* Handler processes: a user's program, in any language, answers calls over
 * one JSON line each way (docs/handlers.md has the schema). It is a
 * handler of the C API like any other (controller/handler.h), whose
 * function writes the call to the process and reads its answer.
 *
 * The process is untrusted input too: its answer is read within a
 * deadline, at most ST_HPROC_LINE_MAX bytes, parsed strictly (one flat
 * object, known keys, integers that fit), and checked against the call
 * (data only for a call with a buffer to fill, never more than that
 * buffer). Anything else ends the run with status handler before the
 * guest gets an answer. */
#include "controller/handler.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/st_util.h"

#define ST_HPROC_SCHEMA 1
#define ST_HPROC_LINE_MAX (1u << 20)          /* an answer line, newline included */
#define ST_HPROC_REQ_MAX (2u << 20)           /* a request line */

struct hproc {
    char name[96];            /* "handler 'COMMAND'" for messages (shortened) */
    char cmd[72];             /* COMMAND (shortened): the handler's name in notes */
    pid_t pid;
    int to_fd, from_fd;       /* its stdin, its stdout */
    double timeout;           /* seconds per answer */
    char *out;                /* the request being built */
    size_t out_len;
    int out_overflow;
    char *line;               /* the answer being read */
    size_t line_len;
    int placed;               /* its CPU was set at its first call */
};

/* ------------------------------------------------------ the request line */

static void out_put(struct hproc *h, const void *p, size_t n)
{
    if (h->out_len + n > ST_HPROC_REQ_MAX) {
        h->out_overflow = 1;
        return;
    }
    memcpy(h->out + h->out_len, p, n);
    h->out_len += n;
}

static void out_str(struct hproc *h, const char *s)
{
    out_put(h, s, strlen(s));
}

static void out_fmt(struct hproc *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_fmt(struct hproc *h, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        out_put(h, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* The length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
        return 0; /* overlong, or a surrogate */
    if (len == 4 && ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
        return 0;
    return len;
}

/* A JSON string. Bytes that are not UTF-8 become U+0080..U+00FF, one per
 * byte (docs/handlers.md says so: a handler sees such a path as Latin-1). */
static void out_json_str(struct hproc *h, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    out_put(h, "\"", 1);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            out_put(h, e, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            out_fmt(h, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            out_put(h, &p[i], 1);
            i++;
        } else {
            size_t len = utf8_seq(p + i, n - i);
            if (len) {
                out_put(h, p + i, len);
                i += len;
            } else {
                out_fmt(h, "\\u%04x", c);
                i++;
            }
        }
    }
    out_put(h, "\"", 1);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void out_base64(struct hproc *h, const unsigned char *d, size_t n)
{
    out_put(h, "\"", 1);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        char q[4] = { b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                      i + 2 < n ? b64[v & 63] : '=' };
        out_put(h, q, 4);
    }
    out_put(h, "\"", 1);
}

/* Decodes strict base64 (padding required, no whitespace) into dst (cap
 * bytes). Returns the length, or -1 when malformed or too long. */
static long base64_decode(const char *s, size_t n, unsigned char *dst, size_t cap)
{
    if (n % 4)
        return -1;
    size_t len = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char c = s[i + k];
            const char *at = c ? strchr(b64, c) : NULL;
            if (c == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '=')) {
                pad++;
                v <<= 6;
            } else if (at && !pad) {
                v = v << 6 | (uint32_t)(at - b64);
            } else {
                return -1;
            }
        }
        for (int k = 0; k < 3 - pad; k++) {
            if (len >= cap)
                return -1;
            dst[len++] = (unsigned char)(v >> (16 - 8 * k));
        }
    }
    return (long)len;
}

/* Builds the request line for hc (see docs/handlers.md). Returns 0, or a
 * negative st_error from reading the guest's data. */
static int build_request(struct hproc *h, struct st_session *s, struct st_handler_call *hc)
{
    h->out_len = 0;
    h->out_overflow = 0;
    out_fmt(h, "{\"schema\":%d,\"call\":", ST_HPROC_SCHEMA);
    out_json_str(h, hc->sig->name, strlen(hc->sig->name));
    out_str(h, ",\"sig\":");
    out_json_str(h, hc->sig->text, strlen(hc->sig->text));
    out_str(h, ",\"class\":");
    const char *cls = st_sig_class_name(hc->sig->cls);
    out_json_str(h, cls, strlen(cls));
    out_str(h, ",\"meanings\":");
    out_json_str(h, hc->sig->args, strlen(hc->sig->args));
    out_str(h, ",\"args\":[");
    for (unsigned i = 0; i < hc->nargs; i++) {
        const struct st_handler_arg *a = &hc->arg[i];
        if (i)
            out_put(h, ",", 1);
        if (a->meaning == ST_ARG_STR) {
            if (a->str)
                out_json_str(h, a->str, a->str_len);
            else
                out_str(h, "null");
        } else if (a->meaning == ST_ARG_BUF_IN) {
            const void *data;
            size_t len;
            int rc = st_handler_arg_data(s, hc, i, &data, &len);
            if (rc < 0)
                return rc;
            out_fmt(h, "{\"size\":%lld,\"data\":", (long long)a->buf_len);
            out_base64(h, data, len);
            out_put(h, "}", 1);
        } else if (a->meaning == ST_ARG_BUF_OUT) {
            out_fmt(h, "{\"size\":%lld}", (long long)a->buf_len);
        } else {
            out_fmt(h, "%lld", (long long)a->raw);
        }
    }
    out_str(h, "]}\n");
    return 0;
}

/* ------------------------------------------------------- the answer line */

/* One flat JSON object: the values the protocol allows. */
struct answer {
    int has_result, has_errno, has_data, has_default, has_note;
    int64_t result;
    double fresult;
    int result_is_int;
    int err;
    const char *data;       /* base64 text, in the line */
    size_t data_len;
    char note[256];
};

struct jp {
    const char *p, *end;
    char why[96];
};

static void jp_ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r'))
        j->p++;
}

static int jp_fail(struct jp *j, const char *why)
{
    if (!j->why[0])
        snprintf(j->why, sizeof j->why, "%s", why);
    return -1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A JSON string: with `dst` (cap bytes) it is decoded there, NUL-terminated
 * and cut at cap - 1; *raw and *raw_len give the text between the quotes. */
static int jp_string(struct jp *j, char *dst, size_t cap, const char **raw, size_t *raw_len)
{
    if (j->p >= j->end || *j->p != '"')
        return jp_fail(j, "a string was expected");
    j->p++;
    const char *start = j->p;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        uint32_t cp = c;
        if (c < 0x20)
            return jp_fail(j, "a control character in a string");
        if (c == '\\') {
            if (j->end - j->p < 2)
                return jp_fail(j, "a cut escape");
            char e = j->p[1];
            j->p += 2;
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                if (j->end - j->p < 4)
                    return jp_fail(j, "a cut \\u escape");
                cp = 0;
                for (int k = 0; k < 4; k++) {
                    int v = hexval(j->p[k]);
                    if (v < 0)
                        return jp_fail(j, "a bad \\u escape");
                    cp = cp << 4 | (uint32_t)v;
                }
                j->p += 4;
                if (cp == 0 && dst)
                    return jp_fail(j, "a NUL character in a string");
                if (cp >= 0xd800 && cp <= 0xdfff)
                    cp = 0xfffd; /* surrogates: a note does not need them */
                break;
            }
            default: return jp_fail(j, "an unknown escape");
            }
        } else {
            j->p++;
        }
        if (dst) {
            char u[4];
            size_t ul = cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
            if (ul == 1) {
                u[0] = (char)cp;
            } else if (ul == 2) {
                u[0] = (char)(0xc0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 63));
            } else {
                u[0] = (char)(0xe0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 63));
                u[2] = (char)(0x80 | (cp & 63));
            }
            if (c >= 0x80 && c != '\\')
                ul = 1, u[0] = (char)c; /* raw UTF-8 bytes are copied as they are */
            if (n + ul < cap) {
                memcpy(dst + n, u, ul);
                n += ul;
            }
        }
    }
    if (j->p >= j->end)
        return jp_fail(j, "an unterminated string");
    if (raw) {
        *raw = start;
        *raw_len = (size_t)(j->p - start);
    }
    j->p++;
    if (dst && cap)
        dst[n] = '\0';
    return 0;
}

/* A JSON number: an integer that fits int64, or (floats) a finite double. */
static int jp_number(struct jp *j, int64_t *iv, double *dv, int *is_int)
{
    const char *s = j->p;
    if (s < j->end && *s == '-')
        s++;
    if (s >= j->end || *s < '0' || *s > '9')
        return jp_fail(j, "a value of an unknown kind");
    char buf[64];
    size_t n = 0;
    const char *q = j->p;
    while (q < j->end && strchr("0123456789+-.eE", *q) && n < sizeof buf - 1)
        buf[n++] = *q++;
    buf[n] = '\0';
    char *e;
    errno = 0;
    *is_int = !strpbrk(buf, ".eE");
    if (*is_int) {
        long long v = strtoll(buf, &e, 10);
        if (errno || *e)
            return jp_fail(j, "an integer out of range");
        *iv = v;
        *dv = (double)v;
    } else {
        double v = strtod(buf, &e);
        if (errno || *e || !isfinite(v))
            return jp_fail(j, "a malformed number");
        *dv = v;
    }
    j->p = q;
    return 0;
}

static int jp_literal(struct jp *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return jp_fail(j, "a value of an unknown kind");
    j->p += n;
    return 0;
}

/* errno by name ("EACCES") through glibc's names. */
static int errno_by_name(const char *name)
{
    for (int e = 1; e < 256; e++) {
        const char *n = strerrorname_np(e);
        if (n && !strcmp(n, name))
            return e;
    }
    return 0;
}

/* The value of "errno": a name ("EACCES") or a number in 1..4095. */
static int answer_errno(struct jp *j, struct answer *a)
{
    int rc;
    if (j->p < j->end && *j->p == '"') {
        char name[32];
        rc = jp_string(j, name, sizeof name, NULL, NULL);
        if (rc == 0 && !(a->err = errno_by_name(name)))
            rc = jp_fail(j, "an unknown errno name");
    } else {
        int64_t v;
        double d;
        int is_int;
        rc = jp_number(j, &v, &d, &is_int);
        if (rc == 0 && (!is_int || v <= 0 || v > 4095))
            rc = jp_fail(j, "an errno out of range");
        a->err = (int)v;
    }
    return rc;
}

/* One member of the answer object ("key": value) into `a`; a key may
 * appear once. < 0 with j->why set when it is not one. */
static int answer_member(struct jp *j, struct answer *a)
{
    char key[32];
    if (jp_string(j, key, sizeof key, NULL, NULL) < 0)
        return -1;
    jp_ws(j);
    if (j->p >= j->end || *j->p != ':')
        return jp_fail(j, "a ':' was expected");
    j->p++;
    jp_ws(j);
    int *seen = !strcmp(key, "result") ? &a->has_result : !strcmp(key, "errno") ? &a->has_errno
              : !strcmp(key, "data") ? &a->has_data : !strcmp(key, "default") ? &a->has_default
              : !strcmp(key, "note") ? &a->has_note : NULL;
    if (!seen) {
        snprintf(j->why, sizeof j->why, "unknown key '%.20s'", key);
        return -1;
    }
    if (*seen) {
        snprintf(j->why, sizeof j->why, "key '%s' twice", key);
        return -1;
    }
    *seen = 1;
    if (seen == &a->has_result)
        return jp_number(j, &a->result, &a->fresult, &a->result_is_int);
    if (seen == &a->has_errno)
        return answer_errno(j, a);
    if (seen == &a->has_data)
        return jp_string(j, NULL, 0, &a->data, &a->data_len);
    if (seen == &a->has_default)
        return jp_literal(j, "true");
    return jp_string(j, a->note, sizeof a->note, NULL, NULL);
}

static int parse_answer(const char *line, size_t len, struct answer *a, char *why, size_t why_cap)
{
    struct jp j = { line, line + len, "" };
    memset(a, 0, sizeof *a);
    jp_ws(&j);
    if (j.p >= j.end || *j.p != '{') {
        snprintf(why, why_cap, "not a JSON object");
        return -1;
    }
    j.p++;
    jp_ws(&j);
    int first = 1;
    while (j.p < j.end && *j.p != '}') {
        if (!first) {
            if (*j.p != ',') {
                jp_fail(&j, "a ',' or '}' was expected");
                break;
            }
            j.p++;
            jp_ws(&j);
        }
        first = 0;
        if (answer_member(&j, a) < 0)
            break;
        jp_ws(&j);
    }
    if (!j.why[0]) {
        if (j.p >= j.end)
            jp_fail(&j, "the object is not closed");
        else {
            j.p++;
            jp_ws(&j);
            if (j.p != j.end)
                jp_fail(&j, "text after the object");
        }
    }
    if (j.why[0]) {
        snprintf(why, why_cap, "%s", j.why);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- the process */

/* Waits for `events` on fd until `deadline`: 1 ready, 0 at the deadline. */
static int wait_until(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - st_clock_seconds();
        if (left <= 0)
            return 0;
        struct pollfd p = { fd, events, 0 };
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1; /* the read or write says what is wrong */
    }
}

/* At its first call, a handler process joins the CPU its caller is pinned
 * to (the guest link's: controller/cpu_place.h), if any: every call to it
 * is a round trip like the guest's own, and one across CPUs costs several
 * times the work on a virtual machine (10 000 getpid calls to a python3
 * handler, by hand: 1.5 to 1.8 s with the handler free, 0.24 to 0.27 s on
 * the pair's CPU). The process was started before the guest, and so
 * before the pin; its main thread is moved (sh -c execs a lone command,
 * so that is the handler's own), and what it starts from then on
 * inherits the CPU. */
static void place_like_caller(struct hproc *h)
{
    h->placed = 1;
    cpu_set_t mine;
    if (h->pid > 0 && pthread_getaffinity_np(pthread_self(), sizeof mine, &mine) == 0 &&
        CPU_COUNT(&mine) == 1)
        sched_setaffinity(h->pid, sizeof mine, &mine);
}

/* Sends the request and reads one answer line into h->line. Returns 0, or
 * st_handler_fail's value with the reason. */
static int exchange(struct hproc *h, struct st_session *s, const struct st_sig *sig)
{
    if (!h->placed)
        place_like_caller(h);
    double deadline = st_clock_seconds() + h->timeout;
    for (size_t off = 0; off < h->out_len;) {
        if (!wait_until(h->to_fd, POLLOUT, deadline))
            return st_handler_fail(s, "%s did not take %s within %g s", h->name, sig->text, h->timeout);
        ssize_t w = write(h->to_fd, h->out + off, h->out_len - off);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return st_handler_fail(s, "%s is gone (cannot send it %s: %s)", h->name, sig->text,
                                   w < 0 ? strerror(errno) : "closed");
        off += (size_t)w;
    }
    h->line_len = 0;
    for (;;) {
        if (!wait_until(h->from_fd, POLLIN, deadline))
            return st_handler_fail(s, "%s did not answer %s within %g s", h->name, sig->text,
                                   h->timeout);
        ssize_t r = read(h->from_fd, h->line + h->line_len, ST_HPROC_LINE_MAX - h->line_len);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            return st_handler_fail(s, "%s died before answering %s", h->name, sig->text);
        char *nl = memchr(h->line + h->line_len, '\n', (size_t)r);
        h->line_len += (size_t)r;
        if (nl) {
            if (nl != h->line + h->line_len - 1)
                return st_handler_fail(s, "%s answered %s with more than one line", h->name, sig->text);
            h->line_len--;
            return 0;
        }
        if (h->line_len >= ST_HPROC_LINE_MAX)
            return st_handler_fail(s, "%s answered %s with a line longer than %u bytes", h->name,
                                   sig->text, ST_HPROC_LINE_MAX);
    }
}

/* Writes the answer's data (base64) into the call's buffer argument i
 * (hc->nargs: the call has none); *given gets the bytes written. */
static int answer_data(struct hproc *h, struct st_session *s, struct st_handler_call *hc,
                       const struct answer *a, unsigned i, long *given)
{
    const struct st_sig *sig = hc->sig;
    if (i == hc->nargs)
        return st_handler_fail(s, "%s answered %s with garbage: data for a call with no buffer to fill",
                               h->name, sig->text);
    uint64_t cap = hc->arg[i].buf_len;
    if ((int64_t)cap < 0)
        cap = 0;
    if (cap > ST_HANDLER_DATA_MAX)
        cap = ST_HANDLER_DATA_MAX;
    /* Decoded in place: base64 is longer than what it encodes. */
    unsigned char *dst = (unsigned char *)h->line;
    long n = base64_decode(a->data, a->data_len, dst, (size_t)cap);
    if (n < 0)
        return st_handler_fail(s, "%s answered %s with garbage: data is not base64 or longer than the buffer (%llu bytes)",
                               h->name, sig->text, (unsigned long long)cap);
    if (n > 0) {
        if (hc->call->args[i] == 0)
            return st_handler_fail(s, "%s answered %s with data for a NULL buffer", h->name,
                                   sig->text);
        int rc = st_guest_write(s, hc->call->args[i], dst, (size_t)n);
        if (rc < 0)
            return rc;
    }
    *given = n;
    return 0;
}

static int hproc_handle(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    struct hproc *h = ctx;
    const struct st_sig *sig = hc->sig;
    int rc = build_request(h, s, hc);
    if (rc < 0)
        return rc;
    if (h->out_overflow)
        return st_handler_fail(s, "%s: the request for %s is too long", h->name, sig->text);
    if ((rc = exchange(h, s, sig)) < 0)
        return rc;
    struct answer a;
    char why[128];
    if (parse_answer(h->line, h->line_len, &a, why, sizeof why) < 0)
        return st_handler_fail(s, "%s answered %s with garbage: %s", h->name, sig->text, why);
    if (a.has_note)
        st_handler_note(s, "%s: %s", h->name, a.note);
    if (a.has_default) {
        if (a.has_result || a.has_errno || a.has_data)
            return st_handler_fail(s, "%s answered %s with garbage: default with a result",
                                   h->name, sig->text);
        return ST_HANDLER_PASS;
    }
    if (a.has_errno) {
        if (a.has_data)
            return st_handler_fail(s, "%s answered %s with garbage: errno with data", h->name,
                                   sig->text);
        st_call_fail(hc->call, a.err);
        return ST_HANDLER_ANSWERED;
    }
    if (!a.has_result && sig->res_kind != 'v')
        return st_handler_fail(s, "%s answered %s with garbage: no result, errno or default",
                               h->name, sig->text);
    if (a.has_result && sig->res_kind == 'p' && (!a.result_is_int || a.result != 0))
        return st_handler_fail(s, "%s answered %s with garbage: a pointer result can only be 0",
                               h->name, sig->text);
    if (a.has_result && sig->res_kind != 'f' && !a.result_is_int)
        return st_handler_fail(s, "%s answered %s with garbage: the result is not an integer",
                               h->name, sig->text);
    /* The call's first buffer to fill, if it has one. */
    unsigned i = 0;
    while (i < hc->nargs && hc->arg[i].meaning != ST_ARG_BUF_OUT)
        i++;
    long given = 0;
    if (a.has_data && (rc = answer_data(h, s, hc, &a, i, &given)) < 0)
        return rc;
    /* A byte count for a buffer says how much of it was filled: never more
     * than the data given, or the guest would read what nobody wrote. */
    if (i < hc->nargs && sig->res == ST_RES_COUNT && (a.result < 0 ? a.result != -1 : a.result > given))
        return st_handler_fail(s, "%s answered %s with garbage: a count of %lld for %ld bytes of data",
                               h->name, sig->text, (long long)a.result, given);
    if (sig->res_kind == 'f') {
        uint64_t bits;
        memcpy(&bits, &a.fresult, 8);
        st_call_ok(hc->call, bits);
    } else {
        st_call_ok(hc->call, (uint64_t)a.result);
    }
    return ST_HANDLER_ANSWERED;
}

static void hproc_free(void *ctx)
{
    struct hproc *h = ctx;
    if (!h)
        return;
    if (h->to_fd >= 0)
        close(h->to_fd); /* its end of input: it should exit */
    if (h->from_fd >= 0)
        close(h->from_fd);
    if (h->pid > 0) {
        /* A second to go by itself, then it is killed. */
        double deadline = st_clock_seconds() + 1.0;
        int st;
        while (waitpid(h->pid, &st, WNOHANG) == 0) {
            if (st_clock_seconds() >= deadline) {
                kill(h->pid, SIGKILL);
                waitpid(h->pid, &st, 0);
                break;
            }
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    free(h->out);
    free(h->line);
    free(h);
}

/* A handler process's state for `command`, not started; NULL on OOM. */
static struct hproc *hproc_new(const char *command, double timeout_seconds)
{
    struct hproc *h = calloc(1, sizeof *h);
    if (h) {
        h->out = malloc(ST_HPROC_REQ_MAX);
        h->line = malloc(ST_HPROC_LINE_MAX + 1);
    }
    if (!h || !h->out || !h->line) {
        if (h) {
            free(h->out);
            free(h->line);
        }
        free(h);
        return NULL;
    }
    h->to_fd = h->from_fd = -1;
    h->timeout = timeout_seconds;
    snprintf(h->cmd, sizeof h->cmd, "%.60s%s", command, strlen(command) > 60 ? "..." : "");
    snprintf(h->name, sizeof h->name, "handler '%s'", h->cmd);
    return h;
}

/* Registers h for every pattern of the comma-separated list: one handler
 * each, the first one owning h (the session frees it from then on, also
 * when a later pattern fails). */
static int hproc_register(struct st_session *s, struct hproc *h, const char *pattern, char *err,
                          size_t cap)
{
    char pats[1024];
    if (snprintf(pats, sizeof pats, "%s", pattern) >= (int)sizeof pats) {
        hproc_free(h);
        snprintf(err, cap, "pattern list too long");
        return ST_E_INVALID;
    }
    int first = 1;
    char *save = NULL;
    for (char *p = strtok_r(pats, ",", &save); p || first; p = strtok_r(NULL, ",", &save)) {
        struct st_handler_def d = { .name = h->cmd, .pattern = p ? p : "", .when = ST_HANDLER_REPLACE,
                                    .fn = hproc_handle, .ctx = h, .free_ctx = first ? hproc_free : NULL };
        int rc = st_session_add_handler(s, &d);
        if (rc < 0) {
            snprintf(err, cap, rc == ST_E_UNKNOWN_CALL ? "pattern '%s' matches no function"
                               : rc == ST_E_INVALID ? "invalid pattern '%s'" : "cannot add a handler for '%s'",
                     p ? p : "");
            return rc;
        }
        first = 0;
        if (!p)
            break;
    }
    return 0;
}

/* Starts `command` with sh -c, its stdin and stdout piped to h. */
static int hproc_start(struct hproc *h, const char *command, char *err, size_t cap)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        snprintf(err, cap, "cannot make a pipe: %s", strerror(errno));
        return ST_E_SPAWN;
    }
    if (pipe2(out, O_CLOEXEC) < 0) {
        snprintf(err, cap, "cannot make a pipe: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        return ST_E_SPAWN;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, cap, "cannot start '%s': %s", command, strerror(errno));
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return ST_E_SPAWN;
    }
    if (pid == 0) {
        /* The user's own program, outside the guest's jail: its stdin and
         * stdout are the protocol, its stderr (and /dev/tty) its own. */
        dup2(in[0], 0);
        dup2(out[1], 1);
        signal(SIGPIPE, SIG_DFL);
        execl("/bin/sh", "sh", "-c", command, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    h->pid = pid;
    h->to_fd = in[1];
    h->from_fd = out[0];
    return 0;
}

int st_session_add_handler_process(struct st_session *s, const char *pattern, const char *command,
                                   double timeout_seconds, char *err, size_t cap)
{
    if (cap)
        err[0] = '\0';
    if (!s || !pattern || !command || !*command || !(timeout_seconds > 0)) {
        snprintf(err, cap, "invalid handler (a pattern, a command and a timeout are needed)");
        return ST_E_INVALID;
    }
    struct hproc *h = hproc_new(command, timeout_seconds);
    if (!h) {
        snprintf(err, cap, "out of memory");
        return ST_E_NOMEM;
    }
    /* Registered first (the patterns are checked before anything starts);
     * from here on the session owns h and frees it. */
    int rc = hproc_register(s, h, pattern, err, cap);
    if (rc < 0)
        return rc;
    return hproc_start(h, command, err, cap);
}
