/* The signature registry: what every sandbox-2 function is and means.
 *
 * One table (controller/sigtable.def) serves the dispatcher, the trace
 * printer and statistics. Looking a signature up never allocates. */
#ifndef SANDTRACE_CONTROLLER_REGISTRY_H
#define SANDTRACE_CONTROLLER_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_ARGS 32
#define ST_SIG_MAX_TEXT 255u /* a request's text length is one byte */

enum st_sig_id {
#define SIG(ident, text, cls, args, res, act, err, dec) ST_SIG_##ident,
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

/* A call whose arguments or result need more than their meanings to be
 * shown (strace's SEN decoders): the last column of sigtable.def. */
enum st_sig_decoder {
    ST_DEC_NONE,
    ST_DEC_FCNTL,            /* the third argument and the result depend on the command */
};

enum st_sig_action {
    ST_ACT_HANDLED,
    ST_ACT_REFUSED,
    ST_ACT_FATAL,
};

/* The guest's struct sizes (x86-64 glibc layout, PROTOCOL.md): what the
 * controller writes at an out-pointer, the printer decodes and the
 * replayer maps. */
#define ST_GUEST_STAT_SIZE 144
#define ST_GUEST_TIMEVAL_SIZE 16
#define ST_GUEST_TIMESPEC_SIZE 16
#define ST_GUEST_TIME_SIZE 8
#define ST_GUEST_ID_SIZE 4
#define ST_GUEST_UTSNAME_FIELD 65
#define ST_GUEST_UTSNAME_SIZE (6 * ST_GUEST_UTSNAME_FIELD)
#define ST_GUEST_TMS_SIZE 32
#define ST_GUEST_RUSAGE_SIZE 144

/* What one argument means: the characters used in sigtable.def, one line
 * each in argtable.def (with its size, formatter and noun). */
enum st_arg_meaning {
#define ARG(ident, ch, size, fmt, noun) ST_ARG_##ident = ch,
#include "controller/argtable.def"
#undef ARG
};

/* What argtable.def says of a meaning. */
struct st_arg_info {
    char meaning;            /* an st_arg_meaning */
    unsigned size;           /* bytes at the pointer when fixed, else 0 */
    const char *noun;        /* "fd", "string", ... or NULL */
};

/* What the result means. */
enum st_res_meaning {
    ST_RES_ERR = 'e',        /* 0 or another value on success, -1 with errno on failure */
    ST_RES_FD = 'd',         /* a new file descriptor, or -1 with errno */
    ST_RES_COUNT = 'l',      /* a byte count, or -1 with errno */
    ST_RES_OFFSET = 'o',     /* a file offset, or -1 with errno */
    ST_RES_NUM = 'n',        /* a number (pid, uid, time, an error number for posix_*) */
    ST_RES_MODE = 'm',       /* permission bits (umask's), shown in octal; never a failure */
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
    enum st_sig_decoder decoder;
};

/* A signature text taken apart: "name(KINDS)R". */
struct st_sig_shape {
    size_t name_len;                 /* text[0, name_len) is the function name */
    char arg_kinds[ST_MAX_ARGS + 1]; /* "ipi": 'i', 'f' or 'p' each */
    unsigned nargs;
    char res_kind;                   /* 'i', 'f', 'p' or 'v' */
};

/* The one parser of signature texts (`len` bytes, not NUL-terminated, at
 * most ST_SIG_MAX_TEXT): a name of [A-Za-z0-9_], '(', up to ST_MAX_ARGS
 * kinds, ')' and the result kind, nothing more. 0, or ST_E_ZERO_LENGTH,
 * ST_E_BAD_TEXT, ST_E_TOO_MANY_ARGS, ST_E_BAD_KIND (controller/error.h). */
int st_sig_parse(const char *text, size_t len, struct st_sig_shape *out);

/* The one failure rule: is a finished call of `sig` (NULL when unknown)
 * that returned `result` of wire kind `res_kind` a failure? By the result's
 * meaning: -1 for ERR/FD/COUNT/OFFSET, NULL with an errno for pointers,
 * never for VOID and MODE; for NUM and unknown signatures, -1 (or NULL)
 * with an errno. */
int st_sig_failed(const struct st_sig *sig, char res_kind, uint64_t result, int has_errno);

/* What argtable.def says of `meaning`; NULL when it is none of its. */
const struct st_arg_info *st_arg_info(char meaning);

/* The fixed size of what argument `i` of `sig` points to, or for a buffer
 * ('i'/'o') the value of its length argument in `args` (0 above 4 GiB);
 * 0 when neither is known. */
uint64_t st_sig_arg_extent(const struct st_sig *sig, const uint64_t *args, unsigned nargs,
                           unsigned i);

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
