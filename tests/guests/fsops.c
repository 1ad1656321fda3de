/* fsops OP ARGS... [OP ARGS...]: a test guest for the file handlers. It runs
 * the operations in order, each through the protocol, and prints one line
 * per operation on stdout ("OP ARG: result", errors as strerror text):
 *   write PATH TEXT    open(O_WRONLY|O_CREAT|O_TRUNC, 0644), write, close
 *   append PATH TEXT   open(O_WRONLY|O_APPEND), write, close
 *   excl PATH          open(O_WRONLY|O_CREAT|O_EXCL, 0644), close
 *   cat PATH           open, read(8192) until 0, close: prints the content
 *   stat PATH          stat64: type and size
 *   mkdir PATH | rmdir PATH | unlink PATH | cd PATH | readlink PATH
 *   rename FROM TO
 *   ls PATH            opendir/readdir/closedir: names, space-separated
 *   cwd                getcwd
 *   urandom N          N bytes of /dev/urandom (N <= 64), in hex
 *   openmany PATH      opens PATH until an open fails; prints the count
 *                      and the error, then closes them all
 *   badfds             read/lseek/close/fstat/isatty on fds never opened
 *   bogusdir           readdir/closedir/dirfd on pointers never handed out
 *   bigread PATH N     one read(fd, buf, N) request: prints its count
 *   bigwrite N         one write(1, buf, N) request of N '.' bytes: prints
 *                      its count on stderr
 *   longpath N         stat64 of "/" followed by N-1 'a's
 * The exit status is 0 (operations that fail are reported, not fatal). */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define FSOPS_MAX_FDS 100000
#define FSOPS_MAX_BIG (64L << 20)

static void result(const char *op, const char *arg, int ok_rc)
{
    if (ok_rc < 0)
        sg_printf("%s %s: %s\n", op, arg, strerror(errno));
    else
        sg_printf("%s %s: ok\n", op, arg);
}

static int write_file(const char *path, const char *text, int flags)
{
    int fd = sg_open(path, flags, 0644);
    if (fd < 0)
        return -1;
    ssize_t n = sg_write_all(fd, text, strlen(text));
    int e = errno;
    sg_close(fd);
    errno = e;
    return n < 0 ? -1 : 0;
}

static void op_cat(const char *path)
{
    int fd = sg_open(path, O_RDONLY, 0);
    if (fd < 0) {
        sg_printf("cat %s: %s\n", path, strerror(errno));
        return;
    }
    static char buf[8192];
    sg_printf("cat %s: ", path);
    ssize_t n;
    while ((n = sg_read(fd, buf, sizeof buf)) > 0)
        sg_write_all(1, buf, (size_t)n);
    if (n < 0)
        sg_printf("[read error: %s]", strerror(errno));
    sg_printf("\n");
    sg_close(fd);
}

static void op_stat(const char *path)
{
    struct stat st;
    if (sg_stat64(path, &st) < 0) {
        sg_printf("stat %s: %s\n", path, strerror(errno));
        return;
    }
    const char *t = S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : "other";
    sg_printf("stat %s: %s %lld\n", path, t, (long long)st.st_size);
}

static void op_ls(const char *path)
{
    SG_DIR *d = sg_opendir(path);
    if (!d) {
        sg_printf("ls %s: %s\n", path, strerror(errno));
        return;
    }
    sg_printf("ls %s:", path);
    struct dirent *e;
    while ((e = sg_readdir(d)) != NULL) {
        char name[sizeof e->d_name + 1];
        memcpy(name, e->d_name, sizeof e->d_name);
        name[sizeof e->d_name] = '\0';
        sg_printf(" %s", name);
    }
    sg_printf("\n");
    sg_closedir(d);
}

static void op_openmany(const char *path)
{
    int *fds = malloc(FSOPS_MAX_FDS * sizeof *fds);
    if (!fds)
        return;
    int n = 0, fd;
    while (n < FSOPS_MAX_FDS && (fd = sg_open(path, O_RDONLY, 0)) >= 0)
        fds[n++] = fd;
    sg_printf("openmany %s: %d then %s\n", path, n, n < FSOPS_MAX_FDS ? strerror(errno) : "limit");
    for (int i = 0; i < n; i++)
        sg_close(fds[i]);
    free(fds);
}

static const char *err_or_ok(long r)
{
    return r < 0 ? strerror(errno) : "ok";
}

static void op_badfds(void)
{
    static const int fds[] = { 77, 1000, -1, 1 << 30 };
    char buf[16];
    struct stat st;
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        int fd = fds[i];
        sg_printf("badfd %d: read %s", fd, err_or_ok((long)sg_read(fd, buf, sizeof buf)));
        sg_printf(", lseek %s", err_or_ok((long)sg_lseek(fd, 0, SEEK_SET)));
        sg_printf(", fstat %s", err_or_ok(sg_fstat64(fd, &st)));
        sg_printf(", close %s", err_or_ok(sg_close(fd)));
        errno = 0;
        int t = sg_isatty(fd);
        sg_printf(", isatty %d %s\n", t, strerror(errno));
    }
}

static void op_bogusdir(void)
{
    /* a block of our own, and a pointer into the middle of nowhere: neither
     * is a DIR * the controller handed out */
    char *mine = calloc(1, 512);
    void *ptrs[2] = { mine, (void *)(uintptr_t)0x10 };
    for (int i = 0; i < 2; i++) {
        errno = 0;
        struct dirent *e = sg_readdir((SG_DIR *)ptrs[i]);
        sg_printf("bogusdir %d: readdir %s %s", i, e ? "entry" : "null", strerror(errno));
        sg_printf(", dirfd %s", err_or_ok(sg_dirfd((SG_DIR *)ptrs[i])));
        sg_printf(", closedir %s\n", err_or_ok(sg_closedir((SG_DIR *)ptrs[i])));
    }
    free(mine);
}

static long parse_n(const char *s, long max)
{
    char *e;
    long n = strtol(s, &e, 10);
    return *e || n < 0 || n > max ? -1 : n;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc;) {
        const char *op = argv[i++];
        const char *a = i < argc ? argv[i] : NULL;
        const char *b = i + 1 < argc ? argv[i + 1] : NULL;
        int need = !strcmp(op, "cwd") || !strcmp(op, "badfds") || !strcmp(op, "bogusdir") ? 0
                   : !strcmp(op, "write") || !strcmp(op, "append") || !strcmp(op, "rename") ||
                           !strcmp(op, "bigread")
                       ? 2
                       : 1;
        if ((need >= 1 && !a) || (need == 2 && !b)) {
            sg_eprintf("fsops: '%s' needs %d argument(s)\n", op, need);
            return 2;
        }
        i += need;
        if (!strcmp(op, "write"))
            result(op, a, write_file(a, b, O_WRONLY | O_CREAT | O_TRUNC));
        else if (!strcmp(op, "append"))
            result(op, a, write_file(a, b, O_WRONLY | O_APPEND));
        else if (!strcmp(op, "excl"))
            result(op, a, write_file(a, "", O_WRONLY | O_CREAT | O_EXCL));
        else if (!strcmp(op, "cat"))
            op_cat(a);
        else if (!strcmp(op, "stat"))
            op_stat(a);
        else if (!strcmp(op, "mkdir"))
            result(op, a, sg_mkdir(a, 0755));
        else if (!strcmp(op, "rmdir"))
            result(op, a, sg_rmdir(a));
        else if (!strcmp(op, "unlink"))
            result(op, a, sg_unlink(a));
        else if (!strcmp(op, "cd"))
            result(op, a, sg_chdir(a));
        else if (!strcmp(op, "rename"))
            result(op, a, sg_rename(a, b));
        else if (!strcmp(op, "ls"))
            op_ls(a);
        else if (!strcmp(op, "readlink")) {
            char buf[4096];
            ssize_t n = sg_readlink(a, buf, sizeof buf - 1);
            if (n < 0)
                sg_printf("readlink %s: %s\n", a, strerror(errno));
            else
                sg_printf("readlink %s: %.*s\n", a, (int)n, buf);
        } else if (!strcmp(op, "cwd")) {
            char buf[4096];
            char *r = sg_getcwd(buf, sizeof buf);
            sg_printf("cwd: %s\n", r ? buf : strerror(errno));
        } else if (!strcmp(op, "urandom")) {
            long n = parse_n(a, 64);
            unsigned char buf[64];
            int fd = sg_open("/dev/urandom", O_RDONLY, 0);
            if (n < 0 || fd < 0 || sg_read(fd, buf, (size_t)n) != n) {
                sg_printf("urandom %s: failed\n", a);
                continue;
            }
            sg_close(fd);
            sg_printf("urandom %s: ", a);
            for (long k = 0; k < n; k++)
                sg_printf("%02x", buf[k]);
            sg_printf("\n");
        } else if (!strcmp(op, "openmany"))
            op_openmany(a);
        else if (!strcmp(op, "badfds"))
            op_badfds();
        else if (!strcmp(op, "bogusdir"))
            op_bogusdir();
        else if (!strcmp(op, "bigread") || !strcmp(op, "bigwrite")) {
            int rd = op[3] == 'r';
            long n = parse_n(rd ? b : a, FSOPS_MAX_BIG);
            char *buf = n > 0 ? malloc((size_t)n) : NULL;
            if (!buf) {
                sg_printf("%s: bad size\n", op);
                continue;
            }
            if (rd) {
                int fd = sg_open(a, O_RDONLY, 0);
                ssize_t r = fd < 0 ? -1 : sg_read(fd, buf, (size_t)n);
                sg_printf("bigread %s %ld: %lld\n", a, n, (long long)r);
                sg_close(fd);
            } else {
                memset(buf, '.', (size_t)n);
                ssize_t r = sg_write(1, buf, (size_t)n);
                sg_eprintf("bigwrite %ld: %lld\n", n, (long long)r);
            }
            free(buf);
        } else if (!strcmp(op, "longpath")) {
            long n = parse_n(a, 1 << 20);
            char *p = n > 0 ? malloc((size_t)n + 1) : NULL;
            if (!p) {
                sg_printf("longpath: bad size\n");
                continue;
            }
            memset(p, 'a', (size_t)n);
            p[0] = '/';
            p[n] = '\0';
            struct stat st;
            sg_printf("longpath %ld: %s\n", n, err_or_ok(sg_stat64(p, &st)));
            free(p);
        } else {
            sg_eprintf("fsops: unknown operation '%s'\n", op);
            return 2;
        }
    }
    return 0;
}
