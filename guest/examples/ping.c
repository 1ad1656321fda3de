/* ping N: N trivial requests (getpid()i), then one line; for benchmarks. */
#include "guest/sandbox_guest.h"

#include <stdlib.h>

int main(int argc, char **argv)
{
    char *end;
    long long n = argc == 2 ? strtoll(argv[1], &end, 10) : -1;
    if (argc != 2 || *end || n < 0) {
        sg_eprintf("usage: ping N\n");
        return 2;
    }
    long long sum = 0;
    for (long long i = 0; i < n; i++)
        sum += sg_getpid();
    sg_printf("ping: %lld requests, pid sum %lld\n", n, sum);
    return 0;
}
