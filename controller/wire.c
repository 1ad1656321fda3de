/* The sandbox-2 wire codec: buffered reading of requests and replies with
 * hard limits, and a command encoder that batches what one request sends. */
#include "controller/wire.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/st_util.h"

void st_wire_reader_init(struct st_wire_reader *r, int fd, st_wire_wait_fn *wait, void *wait_ctx)
{
    r->fd = fd;
    r->start = r->end = 0;
    r->bytes_in = 0;
    r->last_errno = 0;
    r->wait = wait;
    r->wait_ctx = wait_ctx;
}

/* Waits for the fd without a callback: plain poll. */
static int default_wait(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return ST_E_IO;
    return 0;
}

/* One read() into `dst` (up to n bytes). Returns the count, 0 at EOF, or a
 * negative ST_E_*. Waits (through the callback) when the fd would block. */
static long raw_read(struct st_wire_reader *r, void *dst, size_t n)
{
    for (;;) {
        ssize_t got = st_sys_read(r->fd, dst, n);
        if (got >= 0)
            return (long)got;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = r->wait ? r->wait(r->wait_ctx, r->fd) : default_wait(r->fd);
            if (rc < 0)
                return rc;
            continue;
        }
        r->last_errno = errno;
        return ST_E_IO;
    }
}

/* Makes at least `need` bytes (<= buffer size) available in the buffer.
 * Returns 0, ST_E_EOF if the stream ended with nothing buffered, or
 * ST_E_TRUNCATED if it ended with some but not enough. */
static int fill(struct st_wire_reader *r, size_t need)
{
    if (r->end - r->start >= need)
        return 0;
    if (r->start > 0) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    while (r->end < need) {
        long got = raw_read(r, r->buf + r->end, sizeof r->buf - r->end);
        if (got < 0)
            return (int)got;
        if (got == 0)
            return r->end == 0 ? ST_E_EOF : ST_E_TRUNCATED;
        r->end += (size_t)got;
    }
    return 0;
}

static inline void consume(struct st_wire_reader *r, void *dst, size_t n)
{
    if (dst)
        memcpy(dst, r->buf + r->start, n);
    r->start += n;
    r->bytes_in += n;
}

int st_wire_parse_text(const char *text, size_t len, struct st_wire_request *req)
{
    struct st_sig_shape shape;
    int rc = st_sig_parse(text, len, &shape);
    if (rc < 0)
        return rc;
    req->name_len = shape.name_len;
    memcpy(req->arg_kinds, shape.arg_kinds, sizeof req->arg_kinds);
    req->nargs = shape.nargs;
    req->res_kind = shape.res_kind;
    return 0;
}

int st_wire_read_request(struct st_wire_reader *r, struct st_wire_request *req)
{
    req->raw_len = 0;
    req->text_len = 0;
    req->text[0] = '\0';
    int rc = fill(r, 1);
    if (rc < 0)
        return rc;
    size_t n = r->buf[r->start];
    consume(r, req->raw, 1);
    req->raw_len = 1;
    if (n == 0)
        return ST_E_ZERO_LENGTH;
    rc = fill(r, n);
    if (rc < 0) {
        /* Keep what did arrive, for the report. */
        size_t have = r->end - r->start;
        consume(r, req->raw + 1, have);
        req->raw_len += have;
        return rc == ST_E_EOF ? ST_E_TRUNCATED : rc;
    }
    consume(r, req->text, n);
    memcpy(req->raw + 1, req->text, n);
    req->raw_len += n;
    req->text[n] = '\0';
    req->text_len = n;
    rc = st_wire_parse_text(req->text, n, req);
    if (rc < 0)
        return rc;
    size_t argbytes = 8u * req->nargs;
    if (argbytes) {
        rc = fill(r, argbytes);
        if (rc < 0) {
            size_t have = r->end - r->start;
            consume(r, req->raw + req->raw_len, have);
            req->raw_len += have;
            return rc == ST_E_EOF ? ST_E_TRUNCATED : rc;
        }
        memcpy(req->raw + req->raw_len, r->buf + r->start, argbytes);
        req->raw_len += argbytes;
        consume(r, req->args, argbytes);
    }
    return 0;
}

int st_wire_read_exact(struct st_wire_reader *r, void *dst, size_t n)
{
    unsigned char *d = dst;
    size_t have = r->end - r->start;
    size_t take = have < n ? have : n;
    consume(r, d, take);
    d += take;
    n -= take;
    /* Large remainders go straight into the caller's memory. */
    while (n > 0) {
        if (n < sizeof r->buf / 2) {
            int rc = fill(r, n);
            if (rc < 0)
                return rc == ST_E_EOF ? ST_E_TRUNCATED : rc;
            consume(r, d, n);
            return 0;
        }
        long got = raw_read(r, d, n);
        if (got < 0)
            return (int)got;
        if (got == 0)
            return ST_E_TRUNCATED;
        r->bytes_in += (uint64_t)got;
        d += got;
        n -= (size_t)got;
    }
    return 0;
}

int st_wire_read_u64(struct st_wire_reader *r, uint64_t *v)
{
    return st_wire_read_exact(r, v, sizeof *v);
}

int st_wire_read_str_reply(struct st_wire_reader *r, uint64_t maxlen, char *dst, size_t cap,
                           size_t *len)
{
    uint64_t n;
    int rc = st_wire_read_u64(r, &n);
    if (rc < 0)
        return rc;
    if (n > maxlen)
        return ST_E_BAD_REPLY;
    if (cap == 0 || n > cap - 1)
        return ST_E_TOO_BIG;
    rc = st_wire_read_exact(r, dst, (size_t)n);
    if (rc < 0)
        return rc;
    dst[n] = '\0';
    if (len)
        *len = (size_t)n;
    return 0;
}

/* ------------------------------------------------------------- encoder */

void st_wire_out_init(struct st_wire_out *o, int fd, st_wire_wait_fn *wait, void *wait_ctx)
{
    o->fd = fd;
    o->wait = wait;
    o->wait_ctx = wait_ctx;
    o->len = 0;
    o->bytes_out = 0;
    o->last_errno = 0;
}

static int write_all(struct st_wire_out *o, const struct iovec *iov_in, int cnt)
{
    struct iovec iov[2];
    memcpy(iov, iov_in, sizeof iov[0] * (size_t)cnt);
    int i = 0;
    while (i < cnt) {
        /* One buffer (a result, most often): write(), which the kernel
         * takes without importing an iovec array. */
        ssize_t w = cnt - i == 1 ? st_sys_write(o->fd, iov[i].iov_base, iov[i].iov_len)
                                 : writev(o->fd, iov + i, cnt - i);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (o->wait) {
                    int rc = o->wait(o->wait_ctx, o->fd);
                    if (rc < 0)
                        return rc;
                } else {
                    struct pollfd p = { o->fd, POLLOUT, 0 };
                    poll(&p, 1, -1);
                }
                continue;
            }
            o->last_errno = errno;
            return ST_E_IO;
        }
        o->bytes_out += (uint64_t)w;
        size_t left = (size_t)w;
        while (i < cnt && left >= iov[i].iov_len) {
            left -= iov[i].iov_len;
            i++;
        }
        if (i < cnt) {
            iov[i].iov_base = (char *)iov[i].iov_base + left;
            iov[i].iov_len -= left;
        }
    }
    return 0;
}

int st_wire_out_flush(struct st_wire_out *o)
{
    if (o->len == 0)
        return 0;
    struct iovec iov = { o->buf, o->len };
    o->len = 0;
    return write_all(o, &iov, 1);
}

/* Reserves `n` bytes in the buffer, flushing first when they do not fit. */
static unsigned char *reserve(struct st_wire_out *o, size_t n, int *rc)
{
    *rc = 0;
    if (sizeof o->buf - o->len < n) {
        *rc = st_wire_out_flush(o);
        if (*rc < 0)
            return NULL;
    }
    unsigned char *p = o->buf + o->len;
    o->len += n;
    return p;
}

static int put_op(struct st_wire_out *o, char op, const uint64_t *words, unsigned nwords)
{
    int rc;
    unsigned char *p = reserve(o, 1 + 8u * nwords, &rc);
    if (!p)
        return rc;
    p[0] = (unsigned char)op;
    if (nwords)
        memcpy(p + 1, words, 8u * nwords);
    return 0;
}

/* An opcode with a header and a payload of `n` bytes (W, M). */
static int put_payload(struct st_wire_out *o, char op, const uint64_t *words, unsigned nwords,
                       const void *data, size_t n)
{
    size_t head = 1 + 8u * nwords;
    if (n <= sizeof o->buf - head) {
        int rc;
        unsigned char *p = reserve(o, head + n, &rc);
        if (!p)
            return rc;
        p[0] = (unsigned char)op;
        memcpy(p + 1, words, 8u * nwords);
        if (n)
            memcpy(p + head, data, n);
        return 0;
    }
    int rc = put_op(o, op, words, nwords);
    if (rc < 0)
        return rc;
    struct iovec iov[2] = { { o->buf, o->len }, { (void *)data, n } };
    o->len = 0;
    return write_all(o, iov, 2);
}

int st_wire_out_mem_read(struct st_wire_out *o, uint64_t ptr, uint64_t size)
{
    uint64_t w[2] = { ptr, size };
    return put_op(o, 'R', w, 2);
}

int st_wire_out_str_read(struct st_wire_out *o, uint64_t ptr, uint64_t maxlen)
{
    uint64_t w[2] = { ptr, maxlen };
    return put_op(o, 'Z', w, 2);
}

int st_wire_out_mem_write(struct st_wire_out *o, uint64_t ptr, const void *data, size_t n)
{
    uint64_t w[2] = { ptr, n };
    return put_payload(o, 'W', w, 2, data, n);
}

int st_wire_out_alloc(struct st_wire_out *o, const void *data, size_t n)
{
    uint64_t w[1] = { n };
    return put_payload(o, 'M', w, 1, data, n);
}

int st_wire_out_free(struct st_wire_out *o, uint64_t ptr)
{
    return put_op(o, 'F', &ptr, 1);
}

int st_wire_out_errno(struct st_wire_out *o, int32_t err)
{
    int rc;
    unsigned char *p = reserve(o, 5, &rc);
    if (!p)
        return rc;
    p[0] = 'E';
    memcpy(p + 1, &err, 4);
    return 0;
}

int st_wire_out_result(struct st_wire_out *o, char kind, uint64_t value)
{
    switch (kind) {
    case 'v':
        return put_op(o, 'v', NULL, 0);
    case 'i':
    case 'f':
    case 'p':
        return put_op(o, kind, &value, 1);
    default:
        return ST_E_BAD_KIND;
    }
}

int st_wire_encode_request(void *dst, size_t cap, const char *text, const uint64_t *args,
                           unsigned nargs)
{
    struct st_wire_request req;
    size_t len = strlen(text);
    int rc = st_wire_parse_text(text, len, &req);
    if (rc < 0)
        return rc;
    if (nargs != req.nargs)
        return ST_E_INVALID;
    size_t total = 1 + len + 8u * nargs;
    if (total > cap)
        return ST_E_TOO_BIG;
    unsigned char *p = dst;
    p[0] = (unsigned char)len;
    memcpy(p + 1, text, len);
    if (nargs)
        memcpy(p + 1 + len, args, 8u * nargs);
    return (int)total;
}

int st_wire_read_command(struct st_wire_reader *r, struct st_wire_command *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    int rc = fill(r, 1);
    if (rc < 0)
        return rc;
    char op = (char)r->buf[r->start];
    size_t payload;
    switch (op) {
    case 'R': case 'Z': case 'W': payload = 16; break;
    case 'M': case 'F': case 'i': case 'f': case 'p': payload = 8; break;
    case 'E': payload = 4; break;
    case 'v': payload = 0; break;
    default: return ST_E_BAD_OPCODE;
    }
    consume(r, NULL, 1);
    cmd->op = op;
    if (payload == 0)
        return 0;
    unsigned char b[16];
    rc = st_wire_read_exact(r, b, payload);
    if (rc < 0)
        return rc;
    switch (op) {
    case 'R': case 'Z': case 'W':
        memcpy(&cmd->ptr, b, 8);
        memcpy(&cmd->size, b + 8, 8);
        break;
    case 'M': memcpy(&cmd->size, b, 8); break;
    case 'F': memcpy(&cmd->ptr, b, 8); break;
    case 'E': memcpy(&cmd->err, b, 4); break;
    default: memcpy(&cmd->value, b, 8); break;
    }
    return 0;
}
