/* fsprobe [DIR [PORT]]: a guest that looks for the host from the inside,
 * with direct system calls, to test the jail's namespaces and Landlock
 * (issue #13; tests/controller/test_run.c). Before main (a .preinit_array
 * function, as a hostile library constructor would) and again in main
 * before its first request (the jail's start-up phase), it opens
 * /etc/passwd, /home and DIR (the build directory: a host path it was
 * told). Then it reports, one line each:
 *   execfn PATH            getauxval(AT_EXECFN): the path execve was given
 *   argv0 PATH
 *   exe LINK|-1 ERRNO      readlink("/proc/self/exe") ($ORIGIN's source)
 *   early P H D / late P H D   1 when /etc/passwd, /home, DIR opened
 *   ids UID GID            getuid, getgid (-1: refused)
 *   root N                 entries of "/" it could list (-1: refused)
 *   ifaces NAMES|-1 ERRNO  its network interfaces (if_nameindex)
 *   connect 0|-1 ERRNO     a TCP connect to 127.0.0.1:PORT (when given)
 * and exits 0. The system calls the seccomp filter forbids (socket) end it
 * there unless it runs with --no-seccomp: that is how a test shows that the
 * other layers hold alone. */
#include "guest/sandbox_guest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int early[3] = { -2, -2, -2 };
static const char *probe_dir = "/nonexistent";

static int opens(const char *path, int flags)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, flags | O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static void probe_all(int *res)
{
    res[0] = opens("/etc/passwd", 0);
    res[1] = opens("/home", O_DIRECTORY);
    res[2] = opens(probe_dir, O_DIRECTORY);
}

static void premain_probe(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc > 1)
        probe_dir = argv[1];
    probe_all(early);
}

__attribute__((section(".preinit_array"), used))
static void (*const premain_entry)(int, char **, char **) = premain_probe;

int main(int argc, char **argv)
{
    /* Everything direct first: the first request ends the start-up phase. */
    int late[3];
    probe_all(late);
    char link[512];
    long n = syscall(SYS_readlink, "/proc/self/exe", link, sizeof link - 1);
    int link_errno = errno;
    if (n >= 0)
        link[n] = '\0';
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    long uid = syscall(SYS_getuid), gid = syscall(SYS_getgid);
    int nroot = -1;
    int rfd = (int)syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (rfd >= 0) {
        char buf[4096];
        long got;
        nroot = 0;
        while ((got = syscall(SYS_getdents64, rfd, buf, sizeof buf)) > 0)
            for (long off = 0; off < got;) {
                struct dirent64 *d = (struct dirent64 *)(buf + off);
                if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
                    nroot++;
                off += d->d_reclen;
            }
        close(rfd);
    }
    sg_printf("execfn %s\n", execfn ? execfn : "(none)");
    sg_printf("argv0 %s\n", argv[0]);
    if (n >= 0)
        sg_printf("exe %s\n", link);
    else
        sg_printf("exe -1 %s\n", strerrorname_np(link_errno));
    sg_printf("early %d %d %d\n", early[0], early[1], early[2]);
    sg_printf("late %d %d %d\n", late[0], late[1], late[2]);
    sg_printf("ids %ld %ld\n", uid, gid);
    sg_printf("root %d\n", nroot);
    /* The network: the filter forbids sockets, so this line ends a jailed
     * guest; with --no-seccomp it shows what the namespaces leave. */
    struct if_nameindex *ifs = if_nameindex();
    if (!ifs) {
        sg_printf("ifaces -1 %s\n", strerrorname_np(errno));
    } else {
        char names[256] = "";
        for (struct if_nameindex *i = ifs; i->if_index; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                     names[0] ? "," : "", i->if_name);
        if_freenameindex(ifs);
        sg_printf("ifaces %s\n", names);
    }
    if (argc > 2) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int r = s < 0 ? -1 : connect(s, (struct sockaddr *)&a, sizeof a);
        int e = errno;
        sg_printf("connect %d%s%s\n", r, r ? " " : "", r ? strerrorname_np(e) : "");
        if (s >= 0)
            close(s);
    }
    return 0;
}
