/* Shared helpers of the trace-reading commands: see trace_cli.h. */
#include "tools/trace_cli.h"

#include "common/st_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct trace_reader *tcli_open(const char *cmd, const char *path, int recover)
{
    struct trace_io *io = NULL;
    int rc;
    if (!strcmp(path, "-")) {
        io = trace_io_from_fd(0, 0);
        rc = io ? 0 : TRACE_E_NOMEM;
    } else {
        rc = trace_io_open_file(path, TRACE_IO_READ, &io);
    }
    if (rc < 0) {
        int e = io ? io->last_errno : errno;
        fprintf(stderr, "sandtrace %s: cannot open trace '%s': %s\n", cmd, path,
                rc == TRACE_E_IO && e ? strerror(e) : trace_strerror(rc));
        trace_io_free(io);
        return NULL;
    }
    struct trace_reader_options o = { .recover = recover, .key = NULL };
    struct trace_reader *r = NULL;
    char msg[256] = "";
    rc = trace_reader_open(&r, io, 1, &o, msg, sizeof msg);
    if (rc < 0) {
        fprintf(stderr, "sandtrace %s: cannot open trace '%s': %s\n", cmd, path,
                *msg ? msg : trace_strerror(rc));
        return NULL;
    }
    return r;
}

int tcli_parse_range(const char *s, uint64_t *first, uint64_t *last)
{
    const char *dots = strstr(s, "..");
    *first = 0;
    *last = UINT64_MAX;
    if (!dots)
        return st_parse_u64_n(s, strlen(s), first) < 0 ? -1 : (*last = *first, 0);
    if (dots > s && st_parse_u64_n(s, (size_t)(dots - s), first) < 0)
        return -1;
    if (dots[2] && st_parse_u64_n(dots + 2, strlen(dots + 2), last) < 0)
        return -1;
    if (dots == s && !dots[2])
        return -1;
    return *first <= *last ? 0 : -1;
}

int tcli_parse_size(const char *s, size_t *out)
{
    uint64_t v;
    if (st_parse_u64_n(s, strlen(s), &v) < 0 || v > SIZE_MAX / 2)
        return -1;
    *out = (size_t)v;
    return 0;
}

int tcli_read_error(const char *cmd, const char *path, struct trace_reader *r, int err)
{
    const char *m = trace_reader_error_message(r);
    fprintf(stderr, "sandtrace %s: trace '%s' is %s at offset %llu: %s\n", cmd, path,
            err == TRACE_E_TRUNCATED ? "truncated" : "damaged", (unsigned long long)trace_reader_error_offset(r),
            m && *m ? m : trace_strerror(err));
    return TCLI_EXIT_DAMAGED;
}

void tcli_json_str(struct st_buf *b, const void *data, size_t len)
{
    st_buf_add_json_string(b, data, len, ST_JSON_UTF8);
}

int tcli_flush(struct st_buf *b, FILE *f)
{
    int rc = 0;
    if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
        rc = -1;
    st_buf_reset(b);
    return rc;
}
