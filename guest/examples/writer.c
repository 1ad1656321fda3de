/* writer N SIZE: N write(1, buf, SIZE) requests (continued when short). */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WRITER_MAX_SIZE (64LL << 20)

int main(int argc, char **argv)
{
    char *e1 = NULL, *e2 = NULL;
    long long n = argc == 3 ? strtoll(argv[1], &e1, 10) : -1;
    long long size = argc == 3 ? strtoll(argv[2], &e2, 10) : -1;
    if (argc != 3 || *e1 || *e2 || n < 0 || size < 0 || size > WRITER_MAX_SIZE) {
        sg_eprintf("usage: writer N SIZE (SIZE at most %lld)\n", WRITER_MAX_SIZE);
        return 2;
    }
    char *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return 1;
    static const char pattern[] = "0123456789abcdefghijklmnopqrstuvwxyz\n";
    for (long long i = 0; i < size; i++)
        buf[i] = pattern[i % (long long)(sizeof pattern - 1)];
    for (long long i = 0; i < n; i++) {
        if (sg_write_all(1, buf, (size_t)size) < 0) {
            sg_eprintf("writer: cannot write: %s\n", strerror(errno));
            free(buf);
            return 1;
        }
    }
    free(buf);
    return 0;
}
