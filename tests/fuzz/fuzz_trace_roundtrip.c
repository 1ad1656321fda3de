/* libFuzzer target: any sequence of events (decoded from the input) written
 * with the trace writer reads back identically, with the right owning
 * requests, and the trace verifies; truncating it keeps a prefix.
 * fuzz-libs: format common */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct cursor {
    const uint8_t *p, *end;
};

static uint8_t byte(struct cursor *c)
{
    return c->p < c->end ? *c->p++ : 0;
}

static uint64_t u64(struct cursor *c)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | byte(c);
    return v;
}

/* A slice of the input of length given by the next byte. */
static const uint8_t *slice(struct cursor *c, size_t *len)
{
    size_t n = byte(c);
    if (n > (size_t)(c->end - c->p))
        n = (size_t)(c->end - c->p);
    const uint8_t *s = c->p;
    c->p += n;
    *len = n;
    return n ? s : NULL;
}

/* Text without NUL, copied into buf (cap >= 256). */
static const char *text(struct cursor *c, char *buf, int nonempty)
{
    size_t n;
    const uint8_t *s = slice(c, &n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i])
            buf[k++] = (char)s[i];
    if (nonempty && k == 0)
        buf[k++] = 'f';
    buf[k] = '\0';
    return buf;
}

/* Decodes one event; returns 0 at the end of the input. */
static int next_event(struct cursor *c, struct trace_event *ev, uint64_t *t, char *b1, char *b2)
{
    if (c->p >= c->end)
        return 0;
    memset(ev, 0, sizeof *ev);
    uint8_t k = byte(c);
    ev->kind = (enum trace_event_kind)(k % TRACE_EV_KIND_MAX + 1);
    *t += byte(c) * (k & 0x80 ? 1000000u : 1u);
    ev->time_ns = *t;
    switch (ev->kind) {
    case TRACE_EV_REQUEST:
        /* few distinct signatures, so that ids repeat across chunks */
        ev->request.sig = (k & 0x40) ? text(c, b1, 1) : (k & 0x20) ? "getpid()i" : "write(ipi)i";
        ev->request.nargs = byte(c) % (TRACE_MAX_ARGS + 1);
        for (size_t i = 0; i < ev->request.nargs; i++)
            ev->request.args[i] = u64(c);
        break;
    case TRACE_EV_MEM_READ:
    case TRACE_EV_MEM_READ_STR:
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
    case TRACE_EV_MEM_FREE:
        ev->mem.ptr = u64(c);
        if (ev->kind == TRACE_EV_MEM_READ_STR)
            ev->mem.size = u64(c);
        if (ev->kind != TRACE_EV_MEM_FREE)
            ev->mem.data = slice(c, &ev->mem.len);
        break;
    case TRACE_EV_SET_ERRNO:
        ev->set_errno.value = (int32_t)u64(c);
        break;
    case TRACE_EV_RESULT:
        ev->result.kind = "vifp"[byte(c) % 4];
        ev->result.value = ev->result.kind == 'v' ? 0 : u64(c);
        break;
    case TRACE_EV_GUEST_STDERR:
        ev->guest_stderr.data = slice(c, &ev->guest_stderr.len);
        break;
    case TRACE_EV_GUEST_EXIT:
        ev->guest_exit.code = (int32_t)byte(c);
        ev->guest_exit.signal = byte(c) % 65;
        ev->guest_exit.reason = text(c, b1, 0);
        break;
    case TRACE_EV_LIMIT:
        ev->limit.name = text(c, b1, 0);
        ev->limit.value = u64(c);
        ev->limit.detail = text(c, b2, 0);
        break;
    case TRACE_EV_VIOLATION:
        ev->violation.text = text(c, b1, 0);
        ev->violation.data = slice(c, &ev->violation.len);
        break;
    case TRACE_EV_NOTE:
        ev->note.text = text(c, b1, 0);
        break;
    }
    return 1;
}

static int same_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void check(int ok)
{
    if (!ok)
        abort();
}

static void compare(const struct trace_event *w, const struct trace_event *r)
{
    check(w->kind == r->kind && w->time_ns == r->time_ns);
    switch (w->kind) {
    case TRACE_EV_REQUEST:
        check(!strcmp(w->request.sig, r->request.sig) && w->request.nargs == r->request.nargs);
        check(!memcmp(w->request.args, r->request.args, w->request.nargs * 8));
        break;
    case TRACE_EV_MEM_READ:
    case TRACE_EV_MEM_READ_STR:
    case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC:
    case TRACE_EV_MEM_FREE:
        check(w->mem.ptr == r->mem.ptr && w->mem.size == r->mem.size);
        check(same_bytes(w->mem.data, w->mem.len, r->mem.data, r->mem.len));
        break;
    case TRACE_EV_SET_ERRNO:
        check(w->set_errno.value == r->set_errno.value);
        break;
    case TRACE_EV_RESULT:
        check(w->result.kind == r->result.kind && w->result.value == r->result.value);
        break;
    case TRACE_EV_GUEST_STDERR:
        check(same_bytes(w->guest_stderr.data, w->guest_stderr.len, r->guest_stderr.data,
                         r->guest_stderr.len));
        break;
    case TRACE_EV_GUEST_EXIT:
        check(w->guest_exit.code == r->guest_exit.code &&
              w->guest_exit.signal == r->guest_exit.signal &&
              !strcmp(w->guest_exit.reason, r->guest_exit.reason));
        break;
    case TRACE_EV_LIMIT:
        check(!strcmp(w->limit.name, r->limit.name) && w->limit.value == r->limit.value &&
              !strcmp(w->limit.detail, r->limit.detail));
        break;
    case TRACE_EV_VIOLATION:
        check(!strcmp(w->violation.text, r->violation.text) &&
              same_bytes(w->violation.data, w->violation.len, r->violation.data,
                         r->violation.len));
        break;
    case TRACE_EV_NOTE:
        check(!strcmp(w->note.text, r->note.text));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    struct trace_writer_options o;
    trace_writer_options_init(&o);
    o.chunk_bytes = 16 + (size_t)data[0] * 8;
    o.chunk_ns = UINT64_MAX;
    static const uint8_t key[TRACE_KEY_BYTES] = { 7 };
    o.key = data[1] & 1 ? key : NULL;
    struct trace_io *io = trace_io_mem_writer(0);
    struct trace_writer *w;
    check(trace_writer_new(&w, io, 0, NULL, &o) == 0);
    struct cursor c = { data + 2, data + size };
    struct trace_event ev;
    char b1[256], b2[256];
    uint64_t t = 0, n = 0;
    while (next_event(&c, &ev, &t, b1, b2)) {
        check(trace_writer_add_event(w, &ev) == 0);
        n++;
    }
    check(trace_writer_close(w) == 0);
    trace_writer_free(w);
    size_t len;
    const uint8_t *trace = trace_io_mem_data(io, &len);

    struct trace_verify_result vr;
    check(trace_verify(io, o.key, &vr) == 0 && vr.events == n);

    struct trace_reader *r;
    struct trace_reader_options ro = { 0, o.key };
    check(trace_reader_open(&r, trace_io_mem_reader(trace, len), 1, &ro, NULL, 0) == 0);
    c = (struct cursor){ data + 2, data + size };
    t = 0;
    uint64_t seq = 0, open = TRACE_SEQ_NONE;
    struct trace_event got;
    while (next_event(&c, &ev, &t, b1, b2)) {
        check(trace_reader_next(r, &got) == 1);
        check(got.seq == seq);
        compare(&ev, &got);
        uint64_t want_req = TRACE_SEQ_NONE;
        if (ev.kind == TRACE_EV_REQUEST) {
            open = seq;
        } else if (ev.kind >= TRACE_EV_MEM_READ && ev.kind <= TRACE_EV_RESULT) {
            want_req = open;
            if (ev.kind == TRACE_EV_RESULT)
                open = TRACE_SEQ_NONE;
        }
        check(got.req_seq == want_req);
        seq++;
    }
    check(trace_reader_next(r, &got) == 0);
    /* Every event is reachable by seek, and names its signature. */
    if (n) {
        check(trace_reader_seek(r, n - 1) == 0 && trace_reader_next(r, &got) == 1 &&
              got.seq == n - 1);
        check(trace_reader_seek(r, n / 2) == 0 && trace_reader_next(r, &got) == 1 &&
              got.seq == n / 2);
        if (got.kind == TRACE_EV_REQUEST)
            check(got.request.sig && got.request.sig[0]);
    }
    trace_reader_free(r);

    /* A truncated copy yields a prefix of the events and then an error. */
    size_t cut = len - 1 - (data[1] * (size_t)131) % (len - 1);
    if (trace_reader_open(&r, trace_io_mem_reader(trace, cut), 1, &ro, NULL, 0) == 0) {
        uint64_t k = 0;
        int rc;
        while ((rc = trace_reader_next(r, &got)) == 1)
            check(got.seq == k++);
        check(rc == TRACE_E_TRUNCATED && k <= n);
        trace_reader_free(r);
    }
    trace_io_free(io);
    return 0;
}
