/* The virtual file system (controller/vfs.h), driven directly: mounts,
 * confinement, the writable /tmp and its quota, devices, the fd table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <cmocka.h>

#include "controller/vfs.h"
#include "tests/testutil.h"

/* A fixture tree:
 *   root/m/a.py "alpha\n", b.py "bravo!\n", x.pyc, .hidden, sub/c.txt "charlie",
 *   sub/deep/d.txt, link_in -> a.py, link_sub -> sub/../b.py, link_out -> ../outside.txt,
 *   link_abs_out -> /etc/passwd, link_abs_in -> <abs>/m/sub/c.txt, loop1 <-> loop2, fifo
 *   root/outside.txt "secret" */
struct fx {
    char *root;
    char m[1024];
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->root = tu_mkdtemp();
    snprintf(f->m, sizeof f->m, "%s/m", f->root);
    char p[4096];
    mkdir(f->m, 0755);
    snprintf(p, sizeof p, "%s/sub", f->m);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/sub/deep", f->m);
    mkdir(p, 0755);
    tu_write_file(f->m, "a.py", "alpha\n", 6);
    tu_write_file(f->m, "b.py", "bravo!\n", 7);
    tu_write_file(f->m, "x.pyc", "compiled", 8);
    tu_write_file(f->m, ".hidden", "dot", 3);
    tu_write_file(f->m, "sub/c.txt", "charlie", 7);
    tu_write_file(f->m, "sub/deep/d.txt", "delta", 5);
    tu_write_file(f->root, "outside.txt", "secret", 6);
    char t[4096];
    snprintf(p, sizeof p, "%s/link_in", f->m);
    if (symlink("a.py", p))
        abort();
    snprintf(p, sizeof p, "%s/link_sub", f->m);
    if (symlink("sub/../b.py", p))
        abort();
    snprintf(p, sizeof p, "%s/link_out", f->m);
    if (symlink("../outside.txt", p))
        abort();
    snprintf(p, sizeof p, "%s/link_abs_out", f->m);
    if (symlink("/etc/passwd", p))
        abort();
    char *real = realpath(f->m, NULL);
    snprintf(t, sizeof t, "%s/sub/c.txt", real);
    free(real);
    snprintf(p, sizeof p, "%s/link_abs_in", f->m);
    if (symlink(t, p))
        abort();
    snprintf(p, sizeof p, "%s/loop1", f->m);
    if (symlink("loop2", p))
        abort();
    snprintf(p, sizeof p, "%s/loop2", f->m);
    if (symlink("loop1", p))
        abort();
    snprintf(p, sizeof p, "%s/fifo", f->m);
    if (mkfifo(p, 0644))
        abort();
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    tu_rm_rf(f->root);
    free(f->root);
    free(f);
    return 0;
}

static struct st_vfs *vfs_with_mount(const struct fx *f, int dotfiles, int follow)
{
    struct st_vfs *v = st_vfs_new(NULL);
    assert_non_null(v);
    static const char *const ex[] = { "*.pyc" };
    struct st_mount_options mo;
    st_mount_options_init(&mo);
    mo.show_dotfiles = dotfiles;
    mo.follow_symlinks = follow;
    mo.exclude = ex;
    mo.n_exclude = 1;
    assert_int_equal(st_vfs_mount(v, "/m", f->m, &mo), 0);
    return v;
}

/* Reads the whole of `path` (at most cap - 1 bytes) into buf, NUL-terminated. */
static long slurp(struct st_vfs *v, const char *path, char *buf, size_t cap)
{
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    long total = 0, r;
    while ((r = st_vfs_read(v, fd, buf + total, cap - 1 - (size_t)total)) > 0)
        total += r;
    buf[total] = '\0';
    assert_int_equal(st_vfs_close(v, fd), 0);
    return r < 0 ? r : total;
}

/* The names of a directory's listing, joined by spaces. */
static int list(struct st_vfs *v, const char *path, char *out, size_t cap)
{
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    out[0] = '\0';
    struct st_vfs_dirent d;
    int r;
    while ((r = st_vfs_readdir(v, fd, &d)) == 1) {
        if (out[0])
            strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, d.name, cap - strlen(out) - 1);
    }
    st_vfs_close(v, fd);
    return r;
}

static void test_vfs_new_has_devices_tmp_and_standard_streams(void **state)
{
    (void)state;
    struct st_vfs *v = st_vfs_new(NULL);
    assert_non_null(v);
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/dev/null", 0, &st), 0);
    assert_int_equal(st.mode & S_IFMT, S_IFCHR);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/tmp", 0, &st), 0);
    assert_int_equal(st.mode, S_IFDIR | 0755);
    assert_int_equal(st_vfs_fd_kind(v, 0), ST_VFS_FD_STDIN);
    assert_int_equal(st_vfs_fd_kind(v, 1), ST_VFS_FD_STDOUT);
    assert_int_equal(st_vfs_fd_kind(v, 2), ST_VFS_FD_STDERR);
    assert_int_equal(st_vfs_fd_kind(v, 3), ST_VFS_EBADF);
    assert_int_equal(st_vfs_open_fds(v), 3);
    char cwd[64];
    assert_int_equal(st_vfs_getcwd(v, cwd, sizeof cwd), 4);
    assert_string_equal(cwd, "/tmp");
    st_vfs_free(v);
}

/* The exact 144 bytes the reference controller wrote for fstat64(1). */
static void test_vfs_fstat_of_stdout_matches_reference_fifo_answer(void **state)
{
    (void)state;
    struct st_vfs *v = st_vfs_new(NULL);
    struct st_vfs_stat st;
    unsigned char got[ST_VFS_STAT_SIZE], want[ST_VFS_STAT_SIZE] = { 0 };
    static const unsigned char head[] = { 0x0c, 0, 0, 0, 0, 0, 0, 0, 0x78, 0, 0, 0, 0, 0, 0, 0,
                                          0x01, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x11, 0, 0,
                                          0xe8, 0x03, 0, 0, 0xe8, 0x03 };
    memcpy(want, head, sizeof head);
    for (int fd = 0; fd < 3; fd++) {
        assert_int_equal(st_vfs_fstat(v, fd, &st), 0);
        st_vfs_stat_encode(&st, got);
        assert_memory_equal(got, want, sizeof want);
    }
    st_vfs_free(v);
}

static void test_vfs_stat_of_virtual_exe_matches_reference(void **state)
{
    (void)state;
    struct st_vfs *v = st_vfs_new(NULL);
    assert_int_equal(st_vfs_add_file(v, "/lib/pypy", NULL, 0, 0755), 0);
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/lib/pypy", 0, &st), 0);
    unsigned char got[ST_VFS_STAT_SIZE];
    st_vfs_stat_encode(&st, got);
    /* dev 1, nlink 1, mode 0100755, owner 0, size 0, times 0 */
    assert_int_equal(got[0], 1);
    assert_int_equal(got[16], 1);
    assert_int_equal(got[24], 0xed);
    assert_int_equal(got[25], 0x81);
    for (size_t i = 28; i < ST_VFS_STAT_SIZE; i++)
        assert_int_equal(got[i], 0);
    assert_int_equal(st_vfs_access(v, ST_VFS_AT_FDCWD, "/lib/pypy", X_OK, 0), 0);
    st_vfs_free(v);
}

static void test_vfs_lists_mount_sorted_without_dotfiles_excluded_or_special(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    char names[1024];
    assert_int_equal(list(v, "/m", names, sizeof names), 0);
    assert_string_equal(names, "a.py b.py link_abs_in link_abs_out link_in link_out link_sub "
                               "loop1 loop2 sub");
    assert_int_equal(list(v, "/m/sub", names, sizeof names), 0);
    assert_string_equal(names, "c.txt deep");
    assert_int_equal(list(v, "/", names, sizeof names), 0);
    assert_string_equal(names, "dev m tmp");
    st_vfs_free(v);

    v = vfs_with_mount(f, 1, 0);
    assert_int_equal(list(v, "/m", names, sizeof names), 0);
    assert_non_null(strstr(names, ".hidden a.py"));
    st_vfs_free(v);
}

static void test_vfs_reads_seeks_and_stats_a_mounted_file(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    char buf[64];
    assert_int_equal(slurp(v, "/m/sub/c.txt", buf, sizeof buf), 7);
    assert_string_equal(buf, "charlie");
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/b.py", O_RDONLY | O_CLOEXEC, 0);
    assert_int_equal(fd, 3);
    assert_int_equal(st_vfs_get_cloexec(v, fd), 1);
    assert_int_equal(st_vfs_lseek(v, fd, 2, SEEK_SET), 2);
    assert_int_equal(st_vfs_read(v, fd, buf, 3), 3);
    assert_memory_equal(buf, "avo", 3);
    assert_int_equal(st_vfs_lseek(v, fd, 0, SEEK_CUR), 5);
    assert_int_equal(st_vfs_pread(v, fd, buf, 2, 0), 2);
    assert_memory_equal(buf, "br", 2);
    assert_int_equal(st_vfs_lseek(v, fd, 0, SEEK_CUR), 5);
    assert_int_equal(st_vfs_lseek(v, fd, -1, SEEK_END), 6);
    assert_int_equal(st_vfs_lseek(v, fd, -100, SEEK_CUR), ST_VFS_EINVAL);
    struct st_vfs_stat st, st2;
    assert_int_equal(st_vfs_fstat(v, fd, &st), 0);
    assert_int_equal(st.size, 7);
    assert_int_equal(st.mode, S_IFREG | 0644);
    assert_int_equal(st.uid, 0);
    assert_int_equal(st.mtime_sec, 0);
    /* the same path keeps its inode number */
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/sub/../b.py", 0, &st2), 0);
    assert_int_equal(st.ino, st2.ino);
    assert_int_equal(st_vfs_write(v, fd, "x", 1), ST_VFS_EBADF);
    assert_int_equal(st_vfs_close(v, fd), 0);
    st_vfs_free(v);
}

static void test_vfs_hidden_excluded_and_special_entries_do_not_exist(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/.hidden", 0, &st), ST_VFS_ENOENT);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/.hidden", O_RDONLY, 0), ST_VFS_ENOENT);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/x.pyc", 0, &st), ST_VFS_ENOENT);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/fifo", 0, &st), ST_VFS_ENOENT);
    st_vfs_free(v);
    v = vfs_with_mount(f, 1, 0);
    char buf[16];
    assert_int_equal(slurp(v, "/m/.hidden", buf, sizeof buf), 3);
    st_vfs_free(v);
}

static void test_vfs_symlinks_are_refused_unless_following(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    struct st_vfs_stat st;
    char buf[64];
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/link_in", 0, &st), ST_VFS_EACCES);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/link_in", ST_VFS_AT_SYMLINK_NOFOLLOW, &st),
                     ST_VFS_EACCES);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/link_in", O_RDONLY, 0), ST_VFS_EACCES);
    assert_int_equal(st_vfs_readlink(v, ST_VFS_AT_FDCWD, "/m/link_in", buf, sizeof buf),
                     ST_VFS_EACCES);
    st_vfs_free(v);
}

static void test_vfs_followed_symlinks_stay_inside_the_mount(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 1);
    struct st_vfs_stat st;
    char buf[64];
    assert_int_equal(slurp(v, "/m/link_in", buf, sizeof buf), 6);
    assert_string_equal(buf, "alpha\n");
    assert_int_equal(slurp(v, "/m/link_sub", buf, sizeof buf), 7);
    assert_string_equal(buf, "bravo!\n");
    assert_int_equal(slurp(v, "/m/link_abs_in", buf, sizeof buf), 7);
    assert_string_equal(buf, "charlie");
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/link_in", ST_VFS_AT_SYMLINK_NOFOLLOW, &st),
                     0);
    assert_int_equal(st.mode & S_IFMT, S_IFLNK);
    assert_int_equal(st_vfs_readlink(v, ST_VFS_AT_FDCWD, "/m/link_in", buf, sizeof buf), 4);
    assert_memory_equal(buf, "a.py", 4);
    /* leaving the mount, relatively or absolutely, is refused */
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/link_out", O_RDONLY, 0), ST_VFS_EACCES);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/link_abs_out", 0, &st), ST_VFS_EACCES);
    assert_int_equal(st_vfs_readlink(v, ST_VFS_AT_FDCWD, "/m/link_out", buf, sizeof buf),
                     ST_VFS_EACCES);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/loop1", 0, &st), ST_VFS_ELOOP);
    assert_int_equal(st_vfs_readlink(v, ST_VFS_AT_FDCWD, "/m/a.py", buf, sizeof buf), ST_VFS_EINVAL);
    st_vfs_free(v);
}

static void test_vfs_dotdot_cannot_escape_the_virtual_root_or_reach_real_paths(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    struct st_vfs_stat st;
    char buf[64], path[4096];
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/../../..", 0, &st), 0);
    assert_int_equal(st.mode & S_IFMT, S_IFDIR);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/../../../etc/passwd", 0, &st),
                     ST_VFS_ENOENT);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/../outside.txt", 0, &st), ST_VFS_ENOENT);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/sub/../../m/a.py", 0, &st), 0);
    /* from inside the mount, `..` climbs the virtual tree, not the real one */
    assert_int_equal(st_vfs_chdir(v, "/m/sub/deep"), 0);
    assert_int_equal(slurp(v, "../../../m/sub/c.txt", buf, sizeof buf), 7);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "../../../outside.txt", 0, &st), ST_VFS_ENOENT);
    assert_int_equal(st_vfs_getcwd(v, path, sizeof path), 11);
    assert_string_equal(path, "/m/sub/deep");
    /* the real directory's own path means nothing inside */
    snprintf(path, sizeof path, "%s/a.py", f->m);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, path, 0, &st), ST_VFS_ENOENT);
    st_vfs_free(v);
}

static void test_vfs_readonly_areas_refuse_changes(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/a.py", O_WRONLY, 0), ST_VFS_EROFS);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/new.pyc",
                                 O_WRONLY | O_CREAT | O_EXCL | O_TRUNC, 0644),
                     ST_VFS_EROFS);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/x", O_WRONLY | O_CREAT, 0644),
                     ST_VFS_EROFS);
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/m/__pycache__", 0777), ST_VFS_EROFS);
    assert_int_equal(st_vfs_unlink(v, ST_VFS_AT_FDCWD, "/m/a.py", 0), ST_VFS_EROFS);
    assert_int_equal(st_vfs_unlink(v, ST_VFS_AT_FDCWD, "/m/none", 0), ST_VFS_ENOENT);
    assert_int_equal(st_vfs_rmdir(v, ST_VFS_AT_FDCWD, "/m/sub"), ST_VFS_EROFS);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/m/a.py", ST_VFS_AT_FDCWD, "/m/z.py"),
                     ST_VFS_EROFS);
    assert_int_equal(st_vfs_access(v, ST_VFS_AT_FDCWD, "/m/a.py", W_OK, 0), ST_VFS_EROFS);
    assert_int_equal(st_vfs_access(v, ST_VFS_AT_FDCWD, "/m/a.py", R_OK, 0), 0);
    assert_int_equal(st_vfs_access(v, ST_VFS_AT_FDCWD, "/m/a.py", X_OK, 0), ST_VFS_EACCES);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/sub", O_RDWR, 0), ST_VFS_EISDIR);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/a.py", O_RDONLY | O_DIRECTORY, 0),
                     ST_VFS_ENOTDIR);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/a.py/x", O_RDONLY, 0), ST_VFS_ENOTDIR);
    /* real files added one by one are read-only too */
    char real[4096];
    snprintf(real, sizeof real, "%s/outside.txt", f->root);
    assert_int_equal(st_vfs_add_real_file(v, "/etc/motd", real), 0);
    char buf[16];
    assert_int_equal(slurp(v, "/etc/motd", buf, sizeof buf), 6);
    assert_string_equal(buf, "secret");
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/etc/motd", O_RDWR, 0), ST_VFS_EROFS);
    st_vfs_free(v);
}

static struct st_vfs *vfs_with_tmp(uint64_t quota)
{
    struct st_vfs *v = st_vfs_new(NULL);
    assert_non_null(v);
    assert_int_equal(st_vfs_enable_tmp(v, quota), 0);
    return v;
}

static void test_vfs_tmp_create_write_append_truncate(void **state)
{
    (void)state;
    struct st_vfs *v = vfs_with_tmp(1 << 20);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "notes", O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_int_equal(fd, 3);
    assert_int_equal(st_vfs_write(v, fd, "hello", 5), 5);
    assert_int_equal(st_vfs_pwrite(v, fd, "J", 1, 0), 1);
    assert_int_equal(st_vfs_close(v, fd), 0);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/notes", O_CREAT | O_EXCL | O_WRONLY, 0),
                     ST_VFS_EEXIST);
    fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/notes", O_WRONLY | O_APPEND, 0);
    assert_int_equal(st_vfs_write(v, fd, " world", 6), 6);
    assert_int_equal(st_vfs_close(v, fd), 0);
    char buf[64];
    assert_int_equal(slurp(v, "/tmp/notes", buf, sizeof buf), 11);
    assert_string_equal(buf, "Jello world");
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/tmp/notes", 0, &st), 0);
    assert_int_equal(st.mode, S_IFREG | 0600);
    assert_int_equal(st.uid, 1000);
    fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/notes", O_RDWR, 0);
    assert_int_equal(st_vfs_ftruncate(v, fd, 4), 0);
    assert_int_equal(st_vfs_lseek(v, fd, 6, SEEK_SET), 6);
    assert_int_equal(st_vfs_write(v, fd, "!", 1), 1); /* leaves a zero-filled hole */
    assert_int_equal(st_vfs_close(v, fd), 0);
    assert_int_equal(slurp(v, "/tmp/notes", buf, sizeof buf), 7);
    assert_memory_equal(buf, "Jell\0\0!", 7);
    fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/notes", O_WRONLY | O_TRUNC, 0);
    assert_int_equal(st_vfs_fstat(v, fd, &st), 0);
    assert_int_equal(st.size, 0);
    assert_int_equal(st_vfs_close(v, fd), 0);
    st_vfs_free(v);
}

static void test_vfs_tmp_quota_gives_short_write_then_enospc(void **state)
{
    (void)state;
    /* /tmp itself and one file cost 2 * 256; 600 bytes of data are left */
    struct st_vfs *v = vfs_with_tmp(2 * ST_VFS_TMP_ENTRY_COST + 600);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/big", O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    static char data[1000];
    memset(data, 'q', sizeof data);
    assert_int_equal(st_vfs_write(v, fd, data, 500), 500);
    assert_int_equal(st_vfs_write(v, fd, data, 500), 100);
    assert_int_equal(st_vfs_write(v, fd, data, 1), ST_VFS_ENOSPC);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/other", O_WRONLY | O_CREAT, 0644),
                     ST_VFS_ENOSPC);
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/tmp/d", 0755), ST_VFS_ENOSPC);
    assert_int_equal(st_vfs_ftruncate(v, fd, 5000), ST_VFS_ENOSPC);
    /* shrinking gives the space back */
    assert_int_equal(st_vfs_ftruncate(v, fd, 0), 0);
    assert_int_equal(st_vfs_write(v, fd, data, 1), ST_VFS_ENOSPC); /* the offset is still 600 */
    assert_int_equal(st_vfs_lseek(v, fd, 0, SEEK_SET), 0);
    assert_int_equal(st_vfs_write(v, fd, data, 600), 600);
    assert_int_equal(st_vfs_close(v, fd), 0);
    /* so does unlinking */
    assert_int_equal(st_vfs_unlink(v, ST_VFS_AT_FDCWD, "/tmp/big", 0), 0);
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/tmp/d", 0755), 0);
    st_vfs_free(v);
}

static void test_vfs_tmp_rename_unlink_mkdir_rmdir(void **state)
{
    (void)state;
    struct st_vfs *v = vfs_with_tmp(1 << 20);
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/tmp/d", 0755), 0);
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/tmp/d", 0755), ST_VFS_EEXIST);
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/tmp/none/x", 0755), ST_VFS_ENOENT);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/d/f", O_WRONLY | O_CREAT, 0644);
    assert_int_equal(st_vfs_write(v, fd, "data", 4), 4);
    assert_int_equal(st_vfs_close(v, fd), 0);
    assert_int_equal(st_vfs_rmdir(v, ST_VFS_AT_FDCWD, "/tmp/d"), ST_VFS_ENOTEMPTY);
    assert_int_equal(st_vfs_unlink(v, ST_VFS_AT_FDCWD, "/tmp/d", 0), ST_VFS_EISDIR);
    assert_int_equal(st_vfs_rmdir(v, ST_VFS_AT_FDCWD, "/tmp/d/f"), ST_VFS_ENOTDIR);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/tmp/d/f", ST_VFS_AT_FDCWD, "/tmp/g"), 0);
    char buf[16], names[256];
    assert_int_equal(slurp(v, "/tmp/g", buf, sizeof buf), 4);
    assert_int_equal(list(v, "/tmp", names, sizeof names), 0);
    assert_string_equal(names, "d g");
    /* a directory cannot move below itself; over a non-empty one is refused */
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/tmp/d/e", 0755), 0);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/tmp/d", ST_VFS_AT_FDCWD, "/tmp/d/e/x"),
                     ST_VFS_EINVAL);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/tmp/g", ST_VFS_AT_FDCWD, "/tmp/d"),
                     ST_VFS_EISDIR);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/tmp/d", ST_VFS_AT_FDCWD, "/tmp/g"),
                     ST_VFS_ENOTDIR);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/tmp/d", ST_VFS_AT_FDCWD, "/dev/d"),
                     ST_VFS_EROFS);
    /* renaming a directory moves its content; the cwd follows it */
    assert_int_equal(st_vfs_chdir(v, "/tmp/d/e"), 0);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/tmp/d", ST_VFS_AT_FDCWD, "/tmp/r"), 0);
    assert_int_equal(st_vfs_getcwd(v, names, sizeof names), 8);
    assert_string_equal(names, "/tmp/r/e");
    /* replacing a file drops the old one */
    fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "h", O_WRONLY | O_CREAT, 0644);
    assert_int_equal(st_vfs_close(v, fd), 0);
    assert_int_equal(st_vfs_rename(v, ST_VFS_AT_FDCWD, "/tmp/g", ST_VFS_AT_FDCWD, "h"), 0);
    assert_int_equal(slurp(v, "/tmp/r/e/h", buf, sizeof buf), 4);
    assert_int_equal(st_vfs_unlink(v, ST_VFS_AT_FDCWD, "h", 0), 0);
    assert_int_equal(st_vfs_rmdir(v, ST_VFS_AT_FDCWD, "/tmp/r/e"), 0);
    /* the removed cwd has no path any more */
    assert_int_equal(st_vfs_getcwd(v, names, sizeof names), ST_VFS_ENOENT);
    assert_int_equal(st_vfs_unlink(v, ST_VFS_AT_FDCWD, "/tmp/r", ST_VFS_AT_REMOVEDIR), 0);
    assert_int_equal(list(v, "/tmp", names, sizeof names), 0);
    assert_string_equal(names, "");
    assert_int_equal(st_vfs_rmdir(v, ST_VFS_AT_FDCWD, "/tmp"), ST_VFS_EROFS);
    st_vfs_free(v);
}

static void test_vfs_unlinked_file_stays_readable_through_its_fd(void **state)
{
    (void)state;
    struct st_vfs *v = vfs_with_tmp(1 << 20);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/f", O_RDWR | O_CREAT, 0644);
    assert_int_equal(st_vfs_write(v, fd, "kept", 4), 4);
    assert_int_equal(st_vfs_unlink(v, ST_VFS_AT_FDCWD, "/tmp/f", 0), 0);
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/tmp/f", 0, &st), ST_VFS_ENOENT);
    char buf[8];
    assert_int_equal(st_vfs_pread(v, fd, buf, sizeof buf, 0), 4);
    assert_memory_equal(buf, "kept", 4);
    assert_int_equal(st_vfs_close(v, fd), 0);
    st_vfs_free(v);
}

static void test_vfs_export_tmp_copies_files_and_directories(void **state)
{
    (void)state;
    struct st_vfs *v = vfs_with_tmp(1 << 20);
    assert_int_equal(st_vfs_mkdir(v, ST_VFS_AT_FDCWD, "/tmp/out", 0755), 0);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/out/result.txt", O_WRONLY | O_CREAT, 0644);
    assert_int_equal(st_vfs_write(v, fd, "42\n", 3), 3);
    st_vfs_close(v, fd);
    fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/tmp/top", O_WRONLY | O_CREAT, 0644);
    st_vfs_close(v, fd);
    char *dir = tu_mkdtemp();
    char dest[1024], p[4096];
    snprintf(dest, sizeof dest, "%s/export", dir);
    assert_int_equal(st_vfs_export_tmp(v, dest), 0);
    snprintf(p, sizeof p, "%s/out/result.txt", dest);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    char buf[16] = { 0 };
    assert_int_equal(fread(buf, 1, sizeof buf, f), 3);
    fclose(f);
    assert_string_equal(buf, "42\n");
    struct stat st;
    snprintf(p, sizeof p, "%s/top", dest);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);
    tu_rm_rf(dir);
    free(dir);
    st_vfs_free(v);

    struct st_vfs *ro = st_vfs_new(NULL);
    assert_int_equal(st_vfs_export_tmp(ro, "/nonexistent"), ST_VFS_EINVAL);
    st_vfs_free(ro);
}

static void urandom_bytes(uint64_t seed, unsigned char *out, size_t n)
{
    struct st_vfs_options o;
    st_vfs_options_init(&o);
    o.seed = seed;
    struct st_vfs *v = st_vfs_new(&o);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/dev/urandom", O_RDONLY, 0);
    assert_true(fd >= 0);
    /* two reads: the stream continues where it stopped */
    assert_int_equal(st_vfs_read(v, fd, out, 5), 5);
    assert_int_equal(st_vfs_read(v, fd, out + 5, n - 5), (long)(n - 5));
    st_vfs_free(v);
}

static void test_vfs_urandom_is_deterministic_per_seed(void **state)
{
    (void)state;
    unsigned char a[64], b[64], c[64];
    urandom_bytes(7, a, sizeof a);
    urandom_bytes(7, b, sizeof b);
    urandom_bytes(8, c, sizeof c);
    assert_memory_equal(a, b, sizeof a);
    assert_memory_not_equal(a, c, sizeof a);
    /* not a constant stream */
    int distinct = 0;
    for (size_t i = 1; i < sizeof a; i++)
        distinct += a[i] != a[0];
    assert_true(distinct > 32);
    struct st_vfs *v = st_vfs_new(NULL);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/dev/null", O_RDWR, 0);
    assert_int_equal(st_vfs_read(v, fd, a, sizeof a), 0);
    assert_int_equal(st_vfs_write(v, fd, a, sizeof a), (long)sizeof a);
    st_vfs_free(v);
}

static void test_vfs_path_and_name_length_limits(void **state)
{
    (void)state;
    struct st_vfs *v = vfs_with_tmp(1 << 20);
    char name[300], path[ST_VFS_PATH_MAX + 10];
    memset(name, 'n', 256);
    name[256] = '\0';
    snprintf(path, sizeof path, "/tmp/%s", name);
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, path, 0, &st), ST_VFS_ENAMETOOLONG);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, path, O_WRONLY | O_CREAT, 0644),
                     ST_VFS_ENAMETOOLONG);
    name[255] = '\0';
    snprintf(path, sizeof path, "/tmp/%s", name);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    /* a path of PATH_MAX bytes (no room for the NUL) */
    memset(path, '/', ST_VFS_PATH_MAX);
    path[ST_VFS_PATH_MAX] = '\0';
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, path, 0, &st), ST_VFS_ENAMETOOLONG);
    path[ST_VFS_PATH_MAX - 1] = '\0';
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, path, 0, &st), 0);
    /* directories cannot nest past PATH_MAX, even one relative step at a time */
    memset(name, 'd', 200);
    name[200] = '\0';
    int made = 0, rc;
    while ((rc = st_vfs_mkdir(v, ST_VFS_AT_FDCWD, name, 0755)) == 0) {
        assert_int_equal(st_vfs_chdir(v, name), 0);
        made++;
    }
    assert_int_equal(rc, ST_VFS_ENAMETOOLONG);
    assert_true(made > 10 && made < 21);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "", 0, &st), ST_VFS_ENOENT);
    st_vfs_free(v);
}

static void test_vfs_fd_exhaustion_gives_emfile_and_reuses_lowest(void **state)
{
    (void)state;
    struct st_vfs_options o;
    st_vfs_options_init(&o);
    o.max_fds = 8;
    struct st_vfs *v = st_vfs_new(&o);
    for (int want = 3; want < 8; want++)
        assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/dev/null", O_RDONLY, 0), want);
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/dev/null", O_RDONLY, 0), ST_VFS_EMFILE);
    assert_int_equal(st_vfs_dup(v, 1), ST_VFS_EMFILE);
    assert_int_equal(st_vfs_open_fds(v), 8);
    assert_int_equal(st_vfs_close(v, 5), 0);
    assert_int_equal(st_vfs_dup(v, 1), 5);
    assert_int_equal(st_vfs_fd_kind(v, 5), ST_VFS_FD_STDOUT);
    assert_int_equal(st_vfs_get_cloexec(v, 5), 0);
    st_vfs_free(v);
    o.max_fds = 1;
    assert_null(st_vfs_new(&o));
    o.max_fds = 100000;
    assert_null(st_vfs_new(&o));
}

static void test_vfs_operations_on_fds_never_opened_are_ebadf(void **state)
{
    (void)state;
    struct st_vfs *v = st_vfs_new(NULL);
    static const int bad[] = { 3, 42, -1, -100, 255, 256, 1 << 30 };
    char buf[8];
    struct st_vfs_stat st;
    struct st_vfs_dirent d;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = bad[i];
        assert_int_equal(st_vfs_read(v, fd, buf, sizeof buf), ST_VFS_EBADF);
        assert_int_equal(st_vfs_pread(v, fd, buf, sizeof buf, 0), ST_VFS_EBADF);
        assert_int_equal(st_vfs_write(v, fd, buf, 1), ST_VFS_EBADF);
        assert_int_equal(st_vfs_lseek(v, fd, 0, SEEK_SET), ST_VFS_EBADF);
        assert_int_equal(st_vfs_close(v, fd), ST_VFS_EBADF);
        assert_int_equal(st_vfs_fstat(v, fd, &st), ST_VFS_EBADF);
        assert_int_equal(st_vfs_dup(v, fd), ST_VFS_EBADF);
        assert_int_equal(st_vfs_readdir(v, fd, &d), ST_VFS_EBADF);
        assert_int_equal(st_vfs_fchdir(v, fd), ST_VFS_EBADF);
        assert_int_equal(st_vfs_get_cloexec(v, fd), ST_VFS_EBADF);
        assert_int_equal(st_vfs_set_status_flags(v, fd, 0), ST_VFS_EBADF);
        if (fd != ST_VFS_AT_FDCWD)
            assert_int_equal(st_vfs_open(v, fd, "rel", O_RDONLY, 0), ST_VFS_EBADF);
    }
    /* the standard streams cannot seek; closing one makes it EBADF */
    assert_int_equal(st_vfs_lseek(v, 1, 0, SEEK_CUR), ST_VFS_ESPIPE);
    assert_int_equal(st_vfs_close(v, 0), 0);
    assert_int_equal(st_vfs_fd_kind(v, 0), ST_VFS_EBADF);
    assert_int_equal(st_vfs_close(v, 0), ST_VFS_EBADF);
    st_vfs_free(v);
}

static void test_vfs_dir_streams_only_accept_handed_out_pointers(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    assert_int_equal(st_vfs_dir_lookup(v, 0), ST_VFS_EBADF);
    assert_int_equal(st_vfs_dir_lookup(v, 0x1234), ST_VFS_EBADF);
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/sub", O_RDONLY | O_DIRECTORY, 0);
    assert_int_equal(st_vfs_dir_bind(v, fd, 0x7000), 0);
    assert_int_equal(st_vfs_dir_lookup(v, 0x7000), fd);
    assert_int_equal(st_vfs_dir_lookup(v, 0x7001), ST_VFS_EBADF);
    int fd2 = st_vfs_open(v, ST_VFS_AT_FDCWD, "/m", O_RDONLY | O_DIRECTORY, 0);
    assert_int_equal(st_vfs_dir_bind(v, fd2, 0x7000), ST_VFS_EEXIST);
    assert_int_equal(st_vfs_dir_bind(v, 1, 0x8000), ST_VFS_ENOTDIR);
    struct st_vfs_dirent d;
    assert_int_equal(st_vfs_readdir(v, fd, &d), 1);
    assert_string_equal(d.name, "c.txt");
    assert_int_equal(d.type, DT_REG);
    assert_int_equal(st_vfs_readdir(v, fd, &d), 1);
    assert_string_equal(d.name, "deep");
    assert_int_equal(d.type, DT_DIR);
    assert_int_equal(st_vfs_readdir(v, fd, &d), 0);
    assert_int_equal(st_vfs_rewinddir(v, fd), 0);
    assert_int_equal(st_vfs_readdir(v, fd, &d), 1);
    assert_string_equal(d.name, "c.txt");
    /* the dirent's inode number is the one stat gives */
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/m/sub/c.txt", 0, &st), 0);
    assert_int_equal(d.ino, st.ino);
    unsigned char raw[ST_VFS_DIRENT_SIZE];
    st_vfs_dirent_encode(&d, raw);
    assert_int_equal(raw[16] | raw[17] << 8, 280);
    assert_int_equal(raw[18], DT_REG);
    assert_string_equal((char *)raw + 19, "c.txt");
    assert_int_equal(st_vfs_readdir(v, 1, &d), ST_VFS_ENOTDIR);
    assert_int_equal(st_vfs_read(v, fd, raw, 4), ST_VFS_EISDIR);
    assert_int_equal(st_vfs_close(v, fd), 0);
    assert_int_equal(st_vfs_dir_lookup(v, 0x7000), ST_VFS_EBADF);
    st_vfs_free(v);
}

static void test_vfs_at_family_resolves_from_directory_fds(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = vfs_with_mount(f, 0, 0);
    int dfd = st_vfs_open(v, ST_VFS_AT_FDCWD, "/m/sub", O_RDONLY | O_DIRECTORY, 0);
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, dfd, "c.txt", 0, &st), 0);
    assert_int_equal(st.size, 7);
    assert_int_equal(st_vfs_stat(v, dfd, "/m/a.py", 0, &st), 0); /* absolute ignores dirfd */
    int ffd = st_vfs_open(v, dfd, "deep/d.txt", O_RDONLY, 0);
    assert_true(ffd >= 0);
    assert_int_equal(st_vfs_stat(v, ffd, "x", 0, &st), ST_VFS_ENOTDIR);
    assert_int_equal(st_vfs_fchdir(v, dfd), 0);
    char cwd[64];
    assert_int_equal(st_vfs_getcwd(v, cwd, sizeof cwd), 6);
    assert_string_equal(cwd, "/m/sub");
    assert_int_equal(st_vfs_getcwd(v, cwd, 4), ST_VFS_ERANGE);
    assert_int_equal(st_vfs_fchdir(v, ffd), ST_VFS_ENOTDIR);
    assert_int_equal(st_vfs_chdir(v, "/m/a.py"), ST_VFS_ENOTDIR);
    st_vfs_free(v);
}

static void test_vfs_pypy_home_layout(void **state)
{
    (void)state;
    char *lib = tu_mkdtemp();
    char p[4096];
    snprintf(p, sizeof p, "%s/lib-python", lib);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/lib-python/2.7", lib);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/lib_pypy", lib);
    mkdir(p, 0755);
    tu_write_file(lib, "lib-python/2.7/os.py", "import sys\n", 11);
    tu_write_file(lib, "lib-python/2.7/os.pyc", "stale", 5);
    tu_write_file(lib, "lib_pypy/_x.pyo", "stale", 5);
    struct st_vfs *v = st_vfs_new(NULL);
    assert_int_equal(st_vfs_add_pypy_home(v, lib, "/lib/pypy", NULL), 0);
    struct st_vfs_stat st;
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/lib/pypy", 0, &st), 0);
    assert_int_equal(st.mode, S_IFREG | 0755);
    assert_int_equal(st.size, 0);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/lib/lib-python/2.7/os.py", 0, &st), 0);
    assert_int_equal(st.size, 11);
    assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, "/lib/lib-python/2.7/os.pyc", 0, &st),
                     ST_VFS_ENOENT);
    char names[256];
    assert_int_equal(list(v, "/lib/lib_pypy", names, sizeof names), 0);
    assert_string_equal(names, "");
    assert_int_equal(list(v, "/lib", names, sizeof names), 0);
    assert_string_equal(names, "lib-python lib_pypy pypy");
    assert_int_equal(st_vfs_open(v, ST_VFS_AT_FDCWD, "/proc/meminfo", O_RDONLY, 0), ST_VFS_ENOENT);
    st_vfs_free(v);
    v = st_vfs_new(NULL);
    assert_int_equal(st_vfs_add_pypy_home(v, "/nonexistent-sandtrace", "/lib/pypy", NULL),
                     ST_VFS_ENOENT);
    st_vfs_free(v);
    tu_rm_rf(lib);
    free(lib);
}

static void test_vfs_setup_errors(void **state)
{
    struct fx *f = *state;
    struct st_vfs *v = st_vfs_new(NULL);
    assert_int_equal(st_vfs_add_file(v, "relative", "x", 1, 0644), ST_VFS_EINVAL);
    assert_int_equal(st_vfs_add_file(v, "/etc/x", "x", 1, 0644), 0);
    assert_int_equal(st_vfs_add_file(v, "/etc/x", "x", 1, 0644), ST_VFS_EEXIST);
    assert_int_equal(st_vfs_add_dir(v, "/etc/x/y"), ST_VFS_EEXIST);
    assert_int_equal(st_vfs_mount(v, "/mnt", "/nonexistent-sandtrace", NULL), ST_VFS_ENOENT);
    char p[4096];
    snprintf(p, sizeof p, "%s/a.py", f->m);
    assert_int_equal(st_vfs_mount(v, "/mnt", p, NULL), ST_VFS_ENOTDIR);
    assert_int_equal(st_vfs_add_real_file(v, "/etc/dir", f->m), ST_VFS_EINVAL);
    assert_int_equal(st_vfs_mount(v, "/mnt", f->m, NULL), 0);
    assert_int_equal(st_vfs_mount(v, "/mnt", f->m, NULL), ST_VFS_EEXIST);
    assert_int_equal(st_vfs_add_dir(v, "/mnt/sub/x"), ST_VFS_EEXIST);
    /* --tmp DIR: a real directory as the read-only /tmp */
    assert_int_equal(st_vfs_set_real_tmp(v, f->m), 0);
    char buf[16];
    assert_int_equal(slurp(v, "a.py", buf, sizeof buf), 6); /* the cwd is the new /tmp */
    assert_int_equal(st_vfs_enable_tmp(v, 1000), ST_VFS_EEXIST);
    assert_string_equal(st_vfs_strerror(ST_VFS_ENOENT), "no such file or directory");
    assert_string_equal(st_vfs_strerror(ST_VFS_EROFS), "read-only file system");
    assert_string_equal(st_vfs_strerror(-12345), "unknown error");
    st_vfs_free(v);
    st_vfs_free(NULL);
}

/* A deterministic pseudo-random mix of operations on paths built from a
 * small alphabet (., .., links, dotfiles, names in and out of /tmp): the
 * vfs must never crash, never show the fixture's outside.txt, keep its fd
 * count within the cap, and keep /tmp's visible content within the quota. */
static uint64_t rnd_state;

static unsigned rnd(unsigned n)
{
    rnd_state = rnd_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rnd_state >> 33) % n);
}

static void random_path(char *out, size_t cap)
{
    static const char *const starts[] = { "/tmp", "/m", "/m/sub", "/tmp/x", ".", "..", "/",
                                          "/tmp/x/y", "/dev", "" };
    static const char *const parts[] = { "..", ".", "m", "tmp", "a.py", "sub", "deep",
                                         "link_out", "link_in", "link_sub", "loop1", ".hidden",
                                         "x", "y", "z", "d.txt", "urandom", "" };
    snprintf(out, cap, "%s", starts[rnd(sizeof starts / sizeof starts[0])]);
    size_t n = rnd(3);
    for (size_t i = 0; i < n; i++) {
        strncat(out, "/", cap - strlen(out) - 1);
        strncat(out, parts[rnd(sizeof parts / sizeof parts[0])], cap - strlen(out) - 1);
    }
}

/* Sums file sizes plus the entry cost below the writable dir `path`. */
static uint64_t tmp_usage(struct st_vfs *v, const char *path, int depth)
{
    uint64_t total = ST_VFS_TMP_ENTRY_COST;
    int fd = st_vfs_open(v, ST_VFS_AT_FDCWD, path, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0 || depth > 64)
        return total;
    struct st_vfs_dirent d;
    while (st_vfs_readdir(v, fd, &d) == 1) {
        char child[ST_VFS_PATH_MAX];
        if ((size_t)snprintf(child, sizeof child, "%s/%s", path, d.name) >= sizeof child)
            continue;
        struct st_vfs_stat st;
        assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, child, ST_VFS_AT_SYMLINK_NOFOLLOW, &st), 0);
        if (d.type == DT_DIR)
            total += tmp_usage(v, child, depth + 1);
        else
            total += ST_VFS_TMP_ENTRY_COST + (uint64_t)st.size;
    }
    st_vfs_close(v, fd);
    return total;
}

static void test_vfs_random_operations_keep_invariants(void **state)
{
    struct fx *f = *state;
    struct st_vfs_options o;
    st_vfs_options_init(&o);
    o.max_fds = 16;
    struct st_vfs *v = st_vfs_new(&o);
    static const char *const ex[] = { "*.pyc" };
    struct st_mount_options mo;
    st_mount_options_init(&mo);
    mo.follow_symlinks = 1;
    mo.exclude = ex;
    mo.n_exclude = 1;
    assert_int_equal(st_vfs_mount(v, "/m", f->m, &mo), 0);
    const uint64_t quota = 8 * ST_VFS_TMP_ENTRY_COST + 3000;
    assert_int_equal(st_vfs_enable_tmp(v, quota), 0);
    rnd_state = 42;
    static char data[2048];
    memset(data, 'w', sizeof data);
    int opened = 0, wrote = 0, read_some = 0, made = 0, renamed = 0, enospc = 0;
    for (int i = 0; i < 20000; i++) {
        char p1[256], p2[256], buf[512];
        random_path(p1, sizeof p1);
        random_path(p2, sizeof p2);
        int fd = rnd(10) ? 3 + (int)rnd(13) : (int)rnd(20) - 2;
        struct st_vfs_stat st;
        struct st_vfs_dirent d;
        switch (rnd(14)) {
        case 0: {
            static const int fl[] = { O_RDONLY, O_WRONLY | O_CREAT, O_RDWR | O_CREAT | O_EXCL,
                                      O_WRONLY | O_TRUNC, O_RDONLY | O_DIRECTORY,
                                      O_WRONLY | O_APPEND | O_CREAT, O_RDONLY | O_NOFOLLOW };
            opened += st_vfs_open(v, ST_VFS_AT_FDCWD, p1, fl[rnd(7)], 0644) >= 0;
            break;
        }
        case 1: {
            long r = st_vfs_read(v, fd, buf, sizeof buf);
            read_some += r > 0;
            if (r > 0)
                assert_null(memmem(buf, (size_t)r, "secret", 6));
            break;
        }
        case 2: {
            long r = st_vfs_write(v, fd, data, rnd(sizeof data));
            wrote += r > 0;
            enospc += r == ST_VFS_ENOSPC;
            break;
        }
        case 3: st_vfs_close(v, fd); break;
        case 4: st_vfs_stat(v, ST_VFS_AT_FDCWD, p1, rnd(2) ? ST_VFS_AT_SYMLINK_NOFOLLOW : 0, &st); break;
        case 5: made += st_vfs_mkdir(v, ST_VFS_AT_FDCWD, p1, 0755) == 0; break;
        case 6: st_vfs_unlink(v, ST_VFS_AT_FDCWD, p1, rnd(2) ? ST_VFS_AT_REMOVEDIR : 0); break;
        case 7: renamed += st_vfs_rename(v, ST_VFS_AT_FDCWD, p1, ST_VFS_AT_FDCWD, p2) == 0; break;
        case 8: st_vfs_chdir(v, p1); break;
        case 9: st_vfs_readdir(v, fd, &d); break;
        case 10: st_vfs_lseek(v, fd, (int64_t)rnd(5000) - 100, (int)rnd(4)); break;
        case 11: st_vfs_ftruncate(v, fd, rnd(4000)); break;
        case 12: st_vfs_dup(v, fd); break;
        default: {
            long r = st_vfs_readlink(v, ST_VFS_AT_FDCWD, p1, buf, sizeof buf);
            if (r > 0)
                assert_null(memmem(buf, (size_t)r, "outside", 7));
            break;
        }
        }
        assert_true(st_vfs_open_fds(v) <= 16);
        char cwd[ST_VFS_PATH_MAX];
        if (st_vfs_getcwd(v, cwd, sizeof cwd) > 0) {
            assert_int_equal(st_vfs_stat(v, ST_VFS_AT_FDCWD, cwd, 0, &st), 0);
            assert_int_equal(st.mode & S_IFMT, S_IFDIR);
        }
        if (i % 500 == 0) {
            /* make room for the walk's own fd */
            st_vfs_close(v, 15);
            assert_true(tmp_usage(v, "/tmp", 0) <= quota);
        }
    }
    print_message("opened %d, wrote %d, read %d, made %d, renamed %d, enospc %d\n", opened, wrote,
                  read_some, made, renamed, enospc);
    /* the mix did reach the interesting states */
    assert_true(opened > 100 && wrote > 10 && read_some > 2 && made > 5 && renamed > 0 &&
                enospc > 0);
    st_vfs_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vfs_new_has_devices_tmp_and_standard_streams),
        cmocka_unit_test(test_vfs_fstat_of_stdout_matches_reference_fifo_answer),
        cmocka_unit_test(test_vfs_stat_of_virtual_exe_matches_reference),
        cmocka_unit_test(test_vfs_lists_mount_sorted_without_dotfiles_excluded_or_special),
        cmocka_unit_test(test_vfs_reads_seeks_and_stats_a_mounted_file),
        cmocka_unit_test(test_vfs_hidden_excluded_and_special_entries_do_not_exist),
        cmocka_unit_test(test_vfs_symlinks_are_refused_unless_following),
        cmocka_unit_test(test_vfs_followed_symlinks_stay_inside_the_mount),
        cmocka_unit_test(test_vfs_dotdot_cannot_escape_the_virtual_root_or_reach_real_paths),
        cmocka_unit_test(test_vfs_readonly_areas_refuse_changes),
        cmocka_unit_test(test_vfs_tmp_create_write_append_truncate),
        cmocka_unit_test(test_vfs_tmp_quota_gives_short_write_then_enospc),
        cmocka_unit_test(test_vfs_tmp_rename_unlink_mkdir_rmdir),
        cmocka_unit_test(test_vfs_unlinked_file_stays_readable_through_its_fd),
        cmocka_unit_test(test_vfs_export_tmp_copies_files_and_directories),
        cmocka_unit_test(test_vfs_urandom_is_deterministic_per_seed),
        cmocka_unit_test(test_vfs_path_and_name_length_limits),
        cmocka_unit_test(test_vfs_fd_exhaustion_gives_emfile_and_reuses_lowest),
        cmocka_unit_test(test_vfs_operations_on_fds_never_opened_are_ebadf),
        cmocka_unit_test(test_vfs_dir_streams_only_accept_handed_out_pointers),
        cmocka_unit_test(test_vfs_at_family_resolves_from_directory_fds),
        cmocka_unit_test(test_vfs_pypy_home_layout),
        cmocka_unit_test(test_vfs_setup_errors),
        cmocka_unit_test(test_vfs_random_operations_keep_invariants),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
