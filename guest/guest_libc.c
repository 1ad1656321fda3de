/* libc-style wrappers: each is one request with PyPy's name and signature
 * (the signature texts come from guest_signatures.def through sg_signatures),
 * and the printf family, which formats locally and sends write requests. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define I(v) sg_arg_i((int64_t)(v))
#define P(v) sg_arg_p(v)
#define CALL(id, ...) sg_call(sg_signatures[SG_SIG_##id], SG_ARGS(__VA_ARGS__))
#define CALL0(id) sg_call(sg_signatures[SG_SIG_##id], NULL, 0)

int sg_open(const char *path, int flags, int mode)
{
    return (int)sg_res_i(CALL(open, P(path), I(flags), I(mode)));
}

int sg_openat(int dirfd, const char *path, int flags, int mode)
{
    return (int)sg_res_i(CALL(openat, I(dirfd), P(path), I(flags), I(mode)));
}

ssize_t sg_read(int fd, void *buf, size_t count)
{
    return (ssize_t)sg_res_i(CALL(read, I(fd), P(buf), (uint64_t)count));
}

ssize_t sg_write(int fd, const void *buf, size_t count)
{
    return (ssize_t)sg_res_i(CALL(write, I(fd), P(buf), (uint64_t)count));
}

ssize_t sg_pread(int fd, void *buf, size_t count, off_t offset)
{
    return (ssize_t)sg_res_i(CALL(pread, I(fd), P(buf), (uint64_t)count, I(offset)));
}

ssize_t sg_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
    return (ssize_t)sg_res_i(CALL(pwrite, I(fd), P(buf), (uint64_t)count, I(offset)));
}

int sg_close(int fd)
{
    return (int)sg_res_i(CALL(close, I(fd)));
}

off_t sg_lseek(int fd, off_t offset, int whence)
{
    return (off_t)sg_res_i(CALL(lseek, I(fd), I(offset), I(whence)));
}

int sg_stat64(const char *path, struct stat *st)
{
    return (int)sg_res_i(CALL(stat64, P(path), P(st)));
}

int sg_lstat64(const char *path, struct stat *st)
{
    return (int)sg_res_i(CALL(lstat64, P(path), P(st)));
}

int sg_fstat64(int fd, struct stat *st)
{
    return (int)sg_res_i(CALL(fstat64, I(fd), P(st)));
}

int sg_fstatat64(int dirfd, const char *path, struct stat *st, int flags)
{
    return (int)sg_res_i(CALL(fstatat64, I(dirfd), P(path), P(st), I(flags)));
}

int sg_access(const char *path, int mode)
{
    return (int)sg_res_i(CALL(access, P(path), I(mode)));
}

char *sg_getcwd(char *buf, size_t size)
{
    return sg_res_p(CALL(getcwd, P(buf), (uint64_t)size));
}

int sg_chdir(const char *path)
{
    return (int)sg_res_i(CALL(chdir, P(path)));
}

SG_DIR *sg_opendir(const char *path)
{
    return sg_res_p(CALL(opendir, P(path)));
}

SG_DIR *sg_fdopendir(int fd)
{
    return sg_res_p(CALL(fdopendir, I(fd)));
}

struct dirent *sg_readdir(SG_DIR *dir)
{
    return sg_res_p(CALL(readdir, P(dir)));
}

void sg_rewinddir(SG_DIR *dir)
{
    CALL(rewinddir, P(dir));
}

int sg_dirfd(SG_DIR *dir)
{
    return (int)sg_res_i(CALL(dirfd, P(dir)));
}

int sg_closedir(SG_DIR *dir)
{
    return (int)sg_res_i(CALL(closedir, P(dir)));
}

ssize_t sg_readlink(const char *path, char *buf, size_t size)
{
    return (ssize_t)sg_res_i(CALL(readlink, P(path), P(buf), (uint64_t)size));
}

int sg_unlink(const char *path)
{
    return (int)sg_res_i(CALL(unlink, P(path)));
}

int sg_mkdir(const char *path, int mode)
{
    return (int)sg_res_i(CALL(mkdir, P(path), I(mode)));
}

int sg_rmdir(const char *path)
{
    return (int)sg_res_i(CALL(rmdir, P(path)));
}

int sg_rename(const char *from, const char *to)
{
    return (int)sg_res_i(CALL(rename, P(from), P(to)));
}

int sg_ftruncate(int fd, off_t length)
{
    return (int)sg_res_i(CALL(ftruncate, I(fd), I(length)));
}

int sg_fcntl(int fd, int cmd, long arg)
{
    return (int)sg_res_i(CALL(fcntl, I(fd), I(cmd), I(arg)));
}

int sg_dup(int fd)
{
    return (int)sg_res_i(CALL(dup, I(fd)));
}

int sg_isatty(int fd)
{
    return (int)sg_res_i(CALL(isatty, I(fd)));
}

int sg_rpy_get_inheritable(int fd)
{
    return (int)sg_res_i(CALL(rpy_get_inheritable, I(fd)));
}

int sg_umask(int mask)
{
    return (int)sg_res_i(CALL(umask, I(mask)));
}

time_t sg_time(time_t *t)
{
    return (time_t)sg_res_i(CALL(time, P(t)));
}

int sg_gettimeofday(struct timeval *tv, void *tz)
{
    return (int)sg_res_i(CALL(gettimeofday, P(tv), P(tz)));
}

int sg_clock_gettime(clockid_t clk, struct timespec *ts)
{
    return (int)sg_res_i(CALL(clock_gettime, I(clk), P(ts)));
}

int sg_clock_getres(clockid_t clk, struct timespec *ts)
{
    return (int)sg_res_i(CALL(clock_getres, I(clk), P(ts)));
}

clock_t sg_clock(void)
{
    return (clock_t)sg_res_i(CALL0(clock));
}

clock_t sg_times(struct tms *buf)
{
    return (clock_t)sg_res_i(CALL(times, P(buf)));
}

pid_t sg_getpid(void)
{
    return (pid_t)sg_res_i(CALL0(getpid));
}

pid_t sg_getppid(void)
{
    return (pid_t)sg_res_i(CALL0(getppid));
}

uid_t sg_getuid(void)
{
    return (uid_t)sg_res_i(CALL0(getuid));
}

uid_t sg_geteuid(void)
{
    return (uid_t)sg_res_i(CALL0(geteuid));
}

gid_t sg_getgid(void)
{
    return (gid_t)sg_res_i(CALL0(getgid));
}

gid_t sg_getegid(void)
{
    return (gid_t)sg_res_i(CALL0(getegid));
}

int sg_getresuid(uid_t *r, uid_t *e, uid_t *s)
{
    return (int)sg_res_i(CALL(getresuid, P(r), P(e), P(s)));
}

int sg_getresgid(gid_t *r, gid_t *e, gid_t *s)
{
    return (int)sg_res_i(CALL(getresgid, P(r), P(e), P(s)));
}

int sg_getgroups(int size, gid_t *list)
{
    return (int)sg_res_i(CALL(getgroups, I(size), P(list)));
}

int sg_uname(struct utsname *buf)
{
    return (int)sg_res_i(CALL(uname, P(buf)));
}

char **sg_get_environ(void)
{
    return sg_res_p(CALL0(get_environ));
}

char *sg_getenv(const char *name)
{
    return sg_res_p(CALL(getenv, P(name)));
}

char *sg_ctermid(char *buf)
{
    return sg_res_p(CALL(ctermid, P(buf)));
}

long sg_sysconf(int name)
{
    return (long)sg_res_i(CALL(sysconf, I(name)));
}

int sg_rpy_cpu_count(void)
{
    return (int)sg_res_i(CALL0(rpy_cpu_count));
}

int sg_sched_yield(void)
{
    return (int)sg_res_i(CALL0(sched_yield));
}

pid_t sg_fork(void)
{
    return (pid_t)sg_res_i(CALL0(fork));
}

void sg_sync(void)
{
    CALL0(sync);
}

char *sg_pypy_init_home(void)
{
    return sg_res_p(CALL0(_pypy_init_home));
}

void sg_pypy_init_free(char *home)
{
    CALL(_pypy_init_free, P(home));
}

_Noreturn void sg_exit(int status)
{
    CALL(_exit, I(status));
    _exit(status);
}

ssize_t sg_write_all(int fd, const void *buf, size_t count)
{
    const char *p = buf;
    size_t done = 0;
    while (done < count) {
        ssize_t w = sg_write(fd, p + done, count - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0 || (size_t)w > count - done) {
            if (w == 0)
                errno = EIO;
            else if (w > 0)
                errno = EPROTO; /* the controller claims more than was asked */
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)count;
}

int sg_vdprintf(int fd, const char *fmt, va_list ap)
{
    char small[1024];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return -1;
    char *text = small;
    if ((size_t)n >= sizeof small) {
        text = malloc((size_t)n + 1);
        if (!text) {
            errno = ENOMEM;
            return -1;
        }
        vsnprintf(text, (size_t)n + 1, fmt, ap);
    }
    ssize_t w = sg_write_all(fd, text, (size_t)n);
    if (text != small)
        free(text);
    return w < 0 ? -1 : n;
}

int sg_dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = sg_vdprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}

int sg_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = sg_vdprintf(1, fmt, ap);
    va_end(ap);
    return n;
}

int sg_eprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = sg_vdprintf(2, fmt, ap);
    va_end(ap);
    return n;
}
