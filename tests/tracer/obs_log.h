/* An observer that logs every callback as one text line (data in hex), for
 * comparing what two sources report (header-only, for tests/tracer). */
#ifndef SANDTRACE_TESTS_TRACER_OBS_LOG_H
#define SANDTRACE_TESTS_TRACER_OBS_LOG_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/observer.h"
#include "controller/session.h"

struct obs_log {
    char *text;
    size_t len, cap;
    unsigned violations;
    unsigned exits;
};

static inline void obs_log_printf(struct obs_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void obs_log_printf(struct obs_log *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    if (l->len + (size_t)n + 1 > l->cap) {
        size_t cap = (l->cap ? l->cap * 2 : 4096) + (size_t)n;
        char *nt = realloc(l->text, cap);
        if (!nt)
            abort();
        l->text = nt;
        l->cap = cap;
    }
    memcpy(l->text + l->len, s, (size_t)n + 1);
    l->len += (size_t)n;
    free(s);
}

static inline void obs_log_hex(struct obs_log *l, const void *data, size_t len)
{
    const unsigned char *b = data;
    obs_log_printf(l, " [%zu]", len);
    for (size_t i = 0; i < len; i++)
        obs_log_printf(l, "%02x", b[i]);
}

static inline void ol_request(void *ctx, const char *text, size_t text_len, const uint64_t *args,
                              unsigned nargs)
{
    struct obs_log *l = ctx;
    obs_log_printf(l, "request %.*s", (int)text_len, text);
    for (unsigned i = 0; i < nargs; i++)
        obs_log_printf(l, " %" PRIx64, args[i]);
    obs_log_printf(l, "\n");
}
static inline void ol_mem_read(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    obs_log_printf(ctx, "R %" PRIx64, ptr);
    obs_log_hex(ctx, data, len);
    obs_log_printf(ctx, "\n");
}
static inline void ol_mem_read_str(void *ctx, uint64_t ptr, uint64_t maxlen, const void *data,
                                   size_t len)
{
    obs_log_printf(ctx, "Z %" PRIx64 " %" PRIx64, ptr, maxlen);
    obs_log_hex(ctx, data, len);
    obs_log_printf(ctx, "\n");
}
static inline void ol_mem_write(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    obs_log_printf(ctx, "W %" PRIx64, ptr);
    obs_log_hex(ctx, data, len);
    obs_log_printf(ctx, "\n");
}
static inline void ol_mem_alloc(void *ctx, const void *data, size_t len, uint64_t ptr)
{
    obs_log_printf(ctx, "M %" PRIx64, ptr);
    obs_log_hex(ctx, data, len);
    obs_log_printf(ctx, "\n");
}
static inline void ol_mem_free(void *ctx, uint64_t ptr)
{
    obs_log_printf(ctx, "F %" PRIx64 "\n", ptr);
}
static inline void ol_errno(void *ctx, int32_t err)
{
    obs_log_printf(ctx, "E %d\n", (int)err);
}
static inline void ol_result(void *ctx, char kind, uint64_t value)
{
    obs_log_printf(ctx, "result %c %" PRIx64 "\n", kind, value);
}
static inline void ol_violation(void *ctx, const char *what, const void *raw, size_t len)
{
    struct obs_log *l = ctx;
    l->violations++;
    obs_log_printf(l, "violation %s", what);
    obs_log_hex(l, raw, len);
    obs_log_printf(l, "\n");
}
static inline void ol_stderr(void *ctx, const void *data, size_t len)
{
    obs_log_printf(ctx, "stderr");
    obs_log_hex(ctx, data, len);
    obs_log_printf(ctx, "\n");
}
static inline void ol_exit(void *ctx, const struct st_outcome *o)
{
    struct obs_log *l = ctx;
    l->exits++;
    obs_log_printf(l, "exit %d %d\n", o->exit_code, o->signal);
}

static inline struct st_observer obs_log_observer(struct obs_log *l)
{
    struct st_observer o = {
        .ctx = l,
        .on_request = ol_request,
        .on_mem_read = ol_mem_read,
        .on_mem_read_str = ol_mem_read_str,
        .on_mem_write = ol_mem_write,
        .on_mem_alloc = ol_mem_alloc,
        .on_mem_free = ol_mem_free,
        .on_errno = ol_errno,
        .on_result = ol_result,
        .on_guest_stderr = ol_stderr,
        .on_violation = ol_violation,
        .on_exit = ol_exit,
    };
    return o;
}

static inline void obs_log_release(struct obs_log *l)
{
    free(l->text);
    memset(l, 0, sizeof *l);
}

#endif
