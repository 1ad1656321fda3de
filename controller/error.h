/* The controller library's error codes: one enum for all of controller/
 * (codec, spawning, session, handlers). Functions return 0 (or a count) on
 * success and a negative ST_E_* on failure; st_error_name() names one.
 *
 * Every ST_E_* lies below -ST_ERRNO_MAX, so that a negative value is either
 * -errno (-1 .. -4095, the kernel's MAX_ERRNO range) or an ST_E_*, never
 * both: handlers and I/O helpers that pass an errno back (-EBADF, the
 * vfs's ST_VFS_E*) cannot be mistaken for a protocol error, nor the
 * reverse. */
#ifndef SANDTRACE_CONTROLLER_ERROR_H
#define SANDTRACE_CONTROLLER_ERROR_H

#define ST_ERRNO_MAX 4095

enum st_error {
    ST_OK = 0,
    /* The wire codec: what was wrong with the bytes a peer sent. */
    ST_E_EOF = -4096,              /* clean end of stream at a request/command boundary */
    ST_E_TRUNCATED = -4097,        /* end of stream in the middle of a request or reply */
    ST_E_ZERO_LENGTH = -4098,      /* a request whose text length byte is 0 */
    ST_E_BAD_TEXT = -4099,         /* the text is not "name(ARGS)R" (bad name, no parens, ...) */
    ST_E_BAD_KIND = -4100,         /* an argument or result kind letter other than i, f, p (v for results) */
    ST_E_TOO_MANY_ARGS = -4101,    /* more than ST_MAX_ARGS (32) arguments */
    ST_E_IO = -4102,               /* read() or write() failed (errno kept by the caller) */
    ST_E_TOO_BIG = -4103,          /* a size beyond a hard limit (reply, buffer, string) */
    ST_E_BAD_REPLY = -4104,        /* a reply that contradicts its command (Z longer than maxlen) */
    ST_E_BAD_OPCODE = -4105,       /* an unknown command opcode (controller -> guest stream) */
    ST_E_NOMEM = -4106,            /* an allocation failed */
    ST_E_TIMEOUT = -4107,          /* the wall-clock limit expired while waiting */
    ST_E_UNKNOWN_CALL = -4108,     /* a signature the registry does not know (or marks FATAL) */
    ST_E_BAD_RESULT = -4109,       /* a result kind that does not match the request */
    ST_E_SPAWN = -4110,            /* the guest could not be started (fork, exec, pipes) */
    ST_E_SECCOMP = -4111,          /* the seccomp filter could not be built or loaded */
    ST_E_CONFIG = -4112,           /* an invalid configuration value */
    ST_E_STOPPED = -4113,          /* the session decided to end the guest (a limit was hit) */
    ST_E_INVALID = -4114,          /* an invalid argument to a library function */
    ST_E_ELF = -4115,              /* an ELF file is not one this machine runs, or is malformed */
    ST_E_FSJAIL = -4116,           /* the namespaces, the empty root or Landlock could not be set up */
    ST_E_NOJAIL = -4117,           /* neither user namespaces nor Landlock are available here */
};

/* Is `rc` a negative errno (-1 .. -ST_ERRNO_MAX) rather than an ST_E_*? */
static inline int st_error_is_errno(int rc)
{
    return rc < 0 && rc >= -ST_ERRNO_MAX;
}

/* A short lowercase description of `err` ("request text is malformed"), or for a
 * negative errno its strerror() text; never NULL. */
const char *st_error_name(int err);

#endif
