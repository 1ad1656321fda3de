/* clock: prints the virtual time (time, gettimeofday, clock_gettime) and pid. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <string.h>

int main(void)
{
    time_t t2 = 0;
    time_t t = sg_time(&t2);
    sg_printf("time: %lld (stored %lld)\n", (long long)t, (long long)t2);

    struct timeval tv = { 0, 0 };
    if (sg_gettimeofday(&tv, NULL) == 0)
        sg_printf("gettimeofday: %lld.%06lld\n", (long long)tv.tv_sec, (long long)tv.tv_usec);
    else
        sg_printf("gettimeofday: error %s\n", strerror(errno));

    static const struct { clockid_t id; const char *name; } clocks[] = {
        { CLOCK_REALTIME, "realtime" },
        { CLOCK_MONOTONIC, "monotonic" },
    };
    for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
        struct timespec ts = { 0, 0 };
        if (sg_clock_gettime(clocks[i].id, &ts) == 0)
            sg_printf("clock_gettime %s: %lld.%09lld\n", clocks[i].name, (long long)ts.tv_sec,
                      (long long)ts.tv_nsec);
        else
            sg_printf("clock_gettime %s: error %s\n", clocks[i].name, strerror(errno));
    }
    sg_printf("pid: %lld\n", (long long)sg_getpid());
    return 0;
}
