/* Names of the controller's error codes. */
#include "controller/error.h"

#include <string.h>

const char *st_error_name(int err)
{
    switch ((enum st_error)err) {
    case ST_OK: return "success";
    case ST_E_EOF: return "end of stream";
    case ST_E_TRUNCATED: return "stream ended inside a message";
    case ST_E_ZERO_LENGTH: return "request with a zero-length signature";
    case ST_E_BAD_TEXT: return "malformed signature text";
    case ST_E_BAD_KIND: return "unknown kind letter in signature";
    case ST_E_TOO_MANY_ARGS: return "more than 32 arguments";
    case ST_E_IO: return "i/o error on the guest's pipes";
    case ST_E_TOO_BIG: return "size beyond limit";
    case ST_E_BAD_REPLY: return "reply does not match its command";
    case ST_E_BAD_OPCODE: return "unknown command opcode";
    case ST_E_NOMEM: return "out of memory";
    case ST_E_TIMEOUT: return "timed out";
    case ST_E_UNKNOWN_CALL: return "unknown function";
    case ST_E_BAD_RESULT: return "result kind does not match the request";
    case ST_E_SPAWN: return "cannot start the guest";
    case ST_E_SECCOMP: return "cannot install the seccomp filter";
    case ST_E_CONFIG: return "invalid configuration";
    case ST_E_STOPPED: return "guest stopped by the controller";
    case ST_E_INVALID: return "invalid argument";
    case ST_E_ELF: return "not an ELF object this machine runs, or a malformed one";
    case ST_E_FSJAIL: return "cannot set up the guest's namespaces, empty root or Landlock";
    case ST_E_NOJAIL:
        return "no file-system jail: this system allows neither user namespaces nor Landlock";
    }
    if (st_error_is_errno(err))
        return strerror(-err);
    return "unknown error";
}
