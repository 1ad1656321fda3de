/* The virtual file system: path resolution and the current directory.
 * See vfs.c and vfs_int.h. */
#include "controller/vfs_int.h"

#include <stdio.h>
#include <string.h>

/* -------------------------------------------------------- resolution */

static struct node *get_cwd(struct st_vfs *vfs);

/* Follows the mount symlink `l`; *out gets what it points to. */
int vfs_follow_link(struct st_vfs *vfs, struct node *l, int *hops, struct node **out)
{
    struct mount *m = l->mnt;
    if (!m->follow_symlinks)
        return ST_VFS_EACCES;
    if (++*hops > ST_VFS_SYMLINK_HOPS)
        return ST_VFS_ELOOP;
    /* The mount's root node: climb from the link while the parent is in the
     * same mount (a mount root's rel is ""). */
    struct node *root = l->parent;
    while (root && root->rel && root->rel[0] != '\0')
        root = root->parent;
    if (!root || !l->parent)
        return ST_VFS_ENOENT;
    const char *target = l->link;
    struct node *start = l->parent;
    if (target[0] == '/') {
        size_t rl = strlen(m->real);
        if (rl == 1) /* the mount is the real root: every absolute target is inside */
            rl = 0;
        if (strncmp(target, m->real, rl) != 0 || (target[rl] != '/' && target[rl] != '\0'))
            return ST_VFS_EACCES;
        target += rl;
        while (*target == '/')
            target++;
        start = root;
        if (*target == '\0') {
            *out = root;
            return 0;
        }
    }
    struct walk w;
    int rc = vfs_walk_path(vfs, start, target, 1, root, hops, &w);
    if (rc < 0)
        return rc;
    if (!w.node)
        return ST_VFS_ENOENT;
    *out = w.node;
    return 0;
}

/* Copies the next component of the path at *p (after any slashes) into
 * comp and moves *p past it. Returns its length, 0 at the end of the path,
 * or ST_VFS_ENAMETOOLONG for a name over ST_VFS_NAME_MAX bytes. */
int vfs_path_next_component(const char **p, char comp[ST_VFS_NAME_MAX + 1])
{
    const char *s = *p;
    while (*s == '/')
        s++;
    *p = s;
    if (*s == '\0')
        return 0;
    const char *e = strchr(s, '/');
    size_t l = e ? (size_t)(e - s) : strlen(s);
    if (l > ST_VFS_NAME_MAX)
        return ST_VFS_ENAMETOOLONG;
    memcpy(comp, s, l);
    comp[l] = '\0';
    *p = s + l;
    return (int)l;
}

/* Where a walk stands: `node` (NULL: missing) named `name` in `parent`. */
static void walk_at(struct walk *w, struct node *parent, struct node *node, int dot,
                    const char *name)
{
    w->parent = parent;
    w->node = node;
    w->last_dot = dot;
    /* A component (at most ST_VFS_NAME_MAX bytes, like w->name): copied,
     * not printed, as this runs for every component of every path. */
    size_t l = strnlen(name, sizeof w->name - 1);
    memcpy(w->name, name, l);
    w->name[l] = '\0';
}

/* Resolves `path` from `start` (absolute paths from the root). With
 * `confine` (a mount root), `..` may not climb above it (EACCES). On success
 * w->parent is set; w->node is NULL when only the last component is
 * missing. */
int vfs_walk_path(struct st_vfs *vfs, struct node *start, const char *path, int follow_last,
                  struct node *confine, int *hops, struct walk *w)
{
    memset(w, 0, sizeof *w);
    if (path[0] == '\0')
        return ST_VFS_ENOENT;
    size_t plen = strlen(path);
    if (plen >= ST_VFS_PATH_MAX)
        return ST_VFS_ENAMETOOLONG;
    struct node *cur = start;
    if (path[0] == '/')
        cur = vfs->root;
    if (!cur)
        return ST_VFS_ENOENT;
    w->trailing_slash = plen > 1 && path[plen - 1] == '/';
    const char *p = path;
    walk_at(w, cur->parent ? cur->parent : cur, cur, 1, ".");
    for (;;) {
        char comp[ST_VFS_NAME_MAX + 1];
        int l = vfs_path_next_component(&p, comp);
        if (l < 0)
            return l;
        if (l == 0)
            break;
        const char *rest = p;
        while (*rest == '/')
            rest++;
        int last = *rest == '\0';
        if (cur->type != N_DIR)
            return ST_VFS_ENOTDIR;
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
            if (comp[1] == '.') {
                if (cur == confine)
                    return ST_VFS_EACCES;
                if (cur->parent)
                    cur = cur->parent;
            }
            walk_at(w, cur->parent ? cur->parent : cur, cur, 1, comp);
            continue;
        }
        struct node *k = NULL;
        int rc = vfs_lookup_child(vfs, cur, comp, &k);
        if (rc == ST_VFS_ENOENT && last) {
            walk_at(w, cur, NULL, 0, comp);
            return 0;
        }
        if (rc < 0)
            return rc;
        if (k->type == N_LINK && (!last || follow_last || w->trailing_slash)) {
            struct node *t;
            rc = vfs_follow_link(vfs, k, hops, &t);
            if (rc < 0)
                return rc;
            k = t;
            if (last) {
                /* the link's own parent and name, for callers that create */
                walk_at(w, k->parent ? k->parent : k, k, 0, k->name);
                cur = k;
                break;
            }
        }
        walk_at(w, cur, k, 0, comp);
        cur = k;
    }
    if (w->trailing_slash && w->node && w->node->type != N_DIR)
        return ST_VFS_ENOTDIR;
    return 0;
}

/* The directory relative paths start from: the cwd or a directory fd. */
static int base_dir(struct st_vfs *vfs, int dirfd, const char *path, struct node **out)
{
    if (path[0] == '/') {
        *out = vfs->root;
        return 0;
    }
    if (dirfd == ST_VFS_AT_FDCWD) {
        *out = get_cwd(vfs);
        return *out ? 0 : ST_VFS_ENOENT;
    }
    struct node *n = vfs_fd_node(vfs, dirfd);
    if (!n)
        return ST_VFS_EBADF;
    if (n->type != N_DIR)
        return ST_VFS_ENOTDIR;
    *out = n;
    return 0;
}

int vfs_resolve(struct st_vfs *vfs, int dirfd, const char *path, int follow_last, struct walk *w)
{
    if (!path)
        return ST_VFS_EINVAL;
    if (path[0] == '\0')
        return ST_VFS_ENOENT;
    struct node *start;
    int rc = base_dir(vfs, dirfd, path, &start);
    if (rc < 0)
        return rc;
    int hops = 0;
    return vfs_walk_path(vfs, start, path, follow_last, NULL, &hops, w);
}

/* Resolves an existing node. */
int vfs_resolve_node(struct st_vfs *vfs, int dirfd, const char *path, int follow_last,
                     struct node **out)
{
    struct walk w;
    int rc = vfs_resolve(vfs, dirfd, path, follow_last, &w);
    if (rc < 0)
        return rc;
    if (!w.node)
        return ST_VFS_ENOENT;
    *out = w.node;
    return 0;
}

static struct node *get_cwd(struct st_vfs *vfs)
{
    if (!vfs->cwd && vfs->cwd_path) {
        struct walk w;
        int hops = 0;
        if (vfs_walk_path(vfs, vfs->root, vfs->cwd_path, 1, NULL, &hops, &w) == 0 && w.node &&
            w.node->type == N_DIR) {
            vfs->cwd = w.node;
            vfs_node_ref(vfs->cwd);
        }
    }
    return vfs->cwd;
}

/* -------------------------------------------------------------- cwd */

static int set_cwd(struct st_vfs *vfs, struct node *n)
{
    if (n->type != N_DIR)
        return ST_VFS_ENOTDIR;
    vfs_node_ref(n);
    vfs_node_unref(vfs, vfs->cwd);
    vfs->cwd = n;
    return 0;
}

int st_vfs_chdir(struct st_vfs *vfs, const char *path)
{
    struct node *n;
    int rc = vfs_resolve_node(vfs, ST_VFS_AT_FDCWD, path, 1, &n);
    if (rc < 0)
        return rc;
    return set_cwd(vfs, n);
}

int st_vfs_fchdir(struct st_vfs *vfs, int fd)
{
    struct node *n = vfs_fd_node(vfs, fd);
    if (!n)
        return vfs_fd_get(vfs, fd) ? ST_VFS_ENOTDIR : ST_VFS_EBADF;
    return set_cwd(vfs, n);
}

long st_vfs_getcwd(struct st_vfs *vfs, char *buf, size_t n)
{
    struct node *c = get_cwd(vfs);
    if (!c)
        return ST_VFS_ENOENT;
    if (n == 0)
        return ST_VFS_EINVAL;
    return vfs_node_path(c, buf, n);
}
