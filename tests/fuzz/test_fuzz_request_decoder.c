/* fuzz_request_decoder built and run in `make test` (so that it keeps
 * compiling): well-formed requests, each cut at every length and with
 * every byte flipped, and 3 000 random streams through the target (whose
 * checks abort when a decoded request breaks the protocol's limits or
 * does not re-encode to its bytes), under the sanitizers in `make check`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_request_decoder_one
#include "tests/fuzz/fuzz_request_decoder.c"
#undef LLVMFuzzerTestOneInput

#include "tests/prng.h"

static void test_requests_cut_and_flipped(void **state)
{
    (void)state;
    /* write(1, p, 3) as PROTOCOL.md spells it, then getpid(). */
    static const uint8_t good[] = {
        0x0b, 'w', 'r', 'i', 't', 'e', '(', 'i', 'p', 'i', ')', 'i',
        1, 0, 0, 0, 0, 0, 0, 0,
        0x00, 0x10, 0, 0, 0, 0x7f, 0, 0,
        3, 0, 0, 0, 0, 0, 0, 0,
        0x09, 'g', 'e', 't', 'p', 'i', 'd', '(', ')', 'i',
    };
    uint8_t d[sizeof good];
    for (size_t i = 0; i <= sizeof good; i++)
        assert_int_equal(fuzz_request_decoder_one(good, i), 0);
    for (size_t i = 0; i < sizeof good; i++)
        for (unsigned bit = 0; bit < 8; bit++) {
            memcpy(d, good, sizeof good);
            d[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(fuzz_request_decoder_one(d, sizeof d), 0);
        }
}

static void test_random_streams(void **state)
{
    (void)state;
    static uint8_t in[1024];
    uint64_t x = 0x0ddba11deadbeefull;
    for (int i = 0; i < 3000; i++) {
        size_t n = tu_random_bytes(in, sizeof in, &x);
        if (n)
            in[0] %= 40; /* a text length a request may have */
        assert_int_equal(fuzz_request_decoder_one(in, n), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests_cut_and_flipped),
        cmocka_unit_test(test_random_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
