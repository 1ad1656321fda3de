/* The guest link: the one piece that starts a guest in its jail, speaks the
 * wire protocol to it, keeps its deadline, pumps its real stderr and
 * reports its end. The controller's session and the replayer both stand on
 * it, so that the jail, the waiting and the round trips exist once.
 *
 *   struct st_link l;
 *   struct st_link_hooks h = { .ctx = me, .on_stderr = f, .should_stop = g };
 *   st_link_start(&l, &spawn_cfg, timeout_seconds, &h);
 *   while (st_link_read_request(&l, &req) == 0) {
 *       st_link_mem_read(&l, ptr, buf, n);        // R, and the other commands
 *       st_link_result(&l, 'i', value);           // ends the answer (flushed)
 *   }
 *   st_link_wait_end(&l) or st_link_kill(&l);
 *   st_link_close(&l);
 *
 * It installs no signal handler and never prints: an interruption reaches
 * it through the should_stop hook (a flag the caller's handler set), and
 * everything the guest writes to its real stderr through on_stderr.
 *
 * Waiting for the guest (the fast path). A jailed guest's next request,
 * and its replies to R, Z and M, are read with one blocking read() on a
 * second, blocking open file description of its stdout pipe: no EAGAIN
 * read and no poll() per request. Meanwhile a watcher thread (started at
 * the first such read when the guest has a stderr pipe or the run a
 * deadline; all signals blocked, so that the caller's interruption still
 * reaches the reading thread and ends its read with EINTR) sleeps in
 * poll() on the guest's stderr and the deadline. While the link's user is
 * blocked in that read, and only then, the watcher drains the stderr
 * (on_stderr and should_stop are called from the watcher thread, never at
 * the same time as anything else of the link's user); when the deadline
 * passes or should_stop says so, it kills the guest (the jail keeps it
 * from forking, so nothing else holds its stdout open), the read ends,
 * and the wait returns ST_E_TIMEOUT or ST_E_STOPPED as it would have.
 * Everything else (a request cut midway, waits for the guest's stdin,
 * an unjailed guest) waits the other way: a non-blocking read, and
 * poll() on the fd, the stderr pipe and the deadline when it would block.
 * SANDTRACE_LINK_WAIT=poll in the environment turns the fast path off
 * (the tests run the hostile guests both ways). A caller whose signal
 * handler uses SA_RESTART is not woken by it in a blocking read. */
#ifndef SANDTRACE_CONTROLLER_GUEST_LINK_H
#define SANDTRACE_CONTROLLER_GUEST_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "controller/cpu_place.h"
#include "controller/spawn.h"
#include "controller/wire.h"

struct st_link_hooks {
    void *ctx;
    /* Bytes the guest wrote to its real stderr (valid during the call). */
    void (*on_stderr)(void *ctx, const void *data, size_t n);
    /* Asked at every wake-up of a wait: nonzero ends the wait with
     * ST_E_STOPPED (the caller's own reason: a limit, an interruption). */
    int (*should_stop)(void *ctx);
};

/* How the guest's memory is read and written. */
enum st_link_memory {
    ST_LINK_MEM_AUTO,       /* directly where the kernel allows it, else the protocol's commands */
    ST_LINK_MEM_PROTOCOL,   /* always R, Z and W over the pipes */
};

struct st_link_watch;

struct st_link {
    struct st_child child;
    struct st_wire_reader rd;
    struct st_wire_out out;
    double deadline;                /* monotonic seconds; 0: none */
    int timed_out;                  /* a wait reached the deadline */
    int started;                    /* the guest was spawned */
    uint64_t requests;              /* requests read */
    /* Direct access (process_vm_readv/writev, the controller being the
     * guest's parent): 1 in use, 0 not (the protocol's commands), -1 not
     * tried yet. Decided once per run, at the first memory operation. */
    int direct;
    uint64_t direct_ops, protocol_ops;  /* memory operations done each way */
    /* The blocking fast path (above): 1 in use, 0 not, -1 not set up yet.
     * fast_fd is the blocking description of the guest's stdout. */
    int fast;
    int fast_fd;
    struct st_link_watch *watch;    /* the watcher thread, or NULL */
    uint64_t fast_reads, polled_waits;  /* blocking reads; waits with poll() */
    struct st_link_hooks hooks;
    /* The CPU the guest and this thread share (sc->cpu_policy), when
     * place.pinned; the thread's own set comes back at close. */
    struct st_cpu_place place;
    char errbuf[4096];
};

/* Whether the run reads and writes the guest's memory directly (1) or
 * with the protocol's commands (0), once decided (-1 before). */
static inline int st_link_direct_memory(const struct st_link *l)
{
    return l->direct;
}

/* Monotonic seconds. */
double st_link_now(void);

/* Spawns the guest (`sc`: the executable, its argv and real environment,
 * the jail, the limits) and prepares the wire; the deadline is
 * `timeout_seconds` from now (0: none). `hooks` is copied (may be NULL).
 * Returns 0, or a negative ST_E_* from st_spawn (l->child.exec_errno says
 * why the executable could not be started). */
int st_link_start(struct st_link *l, const struct st_spawn_config *sc, double timeout_seconds,
                  const struct st_link_hooks *hooks);

/* Chooses how memory is accessed (before the first request; AUTO by
 * default). */
void st_link_set_memory(struct st_link *l, enum st_link_memory how);

/* Reads the next request. The first one ends the loader's work for the
 * jail (st_jail_mark_running). Errors as st_wire_read_request's, and
 * ST_E_TIMEOUT at the deadline, ST_E_STOPPED when should_stop said so. */
int st_link_read_request(struct st_link *l, struct st_wire_request *req);

/* The memory commands, each a round trip where the guest answers (R, Z, M)
 * and buffered where it does not (W, F, E). Sizes are the caller's to
 * bound. Errors: the wire's ST_E_*, ST_E_TIMEOUT, ST_E_STOPPED.
 *
 * R, Z and W go straight to the guest's memory when direct access is on:
 * the guest, blocked waiting for its answer, cannot tell, and the bytes are
 * the same. Only a jailed guest is accessed directly (it cannot fork: the
 * process that speaks the protocol is the one the pointers belong to; an
 * unjailed child may be a proxy). Where the direct access fails (a bad pointer: part of the range
 * is not mapped, or not writable), the operation is sent as the protocol's
 * command instead, so that the guest meets its own bad pointer exactly as
 * without the fast path (it faults). */
int st_link_mem_read(struct st_link *l, uint64_t ptr, void *dst, size_t n);
int st_link_mem_read_str(struct st_link *l, uint64_t ptr, uint64_t maxlen, char *dst, size_t cap,
                         size_t *len);
int st_link_mem_write(struct st_link *l, uint64_t ptr, const void *src, size_t n);
int st_link_alloc(struct st_link *l, const void *data, size_t n, uint64_t *ptr);
int st_link_free(struct st_link *l, uint64_t ptr);
int st_link_errno(struct st_link *l, int32_t err);
/* The result, which ends the answer: everything buffered is flushed. */
int st_link_result(struct st_link *l, char kind, uint64_t value);

/* Waits until `fd` is ready for `events` (POLLIN/POLLOUT), pumping the
 * guest's stderr meanwhile: 0, ST_E_TIMEOUT, ST_E_STOPPED, ST_E_IO. */
int st_link_wait_fd(struct st_link *l, int fd, short events);

/* Reads what the guest's stderr pipe holds now (to on_stderr). Returns 1
 * while it stays open, 0 once it is closed. */
int st_link_drain_stderr(struct st_link *l);

/* Waits for the guest to end by itself (on a pidfd), pumping its stderr,
 * until the deadline. Returns 1 when it ended (reaped), 0 at the deadline
 * or when should_stop said so. */
int st_link_wait_end(struct st_link *l);

/* Kills the guest's process group and reaps it. */
void st_link_kill(struct st_link *l);

/* What the guest left on its stderr, read until it closes (at most about
 * `seconds` of waiting for more). */
void st_link_finish_stderr(struct st_link *l, double seconds);

/* Closes the pipes and stops the jail's warden (reap the guest first).
 * Idempotent. */
void st_link_close(struct st_link *l);

#endif
