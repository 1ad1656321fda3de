/* The controller's observer: a struct of callbacks that anyone can subscribe
 * (the tracer, the tap proxy, a debug logger). The controller does not know
 * who listens. Every callback may be NULL. Data pointers are valid only during
 * the call: a subscriber copies what it keeps. Callbacks are made in wire
 * order: a request, then its memory commands, then its result. */
#ifndef SANDTRACE_CONTROLLER_OBSERVER_H
#define SANDTRACE_CONTROLLER_OBSERVER_H

#include <stddef.h>
#include <stdint.h>

struct st_outcome;

/* The limits a session enforces: each is a reason for the controller to end
 * the guest wherever it is, reported to observers where it happens. */
enum st_limit {
    ST_LIMIT_TIMEOUT, /* wall clock */
    ST_LIMIT_CPU,     /* RLIMIT_CPU */
    ST_LIMIT_MEMORY,  /* RLIMIT_AS */
    ST_LIMIT_OUTPUT,  /* bytes written to stdout and stderr */
    ST_LIMIT_CALLS,   /* requests */
    ST_LIMIT_TRACE,   /* an observer's bound: the trace's size (record --max-trace) */
    ST_LIMIT_INTERRUPT, /* the caller's interrupt flag (a SIGINT, SIGTERM, SIGHUP) */
    ST_LIMIT_COUNT
};

/* The limit's name, as a trace's LIMIT event records it and as the run's
 * status it causes is named (st_status_name): "timeout", "cpu", "memory",
 * "output", "max-calls", "trace-limit", "interrupted" ("?" out of range). */
const char *st_limit_name(enum st_limit limit);

/* The limit `name` names (st_limit_name's inverse; also the names traces
 * recorded before they were the status names: "calls", "trace"), or -1. */
int st_limit_by_name(const char *name);

/* What a subscriber may do to the run it observes: end it, for a bound of
 * its own (the tracer's --max-trace). Handed to on_start; valid until
 * on_exit. */
struct st_run_control {
    void *session;
    /* Reports the limit `which` (with `detail`) to every observer, then ends
     * the guest at the end of the current request with `status` (an enum
     * st_status) and `reason` as its outcome. The first end of a run wins:
     * after another, it does nothing. Call it from the controller's thread
     * (from an observer callback). */
    void (*stop)(void *session, int status, enum st_limit which, const char *detail,
                 const char *reason);
};

struct st_observer {
    void *ctx;
    /* The guest was started (before its first request): how to end the run. */
    void (*on_start)(void *ctx, const struct st_run_control *control);
    /* A request as it arrived: its signature text (`text_len` bytes, not
     * NUL-terminated; it may be unknown to the registry) and raw arguments. */
    void (*on_request)(void *ctx, const char *text, size_t text_len, const uint64_t *args,
                       unsigned nargs);
    void (*on_mem_read)(void *ctx, uint64_t ptr, const void *data, size_t len);      /* R */
    void (*on_mem_read_str)(void *ctx, uint64_t ptr, uint64_t maxlen, const void *data,
                            size_t len);                                             /* Z */
    void (*on_mem_write)(void *ctx, uint64_t ptr, const void *data, size_t len);     /* W */
    void (*on_mem_alloc)(void *ctx, const void *data, size_t len, uint64_t ptr);     /* M */
    void (*on_mem_free)(void *ctx, uint64_t ptr);                                    /* F */
    void (*on_errno)(void *ctx, int32_t err);                                        /* E */
    void (*on_result)(void *ctx, char kind, uint64_t value);      /* ends the request */
    /* Bytes the guest wrote to its real stderr (fd 2), as they came. */
    void (*on_guest_stderr)(void *ctx, const void *data, size_t len);
    /* A limit was hit. */
    void (*on_limit)(void *ctx, enum st_limit which, const char *detail);
    /* The guest broke the protocol; `raw` holds the offending bytes if any. */
    void (*on_violation)(void *ctx, const char *what, const void *raw, size_t len);
    /* A controller decision worth keeping (a refused call, a policy note). */
    void (*on_note)(void *ctx, const char *text);
    /* The guest is gone; the outcome is final. Always the last callback. */
    void (*on_exit)(void *ctx, const struct st_outcome *outcome);
};

#endif
