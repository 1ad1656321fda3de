/* tools/options.c, the option parser every command shares: what it accepts
 * and the one message format of what it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "tools/options.c"

enum { O_EVENTS = 256, O_RAW, O_RECOVER, O_TMP_WRITE, O_TIMEOUT, O_TIME };

static const struct opt_spec specs[] = {
    { 's', 's', NULL, OPT_NUM },
    { 'T', 'T', NULL, OPT_NONE },
    { 'x', 'x', NULL, OPT_NONE },
    { 'o', 'o', "output", OPT_REQ },
    { O_EVENTS, 'e', "events", OPT_REQ },
    { O_RAW, 0, "raw", OPT_NONE },
    { O_RECOVER, 0, "recover", OPT_NONE },
    { O_TMP_WRITE, 0, "tmp-write", OPT_OPT },
    { O_TIMEOUT, 0, "timeout", OPT_NUM },
    { O_TIME, 0, "time", OPT_REQ },
    { 'h', 'h', "help", OPT_NONE },
    OPT_SPEC_END,
};

/* Runs the parser over `words` (NULL-terminated, without argv[0]) and
 * records "id=arg" per option into got, and stderr into err. Returns the
 * last opt_next result (OPT_DONE or OPT_ERROR). */
struct parsed {
    char got[512];
    char err[1024];
    struct opt_parser p;
    char *argv[32];
};

static int parse(struct parsed *r, int flags, const char *const *words)
{
    int argc = 0;
    r->argv[argc++] = "dump";
    for (; words[argc - 1]; argc++)
        r->argv[argc] = (char *)words[argc - 1];
    r->argv[argc] = NULL;
    r->got[0] = r->err[0] = '\0';
    fflush(stderr);
    int saved = dup(2);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), 2);
    opt_init(&r->p, "dump", specs, argc, r->argv, flags);
    int id;
    while ((id = opt_next(&r->p)) > 0) {
        size_t n = strlen(r->got);
        snprintf(r->got + n, sizeof r->got - n, "%s%d=%s", n ? " " : "", id,
                 r->p.arg ? r->p.arg : "-");
    }
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(r->err, 1, sizeof r->err - 1, tmp);
    r->err[n] = '\0';
    fclose(tmp);
    return id;
}

static void test_options_after_operands_are_options(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, 0, (const char *[]){ "t.sbt", "-s", "100", "--raw", NULL }), OPT_DONE);
    assert_string_equal(r.got, "115=100 257=-");
    assert_int_equal(r.p.noperands, 1);
    assert_string_equal(r.p.operands[0], "t.sbt");
    assert_string_equal(r.err, "");
    opt_release(&r.p);
}

static void test_options_value_forms(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, 0,
                           (const char *[]){ "-s64", "--events=3..5", "--output", "o.txt",
                                             "-e", "..9", "--time=slow", "--rec", NULL }),
                     OPT_DONE);
    assert_string_equal(r.got, "115=64 256=3..5 111=o.txt 256=..9 261=slow 258=-");
    assert_int_equal(r.p.noperands, 0);
    opt_release(&r.p);
}

static void test_options_ambiguous_prefix_lists_candidates(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, 0, (const char *[]){ "--tim=3", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "sandtrace dump: option '--tim' is ambiguous; it could be --timeout, --time\n"));
    assert_non_null(strstr(r.err, "Try 'sandtrace dump --help'"));
    opt_release(&r.p);
}

static void test_options_grouped_short_flags(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, 0, (const char *[]){ "-xxT", "-Ts8", "t", NULL }), OPT_DONE);
    assert_string_equal(r.got, "120=- 120=- 84=- 84=- 115=8");
    opt_release(&r.p);
    /* The unknown letter of a group is named, not the group. */
    assert_int_equal(parse(&r, 0, (const char *[]){ "-Tq", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "sandtrace dump: unknown option '-q' (in '-Tq')\n"));
    opt_release(&r.p);
}

static void test_options_missing_value_is_named(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, 0, (const char *[]){ "t.sbt", "--output", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "sandtrace dump: option '--output' requires an argument\n"));
    opt_release(&r.p);
    /* A numeric option does not swallow the trace's name. */
    assert_int_equal(parse(&r, 0, (const char *[]){ "-s", "t.sbt", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "option '-s' requires a number (not 't.sbt')"));
    opt_release(&r.p);
    assert_int_equal(parse(&r, 0, (const char *[]){ "--raw=1", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "option '--raw' takes no argument"));
    opt_release(&r.p);
}

static void test_options_typo_gets_a_suggestion(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, 0, (const char *[]){ "--timout", "5", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "sandtrace dump: unknown option '--timout' (did you mean '--timeout'?)\n"));
    opt_release(&r.p);
    assert_int_equal(parse(&r, 0, (const char *[]){ "--revocer", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "(did you mean '--recover'?)"));
    opt_release(&r.p);
    /* Nothing close: no suggestion. */
    assert_int_equal(parse(&r, 0, (const char *[]){ "--frobnicate", NULL }), OPT_ERROR);
    assert_non_null(strstr(r.err, "unknown option '--frobnicate'\n"));
    assert_null(strstr(r.err, "did you mean"));
    opt_release(&r.p);
}

static void test_options_dash_and_double_dash(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, 0, (const char *[]){ "-", "--", "-s", "--raw", NULL }), OPT_DONE);
    assert_string_equal(r.got, "");
    assert_int_equal(r.p.noperands, 3);
    assert_string_equal(r.p.operands[0], "-");
    assert_string_equal(r.p.operands[1], "-s");
    assert_string_equal(r.p.operands[2], "--raw");
    opt_release(&r.p);
}

static void test_options_stop_at_operand_leaves_guest_args(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, OPT_STOP_AT_OPERAND,
                           (const char *[]){ "--raw", "guest", "-s", "1", "--x", NULL }),
                     OPT_DONE);
    assert_string_equal(r.got, "257=-");
    assert_int_equal(r.p.noperands, 4);
    assert_string_equal(r.p.operands[0], "guest");
    assert_string_equal(r.p.operands[3], "--x");
    opt_release(&r.p);
}

static void test_options_optional_value_takes_a_number_only(void **state)
{
    (void)state;
    struct parsed r;
    assert_int_equal(parse(&r, OPT_STOP_AT_OPERAND,
                           (const char *[]){ "--tmp-write", "16M", "guest", NULL }),
                     OPT_DONE);
    assert_string_equal(r.got, "259=16M");
    assert_int_equal(r.p.noperands, 1);
    opt_release(&r.p);
    assert_int_equal(parse(&r, OPT_STOP_AT_OPERAND,
                           (const char *[]){ "--tmp-write", "guest", NULL }),
                     OPT_DONE);
    assert_string_equal(r.got, "259=-");
    assert_string_equal(r.p.operands[0], "guest");
    opt_release(&r.p);
}

static void test_options_suggest_picks_the_nearest(void **state)
{
    (void)state;
    static const char *const cmds[] = { "run", "record", "replay", "dump", "diff", "stats", NULL };
    assert_string_equal(opt_suggest("dupm", cmds), "dump");
    assert_string_equal(opt_suggest("reocrd", cmds), "record");
    assert_string_equal(opt_suggest("rn", cmds), "run");
    assert_null(opt_suggest("xyz", cmds));
    assert_null(opt_suggest("statistics", cmds));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_after_operands_are_options),
        cmocka_unit_test(test_options_value_forms),
        cmocka_unit_test(test_options_ambiguous_prefix_lists_candidates),
        cmocka_unit_test(test_options_grouped_short_flags),
        cmocka_unit_test(test_options_missing_value_is_named),
        cmocka_unit_test(test_options_typo_gets_a_suggestion),
        cmocka_unit_test(test_options_dash_and_double_dash),
        cmocka_unit_test(test_options_stop_at_operand_leaves_guest_args),
        cmocka_unit_test(test_options_optional_value_takes_a_number_only),
        cmocka_unit_test(test_options_suggest_picks_the_nearest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
