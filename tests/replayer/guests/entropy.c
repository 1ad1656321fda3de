/* entropy: a guest whose output depends on everything replay must not
 * need: the time, /dev/urandom and its standard input. It prints the time
 * (time and gettimeofday), 16 random bytes in hex, and what came on stdin. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

int main(void)
{
    sg_printf("time: %lld\n", (long long)sg_time(NULL));
    struct timeval tv = { 0, 0 };
    if (sg_gettimeofday(&tv, NULL) == 0)
        sg_printf("gettimeofday: %lld.%06lld\n", (long long)tv.tv_sec, (long long)tv.tv_usec);
    int fd = sg_open("/dev/urandom", O_RDONLY, 0);
    if (fd < 0) {
        sg_eprintf("entropy: cannot open /dev/urandom: %s\n", strerror(errno));
        return 1;
    }
    unsigned char rnd[16];
    ssize_t got = sg_read(fd, rnd, sizeof rnd);
    sg_close(fd);
    sg_printf("random:");
    for (ssize_t i = 0; i < got; i++)
        sg_printf(" %02x", rnd[i]);
    sg_printf("\n");
    char buf[1024];
    size_t total = 0;
    ssize_t n;
    while ((n = sg_read(0, buf, sizeof buf)) > 0) {
        sg_printf("stdin: ");
        sg_write_all(1, buf, (size_t)n);
        total += (size_t)n;
    }
    sg_printf("stdin bytes: %zu\n", total);
    return 0;
}
