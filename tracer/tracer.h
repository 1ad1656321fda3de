/* tracer/tracer.h: turns what the controller observes into trace events.
 *
 *   struct st_tracer_meta m;               // the trace header, built up
 *   st_tracer_meta_init(&m);
 *   st_tracer_meta_set_guest(&m, exe, argv, argc, env, nenv); // hashes exe
 *   st_tracer_meta_add_session(&m, &cfg);  // policy: identity, time, limits...
 *   struct st_tracer *t;
 *   st_tracer_new(&t, io, 1, &m.header, &wopt);
 *   struct st_observer obs = st_tracer_observer(t);
 *   st_session_add_observer(session, &obs);
 *   st_session_run(...);
 *   st_tracer_close(t);                    // footer and index; 0 or first error
 *   st_tracer_free(t);
 *
 * Every observer callback makes one event. A request's events (request,
 * memory commands, errno, result) are held, their bytes copied, until the
 * result has been sent, and then encoded together (off the guest's wait);
 * the others are written at once, after any held ones. No allocation per
 * event. A callback cannot fail: the first
 * writer error is kept (st_tracer_trace_error) and the tracer then stops
 * writing; st_tracer_close reports it.
 *
 * The library never prints or exits; errors are negative ST_TRACER_E_*. */
#ifndef SANDTRACE_TRACER_TRACER_H
#define SANDTRACE_TRACER_TRACER_H

#include <stddef.h>
#include <stdint.h>

#include "controller/observer.h"
#include "format/trace.h"

struct st_session_config;

enum st_tracer_error {
    ST_TRACER_OK = 0,
    ST_TRACER_E_NOMEM = -1,   /* out of memory */
    ST_TRACER_E_INVALID = -2, /* invalid argument */
    ST_TRACER_E_TRACE = -3,   /* the trace writer failed: st_tracer_trace_error() says how */
    ST_TRACER_E_HASH = -4,    /* the guest executable cannot be read to hash it */
    ST_TRACER_E_SPAWN = -5,   /* tap: the guest could not be started */
    ST_TRACER_E_IO = -6,      /* tap: relaying between the streams failed */
    ST_TRACER_E_LIMIT = -7,   /* a size beyond a hard limit (header, buffers) */
};

/* A short lowercase description of `err`; never NULL. */
const char *st_tracer_strerror(int err);

/* ---------------------------------------------------------------------------
 * The header: built up from the guest and the session's configuration. Owns
 * copies of every string it holds; `header` points into them. */

struct st_tracer_meta {
    struct trace_header header;
    /* Owned storage behind header.guest_argv/guest_env/policy. */
    char **argv;
    size_t argc;
    char **env;
    size_t nenv;
    char **real_env;
    size_t nreal_env;
    struct trace_kv *kv;
    size_t nkv, kv_cap;
    char *exe_path;
    int error; /* first failure of an add (sticky), 0 if none */
};

void st_tracer_meta_init(struct st_tracer_meta *m);

/* Records the guest: the real executable (its absolute path, size and
 * BLAKE2b-256 hash, read now), the argv it sees and its (virtual)
 * environment ("K=V"). Everything is copied. Returns 0, ST_TRACER_E_HASH
 * (the executable cannot be read), ST_TRACER_E_NOMEM. */
int st_tracer_meta_set_guest(struct st_tracer_meta *m, const char *exe, const char *const *argv,
                             size_t argc, const char *const *env, size_t nenv);

/* Records the real process environment the guest is started with ("K=V":
 * what libc reads directly, LANG, TZ...), copied. Returns 0,
 * ST_TRACER_E_INVALID or ST_TRACER_E_NOMEM. */
int st_tracer_meta_set_real_env(struct st_tracer_meta *m, const char *const *env, size_t n);

/* Appends one policy entry; the value is printf-formatted. Keys may repeat
 * (e.g. one "run.option" per command-line word). Returns 0 or
 * ST_TRACER_E_NOMEM (also kept in m->error). */
int st_tracer_meta_add(struct st_tracer_meta *m, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends the policy of a session configuration: identity (uid, gid, pid,
 * ppid, hostname, pypy home), time mode/base/offset, limits, jail and
 * refusal settings. Returns 0 or ST_TRACER_E_NOMEM. */
int st_tracer_meta_add_session(struct st_tracer_meta *m, const struct st_session_config *cfg);

/* Frees what the meta owns; accepts a zeroed or released meta. */
void st_tracer_meta_release(struct st_tracer_meta *m);

/* ---------------------------------------------------------------------------
 * The tracer. */

struct st_tracer;

/* Starts a trace on `io` (owned when own_io, freed on failure too) with
 * `header` (copied) and writer options `opt` (NULL: defaults). Returns 0,
 * ST_TRACER_E_NOMEM, ST_TRACER_E_INVALID, or ST_TRACER_E_TRACE (then
 * *trace_err, if given, holds the TRACE_E_* code). */
int st_tracer_new(struct st_tracer **out, struct trace_io *io, int own_io,
                  const struct trace_header *header, const struct trace_writer_options *opt,
                  int *trace_err);

/* The observer that records into `t` (ctx is t; t must outlive its use). */
struct st_observer st_tracer_observer(struct st_tracer *t);

/* The value recorded with a LIMIT event of `which` (ST_LIMIT_TIMEOUT in
 * ms, CPU in s, MEMORY/OUTPUT in bytes, CALLS). Unset limits record 0.
 * Returns 0 or ST_TRACER_E_INVALID (no such limit). */
int st_tracer_set_limit_value(struct st_tracer *t, enum st_limit which, uint64_t value);
/* Bounds the trace to about `max_bytes` (0: no bound). When the bytes
 * written reach it (checked as chunks are written, the last one in the
 * writer's background compressor, and with the background writer as its
 * batches are encoded: the trace may pass it by about two chunks and a
 * batch), or when a request's signature would be one more than
 * TRACE_MAX_SIGNATURES, the tracer asks the run to end through the
 * st_run_control its on_start received (status ST_STATUS_TRACE_LIMIT, a
 * LIMIT event "trace") and from then on records only LIMIT, VIOLATION,
 * NOTE and GUEST_EXIT events, so the trace closes whole. Returns 0 or
 * ST_TRACER_E_INVALID. */
int st_tracer_set_max_bytes(struct st_tracer *t, uint64_t max_bytes);
/* Sets the limit values from a session configuration. */
void st_tracer_set_session_limits(struct st_tracer *t, const struct st_session_config *cfg);

/* Writes the open chunk now (so that a crash loses nothing before this). */
int st_tracer_flush(struct st_tracer *t);

/* Makes a background thread write the events: the callbacks batch them
 * and the thread encodes a batch at a time (about a thousand events), and
 * every `interval_ms` it writes what waits and the open chunk once its
 * time bound (the writer's chunk_ns) has passed, so that killing the
 * process loses at most the events of about chunk_ns + 2 x interval_ms
 * even while the guest is quiet. The thread runs on the CPUs the calling
 * thread had when the tracer was made, starts with the first event (after
 * the guest was spawned: no fork happens with it running) and stops at
 * close/free. 0 turns it off. Returns 0, or ST_TRACER_E_INVALID once the
 * thread has started. */
int st_tracer_set_background_flush(struct st_tracer *t, unsigned interval_ms);

/* Flushes, writes the footer (index) and syncs when asked. Returns 0, or
 * ST_TRACER_E_TRACE when this or any earlier write failed. */
int st_tracer_close(struct st_tracer *t);

/* The first TRACE_E_* error of the writer, or 0. */
int st_tracer_trace_error(const struct st_tracer *t);

/* Events recorded so far: written, or batched and waiting for no result
 * (waits for the background writer to finish its batch). */
uint64_t st_tracer_event_count(const struct st_tracer *t);

/* Frees the tracer (without close: like a crash, the open chunk is lost and
 * there is no footer). Accepts NULL. */
void st_tracer_free(struct st_tracer *t);

#endif
