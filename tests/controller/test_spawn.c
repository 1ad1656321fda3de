/* Spawning a guest (controller/spawn.h), checked from the inside with
 * ordinary programs reading /proc/self: environment, fds, process group,
 * no_new_privs, seccomp, rlimits, ASLR, exec errors, killing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "controller/error.h"
#include "controller/fsjail.h"
#include "controller/jail.h"
#include "controller/spawn.h"
#include "tests/testutil.h"

/* Runs `argv` with `cfg` tweaks, collects its stdout (and stderr if piped). */
static int spawn_collect(struct st_spawn_config *cfg, char *out, size_t cap, int *status)
{
    struct st_child c;
    int rc = st_spawn(cfg, &c);
    if (rc < 0)
        return rc;
    close(c.to_guest);
    c.to_guest = -1;
    size_t len = 0;
    for (;;) {
        struct pollfd p = { c.from_guest, POLLIN, 0 };
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t got = read(c.from_guest, out + len, cap - 1 - len);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
        if (len >= cap - 1)
            break;
    }
    out[len] = '\0';
    assert_int_equal(st_child_wait(&c, 0), 1);
    *status = c.status;
    st_child_close(&c);
    return 0;
}

/* Ordinary programs (a shell, cat of /proc/self/...) need the host's files
 * and /proc: the file-system jail is off for them (its own tests are
 * below, with the guests it is made for). */
static void base(struct st_spawn_config *cfg, char **argv)
{
    st_spawn_config_init(cfg);
    cfg->path = argv[0];
    cfg->argv = argv;
    cfg->seccomp = 0;
    cfg->no_fs_jail = 1;
}

static void test_spawn_missing_executable_reports_errno(void **state)
{
    (void)state;
    char *argv[] = { "/nonexistent/prog", NULL };
    struct st_spawn_config cfg;
    base(&cfg, argv);
    struct st_child c;
    assert_int_equal(st_spawn(&cfg, &c), ST_E_SPAWN);
    assert_int_equal(c.exec_errno, ENOENT);
    assert_int_equal(c.pid, 0);
    /* Under the jail as well. */
    cfg.seccomp = 1;
    assert_int_equal(st_spawn(&cfg, &c), ST_E_SPAWN);
    assert_int_equal(c.exec_errno, ENOENT);
    char *none[] = { NULL };
    cfg.argv = none;
    assert_int_equal(st_spawn(&cfg, &c), ST_E_INVALID);
}

static void test_spawn_environment_is_exactly_the_given_one(void **state)
{
    (void)state;
    char *argv[] = { "/usr/bin/env", NULL };
    struct st_spawn_config cfg;
    base(&cfg, argv);
    char out[4096];
    int st;
    assert_int_equal(spawn_collect(&cfg, out, sizeof out, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_string_equal(out, "");
    char *env[] = { "ONLY=this", NULL };
    cfg.envp = env;
    assert_int_equal(spawn_collect(&cfg, out, sizeof out, &st), 0);
    assert_string_equal(out, "ONLY=this\n");
}

static void test_spawn_guest_has_only_three_fds_and_its_own_group(void **state)
{
    (void)state;
    /* A stray fd of the controller, not close-on-exec, must not leak. */
    int stray = open("/dev/null", O_RDONLY);
    assert_true(stray >= 3);
    char *argv[] = { "/bin/sh", "-c", "ls /proc/$$/fd; cat /proc/self/stat", NULL };
    struct st_spawn_config cfg;
    base(&cfg, argv);
    char out[8192];
    int st;
    struct st_child c;
    assert_int_equal(st_spawn(&cfg, &c), 0);
    pid_t pid = c.pid;
    close(c.to_guest);
    size_t len = 0;
    for (;;) {
        struct pollfd p = { c.from_guest, POLLIN, 0 };
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t got = read(c.from_guest, out + len, sizeof out - 1 - len);
        if (got < 0 && errno == EAGAIN)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    out[len] = '\0';
    c.to_guest = -1;
    st_child_wait(&c, 0);
    st = c.status;
    st_child_close(&c);
    close(stray);
    assert_true(WIFEXITED(st));
    /* The shell's fds: 0 1 2 only (ls's own directory fd is in ls). */
    assert_true(strncmp(out, "0\n1\n2\n", 6) == 0);
    char *stat_line = out + 6;
    if (*stat_line < '0' || *stat_line > '9')
        fail_msg("unexpected fd list: %s", out);
    /* /proc/self/stat of cat: "pid (cat) S ppid pgrp ..." with pgrp the shell's pid. */
    int cpid, ppid, pgrp;
    char name[64], state_c;
    assert_int_equal(sscanf(stat_line, "%d %63s %c %d %d", &cpid, name, &state_c, &ppid, &pgrp), 5);
    assert_int_equal(pgrp, pid);
}

/* Reads /proc/PID/NAME into out (NUL-terminated). */
static void read_proc(pid_t pid, const char *name, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    assert_true(n > 0);
    out[n] = '\0';
}

static void test_spawn_sets_no_new_privs_seccomp_and_limits(void **state)
{
    (void)state;
    /* A guest blocked in its first request (read from stdin, answered by
     * nobody), looked at from outside. */
    char *argv[] = { (char *)tu_guest("echo-stdin"), NULL };
    struct st_spawn_config cfg;
    base(&cfg, argv);
    cfg.seccomp = 1;
    cfg.cpu_seconds = 7;
    cfg.memory_bytes = 1ull << 30;
    cfg.no_aslr = 1;
    struct st_child c;
    assert_int_equal(st_spawn(&cfg, &c), 0);
    assert_non_null(c.jail);
    struct pollfd p = { c.from_guest, POLLIN, 0 };
    assert_int_equal(poll(&p, 1, 10000), 1);
    char out[16384];
    read_proc(c.pid, "status", out, sizeof out);
    assert_non_null(strstr(out, "NoNewPrivs:\t1"));
    assert_non_null(strstr(out, "Seccomp:\t2"));
    assert_non_null(strstr(out, "Seccomp_filters:\t1"));
    read_proc(c.pid, "limits", out, sizeof out);
    assert_non_null(strstr(out, "Max cpu time              7                    8"));
    assert_non_null(strstr(out, "Max address space         1073741824           1073741824"));
    assert_non_null(strstr(out, "Max core file size        0                    0"));
    read_proc(c.pid, "personality", out, sizeof out);
    assert_non_null(strstr(out, "00040000")); /* ADDR_NO_RANDOMIZE */
    st_child_kill(&c, SIGKILL);
    assert_int_equal(st_child_wait(&c, 0), 1);
    st_child_close(&c);
}

static void test_spawn_jail_kills_a_forbidden_call(void **state)
{
    (void)state;
    /* The shell makes a pipe and forks for the pipeline: neither is
     * allowed, and the warden kills it, naming the call. */
    char *argv[] = { "/bin/sh", "-c", "/bin/true | /bin/true", NULL };
    struct st_spawn_config cfg;
    base(&cfg, argv);
    cfg.seccomp = 1;
    struct st_child c;
    assert_int_equal(st_spawn(&cfg, &c), 0);
    assert_int_equal(st_child_wait(&c, 0), 1);
    assert_true(WIFSIGNALED(c.status));
    assert_int_equal(WTERMSIG(c.status), SIGKILL);
    struct st_jail_event ev;
    assert_int_equal(st_jail_killed(c.jail, &ev), 1);
    if (strcmp(ev.call, "pipe2") && strcmp(ev.call, "pipe") && strcmp(ev.call, "clone") &&
        strcmp(ev.call, "clone3") && strcmp(ev.call, "fork") && strcmp(ev.call, "vfork"))
        fail_msg("killed for %s", ev.text);
    assert_non_null(strstr(ev.text, ") = killed"));
    st_child_close(&c);
    char out[256];
    int st;
    cfg.seccomp = 0;
    assert_int_equal(spawn_collect(&cfg, out, sizeof out, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_spawn_kill_reaches_the_whole_group(void **state)
{
    (void)state;
    char *argv[] = { "/bin/sh", "-c", "sleep 100 & sleep 100; echo never", NULL };
    struct st_spawn_config cfg;
    base(&cfg, argv);
    cfg.stderr_pipe = 0;
    struct st_child c;
    assert_int_equal(st_spawn(&cfg, &c), 0);
    assert_int_equal(c.err_fd, -1);
    assert_int_equal(st_child_wait(&c, 1), 0); /* still running */
    st_child_kill(&c, SIGKILL);
    assert_int_equal(st_child_wait(&c, 0), 1);
    assert_true(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
    assert_int_equal(st_child_wait(&c, 0), 1); /* again: still 1 */
    /* The background sleep of the same group is gone too: the pipe closes. */
    char buf[16];
    struct pollfd p = { c.from_guest, POLLIN, 0 };
    assert_true(poll(&p, 1, 5000) == 1);
    assert_int_equal(read(c.from_guest, buf, sizeof buf), 0);
    st_child_close(&c);
    st_child_close(&c); /* idempotent */
}

static void test_spawn_lists_the_jail(void **state)
{
    (void)state;
    const char *const *list = st_jail_allowed_syscalls();
    int has_read = 0, has_socket = 0;
    for (size_t i = 0; list[i]; i++) {
        has_read |= !strcmp(list[i], "read");
        has_socket |= !strncmp(list[i], "socket", 6);
    }
    assert_true(has_read);
    assert_false(has_socket);
}

/* Under the file-system jail (namespaces, empty root, Landlock) the
 * child's end is still seen as it is: its exit status, a kill of its
 * group, its resource usage; and a shell finds nothing of the host but
 * what its loader needed (no cat, no /etc/passwd). */
static void test_spawn_fs_jail_keeps_status_group_kill_and_rusage(void **state)
{
    (void)state;
    unsigned layers;
    if (st_fsjail_layers(0, 0, &layers) < 0)
        skip();
    char *exit3[] = { "/bin/sh", "-c", "exit 3", NULL };
    struct st_spawn_config cfg;
    base(&cfg, exit3);
    cfg.no_fs_jail = 0;
    char out[256];
    int st;
    assert_int_equal(spawn_collect(&cfg, out, sizeof out, &st), 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    char *look[] = { "/bin/sh", "-c", "cat /etc/passwd; echo $?; test -e /etc/passwd; echo $?", NULL };
    base(&cfg, look);
    cfg.no_fs_jail = 0;
    assert_int_equal(spawn_collect(&cfg, out, sizeof out, &st), 0);
    assert_string_equal(out, "127\n1\n");
    /* The same shell without the jail finds both: the test can tell. */
    cfg.no_fs_jail = 1;
    assert_int_equal(spawn_collect(&cfg, out, sizeof out, &st), 0);
    assert_non_null(strstr(out, "root:"));
    char *spin[] = { "/bin/sh", "-c", "while :; do :; done", NULL };
    base(&cfg, spin);
    cfg.no_fs_jail = 0;
    struct st_child c;
    assert_int_equal(st_spawn(&cfg, &c), 0);
    assert_int_equal(c.layers & ST_LAYERS_FS, layers & ST_LAYERS_FS);
    usleep(200 * 1000);
    assert_int_equal(st_child_wait(&c, 1), 0);
    st_child_kill(&c, SIGKILL);
    assert_int_equal(st_child_wait(&c, 0), 1);
    assert_true(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGKILL);
    assert_true(c.usage.ru_utime.tv_sec > 0 || c.usage.ru_utime.tv_usec > 0);
    st_child_close(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_fs_jail_keeps_status_group_kill_and_rusage),
        cmocka_unit_test(test_spawn_missing_executable_reports_errno),
        cmocka_unit_test(test_spawn_environment_is_exactly_the_given_one),
        cmocka_unit_test(test_spawn_guest_has_only_three_fds_and_its_own_group),
        cmocka_unit_test(test_spawn_sets_no_new_privs_seccomp_and_limits),
        cmocka_unit_test(test_spawn_jail_kills_a_forbidden_call),
        cmocka_unit_test(test_spawn_kill_reaches_the_whole_group),
        cmocka_unit_test(test_spawn_lists_the_jail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
