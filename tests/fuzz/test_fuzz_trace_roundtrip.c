/* fuzz_trace_roundtrip built and run in `make test` (so that it keeps
 * compiling): 1 500 generated event sequences through the target, which
 * checks that each reads back identically and verifies (its own checks
 * abort), under the sanitizers in `make check`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define LLVMFuzzerTestOneInput fuzz_trace_roundtrip_one
#include "tests/fuzz/fuzz_trace_roundtrip.c"
#undef LLVMFuzzerTestOneInput

#include "tests/prng.h"

static void test_generated_sequences(void **state)
{
    (void)state;
    static uint8_t in[2048];
    uint64_t x = 0xfeedfacecafebeefull;
    for (int i = 0; i < 1500; i++) {
        size_t n = tu_random_bytes(in, sizeof in, &x);
        assert_int_equal(fuzz_trace_roundtrip_one(in, n), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_sequences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
