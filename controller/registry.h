/* The signature registry: what every sandbox-2 function is and means.
 *
 * One table (controller/sigtable.def) serves the dispatcher, the trace
 * printer and statistics. Looking a signature up never allocates. */
#ifndef SANDTRACE_CONTROLLER_REGISTRY_H
#define SANDTRACE_CONTROLLER_REGISTRY_H

#include <stddef.h>

#define ST_MAX_ARGS 32

enum st_sig_id {
#define SIG(ident, text, cls, args, res, act, err) ST_SIG_##ident,
#include "controller/sigtable.def"
#undef SIG
    ST_SIG_COUNT
};

enum st_sig_class {
    ST_CLASS_FILE,    /* takes a path */
    ST_CLASS_DESC,    /* works on a file descriptor or DIR* */
    ST_CLASS_TIME,
    ST_CLASS_PROCESS, /* identity, environment, process control */
    ST_CLASS_MEMORY,  /* allocations on the guest's behalf */
};

enum st_sig_action {
    ST_ACT_HANDLED,
    ST_ACT_REFUSED,
    ST_ACT_FATAL,
};

/* What one argument means: the characters used in sigtable.def. */
enum st_arg_meaning {
    ST_ARG_INT = 'n',        /* a plain signed integer */
    ST_ARG_FD = 'd',         /* a file descriptor */
    ST_ARG_DIRFD = 'D',      /* a directory fd of the *at family (AT_FDCWD = -100) */
    ST_ARG_STR = 's',        /* a C string (path, name), read with Z */
    ST_ARG_BUF_IN = 'i',     /* a buffer the controller reads (R); length is the next 'l' */
    ST_ARG_BUF_OUT = 'o',    /* a buffer the controller writes (W); length is the next 'l' */
    ST_ARG_LEN = 'l',        /* a size in bytes */
    ST_ARG_OPEN_FLAGS = 'O', /* O_RDONLY|O_CREAT|... */
    ST_ARG_MODE = 'm',       /* permission bits, shown in octal */
    ST_ARG_WHENCE = 'w',     /* SEEK_SET, SEEK_CUR, SEEK_END */
    ST_ARG_ACCESS = 'a',     /* F_OK or R_OK|W_OK|X_OK */
    ST_ARG_AT_FLAGS = 'A',   /* AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EACCESS, ... */
    ST_ARG_STAT_OUT = 'S',   /* struct stat (144 bytes) written by the controller */
    ST_ARG_TIMEVAL_OUT = 't',/* struct timeval written */
    ST_ARG_TIMESPEC_OUT = 'T', /* struct timespec written */
    ST_ARG_TZ = 'z',         /* struct timezone *: must be NULL */
    ST_ARG_CLOCK = 'c',      /* a clockid_t: CLOCK_REALTIME, CLOCK_MONOTONIC, ... */
    ST_ARG_TIME_OUT = 'q',   /* time_t * (8 bytes) written when not NULL */
    ST_ARG_ID_OUT = 'u',     /* uid_t / gid_t * (4 bytes) written */
    ST_ARG_GIDS_OUT = 'g',   /* gid_t array written; its size is the previous argument */
    ST_ARG_UTSNAME_OUT = 'U',/* struct utsname written */
    ST_ARG_TMS_OUT = 'M',    /* struct tms (32 bytes) written */
    ST_ARG_RUSAGE_OUT = 'r', /* struct rusage written */
    ST_ARG_FCNTL_CMD = 'F',  /* F_GETFL, F_SETFD, ... */
    ST_ARG_SIGNAL = 'k',     /* a signal number */
    ST_ARG_PID = 'p',
    ST_ARG_IOCTL_REQ = 'y',
    ST_ARG_PTR = 'x',        /* an opaque guest pointer (DIR *, ...), shown in hex */
};

/* What the result means. */
enum st_res_meaning {
    ST_RES_ERR = 'e',        /* 0 or another value on success, -1 with errno on failure */
    ST_RES_FD = 'd',         /* a new file descriptor, or -1 with errno */
    ST_RES_COUNT = 'l',      /* a byte count, or -1 with errno */
    ST_RES_OFFSET = 'o',     /* a file offset, or -1 with errno */
    ST_RES_NUM = 'n',        /* a number (pid, uid, time, an error number for posix_*) */
    ST_RES_PTR = 'x',        /* a guest pointer, NULL on failure */
    ST_RES_STR = 's',        /* a guest pointer to a C string, NULL on failure/unset */
    ST_RES_DIR = 'D',        /* a DIR *, NULL with errno on failure */
    ST_RES_DIRENT = 'E',     /* a struct dirent *, NULL at the end or on failure */
    ST_RES_VOID = 'v',
};

struct st_sig {
    enum st_sig_id id;
    const char *name;        /* "stat64" */
    const char *text;        /* "stat64(pp)i" */
    enum st_sig_class cls;
    const char *args;        /* one st_arg_meaning character per argument */
    char res;                /* an st_res_meaning */
    char arg_kinds[ST_MAX_ARGS + 1]; /* the wire kinds between the parentheses, "pp" */
    char res_kind;           /* the wire result kind: 'i', 'p', 'f' or 'v' */
    unsigned nargs;
    enum st_sig_action action;
    int refuse_errno;        /* for ST_ACT_REFUSED */
};

/* The entry for a signature text of `len` bytes (not NUL-terminated), or
 * NULL when the registry does not know it. */
const struct st_sig *st_registry_lookup(const char *text, size_t len);

/* The entry for an id; NULL when out of range. */
const struct st_sig *st_registry_get(enum st_sig_id id);

/* The number of entries (ST_SIG_COUNT). */
size_t st_registry_count(void);

/* "file", "desc", "time", "process", "memory". */
const char *st_sig_class_name(enum st_sig_class cls);

#endif
