/* The handler API (controller/handler.h) in-process, with the fsops test
 * guest: patterns, the BEFORE / REPLACE / built-in / AFTER order, falling
 * back, wrapping the built-in answer, rewriting a path, the notes that name
 * who answered, and a failing handler ending the run with its own status
 * before the guest sees an answer. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/handler.h"
#include "controller/session.h"
#include "controller/vfs.h"
#include "tests/testutil.h"
#include "tools/commands.h"
#include "tools/run_outcome.c"

/* ----------------------------------------------------------- a recorder */

struct rec {
    char log[65536];
    size_t len;
};

static void rec_add(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec_add(struct rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->log + r->len, sizeof r->log - r->len, fmt, ap);
    va_end(ap);
    if (n > 0 && r->len + (size_t)n < sizeof r->log)
        r->len += (size_t)n;
}
static void on_request(void *ctx, const char *text, size_t len, const uint64_t *a, unsigned n)
{
    rec_add(ctx, "req %.*s\n", (int)len, text);
}
static void on_mem_read_str(void *ctx, uint64_t p, uint64_t maxlen, const void *data, size_t len)
{
    rec_add(ctx, "Z %.*s\n", (int)len, (const char *)data);
}
static void on_mem_alloc(void *ctx, const void *data, size_t len, uint64_t ptr)
{
    rec_add(ctx, "M %zu\n", len);
}
static void on_mem_free(void *ctx, uint64_t ptr)
{
    rec_add(ctx, "F\n");
}
static void on_result(void *ctx, char kind, uint64_t value)
{
    rec_add(ctx, "res %c %lld\n", kind, (long long)value);
}
static void on_note(void *ctx, const char *text)
{
    rec_add(ctx, "note %s\n", text);
}

/* ------------------------------------------------------------- running */

struct run {
    struct rec rec;
    struct st_outcome out;
    char stdout_text[8192];
};

/* A session on fsops with ARGS (NULL-terminated), /data/real.txt holding
 * "hello" and a writable /tmp; `add` registers the handlers. */
static void run_fsops(struct run *r, int (*add)(struct st_session *), const char *const *args)
{
    memset(r, 0, sizeof *r);
    const char *argv[32] = { "/bin/fsops" };
    size_t argc = 1;
    while (args[argc - 1] && argc < 31) {
        argv[argc] = args[argc - 1];
        argc++;
    }
    struct st_vfs *v = st_vfs_new(NULL);
    assert_non_null(v);
    assert_int_equal(st_vfs_add_file(v, "/data/real.txt", "hello", 5, 0644), 0);
    assert_int_equal(st_vfs_enable_tmp(v, 1 << 20), 0);
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    struct st_session_config cfg;
    st_session_config_init(&cfg);
    cfg.exe = tu_build_path("testguests/fsops");
    cfg.argv = argv;
    cfg.argc = argc;
    cfg.vfs = v;
    cfg.out_fd = pfd[1];
    cfg.raw_stdout = 1;
    cfg.timeout_seconds = 20;
    struct st_session *s;
    assert_int_equal(st_session_new(&cfg, &s), 0);
    struct st_observer obs = { .ctx = &r->rec, .on_request = on_request,
                               .on_mem_read_str = on_mem_read_str, .on_mem_alloc = on_mem_alloc,
                               .on_mem_free = on_mem_free, .on_result = on_result,
                               .on_note = on_note };
    assert_int_equal(st_session_add_observer(s, &obs), 0);
    assert_int_equal(add(s), 0);
    assert_int_equal(st_session_run(s, &r->out), 0);
    st_session_free(s);
    close(pfd[1]);
    ssize_t n = read(pfd[0], r->stdout_text, sizeof r->stdout_text - 1);
    r->stdout_text[n > 0 ? n : 0] = '\0';
    close(pfd[0]);
}

/* ------------------------------------------------------------- patterns */

static void test_handler_patterns_match_signature_name_glob_and_class(void **state)
{
    (void)state;
    const struct st_sig *open = st_registry_lookup("open(pii)i", 10);
    const struct st_sig *read = st_registry_lookup("read(ipi)i", 10);
    assert_non_null(open);
    assert_non_null(read);
    assert_int_equal(st_handler_pattern_match("open(pii)i", open), 1);
    assert_int_equal(st_handler_pattern_match("open", open), 1);
    assert_int_equal(st_handler_pattern_match("open*", open), 1);
    assert_int_equal(st_handler_pattern_match("op", open), 0);
    assert_int_equal(st_handler_pattern_match("open(pi)i", open), 0);
    assert_int_equal(st_handler_pattern_match("*(ipi)i", read), 1);
    assert_int_equal(st_handler_pattern_match("%file", open), 1);
    assert_int_equal(st_handler_pattern_match("%file", read), 0);
    assert_int_equal(st_handler_pattern_match("%desc", read), 1);
    assert_int_equal(st_handler_pattern_match("*", read), 1);
    assert_int_equal(st_handler_pattern_match("%bogus", read), ST_E_INVALID);
    assert_int_equal(st_handler_pattern_match("", read), ST_E_INVALID);
}

static int freed;
static void count_free(void *ctx)
{
    (void)ctx;
    freed++;
}
static int never(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    fail_msg("this handler must never run");
    return ST_HANDLER_PASS;
}

static void test_handler_registration_refuses_what_matches_nothing(void **state)
{
    (void)state;
    struct st_session_config cfg;
    st_session_config_init(&cfg);
    const char *argv[] = { "/bin/x" };
    cfg.exe = "/bin/true";
    cfg.argv = argv;
    cfg.argc = 1;
    struct st_session *s;
    assert_int_equal(st_session_new(&cfg, &s), 0);
    freed = 0;
    struct st_handler_def d = { .name = "x", .pattern = "no_such_call", .fn = never,
                                .free_ctx = count_free };
    assert_int_equal(st_session_add_handler(s, &d), ST_E_UNKNOWN_CALL);
    assert_int_equal(freed, 1); /* a refused registration still frees its ctx */
    d.pattern = "%nothing";
    assert_int_equal(st_session_add_handler(s, &d), ST_E_INVALID);
    d.pattern = "getpid";
    d.fn = NULL;
    assert_int_equal(st_session_add_handler(s, &d), ST_E_INVALID);
    assert_int_equal(freed, 3);
    d.fn = never;
    assert_int_equal(st_session_add_handler(s, &d), 0);
    assert_int_equal(freed, 3);
    st_session_free(s);
    assert_int_equal(freed, 4); /* and an accepted one when the session goes */
}

/* ------------------------------------------------------ replace and pass */

/* stat64 of a path under /virtual/: a regular file of 42 bytes; anything else passes. */
static int stat_virtual(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    (*(int *)ctx)++;
    if (!hc->arg[0].str || strncmp(hc->arg[0].str, "/virtual/", 9) != 0)
        return ST_HANDLER_PASS;
    unsigned char st[144] = { 0 };
    uint32_t mode = 0100644;
    int64_t size = 42;
    memcpy(st + 24, &mode, 4);
    memcpy(st + 48, &size, 8);
    int rc = st_guest_write(s, hc->call->args[1], st, sizeof st);
    if (rc < 0)
        return rc;
    st_call_ok(hc->call, 0);
    return ST_HANDLER_ANSWERED;
}
static int stat_calls;
static int add_stat_virtual(struct st_session *s)
{
    struct st_handler_def d = { .name = "stat-virtual", .pattern = "stat64",
                                .when = ST_HANDLER_REPLACE, .fn = stat_virtual, .ctx = &stat_calls };
    return st_session_add_handler(s, &d);
}

static void test_handler_replace_answers_and_passes_to_the_builtin(void **state)
{
    (void)state;
    struct run r;
    stat_calls = 0;
    run_fsops(&r, add_stat_virtual,
              (const char *[]){ "stat", "/virtual/x", "stat", "/data/real.txt", "stat", "/nope", NULL });
    assert_int_equal(r.out.status, ST_STATUS_EXITED);
    assert_int_equal(r.out.exit_code, 0);
    assert_int_equal(stat_calls, 3);
    assert_non_null(strstr(r.stdout_text, "stat /virtual/x: file 42\n"));
    assert_non_null(strstr(r.stdout_text, "stat /data/real.txt: file 5\n"));   /* built-in */
    assert_non_null(strstr(r.stdout_text, "stat /nope: No such file or directory\n"));
    /* One note, for the call the handler answered, and none for the others. */
    assert_non_null(strstr(r.rec.log, "note handler 'stat-virtual' answered stat64(pp)i\n"));
    const char *first = strstr(r.rec.log, "note handler");
    assert_null(strstr(first + 1, "note handler"));
}

/* ------------------------------------------------- before, after, order */

static char order[64];
/* Registered for %file, it looks at open only. */
static int before_refuse_writes(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    if (strcmp(hc->sig->name, "open") != 0)
        return ST_HANDLER_PASS;
    strcat(order, "B");
    if ((hc->call->args[1] & 3) == 0)
        return ST_HANDLER_PASS;
    st_call_fail(hc->call, EACCES);
    return ST_HANDLER_ANSWERED;
}
static int replace_open(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    strcat(order, "R");
    return ST_HANDLER_PASS;
}
static int after_open(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    strcat(order, strcmp(hc->answered_by, "built-in") ? "a" : "A");
    return ST_HANDLER_ANSWERED;
}
static int add_order(struct st_session *s)
{
    /* Registered out of order on purpose: the phase decides, not the order. */
    struct st_handler_def a = { .name = "after", .pattern = "open", .when = ST_HANDLER_AFTER,
                                .fn = after_open };
    struct st_handler_def r = { .name = "replace", .pattern = "open", .when = ST_HANDLER_REPLACE,
                                .fn = replace_open };
    struct st_handler_def b = { .name = "policy", .pattern = "%file", .when = ST_HANDLER_BEFORE,
                                .fn = before_refuse_writes };
    int rc = st_session_add_handler(s, &a);
    if (rc == 0)
        rc = st_session_add_handler(s, &r);
    return rc ? rc : st_session_add_handler(s, &b);
}

static void test_handler_before_refuses_so_the_builtin_never_runs(void **state)
{
    (void)state;
    struct run r;
    order[0] = '\0';
    run_fsops(&r, add_order,
              (const char *[]){ "write", "/tmp/a", "hi", "cat", "/tmp/a", "cat", "/data/real.txt", NULL });
    assert_int_equal(r.out.status, ST_STATUS_EXITED);
    assert_non_null(strstr(r.stdout_text, "write /tmp/a: Permission denied\n"));
    /* The built-in open was never asked to create the file. */
    assert_non_null(strstr(r.stdout_text, "cat /tmp/a: No such file or directory\n"));
    assert_non_null(strstr(r.stdout_text, "cat /data/real.txt: hello\n"));
    /* The refused write: B then the after handler seeing "policy"; each
     * read: B, R passing, the built-in, A seeing "built-in". */
    assert_string_equal(order, "BaBRABRA");
    assert_non_null(strstr(r.rec.log, "note handler 'policy' answered open(pii)i\n"));
}

static int after_stat_hides(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    if (hc->arg[0].str && !strcmp(hc->arg[0].str, "/data/real.txt") && hc->call->err == 0)
        st_call_fail(hc->call, ENOENT);
    return ST_HANDLER_ANSWERED;
}
static int add_after_stat(struct st_session *s)
{
    struct st_handler_def d = { .name = "hide", .pattern = "stat64", .when = ST_HANDLER_AFTER,
                                .fn = after_stat_hides };
    return st_session_add_handler(s, &d);
}

static void test_handler_after_changes_the_builtin_result(void **state)
{
    (void)state;
    struct run r;
    run_fsops(&r, add_after_stat,
              (const char *[]){ "stat", "/data/real.txt", "stat", "/dev/null", NULL });
    assert_non_null(strstr(r.stdout_text, "stat /data/real.txt: No such file or directory\n"));
    assert_null(strstr(r.stdout_text, "stat /dev/null: No such"));
    assert_non_null(strstr(r.rec.log, "note handler 'hide' changed the result of stat64(pp)i\n"));
    assert_int_equal(strstr(strstr(r.rec.log, "changed the result") + 1, "changed the result"), NULL);
}

/* ------------------------------------------- wrapping and rewriting */

static int64_t seen_fd = -2;
static int wrap_open(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    int rc = st_handler_call_default(s, hc);
    if (rc < 0)
        return rc;
    seen_fd = (int64_t)hc->call->result;
    return ST_HANDLER_ANSWERED;
}
static int add_wrap(struct st_session *s)
{
    struct st_handler_def d = { .name = "wrap", .pattern = "open(pii)i", .when = ST_HANDLER_REPLACE,
                                .fn = wrap_open };
    return st_session_add_handler(s, &d);
}

static void test_handler_wraps_the_builtin_answer(void **state)
{
    (void)state;
    struct run r;
    run_fsops(&r, add_wrap, (const char *[]){ "cat", "/data/real.txt", NULL });
    assert_non_null(strstr(r.stdout_text, "cat /data/real.txt: hello\n"));
    assert_int_equal(seen_fd, 3);
}

static int alias(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    if (hc->arg[0].str && !strcmp(hc->arg[0].str, "/alias")) {
        int rc = st_handler_set_str_arg(s, hc, 0, "/data/real.txt");
        if (rc < 0)
            return rc;
        assert_string_equal(hc->arg[0].str, "/data/real.txt");
    }
    return ST_HANDLER_PASS;
}
static int add_alias(struct st_session *s)
{
    struct st_handler_def d = { .name = "alias", .pattern = "open", .when = ST_HANDLER_BEFORE,
                                .fn = alias };
    return st_session_add_handler(s, &d);
}

static void test_handler_rewrites_a_path_through_guest_memory(void **state)
{
    (void)state;
    struct run r;
    run_fsops(&r, add_alias, (const char *[]){ "cat", "/alias", NULL });
    assert_non_null(strstr(r.stdout_text, "cat /alias: hello\n"));
    /* Decoded (Z), allocated (M) with its NUL, re-read by the built-in (Z),
     * freed (F) before the result. */
    assert_non_null(strstr(r.rec.log, "req open(pii)i\nZ /alias\nM 15\nZ /data/real.txt\nF\nres i 3\n"));
}

/* ------------------------------------------------------------ failures */

static int broken(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    return st_handler_fail(s, "handler 'broken' gave up on %s", hc->arg[0].str);
}
static int add_broken(struct st_session *s)
{
    struct st_handler_def d = { .name = "broken", .pattern = "stat64", .when = ST_HANDLER_REPLACE,
                                .fn = broken };
    return st_session_add_handler(s, &d);
}

static void test_handler_failure_ends_the_run_before_the_guest_is_answered(void **state)
{
    (void)state;
    struct run r;
    run_fsops(&r, add_broken, (const char *[]){ "stat", "/x", "cat", "/data/real.txt", NULL });
    assert_int_equal(r.out.status, ST_STATUS_HANDLER);
    assert_int_equal(run_outcome_exit_code(&r.out), ST_EXIT_HANDLER);
    assert_int_equal(ST_EXIT_HANDLER, 79);
    assert_string_equal(st_status_name(r.out.status), "handler");
    assert_non_null(strstr(r.out.reason, "handler 'broken' gave up on /x"));
    /* The stat64 request got no result, and nothing came after it. */
    const char *req = strstr(r.rec.log, "req stat64(pp)i\nZ /x\n");
    assert_non_null(req);
    assert_null(strstr(req, "res "));
    assert_null(strstr(req, "req open"));
    assert_string_equal(r.stdout_text, "");
    char json[2048];
    run_outcome_to_json(&r.out, json, sizeof json);
    assert_non_null(strstr(json, "\"status\":\"handler\""));
    assert_non_null(strstr(json, "\"exit_status\":79"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handler_patterns_match_signature_name_glob_and_class),
        cmocka_unit_test(test_handler_registration_refuses_what_matches_nothing),
        cmocka_unit_test(test_handler_replace_answers_and_passes_to_the_builtin),
        cmocka_unit_test(test_handler_before_refuses_so_the_builtin_never_runs),
        cmocka_unit_test(test_handler_after_changes_the_builtin_result),
        cmocka_unit_test(test_handler_wraps_the_builtin_answer),
        cmocka_unit_test(test_handler_rewrites_a_path_through_guest_memory),
        cmocka_unit_test(test_handler_failure_ends_the_run_before_the_guest_is_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
