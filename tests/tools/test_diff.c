/* `sandtrace diff`: equivalence under relocation and timing changes, the
 * first divergence named in dump format, --all realignment, exit codes.
 * The variants are made by copying a golden trace through a transform
 * (the "modified guest"). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/testutil.h"
#include "format/trace.h"

#define GOLDEN(name) ST_SOURCE_DIR "/tests/golden/" name ".sbt"

struct xform {
    uint64_t ptr_shift;     /* added to every pointer (args of kind p, addresses, p results) */
    uint64_t time_scale;    /* times multiplied by this (0: unchanged) */
    uint64_t flip_seq;      /* event whose first data byte is flipped (UINT64_MAX: none) */
    uint64_t drop_req;      /* request seq whose call is dropped whole (UINT64_MAX: none) */
    uint64_t bad_ptr_seq;   /* event whose address is moved by another amount (UINT64_MAX: none) */
};

static void xform_init(struct xform *x)
{
    memset(x, 0, sizeof *x);
    x->flip_seq = x->drop_req = x->bad_ptr_seq = UINT64_MAX;
}

/* Copies `src` to `dst` through `x`. */
static void copy_trace(const char *src, const char *dst, const struct xform *x)
{
    struct trace_io *in = NULL, *out = NULL;
    assert_int_equal(trace_io_open_file(src, TRACE_IO_READ, &in), 0);
    struct trace_reader *r = NULL;
    assert_int_equal(trace_reader_open(&r, in, 1, NULL, NULL, 0), 0);
    assert_int_equal(trace_io_open_file(dst, TRACE_IO_WRITE, &out), 0);
    struct trace_writer *w = NULL;
    assert_int_equal(trace_writer_new(&w, out, 1, trace_reader_header(r), NULL), 0);
    struct trace_event ev;
    uint8_t *buf = NULL;
    while (trace_reader_next(r, &ev) > 0) {
        if (x->drop_req != UINT64_MAX && (ev.seq == x->drop_req || ev.req_seq == x->drop_req))
            continue;
        if (x->time_scale)
            ev.time_ns *= x->time_scale;
        if (ev.kind == TRACE_EV_REQUEST) {
            const char *k = strchr(ev.request.sig, '(') + 1;
            for (size_t i = 0; i < ev.request.nargs; i++)
                if (k[i] == 'p' && ev.request.args[i])
                    ev.request.args[i] += x->ptr_shift;
        } else if (ev.kind >= TRACE_EV_MEM_READ && ev.kind <= TRACE_EV_MEM_FREE) {
            ev.mem.ptr += x->ptr_shift;
            if (ev.seq == x->bad_ptr_seq)
                ev.mem.ptr += 0x10;
            if (ev.seq == x->flip_seq && ev.mem.len) {
                buf = realloc(buf, ev.mem.len);
                memcpy(buf, ev.mem.data, ev.mem.len);
                buf[0] ^= 0x20;
                ev.mem.data = buf;
            }
        } else if (ev.kind == TRACE_EV_RESULT && ev.result.kind == 'p' && ev.result.value) {
            ev.result.value += x->ptr_shift;
        }
        assert_int_equal(trace_writer_add_event(w, &ev), 0);
    }
    free(buf);
    assert_int_equal(trace_writer_close(w), 0);
    trace_writer_free(w);
    trace_reader_free(r);
}

static struct tu_run diff(const char *a, const char *b, const char *opt)
{
    if (opt)
        return tu_run_sandtrace((const char *[]){ "diff", opt, a, b, NULL }, NULL);
    return tu_run_sandtrace((const char *[]){ "diff", a, b, NULL }, NULL);
}

static void test_diff_of_a_trace_with_itself_is_empty(void **state)
{
    (void)state;
    static const char *const names[] = { GOLDEN("cat"), GOLDEN("ls"), GOLDEN("clock"), GOLDEN("pypy2-startup") };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct tu_run r = diff(names[i], names[i], NULL);
        assert_int_equal(r.status, 0);
        assert_int_equal(r.out_len, 0);
        tu_run_release(&r);
    }
}

static void test_diff_ignores_times_and_relocated_pointers(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/moved.sbt", dir);
    struct xform x;
    xform_init(&x);
    x.ptr_shift = 0x10000000;
    x.time_scale = 3;
    copy_trace(GOLDEN("pypy2-startup"), path, &x);
    struct tu_run r = diff(GOLDEN("pypy2-startup"), path, NULL);
    if (r.status != 0)
        fail_msg("relocated trace reported different: %s", r.out);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_diff_names_the_first_differing_event(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/flipped.sbt", dir);
    struct xform x;
    xform_init(&x);
    x.ptr_shift = 0x1000;
    x.flip_seq = 10; /* the W of the second read of cat (event 9 is its request) */
    copy_trace(GOLDEN("cat"), path, &x);
    struct tu_run r = diff(GOLDEN("cat"), path, NULL);
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, "(A event 9, B event 9): data written to the guest (W), command 1, differs at byte 0"))
        fail_msg("unexpected diff output:\n%s", r.out);
    assert_non_null(strstr(r.out, "\n-9 +0.000058 read(3, \"uvwxyz"));
    assert_non_null(strstr(r.out, "\n+9 +0.000058 read(3, \"Uvwxyz"));
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_diff_refuses_an_inconsistent_relocation(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/badptr.sbt", dir);
    struct xform x;
    xform_init(&x);
    x.bad_ptr_seq = 13; /* the R of the second write of cat: same buffer, other address */
    copy_trace(GOLDEN("cat"), path, &x);
    struct tu_run r = diff(GOLDEN("cat"), path, NULL);
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, "(A event 12, B event 12): R command 1: address"))
        fail_msg("unexpected diff output:\n%s", r.out);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_diff_all_realigns_after_a_missing_call(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char path[4096];
    snprintf(path, sizeof path, "%s/dropped.sbt", dir);
    struct xform x;
    xform_init(&x);
    x.drop_req = 36; /* one stat64 of the pypy2 start */
    copy_trace(GOLDEN("pypy2-startup"), path, &x);
    struct tu_run r = diff(GOLDEN("pypy2-startup"), path, "--all");
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, "\n-36 +0.000217 stat64(\"/lib/pypy\"") || !strstr(r.out, "\n1 divergence\n"))
        fail_msg("unexpected diff --all output:\n%s", r.out);
    tu_run_release(&r);
    /* Without --all only the first divergence is shown. */
    r = diff(GOLDEN("pypy2-startup"), path, NULL);
    assert_int_equal(r.status, 1);
    assert_null(strstr(r.out, "divergence"));
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_diff_reports_a_shorter_trace(void **state)
{
    (void)state;
    struct tu_run r = diff(GOLDEN("hello"), GOLDEN("cat"), NULL);
    assert_int_equal(r.status, 1);
    assert_non_null(strstr(r.out, "different functions: write(ipi)i vs open(pii)i"));
    tu_run_release(&r);
    /* --all lists what the longer trace goes on with, to its end. */
    r = diff(GOLDEN("hello"), GOLDEN("cat"), "--all");
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, ": A ends here, B goes on @@\n") || !strstr(r.out, "\n+26 +0.000184 +++ exited with 1 +++\n"))
        fail_msg("unexpected diff --all of a shorter trace:\n%s", r.out);
    tu_run_release(&r);
}

/* Records the replayer's test guest variant-VARIANT printing a small file
 * into DIR/VARIANT.sbt (ASLR on: addresses move between recordings). */
static void record_variant(const char *dir, const char *variant, char *trace, size_t cap)
{
    char exe[4096], mount[4200];
    snprintf(exe, sizeof exe, "%s/tests/replayer/guests/variant-%s", ST_BUILD_DIR, variant);
    snprintf(mount, sizeof mount, "/w=%s/world", dir);
    snprintf(trace, cap, "%s/%s.sbt", dir, variant);
    struct tu_run r = tu_run_sandtrace((const char *[]){ "record", "-o", trace, "--quiet", "--mount", mount, exe,
                                                         "/w/a.txt", NULL },
                                       NULL);
    /* The guest's own exit code comes back (variant-open fails with 1). */
    if (r.status != 0 && r.status != 1)
        fail_msg("cannot record variant-%s (exit %d): %s", variant, r.status, r.err);
    tu_run_release(&r);
}

static char *variant_dir(void)
{
    char *dir = tu_mkdtemp();
    char world[2048];
    snprintf(world, sizeof world, "%.2000s/world", dir);
    mkdir(world, 0755);
    tu_write_file(world, "a.txt", "alpha\n", 6);
    return dir;
}

static void test_diff_of_two_recordings_of_one_guest_is_empty(void **state)
{
    (void)state;
    char *dir = variant_dir();
    char a[4200], b[4200];
    record_variant(dir, "base", a, sizeof a);
    snprintf(b, sizeof b, "%s/again.sbt", dir);
    char mount[4200], exe[4096];
    snprintf(mount, sizeof mount, "/w=%s/world", dir);
    snprintf(exe, sizeof exe, "%s/tests/replayer/guests/variant-base", ST_BUILD_DIR);
    struct tu_run r = tu_run_sandtrace((const char *[]){ "record", "-o", b, "--quiet", "--mount", mount, exe,
                                                         "/w/a.txt", NULL },
                                       NULL);
    assert_int_equal(r.status, 0);
    tu_run_release(&r);
    r = diff(a, b, NULL);
    if (r.status != 0 || r.out_len)
        fail_msg("two recordings of one guest differ:\n%s%s", r.out, r.err);
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_diff_names_the_first_event_of_a_modified_guest(void **state)
{
    (void)state;
    char *dir = variant_dir();
    char base[4200], byte[4200], open_[4200], extra[4200];
    record_variant(dir, "base", base, sizeof base);
    record_variant(dir, "byte", byte, sizeof byte);
    record_variant(dir, "open", open_, sizeof open_);
    record_variant(dir, "extra", extra, sizeof extra);
    /* "dona" instead of "done": the write's data, at byte 3. */
    struct tu_run r = diff(base, byte, NULL);
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, "data read from the guest (R), command 1, differs at byte 3") ||
        !strstr(r.out, "write(1, \"done\\n\", 5) = 5") || !strstr(r.out, "write(1, \"dona\\n\", 5) = 5"))
        fail_msg("unexpected diff of variant-byte:\n%s", r.out);
    assert_non_null(strstr(r.out, "@@ call 6 (A event 13, B event 13)"));
    tu_run_release(&r);
    /* Another file name: the first call already differs, in its path. */
    r = diff(base, open_, NULL);
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, "@@ call 1 (A event 0, B event 0): string read from the guest (Z), command 1, differs at byte 8 (8 vs 14 bytes)"))
        fail_msg("unexpected diff of variant-open:\n%s", r.out);
    assert_non_null(strstr(r.out, "+0 "));
    assert_non_null(strstr(r.out, "open(\"/w/a.txt.other\", O_RDONLY, 0)"));
    tu_run_release(&r);
    /* One more call (getpid): --all shows it alone, then everything matches again. */
    r = diff(base, extra, "--all");
    assert_int_equal(r.status, 1);
    if (!strstr(r.out, "\n+") || !strstr(r.out, "getpid() = ") || !strstr(r.out, "\n1 divergence\n"))
        fail_msg("unexpected diff --all of variant-extra:\n%s", r.out);
    assert_null(strstr(r.out, "\n-"));
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
}

static void test_diff_usage_and_unreadable_traces(void **state)
{
    (void)state;
    struct tu_run r = tu_run_sandtrace((const char *[]){ "diff", GOLDEN("cat"), NULL }, NULL);
    assert_int_equal(r.status, 2);
    tu_run_release(&r);
    r = diff(GOLDEN("cat"), "/nonexistent/x.sbt", NULL);
    assert_int_equal(r.status, 4);
    assert_non_null(strstr(r.err, "cannot open trace '/nonexistent/x.sbt'"));
    tu_run_release(&r);
    r = diff(GOLDEN("cat"), ST_SOURCE_DIR "/tests/golden/cat.dump", NULL);
    assert_int_equal(r.status, 4);
    tu_run_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_diff_of_a_trace_with_itself_is_empty),
        cmocka_unit_test(test_diff_ignores_times_and_relocated_pointers),
        cmocka_unit_test(test_diff_names_the_first_differing_event),
        cmocka_unit_test(test_diff_refuses_an_inconsistent_relocation),
        cmocka_unit_test(test_diff_all_realigns_after_a_missing_call),
        cmocka_unit_test(test_diff_reports_a_shorter_trace),
        cmocka_unit_test(test_diff_of_two_recordings_of_one_guest_is_empty),
        cmocka_unit_test(test_diff_names_the_first_event_of_a_modified_guest),
        cmocka_unit_test(test_diff_usage_and_unreadable_traces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
