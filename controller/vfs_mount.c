/* The virtual file system: mounts of real directories (every real access
 * goes through vfs_mount_open()). See vfs.c and vfs_int.h. */
#include "controller/vfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ mounts */

static int mount_visible(const struct mount *m, const char *rel, const char *name)
{
    if (name[0] == '.' && !m->show_dotfiles)
        return 0;
    for (size_t i = 0; i < m->n_exclude; i++) {
        const char *p = m->exclude[i];
        if (strchr(p, '/') ? fnmatch(p, rel, FNM_PATHNAME) == 0 : fnmatch(p, name, 0) == 0)
            return 0;
    }
    return 1;
}

/* Opens `rel` (no "." or ".." components, no symlinks expected) below the
 * mount root with `flags`, one component at a time and never following a
 * symlink. Returns an fd or a negative errno. */
int vfs_mount_open(const struct mount *m, const char *rel, int flags)
{
    if (rel[0] == '\0') {
        int fd = openat(m->rootfd, ".", flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
    }
    int cur = m->rootfd;
    const char *p = rel;
    for (;;) {
        const char *slash = strchr(p, '/');
        char comp[ST_VFS_NAME_MAX + 1];
        size_t l = slash ? (size_t)(slash - p) : strlen(p);
        if (l == 0 || l > ST_VFS_NAME_MAX) {
            if (cur != m->rootfd)
                close(cur);
            return ST_VFS_EINVAL;
        }
        memcpy(comp, p, l);
        comp[l] = '\0';
        int fl = slash ? O_PATH | O_DIRECTORY : flags;
        int fd = openat(cur, comp, fl | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        if (cur != m->rootfd)
            close(cur);
        if (fd < 0)
            return -e;
        if (!slash)
            return fd;
        cur = fd;
        p = slash + 1;
    }
}

static char *rel_join(const char *rel, const char *name)
{
    size_t a = strlen(rel), b = strlen(name);
    char *r = malloc(a + b + 2);
    if (!r)
        return NULL;
    if (a) {
        memcpy(r, rel, a);
        r[a++] = '/';
    }
    memcpy(r + a, name, b + 1);
    return r;
}

unsigned vfs_real_perm(mode_t m)
{
    return (m & 0111) ? 0755 : 0644;
}

/* The child `name` of the mount directory `dir`: from the cache, or looked
 * up in the real directory and cached. `parent_fd` is dir's real directory
 * when the caller has it open, else -1. */
int vfs_mount_child_at(struct st_vfs *vfs, struct node *dir, const char *name, int parent_fd,
                       struct node **out)
{
    struct mount *m = dir->mnt;
    /* A cached child passed the visibility test when it was added (the
     * mount's exclusions never change): no path to build, no pattern to
     * match again on the way of every lookup. */
    struct node *k = vfs_kid_find(dir, name);
    if (k) {
        *out = k;
        return 0;
    }
    char *rel = rel_join(dir->rel, name);
    if (!rel)
        return ST_VFS_ENOMEM;
    if (!mount_visible(m, rel, name)) {
        free(rel);
        return ST_VFS_ENOENT;
    }
    int dfd = parent_fd >= 0 ? parent_fd : vfs_mount_open(m, dir->rel, O_PATH | O_DIRECTORY);
    if (dfd < 0) {
        free(rel);
        return dfd == -ENOTDIR || dfd == -ELOOP ? ST_VFS_ENOENT : dfd;
    }
    struct stat st;
    int rc = 0;
    char target[PATH_MAX];
    ssize_t tl = -1;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        rc = -errno;
    else if (S_ISLNK(st.st_mode)) {
        tl = readlinkat(dfd, name, target, sizeof target - 1);
        if (tl < 0)
            rc = -errno;
        else
            target[tl] = '\0';
    }
    if (dfd != parent_fd)
        close(dfd);
    if (rc < 0) {
        free(rel);
        return rc == -ENOTDIR ? ST_VFS_ENOENT : rc;
    }
    enum node_type type;
    if (S_ISREG(st.st_mode))
        type = N_FILE;
    else if (S_ISDIR(st.st_mode))
        type = N_DIR;
    else if (S_ISLNK(st.st_mode))
        type = N_LINK;
    else {
        free(rel); /* fifos, sockets, devices: not part of the view */
        return ST_VFS_ENOENT;
    }
    k = vfs_node_new(vfs, type, ORIG_MOUNT, name);
    if (!k) {
        free(rel);
        return ST_VFS_ENOMEM;
    }
    k->mnt = m;
    k->rel = rel;
    if (type == N_FILE) {
        k->size = st.st_size;
        k->perm = vfs_real_perm(st.st_mode);
    } else if (type == N_LINK) {
        k->perm = 0777;
        k->link = vfs_dup_str(target);
        if (!k->link) {
            vfs_node_destroy(vfs, k);
            return ST_VFS_ENOMEM;
        }
    }
    rc = vfs_kid_add(dir, k);
    if (rc < 0) {
        vfs_node_destroy(vfs, k);
        return rc;
    }
    *out = k;
    return 0;
}

static int mount_child(struct st_vfs *vfs, struct node *dir, const char *name, struct node **out)
{
    return vfs_mount_child_at(vfs, dir, name, -1, out);
}

int vfs_lookup_child(struct st_vfs *vfs, struct node *dir, const char *name, struct node **out)
{
    if (dir->origin == ORIG_MOUNT)
        return mount_child(vfs, dir, name, out);
    *out = vfs_kid_find(dir, name);
    return *out ? 0 : ST_VFS_ENOENT;
}

/* Frees a mount (closing its directory); accepts NULL. */
void vfs_mount_free(struct mount *m)
{
    if (!m)
        return;
    if (m->rootfd >= 0)
        close(m->rootfd);
    free(m->real);
    for (size_t j = 0; j < m->n_exclude; j++)
        free(m->exclude[j]);
    free(m->exclude);
    free(m);
}

/* A mount of the real directory `real_dir` with the options `o`: its
 * directory open, its canonical path, its exclusions copied. */
int vfs_mount_new(const char *real_dir, const struct st_mount_options *o, struct mount **out)
{
    *out = NULL;
    int fd = open(real_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct mount *m = calloc(1, sizeof *m);
    if (!m) {
        close(fd);
        return ST_VFS_ENOMEM;
    }
    m->rootfd = fd;
    m->show_dotfiles = o->show_dotfiles;
    m->follow_symlinks = o->follow_symlinks;
    int rc = 0;
    if (!(m->real = realpath(real_dir, NULL)))
        rc = -errno;
    else if (o->n_exclude && !(m->exclude = calloc(o->n_exclude, sizeof *m->exclude)))
        rc = ST_VFS_ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->n_exclude; i++) {
        m->exclude[i] = o->exclude[i] ? vfs_dup_str(o->exclude[i]) : NULL;
        m->n_exclude = i + 1;
        if (!m->exclude[i])
            rc = o->exclude[i] ? ST_VFS_ENOMEM : ST_VFS_EINVAL;
    }
    if (rc < 0) {
        vfs_mount_free(m);
        return rc;
    }
    *out = m;
    return 0;
}
