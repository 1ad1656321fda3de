/* Reads a whole trace into a list of events with copied data, and prints
 * an event as one line without its time (header-only, for tests/tracer). */
#ifndef SANDTRACE_TESTS_TRACER_TRACE_EVENTS_H
#define SANDTRACE_TESTS_TRACER_TRACE_EVENTS_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/trace.h"

struct tev {
    enum trace_event_kind kind;
    char sig[TRACE_MAX_SIG_LEN + 1];
    size_t nargs;
    uint64_t args[TRACE_MAX_ARGS];
    uint64_t ptr, size, value;
    int32_t err, code, signal;
    char rkind;
    char *text;      /* reason, limit name, violation or note text */
    uint8_t *data;   /* mem data, stderr bytes, violation bytes */
    size_t len;
};

struct tevs {
    struct tev *ev;
    size_t n;
    int end;          /* what trace_reader_next returned last (0: clean end) */
    char argv0[256];
    size_t argc, policy_count;
    int exe_hash_set;
    char exe[4096];
};

static inline char *tev__dup(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        abort();
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* Reads `path`; returns 0, or the open error (negative) with *t empty. */
static inline int tevs_read(const char *path, struct tevs *t)
{
    memset(t, 0, sizeof *t);
    struct trace_io *io = NULL;
    int rc = trace_io_open_file(path, TRACE_IO_READ, &io);
    if (rc < 0)
        return rc;
    struct trace_reader *r = NULL;
    rc = trace_reader_open(&r, io, 1, NULL, NULL, 0);
    if (rc < 0)
        return rc;
    const struct trace_header *h = trace_reader_header(r);
    t->argc = h->guest_argc;
    if (h->guest_argc)
        snprintf(t->argv0, sizeof t->argv0, "%s", h->guest_argv[0]);
    t->policy_count = h->policy_count;
    t->exe_hash_set = h->guest_exe_hash_set;
    snprintf(t->exe, sizeof t->exe, "%s", h->guest_exe_path ? h->guest_exe_path : "");
    size_t cap = 0;
    struct trace_event ev;
    while ((rc = trace_reader_next(r, &ev)) == 1) {
        if (t->n == cap) {
            cap = cap ? cap * 2 : 64;
            t->ev = realloc(t->ev, cap * sizeof *t->ev);
            if (!t->ev)
                abort();
        }
        struct tev *e = &t->ev[t->n++];
        memset(e, 0, sizeof *e);
        e->kind = ev.kind;
        switch (ev.kind) {
        case TRACE_EV_REQUEST:
            snprintf(e->sig, sizeof e->sig, "%s", ev.request.sig);
            e->nargs = ev.request.nargs;
            memcpy(e->args, ev.request.args, sizeof e->args);
            break;
        case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
        case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE:
            e->ptr = ev.mem.ptr;
            e->size = ev.mem.size;
            e->data = (uint8_t *)tev__dup(ev.mem.data, ev.mem.len);
            e->len = ev.mem.len;
            break;
        case TRACE_EV_SET_ERRNO:
            e->err = ev.set_errno.value;
            break;
        case TRACE_EV_RESULT:
            e->rkind = ev.result.kind;
            e->value = ev.result.value;
            break;
        case TRACE_EV_GUEST_STDERR:
            e->data = (uint8_t *)tev__dup(ev.guest_stderr.data, ev.guest_stderr.len);
            e->len = ev.guest_stderr.len;
            break;
        case TRACE_EV_GUEST_EXIT:
            e->code = ev.guest_exit.code;
            e->signal = ev.guest_exit.signal;
            e->text = tev__dup(ev.guest_exit.reason ? ev.guest_exit.reason : "",
                               ev.guest_exit.reason ? strlen(ev.guest_exit.reason) : 0);
            break;
        case TRACE_EV_LIMIT:
            e->text = tev__dup(ev.limit.name, strlen(ev.limit.name));
            e->value = ev.limit.value;
            break;
        case TRACE_EV_VIOLATION:
            e->text = tev__dup(ev.violation.text, strlen(ev.violation.text));
            e->data = (uint8_t *)tev__dup(ev.violation.data, ev.violation.len);
            e->len = ev.violation.len;
            break;
        case TRACE_EV_NOTE:
            e->text = tev__dup(ev.note.text, strlen(ev.note.text));
            break;
        }
    }
    t->end = rc;
    trace_reader_free(r);
    return 0;
}

static inline void tevs_release(struct tevs *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->ev[i].text);
        free(t->ev[i].data);
    }
    free(t->ev);
    memset(t, 0, sizeof *t);
}

/* One line per event, without time; `with_exit_reason` 0 leaves the exit's
 * reason out (a tapped exit and a controller's exit word it differently). */
static inline void tev_line(const struct tev *e, char *out, size_t cap, int with_exit_reason)
{
    int n = snprintf(out, cap, "%s", trace_event_kind_name(e->kind));
    switch (e->kind) {
    case TRACE_EV_REQUEST:
        n += snprintf(out + n, cap - (size_t)n, " %s", e->sig);
        for (size_t i = 0; i < e->nargs && (size_t)n < cap; i++)
            n += snprintf(out + n, cap - (size_t)n, " %" PRIx64, e->args[i]);
        break;
    case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
    case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE:
        n += snprintf(out + n, cap - (size_t)n, " %" PRIx64 " %" PRIx64 " [%zu]", e->ptr, e->size,
                      e->len);
        for (size_t i = 0; i < e->len && (size_t)n + 3 < cap; i++)
            n += snprintf(out + n, cap - (size_t)n, "%02x", e->data[i]);
        break;
    case TRACE_EV_SET_ERRNO:
        n += snprintf(out + n, cap - (size_t)n, " %d", (int)e->err);
        break;
    case TRACE_EV_RESULT:
        n += snprintf(out + n, cap - (size_t)n, " %c %" PRIx64, e->rkind, e->value);
        break;
    case TRACE_EV_GUEST_EXIT:
        n += snprintf(out + n, cap - (size_t)n, " %d %d %s", (int)e->code, (int)e->signal,
                      with_exit_reason ? e->text : "");
        break;
    case TRACE_EV_GUEST_STDERR:
        n += snprintf(out + n, cap - (size_t)n, " [%zu]", e->len);
        break;
    default:
        n += snprintf(out + n, cap - (size_t)n, " %s [%zu]", e->text ? e->text : "", e->len);
        break;
    }
    (void)n;
}

/* The index of the first event of `kind` from `from`, or -1. */
static inline long tevs_find(const struct tevs *t, enum trace_event_kind kind, size_t from)
{
    for (size_t i = from; i < t->n; i++)
        if (t->ev[i].kind == kind)
            return (long)i;
    return -1;
}

/* The number of events of `kind`. */
static inline size_t tevs_count(const struct tevs *t, enum trace_event_kind kind)
{
    size_t c = 0;
    for (size_t i = 0; i < t->n; i++)
        c += t->ev[i].kind == kind;
    return c;
}

#endif
