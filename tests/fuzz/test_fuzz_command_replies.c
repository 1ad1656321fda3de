/* fuzz_command_replies (the handlers against a guest whose replies to R, Z
 * and M lie) built and run in `make test`, so that the target keeps
 * compiling as the session changes (it once stopped: the wire had moved
 * into the guest link) and its worst known inputs stay harmless: each goes
 * through the target, whose own checks abort on a broken invariant, under
 * the sanitizers in `make check`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_command_replies_one
#include "tests/fuzz/fuzz_command_replies.c"
#undef LLVMFuzzerTestOneInput

#include "tests/prng.h"

/* Input: ncalls, then per call a signature id and its arguments, then the
 * guest's replies (the target's header says so). */
struct input {
    uint8_t b[4096];
    size_t n;
};

static void put(struct input *in, const void *p, size_t n)
{
    assert_true(in->n + n <= sizeof in->b);
    memcpy(in->b + in->n, p, n);
    in->n += n;
}

static void put_u64(struct input *in, uint64_t v)
{
    put(in, &v, 8);
}

static void put_call(struct input *in, enum st_sig_id id, const uint64_t *args, unsigned nargs)
{
    uint8_t w[2] = { (uint8_t)(id & 0xff), (uint8_t)(id >> 8) };
    put(in, w, 2);
    for (unsigned i = 0; i < nargs; i++)
        put_u64(in, args[i]);
}

static void run(const struct input *in)
{
    assert_int_equal(fuzz_command_replies_one(in->b, in->n), 0);
}

/* stat64(path, buf): the path is read with Z, whose length the guest
 * gives. */
static void stat_with_z_reply(uint64_t len, const char *bytes, size_t nbytes)
{
    struct input in = { .n = 0 };
    uint8_t one = 1;
    put(&in, &one, 1);
    const uint64_t args[2] = { 0x1000, 0x2000 };
    put_call(&in, ST_SIG_stat64, args, 2);
    put_u64(&in, len);
    put(&in, bytes, nbytes);
    run(&in);
}

static void test_z_lengths_that_lie(void **state)
{
    (void)state;
    stat_with_z_reply(4, "/tmp", 4);                 /* an honest one */
    stat_with_z_reply(1ull << 40, "/tmp", 4);        /* far past maxlen */
    stat_with_z_reply(UINT64_MAX, "", 0);            /* -1 */
    stat_with_z_reply(100, "/tmp", 4);               /* the stream ends first */
    stat_with_z_reply(0, "", 0);                     /* an empty path */
    stat_with_z_reply(5, "/t\0mp", 5);               /* a NUL inside */
}

static void test_a_stream_cut_anywhere(void **state)
{
    (void)state;
    /* open, read and write in a row, their replies cut at every length. */
    struct input full = { .n = 0 };
    uint8_t three = 3;
    put(&full, &three, 1);
    const uint64_t open_args[3] = { 0x1000, 0, 0 };
    const uint64_t read_args[3] = { 3, 0x3000, 64 };
    const uint64_t write_args[3] = { 1, 0x4000, 16 };
    put_call(&full, ST_SIG_open, open_args, 3);
    put_call(&full, ST_SIG_read, read_args, 3);
    put_call(&full, ST_SIG_write, write_args, 3);
    size_t head = full.n;
    put_u64(&full, 9);
    put(&full, "/tmp/file", 9);
    put(&full, "sixteen bytes!!!", 16);
    for (size_t cut = head; cut <= full.n; cut++) {
        struct input in = full;
        in.n = cut;
        run(&in);
    }
}

static void test_generated_inputs(void **state)
{
    (void)state;
    /* Random calls of random signatures with random replies, as the
     * fuzzer would start: the same 3 000 each time. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 3000; i++) {
        struct input in;
        in.n = 1 + tu_random_bytes(in.b + 1, 1500, &x);
        in.b[0] = (uint8_t)(tu_xorshift64(&x) % 8); /* a few calls, so that replies are reached */
        run(&in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_z_lengths_that_lie),
        cmocka_unit_test(test_a_stream_cut_anywhere),
        cmocka_unit_test(test_generated_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
