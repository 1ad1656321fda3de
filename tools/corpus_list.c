/* The traces of a many-trace command: see corpus_list.h. */
#include "tools/corpus_list.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/st_buf.h"

static int push(struct corpus_list *l, char *p)
{
    char **np = st_grow(l->paths, &l->cap, l->n + 1, sizeof *np, 64, SIZE_MAX);
    if (!np) {
        free(p);
        errno = ENOMEM;
        return -1;
    }
    l->paths = np;
    l->paths[l->n++] = p;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int corpus_list_add(struct corpus_list *l, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        char *p = strdup(path);
        if (!p) {
            errno = ENOMEM;
            return -1;
        }
        return push(l, p);
    }
    DIR *d = opendir(path);
    if (!d)
        return -1;
    size_t first = l->n;
    size_t plen = strlen(path);
    const char *sep = plen && path[plen - 1] == '/' ? "" : "/";
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".sbt") != 0)
            continue;
        char *p = malloc(plen + strlen(sep) + n + 1);
        if (!p) {
            errno = ENOMEM;
            rc = -1;
            break;
        }
        memcpy(p, path, plen);
        memcpy(p + plen, sep, strlen(sep));
        memcpy(p + plen + strlen(sep), e->d_name, n + 1);
        if ((rc = push(l, p)) < 0)
            break;
    }
    int saved = errno;
    closedir(d);
    errno = saved;
    if (l->n > first)
        qsort(l->paths + first, l->n - first, sizeof *l->paths, cmp_str);
    return rc;
}

void corpus_list_release(struct corpus_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->n = l->cap = 0;
}
