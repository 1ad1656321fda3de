/* The file handlers (controller/calls/fs.c) against a mock session: guest
 * memory is a flat array at a fake address, and every memory command the
 * handlers issue is checked against it (an access outside it is what would
 * crash a real guest, so it fails the test). This proves what the handlers
 * put on the wire: struct layouts, DIR * handling, size caps, errno values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "controller/call.h"
#include "controller/calls/calls.h"
#include "controller/registry.h"
#include "controller/vfs.h"
#include "tests/testutil.h"

#define MEM_BASE 0x100000ULL
#define MEM_SIZE (1u << 20)
#define HEAP_BASE (MEM_BASE + MEM_SIZE / 2)

struct st_session {
    struct st_vfs *vfs;
    unsigned char *mem;
    uint64_t heap_next;          /* bump allocator for M */
    uint64_t live[64];           /* blocks handed out with M and not freed */
    size_t nlive;
    unsigned char out[1 << 20];  /* what write(1|2) produced */
    size_t out_len;
    int out_fd_seen;
    const char *input;           /* what read(0) gives */
    size_t input_off;
    size_t max_read, max_write;  /* largest R / W seen */
    int bad_access;              /* a memory command outside guest memory */
};

static int in_mem(struct st_session *s, uint64_t p, size_t n)
{
    if (p < MEM_BASE || p > MEM_BASE + MEM_SIZE || n > MEM_BASE + MEM_SIZE - p) {
        s->bad_access = 1;
        return 0;
    }
    return 1;
}

int st_guest_read(struct st_session *s, uint64_t ptr, void *dst, size_t n)
{
    if (!in_mem(s, ptr, n))
        return -7;
    memcpy(dst, s->mem + (ptr - MEM_BASE), n);
    if (n > s->max_read)
        s->max_read = n;
    return 0;
}

int st_guest_read_str(struct st_session *s, uint64_t ptr, size_t maxlen, char *dst, size_t *len)
{
    if (!in_mem(s, ptr, 1))
        return -7;
    size_t avail = MEM_BASE + MEM_SIZE - ptr;
    size_t l = strnlen((char *)s->mem + (ptr - MEM_BASE), avail < maxlen ? avail : maxlen);
    memcpy(dst, s->mem + (ptr - MEM_BASE), l);
    dst[l] = '\0';
    *len = l;
    return 0;
}

int st_guest_write(struct st_session *s, uint64_t ptr, const void *src, size_t n)
{
    if (!in_mem(s, ptr, n))
        return -7;
    memcpy(s->mem + (ptr - MEM_BASE), src, n);
    if (n > s->max_write)
        s->max_write = n;
    return 0;
}

int st_guest_alloc(struct st_session *s, const void *data, size_t n, uint64_t *ptr)
{
    if (s->nlive == 64 || s->heap_next + n > MEM_BASE + MEM_SIZE)
        return -11;
    *ptr = s->heap_next;
    memcpy(s->mem + (s->heap_next - MEM_BASE), data, n);
    s->heap_next += (n + 15) & ~(size_t)15;
    s->live[s->nlive++] = *ptr;
    return 0;
}

int st_guest_free(struct st_session *s, uint64_t ptr)
{
    for (size_t i = 0; i < s->nlive; i++)
        if (s->live[i] == ptr) {
            s->live[i] = s->live[--s->nlive];
            return 0;
        }
    s->bad_access = 1; /* freeing what M never gave: the guest would crash */
    return -9;
}

long st_session_write_output(struct st_session *s, int fd, const void *data, size_t n)
{
    s->out_fd_seen = fd;
    size_t room = sizeof s->out - s->out_len;
    if (n > room)
        n = room;
    memcpy(s->out + s->out_len, data, n);
    s->out_len += n;
    return (long)n;
}

long st_session_read_input(struct st_session *s, void *buf, size_t n)
{
    size_t left = s->input ? strlen(s->input) - s->input_off : 0;
    if (n > left)
        n = left;
    memcpy(buf, s->input + s->input_off, n);
    s->input_off += n;
    return (long)n;
}

struct st_vfs *st_session_vfs(struct st_session *s)
{
    return s->vfs;
}

/* --------------------------------------------------------------- helpers */

static struct st_session *sess;
static char *fixture;

static int setup(void **state)
{
    (void)state;
    sess = calloc(1, sizeof *sess);
    sess->mem = calloc(1, MEM_SIZE);
    sess->heap_next = HEAP_BASE;
    sess->vfs = st_vfs_new(NULL);
    fixture = tu_mkdtemp();
    tu_write_file(fixture, "hello.txt", "hello, world\n", 13);
    tu_write_file(fixture, "b.txt", "b", 1);
    char big[8192];
    memset(big, 'z', sizeof big);
    tu_write_file(fixture, "big.bin", big, sizeof big);
    st_vfs_mount(sess->vfs, "/data", fixture, NULL);
    st_vfs_enable_tmp(sess->vfs, 1 << 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    st_vfs_free(sess->vfs);
    free(sess->mem);
    free(sess);
    tu_rm_rf(fixture);
    free(fixture);
    return 0;
}

/* Guest addresses for test data (below the M heap). */
#define PATH_AT (MEM_BASE + 0x1000)
#define PATH2_AT (MEM_BASE + 0x3000)
#define BUF_AT (MEM_BASE + 0x10000)
#define BUF_SIZE (HEAP_BASE - BUF_AT)

static uint64_t put_str(uint64_t at, const char *str)
{
    memcpy(sess->mem + (at - MEM_BASE), str, strlen(str) + 1);
    return at;
}

static unsigned char *mem_at(uint64_t p)
{
    return sess->mem + (p - MEM_BASE);
}

/* Calls handler `h` for signature `id` with the given args; returns the
 * handler's own return value; *c holds result and errno. */
static int call(st_handler *h, enum st_sig_id id, struct st_call *c, unsigned n, ...)
{
    memset(c, 0, sizeof *c);
    c->sig = st_registry_get(id);
    assert_non_null(c->sig);
    assert_int_equal(c->sig->nargs, n);
    va_list ap;
    va_start(ap, n);
    for (unsigned i = 0; i < n; i++)
        c->args[i] = va_arg(ap, uint64_t);
    va_end(ap);
    c->nargs = n;
    int rc = h(sess, c);
    assert_false(sess->bad_access);
    return rc;
}

#define U(x) ((uint64_t)(int64_t)(x))

static int64_t ok_int(st_handler *h, enum st_sig_id id, unsigned n, uint64_t a, uint64_t b,
                      uint64_t cc, uint64_t d)
{
    struct st_call c;
    assert_int_equal(call(h, id, &c, n, a, b, cc, d), 0);
    if (c.err)
        return -(int64_t)c.err;
    return (int64_t)c.result;
}

static int do_open(const char *path, int flags, int mode)
{
    return (int)ok_int(call_open, ST_SIG_open, 3, put_str(PATH_AT, path), U(flags), U(mode), 0);
}

/* ----------------------------------------------------------------- tests */

static void test_fs_stat64_writes_the_144_byte_layout(void **state)
{
    (void)state;
    memset(mem_at(BUF_AT), 0xaa, 200);
    assert_int_equal(ok_int(call_stat64, ST_SIG_stat64, 2, put_str(PATH_AT, "/data/hello.txt"),
                            BUF_AT, 0, 0), 0);
    unsigned char *b = mem_at(BUF_AT);
    assert_int_equal(b[0], 1);                 /* st_dev */
    assert_int_equal(b[24] | b[25] << 8, 0x81a4); /* 0100644 */
    assert_int_equal(b[48], 13);               /* st_size */
    assert_int_equal(b[143], 0);               /* the whole struct was written */
    assert_int_equal(b[144], 0xaa);            /* and nothing past it */
    assert_int_equal(ok_int(call_stat64, ST_SIG_stat64, 2, put_str(PATH_AT, "/data/none"),
                            BUF_AT, 0, 0), -ENOENT);
    assert_int_equal(ok_int(call_stat64, ST_SIG_stat64, 2, 0, BUF_AT, 0, 0), -EFAULT);
    assert_int_equal(ok_int(call_stat64, ST_SIG_stat64, 2, put_str(PATH_AT, "/data"), 0, 0, 0),
                     -EFAULT);
    assert_int_equal(ok_int(call_fstatat64, ST_SIG_fstatat64, 4, U(-100),
                            put_str(PATH_AT, "/data/b.txt"), BUF_AT, 0x100), 0);
    assert_int_equal(ok_int(call_fstatat64, ST_SIG_fstatat64, 4, U(-100),
                            put_str(PATH_AT, "/data/b.txt"), BUF_AT, 0x8), -EINVAL);
}

static void test_fs_fstat64_answers_standard_streams_as_fifos(void **state)
{
    (void)state;
    for (int fd = 0; fd < 3; fd++) {
        assert_int_equal(ok_int(call_fstat64, ST_SIG_fstat64, 2, U(fd), BUF_AT, 0, 0), 0);
        unsigned char *b = mem_at(BUF_AT);
        assert_int_equal(b[0], 0x0c);
        assert_int_equal(b[8], 0x78);
        assert_int_equal(b[24] | b[25] << 8, 0x1180);
        assert_int_equal(b[28] | b[29] << 8, 1000);
    }
    assert_int_equal(ok_int(call_fstat64, ST_SIG_fstat64, 2, 77, BUF_AT, 0, 0), -EBADF);
}

static void test_fs_open_read_close_of_a_mounted_file(void **state)
{
    (void)state;
    int fd = do_open("/data/hello.txt", O_RDONLY, 0666);
    assert_true(fd >= 3);
    sess->max_write = 0;
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, U(fd), BUF_AT, 8192, 0), 13);
    assert_memory_equal(mem_at(BUF_AT), "hello, world\n", 13);
    assert_int_equal(sess->max_write, 13); /* only the bytes read were written */
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, U(fd), BUF_AT, 8192, 0), 0);
    assert_int_equal(ok_int(call_lseek, ST_SIG_lseek, 3, U(fd), 7, SEEK_SET, 0), 7);
    assert_int_equal(ok_int(call_pread, ST_SIG_pread, 4, U(fd), BUF_AT, 5, 0), 5);
    assert_memory_equal(mem_at(BUF_AT), "hello", 5);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, U(fd), BUF_AT, 100, 0), 6);
    assert_memory_equal(mem_at(BUF_AT), "world\n", 6);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, U(fd), 0, 100, 0), -EFAULT);
    assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(fd), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(fd), 0, 0, 0), -EBADF);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, U(fd), BUF_AT, 10, 0), -EBADF);
    assert_int_equal(ok_int(call_lseek, ST_SIG_lseek, 3, U(fd), 0, SEEK_SET, 0), -EBADF);
    /* pypy's probes */
    assert_int_equal(do_open("/proc/meminfo", O_RDONLY, 0644), -ENOENT);
    assert_int_equal(do_open("/data/x.pyc", O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0100644),
                     -EROFS);
}

static void test_fs_read_is_capped_per_call(void **state)
{
    (void)state;
    int fd = do_open("/dev/urandom", O_RDONLY, 0);
    /* the guest claims a 1 TiB buffer: at most ST_VFS_IO_MAX is written */
    sess->max_write = 0;
    int64_t r = ok_int(call_read, ST_SIG_read, 3, U(fd), BUF_AT, 1ULL << 40, 0);
    assert_int_equal(r, ST_VFS_IO_MAX);
    assert_int_equal(sess->max_write, ST_VFS_IO_MAX);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, U(fd), BUF_AT, U(-5), 0), -EINVAL);
    assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(fd), 0, 0, 0), 0);
}

static void test_fs_write_to_stdout_is_capped_and_reaches_the_session(void **state)
{
    (void)state;
    put_str(BUF_AT, "42\n");
    sess->out_len = 0;
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, 1, BUF_AT, 3, 0), 3);
    assert_int_equal(sess->out_fd_seen, 1);
    assert_memory_equal(sess->out, "42\n", 3);
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, 2, BUF_AT, 2, 0), 2);
    assert_int_equal(sess->out_fd_seen, 2);
    /* a huge count: only the cap is read from the guest, a short count returned */
    sess->max_read = 0;
    int64_t r = ok_int(call_write, ST_SIG_write, 3, 1, BUF_AT, U(BUF_SIZE) * 1000, 0);
    assert_int_equal(r, ST_VFS_IO_MAX);
    assert_int_equal(sess->max_read, ST_VFS_IO_MAX);
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, 0, BUF_AT, 1, 0), -EBADF);
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, 99, BUF_AT, 1, 0), -EBADF);
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, 1, 0, 1, 0), -EFAULT);
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, 1, 0, 0, 0), 0);
    assert_int_equal(ok_int(call_pwrite, ST_SIG_pwrite, 4, 1, BUF_AT, 1, 0), -ESPIPE);
    /* a dup of stdout still writes to the session's fd 1 */
    int64_t d = ok_int(call_dup, ST_SIG_dup, 1, 1, 0, 0, 0);
    assert_true(d >= 3);
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, U(d), BUF_AT, 3, 0), 3);
    assert_int_equal(sess->out_fd_seen, 1);
    assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(d), 0, 0, 0), 0);
}

static void test_fs_read_of_stdin_comes_from_the_session(void **state)
{
    (void)state;
    sess->input = "line one\n";
    sess->input_off = 0;
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, 0, BUF_AT, 4, 0), 4);
    assert_memory_equal(mem_at(BUF_AT), "line", 4);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, 0, BUF_AT, 100, 0), 5);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, 0, BUF_AT, 100, 0), 0);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, 1, BUF_AT, 100, 0), -EBADF);
    assert_int_equal(ok_int(call_lseek, ST_SIG_lseek, 3, 0, 0, SEEK_CUR, 0), -ESPIPE);
}

static void test_fs_tmp_write_rename_unlink_through_handlers(void **state)
{
    (void)state;
    int fd = do_open("/tmp/out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 3);
    put_str(BUF_AT, "payload");
    assert_int_equal(ok_int(call_write, ST_SIG_write, 3, U(fd), BUF_AT, 7, 0), 7);
    assert_int_equal(ok_int(call_ftruncate, ST_SIG_ftruncate, 2, U(fd), 3, 0, 0), 0);
    assert_int_equal(ok_int(call_fsync, ST_SIG_fsync, 1, U(fd), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(fd), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_mkdir, ST_SIG_mkdir, 2, put_str(PATH_AT, "/tmp/d"), 0777, 0, 0), 0);
    assert_int_equal(ok_int(call_rename, ST_SIG_rename, 2, put_str(PATH_AT, "/tmp/out.txt"),
                            put_str(PATH2_AT, "/tmp/d/moved"), 0, 0), 0);
    fd = do_open("/tmp/d/moved", O_RDONLY, 0);
    assert_int_equal(ok_int(call_read, ST_SIG_read, 3, U(fd), BUF_AT, 100, 0), 3);
    assert_memory_equal(mem_at(BUF_AT), "pay", 3);
    ok_int(call_close, ST_SIG_close, 1, U(fd), 0, 0, 0);
    assert_int_equal(ok_int(call_unlinkat, ST_SIG_unlinkat, 3, U(-100),
                            put_str(PATH_AT, "/tmp/d"), 0x200, 0), -ENOTEMPTY);
    assert_int_equal(ok_int(call_unlink, ST_SIG_unlink, 1, put_str(PATH_AT, "/tmp/d/moved"), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_rmdir, ST_SIG_rmdir, 1, put_str(PATH_AT, "/tmp/d"), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_unlink, ST_SIG_unlink, 1, put_str(PATH_AT, "/data/b.txt"), 0, 0, 0),
                     -EROFS);
    assert_int_equal(ok_int(call_mkdir, ST_SIG_mkdir, 2, put_str(PATH_AT, "/data/__pycache__"),
                            0777, 0, 0), -EROFS);
}

static void test_fs_directory_streams_through_handlers(void **state)
{
    (void)state;
    struct st_call c;
    size_t live = sess->nlive;
    assert_int_equal(call(call_opendir, ST_SIG_opendir, &c, 1, put_str(PATH_AT, "/data")), 0);
    uint64_t dirp = c.result;
    assert_int_equal(c.err, 0);
    assert_int_equal(sess->nlive, live + 1);
    const char *want[] = { "b.txt", "big.bin", "hello.txt" };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(call(call_readdir, ST_SIG_readdir, &c, 1, dirp), 0);
        assert_int_equal(c.result, dirp);
        unsigned char *d = mem_at(dirp);
        assert_int_equal(d[16] | d[17] << 8, 280);
        assert_int_equal(d[18], DT_REG);
        assert_string_equal((char *)d + 19, want[i]);
    }
    assert_int_equal(call(call_readdir, ST_SIG_readdir, &c, 1, dirp), 0);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.err, 0);
    assert_int_equal(call(call_rewinddir, ST_SIG_rewinddir, &c, 1, dirp), 0);
    assert_int_equal(call(call_readdir, ST_SIG_readdir, &c, 1, dirp), 0);
    assert_string_equal((char *)mem_at(dirp) + 19, "b.txt");
    int64_t dfd = ok_int(call_dirfd, ST_SIG_dirfd, 1, dirp, 0, 0, 0);
    assert_true(dfd >= 3);
    assert_int_equal(ok_int(call_fstatat64, ST_SIG_fstatat64, 4, U(dfd),
                            put_str(PATH_AT, "hello.txt"), BUF_AT, 0), 0);
    assert_int_equal(ok_int(call_closedir, ST_SIG_closedir, 1, dirp, 0, 0, 0), 0);
    assert_int_equal(sess->nlive, live); /* freed with F */
    /* pointers it did not hand out, or no longer owns, are EBADF and never touched */
    static const uint64_t bogus[] = { 0, 0x1, MEM_BASE + 0x2000, 0xdeadbeefdeadbeefULL };
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        assert_int_equal(call(call_readdir, ST_SIG_readdir, &c, 1, bogus[i]), 0);
        assert_int_equal(c.result, 0);
        assert_int_equal(c.err, EBADF);
        assert_int_equal(ok_int(call_closedir, ST_SIG_closedir, 1, bogus[i], 0, 0, 0), -EBADF);
        assert_int_equal(ok_int(call_dirfd, ST_SIG_dirfd, 1, bogus[i], 0, 0, 0), -EBADF);
        assert_int_equal(call(call_rewinddir, ST_SIG_rewinddir, &c, 1, bogus[i]), 0);
    }
    assert_int_equal(call(call_readdir, ST_SIG_readdir, &c, 1, dirp), 0);
    assert_int_equal(c.err, EBADF);
    /* fdopendir of an open directory fd, and of a file fd */
    int fd = do_open("/data", O_RDONLY | O_DIRECTORY, 0);
    assert_int_equal(call(call_fdopendir, ST_SIG_fdopendir, &c, 1, U(fd)), 0);
    assert_int_equal(c.err, 0);
    dirp = c.result;
    assert_int_equal(call(call_fdopendir, ST_SIG_fdopendir, &c, 1, U(fd)), 0);
    assert_int_equal(c.err, EINVAL);
    assert_int_equal(ok_int(call_closedir, ST_SIG_closedir, 1, dirp, 0, 0, 0), 0);
    assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(fd), 0, 0, 0), -EBADF);
    assert_int_equal(call(call_fdopendir, ST_SIG_fdopendir, &c, 1, U(1)), 0);
    assert_int_equal(c.err, ENOTDIR);
    assert_int_equal(call(call_opendir, ST_SIG_opendir, &c, 1, put_str(PATH_AT, "/data/b.txt")), 0);
    assert_int_equal(c.err, ENOTDIR);
    assert_int_equal(c.result, 0);
}

static void test_fs_paths_longer_than_path_max_are_enametoolong(void **state)
{
    (void)state;
    char *p = malloc(ST_VFS_PATH_MAX + 10);
    memset(p, 'a', ST_VFS_PATH_MAX + 5);
    p[0] = '/';
    p[ST_VFS_PATH_MAX + 5] = '\0';
    assert_int_equal(ok_int(call_stat64, ST_SIG_stat64, 2, put_str(PATH_AT, p), BUF_AT, 0, 0),
                     -ENAMETOOLONG);
    assert_int_equal(do_open(p, O_RDONLY, 0), -ENAMETOOLONG);
    free(p);
}

static void test_fs_identity_bits(void **state)
{
    (void)state;
    struct st_call c;
    /* isatty: 0 and ENOTTY for open fds, 0 and EBADF otherwise */
    assert_int_equal(call(call_isatty, ST_SIG_isatty, &c, 1, U(1)), 0);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.err, ENOTTY);
    assert_int_equal(call(call_isatty, ST_SIG_isatty, &c, 1, U(55)), 0);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.err, EBADF);
    /* getcwd */
    assert_int_equal(call(call_getcwd, ST_SIG_getcwd, &c, 2, BUF_AT, U(64)), 0);
    assert_int_equal(c.result, BUF_AT);
    assert_string_equal((char *)mem_at(BUF_AT), "/tmp");
    assert_int_equal(call(call_getcwd, ST_SIG_getcwd, &c, 2, BUF_AT, U(4)), 0);
    assert_int_equal(c.err, ERANGE);
    assert_int_equal(call(call_getcwd, ST_SIG_getcwd, &c, 2, U(0), U(0)), 0);
    assert_string_equal((char *)mem_at(c.result), "/tmp");
    assert_int_equal(st_guest_free(sess, c.result), 0);
    assert_int_equal(ok_int(call_chdir, ST_SIG_chdir, 1, put_str(PATH_AT, "/data"), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_access, ST_SIG_access, 2, put_str(PATH_AT, "hello.txt"), R_OK,
                            0, 0), 0);
    assert_int_equal(ok_int(call_chdir, ST_SIG_chdir, 1, put_str(PATH_AT, "/tmp"), 0, 0, 0), 0);
    /* fcntl */
    assert_int_equal(ok_int(call_fcntl, ST_SIG_fcntl, 3, 1, F_GETFL, 0, 0), O_WRONLY);
    assert_int_equal(ok_int(call_fcntl, ST_SIG_fcntl, 3, 1, F_GETFD, 0, 0), 0);
    assert_int_equal(ok_int(call_fcntl, ST_SIG_fcntl, 3, 1, F_SETFD, FD_CLOEXEC, 0), 0);
    assert_int_equal(ok_int(call_fcntl, ST_SIG_fcntl, 3, 1, F_GETFD, 0, 0), FD_CLOEXEC);
    assert_int_equal(ok_int(call_rpy_get_inheritable, ST_SIG_rpy_get_inheritable, 1, 1, 0, 0, 0), 0);
    assert_int_equal(ok_int(call_rpy_set_inheritable, ST_SIG_rpy_set_inheritable, 2, 1, 1, 0, 0), 0);
    assert_int_equal(ok_int(call_rpy_get_inheritable, ST_SIG_rpy_get_inheritable, 1, 1, 0, 0, 0), 1);
    assert_int_equal(ok_int(call_fcntl, ST_SIG_fcntl, 3, 1, 9999, 0, 0), -EINVAL);
    assert_int_equal(ok_int(call_fcntl, ST_SIG_fcntl, 3, 42, F_GETFL, 0, 0), -EBADF);
    assert_int_equal(ok_int(call_rpy_set_status_flags, ST_SIG_rpy_set_status_flags, 2, 1,
                            O_APPEND, 0, 0), 0);
    assert_int_equal(ok_int(call_rpy_get_status_flags, ST_SIG_rpy_get_status_flags, 1, 1, 0, 0, 0),
                     O_WRONLY | O_APPEND);
    int64_t d = ok_int(call_rpy_dup_noninheritable, ST_SIG_rpy_dup_noninheritable, 1, 0, 0, 0, 0);
    assert_int_equal(ok_int(call_rpy_get_inheritable, ST_SIG_rpy_get_inheritable, 1, U(d), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(d), 0, 0, 0), 0);
    assert_int_equal(ok_int(call_posix_fadvise, ST_SIG_posix_fadvise, 4, 77, 0, 0, 0), EBADF);
    assert_int_equal(ok_int(call_fsync, ST_SIG_fsync, 1, 1, 0, 0, 0), -EINVAL);
    assert_int_equal(call(call_sync, ST_SIG_sync, &c, 0), 0);
    assert_int_equal(ok_int(call_readlink, ST_SIG_readlink, 3, put_str(PATH_AT, "/data/b.txt"),
                            BUF_AT, 100, 0), -EINVAL);
}

static void test_fs_fd_exhaustion_is_emfile(void **state)
{
    (void)state;
    int fds[ST_VFS_DEFAULT_MAX_FDS];
    int n = 0, fd;
    while ((fd = do_open("/data/b.txt", O_RDONLY, 0)) >= 0) {
        assert_true(n < ST_VFS_DEFAULT_MAX_FDS);
        fds[n++] = fd;
    }
    assert_int_equal(fd, -EMFILE);
    assert_int_equal(n + 3, ST_VFS_DEFAULT_MAX_FDS);
    for (int i = 0; i < n; i++)
        assert_int_equal(ok_int(call_close, ST_SIG_close, 1, U(fds[i]), 0, 0, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_stat64_writes_the_144_byte_layout),
        cmocka_unit_test(test_fs_fstat64_answers_standard_streams_as_fifos),
        cmocka_unit_test(test_fs_open_read_close_of_a_mounted_file),
        cmocka_unit_test(test_fs_read_is_capped_per_call),
        cmocka_unit_test(test_fs_write_to_stdout_is_capped_and_reaches_the_session),
        cmocka_unit_test(test_fs_read_of_stdin_comes_from_the_session),
        cmocka_unit_test(test_fs_tmp_write_rename_unlink_through_handlers),
        cmocka_unit_test(test_fs_directory_streams_through_handlers),
        cmocka_unit_test(test_fs_paths_longer_than_path_max_are_enametoolong),
        cmocka_unit_test(test_fs_identity_bits),
        cmocka_unit_test(test_fs_fd_exhaustion_is_emfile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
