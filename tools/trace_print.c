/* The symbolic printer: see trace_print.h. The constants decoded here are
 * the guest's (x86-64 Linux, PROTOCOL.md), not the host's: they are spelled
 * out rather than taken from the host's headers. */
#include "tools/trace_print.h"

#include <inttypes.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/st_util.h"
#include "tools/options.h"

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

/* The fcntl commands the fcntl decoder tells apart. */
enum {
    GUEST_F_GETFD = 1,
    GUEST_F_GETFL = 3,
    GUEST_F_SETFL = 4,
    GUEST_F_GETOWN = 9,
    GUEST_F_GETSIG = 11,
    GUEST_F_GETPIPE_SZ = 1032,
    GUEST_FD_CLOEXEC = 1,
    GUEST_AT_FDCWD = -100,
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
 * Options and filter. */

void tp_options_init(struct tp_options *o)
{
    memset(o, 0, sizeof *o);
    o->strsize = 32;
}

static const char *const class_names[] = { "file", "desc", "time", "process", "memory" };

#define CLASS_LIST "%%file, %%desc, %%time, %%process, %%memory"

/* A name of -e trace=: a function of the signature table, or a whole
 * signature ("foo(ii)i", for functions the table does not know). */
static int known_function(const char *name, size_t n)
{
    if (memchr(name, '(', n))
        return 1;
    for (size_t i = 0; i < st_registry_count(); i++) {
        const struct st_sig *sig = st_registry_get((enum st_sig_id)i);
        if (sig && strlen(sig->name) == n && !strncmp(sig->name, name, n))
            return 1;
    }
    return 0;
}

static void unknown_function(const char *name, size_t n, char *err, size_t err_cap)
{
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)(n < 63 ? n : 63), name);
    for (size_t k = 0; k < sizeof class_names / sizeof class_names[0]; k++) {
        if (!strcmp(word, class_names[k])) {
            snprintf(err, err_cap, "unknown function '%s' (did you mean the class '%%%s'?); "
                     "the classes are " CLASS_LIST, word, word);
            return;
        }
    }
    const char *names[ST_SIG_COUNT + 1];
    size_t m = 0;
    for (size_t i = 0; i < st_registry_count() && m < ST_SIG_COUNT; i++) {
        const struct st_sig *sig = st_registry_get((enum st_sig_id)i);
        if (sig)
            names[m++] = sig->name;
    }
    names[m] = NULL;
    const char *near = opt_suggest(word, names);
    if (near)
        snprintf(err, err_cap, "unknown function '%s' (did you mean '%s'?); the classes are "
                 CLASS_LIST, word, near);
    else
        snprintf(err, err_cap, "unknown function '%s': not in the signature table; the classes "
                 "are " CLASS_LIST, word);
}

int tp_filter_parse(struct tp_filter *f, const char *spec, char *err, size_t err_cap)
{
    memset(f, 0, sizeof *f);
    if (!strncmp(spec, "trace=", 6))
        spec += 6;
    else if (strchr(spec, '=')) {
        snprintf(err, err_cap, "unsupported qualifier in '%s' (only trace=SET)", spec);
        return -1;
    }
    if (*spec == '!') {
        f->negate = 1;
        spec++;
    }
    f->active = 1;
    if (!strcmp(spec, "all")) {
        f->active = f->negate; /* "!all" shows no call */
        f->negate = 0;
        return 0;
    }
    if (!strcmp(spec, "none"))
        return 0;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n >= sizeof f->names[0]) {
            snprintf(err, err_cap, "bad name in trace set '%s'", spec);
            return -1;
        }
        if (*p == '%') {
            size_t k;
            for (k = 0; k < sizeof class_names / sizeof class_names[0]; k++)
                if (strlen(class_names[k]) == n - 1 && !strncmp(p + 1, class_names[k], n - 1))
                    break;
            if (k == sizeof class_names / sizeof class_names[0]) {
                snprintf(err, err_cap, "unknown class '%.*s'; the classes are " CLASS_LIST, (int)n, p);
                return -1;
            }
            f->classes |= 1u << k;
        } else {
            if (!known_function(p, n)) {
                unknown_function(p, n, err, err_cap);
                return -1;
            }
            if (f->nnames == TP_FILTER_MAX_NAMES) {
                snprintf(err, err_cap, "too many names in trace set (at most %d)", TP_FILTER_MAX_NAMES);
                return -1;
            }
            memcpy(f->names[f->nnames], p, n);
            f->names[f->nnames][n] = '\0';
            f->nnames++;
        }
        p = end ? end + 1 : p + n;
    }
    return 0;
}

int tp_filter_match(const struct tp_filter *f, const struct tc_call *c)
{
    if (!f || !f->active)
        return 1;
    int in = c->reg && (f->classes & (1u << c->reg->cls));
    for (size_t i = 0; !in && i < f->nnames; i++)
        in = !strcmp(f->names[i], c->name) || !strcmp(f->names[i], c->sig);
    return f->negate ? !in : in;
}

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

static void fmt_ptr(struct st_buf *b, uint64_t v)
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

static void fmt_open_flags(struct st_buf *b, uint64_t v)
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
static void fmt_dirent(struct st_buf *b, const uint8_t *p, size_t len, const struct tp_options *o)
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
static void fmt_cstr(struct st_buf *b, const uint8_t *d, size_t kept, size_t len, const struct tp_options *o)
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
static const struct tc_mem *first_path(const struct tc_call *c, int *dirfd_arg)
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
static const struct tc_mem *written(const struct tc_call *c, uint64_t ptr, size_t need)
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

static void fmt_arg(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o)
{
    unsigned char m = (unsigned char)c->reg->args[i];
    arg_formatter *f = m < 128 ? arg_formatters[m] : NULL;
    if (f)
        f(b, c, i, o);
    else
        fmt_ptr(b, c->args[i]);
}

/* ------------------------------------------------------------------------
 * Calls that sigtable.def gives a decoder (its last column). */

/* fcntl: the commands that take no third argument do not show it (as
 * strace), F_SETFL's is open flags, F_GETFL's and F_GETFD's results are
 * decoded. */
static uint64_t fcntl_cmd(const struct tc_call *c)
{
    return c->nargs >= 2 ? c->args[1] : UINT64_MAX;
}

static size_t fcntl_shown(const struct tc_call *c)
{
    uint64_t cmd = fcntl_cmd(c);
    if (c->nargs == 3 && (cmd == GUEST_F_GETFD || cmd == GUEST_F_GETFL || cmd == GUEST_F_GETOWN ||
                          cmd == GUEST_F_GETSIG || cmd == GUEST_F_GETPIPE_SZ))
        return 2;
    return c->nargs;
}

static int fcntl_arg(struct st_buf *b, const struct tc_call *c, size_t i)
{
    if (i != 2 || fcntl_cmd(c) != GUEST_F_SETFL)
        return 0;
    fmt_open_flags(b, c->args[i]);
    return 1;
}

static int fcntl_result(struct st_buf *b, const struct tc_call *c)
{
    uint64_t v = c->result;
    if (fcntl_cmd(c) == GUEST_F_GETFL) {
        st_buf_addf(b, "%#" PRIx64 " (flags ", v);
        fmt_open_flags(b, v);
        st_buf_puts(b, ")");
        return 1;
    }
    if (fcntl_cmd(c) == GUEST_F_GETFD) {
        st_buf_addf(b, "%#" PRIx64 " (flags %s)", v, v == GUEST_FD_CLOEXEC ? "FD_CLOEXEC" : "0");
        return 1;
    }
    return 0;
}

static const struct call_decoder {
    size_t (*shown)(const struct tc_call *c);                      /* arguments shown */
    int (*arg)(struct st_buf *b, const struct tc_call *c, size_t i); /* 1: it showed argument i */
    int (*result)(struct st_buf *b, const struct tc_call *c);       /* 1: it showed the (successful) result */
} decoders[] = {
    [ST_DEC_FCNTL] = { fcntl_shown, fcntl_arg, fcntl_result },
};

/* The decoder sigtable.def names for the call, or NULL. */
static const struct call_decoder *decoder_of(const struct tc_call *c)
{
    if (!c->reg || c->reg->decoder == ST_DEC_NONE ||
        (size_t)c->reg->decoder >= sizeof decoders / sizeof decoders[0])
        return NULL;
    return &decoders[c->reg->decoder];
}

/* An argument by its wire kind only (unknown signatures). */
static void fmt_wire(struct st_buf *b, char kind, uint64_t v)
{
    if (kind == 'p') {
        fmt_ptr(b, v);
    } else if (kind == 'f') {
        double d;
        memcpy(&d, &v, sizeof d);
        st_buf_addf(b, "%.17g", d);
    } else {
        st_buf_addf(b, "%" PRId64, (int64_t)v);
    }
}

static void fmt_errno(struct st_buf *b, int32_t err)
{
    const char *n = tp_errno_name(err);
    if (n)
        st_buf_addf(b, " %s (%s)", n, tp_errno_text(err));
    else
        st_buf_addf(b, " errno %" PRId32 " (Unknown error %" PRId32 ")", err, err);
}

/* The data a pointer result points to: an M (allocated) or W (written)
 * block of this call at that address. */
static const struct tc_mem *pointed(const struct tc_call *c, uint64_t ptr)
{
    const struct tc_mem *m = NULL;
    for (size_t i = 0; i < c->nmem; i++)
        if ((c->mem[i].kind == TRACE_EV_MEM_ALLOC || c->mem[i].kind == TRACE_EV_MEM_WRITE) &&
            c->mem[i].ptr == ptr)
            m = &c->mem[i]; /* the last one written is what the guest sees */
    return m;
}

static void fmt_result(struct st_buf *b, const struct tc_call *c, const struct tp_options *o)
{
    char meaning = c->reg ? c->reg->res : 0;
    int failed = tc_call_failed(c);
    uint64_t v = c->result;
    switch (c->result_kind) {
    case 'v':
        st_buf_puts(b, "void");
        break;
    case 'f':
        fmt_wire(b, 'f', v);
        break;
    case 'p': {
        fmt_ptr(b, v);
        const struct tc_mem *m = v && !failed ? pointed(c, v) : NULL;
        if (m && meaning == ST_RES_STR) {
            st_buf_puts(b, " ");
            fmt_cstr(b, m->data, m->kept, m->len, o);
        } else if (m && meaning == ST_RES_DIRENT && m->kept >= 19 + 1) {
            st_buf_puts(b, " ");
            fmt_dirent(b, m->data, m->kept, o);
        }
        break;
    }
    default: {
        int64_t sv = (int64_t)v;
        const struct call_decoder *dec = decoder_of(c);
        if (!failed && dec && dec->result && dec->result(b, c)) {
            /* shown by the call's decoder */
        } else if (meaning == ST_RES_MODE) {
            st_buf_addf(b, "%#04" PRIo64, v);
        } else if (meaning == ST_RES_FD && !failed && o->fd_paths) {
            /* The new descriptor, named by this very call (open) or by the one it copies (dup). */
            st_buf_addf(b, "%" PRId64, sv);
            int dirfd;
            const struct tc_mem *m = first_path(c, &dirfd);
            int64_t a0 = c->nargs > 0 ? (int64_t)c->args[0] : -1;
            const char *copied = o->fdtab && a0 >= 0 && a0 < TP_FDTAB_MAX && !m ? o->fdtab->path[a0] : NULL;
            if (m || copied) {
                st_buf_puts(b, "<");
                if (m) {
                    char tmp[4097];
                    size_t n = m->kept < 4096 ? m->kept : 4096;
                    memcpy(tmp, m->data, n);
                    tmp[n] = '\0';
                    tp_format_text(b, tmp);
                } else {
                    tp_format_text(b, copied);
                }
                st_buf_puts(b, ">");
            }
        } else {
            st_buf_addf(b, "%" PRId64, sv);
        }
        break;
    }
    }
    if (c->has_errno) {
        if (failed) {
            fmt_errno(b, c->err);
        } else if (c->err) {
            const char *n = tp_errno_name(c->err);
            if (n)
                st_buf_addf(b, " (errno %s)", n);
            else
                st_buf_addf(b, " (errno %" PRId32 ")", c->err);
        }
    }
}

static void fmt_secs(struct st_buf *b, uint64_t ns)
{
    st_buf_addf(b, "%" PRIu64 ".%06" PRIu64, ns / 1000000000u, ns / 1000u % 1000000u);
}

void tp_format_call_args(struct st_buf *out, const struct tc_call *c, const struct tp_options *o)
{
    const struct call_decoder *dec = decoder_of(c);
    size_t shown = dec && dec->shown ? dec->shown(c) : c->nargs;
    for (size_t i = 0; i < shown; i++) {
        if (i)
            st_buf_puts(out, ", ");
        if (dec && dec->arg && dec->arg(out, c, i))
            continue;
        if (c->reg)
            fmt_arg(out, c, i, o);
        else
            fmt_wire(out, i < strlen(c->arg_kinds) ? c->arg_kinds[i] : 'i', c->args[i]);
    }
}

void tp_format_raw_call(struct st_buf *out, const char *sig, const uint64_t *args, size_t nargs)
{
    char name[TRACE_MAX_SIG_LEN + 1], kinds[TRACE_MAX_ARGS + 1], res;
    tc_parse_sig(sig, name, sizeof name, kinds, sizeof kinds, &res);
    size_t nk = strlen(kinds);
    tp_format_text(out, name);
    st_buf_puts(out, "(");
    for (size_t i = 0; i < nargs; i++) {
        if (i)
            st_buf_puts(out, ", ");
        fmt_wire(out, i < nk ? kinds[i] : 'i', args[i]);
    }
    st_buf_puts(out, ")");
}

void tp_format_call_result(struct st_buf *out, const struct tc_call *c, const struct tp_options *o)
{
    if (c->finished)
        fmt_result(out, c, o);
}

void tp_format_call(struct st_buf *out, const struct tc_call *c, const struct tp_options *o)
{
    tp_format_text(out, c->name);
    st_buf_puts(out, "(");
    tp_format_call_args(out, c, o);
    if (!c->finished) {
        if (c->reg && c->reg->id == ST_SIG__exit)
            st_buf_puts(out, ") = ?");
        else
            st_buf_puts(out, " <unfinished ...>");
    } else {
        st_buf_puts(out, ") = ");
        fmt_result(out, c, o);
        if (o->durations) {
            st_buf_puts(out, " <");
            fmt_secs(out, c->end_time_ns >= c->time_ns ? c->end_time_ns - c->time_ns : 0);
            st_buf_puts(out, ">");
        }
    }
    if (c->mem_dropped)
        st_buf_addf(out, " /* %" PRIu64 " more memory commands not kept */", c->mem_dropped);
}

static void fmt_request_event(struct st_buf *out, const struct trace_event *ev)
{
    char name[TRACE_MAX_SIG_LEN + 1], kinds[TRACE_MAX_ARGS + 1], res;
    const char *sig = ev->request.sig ? ev->request.sig : "";
    tc_parse_sig(sig, name, sizeof name, kinds, sizeof kinds, &res);
    tp_format_text(out, sig);
    for (size_t i = 0; i < ev->request.nargs && i < TRACE_MAX_ARGS; i++) {
        st_buf_puts(out, " ");
        char k = i < strlen(kinds) ? kinds[i] : 'i';
        if (k == 'p')
            st_buf_addf(out, "%#" PRIx64, ev->request.args[i]);
        else
            fmt_wire(out, k, ev->request.args[i]);
    }
}

/* A memory command, E or RESULT in raw form: 1 when `ev` is one. */
static int fmt_call_part_event(struct st_buf *out, const struct trace_event *ev,
                               const struct tp_options *o)
{
    const char *s;
    switch (ev->kind) {
    case TRACE_EV_MEM_READ:
        st_buf_addf(out, "R %#" PRIx64 " %zu -> ", ev->mem.ptr, ev->mem.len);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        return 1;
    case TRACE_EV_MEM_READ_STR:
        st_buf_addf(out, "Z %#" PRIx64 " %" PRId64 " -> ", ev->mem.ptr, (int64_t)ev->mem.size);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        return 1;
    case TRACE_EV_MEM_WRITE:
        st_buf_addf(out, "W %#" PRIx64 " %zu <- ", ev->mem.ptr, ev->mem.len);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        return 1;
    case TRACE_EV_MEM_ALLOC:
        st_buf_addf(out, "M %zu ", ev->mem.len);
        tp_format_bytes(out, ev->mem.data, ev->mem.len, o);
        st_buf_addf(out, " -> %#" PRIx64, ev->mem.ptr);
        return 1;
    case TRACE_EV_MEM_FREE:
        st_buf_addf(out, "F %#" PRIx64, ev->mem.ptr);
        return 1;
    case TRACE_EV_SET_ERRNO:
        st_buf_addf(out, "E %" PRId32, ev->set_errno.value);
        if ((s = tp_errno_name(ev->set_errno.value)))
            st_buf_addf(out, " %s", s);
        return 1;
    case TRACE_EV_RESULT:
        st_buf_puts(out, "= ");
        if (ev->result.kind == 'v')
            st_buf_puts(out, "void");
        else if (ev->result.kind == 'p')
            st_buf_addf(out, "%#" PRIx64, ev->result.value);
        else
            fmt_wire(out, ev->result.kind, ev->result.value);
        return 1;
    default:
        return 0;
    }
}

static void fmt_exit_event(struct st_buf *out, const struct trace_event *ev)
{
    const char *s;
    if (ev->guest_exit.signal) {
        if ((s = tp_signal_name(ev->guest_exit.signal)))
            st_buf_addf(out, "+++ killed by %s", s);
        else
            st_buf_addf(out, "+++ killed by signal %" PRId32, ev->guest_exit.signal);
    } else {
        st_buf_addf(out, "+++ exited with %" PRId32, ev->guest_exit.code);
    }
    /* The reason, unless it only says what the line already says. */
    if (ev->guest_exit.reason && *ev->guest_exit.reason &&
        (ev->guest_exit.signal || strncmp(ev->guest_exit.reason, "exited", 6))) {
        st_buf_puts(out, " (");
        tp_format_text(out, ev->guest_exit.reason);
        st_buf_puts(out, ")");
    }
    st_buf_puts(out, " +++");
}

void tp_format_event(struct st_buf *out, const struct trace_event *ev, const struct tp_options *o)
{
    if (fmt_call_part_event(out, ev, o))
        return;
    switch (ev->kind) {
    case TRACE_EV_REQUEST:
        fmt_request_event(out, ev);
        break;
    case TRACE_EV_GUEST_STDERR:
        st_buf_puts(out, "--- stderr ");
        tp_format_bytes(out, ev->guest_stderr.data, ev->guest_stderr.len, o);
        st_buf_puts(out, " ---");
        break;
    case TRACE_EV_GUEST_EXIT:
        fmt_exit_event(out, ev);
        break;
    case TRACE_EV_LIMIT:
        st_buf_puts(out, "!!! limit ");
        tp_format_text(out, ev->limit.name ? ev->limit.name : "?");
        if (ev->limit.value) /* 0: a limit without a value (interrupted) */
            st_buf_addf(out, "=%" PRIu64, ev->limit.value);
        if (ev->limit.detail && *ev->limit.detail) {
            st_buf_puts(out, ": ");
            tp_format_text(out, ev->limit.detail);
        }
        st_buf_puts(out, " !!!");
        break;
    case TRACE_EV_VIOLATION:
        st_buf_puts(out, "!!! violation: ");
        tp_format_text(out, ev->violation.text ? ev->violation.text : "");
        if (ev->violation.len) {
            st_buf_puts(out, " ");
            tp_format_bytes(out, ev->violation.data, ev->violation.len, o);
        }
        st_buf_puts(out, " !!!");
        break;
    case TRACE_EV_NOTE:
        st_buf_puts(out, "--- note: ");
        tp_format_text(out, ev->note.text ? ev->note.text : "");
        st_buf_puts(out, " ---");
        break;
    default:
        st_buf_addf(out, "??? event of kind %d", (int)ev->kind);
        break;
    }
}

/* ------------------------------------------------------------------------
 * The printer. */

struct tp_printer {
    struct tp_options o;
    FILE *f;
    struct st_buf *out;
    struct st_buf line;
    struct tc_collector *col;
    uint64_t last_ns;
    int have_last;
    struct tp_fdtab fdtab; /* -y */
};

struct tp_printer *tp_printer_new(const struct tp_options *o, FILE *f, struct st_buf *buf)
{
    struct tp_printer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (o)
        p->o = *o;
    else
        tp_options_init(&p->o);
    p->f = f;
    p->out = buf;
    st_buf_init(&p->line, 0);
    p->col = tc_collector_new();
    if (!p->col) {
        free(p);
        return NULL;
    }
    return p;
}

/* -t, -tt, -ttt: the wall-clock time of an event, strace's forms. */
static void abs_time(struct st_buf *b, int level, int64_t start, uint64_t ns)
{
    int64_t t = start + (int64_t)ns;
    int64_t sec = t / 1000000000, us = t % 1000000000 / 1000;
    if (us < 0) {
        us += 1000000;
        sec--;
    }
    if (level >= 3) {
        st_buf_addf(b, "%" PRId64 ".%06" PRId64, sec, us);
        return;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if (!localtime_r(&tt, &tm)) {
        st_buf_puts(b, "??:??:??");
        return;
    }
    st_buf_addf(b, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (level == 2)
        st_buf_addf(b, ".%06" PRId64, us);
}

static void prefix(struct tp_printer *p, uint64_t seq, uint64_t ns)
{
    if (p->o.no_prefix)
        return;
    st_buf_addf(&p->line, "%" PRIu64 " ", seq);
    if (p->o.absolute) {
        abs_time(&p->line, p->o.absolute, p->o.start_unix_ns, ns);
    } else if (p->o.relative) {
        uint64_t d = p->have_last && ns >= p->last_ns ? ns - p->last_ns : 0;
        st_buf_puts(&p->line, " ");
        fmt_secs(&p->line, d);
    } else {
        st_buf_puts(&p->line, "+");
        fmt_secs(&p->line, ns);
    }
    st_buf_puts(&p->line, " ");
    p->last_ns = ns;
    p->have_last = 1;
}

static void emit(struct tp_printer *p)
{
    st_buf_puts(&p->line, "\n");
    if (p->f)
        fwrite(p->line.data, 1, p->line.len, p->f);
    else if (p->out)
        st_buf_add(p->out, p->line.data, p->line.len);
    st_buf_reset(&p->line);
}

/* A memory command of a call, back as an event, for the raw lines. */
static void mem_event(const struct tc_mem *m, uint64_t req_seq, struct trace_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = m->kind;
    ev->seq = m->seq;
    ev->time_ns = m->time_ns;
    ev->req_seq = req_seq;
    if (m->kind == TRACE_EV_SET_ERRNO) {
        ev->set_errno.value = m->err;
    } else {
        ev->mem.ptr = m->ptr;
        ev->mem.size = m->size;
        ev->mem.data = m->data;
        ev->mem.len = m->kept;
    }
}

void tp_printer_print_item(struct tp_printer *p, const struct tc_item *it)
{
    if (it->kind == TC_ITEM_CALL) {
        const struct tc_call *c = &it->call;
        if (p->o.fd_paths)
            p->o.fdtab = &p->fdtab;
        if (!tp_filter_match(p->o.filter, c)) {
            if (p->o.fd_paths)
                tp_fdtab_update(&p->fdtab, c); /* hidden calls still open and close files */
            return;
        }
        prefix(p, c->seq, c->time_ns);
        tp_format_call(&p->line, c, &p->o);
        emit(p);
        if (p->o.fd_paths)
            tp_fdtab_update(&p->fdtab, c);
        if (!p->o.raw)
            return;
        for (size_t i = 0; i < c->nmem; i++) {
            struct trace_event ev;
            mem_event(&c->mem[i], c->seq, &ev);
            prefix(p, ev.seq, ev.time_ns);
            st_buf_puts(&p->line, "  ");
            tp_format_event(&p->line, &ev, &p->o);
            emit(p);
        }
        if (c->finished) {
            struct trace_event ev;
            memset(&ev, 0, sizeof ev);
            ev.kind = TRACE_EV_RESULT;
            ev.result.kind = c->result_kind;
            ev.result.value = c->result;
            prefix(p, c->end_seq, c->end_time_ns);
            st_buf_puts(&p->line, "  ");
            tp_format_event(&p->line, &ev, &p->o);
            emit(p);
        }
    } else if (it->kind == TC_ITEM_EVENT) {
        prefix(p, it->ev.seq, it->ev.time_ns);
        int part = 0;
        switch (it->ev.kind) {
        case TRACE_EV_MEM_READ: case TRACE_EV_MEM_READ_STR: case TRACE_EV_MEM_WRITE:
        case TRACE_EV_MEM_ALLOC: case TRACE_EV_MEM_FREE: case TRACE_EV_SET_ERRNO: case TRACE_EV_RESULT:
            part = 1;
            break;
        default:
            break;
        }
        /* A part of a call shown alone: the range (--events) starts after
         * its request (dump --raw), or it belongs to no request. */
        int before = part && it->ev.req_seq != TRACE_SEQ_NONE && it->ev.req_seq < p->o.range_first;
        if (part)
            st_buf_puts(&p->line, before ? "  " : "??? outside any request: ");
        tp_format_event(&p->line, &it->ev, &p->o);
        if (before)
            st_buf_addf(&p->line, " (of the call at event %" PRIu64 ")", it->ev.req_seq);
        emit(p);
    }
}

static void drain(struct tp_printer *p)
{
    struct tc_item it;
    while (tc_collector_pop(p->col, &it)) {
        tp_printer_print_item(p, &it);
        tc_item_release(&it);
    }
}

int tp_printer_add_event(struct tp_printer *p, const struct trace_event *ev)
{
    int rc = tc_collector_add(p->col, ev);
    drain(p);
    return rc;
}

void tp_printer_finish(struct tp_printer *p)
{
    tc_collector_finish(p->col);
    drain(p);
}

void tp_printer_free(struct tp_printer *p)
{
    if (!p)
        return;
    tc_collector_free(p->col);
    st_buf_release(&p->line);
    tp_fdtab_release(&p->fdtab);
    free(p);
}
