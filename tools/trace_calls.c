/* Events to calls: see trace_calls.h. */
#include "common/st_buf.h"
#include "tools/trace_calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct tc_collector {
    struct tc_item open;      /* the call being assembled (open.kind == 0: none) */
    uint64_t kept_bytes;      /* data bytes kept in `open` */
    struct tc_item *deferred; /* items that arrived while `open` was open */
    size_t ndeferred, cap_deferred;
    struct tc_item *ready;    /* ring of items ready to pop */
    size_t head, count, cap_ready;
    int failed;
};

void tc_item_release(struct tc_item *it)
{
    if (!it)
        return;
    if (it->kind == TC_ITEM_CALL) {
        for (size_t i = 0; i < it->call.nmem; i++)
            free((void *)it->call.mem[i].data);
        free(it->call.mem);
    } else if (it->kind == TC_ITEM_EVENT) {
        free(it->bytes);
    }
    memset(it, 0, sizeof *it);
}

int tc_parse_sig(const char *sig, char *name, size_t name_cap, char *kinds, size_t kinds_cap,
                 char *res_kind)
{
    struct st_sig_shape shape;
    name[0] = '\0';
    kinds[0] = '\0';
    *res_kind = '?';
    if (st_sig_parse(sig, strlen(sig), &shape) < 0 || shape.name_len >= name_cap ||
        shape.nargs >= kinds_cap) {
        /* Show a malformed text whole as the name. */
        snprintf(name, name_cap, "%s", sig);
        return -1;
    }
    memcpy(name, sig, shape.name_len);
    name[shape.name_len] = '\0';
    memcpy(kinds, shape.arg_kinds, shape.nargs + 1);
    *res_kind = shape.res_kind;
    return 0;
}

const struct tc_mem *tc_call_find(const struct tc_call *c, enum trace_event_kind kind, uint64_t ptr,
                                  unsigned nth)
{
    for (size_t i = 0; i < c->nmem; i++)
        if (c->mem[i].kind == kind && c->mem[i].ptr == ptr && nth-- == 0)
            return &c->mem[i];
    return NULL;
}

int tc_call_failed(const struct tc_call *c)
{
    return c->finished && st_sig_failed(c->reg, c->result_kind, c->result, c->has_errno);
}

static int push_ready(struct tc_collector *c, struct tc_item *it)
{
    if (c->count == c->cap_ready) {
        size_t ncap = c->cap_ready ? c->cap_ready * 2 : 16;
        struct tc_item *n = malloc(ncap * sizeof *n);
        if (!n) {
            tc_item_release(it);
            c->failed = 1;
            return -1;
        }
        for (size_t i = 0; i < c->count; i++)
            n[i] = c->ready[(c->head + i) % c->cap_ready];
        free(c->ready);
        c->ready = n;
        c->head = 0;
        c->cap_ready = ncap;
    }
    c->ready[(c->head + c->count) % c->cap_ready] = *it;
    c->count++;
    memset(it, 0, sizeof *it);
    return 0;
}

/* Hands out the open call (finished or not), then what was deferred. */
static void close_open(struct tc_collector *c)
{
    if (c->open.kind)
        push_ready(c, &c->open);
    memset(&c->open, 0, sizeof c->open);
    c->kept_bytes = 0;
    for (size_t i = 0; i < c->ndeferred; i++)
        push_ready(c, &c->deferred[i]);
    c->ndeferred = 0;
}

static char *dup_bytes(const void *p, size_t n, int nul)
{
    char *d = malloc(n + (nul ? 1 : 0) + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* A deep copy of a non-call event. */
static int copy_event(struct tc_item *it, const struct trace_event *ev)
{
    memset(it, 0, sizeof *it);
    it->kind = TC_ITEM_EVENT;
    size_t need = trace_event_pack(&it->ev, ev, NULL, 0, SIZE_MAX, SIZE_MAX);
    if (!(it->bytes = malloc(need ? need : 1)))
        return -1;
    trace_event_pack(&it->ev, ev, it->bytes, need, SIZE_MAX, SIZE_MAX);
    return 0;
}

static int start_call(struct tc_collector *c, const struct trace_event *ev)
{
    struct tc_item *it = &c->open;
    memset(it, 0, sizeof *it);
    it->kind = TC_ITEM_CALL;
    struct tc_call *call = &it->call;
    call->seq = ev->seq;
    call->time_ns = call->end_time_ns = ev->time_ns;
    call->end_seq = ev->seq;
    snprintf(call->sig, sizeof call->sig, "%s", ev->request.sig ? ev->request.sig : "");
    tc_parse_sig(call->sig, call->name, sizeof call->name, call->arg_kinds, sizeof call->arg_kinds,
                 &call->res_kind);
    call->nargs = ev->request.nargs <= TRACE_MAX_ARGS ? ev->request.nargs : TRACE_MAX_ARGS;
    memcpy(call->args, ev->request.args, call->nargs * sizeof call->args[0]);
    call->reg = st_registry_lookup(call->sig, strlen(call->sig));
    if (call->reg && call->reg->nargs != call->nargs)
        call->reg = NULL; /* a lying trace: decode by wire kinds only */
    c->kept_bytes = 0;
    return 0;
}

static int add_to_call(struct tc_collector *c, const struct trace_event *ev)
{
    struct tc_call *call = &c->open.call;
    call->end_seq = ev->seq;
    call->end_time_ns = ev->time_ns;
    if (ev->kind == TRACE_EV_RESULT) {
        call->finished = 1;
        call->result_kind = ev->result.kind;
        call->result = ev->result.value;
        return 0;
    }
    if (ev->kind == TRACE_EV_SET_ERRNO) {
        call->has_errno = 1;
        call->err = ev->set_errno.value;
    }
    if (call->nmem >= TC_CALL_MEM_MAX) {
        call->mem_dropped++;
        return 0;
    }
    if (call->nmem % 16 == 0) {
        struct tc_mem *n = realloc(call->mem, (call->nmem + 16) * sizeof *n);
        if (!n)
            return -1;
        call->mem = n;
    }
    struct tc_mem *m = &call->mem[call->nmem];
    memset(m, 0, sizeof *m);
    m->kind = ev->kind;
    m->seq = ev->seq;
    m->time_ns = ev->time_ns;
    if (ev->kind == TRACE_EV_SET_ERRNO) {
        m->err = ev->set_errno.value;
    } else {
        m->ptr = ev->mem.ptr;
        m->size = ev->mem.size;
        if (ev->kind != TRACE_EV_MEM_FREE) {
            m->len = ev->mem.len;
            m->hash = XXH3_64bits(ev->mem.data, ev->mem.len);
            size_t keep = m->len;
            if (keep > TC_CALL_DATA_MAX - c->kept_bytes)
                keep = (size_t)(TC_CALL_DATA_MAX - c->kept_bytes);
            m->data = (const uint8_t *)dup_bytes(ev->mem.data, keep, 0);
            if (!m->data)
                return -1;
            m->kept = keep;
            c->kept_bytes += keep;
            if (ev->kind == TRACE_EV_MEM_READ || ev->kind == TRACE_EV_MEM_READ_STR)
                call->bytes_from_guest += m->len;
            else
                call->bytes_to_guest += m->len;
        }
    }
    call->nmem++;
    return 0;
}

struct tc_collector *tc_collector_new(void)
{
    return calloc(1, sizeof(struct tc_collector));
}

void tc_collector_free(struct tc_collector *c)
{
    if (!c)
        return;
    tc_item_release(&c->open);
    for (size_t i = 0; i < c->ndeferred; i++)
        tc_item_release(&c->deferred[i]);
    for (size_t i = 0; i < c->count; i++)
        tc_item_release(&c->ready[(c->head + i) % c->cap_ready]);
    free(c->deferred);
    free(c->ready);
    free(c);
}

static int is_call_part(enum trace_event_kind k)
{
    return k == TRACE_EV_MEM_READ || k == TRACE_EV_MEM_READ_STR || k == TRACE_EV_MEM_WRITE ||
           k == TRACE_EV_MEM_ALLOC || k == TRACE_EV_MEM_FREE || k == TRACE_EV_SET_ERRNO ||
           k == TRACE_EV_RESULT;
}

int tc_collector_add(struct tc_collector *c, const struct trace_event *ev)
{
    if (c->failed)
        return -1;
    if (ev->kind == TRACE_EV_REQUEST) {
        close_open(c); /* a request while one is open: the open one never got its result */
        if (start_call(c, ev) < 0)
            return -1;
        return c->failed ? -1 : 0;
    }
    if (is_call_part(ev->kind) && c->open.kind && ev->req_seq == c->open.call.seq &&
        !c->open.call.finished) {
        if (add_to_call(c, ev) < 0) {
            c->failed = 1;
            return -1;
        }
        if (c->open.call.finished)
            close_open(c);
        return c->failed ? -1 : 0;
    }
    struct tc_item it;
    if (copy_event(&it, ev) < 0) {
        c->failed = 1;
        return -1;
    }
    if (c->open.kind && ev->kind == TRACE_EV_GUEST_EXIT)
        close_open(c); /* the guest died inside the call: it stays unfinished */
    if (c->open.kind && c->ndeferred < TC_DEFER_MAX) {
        struct tc_item *n = st_grow(c->deferred, &c->cap_deferred, c->ndeferred + 1, sizeof *n, 8,
                                    TC_DEFER_MAX);
        if (!n) {
            tc_item_release(&it);
            c->failed = 1;
            return -1;
        }
        c->deferred = n;
        it.deferred = 1;
        c->deferred[c->ndeferred++] = it;
        return 0;
    }
    push_ready(c, &it);
    return c->failed ? -1 : 0;
}

void tc_collector_finish(struct tc_collector *c)
{
    close_open(c);
}

int tc_collector_pop(struct tc_collector *c, struct tc_item *out)
{
    if (!c->count)
        return 0;
    *out = c->ready[c->head];
    c->head = (c->head + 1) % c->cap_ready;
    c->count--;
    return 1;
}

int tc_source_init(struct tc_source *s, struct trace_reader *r, uint64_t first_seq, uint64_t last_seq)
{
    memset(s, 0, sizeof *s);
    s->r = r;
    s->first_seq = first_seq;
    s->last_seq = last_seq;
    s->col = tc_collector_new();
    if (!s->col)
        return TRACE_E_NOMEM;
    if (first_seq > 0) {
        int rc = trace_reader_seek(r, first_seq);
        if (rc == TRACE_E_RANGE) {
            s->done = 1; /* nothing in range */
        } else if (rc < 0) {
            /* Cannot seek (a pipe): read from the start and skip. */
            if (rc != TRACE_E_UNSUPPORTED)
                return rc;
        }
    }
    return 0;
}

int tc_source_next(struct tc_source *s, struct tc_item *out)
{
    for (;;) {
        if (tc_collector_pop(s->col, out))
            return 1;
        if (s->done)
            return s->err;
        struct trace_event ev;
        int rc = trace_reader_next(s->r, &ev);
        if (rc <= 0) {
            s->done = 1;
            s->err = rc;
            tc_collector_finish(s->col);
            continue;
        }
        if (ev.seq < s->first_seq)
            continue;
        if (ev.seq > s->last_seq) {
            /* Past the range: only finish the call still open. */
            int part = is_call_part(ev.kind) && ev.req_seq != TRACE_SEQ_NONE &&
                       ev.req_seq >= s->first_seq && ev.req_seq <= s->last_seq;
            int open = s->col->open.kind && !s->col->open.call.finished;
            if (!part && open && ev.kind != TRACE_EV_REQUEST && ev.kind != TRACE_EV_GUEST_EXIT)
                continue; /* an event outside the range while the call finishes */
            if (!part) {
                s->done = 1;
                tc_collector_finish(s->col);
                continue;
            }
        }
        if (is_call_part(ev.kind) && ev.req_seq != TRACE_SEQ_NONE && ev.req_seq < s->first_seq &&
            !s->keep_orphans)
            continue; /* belongs to a request before the range */
        if (tc_collector_add(s->col, &ev) < 0) {
            s->done = 1;
            s->err = TRACE_E_NOMEM;
            tc_collector_finish(s->col);
        }
    }
}

void tc_source_release(struct tc_source *s)
{
    tc_collector_free(s->col);
    s->col = NULL;
}
