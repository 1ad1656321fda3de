/* ls DIR: opendir/readdir/closedir, prints the names (without . and ..)
 * sorted, one per line. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LS_MAX_ENTRIES 100000

int main(int argc, char **argv)
{
    if (argc != 2) {
        sg_eprintf("usage: ls DIR\n");
        return 2;
    }
    SG_DIR *d = sg_opendir(argv[1]);
    if (!d) {
        sg_eprintf("ls: cannot open directory '%s': %s\n", argv[1], strerror(errno));
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = sg_readdir(d)) != NULL) {
        /* The controller owns the dirent; copy the name (bounded). */
        char name[sizeof e->d_name + 1];
        memcpy(name, e->d_name, sizeof e->d_name);
        name[sizeof e->d_name] = '\0';
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        if (n == LS_MAX_ENTRIES) {
            sg_eprintf("ls: '%s' has more than %d entries\n", argv[1], LS_MAX_ENTRIES);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn)
                return 1;
            names = nn;
        }
        names[n] = strdup(name);
        if (!names[n])
            return 1;
        n++;
    }
    sg_closedir(d);
    sg_sort_strings((const char **)names, n);
    for (size_t i = 0; i < n; i++) {
        sg_printf("%s\n", names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}
