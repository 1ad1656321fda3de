/* `sandtrace verify` and `sandtrace info` on real files: outputs and exit
 * codes for valid, damaged, truncated and keyed traces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "format/trace.h"
#include "tests/format/trace_samples.h"
#include "tests/testutil.h"

struct fixture {
    char *dir;
    char good[4096], keyed[4096], flipped[4096], cut[4096], junk[4096];
    char key[4096], other_key[4096];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    tu_write_file(f->dir, "k1.key", "correct horse battery staple", 28);
    tu_write_file(f->dir, "k2.key", "incorrect horse battery staple", 30);
    snprintf(f->key, sizeof f->key, "%s/k1.key", f->dir);
    snprintf(f->other_key, sizeof f->other_key, "%s/k2.key", f->dir);
    uint8_t key[TRACE_KEY_BYTES];
    if (trace_key_load(f->key, key) < 0)
        return -1;
    size_t len;
    uint8_t *t = ts_make_trace(40, 500, NULL, &len);
    tu_write_file(f->dir, "good.sbt", t, len);
    t[len / 2] ^= 0x10;
    tu_write_file(f->dir, "flipped.sbt", t, len);
    t[len / 2] ^= 0x10;
    tu_write_file(f->dir, "cut.sbt", t, len - 100);
    free(t);
    t = ts_make_trace(40, 500, key, &len);
    tu_write_file(f->dir, "keyed.sbt", t, len);
    free(t);
    tu_write_file(f->dir, "junk.sbt", "hello, world\n", 13);
    snprintf(f->good, sizeof f->good, "%s/good.sbt", f->dir);
    snprintf(f->keyed, sizeof f->keyed, "%s/keyed.sbt", f->dir);
    snprintf(f->flipped, sizeof f->flipped, "%s/flipped.sbt", f->dir);
    snprintf(f->cut, sizeof f->cut, "%s/cut.sbt", f->dir);
    snprintf(f->junk, sizeof f->junk, "%s/junk.sbt", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tu_rm_rf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static void expect(struct tu_run *r, int status, const char *out_has, const char *err_has)
{
    if (r->status != status || (out_has && !strstr(r->out, out_has)) ||
        (err_has && !strstr(r->err, err_has)))
        fail_msg("status %d (want %d)\nstdout: %s\nstderr: %s", r->status, status, r->out,
                 r->err);
    tu_run_release(r);
}

static void test_verify_valid_trace_prints_ok_with_counts(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "verify", f->good, NULL }, NULL);
    expect(&r, 0, "ok: 40 events in ", NULL);
}

/* Issue #16: a damaged trace is exit 5 (was 1), said on stderr in words. */
static void test_verify_flipped_byte_exits_5_with_offset(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "verify", f->flipped, NULL }, NULL);
    expect(&r, 5, NULL, "sandtrace verify: trace '");
    r = tu_run_sandtrace((const char *[]){ "verify", f->flipped, NULL }, NULL);
    expect(&r, 5, NULL, "checksum mismatch");
    r = tu_run_sandtrace((const char *[]){ "verify", f->junk, NULL }, NULL);
    expect(&r, 4, NULL, "not a sandtrace trace");
}

static void test_verify_truncated_trace_exits_5(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "verify", f->cut, NULL }, NULL);
    expect(&r, 5, NULL, "ends at offset");
}

/* Issue #16: key problems are exit 7 (were 6: 6 is "cannot write the output"). */
static void test_verify_keys_have_their_own_exit_code(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "verify", f->keyed, NULL }, NULL);
    expect(&r, 7, NULL, "trace is keyed");
    r = tu_run_sandtrace((const char *[]){ "verify", "--key", f->other_key, f->keyed, NULL },
                         NULL);
    expect(&r, 7, NULL, "key does not match");
    r = tu_run_sandtrace((const char *[]){ "verify", "--key", f->key, f->good, NULL }, NULL);
    expect(&r, 7, NULL, "not keyed");
    r = tu_run_sandtrace((const char *[]){ "verify", "--key", f->key, f->keyed, NULL }, NULL);
    expect(&r, 0, "keyed chain verified", NULL);
}

static void test_verify_usage_and_open_errors(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "verify", NULL }, NULL);
    expect(&r, 2, NULL, "sandtrace verify: no TRACE given\n");
    r = tu_run_sandtrace((const char *[]){ "verify", "--bogus", f->good, NULL }, NULL);
    expect(&r, 2, NULL, "sandtrace verify: unknown option '--bogus'\n");
    r = tu_run_sandtrace((const char *[]){ "verify", "--help", NULL }, NULL);
    expect(&r, 0, "exit codes:", NULL);
    r = tu_run_sandtrace((const char *[]){ "verify", "/nonexistent/x.sbt", NULL }, NULL);
    expect(&r, 4, NULL, "cannot open trace '/nonexistent/x.sbt'");
    r = tu_run_sandtrace((const char *[]){ "verify", "--key", "/nonexistent/k", f->good, NULL },
                         NULL);
    expect(&r, 4, NULL, "cannot load key '/nonexistent/k'");
}

static void test_info_prints_header_counts_and_sizes(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "info", f->good, NULL }, NULL);
    if (r.status != 0)
        fail_msg("info failed: %s", r.err);
    static const char *const want[] = { "format:       1.0, written by sandtrace",
                                        "guest:        /bin/guest (12345 bytes, blake2b 01080f",
                                        "\"print(42)\"",
                                        "  HOME=/tmp",
                                        "  time = fixed:1000",
                                        "events:       40",
                                        "  request ",
                                        "compression:  ",
                                        "duration:     0.0000",
                                        "footer:       yes" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(r.out, want[i]))
            fail_msg("info output lacks '%s':\n%s", want[i], r.out);
    tu_run_release(&r);
    r = tu_run_sandtrace((const char *[]){ "info", "--json", f->keyed, NULL }, NULL);
    if (r.status != 0 || r.out[0] != '{' || strcmp(r.out + r.out_len - 2, "}\n") != 0 ||
        !strstr(r.out, "\"events\":40,") || !strstr(r.out, "\"keyed\":true") ||
        !strstr(r.out, "\"argv\":[\"/bin/guest\",\"-c\",\"print(42)\"]") ||
        !strstr(r.out, "\"damaged\":null"))
        fail_msg("info --json: %s", r.out);
    tu_run_release(&r);
}

static void test_info_on_damaged_and_foreign_files(void **state)
{
    struct fixture *f = *state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "info", f->cut, NULL }, NULL);
    expect(&r, 5, "footer:       no", "is incomplete after "); /* issue #16: 5, was 1 */
    r = tu_run_sandtrace((const char *[]){ "info", f->junk, NULL }, NULL);
    expect(&r, 4, NULL, "not a sandtrace trace");
    r = tu_run_sandtrace((const char *[]){ "info", NULL }, NULL);
    expect(&r, 2, NULL, "sandtrace info: no TRACE given\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verify_valid_trace_prints_ok_with_counts),
        cmocka_unit_test(test_verify_flipped_byte_exits_5_with_offset),
        cmocka_unit_test(test_verify_truncated_trace_exits_5),
        cmocka_unit_test(test_verify_keys_have_their_own_exit_code),
        cmocka_unit_test(test_verify_usage_and_open_errors),
        cmocka_unit_test(test_info_prints_header_counts_and_sizes),
        cmocka_unit_test(test_info_on_damaged_and_foreign_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
