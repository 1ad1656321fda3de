/* Starting, jailing, waiting for and killing a guest process. */
#include "controller/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "controller/error.h"
#include "controller/jail_rules.h"

void st_spawn_config_init(struct st_spawn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stderr_pipe = 1;
    cfg->seccomp = 1;
}

/* What the loader and libc's start-up need beyond a running guest's rules
 * (controller/jail_rules.h), without conditions. The calls allowed only with
 * conditions on their arguments are added in jail_build(). */
static const char *const loader_allowed[] = {
    "read", "pread64", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
    "readlink", "access", "faccessat", "faccessat2", NULL,
};

/* For documentation: every call the jail lets through, conditions aside. */
static const char *const all_allowed[] = {
    "read", "pread64", "close", "fstat", "newfstatat", "lseek",
    "mmap", "mprotect", "munmap", "mremap", "brk", "madvise",
    "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "getrandom",
    "readlink", "access", "faccessat", "faccessat2",
    "rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack",
    "getpid", "gettid", "futex", "clock_gettime", "exit", "exit_group",
    "write (fds 1 and 2)", "writev (fds 1 and 2)", "openat (read-only)", "open (read-only)",
    "prlimit64 (reading only)", "ioctl (TCGETS only)", "tgkill (itself, SIGABRT or SIGSEGV)",
    "execve (the guest's own executable, once: the controller's pointer)",
    NULL,
};

const char *const *st_jail_allowed_syscalls(void)
{
    return all_allowed;
}

/* The compiled filter, built before the rlimits are set (building
 * allocates, which RLIMIT_AS may forbid) and loaded last. */
#define JAIL_MAX_INSNS 4096
static struct sock_filter jail_insns[JAIL_MAX_INSNS];
static struct sock_fprog jail_prog;

/* Builds the filter in the child and compiles it into jail_prog. Returns 0
 * or ST_E_SECCOMP. */
static int jail_build(const char *exe_path, int report_fd, int stage2)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        return ST_E_SECCOMP;
    int rc = st_jail_add_running_rules(ctx);
    if (rc == 0)
        rc = st_jail_allow_plain(ctx, loader_allowed);
    /* The controller's close-on-exec report pipe, should execve fail. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)report_fd));
    /* The loader opens its libraries read-only; nothing may be created or written. */
    const scmp_datum_t wmask = O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND;
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
                              SCMP_A2(SCMP_CMP_MASKED_EQ, wmask, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, wmask, 0));
    /* The one execve that starts the guest: its path is this process's
     * pointer, which the guest's fresh address space does not know. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execve), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)(uintptr_t)exe_path));
    /* The preloaded second stage stacks its own filter: only that is let
     * through (a filter can only take permissions away). */
    if (rc == 0 && stage2)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 0);
    if (rc == 0 && stage2)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)PR_SET_NO_NEW_PRIVS));
    if (rc == 0 && stage2)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)PR_SET_SECCOMP));
    /* Compile to BPF through a pipe (libseccomp exports to an fd). */
    int p[2] = { -1, -1 };
    if (rc == 0 && pipe(p) != 0)
        rc = -1;
    if (rc == 0)
        rc = seccomp_export_bpf(ctx, p[1]);
    seccomp_release(ctx);
    size_t got = 0;
    if (p[1] >= 0)
        close(p[1]);
    while (rc == 0 && got < sizeof jail_insns) {
        ssize_t n = read(p[0], (char *)jail_insns + got, sizeof jail_insns - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = -1;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (p[0] >= 0)
        close(p[0]);
    if (rc != 0 || got == 0 || got % sizeof jail_insns[0] || got >= sizeof jail_insns)
        return ST_E_SECCOMP;
    jail_prog.len = (unsigned short)(got / sizeof jail_insns[0]);
    jail_prog.filter = jail_insns;
    return 0;
}

/* Loads the compiled filter (no allocation). */
static int jail_load(void)
{
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &jail_prog) == 0 ? 0 : ST_E_SECCOMP;
}

/* In the child: report `err` to the parent and die. */
static void child_fail(int report_fd, int err)
{
    ssize_t w = write(report_fd, &err, sizeof err);
    (void)w;
    _exit(127);
}

/* Closes every fd above `keep`. */
static void close_fds_above(int keep)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = keep + 1; fd < max; fd++)
        close(fd);
}

static void child_main(const struct st_spawn_config *cfg, int in_fd, int out_fd, int err_fd,
                       int report_fd, pid_t parent)
{
    /* Die with the controller; if it is already gone, stop here. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    if (setpgid(0, 0) != 0)
        child_fail(report_fd, errno);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0)
        child_fail(report_fd, errno);
    if (err_fd >= 0 && dup2(err_fd, 2) < 0)
        child_fail(report_fd, errno);
    /* The report pipe is close-on-exec; every other fd goes now. */
    int keep = report_fd;
    if (keep != 3) {
        int moved = fcntl(report_fd, F_DUPFD_CLOEXEC, 3);
        if (moved < 0)
            child_fail(report_fd, errno);
        report_fd = moved;
        keep = moved;
    }
    for (int fd = 3; fd < keep; fd++)
        close(fd);
    close_fds_above(keep);
    /* Default signal dispositions and an empty mask for the guest. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (cfg->seccomp && jail_build(cfg->path, report_fd, cfg->preload != NULL) != 0)
        child_fail(report_fd, -1);
    struct rlimit nocore = { 0, 0 };
    setrlimit(RLIMIT_CORE, &nocore);
    if (cfg->cpu_seconds) {
        struct rlimit rl = { cfg->cpu_seconds, cfg->cpu_seconds + 1 };
        if (setrlimit(RLIMIT_CPU, &rl) != 0)
            child_fail(report_fd, errno);
    }
    if (cfg->memory_bytes) {
        struct rlimit rl = { cfg->memory_bytes, cfg->memory_bytes };
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            child_fail(report_fd, errno);
    }
    if (cfg->no_aslr && personality(ADDR_NO_RANDOMIZE) < 0)
        child_fail(report_fd, errno);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(report_fd, errno);
    static char *const empty_env[] = { NULL };
    char *const *envp = cfg->envp ? cfg->envp : empty_env;
    if (cfg->seccomp && jail_load() != 0)
        child_fail(report_fd, -1);
    execve(cfg->path, cfg->argv, envp);
    child_fail(report_fd, errno);
}

int st_spawn(const struct st_spawn_config *cfg, struct st_child *child)
{
    memset(child, 0, sizeof *child);
    child->to_guest = child->from_guest = child->err_fd = -1;
    if (!cfg || !cfg->path || !cfg->argv || !cfg->argv[0])
        return ST_E_INVALID;
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
    int rc = ST_E_SPAWN;
    /* The environment, with the preload added (built before fork). */
    struct st_spawn_config local = *cfg;
    char **env = NULL;
    char *preload_entry = NULL;
    if (cfg->preload) {
        size_t n = 0;
        while (cfg->envp && cfg->envp[n])
            n++;
        env = calloc(n + 2, sizeof *env);
        if (!env || asprintf(&preload_entry, "LD_PRELOAD=%s", cfg->preload) < 0) {
            free(env);
            return ST_E_NOMEM;
        }
        for (size_t i = 0; i < n; i++)
            env[i] = cfg->envp[i];
        env[n] = preload_entry;
        local.envp = env;
        cfg = &local;
    }
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(rep, O_CLOEXEC) ||
        (cfg->stderr_pipe && pipe2(err, O_CLOEXEC))) {
        child->exec_errno = errno;
        goto fail;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        child->exec_errno = errno;
        goto fail;
    }
    if (pid == 0)
        child_main(cfg, in[0], out[1], err[1], rep[1], parent);
    free(env);
    free(preload_entry);
    env = NULL;
    preload_entry = NULL;
    /* Also set the group from here, so that a kill right away reaches it. */
    setpgid(pid, pid);
    close(in[0]);
    close(out[1]);
    close(rep[1]);
    in[0] = out[1] = rep[1] = -1;
    if (err[1] >= 0) {
        close(err[1]);
        err[1] = -1;
    }
    child->pid = pid;
    child->to_guest = in[1];
    child->from_guest = out[0];
    child->err_fd = err[0];
    fcntl(child->from_guest, F_SETFL, O_NONBLOCK);
    fcntl(child->to_guest, F_SETFL, O_NONBLOCK);
    if (child->err_fd >= 0)
        fcntl(child->err_fd, F_SETFL, O_NONBLOCK);
    /* The report pipe closes on a successful execve; a number means failure. */
    int code = 0;
    ssize_t got;
    while ((got = read(rep[0], &code, sizeof code)) < 0 && errno == EINTR)
        ;
    close(rep[0]);
    if (got == (ssize_t)sizeof code) {
        st_child_wait(child, 0);
        st_child_close(child);
        child->pid = 0;
        child->exec_errno = code > 0 ? code : 0;
        return code < 0 ? ST_E_SECCOMP : ST_E_SPAWN;
    }
    return 0;
fail:
    free(env);
    free(preload_entry);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0) close(in[i]);
        if (out[i] >= 0) close(out[i]);
        if (err[i] >= 0) close(err[i]);
        if (rep[i] >= 0) close(rep[i]);
    }
    return rc;
}

int st_child_wait(struct st_child *child, int nohang)
{
    if (child->reaped)
        return 1;
    if (child->pid <= 0)
        return ST_E_INVALID;
    for (;;) {
        int st = 0;
        pid_t p = wait4(child->pid, &st, nohang ? WNOHANG : 0, &child->usage);
        if (p == child->pid) {
            child->status = st;
            child->reaped = 1;
            return 1;
        }
        if (p == 0)
            return 0;
        if (errno != EINTR)
            return ST_E_IO;
    }
}

void st_child_kill(struct st_child *child, int sig)
{
    if (child->pid <= 0 || child->reaped)
        return;
    kill(-child->pid, sig);
    kill(child->pid, sig);
}

void st_child_close(struct st_child *child)
{
    if (child->to_guest >= 0)
        close(child->to_guest);
    if (child->from_guest >= 0)
        close(child->from_guest);
    if (child->err_fd >= 0)
        close(child->err_fd);
    child->to_guest = child->from_guest = child->err_fd = -1;
}
