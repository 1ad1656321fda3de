/* The virtual file system: the fd table and the calls on fds (open/close,
 * read/write, stat & co, directories, flags), and the stat/dirent
 * encodings. See vfs.c and vfs_int.h. */
#include "controller/vfs_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/st_buf.h"
#include "common/st_util.h"

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

struct ofd *vfs_ofd_new(int kind, int flags)
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

void vfs_ofd_unref(struct st_vfs *vfs, struct ofd *o)
{
    if (!o || --o->refs > 0)
        return;
    if (o->realfd >= 0)
        close(o->realfd);
    list_release(vfs, o);
    vfs_node_unref(vfs, o->node);
    free(o);
}

struct ofd *vfs_fd_get(const struct st_vfs *vfs, int fd)
{
    if (fd < 0 || (unsigned)fd >= vfs->max_fds)
        return NULL;
    return vfs->fds[fd].o;
}

struct node *vfs_fd_node(struct st_vfs *vfs, int fd)
{
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    struct ofd *o = vfs_fd_get(vfs, fd);
    return o ? o->kind : ST_VFS_EBADF;
}

unsigned st_vfs_open_fds(const struct st_vfs *vfs)
{
    unsigned n = 0;
    for (unsigned i = 0; i < vfs->max_fds; i++)
        n += vfs->fds[i].o != NULL;
    return n;
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
    struct ofd *o = vfs_ofd_new(kind, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
    if (!o)
        return ST_VFS_ENOMEM;
    if (kind == ST_VFS_FD_FILE && n->origin == ORIG_MOUNT) {
        o->realfd = vfs_mount_open(n->mnt, n->rel, O_RDONLY | O_NONBLOCK);
    } else if (kind == ST_VFS_FD_FILE && n->origin == ORIG_REAL) {
        o->realfd = open(n->real_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (o->realfd < 0)
            o->realfd = -errno;
    }
    if (o->realfd < -1) {
        int e = o->realfd;
        o->realfd = -1;
        vfs_ofd_unref(vfs, o);
        return e == ST_VFS_ELOOP || e == ST_VFS_ENOTDIR ? ST_VFS_ENOENT : e;
    }
    if (o->realfd >= 0) {
        struct stat st;
        if (fstat(o->realfd, &st) < 0 || !S_ISREG(st.st_mode)) {
            vfs_ofd_unref(vfs, o);
            return ST_VFS_EACCES;
        }
    }
    o->node = n;
    vfs_node_ref(n);
    if ((flags & O_TRUNC) && n->origin == ORIG_TMP && n->type == N_FILE)
        vfs_tmp_resize(vfs, n, 0);
    *out = o;
    return 0;
}

int st_vfs_open(struct st_vfs *vfs, int dirfd, const char *path, int flags, unsigned mode)
{
    int excl_creat = (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
    struct walk w;
    int rc = vfs_resolve(vfs, dirfd, path, !(flags & O_NOFOLLOW) && !excl_creat, &w);
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
        if (!vfs_is_writable_dir(w.parent))
            return ST_VFS_EROFS;
        if ((flags & O_ACCMODE) == O_ACCMODE)
            return ST_VFS_EINVAL;
        if ((rc = vfs_tmp_node_add(vfs, &w, N_FILE, mode, &n)) < 0)
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
    struct ofd *o = vfs_fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    vfs->fds[fd].o = NULL;
    vfs->fds[fd].dirp = 0;
    vfs_ofd_unref(vfs, o);
    return 0;
}

int st_vfs_dup(struct st_vfs *vfs, int fd)
{
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    struct ofd *o = vfs_fd_get(vfs, fd);
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
        int rc = vfs_tmp_resize(vfs, f, end);
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
            rc = vfs_tmp_resize(vfs, f, end);
        }
        if (rc < 0)
            return rc;
    }
    memcpy(f->data + off, buf, n);
    return (long)n;
}

static struct ofd *writable(struct st_vfs *vfs, int fd, int *rc)
{
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    struct ofd *o = vfs_fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    if (length < 0)
        return ST_VFS_EINVAL;
    if (o->kind != ST_VFS_FD_FILE || (o->flags & O_ACCMODE) == O_RDONLY)
        return ST_VFS_EINVAL;
    if (o->node->origin != ORIG_TMP)
        return ST_VFS_EROFS;
    return vfs_tmp_resize(vfs, o->node, (uint64_t)length);
}

/* ---------------------------------------------------------- stat & co */

int st_vfs_stat(struct st_vfs *vfs, int dirfd, const char *path, int flags, struct st_vfs_stat *st)
{
    struct node *n;
    int rc = vfs_resolve_node(vfs, dirfd, path, !(flags & ST_VFS_AT_SYMLINK_NOFOLLOW), &n);
    if (rc < 0)
        return rc;
    if (n->type == N_LINK && !n->mnt->follow_symlinks)
        return ST_VFS_EACCES;
    node_stat(n, st);
    return 0;
}

int st_vfs_fstat(struct st_vfs *vfs, int fd, struct st_vfs_stat *st)
{
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    int rc = vfs_resolve_node(vfs, dirfd, path, !(flags & ST_VFS_AT_SYMLINK_NOFOLLOW), &n);
    if (rc < 0)
        return rc;
    return node_chmod(n, mode);
}

int st_vfs_fchmod(struct st_vfs *vfs, int fd, unsigned mode)
{
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    int rc = vfs_resolve_node(vfs, dirfd, path, !(flags & ST_VFS_AT_SYMLINK_NOFOLLOW), &n);
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
    int rc = vfs_resolve_node(vfs, dirfd, path, 0, &l);
    if (rc < 0)
        return rc;
    if (l->type != N_LINK)
        return ST_VFS_EINVAL;
    /* only a link that resolves inside the mount may be read */
    int hops = 0;
    struct node *t;
    rc = vfs_follow_link(vfs, l, &hops, &t);
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
    int fd = vfs_mount_open(dir->mnt, dir->rel, O_RDONLY | O_DIRECTORY);
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
        if (!(names[nn] = vfs_dup_str(de->d_name))) {
            rc = ST_VFS_ENOMEM;
            break;
        }
        nn++;
    }
    closedir(d);
    for (size_t i = 0; i < nn; i++) {
        struct node *k;
        if (rc == 0 && vfs_mount_child_at(vfs, dir, names[i], pfd, &k) == 0)
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
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    struct ofd *o = vfs_fd_get(vfs, fd);
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
    return vfs_fd_get(vfs, fd) ? vfs->fds[fd].dirp : 0;
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
    return vfs_fd_get(vfs, fd) ? vfs->fds[fd].cloexec : ST_VFS_EBADF;
}

int st_vfs_set_cloexec(struct st_vfs *vfs, int fd, int on)
{
    if (!vfs_fd_get(vfs, fd))
        return ST_VFS_EBADF;
    vfs->fds[fd].cloexec = on != 0;
    return 0;
}

int st_vfs_get_status_flags(const struct st_vfs *vfs, int fd)
{
    struct ofd *o = vfs_fd_get(vfs, fd);
    return o ? o->flags : ST_VFS_EBADF;
}

int st_vfs_set_status_flags(struct st_vfs *vfs, int fd, int flags)
{
    struct ofd *o = vfs_fd_get(vfs, fd);
    if (!o)
        return ST_VFS_EBADF;
    o->flags = (o->flags & O_ACCMODE) | (flags & (O_APPEND | O_NONBLOCK));
    return 0;
}
