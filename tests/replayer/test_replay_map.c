/* The replayer's pointer map: recorded -> live guest addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "replayer/replay_map.h"

static void test_map_unknown_address_is_identity(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    enum rp_map_how how;
    assert_int_equal(rp_map_translate(&m, 0x1234, &how), 0x1234);
    assert_int_equal(how, RP_MAP_IDENTITY);
    assert_int_equal(rp_map_translate(&m, 0, &how), 0);
    rp_map_release(&m);
}

static void test_map_block_maps_every_byte_by_offset(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    assert_int_equal(rp_map_learn(&m, 0x1000, 0x9000, 0x100, RP_MAP_BLOCK), 0);
    enum rp_map_how how;
    assert_int_equal(rp_map_translate(&m, 0x1000, &how), 0x9000);
    assert_int_equal(how, RP_MAP_EXACT);
    assert_int_equal(rp_map_translate(&m, 0x10ff, &how), 0x90ff);
    assert_int_equal(how, RP_MAP_EXACT);
    uint64_t live;
    assert_int_equal(rp_map_in_block(&m, 0x1080, &live), 1);
    assert_int_equal(live, 0x9080);
    /* One past the end is not in the block (only near it). */
    assert_int_equal(rp_map_in_block(&m, 0x1100, &live), 0);
    assert_int_equal(rp_map_translate(&m, 0x1100, &how), 0x9100);
    assert_int_equal(how, RP_MAP_NEAREST);
    rp_map_release(&m);
}

static void test_map_freed_block_is_forgotten(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    rp_map_learn(&m, 0x1000, 0x9000, 16, RP_MAP_BLOCK);
    rp_map_forget_block(&m, 0x1000);
    uint64_t live;
    assert_int_equal(rp_map_in_block(&m, 0x1000, &live), 0);
    /* A block handed out again at the same recorded address maps anew. */
    rp_map_learn(&m, 0x1000, 0x7000, 16, RP_MAP_BLOCK);
    assert_int_equal(rp_map_in_block(&m, 0x1004, &live), 1);
    assert_int_equal(live, 0x7004);
    rp_map_release(&m);
}

static void test_map_argument_with_size_maps_its_buffer(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    rp_map_learn(&m, 0x5000, 0x6000, 144, RP_MAP_ARG);
    enum rp_map_how how;
    assert_int_equal(rp_map_translate(&m, 0x5000 + 48, &how), 0x6000 + 48);
    assert_int_equal(how, RP_MAP_EXACT);
    /* The same recorded pointer seen again with another live value: the
     * latest wins, and the size learnt before is kept. */
    rp_map_learn(&m, 0x5000, 0x6100, 0, RP_MAP_ARG);
    assert_int_equal(rp_map_translate(&m, 0x5000 + 8, &how), 0x6100 + 8);
    assert_int_equal(how, RP_MAP_EXACT);
    rp_map_release(&m);
}

static void test_map_block_wins_over_argument(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    rp_map_learn(&m, 0x1000, 0x2000, 0x40, RP_MAP_ARG);
    rp_map_learn(&m, 0x1000, 0x3000, 0x40, RP_MAP_BLOCK);
    assert_int_equal(rp_map_translate(&m, 0x1010, NULL), 0x3010);
    rp_map_release(&m);
}

static void test_map_nearest_base_is_bounded(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    rp_map_learn(&m, 0x100000, 0x200000, 0, RP_MAP_ARG);
    enum rp_map_how how;
    assert_int_equal(rp_map_translate(&m, 0x100010, &how), 0x200010);
    assert_int_equal(how, RP_MAP_NEAREST);
    /* Below the base, or beyond RP_MAP_NEAR above it: identity. */
    assert_int_equal(rp_map_translate(&m, 0x0ffff0, &how), 0x0ffff0);
    assert_int_equal(how, RP_MAP_IDENTITY);
    assert_int_equal(rp_map_translate(&m, 0x100000 + RP_MAP_NEAR, &how), 0x100000 + RP_MAP_NEAR);
    assert_int_equal(how, RP_MAP_IDENTITY);
    rp_map_release(&m);
}

static void test_map_patches_pointers_to_moved_blocks_only(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    uint64_t words[4] = { 0x1008, 0x4242, 0, 0x2000 };
    /* Nothing moved: nothing changes. */
    rp_map_learn(&m, 0x2000, 0x2000, 8, RP_MAP_BLOCK);
    assert_int_equal(rp_map_patch_words(&m, (uint8_t *)words, sizeof words), 0);
    rp_map_learn(&m, 0x1000, 0x8000, 16, RP_MAP_BLOCK);
    assert_int_equal(rp_map_patch_words(&m, (uint8_t *)words, sizeof words), 1);
    assert_int_equal(words[0], 0x8008);
    assert_int_equal(words[1], 0x4242);
    assert_int_equal(words[2], 0);
    assert_int_equal(words[3], 0x2000);
    rp_map_release(&m);
}

static void test_map_is_capped(void **state)
{
    (void)state;
    struct rp_map m;
    rp_map_init(&m);
    for (uint64_t i = 1; i <= RP_MAP_MAX + 100; i++)
        assert_int_equal(rp_map_learn(&m, i * 0x100000, i * 0x100000 + 8, 0, RP_MAP_ARG), 0);
    assert_true(m.n <= RP_MAP_MAX);
    /* The newest are kept. */
    assert_int_equal(rp_map_translate(&m, (RP_MAP_MAX + 100) * 0x100000ull, NULL),
                     (RP_MAP_MAX + 100) * 0x100000ull + 8);
    rp_map_release(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_unknown_address_is_identity),
        cmocka_unit_test(test_map_block_maps_every_byte_by_offset),
        cmocka_unit_test(test_map_freed_block_is_forgotten),
        cmocka_unit_test(test_map_argument_with_size_maps_its_buffer),
        cmocka_unit_test(test_map_block_wins_over_argument),
        cmocka_unit_test(test_map_nearest_base_is_bounded),
        cmocka_unit_test(test_map_patches_pointers_to_moved_blocks_only),
        cmocka_unit_test(test_map_is_capped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
