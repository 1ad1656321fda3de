/* Outcomes: status names (the exit codes and JSON are the tools', tools/run_outcome.h). */
#include "controller/session.h"


const char *st_status_name(enum st_status status)
{
    switch (status) {
    case ST_STATUS_EXITED: return "exited";
    case ST_STATUS_SIGNALED: return "signaled";
    case ST_STATUS_TIMEOUT: return "timeout";
    case ST_STATUS_CPU: return "cpu";
    case ST_STATUS_MEMORY: return "memory";
    case ST_STATUS_OUTPUT: return "output";
    case ST_STATUS_MAX_CALLS: return "max-calls";
    case ST_STATUS_VIOLATION: return "violation";
    case ST_STATUS_UNKNOWN_CALL: return "unknown-call";
    case ST_STATUS_SECCOMP: return "seccomp";
    case ST_STATUS_TRACE_LIMIT: return "trace-limit";
    case ST_STATUS_ERROR: return "error";
    case ST_STATUS_HANDLER: return "handler";
    case ST_STATUS_INTERRUPTED: return "interrupted";
    }
    return "?";
}

int st_status_limit(enum st_status status)
{
    switch (status) {
    case ST_STATUS_TIMEOUT: return ST_LIMIT_TIMEOUT;
    case ST_STATUS_CPU: return ST_LIMIT_CPU;
    case ST_STATUS_MEMORY: return ST_LIMIT_MEMORY;
    case ST_STATUS_OUTPUT: return ST_LIMIT_OUTPUT;
    case ST_STATUS_MAX_CALLS: return ST_LIMIT_CALLS;
    case ST_STATUS_TRACE_LIMIT: return ST_LIMIT_TRACE;
    case ST_STATUS_INTERRUPTED: return ST_LIMIT_INTERRUPT;
    default: return -1;
    }
}

