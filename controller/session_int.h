/* The session's insides, shared by controller/session.c, io.c and the
 * non-file handler families in controller/calls/. Not installed. */
#ifndef SANDTRACE_CONTROLLER_SESSION_INT_H
#define SANDTRACE_CONTROLLER_SESSION_INT_H

#include <stdint.h>

#include "controller/call.h"
#include "controller/guest_link.h"
#include "controller/observer.h"
#include "controller/session.h"
#include "controller/spawn.h"
#include "controller/wire.h"

#define ST_MAX_OBSERVERS 8
#define ST_GUEST_READ_MAX (64u << 20)   /* largest R the controller asks for */
#define ST_GUEST_STR_MAX 4096u          /* largest Z (paths, names) */
#define ST_MAX_ENV 1024

struct st_session {
    struct st_session_config cfg;
    struct st_vfs *vfs;
    struct st_handlers *handlers;   /* the user's (controller/handler.h); NULL: none */
    struct st_observer obs[ST_MAX_OBSERVERS];
    unsigned nobs;
    struct st_link link;            /* the guest: its process, jail and wire */
    int ran;
    /* When the loop must end without answering: the status and reason. */
    int stopping;
    enum st_status stop_status;
    char stop_reason[256];
    int exit_code_requested;        /* for an _exit request */
    int interrupt_signal;           /* the value of cfg.interrupt that ended the run */
    /* Counters (copied into the outcome). */
    uint64_t calls, refused, unknown;
    uint64_t output_total, stderr_total, input_total;
    int err_line_open;              /* the last byte passed to cfg.err_fd was not '\n' */
    int input_eof;
    double t_start;                 /* monotonic seconds */
    /* Virtual world state kept by the handlers. */
    uint32_t umask;
    uint64_t home_ptr;              /* the block _pypy_init_home handed out */
    uint64_t ctermid_ptr;
    uint64_t env_ptr[ST_MAX_ENV];   /* getenv's allocated values, by entry */
    struct st_wire_request req;
};

/* Observer fan-out: EMIT(s, on_result, kind, value). */
#define ST_EMIT(s, cb, ...)                                         \
    do {                                                            \
        for (unsigned st__i = 0; st__i < (s)->nobs; st__i++)        \
            if ((s)->obs[st__i].cb)                                 \
                (s)->obs[st__i].cb((s)->obs[st__i].ctx, __VA_ARGS__); \
    } while (0)

/* Ends the guest at the end of this request, without answering it. The
 * first call wins. */
void st_session_stop(struct st_session *s, enum st_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Monotonic seconds. */
double st_session_now(void);

/* Waits until `fd` is ready (POLLIN, or POLLOUT for the guest's stdin),
 * draining the guest's real stderr meanwhile; ST_E_TIMEOUT at the deadline. */
int st_session_wait_fd(struct st_session *s, int fd, short events);

/* Reads what the guest's real stderr has (non-blocking): passes it on and to
 * observers. Returns 1 while it stays open, 0 at its end. */
int st_session_drain_stderr(struct st_session *s);

/* Writes guest output for fd 1 or 2 to its sink: sanitized unless raw,
 * coloured when asked. No limit accounting. 0 or a negative errno. */
int st_session_sink_write(struct st_session *s, int gfd, const void *data, size_t n);

/* Writes bytes of the controller's own to cfg.out_fd or cfg.err_fd, never
 * waiting past the deadline (reached: the run ends as a timeout and
 * -ETIMEDOUT). 0 or a negative errno. */
int st_session_write_own(struct st_session *s, int fd, const void *data, size_t n);

/* Writes the output-limit marker ("[sandtrace: output truncated at N
 * bytes]" on a line of its own) to `fd`. */
void st_session_write_limit_marker(struct st_session *s, int fd);

/* A note to observers (refused calls, policy decisions). */
void st_session_note(struct st_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
