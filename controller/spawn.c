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

#include <sys/socket.h>

#include "controller/error.h"
#include "controller/fsjail.h"
#include "controller/jail.h"

void st_spawn_config_init(struct st_spawn_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->stderr_pipe = 1;
    cfg->seccomp = 1;
}

/* For documentation: what the filter lets through without asking the
 * warden (controller/jail.c decides the rest). */
static const char *const all_allowed[] = {
    "read", "pread64", "close", "fstat", "lseek",
    "mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "getrandom",
    "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
    "rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack",
    "getpid", "gettid", "futex", "clock_gettime", "exit", "exit_group",
    "write (fds 1 and 2)", "writev (fds 1 and 2)", "prlimit64 (reading its own only)",
    "ioctl (TCGETS only)", "tgkill (itself, SIGABRT or SIGSEGV)",
    NULL,
};

const char *const *st_jail_allowed_syscalls(void)
{
    return all_allowed;
}

/* A failure of the file-system jail travels as FSJAIL_FAILED - errno. */
#define FSJAIL_FAILED (-1000)

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

/* The child's fds: the guest's pipes as 0, 1 (and 2), the report channel
 * as the lowest fd above them, nothing else. Returns the report fd. */
static int child_fds(int in_fd, int out_fd, int err_fd, int report_fd)
{
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
    return report_fd;
}

/* The guest's resource limits (no core files, CPU, address space) and
 * ASLR, as configured. */
static void child_limits(const struct st_spawn_config *cfg, int report_fd)
{
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
}

/* Hands the jail's listener fd to the controller over the report channel
 * (one message 'L' carrying it). */
static void child_send_listener(int report_fd, int listener)
{
    char tag = 'L';
    struct iovec iov = { &tag, 1 };
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &listener, sizeof listener);
    if (sendmsg(report_fd, &mh, 0) != 1)
        child_fail(report_fd, -1);
}

static void child_main(const struct st_spawn_config *cfg, const struct st_fsjail *fsj, int in_fd,
                       int out_fd, int err_fd, int report_fd, pid_t parent)
{
    /* Die with the controller; if it is already gone, stop here. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    if (setpgid(0, 0) != 0)
        child_fail(report_fd, errno);
    report_fd = child_fds(in_fd, out_fd, err_fd, report_fd);
    /* Default signal dispositions and an empty mask for the guest. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    struct st_jail_filter filter;
    if (cfg->seccomp && st_jail_filter_build(&filter, report_fd) != 0)
        child_fail(report_fd, -1);
    /* Namespaces, the empty root and Landlock, before the limits (setting
     * them up needs memory and fds) and under the filter. */
    if (fsj && st_fsjail_apply(fsj) != 0)
        child_fail(report_fd, FSJAIL_FAILED - (errno > 0 && errno < 1000 ? errno : 0));
    child_limits(cfg, report_fd);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(report_fd, errno);
    static char *const empty_env[] = { NULL };
    char *const *envp = cfg->envp ? cfg->envp : empty_env;
    if (cfg->seccomp) {
        /* From here on every call is filtered: the listener goes to the
         * controller, whose warden lets the execve below through. */
        int listener = st_jail_filter_install(&filter);
        if (listener < 0)
            child_fail(report_fd, -1);
        child_send_listener(report_fd, listener);
        close(listener);
    }
    execve(fsj ? st_fsjail_exec_path(fsj) : cfg->path, cfg->argv, envp);
    child_fail(report_fd, errno);
}

/* Reads one report from the child: 1 and *listener when it hands over the
 * jail's listener, 2 and *code when it reports a failure, 0 at the end of
 * the stream (execve succeeded), -1 on an error. */
static int read_report(int fd, int *listener, int *code)
{
    char buf[sizeof(int)];
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } ctl;
    struct iovec iov = { buf, sizeof buf };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                         .msg_controllen = sizeof ctl.buf };
    ssize_t n;
    while ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -1;
    if (n == 0)
        return 0;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (n == 1 && cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
        cm->cmsg_len == CMSG_LEN(sizeof(int))) {
        memcpy(listener, CMSG_DATA(cm), sizeof *listener);
        return 1;
    }
    if (n == (ssize_t)sizeof(int)) {
        memcpy(code, buf, sizeof *code);
        return 2;
    }
    return -1;
}

static int await_exec(const struct st_spawn_config *cfg, struct st_fsjail *fsj, int rep,
                      struct st_child *child);

int st_spawn(const struct st_spawn_config *cfg, struct st_child *child)
{
    memset(child, 0, sizeof *child);
    child->to_guest = child->from_guest = child->err_fd = -1;
    if (!cfg || !cfg->path || !cfg->argv || !cfg->argv[0])
        return ST_E_INVALID;
    /* The layers under the filter are planned here (the ELF files read,
     * every path made) so that the child only has to apply them. */
    unsigned layers = 0;
    struct st_fsjail *fsj = NULL;
    int lrc = st_fsjail_layers(cfg->no_fs_jail, cfg->seccomp, &layers);
    if (lrc == 0 && (layers & ST_LAYERS_FS))
        lrc = st_fsjail_plan(&fsj, cfg->path, cfg->envp, layers);
    if (lrc < 0) {
        child->exec_errno = lrc == ST_E_SPAWN ? errno : 0;
        return lrc;
    }
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
    /* The report channel keeps message boundaries: the jail's listener (with
     * its fd) and a failure code are separate messages. */
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rep) ||
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
        child_main(cfg, fsj, in[0], out[1], err[1], rep[1], parent);
    child->layers = layers;
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
    return await_exec(cfg, fsj, rep[0], child);
fail:
    st_fsjail_free(fsj);
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0) close(in[i]);
        if (out[i] >= 0) close(out[i]);
        if (err[i] >= 0) close(err[i]);
        if (rep[i] >= 0) close(rep[i]);
    }
    return ST_E_SPAWN;
}

/* Waits on the report channel `rep` until the child's execve. The report
 * socket closes on a successful execve; before that, a jailed child hands
 * over its listener, whose warden must be running to let the execve
 * through. A number means failure: then the child is killed and reaped.
 * Closes `rep` and frees `fsj` once the reports are read. */
static int await_exec(const struct st_spawn_config *cfg, struct st_fsjail *fsj, int rep,
                      struct st_child *child)
{
    int code = 0, listener = -1, r, failed = 0, rc = 0;
    while ((r = read_report(rep, &listener, &code)) == 1) {
        if (child->jail || !cfg->seccomp) {
            close(listener);
            failed = 1;
            code = -1;
            break;
        }
        rc = st_jail_start(&child->jail, listener, child->pid, cfg->path,
                           fsj ? st_fsjail_exe_dir(fsj) : NULL, cfg->loose_jail);
        if (rc < 0) {
            failed = 1;
            code = -1;
            break;
        }
    }
    close(rep);
    st_fsjail_free(fsj);
    if (r == 2 || r < 0)
        failed = 1;
    if (failed) {
        st_child_kill(child, SIGKILL);
        st_child_wait(child, 0);
        st_child_close(child);
        child->pid = 0;
        child->layers = 0;
        if (code <= FSJAIL_FAILED) {
            child->exec_errno = FSJAIL_FAILED - code;
            return ST_E_FSJAIL;
        }
        child->exec_errno = code > 0 ? code : 0;
        return code > 0 ? ST_E_SPAWN : ST_E_SECCOMP;
    }
    return 0;
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
    st_jail_stop(child->jail);
    child->jail = NULL;
}
