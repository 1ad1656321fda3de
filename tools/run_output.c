/* Output files that replace their target only when complete (tools/run_output.h). */
#include "tools/run_output.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The mode a new file gets: 0666 under the umask, as open(O_CREAT) gives. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

static int fail(const char *prog, const char *path, int err)
{
    fprintf(stderr, "sandtrace %s: cannot write '%s': %s\n", prog, path, strerror(err));
    return -1;
}

int run_output_open(struct run_output *o, const char *prog, const char *path)
{
    o->path = path;
    o->tmp = NULL;
    o->fd = -1;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return fail(prog, path, EISDIR);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
        return o->fd < 0 ? fail(prog, path, errno) : 0;
    }
    /* DIR/.NAME.XXXXXX beside the target: the rename stays in one file system. */
    char *copy = strdup(path), *copy2 = strdup(path);
    if (!copy || !copy2 || asprintf(&o->tmp, "%s/.%s.XXXXXX", dirname(copy), basename(copy2)) < 0)
        o->tmp = NULL;
    free(copy);
    free(copy2);
    if (!o->tmp)
        return fail(prog, path, ENOMEM);
    o->fd = mkostemp(o->tmp, O_CLOEXEC);
    if (o->fd < 0) {
        int err = errno;
        free(o->tmp);
        o->tmp = NULL;
        return fail(prog, path, err);
    }
    fchmod(o->fd, new_file_mode());
    return 0;
}

int run_output_place(struct run_output *o, const char *prog)
{
    if (!o->tmp)
        return 0;
    if (rename(o->tmp, o->path) < 0) {
        fprintf(stderr, "sandtrace %s: cannot replace '%s': %s (the output is in '%s')\n", prog,
                o->path, strerror(errno), o->tmp);
        return -1;
    }
    free(o->tmp);
    o->tmp = NULL;
    return 0;
}

int run_output_commit(struct run_output *o, const char *prog)
{
    if (o->fd >= 0) {
        int rc = close(o->fd);
        o->fd = -1;
        if (rc < 0) {
            int err = errno;
            run_output_discard(o);
            return fail(prog, o->path, err);
        }
    }
    return run_output_place(o, prog);
}

void run_output_discard(struct run_output *o)
{
    if (o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp) {
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
}

int run_output_check_dir(const char *prog, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return fail(prog, path, ENOTDIR);
        if (access(path, W_OK | X_OK) < 0)
            return fail(prog, path, errno);
        return 0;
    }
    if (errno != ENOENT)
        return fail(prog, path, errno);
    char *copy = strdup(path);
    if (!copy)
        return fail(prog, path, ENOMEM);
    int rc = access(dirname(copy), W_OK | X_OK);
    int err = errno;
    free(copy);
    return rc < 0 ? fail(prog, path, err) : 0;
}
