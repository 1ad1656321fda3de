/* importer ROOT [ROUNDS]: walks ROOT the way PyPy's import system reads a
 * library tree, ROUNDS times (default 1). For each directory: opendir,
 * readdir, closedir, names sorted. For each entry NAME with base B (NAME
 * without its extension): stat64 of the candidates PyPy probes
 * (DIR/B/__init__.py, DIR/B.pypy36-pp73-x86_64-linux-gnu.so, DIR/B.so,
 * DIR/B.py); most fail with ENOENT. Then, for a regular file: open,
 * fstat64, read in 8192-byte chunks until 0, close. Subdirectories are
 * walked in turn. Prints one summary line per round. */
#include "guest/sandbox_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMP_MAX_DEPTH 32
#define IMP_MAX_ENTRIES 100000
#define IMP_PATH_MAX 4096

struct imp_stats {
    long long dirs, files, bytes, probes, probe_hits, errors;
};

static char **list_dir(const char *dir, size_t *count, struct imp_stats *s)
{
    *count = 0;
    SG_DIR *d = sg_opendir(dir);
    if (!d) {
        s->errors++;
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = sg_readdir(d)) != NULL && n < IMP_MAX_ENTRIES) {
        char name[sizeof e->d_name + 1];
        memcpy(name, e->d_name, sizeof e->d_name);
        name[sizeof e->d_name] = '\0';
        if (!strcmp(name, ".") || !strcmp(name, "..") || !name[0])
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(name)))
            break;
        n++;
    }
    sg_closedir(d);
    sg_sort_strings((const char **)names, n);
    *count = n;
    return names;
}

static void read_file(const char *path, struct imp_stats *s)
{
    int fd = sg_open(path, O_RDONLY, 0666);
    if (fd < 0) {
        s->errors++;
        return;
    }
    struct stat st;
    if (sg_fstat64(fd, &st) != 0)
        s->errors++;
    static char buf[8192];
    for (;;) {
        ssize_t n = sg_read(fd, buf, sizeof buf);
        if (n <= 0) {
            if (n < 0)
                s->errors++;
            break;
        }
        s->bytes += n;
    }
    sg_close(fd);
    s->files++;
}

static void walk(const char *dir, int depth, struct imp_stats *s)
{
    if (depth > IMP_MAX_DEPTH)
        return;
    size_t n;
    char **names = list_dir(dir, &n, s);
    s->dirs++;
    static const char *const suffixes[] = { "/__init__.py", ".pypy36-pp73-x86_64-linux-gnu.so",
                                            ".so", ".py" };
    for (size_t i = 0; i < n; i++) {
        char base[256];
        snprintf(base, sizeof base, "%s", names[i]);
        char *dot = strrchr(base, '.');
        if (dot && dot != base)
            *dot = '\0';
        char path[IMP_PATH_MAX];
        struct stat st;
        for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
            if (snprintf(path, sizeof path, "%s/%s%s", dir, base, suffixes[k]) >= (int)sizeof path)
                continue;
            s->probes++;
            if (sg_stat64(path, &st) == 0)
                s->probe_hits++;
        }
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) {
            s->errors++;
        } else if (sg_stat64(path, &st) != 0) {
            s->errors++;
        } else if (S_ISDIR(st.st_mode)) {
            walk(path, depth + 1, s);
        } else if (S_ISREG(st.st_mode)) {
            read_file(path, s);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    long rounds = 1;
    if (argc == 3) {
        char *end;
        rounds = strtol(argv[2], &end, 10);
        if (*end || rounds < 0)
            argc = 0;
    }
    if (argc != 2 && argc != 3) {
        sg_eprintf("usage: importer ROOT [ROUNDS]\n");
        return 2;
    }
    for (long r = 1; r <= rounds; r++) {
        struct imp_stats s = { 0 };
        walk(argv[1], 0, &s);
        sg_printf("importer: round %ld: %lld dirs, %lld files, %lld bytes, %lld probes "
                  "(%lld found), %lld errors\n",
                  r, s.dirs, s.files, s.bytes, s.probes, s.probe_hits, s.errors);
    }
    return 0;
}
