/* What a handler sees: one request, and the operations on guest memory.
 *
 * Every handler in controller/calls/ *.c has the signature
 *     int call_<ident>(struct st_session *s, struct st_call *c);
 * (ident as in sigtable.def). It reads c->args, may use the st_guest_*
 * operations, and sets the result with st_call_ok()/st_call_fail(). It returns
 * 0, or a negative st_error when the guest broke the protocol (its reply could
 * not be read, it asked for a size beyond a limit that must end it, ...): the
 * dispatcher then ends the guest and reports it. A handler never exits, never
 * prints, and never trusts a guest size without checking it against a limit. */
#ifndef SANDTRACE_CONTROLLER_CALL_H
#define SANDTRACE_CONTROLLER_CALL_H

#include <stddef.h>
#include <stdint.h>

#include "controller/registry.h"

struct st_session;
struct st_vfs;

struct st_call {
    const struct st_sig *sig;
    uint64_t args[ST_MAX_ARGS];   /* raw 8-byte values as they arrived */
    unsigned nargs;
    uint64_t result;              /* raw 8 bytes: integer, pointer or double bits */
    int err;                      /* errno to send with E before the result; 0: none */
};

typedef int st_handler(struct st_session *s, struct st_call *c);

static inline int64_t st_arg_int(const struct st_call *c, unsigned i) { return (int64_t)c->args[i]; }
static inline uint64_t st_arg_ptr(const struct st_call *c, unsigned i) { return c->args[i]; }

/* Success: the result value (for kind 'p', a guest pointer; for 'v', ignored). */
static inline void st_call_ok(struct st_call *c, uint64_t value) { c->result = value; c->err = 0; }
/* Failure: E `err`, then -1 for kind 'i' or NULL for kind 'p'. */
static inline void st_call_fail(struct st_call *c, int err)
{
    c->err = err;
    c->result = c->sig && c->sig->res_kind == 'p' ? 0 : (uint64_t)-1;
}

/* R: reads `n` bytes of guest memory at `ptr` into `dst`. */
int st_guest_read(struct st_session *s, uint64_t ptr, void *dst, size_t n);
/* Z: reads a C string of at most `maxlen` bytes at `ptr` into `dst` (which
 * holds maxlen + 1 bytes) and NUL-terminates it; *len gets its length. A
 * reply longer than maxlen is a protocol violation. */
int st_guest_read_str(struct st_session *s, uint64_t ptr, size_t maxlen, char *dst, size_t *len);
/* W: writes `n` bytes at guest `ptr`. May be buffered and sent together with
 * the result (one write() per request where possible). */
int st_guest_write(struct st_session *s, uint64_t ptr, const void *src, size_t n);
/* M: asks the guest to malloc `n` bytes holding `data`; *ptr gets the address. */
int st_guest_alloc(struct st_session *s, const void *data, size_t n, uint64_t *ptr);
/* F: frees a block the guest returned from M. */
int st_guest_free(struct st_session *s, uint64_t ptr);

/* The guest's standard streams, provided by the session (controller/io.c):
 * the fs handlers route read(0) and write(1|2) here. */

/* Sends guest output for fd 1 or 2 to its sink (passed through, sanitized,
 * or to a file) and counts it against the output limit. Returns the number of
 * bytes accepted (possibly fewer than `n` once the limit is reached, after
 * which the session ends the guest), or a negative errno. */
long st_session_write_output(struct st_session *s, int fd, const void *data, size_t n);
/* Reads up to `n` bytes of guest input (the controller's stdin or --stdin
 * FILE); 0 at EOF, or a negative errno. */
long st_session_read_input(struct st_session *s, void *buf, size_t n);
/* The session's virtual file system (controller/vfs.h). Never NULL:
 * st_session_new gives every session one (the caller's, or a default one),
 * so the file handlers use it without checking. */
struct st_vfs *st_session_vfs(struct st_session *s);

#endif
