/* One run of a guest under the controller: configuration, observers, the
 * event loop, and the outcome.
 *
 *   struct st_session_config cfg;
 *   st_session_config_init(&cfg);            // defaults match what PyPy needs
 *   cfg.exe = "pypy-c-sandbox"; cfg.argv = ...; cfg.vfs = my_vfs;
 *   struct st_session *s;
 *   if (st_session_new(&cfg, &s) == 0) {
 *       st_session_add_observer(s, &tracer_observer);
 *       struct st_outcome out;
 *       st_session_run(s, &out);             // out.status, out.reason
 *       st_session_free(s);
 *   }
 *
 * The library never prints: guest output goes to the fds the config names,
 * everything else to observers and the outcome. */
#ifndef SANDTRACE_CONTROLLER_SESSION_H
#define SANDTRACE_CONTROLLER_SESSION_H

#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "controller/cpu_place.h"
#include "controller/error.h"
#include "controller/observer.h"

struct st_vfs;
struct st_session;

/* How a run ended. */
enum st_status {
    ST_STATUS_EXITED,        /* the guest exited (by itself or with an _exit request) */
    ST_STATUS_SIGNALED,      /* killed by a signal nobody here sent */
    ST_STATUS_TIMEOUT,       /* --timeout: wall clock */
    ST_STATUS_CPU,           /* --cpu: RLIMIT_CPU */
    ST_STATUS_MEMORY,        /* --memory: died of an allocation failure under RLIMIT_AS */
    ST_STATUS_OUTPUT,        /* --max-output */
    ST_STATUS_MAX_CALLS,     /* --max-calls */
    ST_STATUS_VIOLATION,     /* broke the protocol */
    ST_STATUS_UNKNOWN_CALL,  /* requested a function with no entry, or a FATAL one */
    ST_STATUS_SECCOMP,       /* made a direct system call outside the jail */
    ST_STATUS_TRACE_LIMIT,   /* an observer's bound: the trace's size (--max-trace) or signatures */
    ST_STATUS_ERROR,         /* the controller failed (could not start the guest, I/O) */
    ST_STATUS_HANDLER,       /* a user handler failed (controller/handler.h): a handler
                                process died, hung past its deadline or answered garbage */
    ST_STATUS_INTERRUPTED,   /* the caller's interrupt flag (cfg.interrupt) ended the run;
                                the outcome's signal is the flag's value */
};

/* "exited", "signaled", "timeout", "cpu", "memory", "output", "max-calls",
 * "violation", "unknown-call", "seccomp", "trace-limit", "error", "handler",
 * "interrupted". A status that a limit causes has that limit's name
 * (st_limit_name). */
const char *st_status_name(enum st_status status);

/* The limit (enum st_limit) behind a status, or -1 when none is. */
int st_status_limit(enum st_status status);

struct st_outcome {
    enum st_status status;
    int exit_code;            /* the guest's exit code (ST_STATUS_EXITED), else -1 */
    int signal;               /* the signal that ended the guest (or, status interrupted,
                                 the run), else 0 */
    char reason[256];         /* one lowercase line: "exited with code 3", "timeout after 2 s" */
    uint64_t calls;           /* requests read */
    uint64_t refused;         /* requests answered with a deliberate refusal */
    uint64_t unknown;         /* requests with no registry entry */
    uint64_t bytes_in;        /* bytes read from the guest's stdout (protocol) */
    uint64_t bytes_out;       /* bytes written to the guest's stdin (protocol) */
    uint64_t output_bytes;    /* guest output passed to stdout/stderr (write(1|2)) */
    uint64_t stderr_bytes;    /* bytes the guest wrote to its real stderr */
    uint64_t input_bytes;     /* bytes of input given to read(0) */
    double wall_seconds;      /* from spawn to the guest's end */
    double guest_user_seconds;/* the guest's CPU time (rusage) */
    double guest_sys_seconds;
    double controller_user_seconds; /* the controller's own CPU time during the run */
    double controller_sys_seconds;
    /* How the guest's memory was accessed: "direct" (process_vm_readv and
     * writev), "protocol" (R/Z/W commands), or "none" (no memory operation). */
    const char *memory_access;
    /* 1: the guest and the controller shared the CPU `cpu`; 0: not pinned
     * (ST_CPU_ANY, a single CPU, the kernel refused, or no guest ran). */
    int pinned;
    int cpu;
    /* Direct system calls the jail denied (or killed the guest for), by
     * name, in the order first seen (docs/security.md). */
    uint64_t denied;                /* all of them */
    size_t ndenied_names;
    struct {
        char name[32];
        uint64_t count;
    } denied_names[16];
    /* The jail's layers in force ("userns,mntns,...,seccomp", or "none";
     * controller/fsjail.h); empty when not known. */
    char jail_layers[96];
};

enum st_time_mode {
    ST_TIME_FROZEN,           /* always time_base: deterministic */
    ST_TIME_REAL,             /* the controller's clock */
    ST_TIME_OFFSET,           /* the controller's clock + time_offset seconds */
};

struct st_session_config {
    /* The guest. */
    const char *exe;                /* the real executable */
    const char *const *argv;        /* the guest's arguments; argv[0] is the virtual name it sees */
    size_t argc;
    /* The guest's virtual environment ("K=V"), seen through get_environ/getenv. */
    const char *const *env;
    size_t nenv;
    /* Its real process environment ("K=V", given to execve): what libc and
     * the interpreter read without asking (LANG, TZ). NULL: empty. */
    const char *const *real_env;
    size_t nreal_env;
    /* Identity. */
    uint32_t uid, gid;              /* 1000, 1000 */
    int64_t pid, ppid;              /* 4200, 1 */
    const char *pypy_home;          /* what _pypy_init_home returns; NULL: none (NULL result) */
    const char *hostname;           /* uname's nodename: "sandbox" */
    /* Time. */
    enum st_time_mode time_mode;    /* ST_TIME_FROZEN */
    int64_t time_base;              /* frozen instant (Unix seconds): 1564617600 */
    int64_t time_offset;            /* seconds, for ST_TIME_OFFSET */
    /* Streams (fds owned by the caller). */
    int in_fd;                      /* guest read(0): 0 */
    int out_fd;                     /* guest write(1): 1 */
    int err_fd;                     /* guest write(2) and its real stderr: 2 */
    int raw_stdout;                 /* 1: pass fd 1's bytes as they are; 0: non-printables as '?' */
    int raw_stderr;                 /* the same for fd 2 */
    /* Written around each piece of guest output on fd 1 (out_*) and fd 2
     * (err_*) as given, not sanitized: a tool's colours, say. NULL: nothing.
     * The strings are the caller's and must outlive the session. */
    const char *out_before, *out_after;
    const char *err_before, *err_after;
    /* Limits; 0 means none. */
    double timeout_seconds;
    uint64_t cpu_seconds;
    uint64_t memory_bytes;
    uint64_t max_calls;
    uint64_t max_output;            /* bytes of guest output (fds 1 and 2 together) */
    /* Jail and policy. */
    int seccomp;                    /* 1 */
    int loose_jail;                 /* 1: forbidden direct calls are answered with EPERM
                                       (and reported) instead of ending the guest */
    int no_fs_jail;                 /* 1: no namespaces, empty root or Landlock (controller/fsjail.h) */
    int no_aslr;                    /* 0 */
    int protocol_memory;            /* 1: read and write the guest's memory only with the
                                       protocol's R/Z/W commands, never directly */
    enum st_cpu_policy cpu_policy;  /* where the guest and the controller run
                                       (controller/cpu_place.h): one CPU by default */
    int cpu;                        /* with ST_CPU_FIXED */
    int allow_unknown;              /* 1: unknown signatures are refused with ENOSYS, not fatal */
    int log_refused;                /* 1: each refused call is reported with on_note */
    /* The caller's interruption flag (a signal handler of the caller's sets
     * it to the signal's number): when nonzero, the run ends the guest,
     * reports the limit ST_LIMIT_INTERRUPT to observers (a trace records
     * where it happened) and ends with status interrupted, "interrupted by
     * signal N (...)". NULL: none. The library installs no signal handler. */
    const volatile sig_atomic_t *interrupt;
    /* The virtual file system: the session owns it after st_session_new()
     * (freed by st_session_free, even when st_session_new fails). NULL: a
     * default one (/, /dev/null, /dev/urandom, an empty read-only /tmp). */
    struct st_vfs *vfs;
};

/* Writes guest output to `fd` the way a run shows it by default: control
 * characters (but newline and tab), C1 controls and bytes that are not
 * valid UTF-8 become '?', so that no terminal escape gets through; UTF-8
 * text passes. Returns 0 or a negative errno. */
int st_write_sanitized(int fd, const void *data, size_t n);

/* Fills `cfg` with the defaults named above. */
void st_session_config_init(struct st_session_config *cfg);

/* Creates a session; the config's strings must outlive it (they are not copied).
 * Returns 0, ST_E_CONFIG (no exe/argv, ...), ST_E_NOMEM. */
int st_session_new(const struct st_session_config *cfg, struct st_session **out);

/* Adds an observer (copied; its ctx is not owned). Up to 8. Returns 0 or ST_E_INVALID. */
int st_session_add_observer(struct st_session *s, const struct st_observer *obs);

/* Starts the guest, answers its requests until it ends, and fills `out`.
 * It changes no signal disposition: the caller ignores SIGPIPE (a guest that
 * dies mid-answer must not kill the controller) and turns SIGINT and the
 * like into cfg.interrupt.
 * Returns 0 when the outcome is meaningful (whatever the guest did), or a
 * negative ST_E_* when the guest could not be started (the outcome says why,
 * with status ST_STATUS_ERROR). Runs once per session. */
int st_session_run(struct st_session *s, struct st_outcome *out);

/* Frees the session and its vfs; NULL is fine. */
void st_session_free(struct st_session *s);

/* Runs `exe` in dump mode (RPY_SANDBOX_DUMP=1, in the jail) and returns its
 * stdout in *text (caller frees), at most 1 MiB, waiting at most
 * `timeout_seconds`. Returns 0, ST_E_SPAWN, ST_E_TIMEOUT, ST_E_TOO_BIG.
 * Signal dispositions are the caller's (tools/ ignores SIGPIPE meanwhile). */
int st_dump_capture(const char *exe, double timeout_seconds, char **text, int *exec_errno);

/* A parsed dump. `funcs` point into the text given to st_dump_parse. */
struct st_dump {
    long version;                   /* 20001 */
    char platform[32];
    size_t nfuncs;
    const char **funcs;             /* NUL-terminated signature texts (the text is modified) */
};

/* Parses (and modifies) `text`; on success d->funcs must be freed with
 * st_dump_release. Returns 0, ST_E_BAD_TEXT (no Version/Funcs line), ST_E_NOMEM. */
int st_dump_parse(char *text, struct st_dump *d);
void st_dump_release(struct st_dump *d);

#endif
