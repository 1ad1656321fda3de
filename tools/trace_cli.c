/* Shared helpers of the trace-reading commands: see trace_cli.h. */
#include "tools/trace_cli.h"

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

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int tcli_parse_range(const char *s, uint64_t *first, uint64_t *last)
{
    const char *dots = strstr(s, "..");
    *first = 0;
    *last = UINT64_MAX;
    if (!dots)
        return parse_u64(s, strlen(s), first) < 0 ? -1 : (*last = *first, 0);
    if (dots > s && parse_u64(s, (size_t)(dots - s), first) < 0)
        return -1;
    if (dots[2] && parse_u64(dots + 2, strlen(dots + 2), last) < 0)
        return -1;
    if (dots == s && !dots[2])
        return -1;
    return *first <= *last ? 0 : -1;
}

int tcli_parse_size(const char *s, size_t *out)
{
    uint64_t v;
    if (parse_u64(s, strlen(s), &v) < 0 || v > SIZE_MAX / 2)
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

void tcli_json_str(struct tp_buf *b, const void *data, size_t len)
{
    const uint8_t *d = data;
    char tmp[8];
    tp_buf_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        uint8_t c = d[i];
        switch (c) {
        case '"': tp_buf_puts(b, "\\\""); break;
        case '\\': tp_buf_puts(b, "\\\\"); break;
        case '\n': tp_buf_puts(b, "\\n"); break;
        case '\r': tp_buf_puts(b, "\\r"); break;
        case '\t': tp_buf_puts(b, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                tp_buf_puts(b, tmp);
            } else if (c < 0x80) {
                tp_buf_add(b, &c, 1);
            } else {
                /* U+0080..U+00FF in UTF-8. */
                uint8_t u[2] = { (uint8_t)(0xc0 | c >> 6), (uint8_t)(0x80 | (c & 0x3f)) };
                tp_buf_add(b, u, 2);
            }
        }
    }
    tp_buf_puts(b, "\"");
}

int tcli_flush(struct tp_buf *b, FILE *f)
{
    int rc = 0;
    if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
        rc = -1;
    tp_buf_reset(b);
    return rc;
}
