/* The file and descriptor handlers: PLACEHOLDER until the virtual file
 * system lands (controller/vfs.c). Every handler here refuses with ENOSYS so
 * that the dispatcher links; none of them is done. */
#include <errno.h>

#include "controller/call.h"
#include "controller/calls/calls.h"

int call_access(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_chdir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_close(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_closedir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_dirfd(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_dup(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_faccessat(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_fchdir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_fcntl(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_fdatasync(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_fdopendir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_fstat64(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_fstatat64(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_fsync(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_ftruncate(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_getcwd(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_isatty(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_lseek(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_lstat64(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_mkdir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_mkdirat(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_open(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_openat(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_opendir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_posix_fadvise(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_pread(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_pwrite(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_read(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_readdir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_readlink(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_readlinkat(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rename(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_renameat(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rewinddir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rmdir(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rpy_dup_noninheritable(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rpy_get_inheritable(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rpy_get_status_flags(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rpy_set_inheritable(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_rpy_set_status_flags(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_stat64(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_sync(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_unlink(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_unlinkat(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}

int call_write(struct st_session *s, struct st_call *c)
{
    (void)s;
    st_call_fail(c, ENOSYS); /* PLACEHOLDER */
    return 0;
}
