/* The virtual file system a guest sees: a tree of virtual directories and
 * files, read-only mounts of real directories, an optional writable
 * in-memory /tmp, /dev/null and a deterministic /dev/urandom, the current
 * directory, and the guest's file descriptor table (fds 0, 1, 2 are the
 * standard streams from the start).
 *
 * Pure C: no protocol knowledge. The command line (tools/) builds one with
 * st_vfs_new() and the st_vfs_add_* / st_vfs_mount / st_vfs_*tmp calls; the
 * file handlers (controller/calls/fs*.c) run the guest's requests against it
 * with the "guest operations" below.
 *
 * Errors: every function returns 0 (or a non-negative value it documents) on
 * success, or a negative enum st_vfs_error. The codes ARE negative errno
 * values (ST_VFS_ENOENT == -ENOENT), so a handler answers the guest with
 * E(-rc); st_vfs_strerror() names any of them for messages.
 *
 * Determinism (for recording and replay): stat answers never carry real
 * timestamps, real inode numbers, real owners or real devices. st_dev is 1,
 * inode numbers come from a counter in the order nodes are first seen
 * (stable for a path within a run), times are 0, st_blksize and st_blocks are
 * 0 and st_nlink is 1 (as the reference controller answered). Read-only
 * files and directories (virtual or mounted) are owned by uid/gid 0 with
 * mode 0644 (0755 when any exec bit is set on the real file) and 0755 for
 * directories; files the guest creates in a writable /tmp are owned by
 * options.uid/gid. Directory listings are sorted by name and have no "."
 * or "..". The standard streams stat as FIFOs: st_dev 12, st_ino 120, mode
 * 010600, owner options.uid/gid (the reference controller's exact answer).
 *
 * Confinement: `..` is resolved on the virtual tree and stops at the virtual
 * root; a mount is entered only through its virtual directory and a real
 * path is never handed to the kernel with a symlink in it: every real access
 * walks the mount from its root directory fd component by component with
 * O_NOFOLLOW. In a mount, dotfiles and names matching an exclude pattern do
 * not exist (ENOENT, not listed); fifos, sockets and devices do not exist;
 * symlinks are refused with EACCES unless following is enabled, and even
 * then a link whose target would leave the mount is refused with EACCES.
 * Paths are at most ST_VFS_PATH_MAX - 1 bytes and names at most
 * ST_VFS_NAME_MAX bytes (ENAMETOOLONG). */
#ifndef SANDTRACE_CONTROLLER_VFS_H
#define SANDTRACE_CONTROLLER_VFS_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "controller/registry.h"

#define ST_VFS_PATH_MAX 4096       /* bytes including the NUL, as Linux PATH_MAX */
#define ST_VFS_NAME_MAX 255        /* one path component */
#define ST_VFS_DEFAULT_MAX_FDS 256 /* open guest fds, including 0, 1, 2 */
#define ST_VFS_IO_MAX (256 * 1024) /* what handlers move per read/write call */
#define ST_VFS_SYMLINK_HOPS 40     /* ELOOP beyond this */
#define ST_VFS_TMP_ENTRY_COST 256  /* quota bytes charged per file or directory in /tmp */

enum st_vfs_error {
    ST_VFS_OK = 0,
    ST_VFS_EPERM = -EPERM,
    ST_VFS_ENOENT = -ENOENT,
    ST_VFS_EIO = -EIO,
    ST_VFS_EBADF = -EBADF,
    ST_VFS_ENOMEM = -ENOMEM,
    ST_VFS_EACCES = -EACCES,
    ST_VFS_EEXIST = -EEXIST,
    ST_VFS_EXDEV = -EXDEV,
    ST_VFS_ENOTDIR = -ENOTDIR,
    ST_VFS_EISDIR = -EISDIR,
    ST_VFS_EINVAL = -EINVAL,
    ST_VFS_EMFILE = -EMFILE,
    ST_VFS_ENOTTY = -ENOTTY,
    ST_VFS_EFBIG = -EFBIG,
    ST_VFS_ENOSPC = -ENOSPC,     /* the /tmp quota is exhausted */
    ST_VFS_ESPIPE = -ESPIPE,
    ST_VFS_EROFS = -EROFS,       /* a write outside the writable /tmp */
    ST_VFS_ENAMETOOLONG = -ENAMETOOLONG,
    ST_VFS_ENOSYS = -ENOSYS,
    ST_VFS_ENOTEMPTY = -ENOTEMPTY,
    ST_VFS_ELOOP = -ELOOP,
    ST_VFS_EOVERFLOW = -EOVERFLOW,
    ST_VFS_ERANGE = -ERANGE,
};

/* A short lowercase description of any st_vfs_error (or other negative
 * errno value): "no such file or directory". Never NULL; static storage. */
const char *st_vfs_strerror(int err);

/* ---------------------------------------------------------------- setup */

struct st_vfs_options {
    uint64_t seed;       /* /dev/urandom's stream; default 0 */
    uint32_t uid, gid;   /* owner of the standard streams and of files the
                            guest creates in /tmp; default 1000, 1000 */
    const char *cwd;     /* initial current directory (must exist when the
                            guest starts); NULL means "/tmp" */
    unsigned max_fds;    /* cap on open guest fds (EMFILE beyond); 0 means
                            ST_VFS_DEFAULT_MAX_FDS; at most 4096 */
};

/* Fills `o` with the defaults above. */
void st_vfs_options_init(struct st_vfs_options *o);

/* A new file system holding "/", "/dev", "/dev/null", "/dev/urandom" and an
 * empty read-only "/tmp", with fds 0, 1, 2 open. `o` may be NULL (defaults);
 * it is copied. NULL when out of memory or when an option is invalid. */
struct st_vfs *st_vfs_new(const struct st_vfs_options *o);

/* Closes every real fd it holds and frees everything. Accepts NULL. */
void st_vfs_free(struct st_vfs *vfs);

/* Creates the virtual directory `path` (absolute) and its missing parents,
 * like mkdir -p. Fine when it exists as a virtual directory; EEXIST when the
 * path (or a parent) is a file or a mount. */
int st_vfs_add_dir(struct st_vfs *vfs, const char *path);

/* Adds a read-only virtual file at `path` (absolute; missing parents are
 * created) holding a copy of `data` (`len` bytes, `data` may be NULL when
 * len is 0). `mode` gives the permission bits (e.g. 0755 for an executable);
 * the file type bits are ignored. EEXIST if `path` exists. */
int st_vfs_add_file(struct st_vfs *vfs, const char *path, const void *data, size_t len,
                    unsigned mode);

/* Adds a read-only virtual file at `path` whose content is the real file
 * `real_path` (opened, read-only, each time the guest opens it; its size is
 * taken when added). The real file must be a regular file now (EINVAL
 * otherwise, or the errno of stat). EEXIST if `path` exists. */
int st_vfs_add_real_file(struct st_vfs *vfs, const char *path, const char *real_path);

struct st_mount_options {
    int show_dotfiles;           /* names starting with '.' exist (default 0: hidden) */
    int follow_symlinks;         /* follow symlinks that stay inside the mount (default 0:
                                    every symlink is refused with EACCES) */
    const char *const *exclude;  /* fnmatch(3) patterns; copied. A pattern without '/' */
    size_t n_exclude;            /* matches names, one with '/' the path below the mount */
};

/* Fills `o` with the defaults above (no excludes). */
void st_mount_options_init(struct st_mount_options *o);

/* Mounts the real directory `real_dir` read-only at the virtual `path`
 * (absolute; parents are created as virtual directories). The real
 * directory is opened now (its errno, or ENOTDIR) and stays open until
 * st_vfs_free. `o` may be NULL (defaults). EEXIST if `path` exists, except
 * that an existing empty virtual directory (such as the default /tmp) is
 * replaced. */
int st_vfs_mount(struct st_vfs *vfs, const char *path, const char *real_dir,
                 const struct st_mount_options *o);

/* Makes /tmp a writable in-memory directory (it must still be the default
 * empty /tmp: EEXIST otherwise) whose files and directories may use at most
 * `quota_bytes` (the memory held for file data, the capacity of the files'
 * buffers, plus ST_VFS_TMP_ENTRY_COST per entry; a file's buffer shrinks
 * when it is truncated); beyond it, writes and creations fail with ENOSPC. */
int st_vfs_enable_tmp(struct st_vfs *vfs, uint64_t quota_bytes);

/* Makes the real directory `real_dir` the (read-only) /tmp, as a mount with
 * default options. Same errors as st_vfs_mount. */
int st_vfs_set_real_tmp(struct st_vfs *vfs, const char *real_dir);

/* Copies the writable /tmp's current content into the real directory
 * `real_dir` (created if missing, mode 0700; existing files of the same
 * name are replaced, nothing else is removed). Files are written 0644,
 * directories 0755; no symlink is followed on the real side. EINVAL when
 * /tmp is not writable. Meant to be called when the guest has exited. */
int st_vfs_export_tmp(struct st_vfs *vfs, const char *real_dir);

/* The PyPy layout of the reference controller (its --lib-path): mounts
 * `lib_dir`/lib-python at /lib/lib-python and `lib_dir`/lib_pypy at
 * /lib/lib_pypy (excluding "*.pyc" and "*.pyo" in addition to `o`'s
 * patterns; `o` may be NULL), and adds `exe_path` (e.g. "/lib/pypy", the
 * guest's argv[0]) as an empty virtual file with mode 0755. Either real
 * directory may be missing (then it is not mounted); ENOENT when both are. */
int st_vfs_add_pypy_home(struct st_vfs *vfs, const char *lib_dir, const char *exe_path,
                         const struct st_mount_options *o);

/* The declared virtual machine's /proc: /proc/cpuinfo (one CPU, a 1024 KB
 * cache) and /proc/meminfo (MemTotal `memory_bytes`, or 4 GiB when 0), read
 * only, so that PyPy's GC sizes itself the same on every host. */
int st_vfs_add_virtual_proc(struct st_vfs *vfs, uint64_t memory_bytes);

/* ---------------------------------------------------- guest operations */

/* The *at family's "current directory" dirfd and flags (Linux values). */
#define ST_VFS_AT_FDCWD (-100)
#define ST_VFS_AT_SYMLINK_NOFOLLOW 0x100
#define ST_VFS_AT_REMOVEDIR 0x200
#define ST_VFS_AT_EACCESS 0x200

/* A stat answer; st_vfs_stat_encode() gives the guest's 144-byte layout. */
struct st_vfs_stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    int64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};
#define ST_VFS_STAT_SIZE ST_GUEST_STAT_SIZE
void st_vfs_stat_encode(const struct st_vfs_stat *st, unsigned char out[ST_VFS_STAT_SIZE]);

/* One directory entry, as readdir hands it out. */
struct st_vfs_dirent {
    uint64_t ino;
    unsigned char type;              /* DT_REG, DT_DIR, DT_LNK, DT_CHR */
    char name[ST_VFS_NAME_MAX + 1];
};
#define ST_VFS_DIRENT_SIZE 280
/* The guest's 280-byte struct dirent: d_ino, d_off 0, d_reclen 280, d_type, d_name. */
void st_vfs_dirent_encode(const struct st_vfs_dirent *d, unsigned char out[ST_VFS_DIRENT_SIZE]);

/* What an fd is; st_vfs_fd_kind() returns one, or ST_VFS_EBADF. */
enum st_vfs_fd_kind {
    ST_VFS_FD_STDIN = 1,  /* read: the session's input */
    ST_VFS_FD_STDOUT,     /* write: the session's output, fd 1 */
    ST_VFS_FD_STDERR,     /* write: the session's output, fd 2 */
    ST_VFS_FD_FILE,       /* a regular file (virtual, mounted, /tmp) */
    ST_VFS_FD_DIR,        /* a directory */
    ST_VFS_FD_DEVICE,     /* /dev/null, /dev/urandom */
};
int st_vfs_fd_kind(const struct st_vfs *vfs, int fd);

/* Paths below are NUL-terminated guest paths, relative ones resolved from
 * `dirfd` (ST_VFS_AT_FDCWD: the current directory). Resolution errors:
 * ENOENT, ENOTDIR, EACCES (a refused symlink), ELOOP, ENAMETOOLONG, EBADF
 * (a bad dirfd), and EINVAL for an empty path. */

/* open/openat: `flags` are Linux O_* values (O_RDONLY, O_WRONLY, O_RDWR,
 * O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC;
 * others are ignored). Writing, creating or truncating outside the writable
 * /tmp is EROFS. Returns the lowest free fd, or EMFILE. */
int st_vfs_open(struct st_vfs *vfs, int dirfd, const char *path, int flags, unsigned mode);
/* Closes `fd` (any kind, including 0, 1, 2). EBADF if not open. */
int st_vfs_close(struct st_vfs *vfs, int fd);
/* A new fd sharing fd's open file (offset, status flags); close-on-exec clear. */
int st_vfs_dup(struct st_vfs *vfs, int fd);

/* Reads up to `n` bytes of a FILE or DEVICE fd at its offset (advancing it),
 * or at `offset` for pread (offset unchanged; -1: use and advance the
 * current offset). Returns the count (0 at end of file). EBADF when not
 * open for reading, EISDIR for a directory, EINVAL for a negative offset;
 * standard streams are the caller's business (EBADF here). */
long st_vfs_read(struct st_vfs *vfs, int fd, void *buf, size_t n);
long st_vfs_pread(struct st_vfs *vfs, int fd, void *buf, size_t n, int64_t offset);
/* Writes to a FILE (writable /tmp) or DEVICE fd; O_APPEND honoured. ENOSPC
 * past the quota (a short count if part fitted). */
long st_vfs_write(struct st_vfs *vfs, int fd, const void *buf, size_t n);
long st_vfs_pwrite(struct st_vfs *vfs, int fd, const void *buf, size_t n, int64_t offset);
/* SEEK_SET/CUR/END on a FILE, DIR or DEVICE fd; ESPIPE for the standard
 * streams; EINVAL for a bad whence or a negative result. */
int64_t st_vfs_lseek(struct st_vfs *vfs, int fd, int64_t offset, int whence);
/* Truncates (or zero-extends) a writable /tmp file open for writing. */
int st_vfs_ftruncate(struct st_vfs *vfs, int fd, int64_t length);

/* stat/lstat/fstatat (flags: ST_VFS_AT_SYMLINK_NOFOLLOW) and fstat. */
int st_vfs_stat(struct st_vfs *vfs, int dirfd, const char *path, int flags, struct st_vfs_stat *st);
int st_vfs_fstat(struct st_vfs *vfs, int fd, struct st_vfs_stat *st);
/* access/faccessat: mode F_OK or R_OK|W_OK|X_OK checked against the
 * permission bits as the owner would see them; W_OK only inside the
 * writable /tmp (EROFS otherwise), X_OK needs an exec bit (EACCES). */
int st_vfs_access(struct st_vfs *vfs, int dirfd, const char *path, int mode, int flags);
/* The permission bits of a node the guest made in the writable /tmp;
 * EROFS anywhere else (flags: ST_VFS_AT_SYMLINK_NOFOLLOW). */
int st_vfs_chmod(struct st_vfs *vfs, int dirfd, const char *path, unsigned mode, int flags);
int st_vfs_fchmod(struct st_vfs *vfs, int fd, unsigned mode);
/* readlink/readlinkat: the target of a mount's symlink when following is
 * enabled and the target stays in the mount (EACCES otherwise); EINVAL for
 * anything that is not a symlink. Copies at most `n` bytes (no NUL), returns
 * the count. */
long st_vfs_readlink(struct st_vfs *vfs, int dirfd, const char *path, char *buf, size_t n);

/* Changes inside the writable /tmp only (EROFS elsewhere). */
int st_vfs_mkdir(struct st_vfs *vfs, int dirfd, const char *path, unsigned mode);
/* unlink/unlinkat; flags ST_VFS_AT_REMOVEDIR makes it rmdir. */
int st_vfs_unlink(struct st_vfs *vfs, int dirfd, const char *path, int flags);
int st_vfs_rmdir(struct st_vfs *vfs, int dirfd, const char *path);
int st_vfs_rename(struct st_vfs *vfs, int olddirfd, const char *oldpath, int newdirfd,
                  const char *newpath);

/* The current directory. getcwd copies the absolute path with its NUL into
 * `buf` (`n` bytes; ERANGE if too small) and returns its length. */
int st_vfs_chdir(struct st_vfs *vfs, const char *path);
int st_vfs_fchdir(struct st_vfs *vfs, int fd);
long st_vfs_getcwd(struct st_vfs *vfs, char *buf, size_t n);

/* Directory streams. A DIR fd is a directory fd; its listing is taken at the
 * first readdir (or after rewind), at most 100000 entries, and all open
 * listings together hold at most 32 MiB (ENOMEM beyond). st_vfs_readdir
 * returns 1 with `d` filled, 0 at the end, or a negative error. */
int st_vfs_readdir(struct st_vfs *vfs, int fd, struct st_vfs_dirent *d);
int st_vfs_rewinddir(struct st_vfs *vfs, int fd);
/* st_vfs_dir_bind records the guest's DIR * for a directory fd (ENOTDIR
 * for another fd, EEXIST when another fd has that pointer); closing the fd
 * forgets it. st_vfs_dir_handle gives an fd's DIR * (0 when none), and
 * st_vfs_dir_lookup the fd of a DIR * handed out (ST_VFS_EBADF for any
 * other pointer, including 0). */
int st_vfs_dir_bind(struct st_vfs *vfs, int fd, uint64_t dirp);
uint64_t st_vfs_dir_handle(const struct st_vfs *vfs, int fd);
int st_vfs_dir_lookup(const struct st_vfs *vfs, uint64_t dirp);

/* Descriptor flags: close-on-exec (FD_CLOEXEC) per fd, status flags
 * (O_APPEND, O_NONBLOCK and the access mode) per open file. Setting status
 * flags changes O_APPEND and O_NONBLOCK only. */
int st_vfs_get_cloexec(const struct st_vfs *vfs, int fd);
int st_vfs_set_cloexec(struct st_vfs *vfs, int fd, int on);
int st_vfs_get_status_flags(const struct st_vfs *vfs, int fd);
int st_vfs_set_status_flags(struct st_vfs *vfs, int fd, int flags);

/* How many guest fds are open (for limits and tests). */
unsigned st_vfs_open_fds(const struct st_vfs *vfs);

#endif
