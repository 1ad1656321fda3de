/* `sandtrace run`'s file options build the world the guest sees: --mount,
 * --file, --tmp, --tmp-write/--export-tmp, --lib-path (PyPy's layout and
 * argv[0]), --cwd, and their errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/session.h"
#include "tests/testutil.h"
#include "tools/commands.h"

static struct tu_run run(const char *const *args)
{
    const char *argv[64];
    size_t n = 0;
    argv[n++] = "run";
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return tu_run_sandtrace(argv, NULL);
}

static char *join(const char *dir, const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

static void mkdir_in(const char *dir, const char *name)
{
    char *p = join(dir, name);
    assert_int_equal(mkdir(p, 0755), 0);
    free(p);
}

static void test_run_mount_and_file_show_real_content_read_only(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mkdir_in(dir, "data");
    tu_write_file(dir, "data/a.txt", "alpha\n", 6);
    tu_write_file(dir, "data/b.txt", "beta\n", 5);
    tu_write_file(dir, "single", "one file\n", 9);
    char *data = join(dir, "data"), *single = join(dir, "single");
    char m[4200], f[4200];
    snprintf(m, sizeof m, "/srv=%s", data);
    snprintf(f, sizeof f, "/etc/motd=%s", single);
    struct tu_run r = run((const char *[]){ "--mount", m, "--", tu_guest("ls"), "/srv", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "a.txt\nb.txt\n");
    tu_run_release(&r);
    r = run((const char *[]){ "--mount", m, "--file", f, "--", tu_guest("cat"), "/srv/b.txt",
                              "/etc/motd", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "beta\none file\n");
    tu_run_release(&r);
    /* Real paths outside the tree do not exist for the guest. */
    char real[4200];
    snprintf(real, sizeof real, "%s/a.txt", data);
    r = run((const char *[]){ "--mount", m, "--", tu_guest("cat"), real, NULL });
    assert_true(r.status != 0);
    assert_string_equal(r.out, "");
    tu_run_release(&r);
    /* A mount of a missing directory is a setup error, named. */
    r = run((const char *[]){ "--mount", "/srv=/nonexistent/dir", "--", tu_guest("ls"), "/srv", NULL });
    assert_int_equal(r.status, ST_EXIT_ERROR);
    assert_non_null(strstr(r.err, "cannot mount '/srv' from '/nonexistent/dir'"));
    tu_run_release(&r);
    free(data);
    free(single);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_tmp_is_a_real_read_only_directory(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    tu_write_file(dir, "input.txt", "from --tmp\n", 11);
    struct tu_run r = run((const char *[]){ "--tmp", dir, "--", tu_guest("cat"), "/tmp/input.txt", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "from --tmp\n");
    tu_run_release(&r);
    /* The current directory is /tmp: a relative name works too. */
    r = run((const char *[]){ "--tmp", dir, "--", tu_guest("cat"), "input.txt", NULL });
    assert_string_equal(r.out, "from --tmp\n");
    tu_run_release(&r);
    r = run((const char *[]){ "--tmp", dir, "--tmp-write", "--", tu_guest("cat"), "x", NULL });
    assert_int_equal(r.status, 2);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_tmp_write_and_export(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *out = join(dir, "exported");
    const char *tg = tu_build_path("testguests/tguest");
    /* Without --tmp-write, /tmp is read-only. */
    struct tu_run r = run((const char *[]){ "--", tg, "mkfile", "/tmp/new.txt", NULL });
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "mkfile: "));
    tu_run_release(&r);
    r = run((const char *[]){ "--tmp-write=1M", "--export-tmp", out, "--", tg, "mkfile", "/tmp/new.txt", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "made /tmp/new.txt\n");
    tu_run_release(&r);
    char *exported = join(out, "new.txt");
    FILE *f = fopen(exported, "r");
    assert_non_null(f);
    char buf[16] = { 0 };
    assert_int_equal(fread(buf, 1, sizeof buf - 1, f), 5);
    fclose(f);
    assert_string_equal(buf, "made\n");
    free(exported);
    r = run((const char *[]){ "--tmp-export", out, "--", tg, "mkfile", "/tmp/x", NULL });
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "--export-tmp needs --tmp-write"));
    tu_run_release(&r);
    free(out);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_lib_path_builds_pypy_home(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mkdir_in(dir, "lib-python");
    mkdir_in(dir, "lib-python/2.7");
    mkdir_in(dir, "lib_pypy");
    tu_write_file(dir, "lib-python/2.7/os.py", "# os\n", 5);
    tu_write_file(dir, "lib-python/2.7/os.pyc", "junk", 4);
    tu_write_file(dir, "lib_pypy/_structseq.py", "# s\n", 4);
    struct tu_run r = run((const char *[]){ "--lib-path", dir, "--", tu_guest("ls"), "/lib", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "lib-python\nlib_pypy\npypy\n");
    tu_run_release(&r);
    /* .pyc files are hidden, as the reference controller does. */
    r = run((const char *[]){ "--lib-path", dir, "--", tu_guest("ls"), "/lib/lib-python/2.7", NULL });
    assert_string_equal(r.out, "os.py\n");
    tu_run_release(&r);
    /* argv[0] is the virtual executable, and the home its directory. */
    r = run((const char *[]){ "--lib-path", dir, "--", tu_build_path("testguests/tguest"), "home", NULL });
    assert_string_equal(r.out, "home /lib\n");
    tu_run_release(&r);
    r = run((const char *[]){ "--lib-path", dir, "--", tu_guest("stat"), "/lib/pypy", NULL });
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    r = run((const char *[]){ "--lib-path", "/nonexistent", "--", tu_guest("ls"), "/lib", NULL });
    assert_int_equal(r.status, ST_EXIT_ERROR);
    assert_non_null(strstr(r.err, "/nonexistent"));
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_config_file_holds_mounts(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mkdir_in(dir, "data");
    tu_write_file(dir, "data/z.txt", "zed\n", 4);
    char conf[8192];
    snprintf(conf, sizeof conf, "# a repeatable setup\nmount = /srv=%s/data\nenv = K=V\ntimeout 10\n", dir);
    tu_write_file(dir, "setup.conf", conf, strlen(conf));
    char *path = join(dir, "setup.conf");
    struct tu_run r = run((const char *[]){ "--config", path, "--", tu_guest("cat"), "/srv/z.txt", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "zed\n");
    tu_run_release(&r);
    free(path);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_mount_policies_exclude_dotfiles_symlinks(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mkdir_in(dir, "d");
    tu_write_file(dir, "d/a.txt", "a\n", 2);
    tu_write_file(dir, "d/.hidden", "h\n", 2);
    tu_write_file(dir, "d/c.log", "c\n", 2);
    char *link = join(dir, "d/link");
    assert_int_equal(symlink("a.txt", link), 0);
    free(link);
    char m[4200];
    snprintf(m, sizeof m, "/m=%s/d", dir);
    struct tu_run r = run((const char *[]){ "--mount", m, "--", tu_guest("ls"), "/m", NULL });
    assert_string_equal(r.out, "a.txt\nc.log\nlink\n");
    tu_run_release(&r);
    r = run((const char *[]){ "--mount", m, "--exclude", "*.log", "--show-dotfiles", "--",
                              tu_guest("ls"), "/m", NULL });
    assert_string_equal(r.out, ".hidden\na.txt\nlink\n");
    tu_run_release(&r);
    r = run((const char *[]){ "--mount", m, "--", tu_guest("cat"), "/m/link", NULL });
    assert_true(r.status != 0);
    assert_string_equal(r.out, "");
    tu_run_release(&r);
    r = run((const char *[]){ "--mount", m, "--follow-symlinks", "--", tu_guest("cat"), "/m/link", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "a\n");
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_run_cwd_option(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    tu_write_file(dir, "here.txt", "cwd ok\n", 7);
    char m[4200];
    snprintf(m, sizeof m, "/work=%s", dir);
    struct tu_run r = run((const char *[]){ "--mount", m, "--cwd", "/work", "--", tu_guest("cat"), "here.txt", NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "cwd ok\n");
    tu_run_release(&r);
    r = run((const char *[]){ "--cwd", "/nowhere", "--", tu_guest("cat"), "here.txt", NULL });
    assert_int_equal(r.status, ST_EXIT_ERROR);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_mount_and_file_show_real_content_read_only),
        cmocka_unit_test(test_run_tmp_is_a_real_read_only_directory),
        cmocka_unit_test(test_run_tmp_write_and_export),
        cmocka_unit_test(test_run_lib_path_builds_pypy_home),
        cmocka_unit_test(test_run_config_file_holds_mounts),
        cmocka_unit_test(test_run_mount_policies_exclude_dotfiles_symlinks),
        cmocka_unit_test(test_run_cwd_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
