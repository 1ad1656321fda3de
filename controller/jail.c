/* The guest's seccomp filter and its warden (controller/jail.h). */
#include "controller/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

#include "controller/error.h"

/* ------------------------------------------------------------ the filter */

/* Allowed without conditions: memory, libc's start-up, the signal plumbing
 * of abort(), reading (the loader's files and the protocol's fd 0: a guest
 * has no other fd it could get now), closing, and ending. */
static const char *const allowed_plain[] = {
    "read", "pread64", "close", "fstat", "lseek",
    "mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "getrandom",
    "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
    "rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack",
    "getpid", "gettid", "futex", "clock_gettime", "exit", "exit_group", NULL,
};

#define FILTER_MAX_INSNS 4096
static struct sock_filter filter_insns[FILTER_MAX_INSNS];

static int add_rules(scmp_filter_ctx ctx, int report_fd)
{
    int rc = 0;
    for (size_t i = 0; allowed_plain[i] && rc == 0; i++) {
        int nr = seccomp_syscall_resolve_name(allowed_plain[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    /* Output on fds 1 and 2; the report socket until execve closes it. */
    const int out_fds[] = { 1, 2, report_fd };
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)out_fds[i]));
        if (rc == 0 && i < 2)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)out_fds[i]));
    }
    /* Handing the listener to the controller. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)report_fd));
    /* Reading its own limits (never setting them, never another process's). */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2,
                              SCMP_A0(SCMP_CMP_EQ, 0), SCMP_A2(SCMP_CMP_EQ, 0));
    /* isatty(). */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TCGETS));
    /* abort(), and the guest runtime turning an EFAULT into the fault it
     * stands for: itself, SIGABRT or SIGSEGV only. */
    static const int self_signals[] = { SIGABRT, SIGSEGV };
    for (size_t i = 0; i < 2 && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
                              SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)self_signals[i]));
    return rc;
}

int st_jail_filter_build(struct st_jail_filter *f, int report_fd)
{
    memset(f, 0, sizeof *f);
    /* Everything not allowed goes to the warden; another architecture's
     * calls (int 0x80, x32) kill. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
    if (!ctx)
        return ST_E_SECCOMP;
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc == 0)
        rc = add_rules(ctx, report_fd);
    /* Compile to BPF through a pipe (libseccomp exports to an fd). */
    int p[2] = { -1, -1 };
    if (rc == 0 && pipe(p) != 0)
        rc = -1;
    if (rc == 0)
        rc = seccomp_export_bpf(ctx, p[1]);
    seccomp_release(ctx);
    if (p[1] >= 0)
        close(p[1]);
    size_t got = 0;
    while (rc == 0 && got < sizeof filter_insns) {
        ssize_t n = read(p[0], (char *)filter_insns + got, sizeof filter_insns - got);
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
    if (rc != 0 || got == 0 || got % sizeof filter_insns[0] || got >= sizeof filter_insns)
        return ST_E_SECCOMP;
    f->len = (unsigned short)(got / sizeof filter_insns[0]);
    f->insns = filter_insns;
    return 0;
}

int st_jail_filter_install(const struct st_jail_filter *f)
{
    struct sock_fprog prog = { .len = f->len, .filter = f->insns };
    long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    return fd < 0 ? ST_E_SECCOMP : (int)fd;
}

/* ------------------------------------------------------------ the warden */

enum verdict {
    V_CONTINUE,     /* let the call run */
    V_DATA,         /* let the call run, and report it (locale data) */
    V_DENY,         /* answer an errno, report it */
    V_KILL,         /* kill the guest (loose: EPERM), report it */
};

/* What the warden knows of a call beyond the filter: which argument is a
 * path, and what to answer once the loader's work is over. Calls not listed
 * are forbidden. */
enum call_kind {
    K_FORBIDDEN,    /* kill */
    K_EXEC,         /* the first one starts the guest; any other: forbidden */
    K_OPEN,         /* open/openat: loader files; read-only elsewhere: ENOENT; writing: forbidden */
    K_LOOK,         /* stat, access, readlink...: loader files, fstat forms; else ENOENT */
    K_INFO,         /* harmless questions and no-ops: EPERM (ioctl: ENOTTY) */
};

struct call_rule {
    const char *name;
    enum call_kind kind;
    signed char path_arg;   /* index of the path argument, -1: none */
    signed char flags_arg;  /* open flags (K_OPEN) or AT_* flags (K_LOOK), -1: none */
    int err;                /* K_INFO: the errno answered */
};

static const struct call_rule rules[] = {
    { "execve", K_EXEC, 0, -1, 0 },
    { "execveat", K_EXEC, 1, -1, 0 },
    { "open", K_OPEN, 0, 1, 0 },
    { "openat", K_OPEN, 1, 2, 0 },
    { "openat2", K_FORBIDDEN, 1, -1, 0 },
    { "creat", K_FORBIDDEN, 0, -1, 0 },
    { "stat", K_LOOK, 0, -1, 0 },
    { "lstat", K_LOOK, 0, -1, 0 },
    { "newfstatat", K_LOOK, 1, 3, 0 },
    { "statx", K_LOOK, 1, 2, 0 },
    { "access", K_LOOK, 0, -1, 0 },
    { "faccessat", K_LOOK, 1, -1, 0 },
    { "faccessat2", K_LOOK, 1, -1, 0 },
    { "readlink", K_LOOK, 0, -1, 0 },
    { "readlinkat", K_LOOK, 1, -1, 0 },
    { "statfs", K_LOOK, 0, -1, 0 },
    { "getxattr", K_LOOK, 0, -1, 0 },
    { "lgetxattr", K_LOOK, 0, -1, 0 },
    { "chdir", K_LOOK, 0, -1, 0 },
    { "ioctl", K_INFO, -1, -1, ENOTTY },
    { "uname", K_INFO, -1, -1, EPERM },
    { "sysinfo", K_INFO, -1, -1, EPERM },
    { "sched_getaffinity", K_INFO, -1, -1, EPERM },
    { "sched_yield", K_INFO, -1, -1, EPERM },
    { "getcwd", K_INFO, -1, -1, ENOENT },
    { "getrusage", K_INFO, -1, -1, EPERM },
    { "times", K_INFO, -1, -1, EPERM },
    { "getuid", K_INFO, -1, -1, EPERM },
    { "geteuid", K_INFO, -1, -1, EPERM },
    { "getgid", K_INFO, -1, -1, EPERM },
    { "getegid", K_INFO, -1, -1, EPERM },
    { "getresuid", K_INFO, -1, -1, EPERM },
    { "getresgid", K_INFO, -1, -1, EPERM },
    { "getgroups", K_INFO, -1, -1, EPERM },
    { "getppid", K_INFO, -1, -1, EPERM },
    { "getpgrp", K_INFO, -1, -1, EPERM },
    { "getpgid", K_INFO, -1, -1, EPERM },
    { "getsid", K_INFO, -1, -1, EPERM },
    { "getpriority", K_INFO, -1, -1, EPERM },
    { "prlimit64", K_INFO, -1, -1, EPERM },
    { "getrlimit", K_INFO, -1, -1, EPERM },
    { "fstatfs", K_INFO, -1, -1, EPERM },
    { "fcntl", K_INFO, -1, -1, EPERM },
    { "dup", K_INFO, -1, -1, EPERM },
    { "dup2", K_INFO, -1, -1, EPERM },
    { "dup3", K_INFO, -1, -1, EPERM },
    { "getdents64", K_INFO, -1, -1, EPERM },
    { "clock_getres", K_INFO, -1, -1, EPERM },
    { "gettimeofday", K_INFO, -1, -1, EPERM },
    { "time", K_INFO, -1, -1, EPERM },
    { "nanosleep", K_INFO, -1, -1, EPERM },
    { "clock_nanosleep", K_INFO, -1, -1, EPERM },
    { "poll", K_INFO, -1, -1, EPERM },
    { "ppoll", K_INFO, -1, -1, EPERM },
    { "select", K_INFO, -1, -1, EPERM },
    { "pselect6", K_INFO, -1, -1, EPERM },
    { "membarrier", K_INFO, -1, -1, EPERM },
    { "sched_getscheduler", K_INFO, -1, -1, EPERM },
    { "sched_getparam", K_INFO, -1, -1, EPERM },
    { "getcpu", K_INFO, -1, -1, EPERM },
};
#define NRULES (sizeof rules / sizeof rules[0])

#define EVENT_QUEUE 64
#define MAX_SUMMARY 32
#define PATH_MAX_READ 1024

struct st_jail {
    int listener;
    int stop_pipe[2];
    pid_t pid;
    int loose;
    char exe_dir[4096];             /* realpath of the executable's directory, with '/' */
    int rule_nr[NRULES];            /* the rules' system call numbers (-1: unknown here) */
    pthread_t thread;
    int thread_started;
    atomic_int running;             /* the loader's work is over */
    atomic_uint pending;            /* events queued (a cheap check for the controller) */
    int execs;                      /* execve calls seen */
    pthread_mutex_t mu;
    struct st_jail_event queue[EVENT_QUEUE];
    size_t qhead, qlen;
    uint64_t dropped;
    struct {
        char name[32];
        uint64_t count;
    } summary[MAX_SUMMARY];
    size_t nsummary;
    int killed;
    struct st_jail_event kill_event;
};

/* Reads a NUL-terminated string at `addr` in the guest (page by page, so a
 * string that ends before an unmapped page is still read). Returns its
 * length, or -1 when it cannot be read or is longer than cap - 1. */
static ssize_t guest_read_str(pid_t pid, uint64_t addr, char *buf, size_t cap)
{
    size_t got = 0;
    while (got + 1 < cap) {
        uint64_t at = addr + got;
        size_t chunk = 4096 - (size_t)(at % 4096);
        if (chunk > cap - 1 - got)
            chunk = cap - 1 - got;
        struct iovec local = { buf + got, chunk };
        struct iovec remote = { (void *)(uintptr_t)at, chunk };
        ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
        if (n <= 0)
            return -1;
        void *nul = memchr(buf + got, 0, (size_t)n);
        if (nul)
            return (ssize_t)((char *)nul - buf);
        got += (size_t)n;
    }
    return -1;
}

/* Beneath one of the directories the loader takes libraries from: the
 * system's, or the executable's own. */
static int in_loader_dirs(const struct st_jail *j, const char *path)
{
    static const char *const dirs[] = { "/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/",
                                        "/usr/local/lib/", NULL };
    for (size_t i = 0; dirs[i]; i++)
        if (!strncmp(path, dirs[i], strlen(dirs[i])))
            return 1;
    return j->exe_dir[0] && !strncmp(path, j->exe_dir, strlen(j->exe_dir));
}

/* A path the loader may open or look at: /etc/ld.so.cache and
 * /etc/ld.so.preload, and shared objects (a name with ".so") in the system's
 * library directories or under the executable's own directory. No "..". */
static int loader_path_ok(const struct st_jail *j, const char *path)
{
    if (path[0] != '/' || strstr(path, "/../") || strstr(path, "/./"))
        return 0;
    size_t len = strlen(path);
    if (len >= 3 && !strcmp(path + len - 3, "/.."))
        return 0;
    if (!strcmp(path, "/etc/ld.so.cache") || !strcmp(path, "/etc/ld.so.preload"))
        return 1;
    const char *base = strrchr(path, '/') + 1;
    if (!strstr(base, ".so"))
        return 0;
    return in_loader_dirs(j, path);
}

/* Under a directory where the loader looks for libraries (the system's, or
 * the executable's own): stats and access checks there reveal nothing of
 * the host's data. */
static int loader_dir_ok(const struct st_jail *j, const char *path)
{
    if (path[0] != '/' || strstr(path, "/.."))
        return 0;
    return in_loader_dirs(j, path);
}

/* The system's locale data, which libc reads itself when the guest's LANG
 * names a locale (setlocale): public, the same on every host that has the
 * locale, and nothing the guest chooses (LANG is the controller's). Opened
 * read-only at any time, and reported. */
static int locale_path_ok(const char *path)
{
    if (strstr(path, "/.."))
        return 0;
    if (!strncmp(path, "/usr/lib/locale/", 16) || !strcmp(path, "/usr/share/locale/locale.alias"))
        return 1;
    /* iconv's module list (data; the modules themselves stay out). */
    const char *gconv = strstr(path, "/gconv/gconv-modules");
    return gconv && (!strncmp(path, "/usr/lib/", 9) || !strncmp(path, "/lib/", 5)) &&
           !strchr(gconv + 20, '/') && !strstr(gconv, ".so");
}

/* Appends `s` to dst as a C string literal, non-printable bytes escaped. */
static void quote_into(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst);
    if (n + 2 >= cap)
        return;
    dst[n++] = '"';
    for (; *s && n + 6 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(dst + n, cap - n, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            n += (size_t)snprintf(dst + n, cap - n, "\\x%02x", c);
        else
            dst[n++] = (char)c;
    }
    if (*s && n + 4 < cap) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    if (n + 1 < cap)
        dst[n++] = '"';
    dst[n] = '\0';
}

static void describe(struct st_jail_event *ev, const char *name, const struct seccomp_data *d,
                     int path_arg, const char *path, int err, int killed)
{
    memset(ev, 0, sizeof *ev);
    snprintf(ev->call, sizeof ev->call, "%s", name);
    ev->killed = killed;
    size_t cap = sizeof ev->text;
    snprintf(ev->text, cap, "%s(", name);
    for (int i = 0; i < 6; i++) {
        /* Three arguments say enough; a path is shown as a string. */
        if (i >= 3 && i != path_arg)
            break;
        size_t n = strlen(ev->text);
        if (i > 0)
            snprintf(ev->text + n, cap - n, ", ");
        n = strlen(ev->text);
        if (i == path_arg && path)
            quote_into(ev->text, cap, path);
        else if (i == path_arg - 1 && (int)d->args[i] == AT_FDCWD)
            snprintf(ev->text + n, cap - n, "AT_FDCWD");
        else
            snprintf(ev->text + n, cap - n, "%#llx", (unsigned long long)d->args[i]);
    }
    size_t n = strlen(ev->text);
    if (killed)
        snprintf(ev->text + n, cap - n, ") = killed");
    else if (err == 0)
        snprintf(ev->text + n, cap - n, ")");
    else
        snprintf(ev->text + n, cap - n, ") = -1 %s", strerrorname_np(err) ? strerrorname_np(err) : "?");
}

static void record(struct st_jail *j, const struct st_jail_event *ev)
{
    pthread_mutex_lock(&j->mu);
    size_t k = 0;
    while (k < j->nsummary && strcmp(j->summary[k].name, ev->call))
        k++;
    if (!ev->allowed && k == j->nsummary && k < MAX_SUMMARY) {
        snprintf(j->summary[k].name, sizeof j->summary[k].name, "%s", ev->call);
        j->nsummary++;
    }
    if (!ev->allowed && k < j->nsummary)
        j->summary[k].count++;
    if (j->qlen < EVENT_QUEUE) {
        j->queue[(j->qhead + j->qlen) % EVENT_QUEUE] = *ev;
        j->qlen++;
    } else {
        j->dropped++;
    }
    if (ev->killed && !j->killed) {
        j->killed = 1;
        j->kill_event = *ev;
    }
    atomic_store(&j->pending, (unsigned)j->qlen);
    pthread_mutex_unlock(&j->mu);
}

/* Decides one call. Sets *err for V_DENY; fills path (may stay empty). */
static enum verdict decide(struct st_jail *j, const struct seccomp_notif *req, int *rule_out,
                           char *path, size_t cap, int *err)
{
    int nr = req->data.nr;
    int r = -1;
    for (size_t i = 0; i < NRULES; i++)
        if (j->rule_nr[i] == nr) {
            r = (int)i;
            break;
        }
    *rule_out = r;
    path[0] = '\0';
    if (r < 0)
        return V_KILL;
    const struct call_rule *cr = &rules[r];
    int have_path = 0;
    if (cr->path_arg >= 0)
        have_path = guest_read_str(req->pid, req->data.args[cr->path_arg], path, cap) >= 0;
    if (!have_path)
        path[0] = '\0';
    int loader = !atomic_load(&j->running);
    switch (cr->kind) {
    case K_EXEC:
        /* The first execve is the guest's own start, made by our child
         * before any of the guest's code exists. */
        if (j->execs++ == 0 && loader)
            return V_CONTINUE;
        return V_KILL;
    case K_OPEN: {
        uint64_t flags = req->data.args[cr->flags_arg];
        if (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND))
            return V_KILL;
        if (loader && have_path && loader_path_ok(j, path))
            return V_CONTINUE;
        if (have_path && locale_path_ok(path))
            return V_DATA;
        *err = ENOENT;
        return V_DENY;
    }
    case K_LOOK:
        /* fstat(fd) as newfstatat(fd, "", AT_EMPTY_PATH) or statx. */
        if (cr->flags_arg >= 0 && have_path && path[0] == '\0' &&
            (req->data.args[cr->flags_arg] & AT_EMPTY_PATH))
            return V_CONTINUE;
        if (loader && have_path && (loader_dir_ok(j, path) || loader_path_ok(j, path) ||
                                    (strstr(cr->name, "readlink") && !strcmp(path, "/proc/self/exe"))))
            return V_CONTINUE;
        if (have_path && locale_path_ok(path))
            return V_DATA;
        *err = ENOENT;
        return V_DENY;
    case K_INFO:
        *err = cr->err;
        return V_DENY;
    case K_FORBIDDEN:
        break;
    }
    return V_KILL;
}

static void handle(struct st_jail *j, const struct seccomp_notif *req)
{
    char path[PATH_MAX_READ];
    int err = 0, r = -1;
    enum verdict v = decide(j, req, &r, path, sizeof path, &err);
    struct seccomp_notif_resp resp = { .id = req->id };
    /* The guest may have died meanwhile (and its pid been reused): the
     * path read above belongs to this notification only if it is valid. */
    if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &resp.id) != 0)
        return;
    if (v == V_KILL && j->loose) {
        v = V_DENY;
        err = EPERM;
    }
    if (v == V_CONTINUE) {
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else if (v == V_DATA) {
        struct st_jail_event ev;
        describe(&ev, rules[r].name, &req->data, rules[r].path_arg, path, 0, 0);
        ev.allowed = 1;
        record(j, &ev);
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    } else {
        char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, req->data.nr);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "syscall_%d", req->data.nr);
        struct st_jail_event ev;
        describe(&ev, name ? name : fallback, &req->data, r >= 0 ? rules[r].path_arg : -1,
                 path[0] ? path : NULL, err, v == V_KILL);
        free(name);
        record(j, &ev);
        if (v == V_KILL) {
            kill(j->pid, SIGKILL);
            err = EPERM;
        }
        resp.error = -err;
    }
    ioctl(j->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void *warden_main(void *arg)
{
    struct st_jail *j = arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        struct pollfd p[2] = { { j->listener, POLLIN, 0 }, { j->stop_pipe[0], POLLIN, 0 } };
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            struct seccomp_notif req;
            memset(&req, 0, sizeof req);
            if (ioctl(j->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0)
                handle(j, &req);
            else if (errno != EINTR && errno != ENOENT)
                break;
        } else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            break;  /* no process is left under the filter */
        }
    }
    return NULL;
}

int st_jail_start(struct st_jail **out, int listener, pid_t pid, const char *exe,
                  const char *exe_dir, int loose)
{
    *out = NULL;
    struct st_jail *j = calloc(1, sizeof *j);
    if (!j) {
        close(listener);
        return ST_E_NOMEM;
    }
    j->listener = listener;
    j->pid = pid;
    j->loose = loose;
    j->stop_pipe[0] = j->stop_pipe[1] = -1;
    pthread_mutex_init(&j->mu, NULL);
    for (size_t i = 0; i < NRULES; i++) {
        int nr = seccomp_syscall_resolve_name(rules[i].name);
        j->rule_nr[i] = nr == __NR_SCMP_ERROR ? -1 : nr;
    }
    /* The executable's directory, where $ORIGIN libraries live: in the
     * guest's own root when it has one (the host's path is not there). */
    if (exe_dir && strlen(exe_dir) < sizeof j->exe_dir)
        snprintf(j->exe_dir, sizeof j->exe_dir, "%s", exe_dir);
    char *real = exe && !exe_dir ? realpath(exe, NULL) : NULL;
    if (real) {
        char *slash = strrchr(real, '/');
        if (slash && (size_t)(slash - real) + 2 <= sizeof j->exe_dir)
            snprintf(j->exe_dir, sizeof j->exe_dir, "%.*s/", (int)(slash - real), real);
        free(real);
    }
    if (pipe2(j->stop_pipe, O_CLOEXEC) != 0 ||
        pthread_create(&j->thread, NULL, warden_main, j) != 0) {
        st_jail_stop(j);
        return ST_E_SECCOMP;
    }
    j->thread_started = 1;
    *out = j;
    return 0;
}

void st_jail_mark_running(struct st_jail *j)
{
    if (j)
        atomic_store(&j->running, 1);
}

size_t st_jail_take_events(struct st_jail *j, struct st_jail_event *ev, size_t cap,
                           uint64_t *dropped)
{
    if (dropped)
        *dropped = 0;
    if (!j || atomic_load(&j->pending) == 0)
        return 0;
    pthread_mutex_lock(&j->mu);
    size_t n = 0;
    while (n < cap && j->qlen > 0) {
        ev[n++] = j->queue[j->qhead];
        j->qhead = (j->qhead + 1) % EVENT_QUEUE;
        j->qlen--;
    }
    if (dropped)
        *dropped = j->dropped;
    j->dropped = 0;
    atomic_store(&j->pending, (unsigned)j->qlen);
    pthread_mutex_unlock(&j->mu);
    return n;
}

size_t st_jail_denied_summary(struct st_jail *j, const char **names, uint64_t *counts, size_t cap)
{
    if (!j)
        return 0;
    pthread_mutex_lock(&j->mu);
    size_t n = j->nsummary;
    for (size_t i = 0; i < n && i < cap; i++) {
        names[i] = j->summary[i].name;
        counts[i] = j->summary[i].count;
    }
    pthread_mutex_unlock(&j->mu);
    return n;
}

int st_jail_killed(struct st_jail *j, struct st_jail_event *ev)
{
    if (!j)
        return 0;
    pthread_mutex_lock(&j->mu);
    int k = j->killed;
    if (k && ev)
        *ev = j->kill_event;
    pthread_mutex_unlock(&j->mu);
    return k;
}

void st_jail_stop(struct st_jail *j)
{
    if (!j)
        return;
    if (j->thread_started) {
        ssize_t w = write(j->stop_pipe[1], "x", 1);
        (void)w;
        pthread_join(j->thread, NULL);
    }
    if (j->stop_pipe[0] >= 0)
        close(j->stop_pipe[0]);
    if (j->stop_pipe[1] >= 0)
        close(j->stop_pipe[1]);
    if (j->listener >= 0)
        close(j->listener);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
