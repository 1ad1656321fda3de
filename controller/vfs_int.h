/* The virtual file system's insides, shared by controller/vfs.c,
 * vfs_tree.c, vfs_mount.c, vfs_path.c and vfs_fd.c (see vfs.c for the
 * model). Not installed. */
#ifndef SANDTRACE_CONTROLLER_VFS_INT_H
#define SANDTRACE_CONTROLLER_VFS_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "controller/vfs.h"

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

struct walk {
    struct node *parent;  /* the directory holding the last component */
    struct node *node;    /* the node, or NULL when the last component is missing */
    char name[ST_VFS_NAME_MAX + 1]; /* the last component */
    int last_dot;         /* the last component was "." or ".." (or the path was "/") */
    int trailing_slash;
};

/* Shared helpers: hidden, so that they stay out of the dynamic symbol
 * table (the program is linked with -rdynamic for plugins). */
#pragma GCC visibility push(hidden)

/* vfs_tree.c (nodes and /tmp data) */
char *vfs_dup_str(const char *s);
struct node *vfs_node_new(struct st_vfs *vfs, enum node_type type, enum node_origin origin,
                          const char *name);
void vfs_node_ref(struct node *n);
void vfs_node_unref(struct st_vfs *vfs, struct node *n);
void vfs_node_destroy(struct st_vfs *vfs, struct node *n);
struct node *vfs_kid_find(const struct node *dir, const char *name);
int vfs_kid_add(struct node *dir, struct node *k);
void vfs_kid_detach(struct node *k);
int vfs_is_writable_dir(const struct node *n);
long vfs_node_path(const struct node *n, char *buf, size_t cap);
int vfs_tmp_node_add(struct st_vfs *vfs, const struct walk *w, enum node_type type,
                     unsigned mode, struct node **out);
int vfs_tmp_resize(struct st_vfs *vfs, struct node *f, uint64_t len);

/* vfs_mount.c (mounts) */
int vfs_mount_open(const struct mount *m, const char *rel, int flags);
unsigned vfs_real_perm(mode_t m);
int vfs_mount_child_at(struct st_vfs *vfs, struct node *dir, const char *name, int parent_fd,
                       struct node **out);
int vfs_lookup_child(struct st_vfs *vfs, struct node *dir, const char *name, struct node **out);
void vfs_mount_free(struct mount *m);
int vfs_mount_new(const char *real_dir, const struct st_mount_options *o, struct mount **out);

/* vfs_path.c (resolution) */
int vfs_follow_link(struct st_vfs *vfs, struct node *l, int *hops, struct node **out);
int vfs_path_next_component(const char **p, char comp[ST_VFS_NAME_MAX + 1]);
int vfs_walk_path(struct st_vfs *vfs, struct node *start, const char *path, int follow_last,
                  struct node *confine, int *hops, struct walk *w);
int vfs_resolve(struct st_vfs *vfs, int dirfd, const char *path, int follow_last, struct walk *w);
int vfs_resolve_node(struct st_vfs *vfs, int dirfd, const char *path, int follow_last,
                     struct node **out);

/* vfs_fd.c (fd table) */
struct ofd *vfs_ofd_new(int kind, int flags);
void vfs_ofd_unref(struct st_vfs *vfs, struct ofd *o);
struct ofd *vfs_fd_get(const struct st_vfs *vfs, int fd);
struct node *vfs_fd_node(struct st_vfs *vfs, int fd);

#pragma GCC visibility pop

#endif
