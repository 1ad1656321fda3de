/* User handlers: answering the guest's calls yourself.
 *
 * A handler is a C function registered on a session for a pattern of
 * signatures. When a request matches, the dispatcher decodes its arguments
 * from the signature table (strings read from the guest with Z, at most
 * ST_HANDLER_STR_MAX bytes) and runs, in this order:
 *
 *   1. every ST_HANDLER_BEFORE handler, in registration order: it may
 *      inspect the call, rewrite its arguments (hc->call->args, or
 *      st_handler_set_str_arg), or answer it (a refusal, usually);
 *   2. unless answered, the first ST_HANDLER_REPLACE handler that answers;
 *   3. unless answered, the built-in answer (what the session does without
 *      handlers: a handler of controller/calls/, a refusal, or the end of
 *      the guest for a FATAL entry);
 *   4. every ST_HANDLER_AFTER handler, in registration order, whoever
 *      answered: it sees hc->call->result/err and may change them.
 *
 * A handler answers with st_call_ok()/st_call_fail() (controller/call.h)
 * and returns ST_HANDLER_ANSWERED, or returns ST_HANDLER_PASS to let the
 * next step answer. It may call st_handler_call_default() to have the
 * built-in answer now (wrapping it) and then look at or change the result.
 * It uses the guest-memory operations of controller/call.h (st_guest_read,
 * st_guest_write, st_guest_alloc, st_guest_free), as the built-in handlers
 * do: everything it does goes through the session's observers, so a trace
 * records it like any other answer, and replay needs no handler. The
 * dispatcher adds a note ("handler NAME answered SIG") for each call a
 * handler answered or changed.
 *
 * Errors: a handler returns a negative value to end the run: what a guest
 * memory operation returned (a protocol violation by the guest), or
 * st_handler_fail()'s value (the handler itself failed: status
 * ST_STATUS_HANDLER). The guest never sees a half-answered call: the result
 * is sent only after every step above returned.
 *
 * Threads: a session and its handlers run on the thread that called
 * st_session_run(). There is no global state: handlers live in their
 * session. */
#ifndef SANDTRACE_CONTROLLER_HANDLER_H
#define SANDTRACE_CONTROLLER_HANDLER_H

#include <stddef.h>
#include <stdint.h>

#include "controller/call.h"
#include "controller/registry.h"
#include "controller/session.h"

#define ST_HANDLER_MAX 64             /* handlers per session */
#define ST_HANDLER_STR_MAX 4096       /* a decoded string argument, without its NUL */
#define ST_HANDLER_DATA_MAX (256u * 1024) /* st_handler_arg_data reads at most this */

enum st_handler_when {
    ST_HANDLER_BEFORE,   /* before anything else answers: inspect, refuse, rewrite */
    ST_HANDLER_REPLACE,  /* instead of the built-in answer */
    ST_HANDLER_AFTER,    /* after the answer: see or change the result */
};

/* What a handler function returns when it did not fail. */
enum st_handler_verdict {
    ST_HANDLER_ANSWERED = 0,  /* the call's result is set (ignored for AFTER) */
    ST_HANDLER_PASS = 1,      /* not answered here: the next step answers */
};

/* One decoded argument. */
struct st_handler_arg {
    uint64_t raw;        /* the 8 bytes as they arrived (hc->call->args[i] before any rewrite) */
    char meaning;        /* its enum st_arg_meaning character ('s', 'd', 'o', ...) */
    /* ST_ARG_STR: the string, NUL-terminated, owned by the session and valid
     * until the handler returns; NULL when the pointer was NULL (str_err
     * EFAULT) or the string longer than ST_HANDLER_STR_MAX (ENAMETOOLONG). */
    const char *str;
    size_t str_len;
    int str_err;
    /* ST_ARG_BUF_IN / ST_ARG_BUF_OUT: the value of the length argument that
     * follows, as the guest gave it (check it before trusting it). */
    uint64_t buf_len;
};

/* One call as a handler sees it. */
struct st_handler_call {
    struct st_call *call;            /* the raw call: sig, args, result, err */
    const struct st_sig *sig;        /* never NULL: handlers see registry entries only */
    unsigned nargs;
    struct st_handler_arg arg[ST_MAX_ARGS];
    const char *answered_by;         /* for AFTER handlers: the name of the handler that
                                        answered, or "built-in" */
};

/* A handler. `ctx` is the registration's. Returns an enum st_handler_verdict
 * value, or a negative st_error to end the run (see above). */
typedef int st_handler_fn(void *ctx, struct st_session *s, struct st_handler_call *hc);

struct st_handler_def {
    const char *name;       /* shown in notes and messages; copied (at most 63 bytes kept) */
    /* Which calls: a signature ("open(pii)i"), a function name ("open"), an
     * fnmatch(3) glob on names ("open*", "*stat*") or, with a '(', on
     * signatures ("*(pp)i"), a class ("%file", "%desc", "%time",
     * "%process", "%memory") or "*" for all. Copied. */
    const char *pattern;
    enum st_handler_when when;
    st_handler_fn *fn;
    void *ctx;              /* passed to fn; not owned unless free_ctx is set */
    /* Called once with ctx when the session is freed (also when
     * st_session_add_handler fails); NULL: ctx is not the session's to free. */
    void (*free_ctx)(void *ctx);
};

/* Registers a handler on a session that has not run yet. `def` is copied.
 * Returns 0; ST_E_INVALID (no fn or pattern, an unknown class, the session
 * already ran), ST_E_UNKNOWN_CALL (the pattern matches no signature of the
 * registry), ST_E_TOO_BIG (more than ST_HANDLER_MAX), ST_E_NOMEM. */
int st_session_add_handler(struct st_session *s, const struct st_handler_def *def);

/* 1 when `pattern` (as in st_handler_def) matches `sig`, 0 when not, or
 * ST_E_INVALID for a malformed pattern. */
int st_handler_pattern_match(const char *pattern, const struct st_sig *sig);

/* From inside a handler: answers the call with the built-in answer now
 * (with the arguments as they are in hc->call->args). Later steps do not
 * answer again. Returns 0 or a negative st_error (return it). */
int st_handler_call_default(struct st_session *s, struct st_handler_call *hc);

/* From inside a handler: the data of the ST_ARG_BUF_IN argument `i` (what
 * write() would write), read from the guest with R: at most
 * ST_HANDLER_DATA_MAX bytes of buf_len (a longer buffer is cut there: answer
 * with a short count). *data is the session's, valid until the handler
 * returns. Returns 0; ST_E_INVALID when argument i is no such buffer; a
 * negative st_error from the guest read. A NULL pointer gives len 0. */
int st_handler_arg_data(struct st_session *s, struct st_handler_call *hc, unsigned i,
                        const void **data, size_t *len);

/* From inside a BEFORE handler: makes string argument `i` point at a copy of
 * `str` in guest memory (allocated with M, freed with F when the call is
 * answered), so that what answers next reads `str`. The decoded
 * hc->arg[i].str is updated. Returns 0, ST_E_INVALID, ST_E_TOO_BIG, or a
 * negative st_error from the allocation. */
int st_handler_set_str_arg(struct st_session *s, struct st_handler_call *hc, unsigned i,
                           const char *str);

/* A file descriptor of the guest's fd table that a handler serves itself
 * (a computed file): opened on /dev/null in the session's virtual file
 * system, so that no other open gets the same number. The handler answers
 * the calls on it it cares about (read, fstat64, lseek...) and passes the
 * rest; a guest close passed to the built-in answer frees it, as does
 * st_handler_fd_release. Returns the fd (>= 3), or a negative errno value
 * (-EMFILE, -ENOENT when the tree has no /dev/null). */
int st_handler_fd_reserve(struct st_session *s);
/* Closes an fd st_handler_fd_reserve gave. 0 or a negative errno value. */
int st_handler_fd_release(struct st_session *s, int fd);

/* From inside a handler: the handler failed (a process died, an answer was
 * unusable). Ends the run with status ST_STATUS_HANDLER and this reason,
 * without answering the call. Returns ST_E_STOPPED, which the handler
 * returns. */
int st_handler_fail(struct st_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A note to the session's observers (the trace keeps it). */
void st_handler_note(struct st_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------- handler processes
 *
 * Starts `command` (with /bin/sh -c, outside the guest's jail: the user's
 * own program, its stderr and terminal its own) and registers a REPLACE
 * handler for `pattern` (or for each of several patterns separated by
 * commas: "open,mkdir,unlink") that sends each matching call to its stdin as one
 * JSON line and reads one JSON line back from its stdout (the schema is in
 * docs/handlers.md), waiting at most `timeout_seconds` for each answer. A
 * process that dies, misses the deadline or answers garbage fails the
 * handler (status ST_STATUS_HANDLER). The session owns the process: when it
 * is freed, the process's stdin is closed and it has one second to exit
 * before it is killed. On failure a lowercase message is put in err (cap
 * bytes) and it returns ST_E_INVALID, ST_E_UNKNOWN_CALL (the pattern
 * matches nothing), ST_E_SPAWN or ST_E_NOMEM. */
int st_session_add_handler_process(struct st_session *s, const char *pattern, const char *command,
                                   double timeout_seconds, char *err, size_t cap);

/* ------------------------------------------------------------- plugins
 *
 * A plugin is a shared library with, in C:
 *
 *   #include "controller/handler.h"
 *   ST_PLUGIN_ABI;    // exports sandtrace_plugin_abi = ST_PLUGIN_ABI_VERSION
 *   int sandtrace_plugin_init(struct st_plugin_api *api, const char *args)
 *   {
 *       struct st_handler_def d = { .name = "counter", .pattern = "open", ... };
 *       return st_session_add_handler(api->session, &d);
 *   }
 *
 * The loader reads sandtrace_plugin_abi first and refuses a plugin built
 * for another ABI version without running any of its code; then it calls
 * sandtrace_plugin_init once, which registers handlers (returns 0) or
 * refuses (a negative value, with a message in api->error). The plugin's
 * code calls the functions of these headers, which the sandtrace program
 * exports: build it with -shared -fPIC and `pkg-config --cflags sandtrace`,
 * without linking the sandtrace libraries into it. The library stays loaded
 * until the session is freed (after every free_ctx). */
#define ST_PLUGIN_ABI_VERSION 1

struct st_plugin_api {
    unsigned abi_version;       /* ST_PLUGIN_ABI_VERSION of the loader */
    size_t size;                /* sizeof(struct st_plugin_api) of the loader */
    struct st_session *session; /* where to register handlers */
    const char *path;           /* the plugin's file, as given */
    char *error;                /* for a refusal: a lowercase message (error_cap bytes) */
    size_t error_cap;
};

#define ST_PLUGIN_ABI \
    __attribute__((visibility("default"))) const unsigned sandtrace_plugin_abi = ST_PLUGIN_ABI_VERSION

typedef int st_plugin_init_fn(struct st_plugin_api *api, const char *args);

/* Loads the plugin `path` (dlopen) into session `s` (not run yet) and runs
 * its init with `args` (may be NULL). On failure, a lowercase message is
 * put in err (cap bytes) and it returns: ST_E_CONFIG (cannot load, not a
 * plugin, another ABI version: the message says which), ST_E_INVALID (its
 * init refused: its message), ST_E_NOMEM. */
int st_session_load_plugin(struct st_session *s, const char *path, const char *args, char *err,
                           size_t cap);

#endif
