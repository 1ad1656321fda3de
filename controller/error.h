/* The controller library's error codes: one enum for all of controller/
 * (codec, spawning, session, handlers). Functions return 0 (or a count) on
 * success and a negative ST_E_* on failure; st_error_name() names one. */
#ifndef SANDTRACE_CONTROLLER_ERROR_H
#define SANDTRACE_CONTROLLER_ERROR_H

enum st_error {
    ST_OK = 0,
    /* The wire codec: what was wrong with the bytes a peer sent. */
    ST_E_EOF = -1,            /* clean end of stream at a request/command boundary */
    ST_E_TRUNCATED = -2,      /* end of stream in the middle of a request or reply */
    ST_E_ZERO_LENGTH = -3,    /* a request whose text length byte is 0 */
    ST_E_BAD_TEXT = -4,       /* the text is not "name(ARGS)R" (bad name, no parens, ...) */
    ST_E_BAD_KIND = -5,       /* an argument or result kind letter other than i, f, p (v for results) */
    ST_E_TOO_MANY_ARGS = -6,  /* more than ST_MAX_ARGS (32) arguments */
    ST_E_IO = -7,             /* read() or write() failed (errno kept by the caller) */
    ST_E_TOO_BIG = -8,        /* a size beyond a hard limit (reply, buffer, string) */
    ST_E_BAD_REPLY = -9,      /* a reply that contradicts its command (Z longer than maxlen) */
    ST_E_BAD_OPCODE = -10,    /* an unknown command opcode (controller -> guest stream) */
    ST_E_NOMEM = -11,         /* an allocation failed */
    ST_E_TIMEOUT = -12,       /* the wall-clock limit expired while waiting */
    ST_E_UNKNOWN_CALL = -13,  /* a signature the registry does not know (or marks FATAL) */
    ST_E_BAD_RESULT = -14,    /* a result kind that does not match the request */
    ST_E_SPAWN = -15,         /* the guest could not be started (fork, exec, pipes) */
    ST_E_SECCOMP = -16,       /* the seccomp filter could not be built or loaded */
    ST_E_CONFIG = -17,        /* an invalid configuration value */
    ST_E_STOPPED = -18,       /* the session decided to end the guest (a limit was hit) */
    ST_E_INVALID = -19,       /* an invalid argument to a library function */
};

/* A short lowercase description of `err` ("request text is malformed"); never NULL. */
const char *st_error_name(int err);

#endif
