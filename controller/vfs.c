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
 * Every real access goes through vfs_mount_open(), which walks from the
 * mount's root fd one component at a time with O_NOFOLLOW: the kernel never
 * follows a symlink for us, and `..` never reaches it (the virtual resolver
 * handles `..` itself).
 *
 * This file: the error texts, building the world (st_vfs_new, the add_*
 * calls, mounts, /tmp, /proc) and exporting /tmp. The rest lives in
 * vfs_tree.c (nodes, /tmp data and the changes made inside /tmp),
 * vfs_mount.c (real directories below a mount), vfs_path.c (path
 * resolution, the cwd) and vfs_fd.c (the fd table and the calls on fds);
 * vfs_int.h holds what they share. */
#include "controller/vfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        int l = vfs_path_next_component(&p, comp);
        if (l < 0)
            return l;
        if (l == 0)
            break;
        if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
            return ST_VFS_EINVAL;
        if (cur->origin != ORIG_VIRT || cur->type != N_DIR)
            return ST_VFS_EEXIST;
        struct node *k = vfs_kid_find(cur, comp);
        if (!k) {
            k = vfs_node_new(vfs, N_DIR, ORIG_VIRT, comp);
            if (!k)
                return ST_VFS_ENOMEM;
            int rc = vfs_kid_add(cur, k);
            if (rc < 0) {
                vfs_node_destroy(vfs, k);
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
        leaf->name = vfs_dup_str(name);
        rc = leaf->name ? vfs_kid_add(dir, leaf) : ST_VFS_ENOMEM;
    }
    if (rc < 0)
        vfs_node_destroy(vfs, leaf);
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
    vfs->cwd_path = vfs_dup_str(cwd);
    vfs->fds = calloc(max_fds, sizeof *vfs->fds);
    vfs->root = vfs_node_new(vfs, N_DIR, ORIG_VIRT, "");
    if (!vfs->cwd_path || !vfs->fds || !vfs->root)
        goto fail;
    vfs_node_ref(vfs->root);
    static const int kinds[3] = { ST_VFS_FD_STDIN, ST_VFS_FD_STDOUT, ST_VFS_FD_STDERR };
    for (int i = 0; i < 3; i++) {
        vfs->fds[i].o = vfs_ofd_new(kinds[i], i == 0 ? O_RDONLY : O_WRONLY);
        if (!vfs->fds[i].o)
            goto fail;
    }
    struct node *dir;
    if (mkdir_p(vfs, "/dev", &dir) < 0 || mkdir_p(vfs, "/tmp", &dir) < 0)
        goto fail;
    struct node *null = vfs_node_new(vfs, N_NULL, ORIG_VIRT, "null");
    if (!null || add_leaf(vfs, "/dev/null", null) < 0)
        goto fail;
    struct node *ur = vfs_node_new(vfs, N_URANDOM, ORIG_VIRT, "urandom");
    if (!ur || add_leaf(vfs, "/dev/urandom", ur) < 0)
        goto fail;
    null->perm = ur->perm = 0666;
    return vfs;
fail:
    st_vfs_free(vfs);
    return NULL;
}

void st_vfs_free(struct st_vfs *vfs)
{
    if (!vfs)
        return;
    if (vfs->fds)
        for (unsigned i = 0; i < vfs->max_fds; i++)
            vfs_ofd_unref(vfs, vfs->fds[i].o);
    free(vfs->fds);
    vfs_node_unref(vfs, vfs->cwd);
    if (vfs->root)
        vfs_node_unref(vfs, vfs->root);
    for (size_t i = 0; i < vfs->nmounts; i++)
        vfs_mount_free(vfs->mounts[i]);
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
    struct node *f = vfs_node_new(vfs, N_FILE, ORIG_VIRT, "-");
    if (!f)
        return ST_VFS_ENOMEM;
    f->perm = mode & 07777;
    if (len) {
        f->data = malloc(len);
        if (!f->data) {
            vfs_node_destroy(vfs, f);
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
    struct node *f = vfs_node_new(vfs, N_FILE, ORIG_REAL, "-");
    if (!f)
        return ST_VFS_ENOMEM;
    f->real_path = vfs_dup_str(real_path);
    if (!f->real_path) {
        vfs_node_destroy(vfs, f);
        return ST_VFS_ENOMEM;
    }
    f->size = st.st_size;
    f->perm = vfs_real_perm(st.st_mode);
    return add_leaf(vfs, path, f);
}

/* Removes an empty virtual directory at `path` so that something else can
 * take its place (the default /tmp). 0 when there was nothing there. */
static int replace_empty_dir(struct st_vfs *vfs, const char *path)
{
    struct walk w;
    int hops = 0;
    if (vfs_walk_path(vfs, vfs->root, path, 0, NULL, &hops, &w) < 0 || !w.node)
        return 0;
    struct node *n = w.node;
    if (n == vfs->root || n->type != N_DIR || n->origin != ORIG_VIRT || n->nkids)
        return ST_VFS_EEXIST;
    if (vfs->cwd == n) {
        vfs_node_unref(vfs, vfs->cwd);
        vfs->cwd = NULL;
    }
    vfs_kid_detach(n);
    vfs_node_unref(vfs, n);
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
    struct node *old = vfs_kid_find(dir, name);
    if (old && (old->type != N_DIR || old->origin != ORIG_VIRT || old->nkids))
        return ST_VFS_EEXIST;
    struct mount *m;
    if ((rc = vfs_mount_new(real_dir, o, &m)) < 0)
        return rc;
    struct mount **ms = realloc(vfs->mounts, (vfs->nmounts + 1) * sizeof *ms);
    if (ms)
        vfs->mounts = ms;
    struct node *root = ms ? vfs_node_new(vfs, N_DIR, ORIG_MOUNT, name) : NULL;
    if (!root || !(root->rel = vfs_dup_str(""))) {
        if (root)
            vfs_node_destroy(vfs, root);
        vfs_mount_free(m);
        return ST_VFS_ENOMEM;
    }
    root->mnt = m;
    if (old) {
        if (vfs->cwd == old) {
            vfs_node_unref(vfs, vfs->cwd);
            vfs->cwd = NULL;
        }
        vfs_kid_detach(old);
        vfs_node_unref(vfs, old);
    }
    rc = vfs_kid_add(dir, root);
    if (rc < 0) {
        vfs_node_destroy(vfs, root);
        vfs_mount_free(m);
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
    struct node *t = vfs_node_new(vfs, N_DIR, ORIG_TMP, "tmp");
    if (!t)
        return ST_VFS_ENOMEM;
    t->uid = vfs->opt.uid;
    t->gid = vfs->opt.gid;
    t->perm = 0777;
    rc = vfs_kid_add(vfs->root, t);
    if (rc < 0) {
        vfs_node_destroy(vfs, t);
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
