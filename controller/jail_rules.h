/* The seccomp rules both stages of the guest's jail share: what a guest
 * needs once it runs (PROTOCOL.md, last section), stages aside. spawn.c's
 * first stage adds what the dynamic loader needs before that; the preloaded
 * second stage (jail_preload.c, `run --strict-jail`) adds only read(0).
 * Header-only: the second stage is a separate shared library. */
#ifndef SANDTRACE_CONTROLLER_JAIL_RULES_H
#define SANDTRACE_CONTROLLER_JAIL_RULES_H

#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* Allows each named call without conditions (names unknown to this
 * architecture are skipped). Returns 0 or libseccomp's negative error. */
static inline int st_jail_allow_plain(scmp_filter_ctx ctx, const char *const *names)
{
    int rc = 0;
    for (size_t i = 0; names[i] && rc == 0; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    return rc;
}

/* What a running guest may do: memory, the signal plumbing of abort(),
 * stdio's checks on its fds, output on fds 1 and 2 only, reading (never
 * setting) a limit, isatty() on its stderr, and killing itself with SIGABRT
 * (abort()) or SIGSEGV (the guest runtime turning an EFAULT into the fault it
 * stands for). Returns 0 or libseccomp's negative error. */
static inline int st_jail_add_running_rules(scmp_filter_ctx ctx)
{
    static const char *const plain[] = {
        "mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "getrandom",
        "fstat", "newfstatat", "lseek", "close",
        "rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack",
        "getpid", "gettid", "futex", "clock_gettime", "exit", "exit_group", NULL,
    };
    int rc = st_jail_allow_plain(ctx, plain);
    for (int fd = 1; fd <= 2 && rc == 0; fd++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd));
    }
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TCGETS));
    static const int self_signals[] = { SIGABRT, SIGSEGV };
    for (size_t i = 0; i < sizeof self_signals / sizeof self_signals[0] && rc == 0; i++)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
                              SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)self_signals[i]));
    return rc;
}

#endif
