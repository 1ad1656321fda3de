/* One CPU for a guest and its controller (controller/cpu_place.h): the
 * calling thread is pinned, the guest inherits the pin, several links of
 * one process spread over the CPUs, and the thread gets its own set back.
 * Where this machine lets the process run on one CPU only, the pinning
 * checks are skipped (saying so) and only "nothing pinned" is checked. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "controller/cpu_place.h"
#include "controller/guest_link.h"
#include "tests/testutil.h"

static cpu_set_t own_set(void)
{
    cpu_set_t s;
    assert_int_equal(pthread_getaffinity_np(pthread_self(), sizeof s, &s), 0);
    return s;
}

static int ncpus(void)
{
    cpu_set_t s = own_set();
    return CPU_COUNT(&s);
}

static void test_cpu_parse(void **state)
{
    (void)state;
    enum st_cpu_policy pol;
    int cpu = -7;
    assert_int_equal(st_cpu_parse("auto", &pol, &cpu), 0);
    assert_int_equal(pol, ST_CPU_SHARED);
    assert_int_equal(st_cpu_parse("any", &pol, &cpu), 0);
    assert_int_equal(pol, ST_CPU_ANY);
    assert_int_equal(st_cpu_parse("3", &pol, &cpu), 0);
    assert_int_equal(pol, ST_CPU_FIXED);
    assert_int_equal(cpu, 3);
    const char *bad[] = { "", "-1", "1x", "Auto", "99999", "0x1", " 1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (st_cpu_parse(bad[i], &pol, &cpu) != -1)
            fail_msg("'%s' was accepted", bad[i]);
}

static void test_cpu_nth_allowed_wraps_over_the_allowed_set(void **state)
{
    (void)state;
    cpu_set_t s = own_set();
    if (CPU_COUNT(&s) < 2) {
        assert_int_equal(st_cpu_nth_allowed(0), -1);
        print_message("skipped: this process may run on one CPU only\n");
        return;
    }
    for (size_t n = 0; n < 2u * (size_t)CPU_COUNT(&s); n++) {
        int c = st_cpu_nth_allowed(n);
        assert_true(c >= 0 && CPU_ISSET(c, &s));
        assert_int_equal(c, st_cpu_nth_allowed(n + (size_t)CPU_COUNT(&s)));
        if (n > 0)
            assert_int_not_equal(c, st_cpu_nth_allowed(n - 1));
    }
}

/* The choice: the lowest score among the allowed CPUs, equals taken from
 * the seed's position on, CPUs not allowed never. */
static void test_cpu_choose(void **state)
{
    (void)state;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(1, &s);
    CPU_SET(3, &s);
    CPU_SET(4, &s);
    static unsigned score[CPU_SETSIZE];
    memset(score, 0, sizeof score);
    /* All equal: the seed decides, over the allowed CPUs only. */
    assert_int_equal(st_cpu_choose(&s, score, 0), 1);
    assert_int_equal(st_cpu_choose(&s, score, 1), 3);
    assert_int_equal(st_cpu_choose(&s, score, 2), 4);
    assert_int_equal(st_cpu_choose(&s, score, 5), 4);
    /* The lowest score wins whatever the seed; a CPU not allowed never. */
    score[1] = 2;
    score[3] = 1;
    score[4] = 3;
    score[0] = 0;
    score[2] = 0;
    for (unsigned seed = 0; seed < 6; seed++)
        assert_int_equal(st_cpu_choose(&s, score, seed), 3);
    score[4] = 1; /* 3 and 4 equal: the first from the seed's position */
    assert_int_equal(st_cpu_choose(&s, score, 0), 3);
    assert_int_equal(st_cpu_choose(&s, score, 2), 4);
    CPU_ZERO(&s);
    assert_int_equal(st_cpu_choose(&s, score, 0), -1);
}

static void *pin_in_thread(void *arg)
{
    struct st_cpu_place *p = arg;
    if (st_cpu_pin(p, ST_CPU_SHARED, 0) != 0)
        p->cpu = -2;
    return NULL;
}

/* Two links of one process at once (two threads) are each pinned to a CPU
 * they may use (which ones depends on what else this machine has pinned:
 * test_cpu_choose checks the choice); releasing gives each thread its own
 * set back. */
static void test_cpu_pin_in_two_threads_and_restore(void **state)
{
    (void)state;
    cpu_set_t before = own_set();
    struct st_cpu_place a, b;
    assert_int_equal(st_cpu_pin(&a, ST_CPU_SHARED, 0), 0);
    if (CPU_COUNT(&before) < 2) {
        assert_int_equal(a.pinned, 0);
        print_message("skipped: this process may run on one CPU only\n");
        return;
    }
    assert_int_equal(a.pinned, 1);
    cpu_set_t now = own_set();
    assert_int_equal(CPU_COUNT(&now), 1);
    assert_true(CPU_ISSET(a.cpu, &now));
    /* Another thread, its own set whole, while a is held. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setaffinity_np(&attr, sizeof before, &before);
    pthread_t t;
    assert_int_equal(pthread_create(&t, &attr, pin_in_thread, &b), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    assert_int_equal(b.pinned, 1);
    assert_true(CPU_ISSET(b.cpu, &before));
    st_cpu_release(&a);
    now = own_set();
    assert_true(CPU_EQUAL(&before, &now));
    /* Released from this thread, b gives it b's saved set: the whole one
     * its thread was created with. */
    st_cpu_release(&b);
    now = own_set();
    assert_true(CPU_EQUAL(&before, &now));
}

static void test_cpu_pin_fixed_refuses_a_cpu_not_allowed(void **state)
{
    (void)state;
    cpu_set_t before = own_set();
    int outside = -1;
    for (int c = 0; c < CPU_SETSIZE && outside < 0; c++)
        if (!CPU_ISSET(c, &before))
            outside = c;
    struct st_cpu_place p;
    errno = 0;
    assert_int_equal(st_cpu_pin(&p, ST_CPU_FIXED, outside), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(p.pinned, 0);
    assert_int_equal(st_cpu_pin(&p, ST_CPU_FIXED, -1), -1);
    assert_int_equal(st_cpu_pin(&p, ST_CPU_FIXED, CPU_SETSIZE), -1);
    assert_false(st_cpu_allowed(outside));
    cpu_set_t after = own_set();
    assert_true(CPU_EQUAL(&before, &after));
    /* A zeroed place releases nothing. */
    struct st_cpu_place z;
    memset(&z, 0, sizeof z);
    st_cpu_release(&z);
    after = own_set();
    assert_true(CPU_EQUAL(&before, &after));
}

/* The CPUs the kernel lets process `pid` run on, from /proc. */
static void allowed_of(pid_t pid, char *dst, size_t cap)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    dst[0] = '\0';
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "Cpus_allowed_list:", 18)) {
            const char *v = line + 18;
            v += strspn(v, " \t");
            snprintf(dst, cap, "%.*s", (int)strcspn(v, "\n"), v);
        }
    fclose(f);
}

/* The guest of a link runs where the link's thread is pinned, from its
 * start; with ST_CPU_ANY it keeps the whole set. */
static void link_guest_placement(enum st_cpu_policy pol)
{
    static char *argv[] = { NULL, "stderr", "0", NULL };
    argv[0] = (char *)tu_build_path("testguests/tguest");
    cpu_set_t before = own_set();
    struct st_spawn_config sc;
    st_spawn_config_init(&sc);
    sc.path = argv[0];
    sc.argv = argv;
    sc.no_fs_jail = 1;
    sc.cpu_policy = pol;
    struct st_link l;
    assert_int_equal(st_link_start(&l, &sc, 60, NULL), 0);
    struct st_wire_request req;
    assert_int_equal(st_link_read_request(&l, &req), 0);
    char guest[128];
    allowed_of(l.child.pid, guest, sizeof guest);
    if (pol == ST_CPU_SHARED && CPU_COUNT(&before) >= 2) {
        char want[16];
        assert_int_equal(l.place.pinned, 1);
        snprintf(want, sizeof want, "%d", l.place.cpu);
        assert_string_equal(guest, want);
    } else {
        char own[128];
        allowed_of(getpid(), own, sizeof own);
        assert_int_equal(l.place.pinned, 0);
        assert_string_equal(guest, own);
    }
    assert_int_equal(st_link_result(&l, 'i', 1), 0);
    assert_int_equal(st_link_wait_end(&l), 1);
    st_link_close(&l);
    cpu_set_t after = own_set();
    assert_true(CPU_EQUAL(&before, &after));
}

static void test_link_guest_shares_the_pinned_cpu(void **state)
{
    (void)state;
    if (ncpus() < 2)
        print_message("skipped in part: this process may run on one CPU only\n");
    link_guest_placement(ST_CPU_SHARED);
}

static void test_link_guest_any_cpu_is_not_pinned(void **state)
{
    (void)state;
    link_guest_placement(ST_CPU_ANY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpu_parse),
        cmocka_unit_test(test_cpu_nth_allowed_wraps_over_the_allowed_set),
        cmocka_unit_test(test_cpu_choose),
        cmocka_unit_test(test_cpu_pin_in_two_threads_and_restore),
        cmocka_unit_test(test_cpu_pin_fixed_refuses_a_cpu_not_allowed),
        cmocka_unit_test(test_link_guest_shares_the_pinned_cpu),
        cmocka_unit_test(test_link_guest_any_cpu_is_not_pinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
