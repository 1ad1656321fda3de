/* The symbolic printer's argument formatters (see trace_print.h). The
 * constants decoded here are the guest's (x86-64 Linux, PROTOCOL.md), not the
 * host's: they are spelled out rather than taken from the host's headers.
 * Then the pieces (bytes, flags, structs, fds) and one formatter per meaning
 * of argtable.def. */
#include "tools/trace_print.h"

#include <inttypes.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/st_util.h"
#include "tools/options.h"
#include "tools/trace_print_int.h"

/* ------------------------------------------------------------------------
 * Constants of the guest's ABI. */

struct name_val {
    uint64_t val;
    const char *name;
};

static const struct { const char *name, *text; } errnos[] = {
    [1] = { "EPERM", "Operation not permitted" },
    [2] = { "ENOENT", "No such file or directory" },
    [3] = { "ESRCH", "No such process" },
    [4] = { "EINTR", "Interrupted system call" },
    [5] = { "EIO", "Input/output error" },
    [6] = { "ENXIO", "No such device or address" },
    [7] = { "E2BIG", "Argument list too long" },
    [8] = { "ENOEXEC", "Exec format error" },
    [9] = { "EBADF", "Bad file descriptor" },
    [10] = { "ECHILD", "No child processes" },
    [11] = { "EAGAIN", "Resource temporarily unavailable" },
    [12] = { "ENOMEM", "Cannot allocate memory" },
    [13] = { "EACCES", "Permission denied" },
    [14] = { "EFAULT", "Bad address" },
    [15] = { "ENOTBLK", "Block device required" },
    [16] = { "EBUSY", "Device or resource busy" },
    [17] = { "EEXIST", "File exists" },
    [18] = { "EXDEV", "Invalid cross-device link" },
    [19] = { "ENODEV", "No such device" },
    [20] = { "ENOTDIR", "Not a directory" },
    [21] = { "EISDIR", "Is a directory" },
    [22] = { "EINVAL", "Invalid argument" },
    [23] = { "ENFILE", "Too many open files in system" },
    [24] = { "EMFILE", "Too many open files" },
    [25] = { "ENOTTY", "Inappropriate ioctl for device" },
    [26] = { "ETXTBSY", "Text file busy" },
    [27] = { "EFBIG", "File too large" },
    [28] = { "ENOSPC", "No space left on device" },
    [29] = { "ESPIPE", "Illegal seek" },
    [30] = { "EROFS", "Read-only file system" },
    [31] = { "EMLINK", "Too many links" },
    [32] = { "EPIPE", "Broken pipe" },
    [33] = { "EDOM", "Numerical argument out of domain" },
    [34] = { "ERANGE", "Numerical result out of range" },
    [35] = { "EDEADLK", "Resource deadlock avoided" },
    [36] = { "ENAMETOOLONG", "File name too long" },
    [37] = { "ENOLCK", "No locks available" },
    [38] = { "ENOSYS", "Function not implemented" },
    [39] = { "ENOTEMPTY", "Directory not empty" },
    [40] = { "ELOOP", "Too many levels of symbolic links" },
    [42] = { "ENOMSG", "No message of desired type" },
    [43] = { "EIDRM", "Identifier removed" },
    [44] = { "ECHRNG", "Channel number out of range" },
    [45] = { "EL2NSYNC", "Level 2 not synchronized" },
    [46] = { "EL3HLT", "Level 3 halted" },
    [47] = { "EL3RST", "Level 3 reset" },
    [48] = { "ELNRNG", "Link number out of range" },
    [49] = { "EUNATCH", "Protocol driver not attached" },
    [50] = { "ENOCSI", "No CSI structure available" },
    [51] = { "EL2HLT", "Level 2 halted" },
    [52] = { "EBADE", "Invalid exchange" },
    [53] = { "EBADR", "Invalid request descriptor" },
    [54] = { "EXFULL", "Exchange full" },
    [55] = { "ENOANO", "No anode" },
    [56] = { "EBADRQC", "Invalid request code" },
    [57] = { "EBADSLT", "Invalid slot" },
    [59] = { "EBFONT", "Bad font file format" },
    [60] = { "ENOSTR", "Device not a stream" },
    [61] = { "ENODATA", "No data available" },
    [62] = { "ETIME", "Timer expired" },
    [63] = { "ENOSR", "Out of streams resources" },
    [64] = { "ENONET", "Machine is not on the network" },
    [65] = { "ENOPKG", "Package not installed" },
    [66] = { "EREMOTE", "Object is remote" },
    [67] = { "ENOLINK", "Link has been severed" },
    [68] = { "EADV", "Advertise error" },
    [69] = { "ESRMNT", "Srmount error" },
    [70] = { "ECOMM", "Communication error on send" },
    [71] = { "EPROTO", "Protocol error" },
    [72] = { "EMULTIHOP", "Multihop attempted" },
    [73] = { "EDOTDOT", "RFS specific error" },
    [74] = { "EBADMSG", "Bad message" },
    [75] = { "EOVERFLOW", "Value too large for defined data type" },
    [76] = { "ENOTUNIQ", "Name not unique on network" },
    [77] = { "EBADFD", "File descriptor in bad state" },
    [78] = { "EREMCHG", "Remote address changed" },
    [79] = { "ELIBACC", "Can not access a needed shared library" },
    [80] = { "ELIBBAD", "Accessing a corrupted shared library" },
    [81] = { "ELIBSCN", ".lib section in a.out corrupted" },
    [82] = { "ELIBMAX", "Attempting to link in too many shared libraries" },
    [83] = { "ELIBEXEC", "Cannot exec a shared library directly" },
    [84] = { "EILSEQ", "Invalid or incomplete multibyte or wide character" },
    [85] = { "ERESTART", "Interrupted system call should be restarted" },
    [86] = { "ESTRPIPE", "Streams pipe error" },
    [87] = { "EUSERS", "Too many users" },
    [88] = { "ENOTSOCK", "Socket operation on non-socket" },
    [89] = { "EDESTADDRREQ", "Destination address required" },
    [90] = { "EMSGSIZE", "Message too long" },
    [91] = { "EPROTOTYPE", "Protocol wrong type for socket" },
    [92] = { "ENOPROTOOPT", "Protocol not available" },
    [93] = { "EPROTONOSUPPORT", "Protocol not supported" },
    [94] = { "ESOCKTNOSUPPORT", "Socket type not supported" },
    [95] = { "EOPNOTSUPP", "Operation not supported" },
    [96] = { "EPFNOSUPPORT", "Protocol family not supported" },
    [97] = { "EAFNOSUPPORT", "Address family not supported by protocol" },
    [98] = { "EADDRINUSE", "Address already in use" },
    [99] = { "EADDRNOTAVAIL", "Cannot assign requested address" },
    [100] = { "ENETDOWN", "Network is down" },
    [101] = { "ENETUNREACH", "Network is unreachable" },
    [102] = { "ENETRESET", "Network dropped connection on reset" },
    [103] = { "ECONNABORTED", "Software caused connection abort" },
    [104] = { "ECONNRESET", "Connection reset by peer" },
    [105] = { "ENOBUFS", "No buffer space available" },
    [106] = { "EISCONN", "Transport endpoint is already connected" },
    [107] = { "ENOTCONN", "Transport endpoint is not connected" },
    [108] = { "ESHUTDOWN", "Cannot send after transport endpoint shutdown" },
    [109] = { "ETOOMANYREFS", "Too many references: cannot splice" },
    [110] = { "ETIMEDOUT", "Connection timed out" },
    [111] = { "ECONNREFUSED", "Connection refused" },
    [112] = { "EHOSTDOWN", "Host is down" },
    [113] = { "EHOSTUNREACH", "No route to host" },
    [114] = { "EALREADY", "Operation already in progress" },
    [115] = { "EINPROGRESS", "Operation now in progress" },
    [116] = { "ESTALE", "Stale file handle" },
    [117] = { "EUCLEAN", "Structure needs cleaning" },
    [118] = { "ENOTNAM", "Not a XENIX named type file" },
    [119] = { "ENAVAIL", "No XENIX semaphores available" },
    [120] = { "EISNAM", "Is a named type file" },
    [121] = { "EREMOTEIO", "Remote I/O error" },
    [122] = { "EDQUOT", "Disk quota exceeded" },
    [123] = { "ENOMEDIUM", "No medium found" },
    [124] = { "EMEDIUMTYPE", "Wrong medium type" },
    [125] = { "ECANCELED", "Operation canceled" },
    [126] = { "ENOKEY", "Required key not available" },
    [127] = { "EKEYEXPIRED", "Key has expired" },
    [128] = { "EKEYREVOKED", "Key has been revoked" },
    [129] = { "EKEYREJECTED", "Key was rejected by service" },
    [130] = { "EOWNERDEAD", "Owner died" },
    [131] = { "ENOTRECOVERABLE", "State not recoverable" },
    [132] = { "ERFKILL", "Operation not possible due to RF-kill" },
    [133] = { "EHWPOISON", "Memory page has hardware error" },
};

const char *tp_errno_name(int err)
{
    if (err <= 0 || (size_t)err >= sizeof errnos / sizeof errnos[0])
        return NULL;
    return errnos[err].name;
}

const char *tp_errno_text(int err)
{
    if (err <= 0 || (size_t)err >= sizeof errnos / sizeof errnos[0])
        return NULL;
    return errnos[err].text;
}

static const char *const signames[] = {
    NULL, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
};

const char *tp_signal_name(int sig)
{
    if (sig <= 0 || (size_t)sig >= sizeof signames / sizeof signames[0])
        return NULL;
    return signames[sig];
}

static const struct name_val open_flags[] = {
    { 0100, "O_CREAT" },        { 0200, "O_EXCL" },         { 0400, "O_NOCTTY" },
    { 01000, "O_TRUNC" },       { 02000, "O_APPEND" },      { 04000, "O_NONBLOCK" },
    { 04010000, "O_SYNC" },     { 010000, "O_DSYNC" },      { 020000, "O_ASYNC" },
    { 040000, "O_DIRECT" },     { 0100000, "O_LARGEFILE" }, { 020200000, "O_TMPFILE" },
    { 0200000, "O_DIRECTORY" }, { 0400000, "O_NOFOLLOW" },  { 01000000, "O_NOATIME" },
    { 02000000, "O_CLOEXEC" },  { 010000000, "O_PATH" },
};

static const struct name_val clocks[] = {
    { 0, "CLOCK_REALTIME" },         { 1, "CLOCK_MONOTONIC" },
    { 2, "CLOCK_PROCESS_CPUTIME_ID" }, { 3, "CLOCK_THREAD_CPUTIME_ID" },
    { 4, "CLOCK_MONOTONIC_RAW" },    { 5, "CLOCK_REALTIME_COARSE" },
    { 6, "CLOCK_MONOTONIC_COARSE" }, { 7, "CLOCK_BOOTTIME" },
    { 8, "CLOCK_REALTIME_ALARM" },   { 9, "CLOCK_BOOTTIME_ALARM" },
    { 11, "CLOCK_TAI" },
};

static const struct name_val fcntl_cmds[] = {
    { 0, "F_DUPFD" },   { GUEST_F_GETFD, "F_GETFD" },   { 2, "F_SETFD" },  { GUEST_F_GETFL, "F_GETFL" },
    { GUEST_F_SETFL, "F_SETFL" },   { 5, "F_GETLK" },   { 6, "F_SETLK" },  { 7, "F_SETLKW" },
    { 8, "F_SETOWN" },  { GUEST_F_GETOWN, "F_GETOWN" },  { 10, "F_SETSIG" }, { GUEST_F_GETSIG, "F_GETSIG" },
    { 1030, "F_DUPFD_CLOEXEC" }, { 1031, "F_SETPIPE_SZ" }, { GUEST_F_GETPIPE_SZ, "F_GETPIPE_SZ" },
};

static const struct name_val ioctls[] = {
    { 0x5401, "TCGETS" },     { 0x5402, "TCSETS" },     { 0x5403, "TCSETSW" },
    { 0x5404, "TCSETSF" },    { 0x540F, "TIOCGPGRP" },  { 0x5410, "TIOCSPGRP" },
    { 0x5413, "TIOCGWINSZ" }, { 0x5414, "TIOCSWINSZ" }, { 0x541B, "FIONREAD" },
    { 0x5421, "FIONBIO" },    { 0x5451, "FIOCLEX" },    { 0x5450, "FIONCLEX" },
};

static const char *const whences[] = { "SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE" };

static const char *lookup(const struct name_val *t, size_t n, uint64_t v)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].val == v)
            return t[i].name;
    return NULL;
}
#define LOOKUP(t, v) lookup(t, sizeof t / sizeof t[0], v)

/* ------------------------------------------------------------------------
 * Pieces. */

static void esc_bytes(struct st_buf *out, const uint8_t *d, size_t n, const struct tp_options *o)
{
    char tmp[8];
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (o->hex >= 2) {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            st_buf_puts(out, tmp);
            continue;
        }
        const char *e = NULL;
        switch (c) {
        case '\n': e = "\\n"; break;
        case '\t': e = "\\t"; break;
        case '\r': e = "\\r"; break;
        case '\v': e = "\\v"; break;
        case '\f': e = "\\f"; break;
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        default: break;
        }
        if (e) {
            st_buf_puts(out, e);
        } else if (c >= 0x20 && c < 0x7f) {
            st_buf_add(out, &c, 1);
        } else if (o->hex) {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            st_buf_puts(out, tmp);
        } else {
            /* strace's octal: the short form unless a digit follows. */
            int next_digit = i + 1 < n && d[i + 1] >= '0' && d[i + 1] <= '7';
            snprintf(tmp, sizeof tmp, next_digit ? "\\%03o" : "\\%o", c);
            st_buf_puts(out, tmp);
        }
    }
}

/* `len` is the full length; `kept` <= len bytes are available. */
static void quoted(struct st_buf *out, const uint8_t *d, size_t kept, size_t len, int more,
                   const struct tp_options *o)
{
    size_t n = kept < o->strsize ? kept : o->strsize;
    st_buf_puts(out, "\"");
    esc_bytes(out, d, n, o);
    st_buf_puts(out, "\"");
    if (n < len || more)
        st_buf_puts(out, "...");
}

void tp_format_bytes(struct st_buf *out, const uint8_t *data, size_t len, const struct tp_options *o)
{
    quoted(out, data, len, len, 0, o);
}

void fmt_ptr(struct st_buf *b, uint64_t v)
{
    if (!v)
        st_buf_puts(b, "NULL");
    else
        st_buf_addf(b, "0x%" PRIx64, v);
}

/* Text from the trace (a signature, a note, a reason) with control and
 * non-ASCII bytes escaped in octal, as strace shows strings: a hostile
 * trace cannot drive the terminal. */
void tp_format_text(struct st_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p >= 0x7f)
            st_buf_addf(b, "\\%o", *p);
        else
            st_buf_add(b, p, 1);
    }
}

static void fmt_flags(struct st_buf *b, uint64_t v, const struct name_val *t, size_t n, int octal)
{
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (t[i].val && (v & t[i].val) == t[i].val) {
            st_buf_addf(b, "%s%s", first ? "" : "|", t[i].name);
            v &= ~t[i].val;
            first = 0;
        }
    }
    if (v || first)
        st_buf_addf(b, octal ? "%s%#" PRIo64 : "%s%#" PRIx64, first ? "" : "|", v);
}

void fmt_open_flags(struct st_buf *b, uint64_t v)
{
    static const char *const acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", NULL };
    uint64_t mode = v & 3;
    if (acc[mode]) {
        st_buf_puts(b, acc[mode]);
        v &= ~(uint64_t)3;
        if (!v)
            return;
        st_buf_puts(b, "|");
    }
    fmt_flags(b, v, open_flags, sizeof open_flags / sizeof open_flags[0], 1);
}

static void fmt_mode_bits(struct st_buf *b, uint32_t mode)
{
    static const struct name_val types[] = {
        { 0140000, "S_IFSOCK" }, { 0120000, "S_IFLNK" }, { 0100000, "S_IFREG" }, { 0060000, "S_IFBLK" },
        { 0040000, "S_IFDIR" },  { 0020000, "S_IFCHR" }, { 0010000, "S_IFIFO" },
    };
    const char *t = LOOKUP(types, mode & 0170000);
    if (t)
        st_buf_addf(b, "%s|%#o", t, mode & 07777);
    else
        st_buf_addf(b, "%#o", mode);
}

static void fmt_dev(struct st_buf *b, uint64_t dev)
{
    uint64_t major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~(uint64_t)0xfff);
    uint64_t minor = (dev & 0xff) | ((dev >> 12) & ~(uint64_t)0xff);
    st_buf_addf(b, "makedev(%#" PRIx64 ", %#" PRIx64 ")", major, minor);
}

static void fmt_stat(struct st_buf *b, const uint8_t *p, const struct tp_options *o)
{
    uint32_t mode = st_le32_get(p + 24);
    uint32_t type = mode & 0170000;
    int dev = type == 0020000 || type == 0060000;
    st_buf_puts(b, "{");
    if (o->verbose) {
        st_buf_puts(b, "st_dev=");
        fmt_dev(b, st_le64_get(p));
        st_buf_addf(b, ", st_ino=%" PRIu64 ", st_mode=", st_le64_get(p + 8));
        fmt_mode_bits(b, mode);
        st_buf_addf(b, ", st_nlink=%" PRIu64 ", st_uid=%" PRIu32 ", st_gid=%" PRIu32
                       ", st_blksize=%" PRId64 ", st_blocks=%" PRId64 ", ",
                    st_le64_get(p + 16), st_le32_get(p + 28), st_le32_get(p + 32), (int64_t)st_le64_get(p + 56),
                    (int64_t)st_le64_get(p + 64));
    } else {
        st_buf_puts(b, "st_mode=");
        fmt_mode_bits(b, mode);
        st_buf_puts(b, ", ");
    }
    if (dev) {
        st_buf_puts(b, "st_rdev=");
        fmt_dev(b, st_le64_get(p + 40));
    } else {
        st_buf_addf(b, "st_size=%" PRId64, (int64_t)st_le64_get(p + 48));
    }
    if (o->verbose) {
        static const char *const tn[] = { "st_atime", "st_mtime", "st_ctime" };
        for (int i = 0; i < 3; i++) {
            const uint8_t *t = p + 72 + 16 * i;
            st_buf_addf(b, ", %s=%" PRId64, tn[i], (int64_t)st_le64_get(t));
            if (st_le64_get(t + 8))
                st_buf_addf(b, ", %s_nsec=%" PRId64, tn[i], (int64_t)st_le64_get(t + 8));
        }
        st_buf_puts(b, "}");
    } else {
        st_buf_puts(b, ", ...}");
    }
}

static const char *dirent_type(uint8_t t)
{
    static const char *const names[] = { "DT_UNKNOWN", "DT_FIFO", "DT_CHR", NULL, "DT_DIR", NULL,
                                         "DT_BLK", NULL, "DT_REG", NULL, "DT_LNK", NULL,
                                         "DT_SOCK", NULL, "DT_WHT" };
    return t < sizeof names / sizeof names[0] ? names[t] : NULL;
}

/* struct dirent: d_ino 0:8, d_off 8:8, d_reclen 16:2, d_type 18:1, d_name 19:256. */
void fmt_dirent(struct st_buf *b, const uint8_t *p, size_t len, const struct tp_options *o)
{
    size_t namecap = len - 19;
    const uint8_t *name = p + 19;
    const uint8_t *nul = memchr(name, 0, namecap);
    size_t nlen = nul ? (size_t)(nul - name) : namecap;
    st_buf_addf(b, "{d_ino=%" PRIu64, st_le64_get(p));
    if (o->verbose)
        st_buf_addf(b, ", d_off=%" PRId64 ", d_reclen=%u", (int64_t)st_le64_get(p + 8),
                    (unsigned)(p[16] | p[17] << 8));
    const char *t = dirent_type(p[18]);
    if (t)
        st_buf_addf(b, ", d_type=%s, d_name=", t);
    else
        st_buf_addf(b, ", d_type=%u, d_name=", p[18]);
    quoted(b, name, nlen, nlen, !nul, o);
    st_buf_puts(b, "}");
}

/* A NUL-terminated string in `d` (or all of it if there is no NUL). */
void fmt_cstr(struct st_buf *b, const uint8_t *d, size_t kept, size_t len, const struct tp_options *o)
{
    const uint8_t *nul = memchr(d, 0, kept);
    if (nul)
        quoted(b, d, (size_t)(nul - d), (size_t)(nul - d), 0, o);
    else
        quoted(b, d, kept, len, 0, o);
}

static void fmt_timeval(struct st_buf *b, const uint8_t *p, const char *sub)
{
    st_buf_addf(b, "{tv_sec=%" PRId64 ", %s=%" PRId64 "}", (int64_t)st_le64_get(p), sub, (int64_t)st_le64_get(p + 8));
}

/* A file descriptor, with its path under -y. */
static void fmt_fd(struct st_buf *b, int64_t fd, const struct tp_options *o)
{
    st_buf_addf(b, "%" PRId64, fd);
    if (o->fd_paths && o->fdtab && fd >= 0 && fd < TP_FDTAB_MAX && o->fdtab->path[fd]) {
        st_buf_puts(b, "<");
        tp_format_text(b, o->fdtab->path[fd]);
        st_buf_puts(b, ">");
    }
}

/* The string the call read (Z) for its first 's' argument, or NULL. */
const struct tc_mem *first_path(const struct tc_call *c, int *dirfd_arg)
{
    *dirfd_arg = -1;
    if (!c->reg)
        return NULL;
    for (size_t i = 0; i < c->nargs; i++) {
        if (c->reg->args[i] == ST_ARG_DIRFD && *dirfd_arg < 0)
            *dirfd_arg = (int)i;
        if (c->reg->args[i] == ST_ARG_STR)
            return c->args[i] ? tc_call_find(c, TRACE_EV_MEM_READ_STR, c->args[i], 0) : NULL;
    }
    return NULL;
}

static void fdtab_set(struct tp_fdtab *t, int64_t fd, const char *path, size_t len)
{
    if (fd < 0 || fd >= TP_FDTAB_MAX)
        return;
    free(t->path[fd]);
    t->path[fd] = NULL;
    if (!path)
        return;
    if (len > 4096)
        len = 4096;
    char *p = malloc(len + 1);
    if (!p)
        return;
    memcpy(p, path, len);
    p[len] = '\0';
    t->path[fd] = p;
}

void tp_fdtab_update(struct tp_fdtab *t, const struct tc_call *c)
{
    if (!c->reg || !c->finished || tc_call_failed(c) || c->result_kind != 'i')
        return;
    int64_t r = (int64_t)c->result;
    int64_t a0 = c->nargs > 0 ? (int64_t)c->args[0] : -1;
    switch (c->reg->id) {
    case ST_SIG_open: case ST_SIG_openat: {
        int dirfd;
        const struct tc_mem *m = first_path(c, &dirfd);
        if (m)
            fdtab_set(t, r, (const char *)m->data, m->kept);
        break;
    }
    case ST_SIG_dup: case ST_SIG_rpy_dup_noninheritable:
        if (a0 >= 0 && a0 < TP_FDTAB_MAX && t->path[a0])
            fdtab_set(t, r, t->path[a0], strlen(t->path[a0]));
        break;
    case ST_SIG_dup2: case ST_SIG_rpy_dup2_noninheritable:
        if (a0 >= 0 && a0 < TP_FDTAB_MAX && t->path[a0] && c->nargs > 1)
            fdtab_set(t, (int64_t)c->args[1], t->path[a0], strlen(t->path[a0]));
        break;
    case ST_SIG_close:
        fdtab_set(t, a0, NULL, 0);
        break;
    default:
        break;
    }
}

void tp_fdtab_release(struct tp_fdtab *t)
{
    for (size_t i = 0; i < TP_FDTAB_MAX; i++) {
        free(t->path[i]);
        t->path[i] = NULL;
    }
}

/* The W data written at `ptr`, if complete enough (>= need bytes kept). */
const struct tc_mem *written(const struct tc_call *c, uint64_t ptr, size_t need)
{
    if (!ptr)
        return NULL;
    const struct tc_mem *m = tc_call_find(c, TRACE_EV_MEM_WRITE, ptr, 0);
    return m && m->kept >= need ? m : NULL;
}

/* How many earlier arguments with the same meaning had the same value
 * (so that rename("a", "a") finds both of its Z commands). */
static unsigned nth_same(const struct tc_call *c, size_t i)
{
    unsigned n = 0;
    for (size_t j = 0; j < i; j++)
        if (c->reg->args[j] == c->reg->args[i] && c->args[j] == c->args[i])
            n++;
    return n;
}

/* ------------------------------------------------------------------------
 * Arguments by meaning: one formatter per line of argtable.def, named
 * there (fmt_arg_<formatter>); the table below is built from it. */

typedef void arg_formatter(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o);

/* The struct that argument `i` points to, written by the call, when all of
 * its bytes (argtable.def's size for the meaning) were kept. */
static const struct tc_mem *written_struct(const struct tc_call *c, size_t i)
{
    const struct st_arg_info *a = st_arg_info(c->reg->args[i]);
    return written(c, c->args[i], a ? a->size : 0);
}

static int call_ok(const struct tc_call *c)
{
    return c->finished && !tc_call_failed(c);
}

static void fmt_arg_ptr(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    fmt_ptr(b, c->args[i]);
}

static void fmt_arg_int(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    st_buf_addf(b, "%" PRId64, (int64_t)c->args[i]);
}

static void fmt_arg_len(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    st_buf_addf(b, "%" PRIu64, c->args[i]);
}

static void fmt_arg_fd(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    fmt_fd(b, (int64_t)c->args[i], o);
}

static void fmt_arg_dirfd(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    uint64_t v = c->args[i];
    if ((int32_t)v == GUEST_AT_FDCWD && ((int64_t)v == GUEST_AT_FDCWD || v == (uint32_t)GUEST_AT_FDCWD))
        st_buf_puts(b, "AT_FDCWD");
    else
        fmt_fd(b, (int64_t)v, o);
}

static void fmt_arg_str(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    uint64_t v = c->args[i];
    /* A second argument at the same address may not have been read again. */
    const struct tc_mem *mem = v ? tc_call_find(c, TRACE_EV_MEM_READ_STR, v, nth_same(c, i)) : NULL;
    if (!mem && v)
        mem = tc_call_find(c, TRACE_EV_MEM_READ_STR, v, 0);
    if (mem) {
        /* Paths are shown whole, as strace does (up to PATH_MAX). */
        struct tp_options po = *o;
        if (po.strsize < 4096)
            po.strsize = 4096;
        quoted(b, mem->data, mem->kept, mem->len, mem->size != UINT64_MAX && mem->len >= mem->size, &po);
    } else {
        fmt_ptr(b, v);
    }
}

static void fmt_arg_buf_in(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    uint64_t v = c->args[i];
    const struct tc_mem *mem = v ? tc_call_find(c, TRACE_EV_MEM_READ, v, nth_same(c, i)) : NULL;
    if (mem)
        quoted(b, mem->data, mem->kept, mem->len, 0, o);
    else
        fmt_ptr(b, v);
}

static void fmt_arg_buf_out(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    uint64_t v = c->args[i];
    const struct tc_mem *mem = v ? tc_call_find(c, TRACE_EV_MEM_WRITE, v, 0) : NULL;
    if (mem && c->reg->res == ST_RES_STR)
        fmt_cstr(b, mem->data, mem->kept, mem->len, o);
    else if (mem)
        quoted(b, mem->data, mem->kept, mem->len, 0, o);
    else if (call_ok(c) && c->reg->res == ST_RES_COUNT && c->result == 0)
        st_buf_puts(b, "\"\"");
    else
        fmt_ptr(b, v);
}

static void fmt_arg_open_flags(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    fmt_open_flags(b, c->args[i]);
}

static void fmt_arg_mode(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    st_buf_addf(b, "%#" PRIo64, c->args[i]);
}

static void fmt_arg_whence(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    uint64_t v = c->args[i];
    if (v < sizeof whences / sizeof whences[0])
        st_buf_puts(b, whences[v]);
    else
        st_buf_addf(b, "%" PRId64, (int64_t)v);
}

static void fmt_arg_access(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    static const struct name_val acc[] = { { 4, "R_OK" }, { 2, "W_OK" }, { 1, "X_OK" } };
    if (!c->args[i])
        st_buf_puts(b, "F_OK");
    else
        fmt_flags(b, c->args[i], acc, 3, 0);
}

/* The AT_* flags; 0x200 is AT_EACCESS for faccessat, AT_REMOVEDIR elsewhere. */
static void fmt_at_flags(struct st_buf *b, uint64_t v, int eaccess)
{
    const struct name_val at[] = { { 0x100, "AT_SYMLINK_NOFOLLOW" },
                                   { 0x200, eaccess ? "AT_EACCESS" : "AT_REMOVEDIR" },
                                   { 0x400, "AT_SYMLINK_FOLLOW" },
                                   { 0x800, "AT_NO_AUTOMOUNT" },
                                   { 0x1000, "AT_EMPTY_PATH" } };
    if (!v)
        st_buf_puts(b, "0");
    else
        fmt_flags(b, v, at, 5, 0);
}

static void fmt_arg_at_flags(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    fmt_at_flags(b, c->args[i], 0);
}

static void fmt_arg_eaccess_flags(struct st_buf *b, const struct tc_call *c, size_t i,
                                  const struct tp_options *o)
{
    fmt_at_flags(b, c->args[i], 1);
}

static void fmt_arg_stat(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const struct tc_mem *mem;
    if (call_ok(c) && (mem = written_struct(c, i)))
        fmt_stat(b, mem->data, o);
    else
        fmt_ptr(b, c->args[i]);
}

static void fmt_arg_timeval(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const struct tc_mem *mem = written_struct(c, i);
    if (mem)
        fmt_timeval(b, mem->data, "tv_usec");
    else
        fmt_ptr(b, c->args[i]);
}

static void fmt_arg_timespec(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const struct tc_mem *mem = written_struct(c, i);
    if (mem)
        fmt_timeval(b, mem->data, "tv_nsec");
    else
        fmt_ptr(b, c->args[i]);
}

static void fmt_arg_clock(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const char *name = LOOKUP(clocks, c->args[i]);
    if (name)
        st_buf_puts(b, name);
    else
        st_buf_addf(b, "%" PRId64, (int64_t)c->args[i]);
}

static void fmt_arg_time(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const struct tc_mem *mem = written_struct(c, i);
    if (mem)
        st_buf_addf(b, "[%" PRId64 "]", (int64_t)st_le64_get(mem->data));
    else
        fmt_ptr(b, c->args[i]);
}

static void fmt_arg_id(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const struct tc_mem *mem = written_struct(c, i);
    if (mem)
        st_buf_addf(b, "[%" PRIu32 "]", st_le32_get(mem->data));
    else
        fmt_ptr(b, c->args[i]);
}

static void fmt_arg_gids(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const struct tc_mem *mem;
    if (!call_ok(c) || !(mem = written(c, c->args[i], 0))) {
        fmt_ptr(b, c->args[i]);
        return;
    }
    size_t n = mem->kept / ST_GUEST_ID_SIZE;
    st_buf_puts(b, "[");
    for (size_t k = 0; k < n && k < 64; k++)
        st_buf_addf(b, "%s%" PRIu32, k ? ", " : "", st_le32_get(mem->data + ST_GUEST_ID_SIZE * k));
    st_buf_puts(b, n > 64 ? ", ...]" : "]");
}

static void fmt_arg_utsname(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    static const char *const f[] = { "sysname", "nodename", "release", "version", "machine",
                                     "domainname" };
    const struct tc_mem *mem;
    if (!call_ok(c) || !(mem = written_struct(c, i))) {
        fmt_ptr(b, c->args[i]);
        return;
    }
    int n = o->verbose ? 6 : 2;
    st_buf_puts(b, "{");
    for (int k = 0; k < n; k++) {
        st_buf_addf(b, "%s%s=", k ? ", " : "", f[k]);
        fmt_cstr(b, mem->data + ST_GUEST_UTSNAME_FIELD * k, ST_GUEST_UTSNAME_FIELD,
                 ST_GUEST_UTSNAME_FIELD, o);
    }
    st_buf_puts(b, o->verbose ? "}" : ", ...}");
}

static void fmt_arg_tms(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const struct tc_mem *mem = written_struct(c, i);
    if (mem)
        st_buf_addf(b, "{tms_utime=%" PRId64 ", tms_stime=%" PRId64 ", tms_cutime=%" PRId64
                       ", tms_cstime=%" PRId64 "}",
                    (int64_t)st_le64_get(mem->data), (int64_t)st_le64_get(mem->data + 8),
                    (int64_t)st_le64_get(mem->data + 16), (int64_t)st_le64_get(mem->data + 24));
    else
        fmt_ptr(b, c->args[i]);
}

static void fmt_arg_rusage(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    static const char *const f[] = { "ru_maxrss", "ru_ixrss", "ru_idrss", "ru_isrss",
                                     "ru_minflt", "ru_majflt", "ru_nswap", "ru_inblock",
                                     "ru_oublock", "ru_msgsnd", "ru_msgrcv", "ru_nsignals",
                                     "ru_nvcsw", "ru_nivcsw" };
    const struct tc_mem *mem;
    if (!call_ok(c) || !(mem = written_struct(c, i))) {
        fmt_ptr(b, c->args[i]);
        return;
    }
    st_buf_puts(b, "{ru_utime=");
    fmt_timeval(b, mem->data, "tv_usec");
    st_buf_puts(b, ", ru_stime=");
    fmt_timeval(b, mem->data + 16, "tv_usec");
    if (o->verbose) {
        for (int k = 0; k < 14; k++)
            st_buf_addf(b, ", %s=%" PRId64, f[k], (int64_t)st_le64_get(mem->data + 32 + 8 * k));
        st_buf_puts(b, "}");
    } else {
        st_buf_puts(b, ", ...}");
    }
}

static void fmt_arg_fcntl_cmd(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const char *name = LOOKUP(fcntl_cmds, c->args[i]);
    if (name)
        st_buf_puts(b, name);
    else
        st_buf_addf(b, "%" PRId64, (int64_t)c->args[i]);
}

static void fmt_arg_signal(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    int64_t sv = (int64_t)c->args[i];
    const char *name = tp_signal_name((int)sv);
    if (name && sv >= 0 && sv < 64)
        st_buf_puts(b, name);
    else
        st_buf_addf(b, "%" PRId64, sv);
}

static void fmt_arg_ioctl_req(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    const char *name = LOOKUP(ioctls, c->args[i]);
    if (name)
        st_buf_puts(b, name);
    else
        st_buf_addf(b, "%#" PRIx64, c->args[i]);
}

static arg_formatter *const arg_formatters[128] = {
#define ARG(ident, ch, size, fmt, noun) [ch] = fmt_arg_##fmt,
#include "controller/argtable.def"
#undef ARG
};

void fmt_arg(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    unsigned char m = (unsigned char)c->reg->args[i];
    arg_formatter *f = m < 128 ? arg_formatters[m] : NULL;
    if (f)
        f(b, c, i, o);
    else
        fmt_ptr(b, c->args[i]);
}
