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
#include <string.h>
#include <unistd.h>

#include "controller/jail_rules.h"

static void die(const char *msg)
{
    ssize_t w = write(2, msg, strlen(msg));
    (void)w;
    _exit(127);
}

__attribute__((constructor)) static void sandtrace_jail_stage2(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!ctx)
        die("sandtrace-jail: cannot build the filter\n");
    int rc = st_jail_add_running_rules(ctx);
    /* Input only from the protocol pipe. */
    if (rc == 0)
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(read), 1, SCMP_A0(SCMP_CMP_EQ, 0));
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0)
        die("sandtrace-jail: cannot load the filter\n");
}
