/* Starting a guest process and ending it: fork + exec with the protocol pipes
 * on fds 0 and 1, its stderr through a pipe (or inherited), an explicit
 * environment, a new process group, PR_SET_PDEATHSIG so it dies with the
 * controller, no_new_privs, rlimits, optionally no ASLR, the namespaces,
 * empty root and Landlock of controller/fsjail.h, and the seccomp jail of
 * controller/jail.h, installed last before execve (docs/security.md). Used by the session and the
 * replayer. Nothing here prints or exits. */
#ifndef SANDTRACE_CONTROLLER_SPAWN_H
#define SANDTRACE_CONTROLLER_SPAWN_H

#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "controller/cpu_place.h"

struct st_spawn_config {
    const char *path;          /* the real executable */
    char *const *argv;         /* NULL-terminated; argv[0] is what the guest sees */
    char *const *envp;         /* NULL-terminated; NULL means an empty environment */
    int stderr_pipe;           /* 1: guest fd 2 is a pipe (st_child.err_fd); 0: inherited */
    int seccomp;               /* 1: install the seccomp jail before execve */
    int no_aslr;               /* 1: personality(ADDR_NO_RANDOMIZE) (deterministic pointers) */
    uint64_t cpu_seconds;      /* RLIMIT_CPU (soft; hard is one second more); 0: unchanged */
    uint64_t memory_bytes;     /* RLIMIT_AS; 0: unchanged */
    int loose_jail;            /* 1: the jail answers forbidden calls with EPERM instead
                                  of killing (controller/jail.h) */
    int no_fs_jail;            /* 1: no namespaces, empty root or Landlock
                                  (controller/fsjail.h); 0: every such layer available */
    /* Where the guest and the thread that answers it run (for the guest
     * link, which pins: controller/cpu_place.h). ST_CPU_SHARED (0): on one
     * CPU chosen at the start, for a jailed guest; `cpu` with ST_CPU_FIXED. */
    enum st_cpu_policy cpu_policy;
    int cpu;
};

/* Sets every field to its default: no env, stderr piped, seccomp on. */
void st_spawn_config_init(struct st_spawn_config *cfg);

struct st_child {
    pid_t pid;                 /* also the process group id; 0 when not running */
    int to_guest;              /* write end: the guest's stdin (commands) */
    int from_guest;            /* read end: the guest's stdout (requests, replies); O_NONBLOCK */
    int err_fd;                /* read end of the guest's stderr pipe (O_NONBLOCK), or -1 */
    int exec_errno;            /* why execve failed, when st_spawn returned ST_E_SPAWN */
    int reaped;                /* 1 once st_child_wait collected its status */
    int status;                /* the wait status, once reaped */
    struct rusage usage;       /* the guest's resource usage, once reaped */
    struct st_jail *jail;      /* the jail's warden (seccomp on), or NULL */
    unsigned layers;           /* the jail's layers in force (ST_LAYER_* of controller/fsjail.h) */
};

/* Starts the guest. Returns 0 and fills `child`, or ST_E_SPAWN (child->exec_errno
 * says why: the executable is missing, not executable, ...), ST_E_SECCOMP,
 * ST_E_NOJAIL (the file-system layers are wanted and this system has
 * neither user namespaces nor Landlock), ST_E_ELF (the executable or a
 * library it needs is malformed or not found), ST_E_FSJAIL (the layers
 * could not be set up; child->exec_errno says why).
 * The pipes are close-on-exec in the controller. */
int st_spawn(const struct st_spawn_config *cfg, struct st_child *child);

/* Waits for the guest to end (blocking, or not when `nohang`). Returns 1 when
 * it has ended (child->status/usage are filled), 0 when `nohang` and it is
 * still running, or a negative ST_E_*. Calling it again after the end returns 1. */
int st_child_wait(struct st_child *child, int nohang);

/* Sends `sig` to the guest's whole process group. */
void st_child_kill(struct st_child *child, int sig);

/* Closes the pipe ends the controller holds and stops the jail's warden
 * (idempotent; call it once the guest is reaped). */
void st_child_close(struct st_child *child);

/* The system calls the jail allows, as "name" strings (NULL-terminated list),
 * for documentation and `check`. */
const char *const *st_jail_allowed_syscalls(void);

#endif
