/* The pipe floor of `make bench` exchanges exactly the bytes of one trivial
 * request and its result: what a real guest sends for getpid()i, and what
 * it accepts as the answer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_floor.h"
#include "guest/sandbox_guest.h"
#include "tests/guest/guest_peer.h"

static void guest_calls_getpid_once(void)
{
    pid_t pid = sg_getpid();
    _exit(pid == 4242 ? 0 : 1);
}

static void test_floor_request_is_the_bytes_a_guest_sends_for_getpid(void **state)
{
    (void)state;
    unsigned char req[ST_WIRE_MAX_REQUEST], res[BENCH_FLOOR_RESULT_LEN];
    int len = bench_floor_request(req, sizeof req);
    assert_int_equal(len, 10); /* 1 length byte + "getpid()i" */
    bench_floor_result(res, 4242);

    struct peer p;
    peer_start_fn(&p, guest_calls_getpid_once);
    unsigned char got[10];
    peer_recv(&p, got, sizeof got);
    assert_memory_equal(got, req, 10);
    /* The floor's result is a complete answer: the guest returns its value
     * and sends nothing more. */
    peer_send(&p, res, sizeof res);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
}

static void test_ping_guest_sends_only_floor_requests_until_its_line(void **state)
{
    (void)state;
    unsigned char req[ST_WIRE_MAX_REQUEST], res[BENCH_FLOOR_RESULT_LEN];
    int len = bench_floor_request(req, sizeof req);
    assert_true(len > 0);
    bench_floor_result(res, 7);
    const char *argv[] = { tu_build_path("guests/ping"), "3", NULL };
    struct peer p;
    peer_start_exec(&p, argv, NULL);
    for (int i = 0; i < 3; i++) {
        unsigned char got[ST_WIRE_MAX_REQUEST];
        peer_recv(&p, got, (size_t)len);
        assert_memory_equal(got, req, (size_t)len);
        peer_send(&p, res, sizeof res);
    }
    struct peer_req r;
    peer_expect(&p, &r, "write(ipi)i");
    char *out = NULL;
    size_t out_len = 0;
    peer_answer_write(&p, &r, &out, &out_len);
    assert_string_equal(out, "ping: 3 requests, pid sum 21\n");
    free(out);
    struct peer_end e = peer_finish_clean(&p);
    assert_int_equal(e.status, 0);
    free(e.err);
}

int main(void)
{
    alarm(120); /* last resort: no test may hang */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floor_request_is_the_bytes_a_guest_sends_for_getpid),
        cmocka_unit_test(test_ping_guest_sends_only_floor_requests_until_its_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
