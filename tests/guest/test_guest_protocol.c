/* The guest runtime against a scripted controller: request bytes, every
 * command, the errno rule, the fatal cases and dump mode. */
#include "guest/sandbox_guest.h"
#include "tests/guest/guest_peer.h"

#include <float.h>

#define MIB (1u << 20)

/* Memory the guest functions below share with the test (set before fork). */
static unsigned char *g_big;

/* ---- request encoding ---------------------------------------------------- */

static void guest_protocol_example(void)
{
    ssize_t r = sg_write(1, (const void *)(uintptr_t)0x7f0000001000ull, 3);
    sg_call("report(i)v", SG_ARGS(sg_arg_i(r)));
}

static void test_request_bytes_match_protocol_example(void **state)
{
    (void)state;
    static const unsigned char want[36] = {
        0x0b, 'w', 'r', 'i', 't', 'e', '(', 'i', 'p', 'i', ')', 'i',
        0x01, 0, 0, 0, 0, 0, 0, 0,
        0x00, 0x10, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00,
        0x03, 0, 0, 0, 0, 0, 0, 0,
    };
    struct peer p;
    peer_start_fn(&p, guest_protocol_example);
    unsigned char got[36];
    peer_recv(&p, got, sizeof got);
    assert_memory_equal(got, want, sizeof want);
    peer_result(&p, 'i', 3);
    struct peer_req r;
    peer_expect(&p, &r, "report(i)v");
    assert_int_equal(r.args[0], 3);
    peer_result(&p, 'v', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    assert_string_equal(e.err, "");
    free(e.err);
}

static void guest_every_kind(void)
{
    uint64_t f = sg_call("kinds(ipfi)f",
                         SG_ARGS(sg_arg_i(-1), 0x1122334455667788ull, sg_arg_f(-2.5),
                                 sg_arg_i(INT64_MAX)));
    sg_call("seen_f(f)v", SG_ARGS(f));
    int64_t i = sg_res_i(sg_call("neg()i", NULL, 0));
    sg_call("seen_i(i)v", SG_ARGS(sg_arg_i(i)));
    void *ptr = sg_res_p(sg_call("ptr()p", NULL, 0));
    sg_call("seen_p(p)v", SG_ARGS(sg_arg_p(ptr)));
    sg_call("nothing()v", NULL, 0);
    sg_call("done(i)v", SG_ARGS(sg_arg_i(1)));
}

static void test_request_encodes_every_argument_and_result_kind(void **state)
{
    (void)state;
    /* -1, a pointer, -2.5 (0xc004000000000000), INT64_MAX, all little-endian. */
    static const unsigned char want[] = {
        0x0c, 'k', 'i', 'n', 'd', 's', '(', 'i', 'p', 'f', 'i', ')', 'f',
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    };
    struct peer p;
    peer_start_fn(&p, guest_every_kind);
    unsigned char got[sizeof want];
    peer_recv(&p, got, sizeof got);
    assert_memory_equal(got, want, sizeof want);
    /* An f result: 0.1's exact bits must come back. */
    const uint64_t tenth = 0x3fb999999999999aull;
    peer_result(&p, 'f', tenth);
    struct peer_req r;
    peer_expect(&p, &r, "seen_f(f)v");
    assert_int_equal(r.args[0], tenth);
    peer_result(&p, 'v', 0);
    /* An i result with the sign bit: the program sees -5. */
    unsigned char noarg[7];
    peer_recv(&p, noarg, sizeof noarg);
    assert_memory_equal(noarg, "\x06neg()i", 7);
    peer_result(&p, 'i', (uint64_t)-5);
    peer_expect(&p, &r, "seen_i(i)v");
    assert_int_equal((int64_t)r.args[0], -5);
    peer_result(&p, 'v', 0);
    peer_expect(&p, &r, "ptr()p");
    assert_int_equal(r.nargs, 0);
    peer_result(&p, 'p', 0x7f00deadbeefull);
    peer_expect(&p, &r, "seen_p(p)v");
    assert_int_equal(r.args[0], 0x7f00deadbeefull);
    peer_result(&p, 'v', 0);
    peer_expect(&p, &r, "nothing()v");
    peer_result(&p, 'v', 0);
    peer_expect(&p, &r, "done(i)v");
    peer_result(&p, 'v', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
}

/* ---- memory commands --------------------------------------------------- */

static unsigned char pattern_byte(size_t i)
{
    return (unsigned char)(i * 7 + 3);
}

static void guest_give_big(void)
{
    sg_call("give(pi)i", SG_ARGS(sg_arg_p(g_big), MIB));
}

static void test_R_reads_zero_small_and_one_mib(void **state)
{
    (void)state;
    g_big = malloc(MIB);
    assert_non_null(g_big);
    for (size_t i = 0; i < MIB; i++)
        g_big[i] = pattern_byte(i);
    struct peer p;
    peer_start_fn(&p, guest_give_big);
    struct peer_req r;
    peer_expect(&p, &r, "give(pi)i");
    assert_int_equal(r.args[1], MIB);
    uint64_t ptr = r.args[0];
    unsigned char *buf = malloc(MIB);
    assert_non_null(buf);
    peer_cmd_R(&p, ptr, 0, buf); /* nothing comes back for 0 bytes... */
    peer_cmd_R(&p, ptr + 10, 5, buf); /* ...so these 5 are the next command's */
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(buf[i], pattern_byte(10 + i));
    peer_cmd_R(&p, ptr, MIB, buf);
    assert_memory_equal(buf, g_big, MIB);
    peer_result(&p, 'i', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
    free(buf);
    free(g_big);
}

static void guest_give_string(void)
{
    static const char s[] = "hello, world";
    sg_call("str(p)i", SG_ARGS(sg_arg_p(s)));
}

static void test_Z_reads_strings_with_and_without_maxlen(void **state)
{
    (void)state;
    struct peer p;
    peer_start_fn(&p, guest_give_string);
    struct peer_req r;
    peer_expect(&p, &r, "str(p)i");
    char s[64];
    assert_int_equal(peer_cmd_Z(&p, r.args[0], 5, s, sizeof s), 5);
    assert_string_equal(s, "hello");
    assert_int_equal(peer_cmd_Z(&p, r.args[0], (uint64_t)-1, s, sizeof s), 12);
    assert_string_equal(s, "hello, world");
    assert_int_equal(peer_cmd_Z(&p, r.args[0], 100, s, sizeof s), 12);
    assert_string_equal(s, "hello, world");
    assert_int_equal(peer_cmd_Z(&p, r.args[0], 0, s, sizeof s), 0);
    assert_string_equal(s, "");
    assert_int_equal(peer_cmd_Z(&p, r.args[0] + 7, (uint64_t)-1, s, sizeof s), 5);
    assert_string_equal(s, "world");
    peer_result(&p, 'i', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
}

static void guest_give_long_string(void)
{
    sg_call("str(p)i", SG_ARGS(sg_arg_p(g_big)));
}

static void test_Z_reads_a_long_string(void **state)
{
    (void)state;
    const size_t n = 300000;
    g_big = malloc(n + 1);
    assert_non_null(g_big);
    for (size_t i = 0; i < n; i++)
        g_big[i] = (unsigned char)('a' + i % 26);
    g_big[n] = '\0';
    struct peer p;
    peer_start_fn(&p, guest_give_long_string);
    struct peer_req r;
    peer_expect(&p, &r, "str(p)i");
    char *s = malloc(n + 1);
    assert_non_null(s);
    assert_int_equal(peer_cmd_Z(&p, r.args[0], (uint64_t)-1, s, n + 1), n);
    assert_memory_equal(s, g_big, n);
    assert_int_equal(peer_cmd_Z(&p, r.args[0] + 1, 504, s, n + 1), 504); /* one write */
    assert_memory_equal(s, g_big + 1, 504);
    assert_int_equal(peer_cmd_Z(&p, r.args[0] + 2, 505, s, n + 1), 505); /* two writes */
    assert_memory_equal(s, g_big + 2, 505);
    peer_result(&p, 'i', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
    free(s);
    free(g_big);
}

static void guest_fill_then_show(void)
{
    sg_call("fill(pi)i", SG_ARGS(sg_arg_p(g_big), MIB));
    sg_call("show(pi)v", SG_ARGS(sg_arg_p(g_big), MIB));
}

static void test_W_writes_guest_memory(void **state)
{
    (void)state;
    g_big = calloc(1, MIB);
    assert_non_null(g_big);
    unsigned char *data = malloc(MIB);
    assert_non_null(data);
    for (size_t i = 0; i < MIB; i++)
        data[i] = pattern_byte(i);
    struct peer p;
    peer_start_fn(&p, guest_fill_then_show);
    struct peer_req r;
    peer_expect(&p, &r, "fill(pi)i");
    uint64_t ptr = r.args[0];
    peer_cmd_W(&p, ptr, data, MIB);
    peer_cmd_W(&p, ptr + 2, "abcd", 4);
    peer_cmd_W(&p, ptr + 9, "", 0);
    peer_result(&p, 'i', 0);
    peer_expect(&p, &r, "show(pi)v");
    assert_int_equal(r.args[0], ptr);
    unsigned char *back = malloc(MIB);
    assert_non_null(back);
    peer_cmd_R(&p, ptr, MIB, back);
    memcpy(data + 2, "abcd", 4);
    assert_memory_equal(back, data, MIB);
    peer_result(&p, 'v', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
    free(back);
    free(data);
    free(g_big);
}

static void guest_home_then_release(void)
{
    char *home = sg_res_p(sg_call("home()p", NULL, 0));
    int same = home && memcmp(home, "abcdef", 6) == 0;
    sg_call("check(pi)v", SG_ARGS(sg_arg_p(home), sg_arg_i(same)));
    sg_call("release(p)v", SG_ARGS(sg_arg_p(home)));
}

static void test_M_then_F_allocates_and_frees_guest_blocks(void **state)
{
    (void)state;
    unsigned char *big = malloc(MIB);
    assert_non_null(big);
    for (size_t i = 0; i < MIB; i++)
        big[i] = pattern_byte(i);
    struct peer p;
    peer_start_fn(&p, guest_home_then_release);
    struct peer_req r;
    peer_expect(&p, &r, "home()p");
    uint64_t a = peer_cmd_M(&p, "abcdef", 6);
    assert_true(a != 0);
    char six[6];
    peer_cmd_R(&p, a, 6, six);
    assert_memory_equal(six, "abcdef", 6);
    uint64_t empty = peer_cmd_M(&p, "", 0);
    assert_true(empty != 0 && empty != a);
    uint64_t b = peer_cmd_M(&p, big, MIB);
    unsigned char *back = malloc(MIB);
    assert_non_null(back);
    peer_cmd_R(&p, b, MIB, back);
    assert_memory_equal(back, big, MIB);
    peer_cmd_F(&p, empty);
    peer_cmd_F(&p, b);
    peer_result(&p, 'p', a);
    peer_expect(&p, &r, "check(pi)v");
    assert_int_equal(r.args[0], a);
    assert_int_equal(r.args[1], 1);
    peer_result(&p, 'v', 0);
    peer_expect(&p, &r, "release(p)v");
    peer_cmd_F(&p, a);
    peer_result(&p, 'v', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0); /* a bad free would abort (and ASan would say so) */
    assert_string_equal(e.err, "");
    free(e.err);
    free(back);
    free(big);
}

/* ---- errno ---------------------------------------------------------------- */

static void guest_errno_cases(void)
{
    static const char *const sigs[] = { "fail()i", "ok()i", "twice()i", "mem(p)i" };
    static char scratch[16];
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        errno = 7;
        int64_t r = k == 3 ? sg_res_i(sg_call(sigs[k], SG_ARGS(sg_arg_p(scratch))))
                           : sg_res_i(sg_call(sigs[k], NULL, 0));
        int seen = errno;
        sg_call("errno(ii)v", SG_ARGS(sg_arg_i(r), sg_arg_i(seen)));
    }
}

static void expect_errno_report(struct peer *p, int64_t result, int64_t err)
{
    struct peer_req r;
    peer_expect(p, &r, "errno(ii)v");
    assert_int_equal((int64_t)r.args[0], result);
    assert_int_equal((int64_t)r.args[1], err);
    peer_result(p, 'v', 0);
}

static void test_E_sets_errno_and_errno_is_restored_without_E(void **state)
{
    (void)state;
    struct peer p;
    peer_start_fn(&p, guest_errno_cases);
    struct peer_req r;
    peer_expect(&p, &r, "fail()i");
    peer_cmd_E(&p, 13);
    peer_result(&p, 'i', (uint64_t)-1);
    expect_errno_report(&p, -1, 13);

    peer_expect(&p, &r, "ok()i"); /* no E: the program's errno (7) survives */
    peer_result(&p, 'i', 0);
    expect_errno_report(&p, 0, 7);

    peer_expect(&p, &r, "twice()i"); /* the last E wins */
    peer_cmd_E(&p, 2);
    peer_cmd_E(&p, 5);
    peer_result(&p, 'i', (uint64_t)-1);
    expect_errno_report(&p, -1, 5);

    peer_expect(&p, &r, "mem(p)i"); /* memory commands in between do not matter */
    peer_cmd_E(&p, 22);
    peer_cmd_W(&p, r.args[0], "xy", 2);
    char xy[2];
    peer_cmd_R(&p, r.args[0], 2, xy);
    assert_memory_equal(xy, "xy", 2);
    peer_result(&p, 'i', (uint64_t)-1);
    expect_errno_report(&p, -1, 22);

    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
}

/* ---- fatal cases, on a real (unsanitized) example guest ------------------ */

static void start_ping1(struct peer *p)
{
    const char *argv[] = { tu_guest("ping"), "1", NULL };
    peer_start_exec(p, argv, (char *const[]){ NULL });
    struct peer_req r;
    peer_expect(p, &r, "getpid()i");
}

static void expect_abort(struct peer *p)
{
    struct peer_end e = peer_finish(p);
    assert_int_equal(e.status, 128 + SIGABRT);
    if (strncmp(e.err, "sandbox:", 8) != 0)
        fail_msg("stderr does not start with 'sandbox:': '%s'", e.err);
    assert_non_null(strchr(e.err, '\n'));
    free(e.err);
}

static void test_wrong_result_kind_aborts(void **state)
{
    (void)state;
    static const char kinds[] = { 'p', 'f', 'v' };
    for (size_t k = 0; k < sizeof kinds; k++) {
        struct peer p;
        start_ping1(&p);
        peer_result(&p, kinds[k], 0);
        expect_abort(&p);
    }
}

static void test_unknown_opcode_aborts(void **state)
{
    (void)state;
    static const char ops[] = { 'X', 'r', '\0', 'I' };
    for (size_t k = 0; k < sizeof ops; k++) {
        struct peer p;
        start_ping1(&p);
        peer_send(&p, &ops[k], 1);
        expect_abort(&p);
    }
}

static void test_stdin_closed_aborts(void **state)
{
    (void)state;
    struct peer p;
    start_ping1(&p); /* closed before any command */
    expect_abort(&p);
    start_ping1(&p); /* closed in the middle of a result */
    peer_send(&p, "i\x01\x02\x03", 4);
    expect_abort(&p);
    start_ping1(&p); /* closed in the middle of a W payload */
    peer_send(&p, "W", 1);
    peer_send_u64(&p, 0x1000);
    peer_send_u64(&p, 100);
    expect_abort(&p);
}

static void test_R_W_Z_on_a_bad_address_crash_the_guest(void **state)
{
    (void)state;
    static const char ops[] = { 'R', 'W', 'Z' };
    static const uint64_t sizes[] = { 8, 1u << 20 };
    for (size_t k = 0; k < sizeof ops; k++) {
        for (size_t s = 0; s < 2; s++) {
            struct peer p;
            start_ping1(&p);
            peer_send(&p, &ops[k], 1);
            peer_send_u64(&p, 0x10);
            peer_send_u64(&p, sizes[s]);
            if (ops[k] == 'W') {
                /* the payload, sent best-effort: the guest dies while reading */
                static char zeros[4096];
                peer_send(&p, zeros, sizeof zeros < sizes[s] ? sizeof zeros : sizes[s]);
            }
            struct peer_end e = peer_finish(&p);
            if (e.status != 128 + SIGSEGV)
                fail_msg("%c of %llu bytes at 0x10: status %d, want SIGSEGV", ops[k],
                         (unsigned long long)sizes[s], e.status);
            free(e.err);
        }
    }
}

/* ---- raw access and misuse ------------------------------------------------ */

static void guest_raw(void)
{
    /* A hand-made request, then the ordinary command loop for it. */
    static const unsigned char req[] = { 9, 'g', 'e', 't', 'p', 'i', 'd', '(', ')', 'i' };
    if (sg_raw_write(req, sizeof req) != 0)
        _exit(3);
    errno = 0;
    uint64_t r = sg_raw_serve('i');
    int seen = errno;
    /* Then raw bytes both ways: 3 bytes in, echoed back reversed. */
    unsigned char in[3];
    if (sg_raw_read(in, 3) != 3)
        _exit(4);
    unsigned char out[3] = { in[2], in[1], in[0] };
    sg_raw_write(out, 3);
    sg_call("seen(ii)v", SG_ARGS(r, sg_arg_i(seen)));
    /* At end of file sg_raw_read returns short, without aborting. */
    unsigned char rest[8];
    size_t n = sg_raw_read(rest, sizeof rest);
    _exit(n == 2 ? 0 : 5);
}

static void test_raw_write_read_and_serve(void **state)
{
    (void)state;
    struct peer p;
    peer_start_fn(&p, guest_raw);
    struct peer_req r;
    peer_expect(&p, &r, "getpid()i");
    peer_cmd_E(&p, 3);
    peer_result(&p, 'i', 99);
    peer_send(&p, "abc", 3);
    char back[3];
    peer_recv(&p, back, 3);
    assert_memory_equal(back, "cba", 3);
    peer_expect(&p, &r, "seen(ii)v");
    assert_int_equal(r.args[0], 99);
    assert_int_equal(r.args[1], 3);
    peer_result(&p, 'v', 0);
    peer_send(&p, "xy", 2);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
}

static char g_longname[300];

static void guest_largest_request(void)
{
    /* 255 bytes of text and 32 arguments: exactly the 512-byte buffer. */
    memset(g_longname, 'n', sizeof g_longname);
    memcpy(g_longname + 255 - 35, "(", 1);
    memset(g_longname + 255 - 34, 'i', 32);
    memcpy(g_longname + 255 - 2, ")i", 2);
    g_longname[255] = '\0';
    uint64_t args[32];
    for (size_t i = 0; i < 32; i++)
        args[i] = i + 1;
    sg_call(g_longname, args, 32);
}

static void test_largest_request_is_one_512_byte_write(void **state)
{
    (void)state;
    struct peer p;
    peer_start_fn(&p, guest_largest_request);
    struct peer_req r;
    peer_recv_request(&p, &r);
    assert_int_equal(r.len, 255);
    assert_int_equal(r.nargs, 32);
    for (size_t i = 0; i < 32; i++)
        assert_int_equal(r.args[i], i + 1);
    peer_result(&p, 'i', 0);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
}

static void guest_too_many_args(void)
{
    uint64_t args[33] = { 0 };
    char sig[64] = "f(";
    memset(sig + 2, 'i', 33);
    memcpy(sig + 35, ")i", 3);
    sg_call(sig, args, 33);
}

static void guest_wrong_arg_count(void)
{
    sg_call("open(pii)i", SG_ARGS(0, 0));
}

static void guest_bad_kind(void)
{
    sg_call("f(x)i", SG_ARGS(0));
}

static void guest_bad_result_kind(void)
{
    sg_call("f(i)q", SG_ARGS(0));
}

static void test_misused_sg_call_aborts_without_sending(void **state)
{
    (void)state;
    void (*const fns[])(void) = { guest_too_many_args, guest_wrong_arg_count, guest_bad_kind,
                                  guest_bad_result_kind };
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
        struct peer p;
        peer_start_fn(&p, fns[k]);
        char c;
        assert_int_equal(peer_recv_some(&p, &c, 1), 0); /* nothing was sent */
        expect_abort(&p);
    }
}

static int qsort_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_sort_strings_orders_like_strcmp(void **state)
{
    (void)state;
    enum { N = 3000 };
    static char store[N][8];
    const char *v[N], *ref[N];
    static const size_t sizes[] = { 0, 1, 2, 3, 10, 129, N };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint32_t x = 12345;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            snprintf(store[i], sizeof store[i], "%u", (x >> 16) % 500); /* duplicates too */
            v[i] = ref[i] = store[i];
        }
        sg_sort_strings(v, n);
        qsort(ref, n, sizeof ref[0], qsort_cmp);
        for (size_t i = 0; i < n; i++)
            assert_string_equal(v[i], ref[i]);
    }
}

/* ---- dump mode ------------------------------------------------------------ */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *expected_dump(void)
{
    const char *sorted[SG_SIG_COUNT];
    memcpy(sorted, sg_signatures, sizeof sorted);
    qsort(sorted, SG_SIG_COUNT, sizeof sorted[0], str_cmp);
    size_t cap = 64 + 256 * SG_SIG_COUNT, off = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    off += (size_t)snprintf(s, cap, "Version: 20001\nPlatform: linux\nFuncs:");
    for (size_t i = 0; i < SG_SIG_COUNT; i++)
        off += (size_t)snprintf(s + off, cap - off, " %s", sorted[i]);
    snprintf(s + off, cap - off, "\n");
    return s;
}

static void test_dump_lists_exactly_the_runtime_signatures_sorted(void **state)
{
    (void)state;
    char *want = expected_dump();
    static const char *const guests[] = { "hello", "ping", "allcalls", "cat" };
    for (size_t g = 0; g < sizeof guests / sizeof guests[0]; g++) {
        const char *argv[] = { tu_guest(guests[g]), "1", NULL };
        char *env[] = { "RPY_SANDBOX_DUMP=1", NULL };
        struct tu_run r = tu_run_env(argv, NULL, 0, env);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, want);
        assert_string_equal(r.err, "");
        tu_run_release(&r);
    }
    free(want);
}

static void test_signature_table_is_sorted_unique_and_has_the_required_calls(void **state)
{
    (void)state;
    for (size_t i = 1; i < SG_SIG_COUNT; i++)
        if (strcmp(sg_signatures[i - 1], sg_signatures[i]) >= 0)
            fail_msg("table not in byte order at '%s'", sg_signatures[i]);
    static const char *const required[] = {
        "open(pii)i", "read(ipi)i", "write(ipi)i", "close(i)i", "lseek(iii)i", "stat64(pp)i",
        "lstat64(pp)i", "fstat64(ip)i", "access(pi)i", "getcwd(pi)p", "opendir(p)p",
        "readdir(p)p", "closedir(p)i", "time(p)i", "gettimeofday(pp)i", "clock_gettime(ip)i",
        "getpid()i", "getuid()i", "get_environ()p", "getenv(p)p", "isatty(i)i", "_exit(i)v",
        "pread(ipii)i", "openat(ipii)i", "fstatat64(ippi)i", "fdopendir(i)p", "dirfd(p)i",
        "readlink(ppi)i", "unlink(p)i", "mkdir(pi)i", "rmdir(p)i", "rename(pp)i",
        "ftruncate(ii)i", "uname(p)i", "getppid()i", "getgid()i", "geteuid()i", "getegid()i",
        "getresuid(ppp)i", "getresgid(ppp)i", "getgroups(ip)i", "clock()i", "times(p)i",
        "_pypy_init_home()p", "_pypy_init_free(p)v", "rpy_cpu_count()i", "sched_yield()i",
        "ctermid(p)p", "fcntl(iii)i", "dup(i)i", "fork()i",
    };
    for (size_t k = 0; k < sizeof required / sizeof required[0]; k++) {
        size_t i = 0;
        while (i < SG_SIG_COUNT && strcmp(sg_signatures[i], required[k]) != 0)
            i++;
        if (i == SG_SIG_COUNT)
            fail_msg("the runtime lacks '%s'", required[k]);
    }
}

/* Every signature must be spelled exactly as a real PyPy build spells it; the
 * lists live in shared/ beside the source tree (skipped when absent). */
static void test_signature_table_matches_real_pypy_spellings(void **state)
{
    (void)state;
    static const char *const files[] = { ST_SOURCE_DIR "/../shared/signatures-pypy3.txt",
                                         ST_SOURCE_DIR "/../shared/signatures-pypy2.txt" };
    char *all = calloc(1, 2);
    size_t len = 1;
    all[0] = '\n';
    for (size_t f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp) {
            free(all);
            skip();
        }
        char line[512];
        while (fgets(line, sizeof line, fp))
            tu__append(&all, &len, line, strlen(line));
        fclose(fp);
    }
    for (size_t i = 0; i < SG_SIG_COUNT; i++) {
        char needle[300];
        snprintf(needle, sizeof needle, "\n%s\n", sg_signatures[i]);
        if (!strstr(all, needle))
            fail_msg("'%s' is not a real PyPy signature", sg_signatures[i]);
    }
    free(all);
}

static void test_empty_dump_variable_is_not_dump_mode(void **state)
{
    (void)state;
    const char *argv[] = { tu_guest("hello"), NULL };
    char *env[] = { "RPY_SANDBOX_DUMP=", NULL };
    struct tu_run r = tu_run_env(argv, NULL, 0, env);
    /* A normal run: the first request goes out, then stdin is closed. */
    assert_int_equal(r.status, 128 + SIGABRT);
    assert_non_null(strstr(r.out, "write(ipi)i"));
    assert_null(strstr(r.out, "Version:"));
    assert_int_equal(strncmp(r.err, "sandbox:", 8), 0);
    tu_run_release(&r);
}

int main(void)
{
    alarm(300); /* last resort: no test may hang CI */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_bytes_match_protocol_example),
        cmocka_unit_test(test_request_encodes_every_argument_and_result_kind),
        cmocka_unit_test(test_R_reads_zero_small_and_one_mib),
        cmocka_unit_test(test_Z_reads_strings_with_and_without_maxlen),
        cmocka_unit_test(test_Z_reads_a_long_string),
        cmocka_unit_test(test_W_writes_guest_memory),
        cmocka_unit_test(test_M_then_F_allocates_and_frees_guest_blocks),
        cmocka_unit_test(test_E_sets_errno_and_errno_is_restored_without_E),
        cmocka_unit_test(test_wrong_result_kind_aborts),
        cmocka_unit_test(test_unknown_opcode_aborts),
        cmocka_unit_test(test_stdin_closed_aborts),
        cmocka_unit_test(test_R_W_Z_on_a_bad_address_crash_the_guest),
        cmocka_unit_test(test_raw_write_read_and_serve),
        cmocka_unit_test(test_largest_request_is_one_512_byte_write),
        cmocka_unit_test(test_misused_sg_call_aborts_without_sending),
        cmocka_unit_test(test_sort_strings_orders_like_strcmp),
        cmocka_unit_test(test_dump_lists_exactly_the_runtime_signatures_sorted),
        cmocka_unit_test(test_signature_table_is_sorted_unique_and_has_the_required_calls),
        cmocka_unit_test(test_signature_table_matches_real_pypy_spellings),
        cmocka_unit_test(test_empty_dump_variable_is_not_dump_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
