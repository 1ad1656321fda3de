/* cat FILE...: open, read in 8192-byte chunks, write to stdout, close. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

static int cat_one(const char *path)
{
    int fd = sg_open(path, O_RDONLY, 0);
    if (fd < 0) {
        sg_eprintf("cat: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    static char buf[8192];
    int rc = 0;
    for (;;) {
        ssize_t n = sg_read(fd, buf, sizeof buf);
        if (n == 0)
            break;
        if (n < 0 || (size_t)n > sizeof buf) {
            sg_eprintf("cat: cannot read '%s': %s\n", path, n < 0 ? strerror(errno) : "bad count");
            rc = 1;
            break;
        }
        if (sg_write_all(1, buf, (size_t)n) < 0) {
            sg_eprintf("cat: cannot write: %s\n", strerror(errno));
            rc = 1;
            break;
        }
    }
    sg_close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        sg_eprintf("usage: cat FILE...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= cat_one(argv[i]);
    return rc;
}
