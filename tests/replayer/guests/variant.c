/* variant FILE: a guest built in several variants from this one source, for
 * the replayer's divergence tests. The base variant prints FILE's contents
 * and then "done"; each other variant changes exactly one thing:
 *
 *   -DVARIANT_BYTE   prints "dona" instead of "done" (a different byte)
 *   -DVARIANT_OPEN   opens FILE with ".other" appended (another file)
 *   -DVARIANT_EXTRA  makes one more call (getpid) before printing "done"
 *   -DVARIANT_FEWER  leaves out the close() after reading */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        sg_eprintf("usage: variant FILE\n");
        return 2;
    }
    char path[512];
#ifdef VARIANT_OPEN
    snprintf(path, sizeof path, "%s.other", argv[1]);
#else
    snprintf(path, sizeof path, "%s", argv[1]);
#endif
    int fd = sg_open(path, O_RDONLY, 0);
    if (fd < 0) {
        sg_eprintf("variant: cannot open '%s': %s\n", path, strerror(errno));
        return 1;
    }
    char buf[4096];
    ssize_t n;
    while ((n = sg_read(fd, buf, sizeof buf)) > 0)
        sg_write_all(1, buf, (size_t)n);
#ifndef VARIANT_FEWER
    sg_close(fd);
#endif
#ifdef VARIANT_EXTRA
    (void)sg_getpid();
#endif
#ifdef VARIANT_BYTE
    sg_printf("dona\n");
#else
    sg_printf("done\n");
#endif
    return 0;
}
