/* premain [FILE]: a guest whose code runs before main, the way a hostile
 * executable's .preinit_array function, an IFUNC resolver or a library
 * constructor would, to test that the jail is already there (issue #13,
 * holes 2 and 3). Before main it opens /etc/passwd (or FILE) directly and
 * reads from it, and, in dump mode (RPY_SANDBOX_DUMP set, which dump mode
 * reaches only through the first request), tries to create
 * ARGV0.dump-escape for writing (dump mode gets no arguments; a test runs a
 * copy of this guest from a directory of its own). main reports what the early open got through the protocol:
 *   "premain: direct open -1 read -1"  (the jail answered)
 * and exits 0. */
#include "guest/sandbox_guest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long early_fd = -2, early_read = -2;

static void premain_probe(int argc, char **argv, char **envp)
{
    const char *path = argc > 1 ? argv[1] : "/etc/passwd";
    char buf[64];
    early_fd = open(path, O_RDONLY);
    early_read = early_fd >= 0 ? (long)read((int)early_fd, buf, sizeof buf) : -1;
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, "RPY_SANDBOX_DUMP=", 17)) {
            char out[4096];
            snprintf(out, sizeof out, "%s.dump-escape", argv[0]);
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0)
                close(fd);
        }
}

__attribute__((section(".preinit_array"), used))
static void (*const premain_entry)(int, char **, char **) = premain_probe;

int main(int argc, char **argv)
{
    sg_printf("premain: direct open %ld read %ld\n", early_fd < 0 ? -1L : early_fd, early_read);
    return 0;
}
