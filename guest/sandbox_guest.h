/* sandbox_guest.h: the guest side of PyPy's sandbox-2 protocol, for C programs.
 *
 * A program linked with this runtime is a sandbox-2 guest: it makes no real
 * I/O of its own, and every libc-style call below becomes a request on its
 * fd 1 that a controller answers through its fd 0, byte for byte as a real
 * `pypy-c-sandbox` does (shared/PROTOCOL.md). guest/README.md explains how to
 * write a guest.
 *
 * Three layers:
 *  - sg_call(): one request with any signature text, the raw 8-byte result.
 *  - libc-style wrappers (sg_open, sg_read, sg_stat64, ...), each one request
 *    with PyPy's name and signature, plus sg_printf() and friends that format
 *    locally and send `write(ipi)i` requests.
 *  - sg_raw_*(): arbitrary bytes on the request pipe and raw replies, for
 *    tests that play a hostile guest.
 *
 * Rules the runtime follows (as the real one does):
 *  - a request is built in a 512-byte buffer and sent with one write();
 *  - errno is saved when a call starts and restored when its result arrives,
 *    unless an `E` command set another value;
 *  - `R`, `W`, `Z`, `F` are obeyed blindly (a bad address crashes the guest);
 *    `M` is malloc(size) filled with the data, its address sent back;
 *  - a result opcode that is not the request's result kind, an unknown
 *    opcode, or end of file / an error on fd 0 or fd 1 print one line
 *    starting "sandbox:" on the real fd 2, then abort();
 *  - with RPY_SANDBOX_DUMP set and non-empty in the real environment, the
 *    first request prints "Version: 20001", "Platform: linux" and "Funcs: "
 *    followed by every signature of guest_signatures.def, sorted, separated
 *    by one space, then the process exits 0.
 *
 * The runtime is not thread-safe: a guest is strictly synchronous.
 */
#ifndef SANDTRACE_GUEST_SANDBOX_GUEST_H
#define SANDTRACE_GUEST_SANDBOX_GUEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <string.h>
#include <dirent.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <time.h>

#define SG_PROTOCOL_VERSION 20001
#define SG_PLATFORM "linux"
#define SG_REQUEST_MAX 512 /* the whole request, as in the real runtime */
#define SG_TEXT_MAX 255    /* "name(ARGS)R" */
#define SG_ARGS_MAX 32     /* argument fields that fit beside a maximal text */

/* The runtime's table of signatures: SG_SIG_open indexes "open(pii)i". */
enum sg_sig_id {
#define SG_SIG(id, text) SG_SIG_##id,
#include "guest/guest_signatures.def"
#undef SG_SIG
    SG_SIG_COUNT
};
/* sg_signatures[SG_SIG_x] is the text; the array is in byte order. */
extern const char *const sg_signatures[SG_SIG_COUNT];

/* ---- Generic requests ---------------------------------------------------- */

/* Sends one request "name(ARGS)R" with `nargs` 8-byte argument fields, serves
 * the controller's commands, and returns the raw 8 bytes of the result (0 for
 * kind `v`). `sig` must be 1..255 bytes, end in "(ARGS)R" with ARGS made of
 * `i`, `f`, `p` and R one of `i f p v`, and nargs must equal strlen(ARGS):
 * anything else is a programming error and aborts with a "sandbox:" line.
 * errno: as the controller says (E), else unchanged. */
uint64_t sg_call(const char *sig, const uint64_t *args, size_t nargs);

/* sg_call(sig, SG_ARGS(a, b, c)) passes a literal argument array and its
 * length; use sg_call(sig, NULL, 0) for no arguments. */
#define SG_ARGS(...)                                                                \
    ((const uint64_t[]){ __VA_ARGS__ }),                                           \
        (sizeof((const uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))

/* Argument and result conversions (integers are sign-extended, doubles are
 * their IEEE-754 bits, pointers their address). */
static inline uint64_t sg_arg_i(int64_t v) { return (uint64_t)v; }
static inline uint64_t sg_arg_p(const void *p) { return (uint64_t)(uintptr_t)p; }
static inline uint64_t sg_arg_f(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}
static inline int64_t sg_res_i(uint64_t r) { return (int64_t)r; }
static inline void *sg_res_p(uint64_t r) { return (void *)(uintptr_t)r; }
static inline double sg_res_f(uint64_t r)
{
    double d;
    memcpy(&d, &r, sizeof d);
    return d;
}

/* ---- libc-style wrappers: one request each, PyPy's names and signatures --- */

typedef struct sg_dir SG_DIR; /* a DIR * handed out by the controller */

int sg_open(const char *path, int flags, int mode);                     /* open(pii)i */
int sg_openat(int dirfd, const char *path, int flags, int mode);        /* openat(ipii)i */
ssize_t sg_read(int fd, void *buf, size_t count);                       /* read(ipi)i */
ssize_t sg_write(int fd, const void *buf, size_t count);                /* write(ipi)i */
ssize_t sg_pread(int fd, void *buf, size_t count, off_t offset);        /* pread(ipii)i */
ssize_t sg_pwrite(int fd, const void *buf, size_t count, off_t offset); /* pwrite(ipii)i */
int sg_close(int fd);                                                   /* close(i)i */
off_t sg_lseek(int fd, off_t offset, int whence);                       /* lseek(iii)i */
int sg_stat64(const char *path, struct stat *st);                       /* stat64(pp)i */
int sg_lstat64(const char *path, struct stat *st);                      /* lstat64(pp)i */
int sg_fstat64(int fd, struct stat *st);                                /* fstat64(ip)i */
int sg_fstatat64(int dirfd, const char *path, struct stat *st, int flags); /* fstatat64(ippi)i */
int sg_access(const char *path, int mode);                              /* access(pi)i */
char *sg_getcwd(char *buf, size_t size);                                /* getcwd(pi)p */
int sg_chdir(const char *path);                                         /* chdir(p)i */
SG_DIR *sg_opendir(const char *path);                                   /* opendir(p)p */
SG_DIR *sg_fdopendir(int fd);                                           /* fdopendir(i)p */
struct dirent *sg_readdir(SG_DIR *dir);                                 /* readdir(p)p */
void sg_rewinddir(SG_DIR *dir);                                         /* rewinddir(p)v */
int sg_dirfd(SG_DIR *dir);                                              /* dirfd(p)i */
int sg_closedir(SG_DIR *dir);                                           /* closedir(p)i */
ssize_t sg_readlink(const char *path, char *buf, size_t size);          /* readlink(ppi)i */
int sg_unlink(const char *path);                                        /* unlink(p)i */
int sg_mkdir(const char *path, int mode);                               /* mkdir(pi)i */
int sg_rmdir(const char *path);                                         /* rmdir(p)i */
int sg_rename(const char *from, const char *to);                        /* rename(pp)i */
int sg_ftruncate(int fd, off_t length);                                 /* ftruncate(ii)i */
int sg_fcntl(int fd, int cmd, long arg);                                /* fcntl(iii)i */
int sg_dup(int fd);                                                     /* dup(i)i */
int sg_isatty(int fd);                                                  /* isatty(i)i */
int sg_rpy_get_inheritable(int fd);                                     /* rpy_get_inheritable(i)i */
int sg_umask(int mask);                                                 /* umask(i)i */
time_t sg_time(time_t *t);                                              /* time(p)i */
int sg_gettimeofday(struct timeval *tv, void *tz);                      /* gettimeofday(pp)i */
int sg_clock_gettime(clockid_t clk, struct timespec *ts);               /* clock_gettime(ip)i */
int sg_clock_getres(clockid_t clk, struct timespec *ts);                /* clock_getres(ip)i */
clock_t sg_clock(void);                                                 /* clock()i */
clock_t sg_times(struct tms *buf);                                      /* times(p)i */
pid_t sg_getpid(void);                                                  /* getpid()i */
pid_t sg_getppid(void);                                                 /* getppid()i */
uid_t sg_getuid(void);                                                  /* getuid()i */
uid_t sg_geteuid(void);                                                 /* geteuid()i */
gid_t sg_getgid(void);                                                  /* getgid()i */
gid_t sg_getegid(void);                                                 /* getegid()i */
int sg_getresuid(uid_t *r, uid_t *e, uid_t *s);                         /* getresuid(ppp)i */
int sg_getresgid(gid_t *r, gid_t *e, gid_t *s);                         /* getresgid(ppp)i */
int sg_getgroups(int size, gid_t *list);                                /* getgroups(ip)i */
int sg_uname(struct utsname *buf);                                      /* uname(p)i */
char **sg_get_environ(void);                                            /* get_environ()p */
char *sg_getenv(const char *name);                                      /* getenv(p)p */
char *sg_ctermid(char *buf);                                            /* ctermid(p)p */
long sg_sysconf(int name);                                              /* sysconf(i)i */
int sg_rpy_cpu_count(void);                                             /* rpy_cpu_count()i */
int sg_sched_yield(void);                                               /* sched_yield()i */
pid_t sg_fork(void);                                                    /* fork()i: a request, no real fork */
void sg_sync(void);                                                     /* sync()v */
char *sg_pypy_init_home(void);                                          /* _pypy_init_home()p */
void sg_pypy_init_free(char *home);                                     /* _pypy_init_free(p)v */
/* Sends `_exit(i)v`; a controller normally ends the guest there. If it
 * answers instead, the process really exits with `status`. */
_Noreturn void sg_exit(int status);

/* ---- Output helpers (write requests) --------------------------------------- */

/* Writes all `count` bytes to the guest's fd with as many write requests as
 * the controller's short counts need. Returns count, or -1 (errno set). */
ssize_t sg_write_all(int fd, const void *buf, size_t count);
/* Formats locally (vsnprintf) and sends the text with sg_write_all(). Return
 * the number of bytes written, or -1. */
int sg_vdprintf(int fd, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
int sg_dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* fd 1 */
int sg_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* fd 2 */

/* Sorts n strings in byte order (strcmp), in place. Unlike qsort() it makes
 * no system call whatever n is, so it is safe under a jail. */
void sg_sort_strings(const char **v, size_t n);

/* ---- Raw access, for tests that play a hostile guest ------------------------ */

/* Writes `len` arbitrary bytes to the request pipe (real fd 1) in one write
 * when the kernel takes them so. Returns 0, or -1 with errno set. */
int sg_raw_write(const void *buf, size_t len);
/* Reads up to `len` bytes from the command pipe (real fd 0) through the
 * runtime's read buffer; returns fewer only at end of file or on an error. */
size_t sg_raw_read(void *buf, size_t len);
/* Serves commands for a request already sent with sg_raw_write(), exactly as
 * sg_call() does (including the errno rule and every fatal case), until the
 * result opcode `result_kind` ('i', 'f', 'p' or 'v') arrives; returns its raw
 * value. */
uint64_t sg_raw_serve(char result_kind);

#endif
