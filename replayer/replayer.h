/* The replayer: re-drives a guest from a trace alone and reports where it
 * diverges.
 *
 *   struct rp_config cfg;
 *   rp_config_init(&cfg);
 *   cfg.trace_path = "run.sbt"; cfg.on_output = ...;
 *   struct rp_replay *r;
 *   char err[256];
 *   if (rp_replay_new(&cfg, &r, err, sizeof err) == 0) {
 *       struct rp_result res;
 *       rp_replay_run(r, &res);          // res.end, res.divergences, res.exit_code
 *       rp_replay_free(r);
 *   }
 *
 * The guest is started again from the trace's header (its executable, or
 * cfg.exe, and the recorded argv) with ASLR off, an empty environment and
 * the same seccomp jail as `run`. Every request it makes is matched with the
 * next recorded one and answered exactly as recorded: nothing of the world
 * the trace was made in (files, time, input, environment) is used.
 *
 * Matching a request: the same signature text; every non-pointer argument
 * equal; a pointer argument NULL exactly when the recorded one is, and, when
 * the recorded pointer lies in a block the controller allocated (M) and has
 * not freed, the live block's corresponding address. Other pointers are the
 * guest's own (stack, heap, static data): the live value is accepted and the
 * map learns recorded -> live from it (replay_map.h), for the memory commands
 * that follow.
 *
 * The recorded memory commands of the request are then performed on the live
 * guest at the translated addresses: R and Z read live data and compare it
 * with the recorded bytes (the first differing offset is reported); W writes
 * the recorded bytes; M allocates for real and maps the recorded block to the
 * live one; F frees the live block; E and the result are sent as recorded (a
 * 'p' result inside a known block or pointer is translated).
 *
 * A trace of a guest in dump mode (policy dump_mode = 1, as `tap` records
 * it: RPY_SANDBOX_DUMP set, the guest prints its function list and exits)
 * is replayed by running the guest in dump mode again (its recorded real
 * environment holds RPY_SANDBOX_DUMP) and comparing what it prints with the
 * recorded list: identical, or an RP_DIV_DUMP divergence naming the first
 * difference (expected_data/got_data: the two texts, offset: where).
 *
 * The library never prints and never exits: output, events, divergences and
 * the --stop-at pause go to the callbacks. Errors are negative RP_E_*. */
#ifndef SANDTRACE_REPLAYER_REPLAYER_H
#define SANDTRACE_REPLAYER_REPLAYER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "controller/cpu_place.h"
#include "format/trace.h"

enum rp_error {
    RP_OK = 0,
    RP_E_NOMEM = -1,     /* out of memory */
    RP_E_TRACE = -2,     /* the trace cannot be opened or read, or is not a trace */
    RP_E_EXE = -3,       /* no executable to start (none in the header, or missing) */
    RP_E_SPAWN = -4,     /* the guest could not be started */
    RP_E_IO = -5,        /* talking to the guest failed outside of a divergence */
    RP_E_INVALID = -6,   /* an invalid argument */
    RP_E_STATE = -7,     /* rp_replay_run called twice */
    RP_E_DAMAGED = -8,   /* the trace's header is damaged or cut short */
    RP_E_KEY = -9,       /* a keyed trace without its key, or the wrong key */
};

/* A short lowercase description of `err`; never NULL. */
const char *rp_strerror(int err);

/* Where a replay ended. */
enum rp_end {
    RP_END_COMPLETE = 0,   /* the whole trace was replayed, up to the guest's recorded end */
    RP_END_DIVERGED = 1,   /* it stopped at the first divergence (or, with keep_going, saw some) */
    RP_END_TRUNCATED = 2,  /* the trace ends before the recorded run did (damaged, cut, or
                            * malformed: an event that cannot follow the one before) */
    RP_END_ERROR = 3,      /* the replay itself failed (see rp_result.message) */
};

/* What differed. */
enum rp_div_kind {
    RP_DIV_SIGNATURE = 1,  /* another function than the recorded one */
    RP_DIV_ARG = 2,        /* a non-pointer argument differs */
    RP_DIV_POINTER = 3,    /* a pointer argument: NULL-ness or a controller block */
    RP_DIV_DATA = 4,       /* the bytes an R or Z read (output, a path...) differ */
    RP_DIV_EXTRA_CALL = 5, /* the guest made a call where the recording had none */
    RP_DIV_ENDED = 6,      /* the guest ended (or broke the stream) where a call was recorded */
    RP_DIV_EXIT = 7,       /* the guest's exit status differs */
    RP_DIV_PROTOCOL = 8,   /* the guest's reply to a command was malformed */
    RP_DIV_DUMP = 9,       /* dump mode: the function list the guest printed differs */
};

/* "signature", "argument", "pointer", "data", "extra call", "guest ended",
 * "exit status", "protocol", "function list". */
const char *rp_div_kind_name(enum rp_div_kind kind);

/* One divergence, as handed to on_divergence (the data pointers are valid
 * only during the call). */
struct rp_divergence {
    enum rp_div_kind kind;
    uint64_t seq;             /* the recorded event it was found at */
    uint64_t request;         /* the live request's number, from 0 */
    /* Signatures and arguments of the recorded and live requests ("" / 0
     * when there is none: e.g. expected_sig is "" for an extra call at the
     * recorded end). */
    char expected_sig[256];
    char got_sig[256];
    unsigned expected_nargs, got_nargs;
    uint64_t expected_args[TRACE_MAX_ARGS];
    uint64_t got_args[TRACE_MAX_ARGS];
    int arg_index;            /* the differing argument, or -1 */
    /* RP_DIV_DATA: which command, at which live address, and the bytes
     * (RP_DIV_DUMP: only offset and the bytes, the recorded and live lists). */
    char op;                  /* 'R' or 'Z' */
    uint64_t ptr;             /* the live address read */
    uint64_t offset;          /* the first differing byte */
    const uint8_t *expected_data, *got_data;
    size_t expected_len, got_len;
    /* RP_DIV_EXIT: recorded and live status (signal 0: exited with code). */
    int expected_code, expected_signal, got_code, got_signal;
    /* One lowercase line saying what happened. */
    char message[1024];
};

struct rp_config {
    const char *trace_path;        /* the trace file (or `io`) */
    struct trace_io *io;           /* read from this instead (not freed); NULL: trace_path */
    const uint8_t *key;            /* the chain key of a keyed trace, or NULL */
    const char *exe;               /* run this executable instead of the header's; NULL: header's */
    int seccomp;                   /* 1 (default): the jail, as for `run` */
    int keep_going;                /* 0: stop at the first divergence; 1: report and resynchronise */
    uint64_t max_divergences;      /* with keep_going: stop after this many; default 100 */
    uint64_t stop_at;              /* pause before event N (RP_NO_STOP: never) */
    double timeout_seconds;        /* 0: none; else the live guest is killed after this long */
    enum st_cpu_policy cpu_policy; /* where the guest and the replayer run: one CPU by
                                      default (controller/cpu_place.h) */
    int cpu;                       /* with ST_CPU_FIXED */
    void *ctx;
    /* Each recorded event, once replayed (requests once matched; non-call
     * events such as GUEST_STDERR and NOTE as they are passed). */
    void (*on_event)(void *ctx, const struct trace_event *ev);
    /* The live guest's write(1|2) data (what it printed), as it comes. */
    void (*on_output)(void *ctx, int fd, const void *data, size_t len);
    /* Bytes the live guest wrote to its real stderr (runtime diagnostics). */
    void (*on_stderr)(void *ctx, const void *data, size_t len);
    /* A divergence. */
    void (*on_divergence)(void *ctx, const struct rp_divergence *d);
    /* --stop-at: the guest (pid) is blocked in request `seq`'s answer; the
     * replay goes on when this returns. */
    void (*on_stop)(void *ctx, pid_t pid, uint64_t seq);
};

#define RP_NO_STOP UINT64_MAX

/* Defaults: seccomp on, stop at the first divergence, no stop_at, no timeout. */
void rp_config_init(struct rp_config *cfg);

struct rp_result {
    enum rp_end end;
    uint64_t events;           /* recorded events replayed */
    uint64_t requests;         /* live requests answered */
    uint64_t divergences;
    /* How the recorded run ended (from GUEST_EXIT, LIMIT, VIOLATION). */
    int recorded_end_seen;     /* a GUEST_EXIT event was replayed */
    int recorded_code, recorded_signal;
    char recorded_reason[256];
    char recorded_limit[32];   /* the limit the recording ended with ("timeout"...), or "" */
    int recorded_violation;    /* the recording saw a protocol violation */
    /* The process exit code `sandtrace run`/`record` gave the recorded run
     * (run_outcome_exit_code's rules): the code, 128 + signal, or 71..76 for
     * a limit or a violation. -1 when the trace does not say. */
    int recorded_exit;
    /* How the live guest ended (signal 0: exited with code). */
    int live_code, live_signal;
    int live_killed;           /* the replayer ended it (the recording's controller had too) */
    pid_t pid;
    /* RP_END_TRUNCATED/RP_END_ERROR: why, and the reader's error. */
    int trace_error;
    int timed_out;             /* RP_END_ERROR because cfg.timeout_seconds ran out */
    char message[1024];
};

struct rp_replay;

/* Opens the trace and checks its header (an executable to start). On
 * failure *out is NULL and a message is written to `err` (err_cap bytes):
 * "cannot open trace 'x.sbt': No such file or directory". Errors: RP_E_TRACE
 * (cannot be read: missing, a directory, not a trace), RP_E_DAMAGED (its
 * header is damaged or cut short), RP_E_KEY, RP_E_EXE, RP_E_NOMEM,
 * RP_E_INVALID. */
int rp_replay_new(const struct rp_config *cfg, struct rp_replay **out, char *err, size_t err_cap);

/* The trace's header; valid until rp_replay_free. */
const struct trace_header *rp_replay_header(const struct rp_replay *r);

/* The executable that will be started. */
const char *rp_replay_exe(const struct rp_replay *r);

/* Compares the executable's BLAKE2b-256 with the recorded one: 1 same,
 * 0 different, -1 unknown (no recorded hash, or the file cannot be read). */
int rp_replay_exe_matches(const struct rp_replay *r);

/* Runs the replay to its end and fills `res`. Returns 0 when res says how
 * it ended (whatever the guest did), or a negative RP_E_* when the guest
 * could not be started (res->message says why). Runs once. It changes no
 * signal disposition: the caller ignores SIGPIPE, so that a guest that dies
 * mid-answer does not kill it. */
int rp_replay_run(struct rp_replay *r, struct rp_result *res);

/* Frees everything (kills a guest still running). NULL is fine. */
void rp_replay_free(struct rp_replay *r);

#endif
