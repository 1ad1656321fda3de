/* The virtual file system (see vfs.h for the model and its guarantees).
 *
 * Nodes form one tree. Virtual directories (origin VIRT) and the writable
 * /tmp (origin TMP) keep all their children, sorted by name. A mount's
 * directories (origin MOUNT) keep a cache of the children looked up so far:
 * a child is "materialized" from the real directory the first time it is
 * looked up or listed, and then keeps its inode number for the rest of the
 * run. Nodes are reference counted: a parent's link, each open file and the
 * current directory hold one reference each, so an unlinked file stays
 * readable through its open fds.
 *
 * Every real access goes through mount_open(), which walks from the mount's
 * root fd one component at a time with O_NOFOLLOW: the kernel never follows
 * a symlink for us, and `..` never reaches it (the virtual resolver handles
 * `..` itself). */
#include "controller/vfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/st_buf.h"
#include "common/st_util.h"

#define MAX_FDS_LIMIT 4096
#define MAX_LISTING 100000   /* entries one readdir listing may hold */
#define LISTING_BUDGET (32u << 20) /* bytes all open directory listings may hold */
#define STDIO_DEV 12
#define STDIO_INO 120

enum node_type { N_DIR, N_FILE, N_LINK, N_NULL, N_URANDOM };
enum node_origin { ORIG_VIRT, ORIG_TMP, ORIG_MOUNT, ORIG_REAL };

struct mount {
    int rootfd;             /* O_PATH|O_DIRECTORY of the real directory */
    char *real;             /* the canonical real path (realpath), for absolute links */
    int show_dotfiles;
    int follow_symlinks;
    char **exclude;
    size_t n_exclude;
};

struct node {
    enum node_type type;
    enum node_origin origin;
    uint64_t ino;
    unsigned perm;             /* permission bits */
    uint32_t uid, gid;
    unsigned refs;
    struct node *parent;       /* NULL for the root and for unlinked nodes */
    char *name;
    /* N_DIR: children sorted by name (for MOUNT: those materialized so far) */
    struct node **kids;
    size_t nkids, capkids;
    /* ORIG_MOUNT */
    struct mount *mnt;
    char *rel;                 /* path below the mount root, "" for the root */
    char *link;                /* N_LINK: the link's target text */
    /* ORIG_REAL */
    char *real_path;
    /* size of MOUNT and REAL files; data of VIRT and TMP files */
    int64_t size;
    unsigned char *data;
    size_t cap;
};

struct ofd {
    unsigned refs;
    int kind;                  /* enum st_vfs_fd_kind */
    struct node *node;         /* NULL for the standard streams */
    int flags;                 /* O_ACCMODE | O_APPEND | O_NONBLOCK */
    int64_t off;
    int realfd;                /* MOUNT and REAL files: the open real file; else -1 */
    struct st_vfs_dirent *list;
    size_t nlist, pos, listcap;
    int listed;
};

struct fdent {
    struct ofd *o;
    int cloexec;
    uint64_t dirp;
};

struct st_vfs {
    struct st_vfs_options opt;
    char *cwd_path;            /* until the cwd is first resolved */
    struct node *root;
    struct node *cwd;          /* NULL until first needed */
    uint64_t next_ino;
    struct mount **mounts;
    size_t nmounts;
    struct node *tmp;          /* the writable /tmp, or NULL */
    uint64_t tmp_quota, tmp_used;
    uint64_t urandom_pos;
    size_t listing_bytes;      /* held by all ofd listings, at most LISTING_BUDGET */
    struct fdent *fds;
    unsigned max_fds;
};

/* ------------------------------------------------------------ errors */

const char *st_vfs_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case -EPERM: return "operation not permitted";
    case -ENOENT: return "no such file or directory";
    case -EIO: return "input/output error";
    case -EBADF: return "bad file descriptor";
    case -ENOMEM: return "out of memory";
    case -EACCES: return "permission denied";
    case -EEXIST: return "file exists";
    case -EXDEV: return "cross-device link";
    case -ENOTDIR: return "not a directory";
    case -EISDIR: return "is a directory";
    case -EINVAL: return "invalid argument";
    case -EMFILE: return "too many open files";
    case -ENOTTY: return "not a terminal";
    case -EFBIG: return "file too large";
    case -ENOSPC: return "no space left (the /tmp quota is exhausted)";
    case -ESPIPE: return "illegal seek";
    case -EROFS: return "read-only file system";
    case -ENAMETOOLONG: return "file name too long";
    case -ENOSYS: return "function not implemented";
    case -ENOTEMPTY: return "directory not empty";
    case -ELOOP: return "too many levels of symbolic links";
    case -EOVERFLOW: return "value too large";
    case -ERANGE: return "result too large";
    default: return "unknown error";
    }
}

/* ------------------------------------------------------------- nodes */

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

static struct node *node_new(struct st_vfs *vfs, enum node_type type, enum node_origin origin,
                             const char *name)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = dup_str(name);
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

static void node_destroy(struct st_vfs *vfs, struct node *n);

static void node_ref(struct node *n)
{
    n->refs++;
}

static void node_unref(struct st_vfs *vfs, struct node *n)
{
    if (n && --n->refs == 0)
        node_destroy(vfs, n);
}

/* Frees a node and, recursively, the children it still links. */
static void node_destroy(struct st_vfs *vfs, struct node *n)
{
    for (size_t i = 0; i < n->nkids; i++) {
        struct node *k = n->kids[i];
        k->parent = NULL;
        node_unref(vfs, k);
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

static struct node *kid_find(const struct node *dir, const char *name)
{
    int found;
    size_t i = kid_index(dir, name, &found);
    return found ? dir->kids[i] : NULL;
}

/* Links `k` (fresh, refs 0) under `dir`; the link holds one reference. */
static int kid_add(struct node *dir, struct node *k)
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
    node_ref(k);
    return 0;
}

/* Unlinks `k` from its parent without dropping the link's reference. */
static void kid_detach(struct node *k)
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

static int is_writable_dir(const struct node *n)
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

static long node_path(const struct node *n, char *buf, size_t cap)
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
static int mount_open(const struct mount *m, const char *rel, int flags)
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

static unsigned real_perm(mode_t m)
{
    return (m & 0111) ? 0755 : 0644;
}

/* The child `name` of the mount directory `dir`: from the cache, or looked
 * up in the real directory and cached. `parent_fd` is dir's real directory
 * when the caller has it open, else -1. */
static int mount_child_at(struct st_vfs *vfs, struct node *dir, const char *name, int parent_fd,
                          struct node **out)
{
    struct mount *m = dir->mnt;
    char *rel = rel_join(dir->rel, name);
    if (!rel)
        return ST_VFS_ENOMEM;
    if (!mount_visible(m, rel, name)) {
        free(rel);
        return ST_VFS_ENOENT;
    }
    struct node *k = kid_find(dir, name);
    if (k) {
        free(rel);
        *out = k;
        return 0;
    }
    int dfd = parent_fd >= 0 ? parent_fd : mount_open(m, dir->rel, O_PATH | O_DIRECTORY);
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
    k = node_new(vfs, type, ORIG_MOUNT, name);
    if (!k) {
        free(rel);
        return ST_VFS_ENOMEM;
    }
    k->mnt = m;
    k->rel = rel;
    if (type == N_FILE) {
        k->size = st.st_size;
        k->perm = real_perm(st.st_mode);
    } else if (type == N_LINK) {
        k->perm = 0777;
        k->link = dup_str(target);
        if (!k->link) {
            node_destroy(vfs, k);
            return ST_VFS_ENOMEM;
        }
    }
    rc = kid_add(dir, k);
    if (rc < 0) {
        node_destroy(vfs, k);
        return rc;
    }
    *out = k;
    return 0;
}

static int mount_child(struct st_vfs *vfs, struct node *dir, const char *name, struct node **out)
{
    return mount_child_at(vfs, dir, name, -1, out);
}

static int lookup_child(struct st_vfs *vfs, struct node *dir, const char *name, struct node **out)
{
    if (dir->origin == ORIG_MOUNT)
        return mount_child(vfs, dir, name, out);
    *out = kid_find(dir, name);
    return *out ? 0 : ST_VFS_ENOENT;
}

/* -------------------------------------------------------- resolution */

struct walk {
    struct node *parent;  /* the directory holding the last component */
    struct node *node;    /* the node, or NULL when the last component is missing */
    char name[ST_VFS_NAME_MAX + 1]; /* the last component */
    int last_dot;         /* the last component was "." or ".." (or the path was "/") */
    int trailing_slash;
};

static struct node *get_cwd(struct st_vfs *vfs);

static int walk_path(struct st_vfs *vfs, struct node *start, const char *path, int follow_last,
                     struct node *confine, int *hops, struct walk *w);

/* Follows the mount symlink `l`; *out gets what it points to. */
static int follow_link(struct st_vfs *vfs, struct node *l, int *hops, struct node **out)
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
    int rc = walk_path(vfs, start, target, 1, root, hops, &w);
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
static int path_next_component(const char **p, char comp[ST_VFS_NAME_MAX + 1])
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
    snprintf(w->name, sizeof w->name, "%s", name);
}

/* Resolves `path` from `start` (absolute paths from the root). With
 * `confine` (a mount root), `..` may not climb above it (EACCES). On success
 * w->parent is set; w->node is NULL when only the last component is
 * missing. */
static int walk_path(struct st_vfs *vfs, struct node *start, const char *path, int follow_last,
                     struct node *confine, int *hops, struct walk *w)
{
    memset(w, 0, sizeof *w);
    if (path[0] == '\0')
        return ST_VFS_ENOENT;
    if (strlen(path) >= ST_VFS_PATH_MAX)
        return ST_VFS_ENAMETOOLONG;
    struct node *cur = start;
    if (path[0] == '/')
        cur = vfs->root;
    if (!cur)
        return ST_VFS_ENOENT;
    size_t plen = strlen(path);
    w->trailing_slash = plen > 1 && path[plen - 1] == '/';
    const char *p = path;
    walk_at(w, cur->parent ? cur->parent : cur, cur, 1, ".");
    for (;;) {
        char comp[ST_VFS_NAME_MAX + 1];
        int l = path_next_component(&p, comp);
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
        int rc = lookup_child(vfs, cur, comp, &k);
        if (rc == ST_VFS_ENOENT && last) {
            walk_at(w, cur, NULL, 0, comp);
            return 0;
        }
        if (rc < 0)
            return rc;
        if (k->type == N_LINK && (!last || follow_last || w->trailing_slash)) {
            struct node *t;
            rc = follow_link(vfs, k, hops, &t);
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

static struct node *fd_node(struct st_vfs *vfs, int fd);

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
    struct node *n = fd_node(vfs, dirfd);
    if (!n)
        return ST_VFS_EBADF;
    if (n->type != N_DIR)
        return ST_VFS_ENOTDIR;
    *out = n;
    return 0;
}

static int resolve(struct st_vfs *vfs, int dirfd, const char *path, int follow_last, struct walk *w)
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
    return walk_path(vfs, start, path, follow_last, NULL, &hops, w);
}

/* Resolves an existing node. */
static int resolve_node(struct st_vfs *vfs, int dirfd, const char *path, int follow_last,
                        struct node **out)
{
    struct walk w;
    int rc = resolve(vfs, dirfd, path, follow_last, &w);
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
        if (walk_path(vfs, vfs->root, vfs->cwd_path, 1, NULL, &hops, &w) == 0 && w.node &&
            w.node->type == N_DIR) {
            vfs->cwd = w.node;
            node_ref(vfs->cwd);
        }
    }
    return vfs->cwd;
}

/* ------------------------------------------------------------- setup */

void st_vfs_options_init(struct st_vfs_options *o)
{
    memset(o, 0, sizeof *o);
    o->uid = 1000;
    o->gid = 1000;
    o->max_fds = ST_VFS_DEFAULT_MAX_FDS;
}

void st_mount_options_init(struct st_mount_options *o)
{
    memset(o, 0, sizeof *o);
}

static struct ofd *ofd_new(int kind, int flags)
{
    struct ofd *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->refs = 1;
    o->kind = kind;
    o->flags = flags;
    o->realfd = -1;
    return o;
}

/* Drops a directory listing and its share of the listing budget. */
static void list_release(struct st_vfs *vfs, struct ofd *o)
{
    size_t bytes = o->listcap * sizeof *o->list;
    vfs->listing_bytes = vfs->listing_bytes >= bytes ? vfs->listing_bytes - bytes : 0;
    free(o->list);
    o->list = NULL;
    o->nlist = o->pos = o->listcap = 0;
}

static void ofd_unref(struct st_vfs *vfs, struct ofd *o)
{
    if (!o || --o->refs > 0)
        return;
    if (o->realfd >= 0)
        close(o->realfd);
    list_release(vfs, o);
    node_unref(vfs, o->node);
    free(o);
}

/* Creates the virtual directories of `path` (absolute) like mkdir -p and
 * returns the last one in *out. */
static int mkdir_p(struct st_vfs *vfs, const char *path, struct node **out)
{
    if (!path || path[0] != '/')
        return ST_VFS_EINVAL;
    if (strlen(path) >= ST_VFS_PATH_MAX)
        return ST_VFS_ENAMETOOLONG;
    struct node *cur = vfs->root;
    const char *p = path;
    for (;;) {
        char comp[ST_VFS_NAME_MAX + 1];
        int l = path_next_component(&p, comp);
        if (l < 0)
            return l;
        if (l == 0)
            break;
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
            return ST_VFS_EINVAL;
        if (cur->origin != ORIG_VIRT || cur->type != N_DIR)
            return ST_VFS_EEXIST;
        struct node *k = kid_find(cur, comp);
        if (!k) {
            k = node_new(vfs, N_DIR, ORIG_VIRT, comp);
            if (!k)
                return ST_VFS_ENOMEM;
            int rc = kid_add(cur, k);
            if (rc < 0) {
                node_destroy(vfs, k);
                return rc;
            }
        }
        cur = k;
    }
    if (cur->type != N_DIR || cur->origin != ORIG_VIRT)
        return ST_VFS_EEXIST;
    *out = cur;
    return 0;
}

/* Splits an absolute `path` into its parent (created) and last name. */
static int add_prepare(struct st_vfs *vfs, const char *path, struct node **dir, char *name)
{
    if (!path || path[0] != '/')
        return ST_VFS_EINVAL;
    size_t len = strlen(path);
    if (len >= ST_VFS_PATH_MAX)
        return ST_VFS_ENAMETOOLONG;
    while (len > 1 && path[len - 1] == '/')
        len--;
    size_t s = len;
    while (s > 0 && path[s - 1] != '/')
        s--;
    size_t nl = len - s;
    if (nl == 0)
        return ST_VFS_EEXIST; /* "/" */
    if (nl > ST_VFS_NAME_MAX)
        return ST_VFS_ENAMETOOLONG;
    memcpy(name, path + s, nl);
    name[nl] = '\0';
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return ST_VFS_EINVAL;
    char parent[ST_VFS_PATH_MAX];
    memcpy(parent, path, s);
    parent[s] = '\0';
    return mkdir_p(vfs, parent, dir);
}

static int add_leaf(struct st_vfs *vfs, const char *path, struct node *leaf)
{
    struct node *dir;
    char name[ST_VFS_NAME_MAX + 1];
    int rc = add_prepare(vfs, path, &dir, name);
    if (rc == 0) {
        free(leaf->name);
        leaf->name = dup_str(name);
        rc = leaf->name ? kid_add(dir, leaf) : ST_VFS_ENOMEM;
    }
    if (rc < 0)
        node_destroy(vfs, leaf);
    return rc;
}

struct st_vfs *st_vfs_new(const struct st_vfs_options *o)
{
    struct st_vfs_options def;
    if (!o) {
        st_vfs_options_init(&def);
        o = &def;
    }
    unsigned max_fds = o->max_fds ? o->max_fds : ST_VFS_DEFAULT_MAX_FDS;
    if (max_fds < 3 || max_fds > MAX_FDS_LIMIT)
        return NULL;
    const char *cwd = o->cwd ? o->cwd : "/tmp";
    if (cwd[0] != '/' || strlen(cwd) >= ST_VFS_PATH_MAX)
        return NULL;
    struct st_vfs *vfs = calloc(1, sizeof *vfs);
    if (!vfs)
        return NULL;
    vfs->opt = *o;
    vfs->opt.cwd = NULL;
    vfs->max_fds = max_fds;
    vfs->next_ino = 1;
    vfs->cwd_path = dup_str(cwd);
    vfs->fds = calloc(max_fds, sizeof *vfs->fds);
    vfs->root = node_new(vfs, N_DIR, ORIG_VIRT, "");
    if (!vfs->cwd_path || !vfs->fds || !vfs->root)
        goto fail;
    node_ref(vfs->root);
    static const int kinds[3] = { ST_VFS_FD_STDIN, ST_VFS_FD_STDOUT, ST_VFS_FD_STDERR };
    for (int i = 0; i < 3; i++) {
        vfs->fds[i].o = ofd_new(kinds[i], i == 0 ? O_RDONLY : O_WRONLY);
        if (!vfs->fds[i].o)
            goto fail;
    }
    struct node *dir;
    if (mkdir_p(vfs, "/dev", &dir) < 0 || mkdir_p(vfs, "/tmp", &dir) < 0)
        goto fail;
    struct node *null = node_new(vfs, N_NULL, ORIG_VIRT, "null");
    if (!null || add_leaf(vfs, "/dev/null", null) < 0)
        goto fail;
    struct node *ur = node_new(vfs, N_URANDOM, ORIG_VIRT, "urandom");
    if (!ur || add_leaf(vfs, "/dev/urandom", ur) < 0)
        goto fail;
    null->perm = ur->perm = 0666;
    return vfs;
fail:
    st_vfs_free(vfs);
    return NULL;
}

/* Frees a mount (closing its directory); accepts NULL. */
static void mount_free(struct mount *m)
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
static int mount_new(const char *real_dir, const struct st_mount_options *o, struct mount **out)
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
        m->exclude[i] = o->exclude[i] ? dup_str(o->exclude[i]) : NULL;
        m->n_exclude = i + 1;
        if (!m->exclude[i])
            rc = o->exclude[i] ? ST_VFS_ENOMEM : ST_VFS_EINVAL;
    }
    if (rc < 0) {
        mount_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

void st_vfs_free(struct st_vfs *vfs)
{
    if (!vfs)
        return;
    if (vfs->fds)
        for (unsigned i = 0; i < vfs->max_fds; i++)
            ofd_unref(vfs, vfs->fds[i].o);
    free(vfs->fds);
    node_unref(vfs, vfs->cwd);
    if (vfs->root)
        node_unref(vfs, vfs->root);
    for (size_t i = 0; i < vfs->nmounts; i++)
        mount_free(vfs->mounts[i]);
    free(vfs->mounts);
    free(vfs->cwd_path);
    free(vfs);
}

int st_vfs_add_dir(struct st_vfs *vfs, const char *path)
{
    struct node *dir;
    return mkdir_p(vfs, path, &dir);
}

int st_vfs_add_file(struct st_vfs *vfs, const char *path, const void *data, size_t len,
                    unsigned mode)
{
    if (len && !data)
        return ST_VFS_EINVAL;
    if (len > (size_t)INT64_MAX)
        return ST_VFS_EFBIG;
    struct node *f = node_new(vfs, N_FILE, ORIG_VIRT, "-");
    if (!f)
        return ST_VFS_ENOMEM;
    f->perm = mode & 07777;
    if (len) {
        f->data = malloc(len);
        if (!f->data) {
            node_destroy(vfs, f);
            return ST_VFS_ENOMEM;
        }
        memcpy(f->data, data, len);
    }
    f->size = (int64_t)len;
    f->cap = len;
    return add_leaf(vfs, path, f);
}

int st_vfs_add_real_file(struct st_vfs *vfs, const char *path, const char *real_path)
{
    struct stat st;
    if (!real_path)
        return ST_VFS_EINVAL;
    if (stat(real_path, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return ST_VFS_EINVAL;
    struct node *f = node_new(vfs, N_FILE, ORIG_REAL, "-");
    if (!f)
        return ST_VFS_ENOMEM;
    f->real_path = dup_str(real_path);
    if (!f->real_path) {
        node_destroy(vfs, f);
        return ST_VFS_ENOMEM;
    }
    f->size = st.st_size;
    f->perm = real_perm(st.st_mode);
    return add_leaf(vfs, path, f);
}

/* Removes an empty virtual directory at `path` so that something else can
 * take its place (the default /tmp). 0 when there was nothing there. */
static int replace_empty_dir(struct st_vfs *vfs, const char *path)
{
    struct walk w;
    int hops = 0;
    if (walk_path(vfs, vfs->root, path, 0, NULL, &hops, &w) < 0 || !w.node)
        return 0;
    struct node *n = w.node;
    if (n == vfs->root || n->type != N_DIR || n->origin != ORIG_VIRT || n->nkids)
        return ST_VFS_EEXIST;
    if (vfs->cwd == n) {
        node_unref(vfs, vfs->cwd);
        vfs->cwd = NULL;
    }
    kid_detach(n);
    node_unref(vfs, n);
    return 0;
}

int st_vfs_mount(struct st_vfs *vfs, const char *path, const char *real_dir,
                 const struct st_mount_options *o)
{
    struct st_mount_options def;
    if (!o) {
        st_mount_options_init(&def);
        o = &def;
    }
    if (!real_dir || (o->n_exclude && !o->exclude))
        return ST_VFS_EINVAL;
    struct node *dir;
    char name[ST_VFS_NAME_MAX + 1];
    int rc = add_prepare(vfs, path, &dir, name);
    if (rc < 0)
        return rc;
    struct node *old = kid_find(dir, name);
    if (old && (old->type != N_DIR || old->origin != ORIG_VIRT || old->nkids))
        return ST_VFS_EEXIST;
    struct mount *m;
    if ((rc = mount_new(real_dir, o, &m)) < 0)
        return rc;
    struct mount **ms = realloc(vfs->mounts, (vfs->nmounts + 1) * sizeof *ms);
    if (ms)
        vfs->mounts = ms;
    struct node *root = ms ? node_new(vfs, N_DIR, ORIG_MOUNT, name) : NULL;
    if (!root || !(root->rel = dup_str(""))) {
        if (root)
            node_destroy(vfs, root);
        mount_free(m);
        return ST_VFS_ENOMEM;
    }
    root->mnt = m;
    if (old) {
        if (vfs->cwd == old) {
            node_unref(vfs, vfs->cwd);
            vfs->cwd = NULL;
        }
        kid_detach(old);
        node_unref(vfs, old);
    }
    rc = kid_add(dir, root);
    if (rc < 0) {
        node_destroy(vfs, root);
        mount_free(m);
        return rc;
    }
    vfs->mounts[vfs->nmounts++] = m;
    return 0;
}

int st_vfs_enable_tmp(struct st_vfs *vfs, uint64_t quota_bytes)
{
    if (vfs->tmp)
        return ST_VFS_EEXIST;
    int rc = replace_empty_dir(vfs, "/tmp");
    if (rc < 0)
        return rc;
    struct node *t = node_new(vfs, N_DIR, ORIG_TMP, "tmp");
    if (!t)
        return ST_VFS_ENOMEM;
    t->uid = vfs->opt.uid;
    t->gid = vfs->opt.gid;
    t->perm = 0777;
    rc = kid_add(vfs->root, t);
    if (rc < 0) {
        node_destroy(vfs, t);
        return rc;
    }
    vfs->tmp = t;
    vfs->tmp_quota = quota_bytes;
    vfs->tmp_used = ST_VFS_TMP_ENTRY_COST; /* /tmp itself: released when freed */
    return 0;
}

int st_vfs_set_real_tmp(struct st_vfs *vfs, const char *real_dir)
{
    if (vfs->tmp)
        return ST_VFS_EEXIST;
    return st_vfs_mount(vfs, "/tmp", real_dir, NULL);
}

int st_vfs_add_virtual_proc(struct st_vfs *vfs, uint64_t memory_bytes)
{
    static const char cpuinfo[] =
        "processor\t: 0\n"
        "vendor_id\t: sandtrace\n"
        "cpu family\t: 6\n"
        "model\t\t: 0\n"
        "model name\t: sandtrace virtual CPU\n"
        "stepping\t: 0\n"
        "cpu MHz\t\t: 2000.000\n"
        "cache size\t: 1024 KB\n"
        "physical id\t: 0\n"
        "siblings\t: 1\n"
        "core id\t\t: 0\n"
        "cpu cores\t: 1\n"
        "fpu\t\t: yes\n"
        "flags\t\t: fpu\n"
        "bogomips\t: 4000.00\n"
        "\n";
    uint64_t kb = (memory_bytes ? memory_bytes : (uint64_t)4 << 30) / 1024;
    char meminfo[256];
    int n = snprintf(meminfo, sizeof meminfo,
                     "MemTotal:       %llu kB\nMemFree:        %llu kB\nMemAvailable:   %llu kB\n",
                     (unsigned long long)kb, (unsigned long long)kb, (unsigned long long)kb);
    int rc = st_vfs_add_file(vfs, "/proc/cpuinfo", cpuinfo, sizeof cpuinfo - 1, 0444);
    if (rc == 0)
        rc = st_vfs_add_file(vfs, "/proc/meminfo", meminfo, (size_t)n, 0444);
    return rc;
}

int st_vfs_add_pypy_home(struct st_vfs *vfs, const char *lib_dir, const char *exe_path,
                         const struct st_mount_options *o)
{
    struct st_mount_options mo;
    if (o)
        mo = *o;
    else
        st_mount_options_init(&mo);
    if (!lib_dir || !exe_path)
        return ST_VFS_EINVAL;
    size_t n = mo.n_exclude + 2;
    const char **ex = calloc(n, sizeof *ex);
    if (!ex)
        return ST_VFS_ENOMEM;
    for (size_t i = 0; i < mo.n_exclude; i++)
        ex[i] = mo.exclude[i];
    ex[n - 2] = "*.pyc";
    ex[n - 1] = "*.pyo";
    mo.exclude = ex;
    mo.n_exclude = n;
    static const char *const subs[2] = { "lib-python", "lib_pypy" };
    int mounted = 0, rc = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        char real[PATH_MAX], virt[64];
        if ((size_t)snprintf(real, sizeof real, "%s/%s", lib_dir, subs[i]) >= sizeof real) {
            rc = ST_VFS_ENAMETOOLONG;
            break;
        }
        snprintf(virt, sizeof virt, "/lib/%s", subs[i]);
        int r = st_vfs_mount(vfs, virt, real, &mo);
        if (r == 0)
            mounted++;
        else if (r != ST_VFS_ENOENT)
            rc = r;
    }
    free(ex);
    if (rc < 0)
        return rc;
    if (!mounted)
        return ST_VFS_ENOENT;
    return st_vfs_add_file(vfs, exe_path, NULL, 0, 0755);
}

/* ------------------------------------------------------------ export */

static int export_dir(const struct node *dir, int dfd)
{
    for (size_t i = 0; i < dir->nkids; i++) {
        const struct node *k = dir->kids[i];
        if (k->type == N_DIR) {
            if (mkdirat(dfd, k->name, 0755) < 0 && errno != EEXIST)
                return -errno;
            int sub = openat(dfd, k->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                return -errno;
            int rc = export_dir(k, sub);
            close(sub);
            if (rc < 0)
                return rc;
        } else if (k->type == N_FILE) {
            int fd = openat(dfd, k->name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                            0644);
            if (fd < 0)
                return -errno;
            size_t off = 0, len = (size_t)k->size;
            while (off < len) {
                ssize_t w = write(fd, k->data + off, len - off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0) {
                    int e = w < 0 ? errno : EIO;
                    close(fd);
                    return -e;
                }
                off += (size_t)w;
            }
            if (close(fd) < 0)
                return -errno;
        }
    }
    return 0;
}

int st_vfs_export_tmp(struct st_vfs *vfs, const char *real_dir)
{
    if (!vfs->tmp || !real_dir)
        return ST_VFS_EINVAL;
    if (mkdir(real_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    int dfd = open(real_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    int rc = export_dir(vfs->tmp, dfd);
    close(dfd);
    return rc;
}

/* ------------------------------------------------------------ encode */

void st_vfs_stat_encode(const struct st_vfs_stat *st, unsigned char out[ST_VFS_STAT_SIZE])
{
    memset(out, 0, ST_VFS_STAT_SIZE);
    st_le64_put(out + 0, st->dev);
    st_le64_put(out + 8, st->ino);
    st_le64_put(out + 16, st->nlink);
    st_le32_put(out + 24, st->mode);
    st_le32_put(out + 28, st->uid);
    st_le32_put(out + 32, st->gid);
    st_le64_put(out + 40, st->rdev);
    st_le64_put(out + 48, (uint64_t)st->size);
    st_le64_put(out + 56, (uint64_t)st->blksize);
    st_le64_put(out + 64, (uint64_t)st->blocks);
    st_le64_put(out + 72, (uint64_t)st->atime_sec);
    st_le64_put(out + 80, (uint64_t)st->atime_nsec);
    st_le64_put(out + 88, (uint64_t)st->mtime_sec);
    st_le64_put(out + 96, (uint64_t)st->mtime_nsec);
    st_le64_put(out + 104, (uint64_t)st->ctime_sec);
    st_le64_put(out + 112, (uint64_t)st->ctime_nsec);
}

void st_vfs_dirent_encode(const struct st_vfs_dirent *d, unsigned char out[ST_VFS_DIRENT_SIZE])
{
    memset(out, 0, ST_VFS_DIRENT_SIZE);
    st_le64_put(out + 0, d->ino);
    st_le64_put(out + 8, 0);
    out[16] = (unsigned char)(ST_VFS_DIRENT_SIZE & 0xff);
    out[17] = (unsigned char)(ST_VFS_DIRENT_SIZE >> 8);
    out[18] = d->type;
    size_t l = strnlen(d->name, ST_VFS_NAME_MAX);
    memcpy(out + 19, d->name, l);
}

static void node_stat(const struct node *n, struct st_vfs_stat *st)
{
    memset(st, 0, sizeof *st);
    st->dev = 1;
    st->ino = n->ino;
    st->nlink = 1;
    st->uid = n->uid;
    st->gid = n->gid;
    switch (n->type) {
    case N_DIR:
        st->mode = S_IFDIR | n->perm;
        break;
    case N_FILE:
        st->mode = S_IFREG | n->perm;
        st->size = n->size;
        break;
    case N_LINK:
        st->mode = S_IFLNK | 0777;
        st->size = (int64_t)strlen(n->link);
        break;
    case N_NULL:
        st->mode = S_IFCHR | n->perm;
        st->rdev = makedev(1, 3);
        break;
    case N_URANDOM:
        st->mode = S_IFCHR | n->perm;
        st->rdev = makedev(1, 9);
        break;
    }
}

static unsigned char dirent_type(const struct node *n)
{
    switch (n->type) {
    case N_DIR: return DT_DIR;
    case N_FILE: return DT_REG;
    case N_LINK: return DT_LNK;
    default: return DT_CHR;
    }
}

/* ------------------------------------------------------------ fd table */

static struct ofd *fd_get(const struct st_vfs *vfs, int fd)
{
    if (fd < 0 || (unsigned)fd >= vfs->max_fds)
        return NULL;
    return vfs->fds[fd].o;
}

static struct node *fd_node(struct st_vfs *vfs, int fd)
{
    struct ofd *o = fd_get(vfs, fd);
    return o ? o->node : NULL;
}

static int fd_free_slot(const struct st_vfs *vfs)
{
    for (unsigned i = 0; i < vfs->max_fds; i++)
        if (!vfs->fds[i].o)
            return (int)i;
    return ST_VFS_EMFILE;
}

static int fd_install(struct st_vfs *vfs, struct ofd *o, int cloexec)
{
    int fd = fd_free_slot(vfs);
    if (fd < 0)
        return fd;
    vfs->fds[fd].o = o;
    vfs->fds[fd].cloexec = cloexec;
    vfs->fds[fd].dirp = 0;
    return fd;
}

int st_vfs_fd_kind(const struct st_vfs *vfs, int fd)
{
    struct ofd *o = fd_get(vfs, fd);
    return o ? o->kind : ST_VFS_EBADF;
}

unsigned st_vfs_open_fds(const struct st_vfs *vfs)
{
    unsigned n = 0;
    for (unsigned i = 0; i < vfs->max_fds; i++)
        n += vfs->fds[i].o != NULL;
    return n;
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
static int tmp_node_add(struct st_vfs *vfs, const struct walk *w, enum node_type type,
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
    struct node *n = node_new(vfs, type, ORIG_TMP, w->name);
    if (!n) {
        vfs->tmp_used -= ST_VFS_TMP_ENTRY_COST;
        return ST_VFS_ENOMEM;
    }
    n->perm = mode & 0777;
    n->uid = vfs->opt.uid;
    n->gid = vfs->opt.gid;
    rc = kid_add(w->parent, n);
    if (rc < 0) {
        node_destroy(vfs, n);
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
static int tmp_resize(struct st_vfs *vfs, struct node *f, uint64_t len)
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

/* ---------------------------------------------------------- open/close */

static int open_node(struct st_vfs *vfs, struct node *n, int flags, struct ofd **out)
{
    int acc = flags & O_ACCMODE;
    int wants_write = acc == O_WRONLY || acc == O_RDWR;
    if (acc == O_ACCMODE)
        return ST_VFS_EINVAL;
    if ((flags & O_DIRECTORY) && n->type != N_DIR)
        return ST_VFS_ENOTDIR;
    int kind;
    switch (n->type) {
    case N_DIR:
        if (wants_write || (flags & O_TRUNC))
            return ST_VFS_EISDIR;
        kind = ST_VFS_FD_DIR;
        break;
    case N_LINK:
        return ST_VFS_ELOOP;
    case N_NULL:
    case N_URANDOM:
        kind = ST_VFS_FD_DEVICE;
        break;
    default:
        kind = ST_VFS_FD_FILE;
        if ((wants_write || (flags & O_TRUNC)) && n->origin != ORIG_TMP)
            return ST_VFS_EROFS;
        break;
    }
    struct ofd *o = ofd_new(kind, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!o)
        return ST_VFS_ENOMEM;
    if (kind == ST_VFS_FD_FILE && n->origin == ORIG_MOUNT) {
        o->realfd = mount_open(n->mnt, n->rel, O_RDONLY | O_NONBLOCK);
    } else if (kind == ST_VFS_FD_FILE && n->origin == ORIG_REAL) {
        o->realfd = open(n->real_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (o->realfd < 0)
            o->realfd = -errno;
    }
    if (o->realfd < -1) {
        int e = o->realfd;
        o->realfd = -1;
        ofd_unref(vfs, o);
        return e == ST_VFS_ELOOP || e == ST_VFS_ENOTDIR ? ST_VFS_ENOENT : e;
    }
    if (o->realfd >= 0) {
        struct stat st;
        if (fstat(o->realfd, &st) < 0 || !S_ISREG(st.st_mode)) {
            ofd_unref(vfs, o);
            return ST_VFS_EACCES;
        }
    }
    o->node = n;
    node_ref(n);
    if ((flags & O_TRUNC) && n->origin == ORIG_TMP && n->type == N_FILE)
        tmp_resize(vfs, n, 0);
    *out = o;
    return 0;
}

int st_vfs_open(struct st_vfs *vfs, int dirfd, const char *path, int flags, unsigned mode)
{
    int excl_creat = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
    struct walk w;
    int rc = resolve(vfs, dirfd, path, !(flags & O_NOFOLLOW) && !excl_creat, &w);
    if (rc < 0)
        return rc;
    if (fd_free_slot(vfs) < 0)
        return ST_VFS_EMFILE;
    struct node *n = w.node;
    if (!n) {
        if (!(flags & O_CREAT))
            return ST_VFS_ENOENT;
        if (w.trailing_slash)
            return ST_VFS_EISDIR;
        if (!is_writable_dir(w.parent))
            return ST_VFS_EROFS;
        if ((flags & O_ACCMODE) == O_ACCMODE)
            return ST_VFS_EINVAL;
        if ((rc = tmp_node_add(vfs, &w, N_FILE, mode, &n)) < 0)
            return rc;
    } else if (excl_creat) {
        return ST_VFS_EEXIST;
    }
    struct ofd *o;
    rc = open_node(vfs, n, flags, &o);
    if (rc < 0)
        return rc;
    return fd_install(vfs, o, (flags & O_CLOEXEC) != 0);
}

int st_vfs_close(struct st_vfs *vfs, int fd)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    vfs->fds[fd].o = NULL;
    vfs->fds[fd].dirp = 0;
    ofd_unref(vfs, o);
    return 0;
}

int st_vfs_dup(struct st_vfs *vfs, int fd)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    int nfd = fd_install(vfs, o, 0);
    if (nfd >= 0)
        o->refs++;
    return nfd;
}

/* --------------------------------------------------------- read/write */

static uint64_t splitmix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The deterministic /dev/urandom stream: byte i is byte i%8 of splitmix64's
 * output number i/8 for the seed. */
static void urandom_fill(struct st_vfs *vfs, unsigned char *buf, size_t n)
{
    uint64_t pos = vfs->urandom_pos;
    for (size_t i = 0; i < n; i++, pos++) {
        uint64_t word = splitmix(vfs->opt.seed + (pos / 8 + 1) * 0x9e3779b97f4a7c15ULL);
        buf[i] = (unsigned char)(word >> (8 * (pos % 8)));
    }
    vfs->urandom_pos = pos;
}

static long read_at(struct st_vfs *vfs, struct ofd *o, void *buf, size_t n, int64_t off)
{
    struct node *f = o->node;
    if (f->type == N_NULL)
        return 0;
    if (f->type == N_URANDOM) {
        urandom_fill(vfs, buf, n);
        return (long)n;
    }
    if (n > LONG_MAX)
        n = LONG_MAX;
    if (o->realfd >= 0) {
        ssize_t r;
        do
            r = pread(o->realfd, buf, n, off);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : (long)r;
    }
    if (off >= f->size)
        return 0;
    size_t avail = (size_t)(f->size - off);
    if (n > avail)
        n = avail;
    memcpy(buf, f->data + off, n);
    return (long)n;
}

static struct ofd *readable(struct st_vfs *vfs, int fd, int *rc)
{
    struct ofd *o = fd_get(vfs, fd);
    *rc = 0;
    if (!o || (o->flags & O_ACCMODE) == O_WRONLY)
        *rc = ST_VFS_EBADF;
    else if (o->kind == ST_VFS_FD_DIR)
        *rc = ST_VFS_EISDIR;
    else if (o->kind != ST_VFS_FD_FILE && o->kind != ST_VFS_FD_DEVICE)
        *rc = ST_VFS_EBADF;
    return *rc ? NULL : o;
}

long st_vfs_read(struct st_vfs *vfs, int fd, void *buf, size_t n)
{
    int rc;
    struct ofd *o = readable(vfs, fd, &rc);
    if (!o)
        return rc;
    long r = read_at(vfs, o, buf, n, o->off);
    if (r > 0 && o->kind == ST_VFS_FD_FILE)
        o->off += r;
    return r;
}

long st_vfs_pread(struct st_vfs *vfs, int fd, void *buf, size_t n, int64_t offset)
{
    if (offset == -1)
        return st_vfs_read(vfs, fd, buf, n);
    int rc;
    struct ofd *o = readable(vfs, fd, &rc);
    if (!o)
        return rc;
    if (offset < 0)
        return ST_VFS_EINVAL;
    return read_at(vfs, o, buf, n, offset);
}

static long write_at(struct st_vfs *vfs, struct ofd *o, const void *buf, size_t n, int64_t off)
{
    struct node *f = o->node;
    if (f->type == N_NULL || f->type == N_URANDOM)
        return (long)(n > LONG_MAX ? LONG_MAX : n);
    if (f->origin != ORIG_TMP)
        return ST_VFS_EBADF;
    if (n == 0)
        return 0;
    if (n > LONG_MAX || (uint64_t)off > (uint64_t)INT64_MAX - n)
        return ST_VFS_EFBIG;
    uint64_t end = (uint64_t)off + n;
    if (end > (uint64_t)f->size) {
        int rc = tmp_resize(vfs, f, end);
        if (rc == ST_VFS_ENOSPC) {
            /* write what fits: the buffer may grow by the room left */
            uint64_t room = vfs->tmp_quota - vfs->tmp_used;
            if ((uint64_t)off >= (uint64_t)f->cap + room)
                return ST_VFS_ENOSPC;
            end = (uint64_t)f->cap + room;
            if (end < (uint64_t)f->size)
                end = (uint64_t)f->size;
            if (end <= (uint64_t)off)
                return ST_VFS_ENOSPC;
            n = (size_t)(end - (uint64_t)off);
            rc = tmp_resize(vfs, f, end);
        }
        if (rc < 0)
            return rc;
    }
    memcpy(f->data + off, buf, n);
    return (long)n;
}

static struct ofd *writable(struct st_vfs *vfs, int fd, int *rc)
{
    struct ofd *o = fd_get(vfs, fd);
    *rc = 0;
    if (!o || (o->flags & O_ACCMODE) == O_RDONLY ||
        (o->kind != ST_VFS_FD_FILE && o->kind != ST_VFS_FD_DEVICE))
        *rc = ST_VFS_EBADF;
    return *rc ? NULL : o;
}

long st_vfs_write(struct st_vfs *vfs, int fd, const void *buf, size_t n)
{
    int rc;
    struct ofd *o = writable(vfs, fd, &rc);
    if (!o)
        return rc;
    if ((o->flags & O_APPEND) && o->kind == ST_VFS_FD_FILE)
        o->off = o->node->size;
    long r = write_at(vfs, o, buf, n, o->off);
    if (r > 0 && o->kind == ST_VFS_FD_FILE)
        o->off += r;
    return r;
}

long st_vfs_pwrite(struct st_vfs *vfs, int fd, const void *buf, size_t n, int64_t offset)
{
    int rc;
    struct ofd *o = writable(vfs, fd, &rc);
    if (!o)
        return rc;
    if (offset < 0)
        return ST_VFS_EINVAL;
    /* Linux: pwrite on an O_APPEND file appends */
    if ((o->flags & O_APPEND) && o->kind == ST_VFS_FD_FILE)
        offset = o->node->size;
    return write_at(vfs, o, buf, n, offset);
}

int64_t st_vfs_lseek(struct st_vfs *vfs, int fd, int64_t offset, int whence)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    switch (o->kind) {
    case ST_VFS_FD_FILE:
        break;
    case ST_VFS_FD_DEVICE:
        return whence == SEEK_SET || whence == SEEK_CUR || whence == SEEK_END ? 0 : ST_VFS_EINVAL;
    case ST_VFS_FD_DIR:
        if (whence == SEEK_SET && offset == 0) {
            o->pos = 0;
            o->listed = 0;
            return 0;
        }
        return ST_VFS_EINVAL;
    default:
        return ST_VFS_ESPIPE;
    }
    int64_t base;
    if (whence == SEEK_SET)
        base = 0;
    else if (whence == SEEK_CUR)
        base = o->off;
    else if (whence == SEEK_END)
        base = o->node->size;
    else
        return ST_VFS_EINVAL;
    if ((offset > 0 && base > INT64_MAX - offset) || base + offset < 0)
        return ST_VFS_EINVAL;
    o->off = base + offset;
    return o->off;
}

int st_vfs_ftruncate(struct st_vfs *vfs, int fd, int64_t length)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    if (length < 0)
        return ST_VFS_EINVAL;
    if (o->kind != ST_VFS_FD_FILE || (o->flags & O_ACCMODE) == O_RDONLY)
        return ST_VFS_EINVAL;
    if (o->node->origin != ORIG_TMP)
        return ST_VFS_EROFS;
    return tmp_resize(vfs, o->node, (uint64_t)length);
}

/* ---------------------------------------------------------- stat & co */

int st_vfs_stat(struct st_vfs *vfs, int dirfd, const char *path, int flags, struct st_vfs_stat *st)
{
    struct node *n;
    int rc = resolve_node(vfs, dirfd, path, !(flags & ST_VFS_AT_SYMLINK_NOFOLLOW), &n);
    if (rc < 0)
        return rc;
    if (n->type == N_LINK && !n->mnt->follow_symlinks)
        return ST_VFS_EACCES;
    node_stat(n, st);
    return 0;
}

int st_vfs_fstat(struct st_vfs *vfs, int fd, struct st_vfs_stat *st)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    if (!o->node) {
        memset(st, 0, sizeof *st);
        st->dev = STDIO_DEV;
        st->ino = STDIO_INO;
        st->nlink = 1;
        st->mode = S_IFIFO | 0600;
        st->uid = vfs->opt.uid;
        st->gid = vfs->opt.gid;
        return 0;
    }
    node_stat(o->node, st);
    return 0;
}

/* chmod on a node: the guest owns what it made in the writable /tmp; the
 * rest of its tree is read-only. */
static int node_chmod(struct node *n, unsigned mode)
{
    if (n->origin != ORIG_TMP)
        return ST_VFS_EROFS;
    n->perm = mode & 07777;
    return 0;
}

int st_vfs_chmod(struct st_vfs *vfs, int dirfd, const char *path, unsigned mode, int flags)
{
    if (flags & ~ST_VFS_AT_SYMLINK_NOFOLLOW)
        return ST_VFS_EINVAL;
    struct node *n;
    int rc = resolve_node(vfs, dirfd, path, !(flags & ST_VFS_AT_SYMLINK_NOFOLLOW), &n);
    if (rc < 0)
        return rc;
    return node_chmod(n, mode);
}

int st_vfs_fchmod(struct st_vfs *vfs, int fd, unsigned mode)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    if (!o->node)
        return ST_VFS_EPERM;
    return node_chmod(o->node, mode);
}

int st_vfs_access(struct st_vfs *vfs, int dirfd, const char *path, int mode, int flags)
{
    if (mode & ~(R_OK | W_OK | X_OK))
        return ST_VFS_EINVAL;
    struct node *n;
    int rc = resolve_node(vfs, dirfd, path, !(flags & ST_VFS_AT_SYMLINK_NOFOLLOW), &n);
    if (rc < 0)
        return rc;
    if (n->type == N_LINK && !n->mnt->follow_symlinks)
        return ST_VFS_EACCES;
    if ((mode & R_OK) && !(n->perm & 0444))
        return ST_VFS_EACCES;
    if ((mode & X_OK) && !(n->perm & 0111))
        return ST_VFS_EACCES;
    if (mode & W_OK) {
        if (n->type == N_NULL || n->type == N_URANDOM)
            return 0;
        if (n->origin != ORIG_TMP)
            return ST_VFS_EROFS;
        if (!(n->perm & 0222))
            return ST_VFS_EACCES;
    }
    return 0;
}

long st_vfs_readlink(struct st_vfs *vfs, int dirfd, const char *path, char *buf, size_t n)
{
    struct node *l;
    int rc = resolve_node(vfs, dirfd, path, 0, &l);
    if (rc < 0)
        return rc;
    if (l->type != N_LINK)
        return ST_VFS_EINVAL;
    /* only a link that resolves inside the mount may be read */
    int hops = 0;
    struct node *t;
    rc = follow_link(vfs, l, &hops, &t);
    if (rc < 0 && rc != ST_VFS_ENOENT)
        return rc;
    if (n == 0)
        return ST_VFS_EINVAL;
    size_t len = strlen(l->link);
    if (len > n)
        len = n;
    memcpy(buf, l->link, len);
    return (long)len;
}

/* ------------------------------------------------- changes inside /tmp */

int st_vfs_mkdir(struct st_vfs *vfs, int dirfd, const char *path, unsigned mode)
{
    struct walk w;
    int rc = resolve(vfs, dirfd, path, 0, &w);
    if (rc == ST_VFS_ENOTDIR && path && path[0] && path[strlen(path) - 1] == '/')
        return rc;
    if (rc < 0)
        return rc;
    if (w.node)
        return ST_VFS_EEXIST;
    if (!is_writable_dir(w.parent))
        return ST_VFS_EROFS;
    struct node *d;
    return tmp_node_add(vfs, &w, N_DIR, mode, &d);
}

int st_vfs_unlink(struct st_vfs *vfs, int dirfd, const char *path, int flags)
{
    if (flags & ~ST_VFS_AT_REMOVEDIR)
        return ST_VFS_EINVAL;
    if (flags & ST_VFS_AT_REMOVEDIR)
        return st_vfs_rmdir(vfs, dirfd, path);
    struct walk w;
    int rc = resolve(vfs, dirfd, path, 0, &w);
    if (rc < 0)
        return rc;
    struct node *n = w.node;
    if (!n)
        return ST_VFS_ENOENT;
    if (n->type == N_DIR)
        return ST_VFS_EISDIR;
    if (!n->parent || !is_writable_dir(n->parent))
        return ST_VFS_EROFS;
    kid_detach(n);
    node_unref(vfs, n);
    return 0;
}

int st_vfs_rmdir(struct st_vfs *vfs, int dirfd, const char *path)
{
    struct walk w;
    int rc = resolve(vfs, dirfd, path, 0, &w);
    if (rc < 0)
        return rc;
    struct node *n = w.node;
    if (!n)
        return ST_VFS_ENOENT;
    if (n->type != N_DIR)
        return ST_VFS_ENOTDIR;
    if (w.last_dot)
        return strcmp(w.name, "..") == 0 ? ST_VFS_ENOTEMPTY : ST_VFS_EINVAL;
    if (!n->parent || !is_writable_dir(n->parent) || n->origin != ORIG_TMP)
        return ST_VFS_EROFS;
    if (n->nkids)
        return ST_VFS_ENOTEMPTY;
    kid_detach(n);
    node_unref(vfs, n);
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
    int rc = resolve(vfs, olddirfd, oldpath, 0, &ow);
    if (rc < 0)
        return rc;
    if (!ow.node)
        return ST_VFS_ENOENT;
    rc = resolve(vfs, newdirfd, newpath, 0, &nw);
    if (rc < 0)
        return rc;
    struct node *src = ow.node, *dst = nw.node;
    if (ow.last_dot || nw.last_dot)
        return ST_VFS_EINVAL;
    if (!src->parent || !is_writable_dir(src->parent) || src->origin != ORIG_TMP ||
        !is_writable_dir(nw.parent))
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
    char *name = dup_str(nw.name);
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
        kid_detach(dst);
        node_unref(vfs, dst);
    }
    kid_detach(src);
    free(src->name);
    src->name = name;
    kid_add(np, src);   /* cannot fail: room was made and the name is free */
    node_unref(vfs, src); /* kid_add took a new reference for the link */
    return 0;
}

/* -------------------------------------------------------------- cwd */

static int set_cwd(struct st_vfs *vfs, struct node *n)
{
    if (n->type != N_DIR)
        return ST_VFS_ENOTDIR;
    node_ref(n);
    node_unref(vfs, vfs->cwd);
    vfs->cwd = n;
    return 0;
}

int st_vfs_chdir(struct st_vfs *vfs, const char *path)
{
    struct node *n;
    int rc = resolve_node(vfs, ST_VFS_AT_FDCWD, path, 1, &n);
    if (rc < 0)
        return rc;
    return set_cwd(vfs, n);
}

int st_vfs_fchdir(struct st_vfs *vfs, int fd)
{
    struct node *n = fd_node(vfs, fd);
    if (!n)
        return fd_get(vfs, fd) ? ST_VFS_ENOTDIR : ST_VFS_EBADF;
    return set_cwd(vfs, n);
}

long st_vfs_getcwd(struct st_vfs *vfs, char *buf, size_t n)
{
    struct node *c = get_cwd(vfs);
    if (!c)
        return ST_VFS_ENOENT;
    if (n == 0)
        return ST_VFS_EINVAL;
    return node_path(c, buf, n);
}

/* --------------------------------------------------------- directories */

static int cmp_dirent(const void *a, const void *b)
{
    return strcmp(((const struct st_vfs_dirent *)a)->name, ((const struct st_vfs_dirent *)b)->name);
}

static int list_add(struct st_vfs *vfs, struct ofd *o, size_t *cap, const struct node *k)
{
    if (o->nlist >= MAX_LISTING)
        return 0;
    if (o->nlist == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        size_t grow = (nc - *cap) * sizeof *o->list;
        if (vfs->listing_bytes + grow > LISTING_BUDGET)
            return ST_VFS_ENOMEM;
        struct st_vfs_dirent *nl = realloc(o->list, nc * sizeof *nl);
        if (!nl)
            return ST_VFS_ENOMEM;
        o->list = nl;
        o->listcap = nc;
        vfs->listing_bytes += grow;
        *cap = nc;
    }
    struct st_vfs_dirent *d = &o->list[o->nlist++];
    d->ino = k->ino;
    d->type = dirent_type(k);
    snprintf(d->name, sizeof d->name, "%s", k->name);
    return 0;
}

/* Takes the listing of a directory fd. */
static int list_dir(struct st_vfs *vfs, struct ofd *o)
{
    struct node *dir = o->node;
    size_t cap = 0;
    list_release(vfs, o);
    if (dir->origin != ORIG_MOUNT) {
        for (size_t i = 0; i < dir->nkids; i++) {
            int rc = list_add(vfs, o, &cap, dir->kids[i]);
            if (rc < 0)
                return rc;
        }
        o->listed = 1;
        return 0;
    }
    int fd = mount_open(dir->mnt, dir->rel, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return fd;
    int pfd = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* stays open for the lookups below */
    DIR *d = pfd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        close(fd);
        if (pfd >= 0)
            close(pfd);
        return -e;
    }
    /* names first (materializing while iterating would re-open the dir) */
    char **names = NULL;
    size_t nn = 0, capn = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (nn >= MAX_LISTING)
            break;
        char **nnames = st_grow(names, &capn, nn + 1, sizeof *nnames, 16, MAX_LISTING);
        if (!nnames) {
            rc = ST_VFS_ENOMEM;
            break;
        }
        names = nnames;
        if (!(names[nn] = dup_str(de->d_name))) {
            rc = ST_VFS_ENOMEM;
            break;
        }
        nn++;
    }
    closedir(d);
    for (size_t i = 0; i < nn; i++) {
        struct node *k;
        if (rc == 0 && mount_child_at(vfs, dir, names[i], pfd, &k) == 0)
            rc = list_add(vfs, o, &cap, k);
        free(names[i]);
    }
    close(pfd);
    free(names);
    if (rc < 0)
        return rc;
    if (o->nlist > 1)
        qsort(o->list, o->nlist, sizeof *o->list, cmp_dirent);
    o->listed = 1;
    return 0;
}

int st_vfs_readdir(struct st_vfs *vfs, int fd, struct st_vfs_dirent *d)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    if (o->kind != ST_VFS_FD_DIR)
        return ST_VFS_ENOTDIR;
    if (!o->listed) {
        int rc = list_dir(vfs, o);
        if (rc < 0)
            return rc;
    }
    if (o->pos >= o->nlist)
        return 0;
    *d = o->list[o->pos++];
    return 1;
}

int st_vfs_rewinddir(struct st_vfs *vfs, int fd)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    if (o->kind != ST_VFS_FD_DIR)
        return ST_VFS_ENOTDIR;
    o->listed = 0;
    o->pos = 0;
    return 0;
}

int st_vfs_dir_bind(struct st_vfs *vfs, int fd, uint64_t dirp)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    if (o->kind != ST_VFS_FD_DIR)
        return ST_VFS_ENOTDIR;
    if (dirp && st_vfs_dir_lookup(vfs, dirp) >= 0)
        return ST_VFS_EEXIST;
    vfs->fds[fd].dirp = dirp;
    return 0;
}

uint64_t st_vfs_dir_handle(const struct st_vfs *vfs, int fd)
{
    return fd_get(vfs, fd) ? vfs->fds[fd].dirp : 0;
}

int st_vfs_dir_lookup(const struct st_vfs *vfs, uint64_t dirp)
{
    if (!dirp)
        return ST_VFS_EBADF;
    for (unsigned i = 0; i < vfs->max_fds; i++)
        if (vfs->fds[i].o && vfs->fds[i].dirp == dirp)
            return (int)i;
    return ST_VFS_EBADF;
}

/* ---------------------------------------------------------------- flags */

int st_vfs_get_cloexec(const struct st_vfs *vfs, int fd)
{
    return fd_get(vfs, fd) ? vfs->fds[fd].cloexec : ST_VFS_EBADF;
}

int st_vfs_set_cloexec(struct st_vfs *vfs, int fd, int on)
{
    if (!fd_get(vfs, fd))
        return ST_VFS_EBADF;
    vfs->fds[fd].cloexec = on != 0;
    return 0;
}

int st_vfs_get_status_flags(const struct st_vfs *vfs, int fd)
{
    struct ofd *o = fd_get(vfs, fd);
    return o ? o->flags : ST_VFS_EBADF;
}

int st_vfs_set_status_flags(struct st_vfs *vfs, int fd, int flags)
{
    struct ofd *o = fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    o->flags = (o->flags & O_ACCMODE) | (flags & (O_APPEND | O_NONBLOCK));
    return 0;
}
