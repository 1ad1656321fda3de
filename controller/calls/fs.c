/* The file and descriptor handlers: the guest's requests run against the
 * session's virtual file system (controller/vfs.h).
 *
 * Guest sizes are never trusted: paths are read with Z and a limit
 * (ENAMETOOLONG beyond), read/pread/write/pwrite move at most ST_VFS_IO_MAX
 * bytes per call (a short count, as a pipe would give), a NULL buffer or
 * path is EFAULT without touching guest memory, and a DIR * is only accepted
 * when it is one this family handed out (EBADF otherwise). The standard
 * streams go to the session: read(0) to st_session_read_input, write(1|2)
 * to st_session_write_output. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/call.h"
#include "controller/calls/calls.h"
#include "controller/vfs.h"

/* Linux's *at flags the handlers accept (x86-64 values, as the guest sends them). */
#define FS_AT_SYMLINK_NOFOLLOW 0x100
#define FS_AT_REMOVEDIR 0x200
#define FS_AT_EACCESS 0x200
#define FS_AT_EMPTY_PATH 0x1000

/* Answers a vfs result: r >= 0 is the value, r < 0 an errno to send. */
static int answer(struct st_call *c, int64_t r)
{
    if (r < 0)
        st_call_fail(c, (int)-r);
    else
        st_call_ok(c, (uint64_t)r);
    return 0;
}

/* Reads the path argument `i` into buf (ST_VFS_PATH_MAX + 1 bytes).
 * Returns 0, a positive errno for the guest (EFAULT for NULL, ENAMETOOLONG),
 * or a negative st_error (protocol). */
static int read_path(struct st_session *s, const struct st_call *c, unsigned i, char *buf)
{
    uint64_t p = st_arg_ptr(c, i);
    if (p == 0)
        return EFAULT;
    size_t len = 0;
    int rc = st_guest_read_str(s, p, ST_VFS_PATH_MAX, buf, &len);
    if (rc < 0)
        return rc;
    if (len >= ST_VFS_PATH_MAX)
        return ENAMETOOLONG;
    buf[len] = '\0';
    return 0;
}

/* Runs read_path and, on a guest error, answers it: returns 1 when the
 * handler should go on, 0 when answered, < 0 on a protocol error. */
static int get_path(struct st_session *s, struct st_call *c, unsigned i, char *buf)
{
    int rc = read_path(s, c, i, buf);
    if (rc < 0)
        return rc;
    if (rc > 0) {
        st_call_fail(c, rc);
        return 0;
    }
    return 1;
}

static int as_int(int64_t v, int *out)
{
    if (v < INT32_MIN || v > INT32_MAX)
        return 0;
    *out = (int)v;
    return 1;
}

/* An fd or dirfd argument as an int; out-of-range values are no fd. */
static int fd_arg(const struct st_call *c, unsigned i)
{
    int fd;
    return as_int(st_arg_int(c, i), &fd) ? fd : -1;
}

static int dirfd_arg(const struct st_call *c, unsigned i)
{
    int fd = fd_arg(c, i);
    return fd == ST_VFS_AT_FDCWD ? fd : (fd < 0 ? -1 : fd);
}

/* ------------------------------------------------------------- stat */

static int put_stat(struct st_session *s, struct st_call *c, uint64_t ptr, int rc,
                    const struct st_vfs_stat *st)
{
    if (rc < 0)
        return answer(c, rc);
    unsigned char buf[ST_VFS_STAT_SIZE];
    st_vfs_stat_encode(st, buf);
    int w = st_guest_write(s, ptr, buf, sizeof buf);
    if (w < 0)
        return w;
    st_call_ok(c, 0);
    return 0;
}

static int stat_common(struct st_session *s, struct st_call *c, int dirfd, unsigned path_i,
                       unsigned buf_i, int flags)
{
    struct st_vfs *v = st_session_vfs(s);
    uint64_t out = st_arg_ptr(c, buf_i);
    if (flags & ~(FS_AT_SYMLINK_NOFOLLOW | FS_AT_EMPTY_PATH))
        return answer(c, -EINVAL);
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, path_i, path);
    if (g <= 0)
        return g;
    if (out == 0)
        return answer(c, -EFAULT);
    struct st_vfs_stat st;
    int rc;
    int vflags = flags & FS_AT_SYMLINK_NOFOLLOW ? ST_VFS_AT_SYMLINK_NOFOLLOW : 0;
    if (path[0] == '\0' && (flags & FS_AT_EMPTY_PATH))
        rc = dirfd == ST_VFS_AT_FDCWD ? st_vfs_stat(v, dirfd, ".", 0, &st)
                                      : st_vfs_fstat(v, dirfd, &st);
    else
        rc = st_vfs_stat(v, dirfd, path, vflags, &st);
    return put_stat(s, c, out, rc, &st);
}

int call_stat64(struct st_session *s, struct st_call *c)
{
    return stat_common(s, c, ST_VFS_AT_FDCWD, 0, 1, 0);
}

int call_lstat64(struct st_session *s, struct st_call *c)
{
    return stat_common(s, c, ST_VFS_AT_FDCWD, 0, 1, FS_AT_SYMLINK_NOFOLLOW);
}

int call_fstatat64(struct st_session *s, struct st_call *c)
{
    int flags;
    if (!as_int(st_arg_int(c, 3), &flags))
        return answer(c, -EINVAL);
    return stat_common(s, c, dirfd_arg(c, 0), 1, 2, flags);
}

int call_fstat64(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    struct st_vfs_stat st;
    int rc = st_vfs_fstat(v, fd_arg(c, 0), &st);
    if (rc == 0 && st_arg_ptr(c, 1) == 0)
        rc = -EFAULT;
    return put_stat(s, c, st_arg_ptr(c, 1), rc, &st);
}

static int access_common(struct st_session *s, struct st_call *c, int dirfd, unsigned path_i,
                         int64_t mode, int64_t flags)
{
    struct st_vfs *v = st_session_vfs(s);
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, path_i, path);
    if (g <= 0)
        return g;
    if (mode < 0 || mode > 7 || (flags & ~(int64_t)(FS_AT_SYMLINK_NOFOLLOW | FS_AT_EACCESS)))
        return answer(c, -EINVAL);
    int vflags = flags & FS_AT_SYMLINK_NOFOLLOW ? ST_VFS_AT_SYMLINK_NOFOLLOW : 0;
    return answer(c, st_vfs_access(v, dirfd, path, (int)mode, vflags));
}

int call_access(struct st_session *s, struct st_call *c)
{
    return access_common(s, c, ST_VFS_AT_FDCWD, 0, st_arg_int(c, 1), 0);
}

int call_faccessat(struct st_session *s, struct st_call *c)
{
    return access_common(s, c, dirfd_arg(c, 0), 1, st_arg_int(c, 2), st_arg_int(c, 3));
}

static int chmod_common(struct st_session *s, struct st_call *c, int dirfd, unsigned path_i,
                        int64_t mode, int64_t flags)
{
    struct st_vfs *v = st_session_vfs(s);
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, path_i, path);
    if (g <= 0)
        return g;
    if (mode < 0 || mode > 07777 || (flags & ~(int64_t)FS_AT_SYMLINK_NOFOLLOW))
        return answer(c, -EINVAL);
    int vflags = flags & FS_AT_SYMLINK_NOFOLLOW ? ST_VFS_AT_SYMLINK_NOFOLLOW : 0;
    return answer(c, st_vfs_chmod(v, dirfd, path, (unsigned)mode, vflags));
}

int call_chmod(struct st_session *s, struct st_call *c)
{
    return chmod_common(s, c, ST_VFS_AT_FDCWD, 0, st_arg_int(c, 1), 0);
}

int call_fchmodat(struct st_session *s, struct st_call *c)
{
    return chmod_common(s, c, dirfd_arg(c, 0), 1, st_arg_int(c, 2), st_arg_int(c, 3));
}

int call_fchmod(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int64_t mode = st_arg_int(c, 1);
    if (mode < 0 || mode > 07777)
        return answer(c, -EINVAL);
    return answer(c, st_vfs_fchmod(v, fd_arg(c, 0), (unsigned)mode));
}

static int readlink_common(struct st_session *s, struct st_call *c, int dirfd, unsigned path_i)
{
    struct st_vfs *v = st_session_vfs(s);
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, path_i, path);
    if (g <= 0)
        return g;
    uint64_t buf = st_arg_ptr(c, path_i + 1);
    int64_t n = st_arg_int(c, path_i + 2);
    if (n <= 0)
        return answer(c, -EINVAL);
    if (buf == 0)
        return answer(c, -EFAULT);
    char target[ST_VFS_PATH_MAX];
    size_t cap = (uint64_t)n < sizeof target ? (size_t)n : sizeof target;
    long r = st_vfs_readlink(v, dirfd, path, target, cap);
    if (r > 0) {
        int w = st_guest_write(s, buf, target, (size_t)r);
        if (w < 0)
            return w;
    }
    return answer(c, r);
}

int call_readlink(struct st_session *s, struct st_call *c)
{
    return readlink_common(s, c, ST_VFS_AT_FDCWD, 0);
}

int call_readlinkat(struct st_session *s, struct st_call *c)
{
    return readlink_common(s, c, dirfd_arg(c, 0), 1);
}

/* ------------------------------------------------------------- open */

static int open_common(struct st_session *s, struct st_call *c, int dirfd, unsigned path_i)
{
    struct st_vfs *v = st_session_vfs(s);
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, path_i, path);
    if (g <= 0)
        return g;
    int flags;
    if (!as_int(st_arg_int(c, path_i + 1), &flags))
        return answer(c, -EINVAL);
    unsigned mode = (unsigned)st_arg_int(c, path_i + 2) & 07777;
    return answer(c, st_vfs_open(v, dirfd, path, flags, mode));
}

int call_open(struct st_session *s, struct st_call *c)
{
    return open_common(s, c, ST_VFS_AT_FDCWD, 0);
}

int call_openat(struct st_session *s, struct st_call *c)
{
    return open_common(s, c, dirfd_arg(c, 0), 1);
}

int call_close(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    return answer(c, st_vfs_close(v, fd_arg(c, 0)));
}

int call_dup(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    return answer(c, st_vfs_dup(v, fd_arg(c, 0)));
}

int call_rpy_dup_noninheritable(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int fd = st_vfs_dup(v, fd_arg(c, 0));
    if (fd >= 0)
        st_vfs_set_cloexec(v, fd, 1);
    return answer(c, fd);
}

/* -------------------------------------------------------- read/write */

/* The guest's buffer argument: NULL with a non-zero count is EFAULT. */
static size_t io_count(int64_t n)
{
    return (uint64_t)n > ST_VFS_IO_MAX ? ST_VFS_IO_MAX : (size_t)n;
}

/* A read or write of up to IO_SMALL bytes (nearly all of them: a line of
 * output, a buffered read) goes through the stack, not malloc(). */
#define IO_SMALL 8192

static void io_buf_free(unsigned char *buf, const unsigned char *small)
{
    if (buf != small)
        free(buf);
}

static int read_common(struct st_session *s, struct st_call *c, int positional)
{
    struct st_vfs *v = st_session_vfs(s);
    int fd = fd_arg(c, 0);
    uint64_t buf = st_arg_ptr(c, 1);
    int64_t count = st_arg_int(c, 2);
    int64_t off = positional ? st_arg_int(c, 3) : -1;
    int kind = st_vfs_fd_kind(v, fd);
    if (kind < 0)
        return answer(c, kind);
    if (count < 0)
        return answer(c, -EINVAL);
    if (count == 0 && kind != ST_VFS_FD_DIR) {
        st_call_ok(c, 0);
        return 0;
    }
    if (buf == 0)
        return answer(c, -EFAULT);
    if (kind == ST_VFS_FD_STDOUT || kind == ST_VFS_FD_STDERR)
        return answer(c, -EBADF);
    if (positional && kind == ST_VFS_FD_STDIN)
        return answer(c, -ESPIPE);
    if (positional && off < 0)
        return answer(c, -EINVAL);
    size_t n = io_count(count);
    unsigned char small[IO_SMALL];
    unsigned char *tmp = n <= sizeof small ? small : malloc(n);
    if (!tmp)
        return answer(c, -ENOMEM);
    long r;
    if (kind == ST_VFS_FD_STDIN)
        r = st_session_read_input(s, tmp, n);
    else if (positional)
        r = st_vfs_pread(v, fd, tmp, n, off);
    else
        r = st_vfs_read(v, fd, tmp, n);
    if (r > (long)n)
        r = -EIO;
    if (r > 0) {
        int w = st_guest_write(s, buf, tmp, (size_t)r);
        if (w < 0) {
            io_buf_free(tmp, small);
            return w;
        }
    }
    io_buf_free(tmp, small);
    return answer(c, r);
}

int call_read(struct st_session *s, struct st_call *c)
{
    return read_common(s, c, 0);
}

int call_pread(struct st_session *s, struct st_call *c)
{
    return read_common(s, c, 1);
}

static int write_common(struct st_session *s, struct st_call *c, int positional)
{
    struct st_vfs *v = st_session_vfs(s);
    int fd = fd_arg(c, 0);
    uint64_t buf = st_arg_ptr(c, 1);
    int64_t count = st_arg_int(c, 2);
    int64_t off = positional ? st_arg_int(c, 3) : -1;
    int kind = st_vfs_fd_kind(v, fd);
    if (kind < 0)
        return answer(c, kind);
    if (count < 0)
        return answer(c, -EINVAL);
    int to_session = kind == ST_VFS_FD_STDOUT || kind == ST_VFS_FD_STDERR;
    if (kind == ST_VFS_FD_STDIN || kind == ST_VFS_FD_DIR) {
        st_call_fail(c, kind == ST_VFS_FD_DIR ? EISDIR : EBADF);
        return 0;
    }
    if (positional && to_session)
        return answer(c, -ESPIPE);
    if (positional && off < 0)
        return answer(c, -EINVAL);
    if (count == 0) {
        st_call_ok(c, 0);
        return 0;
    }
    if (buf == 0)
        return answer(c, -EFAULT);
    size_t n = io_count(count);
    unsigned char small[IO_SMALL];
    unsigned char *tmp = n <= sizeof small ? small : malloc(n);
    if (!tmp)
        return answer(c, -ENOMEM);
    int rd = st_guest_read(s, buf, tmp, n);
    if (rd < 0) {
        io_buf_free(tmp, small);
        return rd;
    }
    long r;
    if (to_session)
        r = st_session_write_output(s, kind == ST_VFS_FD_STDOUT ? 1 : 2, tmp, n);
    else if (positional)
        r = st_vfs_pwrite(v, fd, tmp, n, off);
    else
        r = st_vfs_write(v, fd, tmp, n);
    io_buf_free(tmp, small);
    if (r > (long)n)
        r = (long)n;
    return answer(c, r);
}

int call_write(struct st_session *s, struct st_call *c)
{
    return write_common(s, c, 0);
}

int call_pwrite(struct st_session *s, struct st_call *c)
{
    return write_common(s, c, 1);
}

int call_lseek(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int whence;
    if (!as_int(st_arg_int(c, 2), &whence))
        whence = -1;
    return answer(c, st_vfs_lseek(v, fd_arg(c, 0), st_arg_int(c, 1), whence));
}

int call_ftruncate(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    return answer(c, st_vfs_ftruncate(v, fd_arg(c, 0), st_arg_int(c, 1)));
}

/* fsync/fdatasync: nothing to flush; EINVAL for the standard streams (pipes). */
static int sync_fd(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int kind = st_vfs_fd_kind(v, fd_arg(c, 0));
    if (kind < 0)
        return answer(c, kind);
    if (kind == ST_VFS_FD_STDIN || kind == ST_VFS_FD_STDOUT || kind == ST_VFS_FD_STDERR)
        return answer(c, -EINVAL);
    return answer(c, 0);
}

int call_fsync(struct st_session *s, struct st_call *c)
{
    return sync_fd(s, c);
}

int call_fdatasync(struct st_session *s, struct st_call *c)
{
    return sync_fd(s, c);
}

int call_sync(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_ok(c, 0);
    return 0;
}

/* posix_fadvise returns an error number instead of setting errno. */
int call_posix_fadvise(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int kind = st_vfs_fd_kind(v, fd_arg(c, 0));
    int64_t advice = st_arg_int(c, 3);
    uint64_t r = 0;
    if (kind < 0)
        r = EBADF;
    else if (kind == ST_VFS_FD_STDIN || kind == ST_VFS_FD_STDOUT || kind == ST_VFS_FD_STDERR)
        r = ESPIPE;
    else if (advice < 0 || advice > 5 || st_arg_int(c, 2) < 0)
        r = EINVAL;
    st_call_ok(c, r);
    return 0;
}

/* isatty: 0 with ENOTTY for an open fd (nothing is a terminal here), 0
 * with EBADF otherwise. */
int call_isatty(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int kind = st_vfs_fd_kind(v, fd_arg(c, 0));
    c->result = 0;
    c->err = kind < 0 ? EBADF : ENOTTY;
    return 0;
}

/* ------------------------------------------------------- fd flags */

int call_fcntl(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int fd = fd_arg(c, 0);
    int64_t cmd = st_arg_int(c, 1), arg = st_arg_int(c, 2);
    if (st_vfs_fd_kind(v, fd) < 0)
        return answer(c, -EBADF);
    switch (cmd) {
    case F_GETFD: {
        int r = st_vfs_get_cloexec(v, fd);
        return answer(c, r < 0 ? r : (r ? FD_CLOEXEC : 0));
    }
    case F_SETFD:
        return answer(c, st_vfs_set_cloexec(v, fd, (arg & FD_CLOEXEC) != 0));
    case F_GETFL:
        return answer(c, st_vfs_get_status_flags(v, fd));
    case F_SETFL:
        return answer(c, st_vfs_set_status_flags(v, fd, (int)(arg & 0x7fffffff)));
    default:
        return answer(c, -EINVAL);
    }
}

int call_rpy_get_inheritable(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int r = st_vfs_get_cloexec(v, fd_arg(c, 0));
    return answer(c, r < 0 ? r : !r);
}

int call_rpy_set_inheritable(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    return answer(c, st_vfs_set_cloexec(v, fd_arg(c, 0), st_arg_int(c, 1) == 0));
}

int call_rpy_get_status_flags(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    return answer(c, st_vfs_get_status_flags(v, fd_arg(c, 0)));
}

int call_rpy_set_status_flags(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int flags = (int)(st_arg_int(c, 1) & 0x7fffffff);
    return answer(c, st_vfs_set_status_flags(v, fd_arg(c, 0), flags));
}

/* ------------------------------------------------ changes in /tmp */

static int mkdir_common(struct st_session *s, struct st_call *c, int dirfd, unsigned path_i,
                        int64_t mode)
{
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, path_i, path);
    if (g <= 0)
        return g;
    return answer(c, st_vfs_mkdir(st_session_vfs(s), dirfd, path, (unsigned)mode & 07777));
}

int call_mkdir(struct st_session *s, struct st_call *c)
{
    return mkdir_common(s, c, ST_VFS_AT_FDCWD, 0, st_arg_int(c, 1));
}

int call_mkdirat(struct st_session *s, struct st_call *c)
{
    return mkdir_common(s, c, dirfd_arg(c, 0), 1, st_arg_int(c, 2));
}

/* unlink, rmdir (FS_AT_REMOVEDIR) and unlinkat. */
static int unlink_common(struct st_session *s, struct st_call *c, int dirfd, unsigned path_i,
                         int64_t flags)
{
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, path_i, path);
    if (g <= 0)
        return g;
    if (flags & ~(int64_t)FS_AT_REMOVEDIR)
        return answer(c, -EINVAL);
    return answer(c, st_vfs_unlink(st_session_vfs(s), dirfd, path,
                                   flags & FS_AT_REMOVEDIR ? ST_VFS_AT_REMOVEDIR : 0));
}

int call_unlink(struct st_session *s, struct st_call *c)
{
    return unlink_common(s, c, ST_VFS_AT_FDCWD, 0, 0);
}

int call_unlinkat(struct st_session *s, struct st_call *c)
{
    return unlink_common(s, c, dirfd_arg(c, 0), 1, st_arg_int(c, 2));
}

int call_rmdir(struct st_session *s, struct st_call *c)
{
    return unlink_common(s, c, ST_VFS_AT_FDCWD, 0, FS_AT_REMOVEDIR);
}

static int rename_common(struct st_session *s, struct st_call *c, int odir, unsigned oi, int ndir,
                         unsigned ni)
{
    struct st_vfs *v = st_session_vfs(s);
    char *paths = malloc(2 * (ST_VFS_PATH_MAX + 1));
    if (!paths)
        return answer(c, -ENOMEM);
    char *op = paths, *np = paths + ST_VFS_PATH_MAX + 1;
    int g = get_path(s, c, oi, op);
    if (g > 0)
        g = get_path(s, c, ni, np);
    if (g > 0)
        answer(c, st_vfs_rename(v, odir, op, ndir, np));
    free(paths);
    return g < 0 ? g : 0;
}

int call_rename(struct st_session *s, struct st_call *c)
{
    return rename_common(s, c, ST_VFS_AT_FDCWD, 0, ST_VFS_AT_FDCWD, 1);
}

int call_renameat(struct st_session *s, struct st_call *c)
{
    return rename_common(s, c, dirfd_arg(c, 0), 1, dirfd_arg(c, 2), 3);
}

/* ---------------------------------------------------------- cwd */

int call_chdir(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, 0, path);
    if (g <= 0)
        return g;
    return answer(c, st_vfs_chdir(v, path));
}

int call_fchdir(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    return answer(c, st_vfs_fchdir(v, fd_arg(c, 0)));
}

/* getcwd(buf, size): the path into buf, returning buf; with buf NULL (as
 * glibc allows) a block holding it is allocated in the guest with M. */
int call_getcwd(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    uint64_t buf = st_arg_ptr(c, 0);
    int64_t size = st_arg_int(c, 1);
    char path[ST_VFS_PATH_MAX];
    long len = st_vfs_getcwd(v, path, sizeof path);
    if (len < 0)
        return answer(c, len);
    if (buf == 0) {
        if (size != 0 && size < len + 1)
            return answer(c, -ERANGE);
        uint64_t p;
        int rc = st_guest_alloc(s, path, (size_t)len + 1, &p);
        if (rc < 0)
            return rc;
        st_call_ok(c, p);
        return 0;
    }
    if (size <= 0)
        return answer(c, -EINVAL);
    if (size < len + 1)
        return answer(c, -ERANGE);
    int rc = st_guest_write(s, buf, path, (size_t)len + 1);
    if (rc < 0)
        return rc;
    st_call_ok(c, buf);
    return 0;
}

/* ---------------------------------------------------- directories */

/* Hands the guest a DIR * for the directory fd: a zeroed block of the size
 * of a struct dirent, allocated with M; readdir writes each entry into it. */
static int hand_out_dir(struct st_session *s, struct st_call *c, struct st_vfs *v, int fd,
                        int close_on_error)
{
    static const unsigned char zero[ST_VFS_DIRENT_SIZE];
    uint64_t p = 0;
    int rc = st_guest_alloc(s, zero, sizeof zero, &p);
    if (rc < 0) {
        if (close_on_error)
            st_vfs_close(v, fd);
        return rc;
    }
    int b = p ? st_vfs_dir_bind(v, fd, p) : ST_VFS_ENOMEM;
    if (b < 0) {
        /* a pointer it already had (cannot happen with a sane guest) */
        if (close_on_error)
            st_vfs_close(v, fd);
        return answer(c, b);
    }
    st_call_ok(c, p);
    return 0;
}

int call_opendir(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    char path[ST_VFS_PATH_MAX + 1];
    int g = get_path(s, c, 0, path);
    if (g <= 0)
        return g;
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0)
        return answer(c, fd);
    return hand_out_dir(s, c, v, fd, 1);
}

int call_fdopendir(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int fd = fd_arg(c, 0);
    int kind = st_vfs_fd_kind(v, fd);
    if (kind < 0)
        return answer(c, kind);
    if (kind != ST_VFS_FD_DIR)
        return answer(c, -ENOTDIR);
    if (st_vfs_dir_handle(v, fd) != 0)
        return answer(c, -EINVAL); /* already a stream's fd */
    return hand_out_dir(s, c, v, fd, 0);
}

int call_readdir(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    uint64_t dirp = st_arg_ptr(c, 0);
    int fd = st_vfs_dir_lookup(v, dirp);
    if (fd < 0)
        return answer(c, fd);
    struct st_vfs_dirent d;
    int r = st_vfs_readdir(v, fd, &d);
    if (r < 0)
        return answer(c, r);
    if (r == 0) {
        st_call_ok(c, 0); /* the end: NULL, errno untouched */
        return 0;
    }
    unsigned char buf[ST_VFS_DIRENT_SIZE];
    st_vfs_dirent_encode(&d, buf);
    int w = st_guest_write(s, dirp, buf, sizeof buf);
    if (w < 0)
        return w;
    st_call_ok(c, dirp);
    return 0;
}

int call_rewinddir(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    int fd = st_vfs_dir_lookup(v, st_arg_ptr(c, 0));
    if (fd >= 0)
        st_vfs_rewinddir(v, fd);
    st_call_ok(c, 0);
    return 0;
}

int call_dirfd(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    return answer(c, st_vfs_dir_lookup(v, st_arg_ptr(c, 0)));
}

int call_closedir(struct st_session *s, struct st_call *c)
{
    struct st_vfs *v = st_session_vfs(s);
    uint64_t dirp = st_arg_ptr(c, 0);
    int fd = st_vfs_dir_lookup(v, dirp);
    if (fd < 0)
        return answer(c, fd);
    st_vfs_close(v, fd);
    int rc = st_guest_free(s, dirp);
    if (rc < 0)
        return rc;
    st_call_ok(c, 0);
    return 0;
}
