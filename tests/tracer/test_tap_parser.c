/* The tap's push parser: a scripted session's two byte streams, fed whole,
 * byte by byte and in random splits and interleavings, always give the same
 * events as the script says; malformed streams give a violation with the
 * offending bytes and stop the parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/tracer/obs_log.h"
#include "tracer/tap.h"

/* A transcript: what each stream carries, and the events it means. */
struct tx {
    uint8_t *g, *c;
    size_t glen, clen;
    struct obs_log want;
};

static void put(uint8_t **buf, size_t *len, const void *data, size_t n)
{
    uint8_t *nb = realloc(*buf, *len + n + 1);
    assert_non_null(nb);
    if (n)
        memcpy(nb + *len, data, n);
    *buf = nb;
    *len += n;
}

static void put_u64(uint8_t **buf, size_t *len, uint64_t v)
{
    put(buf, len, &v, 8);
}

static void tx_request(struct tx *t, const char *text, unsigned nargs, const uint64_t *args)
{
    uint8_t n = (uint8_t)strlen(text);
    put(&t->g, &t->glen, &n, 1);
    put(&t->g, &t->glen, text, n);
    for (unsigned i = 0; i < nargs; i++)
        put_u64(&t->g, &t->glen, args[i]);
    ol_request(&t->want, text, n, args, nargs);
}

static void tx_R(struct tx *t, uint64_t ptr, const void *data, size_t n)
{
    put(&t->c, &t->clen, "R", 1);
    put_u64(&t->c, &t->clen, ptr);
    put_u64(&t->c, &t->clen, n);
    put(&t->g, &t->glen, data, n);
    ol_mem_read(&t->want, ptr, data, n);
}

static void tx_Z(struct tx *t, uint64_t ptr, uint64_t maxlen, const char *s)
{
    put(&t->c, &t->clen, "Z", 1);
    put_u64(&t->c, &t->clen, ptr);
    put_u64(&t->c, &t->clen, maxlen);
    put_u64(&t->g, &t->glen, strlen(s));
    put(&t->g, &t->glen, s, strlen(s));
    ol_mem_read_str(&t->want, ptr, maxlen, s, strlen(s));
}

static void tx_W(struct tx *t, uint64_t ptr, const void *data, size_t n)
{
    put(&t->c, &t->clen, "W", 1);
    put_u64(&t->c, &t->clen, ptr);
    put_u64(&t->c, &t->clen, n);
    put(&t->c, &t->clen, data, n);
    ol_mem_write(&t->want, ptr, data, n);
}

static void tx_M(struct tx *t, const void *data, size_t n, uint64_t ptr)
{
    put(&t->c, &t->clen, "M", 1);
    put_u64(&t->c, &t->clen, n);
    put(&t->c, &t->clen, data, n);
    put_u64(&t->g, &t->glen, ptr);
    ol_mem_alloc(&t->want, data, n, ptr);
}

static void tx_F(struct tx *t, uint64_t ptr)
{
    put(&t->c, &t->clen, "F", 1);
    put_u64(&t->c, &t->clen, ptr);
    ol_mem_free(&t->want, ptr);
}

static void tx_E(struct tx *t, int32_t e)
{
    put(&t->c, &t->clen, "E", 1);
    put(&t->c, &t->clen, &e, 4);
    ol_errno(&t->want, e);
}

static void tx_result(struct tx *t, char kind, uint64_t v)
{
    put(&t->c, &t->clen, &kind, 1);
    if (kind != 'v')
        put_u64(&t->c, &t->clen, v);
    ol_result(&t->want, kind, kind == 'v' ? 0 : v);
}

/* A session using every command, ending inside an _exit request. */
static void make_session(struct tx *t)
{
    memset(t, 0, sizeof *t);
    tx_request(t, "open(pii)i", 3, (uint64_t[]){ 0x7f001000, 0, 0666 });
    tx_Z(t, 0x7f001000, (uint64_t)-1, "/etc/passwd");
    tx_E(t, 2);
    tx_result(t, 'i', (uint64_t)-1);
    tx_request(t, "write(ipi)i", 3, (uint64_t[]){ 1, 0x7f002000, 6 });
    tx_R(t, 0x7f002000, "hello\n", 6);
    tx_result(t, 'i', 6);
    tx_request(t, "read(ipi)i", 3, (uint64_t[]){ 0, 0x7f003000, 5 });
    tx_W(t, 0x7f003000, "abcde", 5);
    tx_result(t, 'i', 5);
    tx_request(t, "get_environ()p", 0, NULL);
    tx_M(t, "\0\0\0\0\0\0\0\0", 8, 0x5555000);
    tx_result(t, 'p', 0x5555000);
    tx_request(t, "_pypy_init_free(p)v", 1, (uint64_t[]){ 0x5555000 });
    tx_F(t, 0x5555000);
    tx_result(t, 'v', 0);
    double d = 2.5;
    uint64_t bits;
    memcpy(&bits, &d, 8);
    tx_request(t, "sqrt(f)f", 1, (uint64_t[]){ bits });
    tx_result(t, 'f', bits);
    tx_request(t, "write(ipi)i", 3, (uint64_t[]){ 1, 0x7f002000, 0 });
    tx_R(t, 0x7f002000, "", 0);
    tx_result(t, 'i', 0);
    /* Two reads in one request, the controller sending both commands ahead. */
    tx_request(t, "rename(pp)i", 2, (uint64_t[]){ 0x100, 0x200 });
    tx_Z(t, 0x100, 4096, "a");
    tx_Z(t, 0x200, 4096, "");
    tx_result(t, 'i', 0);
    tx_request(t, "_exit(i)v", 1, (uint64_t[]){ 3 });
}

static void tx_release(struct tx *t)
{
    free(t->g);
    free(t->c);
    obs_log_release(&t->want);
}

/* Feeds the transcript in slices chosen by `rng` (0: whole streams, guest
 * first), interleaving the two streams at random; returns the log. */
static struct obs_log run_parser(const struct tx *t, unsigned *rng, size_t max_piece)
{
    struct obs_log got = { 0 };
    struct st_observer obs = obs_log_observer(&got);
    struct st_tap_parser *p = NULL;
    assert_int_equal(st_tap_parser_new(&p, &obs), 0);
    size_t gi = 0, ci = 0;
    while (gi < t->glen || ci < t->clen) {
        int pick_g = ci == t->clen || (gi < t->glen && (!rng || (rand_r(rng) & 1)));
        size_t left = pick_g ? t->glen - gi : t->clen - ci;
        size_t n = rng ? 1 + (size_t)rand_r(rng) % max_piece : left;
        if (n > left)
            n = left;
        if (pick_g) {
            st_tap_parser_feed_guest(p, t->g + gi, n);
            gi += n;
        } else {
            st_tap_parser_feed_controller(p, t->c + ci, n);
            ci += n;
        }
    }
    st_tap_parser_finish(p);
    struct st_tap_counts counts;
    st_tap_parser_counts(p, &counts);
    assert_int_equal(counts.guest_bytes, t->glen);
    assert_int_equal(counts.controller_bytes, t->clen);
    assert_int_equal(st_tap_parser_failed(p), got.violations > 0);
    st_tap_parser_free(p);
    return got;
}

static void test_tap_parser_whole_streams_give_the_scripted_events(void **state)
{
    (void)state;
    struct tx t;
    make_session(&t);
    struct obs_log got = run_parser(&t, NULL, 0);
    assert_int_equal(got.violations, 0);
    assert_string_equal(got.text, t.want.text);
    obs_log_release(&got);
    tx_release(&t);
}

static void test_tap_parser_byte_by_byte_interleaved_gives_the_same_events(void **state)
{
    (void)state;
    struct tx t;
    make_session(&t);
    unsigned seed = 1;
    struct obs_log got = run_parser(&t, &seed, 1);
    assert_int_equal(got.violations, 0);
    assert_string_equal(got.text, t.want.text);
    obs_log_release(&got);
    tx_release(&t);
}

static void test_tap_parser_random_splits_give_the_same_events(void **state)
{
    (void)state;
    struct tx t;
    make_session(&t);
    for (unsigned seed = 1; seed <= 300; seed++) {
        unsigned rng = seed;
        struct obs_log got = run_parser(&t, &rng, 1 + seed % 40);
        if (got.violations || strcmp(got.text, t.want.text) != 0)
            fail_msg("seed %u: events differ:\n%s\nwant:\n%s", seed, got.text, t.want.text);
        obs_log_release(&got);
    }
    tx_release(&t);
}

/* Runs streams g/c (whole) and returns the log. */
static struct obs_log run_raw(const void *g, size_t glen, const void *c, size_t clen)
{
    struct tx t = { 0 };
    put(&t.g, &t.glen, g, glen);
    put(&t.c, &t.clen, c, clen);
    struct obs_log got = run_parser(&t, NULL, 0);
    free(t.g);
    free(t.c);
    return got;
}

static void test_tap_parser_malformed_request_is_a_violation_with_its_bytes(void **state)
{
    (void)state;
    /* "\x05hello" is not name(ARGS)R; what follows is reported raw. */
    static const char g[] = "\x05hello-and-more";
    struct obs_log got = run_raw(g, sizeof g - 1, "R", 1);
    assert_int_equal(got.violations >= 1, 1);
    assert_non_null(strstr(got.text, "violation "));
    /* The offending bytes are in the first violation, in hex: 05 'h' 'e'. */
    assert_non_null(strstr(got.text, "[15]0568656c6c6f"));
    assert_null(strstr(got.text, "request "));
    obs_log_release(&got);
}

static void test_tap_parser_reports_bytes_after_a_failure_raw(void **state)
{
    (void)state;
    struct obs_log got = { 0 };
    struct st_observer obs = obs_log_observer(&got);
    struct st_tap_parser *p = NULL;
    assert_int_equal(st_tap_parser_new(&p, &obs), 0);
    st_tap_parser_feed_guest(p, "\0", 1);
    assert_int_equal(st_tap_parser_failed(p), 1);
    st_tap_parser_feed_guest(p, "xyz", 3);
    st_tap_parser_feed_controller(p, "Q", 1);
    st_tap_parser_finish(p);
    assert_int_equal(got.violations, 3);
    assert_non_null(strstr(got.text, "unparsed guest->controller bytes [3]78797a\n"));
    assert_non_null(strstr(got.text, "unparsed controller->guest bytes [1]51\n"));
    st_tap_parser_free(p);
    obs_log_release(&got);
}

static void test_tap_parser_unknown_opcode_is_a_violation(void **state)
{
    (void)state;
    struct tx t = { 0 };
    tx_request(&t, "getpid()i", 0, NULL);
    obs_log_release(&t.want);
    struct obs_log got = run_raw(t.g, t.glen, "Xjunk", 5);
    assert_int_equal(got.violations, 1);
    assert_non_null(strstr(got.text, "request getpid()i\n"));
    assert_non_null(strstr(got.text, "[5]586a756e6b"));
    obs_log_release(&got);
    free(t.g);
    free(t.c);
}

static void test_tap_parser_wrong_result_kind_is_a_violation(void **state)
{
    (void)state;
    struct tx t = { 0 };
    tx_request(&t, "getpid()i", 0, NULL);
    obs_log_release(&t.want);
    uint8_t cmd[9] = { 'p' };
    struct obs_log got = run_raw(t.g, t.glen, cmd, sizeof cmd);
    assert_int_equal(got.violations, 1);
    assert_null(strstr(got.text, "\nresult "));
    obs_log_release(&got);
    free(t.g);
    free(t.c);
}

static void test_tap_parser_string_longer_than_maxlen_is_a_violation(void **state)
{
    (void)state;
    struct tx t = { 0 };
    tx_request(&t, "unlink(p)i", 1, (uint64_t[]){ 0x10 });
    tx_Z(&t, 0x10, 3, "toolong");
    obs_log_release(&t.want);
    struct obs_log got = run_raw(t.g, t.glen, t.c, t.clen);
    assert_int_equal(got.violations, 1);
    assert_null(strstr(got.text, "Z "));
    obs_log_release(&got);
    free(t.g);
    free(t.c);
}

static void test_tap_parser_stream_cut_inside_a_reply_is_truncated(void **state)
{
    (void)state;
    struct tx t;
    memset(&t, 0, sizeof t);
    tx_request(&t, "write(ipi)i", 3, (uint64_t[]){ 1, 0x1000, 10 });
    tx_R(&t, 0x1000, "0123456789", 10);
    obs_log_release(&t.want);
    /* Only 4 of the 10 reply bytes arrive. */
    struct obs_log got = run_raw(t.g, t.glen - 6, t.c, t.clen);
    assert_int_equal(got.violations, 1);
    assert_non_null(strstr(got.text, "[4]30313233"));
    assert_null(strstr(got.text, "R "));
    obs_log_release(&got);
    free(t.g);
    free(t.c);
}

static void test_tap_parser_open_request_at_the_end_is_clean(void **state)
{
    (void)state;
    struct tx t = { 0 };
    tx_request(&t, "_exit(i)v", 1, (uint64_t[]){ 0 });
    struct obs_log got = run_parser(&t, NULL, 0);
    assert_int_equal(got.violations, 0);
    assert_string_equal(got.text, t.want.text);
    obs_log_release(&got);
    tx_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_parser_whole_streams_give_the_scripted_events),
        cmocka_unit_test(test_tap_parser_byte_by_byte_interleaved_gives_the_same_events),
        cmocka_unit_test(test_tap_parser_random_splits_give_the_same_events),
        cmocka_unit_test(test_tap_parser_malformed_request_is_a_violation_with_its_bytes),
        cmocka_unit_test(test_tap_parser_reports_bytes_after_a_failure_raw),
        cmocka_unit_test(test_tap_parser_unknown_opcode_is_a_violation),
        cmocka_unit_test(test_tap_parser_wrong_result_kind_is_a_violation),
        cmocka_unit_test(test_tap_parser_string_longer_than_maxlen_is_a_violation),
        cmocka_unit_test(test_tap_parser_stream_cut_inside_a_reply_is_truncated),
        cmocka_unit_test(test_tap_parser_open_request_at_the_end_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
