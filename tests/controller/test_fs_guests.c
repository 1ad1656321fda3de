/* The file handlers end to end: real guests under `sandtrace run`, with
 * mounts of real fixture directories, the writable /tmp, /dev/urandom and
 * hostile descriptor use (tests/guests/fsops.c and the example guests). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"

static char *fx;        /* fixture root: fx/data is mounted at /data */
static char mount_arg[1100];

static int setup(void **state)
{
    (void)state;
    fx = tu_mkdtemp();
    char p[1024];
    snprintf(p, sizeof p, "%s/data", fx);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/data/sub", fx);
    mkdir(p, 0755);
    tu_write_file(fx, "data/a.txt", "alpha\n", 6);
    tu_write_file(fx, "data/.secret", "dot\n", 4);
    tu_write_file(fx, "data/sub/b.txt", "bravo\n", 6);
    tu_write_file(fx, "outside.txt", "outside\n", 8);
    /* 600000 bytes: more than one capped read */
    char *big = malloc(600000);
    for (int i = 0; i < 600000; i++)
        big[i] = (char)('a' + i % 26);
    tu_write_file(fx, "data/big.txt", big, 600000);
    free(big);
    snprintf(p, sizeof p, "%s/data/link", fx);
    if (symlink("a.txt", p))
        abort();
    snprintf(p, sizeof p, "%s/data/escape", fx);
    if (symlink("../outside.txt", p))
        abort();
    snprintf(mount_arg, sizeof mount_arg, "/data=%s/data", fx);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(fx);
    free(fx);
    return 0;
}

static const char *fsops(void)
{
    return tu_build_path("testguests/fsops");
}

/* Runs `sandtrace run OPTS... -- GUEST ARGS...`; opts and args NULL-terminated. */
static struct tu_run run(const char *const *opts, const char *guest, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "run";
    argv[n++] = "--quiet";
    for (size_t i = 0; opts && opts[i]; i++)
        argv[n++] = opts[i];
    argv[n++] = "--";
    argv[n++] = guest;
    for (size_t i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_run_sandtrace(argv, NULL);
}

static void expect_line(const struct tu_run *r, const char *line)
{
    if (!strstr(r->out, line))
        fail_msg("missing line '%s' in output:\n%s\nstderr:\n%s", line, r->out, r->err);
}

static void test_fs_guest_ls_lists_a_mount_without_dotfiles(void **state)
{
    (void)state;
    struct tu_run r = run((const char *[]){ "--mount", mount_arg, NULL }, tu_guest("ls"),
                          (const char *[]){ "/data", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "a.txt\nbig.txt\nescape\nlink\nsub\n");
    tu_run_release(&r);
}

static void test_fs_guest_cat_reads_a_mounted_file_across_capped_reads(void **state)
{
    (void)state;
    struct tu_run r = run((const char *[]){ "--mount", mount_arg, "--raw-stdout", NULL },
                          tu_guest("cat"), (const char *[]){ "/data/big.txt", NULL });
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, 600000);
    for (size_t i = 0; i < r.out_len; i++)
        if (r.out[i] != (char)('a' + i % 26))
            fail_msg("byte %zu differs", i);
    tu_run_release(&r);
    r = run((const char *[]){ "--mount", mount_arg, NULL }, fsops(),
            (const char *[]){ "bigread", "/data/big.txt", "1000000", NULL });
    expect_line(&r, "bigread /data/big.txt 1000000: 262144\n");
    tu_run_release(&r);
}

static void test_fs_guest_hidden_dotfile_refused_symlink_and_escapes(void **state)
{
    (void)state;
    struct tu_run r = run((const char *[]){ "--mount", mount_arg, NULL }, fsops(),
                          (const char *[]){ "cat", "/data/.secret", "cat", "/data/link", "cat",
                                            "/data/escape", "readlink", "/data/link", "cat",
                                            "/data/../../outside.txt", "cat",
                                            "/../../../../etc/passwd", "cd", "/data/sub", "cat",
                                            "../../../../outside.txt", "cat", "../a.txt", NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "cat /data/.secret: No such file or directory\n");
    expect_line(&r, "cat /data/link: Permission denied\n");
    expect_line(&r, "cat /data/escape: Permission denied\n");
    expect_line(&r, "readlink /data/link: Permission denied\n");
    expect_line(&r, "cat /data/../../outside.txt: No such file or directory\n");
    expect_line(&r, "cat /../../../../etc/passwd: No such file or directory\n");
    expect_line(&r, "cat ../../../../outside.txt: No such file or directory\n");
    expect_line(&r, "cat ../a.txt: alpha\n");
    assert_null(strstr(r.out, "outside\n"));
    assert_null(strstr(r.out, "root:"));
    tu_run_release(&r);
}

static void test_fs_guest_writable_tmp_and_its_operations(void **state)
{
    (void)state;
    struct tu_run r = run(
        (const char *[]){ "--mount", mount_arg, "--tmp-write", NULL }, fsops(),
        (const char *[]){ "write", "/tmp/a", "hello", "append", "/tmp/a", " world", "excl",
                          "/tmp/a", "mkdir", "/tmp/d", "rename", "/tmp/a", "/tmp/d/b", "ls",
                          "/tmp/d", "cd", "/tmp/d", "cwd", "cat", "b", "rmdir", "/tmp/d", "unlink",
                          "b", "cd", "/", "rmdir", "/tmp/d", "ls", "/tmp", "write", "/data/x",
                          "y", "mkdir", "/data/__pycache__", "unlink", "/data/a.txt", NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "write /tmp/a: ok\nappend /tmp/a: ok\nexcl /tmp/a: File exists\n");
    expect_line(&r, "mkdir /tmp/d: ok\nrename /tmp/a: ok\nls /tmp/d: b\n");
    expect_line(&r, "cwd: /tmp/d\ncat b: hello world\nrmdir /tmp/d: Directory not empty\n");
    expect_line(&r, "unlink b: ok\ncd /: ok\nrmdir /tmp/d: ok\nls /tmp:\n");
    expect_line(&r, "write /data/x: Read-only file system\n");
    expect_line(&r, "mkdir /data/__pycache__: Read-only file system\n");
    expect_line(&r, "unlink /data/a.txt: Read-only file system\n");
    tu_run_release(&r);
    /* without --tmp-write, /tmp is read-only */
    r = run(NULL, fsops(), (const char *[]){ "write", "/tmp/a", "x", NULL });
    expect_line(&r, "write /tmp/a: Read-only file system\n");
    tu_run_release(&r);
}

static void test_fs_guest_tmp_quota_is_enforced(void **state)
{
    (void)state;
    /* 2 KiB: /tmp and one file cost 512, so 1536 bytes of data fit */
    struct tu_run r = run((const char *[]){ "--tmp-write=2048", NULL }, fsops(),
                          (const char *[]){ "write", "/tmp/f",
                                            "0123456789012345678901234567890123456789", "write",
                                            "/tmp/f2", "x", NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "write /tmp/f: ok\nwrite /tmp/f2: ok\n");
    tu_run_release(&r);
    char big[2000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    r = run((const char *[]){ "--tmp-write=2048", NULL }, fsops(),
            (const char *[]){ "write", "/tmp/f", big, NULL });
    expect_line(&r, "write /tmp/f: No space left on device\n");
    tu_run_release(&r);
}

static void test_fs_guest_tmp_export_copies_out(void **state)
{
    (void)state;
    char dest[1100];
    snprintf(dest, sizeof dest, "%s/exported", fx);
    struct tu_run r = run((const char *[]){ "--tmp-write", "--tmp-export", dest, NULL }, fsops(),
                          (const char *[]){ "mkdir", "/tmp/out", "write", "/tmp/out/r.txt", "42",
                                            NULL });
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    char p[1200], buf[16] = { 0 };
    snprintf(p, sizeof p, "%s/out/r.txt", dest);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf - 1, f), 2);
    fclose(f);
    assert_string_equal(buf, "42");
}

static void test_fs_guest_urandom_is_deterministic_per_seed(void **state)
{
    (void)state;
    const char *args[] = { "urandom", "32", NULL };
    struct tu_run a = run((const char *[]){ "--seed", "11", NULL }, fsops(), args);
    struct tu_run b = run((const char *[]){ "--seed", "11", NULL }, fsops(), args);
    struct tu_run c = run((const char *[]){ "--seed", "12", NULL }, fsops(), args);
    assert_int_equal(a.status, 0);
    assert_non_null(strstr(a.out, "urandom 32: "));
    assert_int_equal(strlen(a.out), strlen("urandom 32: \n") + 64);
    assert_string_equal(a.out, b.out);
    assert_string_not_equal(a.out, c.out);
    tu_run_release(&a);
    tu_run_release(&b);
    tu_run_release(&c);
}

static void test_fs_guest_path_length_limits(void **state)
{
    (void)state;
    struct tu_run r = run(NULL, fsops(), (const char *[]){ "longpath", "5000", NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "longpath 5000: File name too long\n");
    tu_run_release(&r);
}

static void test_fs_guest_fd_exhaustion_and_bad_fds(void **state)
{
    (void)state;
    struct tu_run r = run((const char *[]){ "--mount", mount_arg, NULL }, fsops(),
                          (const char *[]){ "openmany", "/data/a.txt", "badfds", "openmany",
                                            "/data/a.txt", NULL });
    assert_int_equal(r.status, 0);
    /* 256 fds in all, 0, 1 and 2 included; after closing, the same again */
    const char *line = "openmany /data/a.txt: 253 then Too many open files\n";
    char *first = strstr(r.out, line);
    assert_non_null(first);
    assert_non_null(strstr(first + 1, line));
    expect_line(&r, "badfd 77: read Bad file descriptor, lseek Bad file descriptor, fstat Bad "
                    "file descriptor, close Bad file descriptor, isatty 0 Bad file descriptor\n");
    expect_line(&r, "badfd -1: read Bad file descriptor");
    tu_run_release(&r);
}

static void test_fs_guest_readdir_of_a_foreign_pointer_is_ebadf(void **state)
{
    (void)state;
    struct tu_run r = run(NULL, fsops(), (const char *[]){ "bogusdir", "ls", "/", NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "bogusdir 0: readdir null Bad file descriptor, dirfd Bad file descriptor, "
                    "closedir Bad file descriptor\n");
    expect_line(&r, "bogusdir 1: readdir null Bad file descriptor");
    expect_line(&r, "ls /: dev proc tmp\n");
    tu_run_release(&r);
}

static void test_fs_guest_huge_write_to_stdout_is_a_short_count(void **state)
{
    (void)state;
    struct tu_run r = run(NULL, fsops(), (const char *[]){ "bigwrite", "3000000", NULL });
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.err, "bigwrite 3000000: 262144\n"));
    assert_int_equal(r.out_len, 262144);
    tu_run_release(&r);
}

static void test_fs_guest_stat_answers(void **state)
{
    (void)state;
    struct tu_run r = run((const char *[]){ "--mount", mount_arg, NULL }, tu_guest("stat"),
                          (const char *[]){ "/data/a.txt", "/data/sub", "/dev/null", NULL });
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "/data/a.txt: type=file mode=0644 size=6 nlink=1 uid=0 gid=0 "));
    assert_non_null(strstr(r.out, "/data/sub: type=directory mode=0755 size=0 "));
    assert_non_null(strstr(r.out, "/dev/null: type=chardev mode=0666 "));
    assert_non_null(strstr(r.out, "mtime=0.000000000"));
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_guest_ls_lists_a_mount_without_dotfiles),
        cmocka_unit_test(test_fs_guest_cat_reads_a_mounted_file_across_capped_reads),
        cmocka_unit_test(test_fs_guest_hidden_dotfile_refused_symlink_and_escapes),
        cmocka_unit_test(test_fs_guest_writable_tmp_and_its_operations),
        cmocka_unit_test(test_fs_guest_tmp_quota_is_enforced),
        cmocka_unit_test(test_fs_guest_tmp_export_copies_out),
        cmocka_unit_test(test_fs_guest_urandom_is_deterministic_per_seed),
        cmocka_unit_test(test_fs_guest_path_length_limits),
        cmocka_unit_test(test_fs_guest_fd_exhaustion_and_bad_fds),
        cmocka_unit_test(test_fs_guest_readdir_of_a_foreign_pointer_is_ebadf),
        cmocka_unit_test(test_fs_guest_huge_write_to_stdout_is_a_short_count),
        cmocka_unit_test(test_fs_guest_stat_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
