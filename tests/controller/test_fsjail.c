/* The layers under the seccomp filter (controller/fsjail.h), tried from the
 * inside by tests/guests/fsprobe.c, a guest that looks for the host with
 * direct system calls before main and before its first request: each layer
 * alone (the others switched off with --no-seccomp and
 * SANDTRACE_JAIL_PRETEND_MISSING) must hide the host's files, paths,
 * identity and network; a system with neither namespaces nor Landlock is
 * refused; the outcome and the trace name the layers; real PyPys run,
 * record and replay under all of them. Each check is made against a run
 * without the layer too, so that the test can tell. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "controller/fsjail.h"
#include "tests/pypy_env.h"
#include "tests/testutil.h"

static const char *fsprobe(void)
{
    return tu_build_path("testguests/fsprobe");
}

/* Runs `sandtrace run ARGS...` (NULL-terminated) with
 * SANDTRACE_JAIL_PRETEND_MISSING set to `missing` (NULL: unset). */
static struct tu_run run_missing(const char *missing, const char *const *args)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = "run";
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (missing)
        setenv("SANDTRACE_JAIL_PRETEND_MISSING", missing, 1);
    else
        unsetenv("SANDTRACE_JAIL_PRETEND_MISSING");
    struct tu_run r = tu_run_sandtrace(argv, NULL);
    unsetenv("SANDTRACE_JAIL_PRETEND_MISSING");
    return r;
}

static void expect_line(const struct tu_run *r, const char *line)
{
    char pat[512];
    snprintf(pat, sizeof pat, "%s\n", line);
    if (!strstr(r->out, pat))
        fail_msg("no line '%s' in the guest's output:\n%s\nstderr: %s", line, r->out, r->err);
}

/* A TCP listener on 127.0.0.1 (any port); returns its fd, *port. */
static int listen_local(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 4), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return s;
}

static void skip_unless(unsigned layers)
{
    if ((st_fsjail_available() & layers) != layers)
        skip();
}

/* Under the default jail the guest's memory and its /proc/self/exe hold
 * no host path: execve was given /sandbox/NAME, argv[0] is virtual. */
static void test_fsjail_guest_sees_no_host_path(void **state)
{
    (void)state;
    skip_unless(ST_LAYERS_NS);
    struct tu_run r = run_missing(NULL, (const char *[]){ "--", fsprobe(), ST_BUILD_DIR, NULL });
    /* The filter ends it at its socket: everything before is printed. */
    expect_line(&r, "execfn /sandbox/fsprobe");
    expect_line(&r, "argv0 /bin/fsprobe");
    expect_line(&r, "exe /sandbox/fsprobe");
    expect_line(&r, "early 0 0 0");
    expect_line(&r, "late 0 0 0");
    if (strstr(r.out, ST_BUILD_DIR) || strstr(r.out, ST_SOURCE_DIR))
        fail_msg("a host path reached the guest:\n%s", r.out);
    tu_run_release(&r);
    /* Without the file-system layers, the host's path is what it sees. */
    r = run_missing(NULL, (const char *[]){ "--no-fs-jail", "--", fsprobe(), ST_BUILD_DIR, NULL });
    assert_non_null(strstr(r.out, "exe " ST_BUILD_DIR "/testguests/fsprobe\n"));
    tu_run_release(&r);
}

/* The namespaces alone (no seccomp filter, no Landlock): the host's files
 * are not there even before main, the guest is uid/gid 1000 (not 0, not
 * the caller's), and its only network interface is a loopback that is
 * down, so the host's 127.0.0.1 cannot be reached. */
static void test_fsjail_namespaces_alone_hide_the_host(void **state)
{
    (void)state;
    skip_unless(ST_LAYERS_NS);
    int port;
    int ls = listen_local(&port);
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    struct tu_run r = run_missing("landlock", (const char *[]){ "--no-seccomp", "--", fsprobe(),
                                                                ST_BUILD_DIR, port_s, NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "exe /sandbox/fsprobe");
    expect_line(&r, "early 0 0 0");
    expect_line(&r, "late 0 0 0");
    expect_line(&r, "ids 1000 1000");
    expect_line(&r, "ifaces lo");
    assert_non_null(strstr(r.out, "connect -1 "));
    /* Its root holds /etc, /lib*, /usr (the loader's files), /sandbox and
     * /proc (the exe link) and nothing else. */
    assert_non_null(strstr(r.out, "root "));
    assert_true(atoi(strstr(r.out, "root ") + 5) <= 6);
    tu_run_release(&r);
    /* The same guest without the layers reads the host and connects. */
    r = run_missing(NULL, (const char *[]){ "--no-seccomp", "--no-fs-jail", "--", fsprobe(),
                                            ST_BUILD_DIR, port_s, NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "early 1 1 1");
    expect_line(&r, "connect 0");
    tu_run_release(&r);
    close(ls);
}

/* Landlock alone (as where user namespaces are not allowed): the host's
 * files other than the executable, its libraries and the locale data
 * cannot be opened, before main or after, and with ABI 4 no TCP connect. */
static void test_fsjail_landlock_alone_holds(void **state)
{
    (void)state;
    skip_unless(ST_LAYER_LANDLOCK);
    int port;
    int ls = listen_local(&port);
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    struct tu_run r = run_missing("userns", (const char *[]){ "--no-seccomp", "--", fsprobe(),
                                                              ST_BUILD_DIR, port_s, NULL });
    assert_int_equal(r.status, 0);
    expect_line(&r, "early 0 0 0");
    expect_line(&r, "late 0 0 0");
    expect_line(&r, "root -1");
    if (st_fsjail_landlock_abi() >= 4)
        assert_non_null(strstr(r.out, "connect -1 EACCES"));
    tu_run_release(&r);
    close(ls);
}

/* With neither namespaces nor Landlock a run is refused, saying what is
 * missing and how to opt out; --no-fs-jail is that opt-out. */
static void test_fsjail_refuses_without_any_layer(void **state)
{
    (void)state;
    struct tu_run r = run_missing("userns,landlock", (const char *[]){ "--", tu_guest("hello"), NULL });
    assert_int_not_equal(r.status, 0);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "user namespaces"));
    assert_non_null(strstr(r.err, "Landlock"));
    assert_non_null(strstr(r.err, "--no-fs-jail"));
    tu_run_release(&r);
    r = run_missing("userns,landlock", (const char *[]){ "--no-fs-jail", "--", tu_guest("hello"), NULL });
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "hello from the sandbox\n");
    tu_run_release(&r);
    /* replay refuses too (its opt-out is --no-jail). */
    char *dir = tu_mkdtemp();
    char trace[4096];
    snprintf(trace, sizeof trace, "%s/t.sbt", dir);
    r = tu_run_sandtrace((const char *[]){ "record", "-o", trace, "--", tu_guest("hello"), NULL }, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    setenv("SANDTRACE_JAIL_PRETEND_MISSING", "userns,landlock", 1);
    r = tu_run_sandtrace((const char *[]){ "replay", "--check", trace, NULL }, NULL);
    assert_int_not_equal(r.status, 0);
    assert_non_null(strstr(r.err, "neither user namespaces nor Landlock"));
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "replay", "--check", "--no-jail", trace, NULL }, NULL);
    unsetenv("SANDTRACE_JAIL_PRETEND_MISSING");
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

/* The outcome and the trace's policy name the layers in force. */
static void test_fsjail_outcome_and_policy_name_the_layers(void **state)
{
    (void)state;
    char all[128], no_sc[128];
    unsigned l;
    assert_int_equal(st_fsjail_layers(0, 1, &l), 0);
    st_fsjail_layers_name(l, all, sizeof all);
    st_fsjail_layers_name(l & ~(unsigned)ST_LAYER_SECCOMP, no_sc, sizeof no_sc);
    if ((l & (ST_LAYERS_NS | ST_LAYER_LANDLOCK)) == (ST_LAYERS_NS | ST_LAYER_LANDLOCK))
        assert_string_equal(all, "userns,mntns,netns,ipcns,utsns,landlock,seccomp");
    char *dir = tu_mkdtemp();
    char out[4096], trace[4096], pat[256];
    snprintf(out, sizeof out, "%s/o.json", dir);
    snprintf(trace, sizeof trace, "%s/t.sbt", dir);
    static const struct {
        const char *opt;
        int which;  /* 0: all, 1: without seccomp, 2: seccomp only */
    } cases[] = { { "--strict-jail", 0 }, { "--no-seccomp", 1 }, { "--no-fs-jail", 2 } };
    for (size_t i = 0; i < 3; i++) {
        struct tu_run r = tu_run_sandtrace((const char *[]){ "record", "-o", trace, "--outcome", out,
                                                             cases[i].opt, "--", tu_guest("hello"), NULL },
                                           NULL);
        assert_int_equal(r.status, 0);
        tu_run_release(&r);
        const char *want = cases[i].which == 0 ? all : cases[i].which == 1 ? no_sc : "seccomp";
        FILE *f = fopen(out, "r");
        assert_non_null(f);
        char json[4096] = "";
        size_t n = fread(json, 1, sizeof json - 1, f);
        json[n] = '\0';
        fclose(f);
        snprintf(pat, sizeof pat, "\"jail_layers\":\"%s\"", want);
        if (!strstr(json, pat))
            fail_msg("%s: outcome %s has no %s", cases[i].opt, json, pat);
        r = tu_run_sandtrace((const char *[]){ "info", trace, NULL }, NULL);
        snprintf(pat, sizeof pat, "jail.layers = %s\n", want);
        if (!strstr(r.out, pat))
            fail_msg("%s: info has no '%s':\n%s", cases[i].opt, pat, r.out);
        tu_run_release(&r);
    }
    tu_rm_rf(dir);
    free(dir);
}

/* Real PyPys start, import time and print UTF-8 under every layer, and
 * their recordings replay identically (under every layer again). */
static void pypy_under_full_jail(const struct tu_pypy *p)
{
    char *dir = tu_mkdtemp();
    char trace[4096];
    snprintf(trace, sizeof trace, "%s/p.sbt", dir);
    struct tu_run r = tu_run_sandtrace(
        (const char *[]){ "record", "-o", trace, "--strict-jail", "--timeout", "60", "--lib-path",
                          p->lib, "--", p->exe, "-S", "-c", "import time; print(u\"caf\\u00e9\")", NULL },
        NULL);
    if (r.status != 0 || strcmp(r.out, "caf\xc3\xa9\n"))
        fail_msg("%s: status %d, stdout '%s', stderr %s", p->name, r.status, r.out, r.err);
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "replay", "--check", trace, NULL }, NULL);
    if (r.status != 0 || !strstr(r.err, "identical"))
        fail_msg("%s: replay --check: %d %s", p->name, r.status, r.err);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_fsjail_real_pypy_runs_and_replays(void **state)
{
    struct tu_pypy *p = *state;
    TU_NEED_PYPY(p);
    pypy_under_full_jail(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fsjail_guest_sees_no_host_path),
        cmocka_unit_test(test_fsjail_namespaces_alone_hide_the_host),
        cmocka_unit_test(test_fsjail_landlock_alone_holds),
        cmocka_unit_test(test_fsjail_refuses_without_any_layer),
        cmocka_unit_test(test_fsjail_outcome_and_policy_name_the_layers),
        TU_PYPY_TESTS(test_fsjail_real_pypy_runs_and_replays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
