/* tracer/tap_parser.c: the push parser of a tapped sandbox-2 session.
 *
 * Each stream has a byte queue. The state says which stream the controller
 * reads next and how many bytes it needs; step() advances while they are
 * there. Bytes a stream sends early simply wait in its queue, exactly as they
 * would wait in the pipe for a real controller (or guest) to read them, so
 * the events come out in the order the controller saw them. */
#include "tracer/tap.h"

#include <stdlib.h>
#include <string.h>

#include "common/st_buf.h"
#include "controller/error.h"
#include "controller/wire.h"
#include "tracer/tracer.h"

/* A queue holds at most one piece plus what a stream can send ahead of it. */
#define QUEUE_MAX ((size_t)ST_TAP_PIECE_MAX + 1024u * 1024u)
/* Bytes of the offending message kept with a violation. */
#define VIOLATION_BYTES 4096u

struct queue {
    uint8_t *buf;
    size_t start, end, cap;
};

enum state {
    S_REQUEST,   /* no request open: the controller reads a request */
    S_COMMAND,   /* a request is open: the guest reads a command */
    S_R_REPLY,   /* R sent: the controller reads `left` bytes */
    S_Z_LEN,     /* Z sent: the controller reads the length */
    S_Z_DATA,    /* ... then `left` bytes */
    S_W_DATA,    /* W: `left` payload bytes follow the command */
    S_M_DATA,    /* M: `left` payload bytes, then the guest's 8-byte pointer */
    S_FAILED,    /* parsing stopped */
};

struct st_tap_parser {
    struct st_observer obs;
    struct queue g, c;          /* guest -> controller, controller -> guest */
    enum state st;
    struct st_wire_request req; /* the open request (text, kinds) */
    uint64_t ptr, size, left;   /* of the current memory command */
    uint64_t raw_g, raw_c;      /* raw bytes reported after failing */
    int finished;
    struct st_tap_counts counts;
};

int st_tap_parser_new(struct st_tap_parser **out, const struct st_observer *obs)
{
    if (!out || !obs)
        return ST_TRACER_E_INVALID;
    struct st_tap_parser *p = calloc(1, sizeof *p);
    if (!p)
        return ST_TRACER_E_NOMEM;
    p->obs = *obs;
    p->st = S_REQUEST;
    *out = p;
    return 0;
}

void st_tap_parser_free(struct st_tap_parser *p)
{
    if (!p)
        return;
    free(p->g.buf);
    free(p->c.buf);
    free(p);
}

int st_tap_parser_failed(const struct st_tap_parser *p)
{
    return p->st == S_FAILED;
}

void st_tap_parser_counts(const struct st_tap_parser *p, struct st_tap_counts *c)
{
    *c = p->counts;
}

static size_t q_len(const struct queue *q)
{
    return q->end - q->start;
}

static const uint8_t *q_data(const struct queue *q)
{
    /* A queue that never held a byte has no buffer: no arithmetic on NULL. */
    return q->buf ? q->buf + q->start : (const uint8_t *)"";
}

static void q_consume(struct queue *q, size_t n)
{
    q->start += n;
    if (q->start == q->end)
        q->start = q->end = 0;
}

/* Appends; 0, or -1 when the queue would exceed QUEUE_MAX or memory is out. */
static int q_push(struct queue *q, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (q->cap - q->end < n && q->start > 0) {
        memmove(q->buf, q->buf + q->start, q->end - q->start);
        q->end -= q->start;
        q->start = 0;
    }
    if (q->cap - q->end < n) {
        if (n > QUEUE_MAX - q->end)
            return -1;
        uint8_t *nb = st_grow(q->buf, &q->cap, q->end + n, 1, 4096, QUEUE_MAX);
        if (!nb)
            return -1;
        q->buf = nb;
    }
    memcpy(q->buf + q->end, data, n);
    q->end += n;
    return 0;
}

static uint64_t get_u64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, sizeof v);
    return v;
}

static void report_raw(struct st_tap_parser *p, const char *what, const uint8_t *data, size_t len,
                       uint64_t *budget_used)
{
    if (!p->obs.on_violation || len == 0)
        return;
    if (*budget_used >= ST_TAP_RAW_MAX)
        return;
    if (len > ST_TAP_RAW_MAX - *budget_used)
        len = (size_t)(ST_TAP_RAW_MAX - *budget_used);
    *budget_used += len;
    p->obs.on_violation(p->obs.ctx, what, data, len);
}

/* Stops parsing: one violation naming the error, with the offending bytes
 * of stream `q`, then whatever else is queued, as raw bytes. */
static void fail(struct st_tap_parser *p, const char *what, const struct queue *q)
{
    if (p->obs.on_violation) {
        size_t n = q ? q_len(q) : 0;
        if (n > VIOLATION_BYTES)
            n = VIOLATION_BYTES;
        p->obs.on_violation(p->obs.ctx, what, q && n ? q_data(q) : NULL, n);
    }
    p->st = S_FAILED;
    /* What the queues hold past the offending bytes is reported raw. */
    size_t skip_g = q == &p->g ? (q_len(q) < VIOLATION_BYTES ? q_len(q) : VIOLATION_BYTES) : 0;
    size_t skip_c = q == &p->c ? (q_len(q) < VIOLATION_BYTES ? q_len(q) : VIOLATION_BYTES) : 0;
    report_raw(p, "unparsed guest->controller bytes", q_data(&p->g) + skip_g, q_len(&p->g) - skip_g,
               &p->raw_g);
    report_raw(p, "unparsed controller->guest bytes", q_data(&p->c) + skip_c, q_len(&p->c) - skip_c,
               &p->raw_c);
    free(p->g.buf);
    free(p->c.buf);
    memset(&p->g, 0, sizeof p->g);
    memset(&p->c, 0, sizeof p->c);
}

#define EMIT(p, cb, ...)                                   \
    do {                                                   \
        if ((p)->obs.cb)                                   \
            (p)->obs.cb((p)->obs.ctx, __VA_ARGS__);        \
    } while (0)

/* One request from the guest queue: 1 if parsed, 0 if more bytes are
 * needed, -1 after a failure. */
static int step_request(struct st_tap_parser *p)
{
    struct queue *g = &p->g;
    size_t have = q_len(g);
    if (have < 1)
        return 0;
    const uint8_t *b = q_data(g);
    size_t n = b[0];
    if (n == 0) {
        fail(p, st_error_name(ST_E_ZERO_LENGTH), g);
        return -1;
    }
    if (have < 1 + n)
        return 0;
    int rc = st_wire_parse_text((const char *)b + 1, n, &p->req);
    if (rc < 0) {
        fail(p, st_error_name(rc), g);
        return -1;
    }
    size_t total = 1 + n + 8u * p->req.nargs;
    if (have < total)
        return 0;
    memcpy(p->req.text, b + 1, n);
    p->req.text[n] = '\0';
    p->req.text_len = n;
    for (unsigned i = 0; i < p->req.nargs; i++)
        p->req.args[i] = get_u64(b + 1 + n + 8u * i);
    EMIT(p, on_request, p->req.text, n, p->req.args, p->req.nargs);
    q_consume(g, total);
    p->counts.requests++;
    p->st = S_COMMAND;
    return 1;
}

/* The payload size that follows each opcode's byte, or -1 if unknown. */
static int command_size(uint8_t op)
{
    switch (op) {
    case 'R': case 'Z': case 'W': return 16;
    case 'M': case 'F': case 'i': case 'f': case 'p': return 8;
    case 'E': return 4;
    case 'v': return 0;
    }
    return -1;
}

static int step_command(struct st_tap_parser *p)
{
    struct queue *c = &p->c;
    size_t have = q_len(c);
    if (have < 1)
        return 0;
    const uint8_t *b = q_data(c);
    int sz = command_size(b[0]);
    if (sz < 0) {
        fail(p, st_error_name(ST_E_BAD_OPCODE), c);
        return -1;
    }
    if (have < 1 + (size_t)sz)
        return 0;
    char op = (char)b[0];
    uint64_t a = sz >= 8 ? get_u64(b + 1) : 0;
    uint64_t s = sz >= 16 ? get_u64(b + 9) : 0;
    int32_t err = 0;
    if (op == 'E')
        memcpy(&err, b + 1, sizeof err);
    if (st_wire_is_result(op) && op != p->req.res_kind) {
        /* The guest aborts on this: the controller broke the protocol. */
        fail(p, st_error_name(ST_E_BAD_RESULT), c);
        return -1;
    }
    q_consume(c, 1 + (size_t)sz);
    switch (op) {
    case 'R':
        p->ptr = a, p->size = s, p->left = s;
        p->st = S_R_REPLY;
        break;
    case 'Z':
        p->ptr = a, p->size = s;
        p->st = S_Z_LEN;
        break;
    case 'W':
        p->ptr = a, p->size = s, p->left = s;
        p->st = S_W_DATA;
        break;
    case 'M':
        if (a > ST_TAP_PIECE_MAX) {
            fail(p, st_error_name(ST_E_TOO_BIG), NULL);
            return -1;
        }
        p->size = p->left = a;
        p->st = S_M_DATA;
        break;
    case 'F':
        EMIT(p, on_mem_free, a);
        break;
    case 'E':
        EMIT(p, on_errno, err);
        break;
    default: /* a result */
        EMIT(p, on_result, op, op == 'v' ? 0 : a);
        p->counts.results++;
        p->st = S_REQUEST;
        break;
    }
    return 1;
}

/* R and W: data arrives in pieces of at most ST_TAP_PIECE_MAX bytes; an
 * empty one is still reported once. */
static int step_piece(struct st_tap_parser *p, struct queue *q, int is_read)
{
    size_t piece = p->left < ST_TAP_PIECE_MAX ? (size_t)p->left : ST_TAP_PIECE_MAX;
    if (q_len(q) < piece)
        return 0;
    const void *data = piece ? q_data(q) : NULL;
    if (is_read)
        EMIT(p, on_mem_read, p->ptr, data, piece);
    else
        EMIT(p, on_mem_write, p->ptr, data, piece);
    q_consume(q, piece);
    p->ptr += piece;
    p->left -= piece;
    if (p->left == 0)
        p->st = S_COMMAND;
    return 1;
}

static int step(struct st_tap_parser *p)
{
    switch (p->st) {
    case S_REQUEST:
        return step_request(p);
    case S_COMMAND:
        return step_command(p);
    case S_R_REPLY:
        return step_piece(p, &p->g, 1);
    case S_W_DATA:
        return step_piece(p, &p->c, 0);
    case S_Z_LEN: {
        if (q_len(&p->g) < 8)
            return 0;
        uint64_t len = get_u64(q_data(&p->g));
        if (len > p->size) {
            fail(p, st_error_name(ST_E_BAD_REPLY), &p->g);
            return -1;
        }
        if (len > ST_TAP_PIECE_MAX) {
            fail(p, st_error_name(ST_E_TOO_BIG), &p->g);
            return -1;
        }
        q_consume(&p->g, 8);
        p->left = len;
        p->st = S_Z_DATA;
        return 1;
    }
    case S_Z_DATA: {
        size_t n = (size_t)p->left;
        if (q_len(&p->g) < n)
            return 0;
        EMIT(p, on_mem_read_str, p->ptr, p->size, n ? q_data(&p->g) : NULL, n);
        q_consume(&p->g, n);
        p->st = S_COMMAND;
        return 1;
    }
    case S_M_DATA: {
        size_t n = (size_t)p->left;
        if (q_len(&p->c) < n || q_len(&p->g) < 8)
            return 0;
        uint64_t ptr = get_u64(q_data(&p->g));
        EMIT(p, on_mem_alloc, n ? q_data(&p->c) : NULL, n, ptr);
        q_consume(&p->c, n);
        q_consume(&p->g, 8);
        p->st = S_COMMAND;
        return 1;
    }
    case S_FAILED:
        return 0;
    }
    return 0;
}

static void feed(struct st_tap_parser *p, struct queue *q, const void *data, size_t len,
                 const char *raw_what, uint64_t *raw_used)
{
    if (p->st == S_FAILED) {
        report_raw(p, raw_what, data, len, raw_used);
        return;
    }
    if (len && q_push(q, data, len) < 0) {
        fail(p, st_error_name(ST_E_TOO_BIG), q);
        report_raw(p, raw_what, data, len, raw_used);
        return;
    }
    while (step(p) > 0)
        ;
}

void st_tap_parser_feed_guest(struct st_tap_parser *p, const void *data, size_t len)
{
    p->counts.guest_bytes += len;
    feed(p, &p->g, data, len, "unparsed guest->controller bytes", &p->raw_g);
}

void st_tap_parser_feed_controller(struct st_tap_parser *p, const void *data, size_t len)
{
    p->counts.controller_bytes += len;
    feed(p, &p->c, data, len, "unparsed controller->guest bytes", &p->raw_c);
}

void st_tap_parser_finish(struct st_tap_parser *p)
{
    if (p->finished)
        return;
    p->finished = 1;
    if (p->st == S_FAILED)
        return;
    /* Inside a request (waiting for a command) with nothing queued is a
     * clean end: the guest was stopped there (e.g. an _exit request). */
    if (p->st == S_W_DATA || (p->st == S_M_DATA && q_len(&p->c) < p->left))
        fail(p, st_error_name(ST_E_TRUNCATED), &p->c); /* a payload cut short */
    else if (p->st != S_REQUEST && p->st != S_COMMAND)
        fail(p, st_error_name(ST_E_TRUNCATED), &p->g); /* a reply cut short */
    else if (q_len(&p->g) > 0)
        fail(p, st_error_name(ST_E_TRUNCATED), &p->g);
    else if (q_len(&p->c) > 0)
        fail(p, st_error_name(ST_E_TRUNCATED), &p->c);
}
