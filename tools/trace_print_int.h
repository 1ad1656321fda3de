/* tools/trace_print_int.h: what the parts of the symbolic printer share
 * (tools/trace_print.c, tools/trace_print_args.c, tools/trace_print_filter.c):
 * the guest's fcntl constants and the pieces and argument formatters the
 * call decoders use. Not an API. */
#ifndef SANDTRACE_TOOLS_TRACE_PRINT_INT_H
#define SANDTRACE_TOOLS_TRACE_PRINT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tools/trace_print.h"

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

/* Pieces and argument formatters (trace_print_args.c). */
void fmt_ptr(struct st_buf *b, uint64_t v);
void fmt_open_flags(struct st_buf *b, uint64_t v);
void fmt_dirent(struct st_buf *b, const uint8_t *p, size_t len, const struct tp_options *o);
void fmt_cstr(struct st_buf *b, const uint8_t *d, size_t kept, size_t len, const struct tp_options *o);
const struct tc_mem *first_path(const struct tc_call *c, int *dirfd_arg);
const struct tc_mem *written(const struct tc_call *c, uint64_t ptr, size_t need);
void fmt_arg(struct st_buf *b, const struct tc_call *c, size_t i, const struct tp_options *o);

#endif
