/* User handlers through `sandtrace run` and `record`: the example plugins
 * (a computed virtual file, a write policy), plugins refused for another
 * ABI version, no entry point or a refusing init; handler processes that
 * answer with errno, data and default, and every way one can fail (garbage,
 * death, a hang, data bigger than the buffer) ending the run with status
 * handler; the Python approval example; recordings made with a plugin and
 * with a handler replayed identically after both are deleted; and the same
 * under the real PyPys when PYPY_SANDBOX / PYPY3_SANDBOX are set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <cmocka.h>

#include "tests/testutil.h"

static char *tmp;

static int setup(void **state)
{
    (void)state;
    tmp = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rm_rf(tmp);
    free(tmp);
    return 0;
}

/* `sandtrace ARGS...` (NULL-terminated). */
static struct tu_run st(const char *const *args)
{
    return tu_run_sandtrace(args, NULL);
}

static void expect(const char *text, const char *what, const struct tu_run *r)
{
    if (!strstr(text, what))
        fail_msg("missing '%s'\nstdout:\n%s\nstderr:\n%s", what, r->out, r->err);
}

static const char *fsops(void)
{
    return tu_build_path("testguests/fsops");
}

static char *tmp_path(const char *name)
{
    char *p;
    if (asprintf(&p, "%s/%s", tmp, name) < 0)
        abort();
    return p;
}

static void copy_file(const char *from, const char *to)
{
    const char *argv[] = { "/bin/cp", from, to, NULL };
    struct tu_run r = tu_run(argv, NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int have_python(void)
{
    return access("/usr/bin/python3", X_OK) == 0;
}

/* ------------------------------------------------------------ plugins */

static void test_plugin_virtual_file_computes_its_contents_at_each_open(void **state)
{
    (void)state;
    char spec[4200];
    snprintf(spec, sizeof spec, "%s:/virtual/counter", tu_build_path("plugins/virtual_file.so"));
    struct tu_run r = st((const char *[]){ "run", "--quiet", "--plugin", spec, "--", fsops(),
                                           "cat", "/virtual/counter", "cat", "/virtual/counter",
                                           "stat", "/virtual/counter", "cat", "/data/none", NULL });
    assert_int_equal(r.status, 0);
    expect(r.out, "cat /virtual/counter: open #1 of /virtual/counter\n", &r);
    expect(r.out, "cat /virtual/counter: open #2 of /virtual/counter\n", &r);
    expect(r.out, "stat /virtual/counter: file 28\n", &r); /* the size of open #3 */
    /* Other paths still get the built-in answer. */
    expect(r.out, "cat /data/none: No such file or directory\n", &r);
    tu_run_release(&r);
}

static void test_plugin_recording_replays_identically_without_the_plugin(void **state)
{
    (void)state;
    char *so = tmp_path("copy_of_virtual_file.so"), *trace = tmp_path("vf.sbt");
    copy_file(tu_build_path("plugins/virtual_file.so"), so);
    char spec[4200];
    snprintf(spec, sizeof spec, "%s:/v/c", so);
    struct tu_run r = st((const char *[]){ "record", "-o", trace, "--quiet", "--plugin", spec, "--",
                                           fsops(), "cat", "/v/c", "cat", "/v/c", NULL });
    assert_int_equal(r.status, 0);
    expect(r.out, "cat /v/c: open #2 of /v/c\n", &r);
    tu_run_release(&r);
    assert_int_equal(unlink(so), 0);
    r = st((const char *[]){ "replay", "--check", trace, NULL });
    assert_int_equal(r.status, 0);
    expect(r.err, "identical", &r);
    tu_run_release(&r);
    /* The trace says which handler answered. */
    r = st((const char *[]){ "dump", trace, NULL });
    expect(r.out, "note: handler 'virtual_file' answered open(pii)i", &r);
    expect(r.out, "read(3, \"open #1 of /v/c\\n\", 8192) = 16", &r);
    tu_run_release(&r);
    free(so);
    free(trace);
}

static void test_plugin_write_policy_refuses_writes_outside_its_directory(void **state)
{
    (void)state;
    char spec[4200];
    snprintf(spec, sizeof spec, "%s:/tmp/out", tu_build_path("plugins/write_policy.so"));
    struct tu_run r = st((const char *[]){ "run", "--quiet", "--tmp-write", "--debug", "--plugin", spec,
                                           "--", fsops(), "mkdir", "/tmp/out", "write", "/tmp/out/a", "yes",
                                           "write", "/tmp/b", "no", "write", "/tmp/out/../b", "no",
                                           "mkdir", "/tmp/other", "cat", "/tmp/out/a", NULL });
    assert_int_equal(r.status, 0);
    expect(r.out, "mkdir /tmp/out: ok\n", &r);
    expect(r.out, "write /tmp/out/a: ok\n", &r);
    expect(r.out, "write /tmp/b: Permission denied\n", &r);
    expect(r.out, "write /tmp/out/../b: Permission denied\n", &r);
    expect(r.out, "mkdir /tmp/other: Permission denied\n", &r);
    expect(r.out, "cat /tmp/out/a: yes\n", &r);
    expect(r.err, "write_policy: refused open of '/tmp/b'", &r);
    tu_run_release(&r);
}

static void test_plugin_of_another_abi_version_is_refused_before_its_code_runs(void **state)
{
    (void)state;
    struct tu_run r = st((const char *[]){ "run", "--plugin", tu_build_path("testplugins/old_abi.so"),
                                           "--", fsops(), "cwd", NULL });
    assert_int_equal(r.status, 70);
    expect(r.err, "was built for plugin ABI version 999, this sandtrace has version 1", &r);
    assert_null(strstr(r.err, "init ran"));
    assert_null(strstr(r.out, "cwd:"));   /* the guest never started */
    tu_run_release(&r);
}

static void test_plugin_without_entry_point_or_with_refusing_init_is_reported(void **state)
{
    (void)state;
    struct tu_run r = st((const char *[]){ "run", "--plugin", tu_build_path("testplugins/no_entry.so"),
                                           "--", fsops(), "cwd", NULL });
    assert_int_equal(r.status, 70);
    expect(r.err, "is not a sandtrace plugin (no sandtrace_plugin_abi)", &r);
    tu_run_release(&r);
    char spec[4200];
    snprintf(spec, sizeof spec, "%s:x=1", tu_build_path("testplugins/refusing.so"));
    r = st((const char *[]){ "run", "--plugin", spec, "--", fsops(), "cwd", NULL });
    assert_int_equal(r.status, 70);
    expect(r.err, "refused to start: refusing: bad arguments 'x=1'", &r);
    tu_run_release(&r);
    r = st((const char *[]){ "run", "--plugin", "/nonexistent/p.so", "--", fsops(), "cwd", NULL });
    assert_int_equal(r.status, 70);
    expect(r.err, "cannot load plugin '/nonexistent/p.so'", &r);
    tu_run_release(&r);
}

/* --------------------------------------------------- handler processes */

/* A handler in Python: open of /v/data is fd 9, whose reads it fills;
 * /v/denied is EACCES; everything else is the built-in answer. */
static const char fake_fs_py[] =
    "import sys, json, base64\n"
    "sent = False\n"
    "for line in sys.stdin:\n"
    "    q = json.loads(line)\n"
    "    assert q['schema'] == 1, q\n"
    "    a, c = q['args'], q['call']\n"
    "    if c == 'open' and a[0] == '/v/data': r = {'result': 9, 'note': 'fd 9 is /v/data'}\n"
    "    elif c == 'open' and a[0] == '/v/denied': r = {'errno': 'EACCES'}\n"
    "    elif c == 'read' and a[0] == 9 and not sent:\n"
    "        assert a[1] == {'size': 8192}, a\n"
    "        sent = True\n"
    "        r = {'data': base64.b64encode(b'from python\\n').decode(), 'result': 12}\n"
    "    elif c in ('read', 'close') and a[0] == 9: r = {'result': 0}\n"
    "    else: r = {'default': True}\n"
    "    print(json.dumps(r), flush=True)\n";

static void test_handler_process_answers_with_data_errno_and_default(void **state)
{
    (void)state;
    if (!have_python())
        skip();
    tu_write_file(tmp, "fake_fs.py", fake_fs_py, sizeof fake_fs_py - 1);
    char spec[4200];
    snprintf(spec, sizeof spec, "open,read,close=exec python3 %s/fake_fs.py", tmp);
    struct tu_run r = st((const char *[]){ "run", "--quiet", "--debug", "--handler-timeout", "60", "--handler", spec, "--", fsops(),
                                           "cat", "/v/data", "cat", "/v/denied", "cat", "/dev/null", NULL });
    assert_int_equal(r.status, 0);
    expect(r.out, "cat /v/data: from python\n", &r);
    expect(r.out, "cat /v/denied: Permission denied\n", &r);
    expect(r.out, "cat /dev/null: \n", &r);
    expect(r.err, ": fd 9 is /v/data", &r);
    tu_run_release(&r);
}

struct failing {
    const char *name;
    const char *script;      /* sh code that reads requests on stdin */
    const char *message;     /* in the reason */
};

static void test_handler_process_failures_end_the_run_with_status_handler(void **state)
{
    (void)state;
    static const struct failing cases[] = {
        { "garbage", "while read l; do echo '{\"bogus\":1}'; done", "with garbage: unknown key 'bogus'" },
        { "not json", "while read l; do echo 'yes please'; done", "with garbage: not a JSON object" },
        { "two objects", "while read l; do echo '{\"result\":0}{\"result\":0}'; done",
          "with garbage: text after the object" },
        { "no result", "while read l; do echo '{}'; done", "no result, errno or default" },
        { "unknown errno", "while read l; do echo '{\"errno\":\"EWHAT\"}'; done", "an unknown errno name" },
        { "death", "exit 0", "handler 'exit 0'" },
        { "hang", "sleep 30", "did not answer open(pii)i within 0.3 s" },
        /* 8193 bytes for an 8192-byte buffer (fsops cat reads 8192). */
        { "too much data",
          "while read l; do case \"$l\" in *'\"read\"'*) printf '{\"data\":\"%s\",\"result\":1}\\n' "
          "\"$(head -c 8193 /dev/zero | base64 -w0)\";; *) echo '{\"default\":true}';; esac; done",
          "longer than the buffer (8192 bytes)" },
        { "data without buffer", "while read l; do echo '{\"data\":\"aGk=\",\"result\":3}'; done",
          "data for a call with no buffer to fill" },
        { "pointer", "while read l; do echo '{\"result\":5}'; done", "pointer result can only be 0" },
        /* A read that claims 5 bytes with 2 given. */
        { "count beyond data",
          "while read l; do case \"$l\" in *'\"read\"'*) echo '{\"data\":\"aGk=\",\"result\":5}';; "
          "*) echo '{\"default\":true}';; esac; done",
          "a count of 5 for 2 bytes of data" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct failing *c = &cases[i];
        char spec[1024], *outcome = tmp_path("outcome.json");
        const char *pattern = !strcmp(c->name, "too much data") || !strcmp(c->name, "count beyond data")
                                  ? "open,read"
                              : !strcmp(c->name, "pointer") ? "getcwd" : "open";
        snprintf(spec, sizeof spec, "%s=%s", pattern, c->script);
        /* Only the hang waits for the deadline: the others get time to
         * start on a loaded machine. */
        const char *timeout = !strcmp(c->name, "hang") ? "0.3" : "30";
        struct tu_run r = st((const char *[]){ "run", "--handler-timeout", timeout, "--handler", spec,
                                               "--outcome", outcome, "--", fsops(),
                                               !strcmp(pattern, "getcwd") ? "cwd" : "cat", "/dev/null", NULL });
        if (r.status != 79 || !strstr(r.err, c->message))
            fail_msg("case '%s': status %d, stderr:\n%s", c->name, r.status, r.err);
        /* The call was never answered: the guest printed no result of it
         * (cat prints its path before reading, then the content or error). */
        assert_null(strstr(r.out, "cat /dev/null: \n"));
        assert_null(strstr(r.out, "error"));
        assert_null(strstr(r.out, "cwd:"));
        expect(read_text(outcome), "\"status\":\"handler\"", &r);
        tu_run_release(&r);
        free(outcome);
    }
}

/* A handler process runs on the CPU its controller and guest share, from
 * its first call on (controller/handler_proc.c): what it starts inherits
 * it. With --pin any, nothing is pinned. */
static void handler_cpu(const char *pin, char *aff, size_t cap, char *json, size_t jcap)
{
    char *affp = tmp_path("aff"), *outcome = tmp_path("outcome.json"), spec[1024];
    unlink(affp);
    snprintf(spec, sizeof spec, "getpid=while read l; do grep Cpus_allowed_list: /proc/self/status "
             "| tr -dc 0-9,- > '%s'; echo '{\"result\":7}'; done", affp);
    struct tu_run r = st((const char *[]){ "run", "--quiet", "--pin", pin, "--handler-timeout", "60",
                                           "--handler", spec, "--outcome", outcome, "--",
                                           tu_build_path("testguests/tguest"), "calls", "3", NULL });
    if (r.status != 0)
        fail_msg("status %d, stderr:\n%s", r.status, r.err);
    snprintf(aff, cap, "%s", read_text(affp));
    snprintf(json, jcap, "%s", read_text(outcome));
    tu_run_release(&r);
    free(affp);
    free(outcome);
}

static void test_handler_process_shares_the_pinned_cpu(void **state)
{
    (void)state;
    char aff[64], json[4096], own[64];
    handler_cpu("any", own, sizeof own, json, sizeof json);
    assert_non_null(strstr(json, "\"cpu\":null"));
    handler_cpu("auto", aff, sizeof aff, json, sizeof json);
    const char *cpu = strstr(json, "\"cpu\":");
    assert_non_null(cpu);
    cpu += 6;
    if (!strncmp(cpu, "null", 4)) {
        print_message("skipped in part: this process may run on one CPU only\n");
        assert_string_equal(aff, own);
        return;
    }
    char want[16];
    snprintf(want, sizeof want, "%ld", strtol(cpu, NULL, 10));
    assert_string_equal(aff, want);
    assert_string_not_equal(own, want);
}

static void test_handler_process_bad_pattern_is_refused_before_the_run(void **state)
{
    (void)state;
    struct tu_run r = st((const char *[]){ "run", "--handler", "no_such_call=cat", "--", fsops(), "cwd", NULL });
    assert_int_equal(r.status, 70);
    expect(r.err, "pattern 'no_such_call' matches no function", &r);
    tu_run_release(&r);
    r = st((const char *[]){ "run", "--handler", "open", "--", fsops(), "cwd", NULL });
    assert_int_equal(r.status, 2);
    tu_run_release(&r);
}

/* ------------------------------------------------ the approval example
 *
 * The runs that expect an answer give the handler 60 s: a python3 start-up
 * on a loaded machine can take longer than the default 5 s. */

static void approve(const char *answer, const char *trace, const char *script)
{
    char spec[4200];
    snprintf(spec, sizeof spec, "open,mkdir,unlink,rename=exec python3 %s %s", script, answer);
    const char *args[] = { trace ? "record" : "run", trace ? "-o" : "--quiet", trace ? trace : "--quiet",
                           "--tmp-write", "--debug", "--handler-timeout", "60", "--handler", spec, "--", fsops(),
                           "write", "/tmp/a", "hello", "cat", "/tmp/a", "mkdir", "/tmp/d",
                           "cat", "/dev/null", NULL };
    struct tu_run r = st(args);
    assert_int_equal(r.status, 0);
    if (!strcmp(answer, "--yes")) {
        expect(r.out, "write /tmp/a: ok\n", &r);
        expect(r.out, "cat /tmp/a: hello\n", &r);
        expect(r.out, "mkdir /tmp/d: ok\n", &r);
        expect(r.err, "approved: open for writing '/tmp/a'", &r);
    } else {
        expect(r.out, "write /tmp/a: Permission denied\n", &r);
        expect(r.out, "cat /tmp/a: No such file or directory\n", &r);
        expect(r.out, "mkdir /tmp/d: Permission denied\n", &r);
        expect(r.err, "refused: mkdir '/tmp/d'", &r);
    }
    /* Reads are not questions. */
    expect(r.out, "cat /dev/null: \n", &r);
    assert_null(strstr(r.err, "'/dev/null'"));
    tu_run_release(&r);
}

static void test_handler_approve_writes_example_allows_and_refuses(void **state)
{
    (void)state;
    if (!have_python())
        skip();
    const char *script = ST_SOURCE_DIR "/examples/handlers/approve_writes.py";
    approve("--yes", NULL, script);
    approve("--no", NULL, script);
}

static void test_handler_recording_replays_identically_without_the_handler(void **state)
{
    (void)state;
    if (!have_python())
        skip();
    char *script = tmp_path("approve_copy.py"), *trace = tmp_path("approve.sbt");
    copy_file(ST_SOURCE_DIR "/examples/handlers/approve_writes.py", script);
    approve("--no", trace, script);
    assert_int_equal(unlink(script), 0);
    struct tu_run r = st((const char *[]){ "replay", "--check", trace, NULL });
    assert_int_equal(r.status, 0);
    expect(r.err, "identical", &r);
    tu_run_release(&r);
    r = st((const char *[]){ "dump", trace, NULL });
    expect(r.out, "refused: open for writing '/tmp/a'", &r);
    expect(r.out, "open(\"/tmp/a\", O_WRONLY|O_CREAT|O_TRUNC, 0644) = -1 EACCES", &r);
    tu_run_release(&r);
    free(script);
    free(trace);
}

/* ------------------------------------------------------------ real PyPy */

static void pypy_case(const char *env)
{
    const char *exe = getenv(env);
    if (!exe || !*exe) {
        fprintf(stderr, "skipped: %s is not set (no real PyPy)\n", env);
        skip();
    }
    char lib[4096];
    snprintf(lib, sizeof lib, "%s", exe);
    char *dir = dirname(dirname(lib));
    char spec[4200];
    snprintf(spec, sizeof spec, "%s:/virtual/counter", tu_build_path("plugins/virtual_file.so"));
    struct tu_run r = st((const char *[]){ "run", "--quiet", "--lib-path", dir, "--plugin", spec, "--", exe,
                                           "-S", "-c",
                                           "import os\n"
                                           "print(os.path.exists('/virtual/counter'))\n"
                                           "for i in range(2):\n"
                                           "    f = open('/virtual/counter'); print(f.read().strip()); f.close()\n",
                                           NULL });
    assert_int_equal(r.status, 0);
    expect(r.out, "True\nopen #1 of /virtual/counter\nopen #2 of /virtual/counter\n", &r);
    tu_run_release(&r);
    if (!have_python())
        return;
    static const char prog[] =
        "try:\n"
        "    with open('/tmp/x.txt', 'w') as f: f.write('hi')\n"
        "    print(open('/tmp/x.txt').read())\n"
        "except IOError as e:\n"
        "    print('refused %d' % e.errno)\n";
    for (int yes = 0; yes < 2; yes++) {
        snprintf(spec, sizeof spec, "open,mkdir,unlink,rename=exec python3 %s %s",
                 ST_SOURCE_DIR "/examples/handlers/approve_writes.py", yes ? "--yes" : "--no");
        r = st((const char *[]){ "run", "--quiet", "--tmp-write", "--lib-path", dir, "--handler-timeout", "60",
                                 "--handler", spec, "--",
                                 exe, "-S", "-c", prog, NULL });
        assert_int_equal(r.status, 0);
        expect(r.out, yes ? "hi\n" : "refused 13\n", &r);
        tu_run_release(&r);
    }
}

static void test_handler_plugin_and_approval_under_real_pypy2(void **state)
{
    (void)state;
    pypy_case("PYPY_SANDBOX");
}

static void test_handler_plugin_and_approval_under_real_pypy3(void **state)
{
    (void)state;
    pypy_case("PYPY3_SANDBOX");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plugin_virtual_file_computes_its_contents_at_each_open),
        cmocka_unit_test(test_handler_process_shares_the_pinned_cpu),
        cmocka_unit_test(test_plugin_recording_replays_identically_without_the_plugin),
        cmocka_unit_test(test_plugin_write_policy_refuses_writes_outside_its_directory),
        cmocka_unit_test(test_plugin_of_another_abi_version_is_refused_before_its_code_runs),
        cmocka_unit_test(test_plugin_without_entry_point_or_with_refusing_init_is_reported),
        cmocka_unit_test(test_handler_process_answers_with_data_errno_and_default),
        cmocka_unit_test(test_handler_process_failures_end_the_run_with_status_handler),
        cmocka_unit_test(test_handler_process_bad_pattern_is_refused_before_the_run),
        cmocka_unit_test(test_handler_approve_writes_example_allows_and_refuses),
        cmocka_unit_test(test_handler_recording_replays_identically_without_the_handler),
        cmocka_unit_test(test_handler_plugin_and_approval_under_real_pypy2),
        cmocka_unit_test(test_handler_plugin_and_approval_under_real_pypy3),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
