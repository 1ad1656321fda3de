/* The exit code and the JSON document of a run's outcome (tools/run_outcome.h). */
#include "tools/run_outcome.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/st_buf.h"
#include "tools/commands.h"

int run_outcome_exit_code(const struct st_outcome *o)
{
    switch (o->status) {
    case ST_STATUS_EXITED:
        return o->exit_code >= 0 && o->exit_code <= 255 ? o->exit_code : ST_EXIT_ERROR;
    case ST_STATUS_SIGNALED:
    case ST_STATUS_INTERRUPTED: return ST_EXIT_SIGNAL_BASE + (o->signal & 0x7f);
    case ST_STATUS_TIMEOUT: return ST_EXIT_TIMEOUT;
    case ST_STATUS_CPU: return ST_EXIT_CPU;
    case ST_STATUS_MEMORY: return ST_EXIT_MEMORY;
    case ST_STATUS_OUTPUT: return ST_EXIT_OUTPUT_LIMIT;
    case ST_STATUS_MAX_CALLS: return ST_EXIT_MAX_CALLS;
    case ST_STATUS_VIOLATION: return ST_EXIT_VIOLATION;
    case ST_STATUS_UNKNOWN_CALL: return ST_EXIT_UNKNOWN_CALL;
    case ST_STATUS_SECCOMP: return ST_EXIT_SECCOMP;
    case ST_STATUS_TRACE_LIMIT: return ST_EXIT_TRACE_LIMIT;
    case ST_STATUS_ERROR: return ST_EXIT_ERROR;
    case ST_STATUS_HANDLER: return ST_EXIT_HANDLER;
    }
    return ST_EXIT_ERROR;
}

/* A bounded appender: keeps counting past the end, like snprintf. */
struct jbuf {
    char *p;
    size_t cap, len;
};

static void jput(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jput(struct jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = b->len < b->cap ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
}

/* A JSON string, or null for NULL. */
static void jstr(struct jbuf *b, const char *s)
{
    if (!s) {
        jput(b, "null");
        return;
    }
    struct st_buf e;
    st_buf_init(&e, 0);
    st_buf_add_json_string(&e, s, strlen(s), ST_JSON_ASCII);
    jput(b, "%s", e.data);
    st_buf_release(&e);
}

/* An integer that may not exist (negative or zero, by `exists`). */
static void jint(struct jbuf *b, const char *key, long long v, int exists)
{
    if (exists)
        jput(b, ",\"%s\":%lld", key, v);
    else
        jput(b, ",\"%s\":null", key);
}

static void put_counters(struct jbuf *b, const struct st_outcome *o)
{
    jput(b, ",\"calls\":%llu,\"refused\":%llu,\"unknown\":%llu", (unsigned long long)o->calls,
         (unsigned long long)o->refused, (unsigned long long)o->unknown);
    jput(b, ",\"bytes_in\":%llu,\"bytes_out\":%llu", (unsigned long long)o->bytes_in,
         (unsigned long long)o->bytes_out);
    jput(b, ",\"output_bytes\":%llu,\"stderr_bytes\":%llu,\"input_bytes\":%llu",
         (unsigned long long)o->output_bytes, (unsigned long long)o->stderr_bytes,
         (unsigned long long)o->input_bytes);
    jput(b, ",\"wall_seconds\":%.6f,\"guest_user_seconds\":%.6f,\"guest_sys_seconds\":%.6f",
         o->wall_seconds, o->guest_user_seconds, o->guest_sys_seconds);
    jput(b, ",\"controller_user_seconds\":%.6f,\"controller_sys_seconds\":%.6f",
         o->controller_user_seconds, o->controller_sys_seconds);
}

int run_outcome_to_json(const struct st_outcome *o, char *dst, size_t cap)
{
    struct jbuf b = { dst, cap, 0 };
    if (cap)
        dst[0] = '\0';
    jput(&b, "{\"schema_version\":1,\"status\":");
    jstr(&b, st_status_name(o->status));
    jput(&b, ",\"reason\":");
    jstr(&b, o->reason);
    jput(&b, ",\"exit_status\":%d", run_outcome_exit_code(o));
    jint(&b, "exit_code", o->exit_code, o->exit_code >= 0);
    jint(&b, "signal", o->signal, o->signal > 0);
    jput(&b, ",\"limit\":");
    jstr(&b, st_status_limit(o->status) >= 0 ? st_status_name(o->status) : NULL);
    put_counters(&b, o);
    jput(&b, ",\"memory_access\":");
    jstr(&b, o->memory_access);
    jint(&b, "cpu", o->cpu, o->pinned);
    jput(&b, ",\"denied_syscalls\":%llu,\"denied_syscall_names\":{", (unsigned long long)o->denied);
    for (size_t i = 0; i < o->ndenied_names; i++) {
        if (i)
            jput(&b, ",");
        jstr(&b, o->denied_names[i].name);
        jput(&b, ":%llu", (unsigned long long)o->denied_names[i].count);
    }
    jput(&b, "},\"jail_layers\":");
    jstr(&b, o->jail_layers[0] ? o->jail_layers : NULL);
    jput(&b, "}");
    if (cap && b.len >= cap)
        dst[cap - 1] = '\0';
    return (int)b.len;
}
