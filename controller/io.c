/* The guest's standard streams: where write(1|2) goes (passed through or
 * sanitized, between the caller's markers), the output limit, and where
 * read(0) comes from. */
#include "controller/session_int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/st_util.h"

/* The controller's own output is blocked past the deadline: the run ends
 * as a timeout (once: the first end wins). */
static int output_timed_out(struct st_session *s)
{
    if (!s->stopping) {
        ST_EMIT(s, on_limit, ST_LIMIT_TIMEOUT, "wall-clock limit reached writing the guest's output");
        st_session_stop(s, ST_STATUS_TIMEOUT, "timeout after %g s", s->cfg.timeout_seconds);
    }
    return -ETIMEDOUT;
}

/* Writes all of `p` to `fd`, the controller's own output (a terminal, a
 * file, or a pipe whose reader may never read). With a deadline it never
 * waits past it, blocking fd or not: it waits for room with poll and then
 * writes at most PIPE_BUF bytes, which a pipe with room takes without
 * blocking; at the deadline it ends the run as a timeout and returns
 * -ETIMEDOUT. 0 or a negative errno. */
static int write_full(struct st_session *s, int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        size_t chunk = n;
        if (s && s->link.deadline > 0) {
            double left = s->link.deadline - st_session_now();
            if (left <= 0)
                return output_timed_out(s);
            struct pollfd pf = { fd, POLLOUT, 0 };
            int ready = poll(&pf, 1, (int)(left * 1000.0) + 1);
            if (ready < 0 && errno != EINTR)
                return -errno;
            if (ready <= 0)
                continue; /* EINTR, or the deadline: checked above */
            if (chunk > PIPE_BUF)
                chunk = PIPE_BUF;
        }
        ssize_t w = st_sys_write(fd, c, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pf = { fd, POLLOUT, 0 };
                poll(&pf, 1, s && s->link.deadline > 0 ? 10 : 1000);
                continue;
            }
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int st_session_write_own(struct st_session *s, int fd, const void *data, size_t n)
{
    return write_full(s, fd, data, n);
}

/* The length of the valid UTF-8 sequence at p (at most n bytes) encoding a
 * printable character (not a C1 control, U+0080..U+009F, which terminals
 * may obey), or 0. */
static size_t utf8_printable_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    /* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0)
        return 0;
    return len;
}

/* Control characters (but newlines and tabs) and bytes that are not valid
 * UTF-8 become '?': no terminal escape gets through; UTF-8 text does.
 * `s` NULL: no session, no deadline. */
static int write_sanitized(struct st_session *s, int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    char chunk[4096];
    size_t k = 0;
    while (n > 0) {
        unsigned char ch = *p;
        size_t len = 1;
        if (ch >= 0x80 && (len = utf8_printable_len(p, n)) > 0) {
            memcpy(chunk + k, p, len);
        } else {
            len = 1;
            chunk[k] = (ch >= 0x20 && ch < 0x7f) || ch == '\n' || ch == '\t' ? (char)ch : '?';
        }
        k += len;
        p += len;
        n -= len;
        if (k > sizeof chunk - 4 || n == 0) {
            int rc = write_full(s, fd, chunk, k);
            if (rc < 0)
                return rc;
            k = 0;
        }
    }
    return 0;
}

int st_write_sanitized(int fd, const void *data, size_t n)
{
    return write_sanitized(NULL, fd, data, n);
}

int st_session_sink_write(struct st_session *s, int gfd, const void *data, size_t n)
{
    int fd = gfd == 1 ? s->cfg.out_fd : s->cfg.err_fd;
    int raw = gfd == 1 ? s->cfg.raw_stdout : s->cfg.raw_stderr;
    const char *before = gfd == 1 ? s->cfg.out_before : s->cfg.err_before;
    const char *after = gfd == 1 ? s->cfg.out_after : s->cfg.err_after;
    if (n == 0)
        return 0;
    int rc = before && *before ? write_full(s, fd, before, strlen(before)) : 0;
    if (rc == 0)
        rc = raw ? write_full(s, fd, data, n) : write_sanitized(s, fd, data, n);
    if (rc == 0 && after && *after)
        rc = write_full(s, fd, after, strlen(after));
    return rc;
}

void st_session_write_limit_marker(struct st_session *s, int fd)
{
    char marker[128];
    int len = snprintf(marker, sizeof marker, "\n[sandtrace: output truncated at %llu bytes]\n",
                       (unsigned long long)s->cfg.max_output);
    write_full(s, fd, marker, (size_t)len);
    if (fd == s->cfg.err_fd)
        s->err_line_open = 0;
}

long st_session_write_output(struct st_session *s, int fd, const void *data, size_t n)
{
    if (fd != 1 && fd != 2)
        return -EBADF;
    size_t accept = n;
    int hit = 0;
    if (s->cfg.max_output) {
        uint64_t room = s->output_total < s->cfg.max_output ? s->cfg.max_output - s->output_total : 0;
        if (accept > room) {
            accept = (size_t)room;
            hit = 1;
        }
    }
    int rc = st_session_sink_write(s, fd, data, accept);
    if (rc < 0)
        return rc;
    if (fd == 2 && accept > 0)
        s->err_line_open = ((const char *)data)[accept - 1] != '\n';
    s->output_total += accept;
    if (hit) {
        st_session_write_limit_marker(s, fd == 1 ? s->cfg.out_fd : s->cfg.err_fd);
        ST_EMIT(s, on_limit, ST_LIMIT_OUTPUT, "output limit reached");
        st_session_stop(s, ST_STATUS_OUTPUT, "output limit of %llu bytes reached",
                        (unsigned long long)s->cfg.max_output);
    }
    return (long)accept;
}

long st_session_read_input(struct st_session *s, void *buf, size_t n)
{
    if (s->input_eof || s->cfg.in_fd < 0 || n == 0)
        return 0;
    for (;;) {
        /* Wait first: the deadline holds even while the guest waits for input. */
        int rc = st_session_wait_fd(s, s->cfg.in_fd, POLLIN);
        if (rc == ST_E_TIMEOUT) {
            ST_EMIT(s, on_limit, ST_LIMIT_TIMEOUT, "wall-clock limit reached waiting for input");
            st_session_stop(s, ST_STATUS_TIMEOUT, "timeout after %g s", s->cfg.timeout_seconds);
            return -EINTR;
        }
        if (rc < 0)
            return -EIO;
        ssize_t got = read(s->cfg.in_fd, buf, n);
        if (got > 0) {
            s->input_total += (uint64_t)got;
            return (long)got;
        }
        if (got == 0) {
            s->input_eof = 1;
            return 0;
        }
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
            continue;
        return -errno;
    }
}
