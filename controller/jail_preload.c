/* The second stage of the seccomp jail (`sandtrace run --strict-jail`): a
 * library the controller preloads into the guest (LD_PRELOAD in the guest's
 * real environment). Its constructor runs once the dynamic loader has mapped
 * every library and libc has started, before the program's own constructors
 * and main, and stacks a filter that drops what only the loader needed
 * (openat, readlink, access, execve, reading fds other than 0). What stays
 * is what PROTOCOL.md's last section lists for a running guest. It fails
 * closed: if the filter cannot be loaded, the guest ends here.
 *
 * Built as $(BUILD)/lib/sandtrace-jail.so, without sanitizers. */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

static void die(const char *msg)
{
    ssize_t w = write(2, msg, strlen(msg));
    (void)w;
    _exit(127);
}

__attribute__((constructor)) static void sandtrace_jail_stage2(void)
{
    static const char *const plain[] = {
        "mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "getrandom",
        "fstat", "newfstatat", "lseek", "close",
        "rt_sigprocmask", "rt_sigaction", "rt_sigreturn", "sigaltstack",
        "getpid", "gettid", "futex", "clock_gettime", "exit", "exit_group", NULL,
    };
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        die("sandtrace-jail: cannot build the filter\n");
    int rc = 0;
    for (size_t i = 0; plain[i] && rc == 0; i++) {
        int nr = seccomp_syscall_resolve_name(plain[i]);
        if (nr != __NR_SCMP_ERROR)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    }
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1, SCMP_A0(SCMP_CMP_EQ, 0));
    for (int fd = 1; fd <= 2 && rc == 0; fd++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd));
        if (rc == 0)
            rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(writev), 1,
                                  SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd));
    }
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TCGETS));
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
                              SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)SIGABRT));
    /* ...and a fault turned into SIGSEGV (the guest runtime on EFAULT). */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
                              SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()),
                              SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)SIGSEGV));
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0)
        die("sandtrace-jail: cannot load the filter\n");
}
