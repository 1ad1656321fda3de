/* echo-stdin: copies the guest's stdin (read(0) requests) to its stdout. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <string.h>

int main(void)
{
    static char buf[65536];
    for (;;) {
        ssize_t n = sg_read(0, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0 || (size_t)n > sizeof buf) {
            sg_eprintf("echo-stdin: cannot read stdin: %s\n", n < 0 ? strerror(errno) : "bad count");
            return 1;
        }
        if (sg_write_all(1, buf, (size_t)n) < 0) {
            sg_eprintf("echo-stdin: cannot write: %s\n", strerror(errno));
            return 1;
        }
    }
}
