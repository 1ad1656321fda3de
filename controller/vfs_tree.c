/* The virtual file system: the node tree, /tmp data and the changes made
 * inside /tmp (mkdir, unlink, rmdir, rename). See vfs.c and vfs_int.h. */
#include "controller/vfs_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/st_buf.h"

/* ------------------------------------------------------------- nodes */

char *vfs_dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

struct node *vfs_node_new(struct st_vfs *vfs, enum node_type type, enum node_origin origin,
                          const char *name)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = vfs_dup_str(name);
    if (!n->name) {
        free(n);
        return NULL;
    }
    n->type = type;
    n->origin = origin;
    n->ino = vfs->next_ino++;
    n->perm = type == N_DIR ? 0755 : 0644;
    return n;
}

void vfs_node_ref(struct node *n)
{
    n->refs++;
}

void vfs_node_unref(struct st_vfs *vfs, struct node *n)
{
    if (n && --n->refs == 0)
        vfs_node_destroy(vfs, n);
}

/* Frees a node and, recursively, the children it still links. */
void vfs_node_destroy(struct st_vfs *vfs, struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        struct node *k = n->kids[i];
        k->parent = NULL;
        vfs_node_unref(vfs, k);
    }
    if (n->origin == ORIG_TMP) {
        uint64_t charge = ST_VFS_TMP_ENTRY_COST + (n->type == N_FILE ? (uint64_t)n->cap : 0);
        vfs->tmp_used = vfs->tmp_used >= charge ? vfs->tmp_used - charge : 0;
    }
    free(n->kids);
    free(n->name);
    free(n->rel);
    free(n->link);
    free(n->real_path);
    free(n->data);
    free(n);
}

static size_t kid_index(const struct node *dir, const char *name, int *found)
{
    size_t lo = 0, hi = dir->nkids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(dir->kids[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

struct node *vfs_kid_find(const struct node *dir, const char *name)
{
    int found;
    size_t i = kid_index(dir, name, &found);
    return found ? dir->kids[i] : NULL;
}

/* Links `k` (fresh, refs 0) under `dir`; the link holds one reference. */
int vfs_kid_add(struct node *dir, struct node *k)
{
    int found;
    size_t i = kid_index(dir, k->name, &found);
    if (found)
        return ST_VFS_EEXIST;
    struct node **nk = st_grow(dir->kids, &dir->capkids, dir->nkids + 1, sizeof *nk, 8, SIZE_MAX);
    if (!nk)
        return ST_VFS_ENOMEM;
    dir->kids = nk;
    memmove(dir->kids + i + 1, dir->kids + i, (dir->nkids - i) * sizeof *dir->kids);
    dir->kids[i] = k;
    dir->nkids++;
    k->parent = dir;
    vfs_node_ref(k);
    return 0;
}

/* Unlinks `k` from its parent without dropping the link's reference. */
void vfs_kid_detach(struct node *k)
{
    struct node *dir = k->parent;
    if (!dir)
        return;
    int found;
    size_t i = kid_index(dir, k->name, &found);
    if (found && dir->kids[i] == k) {
        memmove(dir->kids + i, dir->kids + i + 1, (dir->nkids - i - 1) * sizeof *dir->kids);
        dir->nkids--;
    }
    k->parent = NULL;
}

int vfs_is_writable_dir(const struct node *n)
{
    return n->type == N_DIR && n->origin == ORIG_TMP;
}

/* Length of the node's absolute virtual path; -1 for an unlinked node. */
static long node_path_len(const struct node *n)
{
    long len = 0;
    for (; n->parent; n = n->parent)
        len += 1 + (long)strlen(n->name);
    if (n->name[0] != '\0') /* not the root: unlinked */
        return -1;
    return len ? len : 1;
}

long vfs_node_path(const struct node *n, char *buf, size_t cap)
{
    long len = node_path_len(n);
    if (len < 0)
        return ST_VFS_ENOENT;
    if ((size_t)len + 1 > cap)
        return ST_VFS_ERANGE;
    buf[len] = '\0';
    if (!n->parent) {
        buf[0] = '/';
        return 1;
    }
    size_t end = (size_t)len;
    for (; n->parent; n = n->parent) {
        size_t l = strlen(n->name);
        end -= l;
        memcpy(buf + end, n->name, l);
        buf[--end] = '/';
    }
    return len;
}

/* ---------------------------------------------------------- /tmp data */

static int tmp_charge(struct st_vfs *vfs, uint64_t bytes)
{
    if (bytes > vfs->tmp_quota || vfs->tmp_used > vfs->tmp_quota - bytes)
        return ST_VFS_ENOSPC;
    vfs->tmp_used += bytes;
    return 0;
}

/* Creates the missing last component of walk `w` in /tmp as a new node of
 * `type` with permissions `mode` (the guest's uid and gid): its path must
 * fit, and its entry is charged to the /tmp quota. */
int vfs_tmp_node_add(struct st_vfs *vfs, const struct walk *w, enum node_type type,
                     unsigned mode, struct node **out)
{
    long pl = node_path_len(w->parent);
    if (pl < 0)
        return ST_VFS_ENOENT;
    if ((size_t)pl + 1 + strlen(w->name) >= ST_VFS_PATH_MAX)
        return ST_VFS_ENAMETOOLONG;
    int rc = tmp_charge(vfs, ST_VFS_TMP_ENTRY_COST);
    if (rc < 0)
        return rc;
    struct node *n = vfs_node_new(vfs, type, ORIG_TMP, w->name);
    if (!n) {
        vfs->tmp_used -= ST_VFS_TMP_ENTRY_COST;
        return ST_VFS_ENOMEM;
    }
    n->perm = mode & 0777;
    n->uid = vfs->opt.uid;
    n->gid = vfs->opt.gid;
    rc = vfs_kid_add(w->parent, n);
    if (rc < 0) {
        vfs_node_destroy(vfs, n);
        return rc;
    }
    *out = n;
    return 0;
}

/* Sets a /tmp file's size (zero-filling growth). The quota is charged the
 * buffer's capacity, not the file's size: capacity is the memory the
 * controller holds, and a file that grew and was truncated must give its
 * buffer back, or a guest growing and truncating file after file would hold
 * one quota per file (issue #13, hole 9). */
int vfs_tmp_resize(struct st_vfs *vfs, struct node *f, uint64_t len)
{
    uint64_t old = (uint64_t)f->size;
    if (len > old && len > (uint64_t)INT64_MAX / 2)
        return ST_VFS_EFBIG;
    if (len > f->cap) {
        uint64_t cap = f->cap ? f->cap : 256;
        while (cap < len)
            cap = cap * 2;
        /* Doubling is a guess at what comes next: when its charge does not
         * fit, the exact size may. */
        if (tmp_charge(vfs, cap - f->cap) < 0) {
            cap = len;
            int rc = tmp_charge(vfs, cap - f->cap);
            if (rc < 0)
                return rc;
        }
        unsigned char *d = realloc(f->data, (size_t)cap);
        if (!d) {
            vfs->tmp_used -= cap - f->cap;
            return ST_VFS_ENOMEM;
        }
        f->data = d;
        f->cap = (size_t)cap;
    } else if (len < f->cap / 2) {
        /* Shrink to the new size (a failed realloc keeps the old buffer
         * and its charge). */
        if (len == 0) {
            free(f->data);
            f->data = NULL;
            vfs->tmp_used -= f->cap;
            f->cap = 0;
        } else {
            unsigned char *d = realloc(f->data, (size_t)len);
            if (d) {
                vfs->tmp_used -= f->cap - len;
                f->data = d;
                f->cap = (size_t)len;
            }
        }
    }
    if (len > old)
        memset(f->data + old, 0, (size_t)(len - old));
    f->size = (int64_t)len;
    return 0;
}

/* ------------------------------------------------- changes inside /tmp */

int st_vfs_mkdir(struct st_vfs *vfs, int dirfd, const char *path, unsigned mode)
{
    struct walk w;
    int rc = vfs_resolve(vfs, dirfd, path, 0, &w);
    if (rc == ST_VFS_ENOTDIR && path && path[0] && path[strlen(path) - 1] == '/')
        return rc;
    if (rc < 0)
        return rc;
    if (w.node)
        return ST_VFS_EEXIST;
    if (!vfs_is_writable_dir(w.parent))
        return ST_VFS_EROFS;
    struct node *d;
    return vfs_tmp_node_add(vfs, &w, N_DIR, mode, &d);
}

int st_vfs_unlink(struct st_vfs *vfs, int dirfd, const char *path, int flags)
{
    if (flags & ~ST_VFS_AT_REMOVEDIR)
        return ST_VFS_EINVAL;
    if (flags & ST_VFS_AT_REMOVEDIR)
        return st_vfs_rmdir(vfs, dirfd, path);
    struct walk w;
    int rc = vfs_resolve(vfs, dirfd, path, 0, &w);
    if (rc < 0)
        return rc;
    struct node *n = w.node;
    if (!n)
        return ST_VFS_ENOENT;
    if (n->type == N_DIR)
        return ST_VFS_EISDIR;
    if (!n->parent || !vfs_is_writable_dir(n->parent))
        return ST_VFS_EROFS;
    vfs_kid_detach(n);
    vfs_node_unref(vfs, n);
    return 0;
}

int st_vfs_rmdir(struct st_vfs *vfs, int dirfd, const char *path)
{
    struct walk w;
    int rc = vfs_resolve(vfs, dirfd, path, 0, &w);
    if (rc < 0)
        return rc;
    struct node *n = w.node;
    if (!n)
        return ST_VFS_ENOENT;
    if (n->type != N_DIR)
        return ST_VFS_ENOTDIR;
    if (w.last_dot)
        return strcmp(w.name, "..") == 0 ? ST_VFS_ENOTEMPTY : ST_VFS_EINVAL;
    if (!n->parent || !vfs_is_writable_dir(n->parent) || n->origin != ORIG_TMP)
        return ST_VFS_EROFS;
    if (n->nkids)
        return ST_VFS_ENOTEMPTY;
    vfs_kid_detach(n);
    vfs_node_unref(vfs, n);
    return 0;
}

/* The longest path length below `d` (relative), bounded by PATH_MAX. */
static size_t subtree_depth_len(const struct node *d)
{
    size_t best = 0;
    for (size_t i = 0; i < d->nkids; i++) {
        const struct node *k = d->kids[i];
        size_t l = 1 + strlen(k->name);
        if (k->type == N_DIR)
            l += subtree_depth_len(k);
        if (l > best)
            best = l;
        if (best >= ST_VFS_PATH_MAX)
            break;
    }
    return best;
}

int st_vfs_rename(struct st_vfs *vfs, int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath)
{
    struct walk ow, nw;
    int rc = vfs_resolve(vfs, olddirfd, oldpath, 0, &ow);
    if (rc < 0)
        return rc;
    if (!ow.node)
        return ST_VFS_ENOENT;
    rc = vfs_resolve(vfs, newdirfd, newpath, 0, &nw);
    if (rc < 0)
        return rc;
    struct node *src = ow.node, *dst = nw.node;
    if (ow.last_dot || nw.last_dot)
        return ST_VFS_EINVAL;
    if (!src->parent || !vfs_is_writable_dir(src->parent) || src->origin != ORIG_TMP ||
        !vfs_is_writable_dir(nw.parent))
        return ST_VFS_EROFS;
    if (src == dst)
        return 0;
    /* a directory cannot move below itself */
    if (src->type == N_DIR)
        for (struct node *p = nw.parent; p; p = p->parent)
            if (p == src)
                return ST_VFS_EINVAL;
    if (dst) {
        if (dst->origin != ORIG_TMP)
            return ST_VFS_EROFS;
        if (src->type == N_DIR && dst->type != N_DIR)
            return ST_VFS_ENOTDIR;
        if (src->type != N_DIR && dst->type == N_DIR)
            return ST_VFS_EISDIR;
        if (dst->type == N_DIR && dst->nkids)
            return ST_VFS_ENOTEMPTY;
    }
    long pl = node_path_len(nw.parent);
    if (pl < 0)
        return ST_VFS_ENOENT;
    size_t below = src->type == N_DIR ? subtree_depth_len(src) : 0;
    if ((size_t)pl + 1 + strlen(nw.name) + below >= ST_VFS_PATH_MAX)
        return ST_VFS_ENAMETOOLONG;
    char *name = vfs_dup_str(nw.name);
    if (!name)
        return ST_VFS_ENOMEM;
    /* make room in the destination first so that nothing can fail after
     * the source is detached */
    struct node *np = nw.parent;
    if (np->nkids == np->capkids) {
        size_t cap = np->capkids ? np->capkids * 2 : 8;
        struct node **nk = realloc(np->kids, cap * sizeof *nk);
        if (!nk) {
            free(name);
            return ST_VFS_ENOMEM;
        }
        np->kids = nk;
        np->capkids = cap;
    }
    if (dst) {
        vfs_kid_detach(dst);
        vfs_node_unref(vfs, dst);
    }
    vfs_kid_detach(src);
    free(src->name);
    src->name = name;
    vfs_kid_add(np, src);   /* cannot fail: room was made and the name is free */
    vfs_node_unref(vfs, src); /* vfs_kid_add took a new reference for the link */
    return 0;
}
