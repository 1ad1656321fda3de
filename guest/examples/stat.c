/* stat [-l] PATH...: stat64 (or lstat64 with -l) and the fields a controller
 * fills in, one line per path. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <string.h>

static const char *type_name(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFREG: return "file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symlink";
    case S_IFIFO: return "fifo";
    case S_IFCHR: return "chardev";
    case S_IFBLK: return "blockdev";
    case S_IFSOCK: return "socket";
    default: return "unknown";
    }
}

int main(int argc, char **argv)
{
    int first = 1, use_lstat = 0;
    if (argc > 1 && !strcmp(argv[1], "-l")) {
        use_lstat = 1;
        first = 2;
    }
    if (first >= argc) {
        sg_eprintf("usage: stat [-l] PATH...\n");
        return 2;
    }
    int rc = 0;
    for (int i = first; i < argc; i++) {
        struct stat st;
        memset(&st, 0, sizeof st);
        int r = use_lstat ? sg_lstat64(argv[i], &st) : sg_stat64(argv[i], &st);
        if (r != 0) {
            sg_eprintf("stat: cannot stat '%s': %s\n", argv[i], strerror(errno));
            rc = 1;
            continue;
        }
        sg_printf("%s: type=%s mode=%04o size=%lld nlink=%llu uid=%u gid=%u ino=%llu "
                  "mtime=%lld.%09ld\n",
                  argv[i], type_name(st.st_mode), (unsigned)(st.st_mode & 07777),
                  (long long)st.st_size, (unsigned long long)st.st_nlink, (unsigned)st.st_uid,
                  (unsigned)st.st_gid, (unsigned long long)st.st_ino, (long long)st.st_mtim.tv_sec,
                  (long)st.st_mtim.tv_nsec);
    }
    return rc;
}
