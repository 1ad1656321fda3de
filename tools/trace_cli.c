/* Shared helpers of the trace-reading commands: see trace_cli.h. */
#include "tools/trace_cli.h"

#include "common/st_util.h"
#include "tools/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Shared options. */

void tcli_common_init(struct tcli_common *c)
{
    memset(c, 0, sizeof *c);
    c->last = UINT64_MAX;
}

void tcli_common_release(struct tcli_common *c)
{
    free(c->filter);
    c->filter = NULL;
}

/* Handles option `id` when it is a shared one: 1 (handled), 0 (not a shared
 * option: the command's own), or -1 (a bad value: printed with the hint). */
static int tcli_common_option(struct tcli_common *c, const struct opt_parser *p, int id)
{
    char err[512];
    switch (id) {
    case TCLI_O_OUTPUT:
        c->outpath = p->arg;
        return 1;
    case TCLI_O_EXPR:
        if (!c->filter && !(c->filter = malloc(sizeof *c->filter))) {
            opt_usage(p, "out of memory");
            return -1;
        }
        if (tp_filter_parse(c->filter, p->arg, err, sizeof err) < 0) {
            opt_usage(p, "option '-e': %s", err);
            return -1;
        }
        return 1;
    case TCLI_O_EVENTS:
        if (tcli_parse_range(p->arg, &c->first, &c->last) < 0) {
            opt_usage(p, "option '--events': bad event range '%s' (A..B, A.., ..B or N)", p->arg);
            return -1;
        }
        return 1;
    case TCLI_O_RECOVER:
        c->recover = 1;
        return 1;
    case TCLI_O_QUIET:
        c->quiet = 1;
        return 1;
    case TCLI_O_JSON:
        c->json = 1;
        return 1;
    default:
        return 0;
    }
}

int tcli_next_option(struct tcli_common *c, struct opt_parser *p)
{
    for (;;) {
        int id = opt_next(p);
        if (id == OPT_DONE || id == OPT_ERROR)
            return id;
        int shared = tcli_common_option(c, p, id);
        if (shared < 0)
            return OPT_ERROR;
        if (!shared)
            return id;
    }
}

int tcli_check_operands(const struct opt_parser *p, int n, const char *what)
{
    if (p->noperands == 0)
        return opt_usage(p, "no %s given", what);
    if (p->noperands < n)
        return opt_usage(p, "expected %d traces, got %d", n, p->noperands);
    if (p->noperands > n)
        return opt_usage(p, "unexpected argument '%s' (one command reads %s)", p->operands[n],
                         n == 1 ? "one trace" : "two traces");
    int stdin_uses = 0;
    for (int i = 0; i < n; i++)
        stdin_uses += !strcmp(p->operands[i], "-");
    if (stdin_uses > 1)
        return opt_usage(p, "'-' given twice: standard input can be read only once");
    return 0;
}

/* ------------------------------------------------------------------------
 * Opening a trace: a counting I/O in front of the file, for the progress
 * line and so that verify (which reads the I/O itself) gets one too. */

struct counting_io {
    struct trace_io io;
    struct trace_io *inner;
    struct tcli_trace *t;
};

static int count_read(struct trace_io *io, void *buf, size_t cap, size_t *got)
{
    struct counting_io *c = (struct counting_io *)io;
    int rc = c->inner->read(c->inner, buf, cap, got);
    io->last_errno = c->inner->last_errno;
    if (rc == 0) {
        c->t->bytes_read += *got;
        /* A read is large and rare next to an event: look at the clock on
         * each one (progress_update looks every 4096th call). */
        c->t->pg.calls |= 4095;
        progress_update(&c->t->pg, c->t->bytes_read);
    }
    return rc;
}

static int count_seek(struct trace_io *io, uint64_t offset)
{
    struct counting_io *c = (struct counting_io *)io;
    int rc = c->inner->seek(c->inner, offset);
    io->last_errno = c->inner->last_errno;
    return rc;
}

static int count_size(struct trace_io *io, uint64_t *size)
{
    struct counting_io *c = (struct counting_io *)io;
    int rc = c->inner->size(c->inner, size);
    io->last_errno = c->inner->last_errno;
    return rc;
}

static void count_free(struct trace_io *io)
{
    struct counting_io *c = (struct counting_io *)io;
    trace_io_free(c->inner);
    free(c);
}

static struct trace_io *counting_io_new(struct trace_io *inner, struct tcli_trace *t)
{
    struct counting_io *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->inner = inner;
    c->t = t;
    c->io.read = count_read;
    c->io.seek = inner->seek ? count_seek : NULL;
    c->io.size = inner->size ? count_size : NULL;
    c->io.free = count_free;
    return &c->io;
}

int tcli_trace_open_io(struct tcli_trace *t, const char *cmd, const char *path,
                       int quiet_progress, struct trace_io **out)
{
    memset(t, 0, sizeof *t);
    t->cmd = cmd;
    t->path = path;
    *out = NULL;
    int is_stdin = !strcmp(path, "-");
    int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int e = fd < 0 ? errno : fstat(fd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (e) {
        fprintf(stderr, "sandtrace %s: cannot open trace '%s': %s\n", cmd, path, strerror(e));
        if (fd > 0)
            close(fd);
        return ST_EXIT_UNREADABLE;
    }
    if (S_ISREG(st.st_mode))
        t->total = (uint64_t)st.st_size;
    struct trace_io *inner = trace_io_from_fd(fd, !is_stdin);
    struct trace_io *io = inner ? counting_io_new(inner, t) : NULL;
    if (!io) {
        fprintf(stderr, "sandtrace %s: cannot open trace '%s': out of memory\n", cmd, path);
        if (inner)
            trace_io_free(inner);
        else if (!is_stdin)
            close(fd);
        return ST_EXIT_UNREADABLE;
    }
    progress_start(&t->pg, cmd, "bytes", t->total, quiet_progress);
    *out = io;
    return 0;
}

int tcli_trace_open(struct tcli_trace *t, const char *cmd, const char *path, int recover,
                    int quiet_progress)
{
    struct trace_io *io;
    int status = tcli_trace_open_io(t, cmd, path, quiet_progress, &io);
    if (status)
        return status;
    struct trace_reader_options o = { .recover = recover, .key = NULL };
    char msg[256] = "";
    int rc = trace_reader_open(&t->r, io, 1, &o, msg, sizeof msg);
    if (rc < 0) {
        progress_end(&t->pg);
        fprintf(stderr, "sandtrace %s: cannot open trace '%s': %s\n", cmd, path,
                *msg ? msg : tcli_error_word(rc));
        t->r = NULL;
        /* The magic is right but the header is damaged or cut short (still
         * being written): a trace. */
        return rc == TRACE_E_CHECKSUM || rc == TRACE_E_CORRUPT || rc == TRACE_E_TRUNCATED
                   ? ST_EXIT_DAMAGED
                   : ST_EXIT_UNREADABLE;
    }
    return 0;
}

void tcli_trace_progress(struct tcli_trace *t)
{
    progress_update(&t->pg, t->bytes_read);
}

void tcli_trace_close(struct tcli_trace *t)
{
    progress_end(&t->pg);
    trace_reader_free(t->r);
    t->r = NULL;
}

int tcli_trace_end(struct tcli_trace *t, int rc)
{
    progress_end(&t->pg);
    struct trace_reader_stats st;
    trace_reader_stats(t->r, &st);
    int status = ST_EXIT_OK;
    if (st.damaged_regions) {
        fprintf(stderr,
                "sandtrace %s: trace '%s' is damaged: --recover skipped %" PRIu64 " damaged region%s"
                " (%" PRIu64 " byte%s, %s%" PRIu64 " event%s lost)\n",
                t->cmd, t->path, st.damaged_regions, st.damaged_regions == 1 ? "" : "s",
                st.skipped_bytes, st.skipped_bytes == 1 ? "" : "s",
                st.footer_seen ? "" : "at least ", st.events_missing,
                st.events_missing == 1 ? "" : "s");
        status = ST_EXIT_DAMAGED;
    }
    if (rc == TRACE_E_NOMEM) {
        fprintf(stderr, "sandtrace %s: out of memory reading trace '%s'\n", t->cmd, t->path);
        return ST_EXIT_DAMAGED;
    }
    if (rc < 0 && st.incomplete) {
        /* No footer: `record` is still writing it, or it was cut short. */
        const char *m = trace_reader_error_message(t->r);
        fprintf(stderr, "sandtrace %s: trace '%s' is incomplete after %" PRIu64 " event%s: %s\n",
                t->cmd, t->path, st.events, st.events == 1 ? "" : "s",
                m && *m ? m : "it ends without its footer");
        return ST_EXIT_DAMAGED;
    }
    if (rc < 0) {
        const char *m = trace_reader_error_message(t->r);
        fprintf(stderr, "sandtrace %s: trace '%s' is %s at offset %" PRIu64 ": %s\n", t->cmd,
                t->path, rc == TRACE_E_TRUNCATED ? "truncated" : "damaged",
                trace_reader_error_offset(t->r), m && *m ? m : tcli_error_word(rc));
        status = ST_EXIT_DAMAGED;
    }
    return status;
}

/* ------------------------------------------------------------------------
 * The output. */

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Is the output (stat `ost`) one of the inputs? The input's name, or NULL. */
static const char *output_is_input(const struct stat *ost, const char *const *inputs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct stat ist;
        int ok = !strcmp(inputs[i], "-") ? fstat(0, &ist) == 0 : stat(inputs[i], &ist) == 0;
        if (ok && S_ISREG(ist.st_mode) && same_file(ost, &ist))
            return inputs[i];
    }
    return NULL;
}

/* `out` is already quoted ("'x.sbt'") or a description ("standard output"). */
static int out_refuse(const char *cmd, const char *out, const char *in)
{
    if (!strcmp(in, "-"))
        fprintf(stderr, "sandtrace %s: refusing to write %s: it is the trace read from the "
                        "standard input (nothing was written)\n", cmd, out);
    else
        fprintf(stderr, "sandtrace %s: refusing to write %s: it is the input trace '%s' "
                        "(nothing was written)\n", cmd, out, in);
    return ST_EXIT_OUTPUT;
}

static int out_open_file(struct tcli_out *o, const char *path)
{
    struct stat st;
    int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "sandtrace %s: cannot write '%s': %s\n", o->cmd, path, strerror(EISDIR));
        return ST_EXIT_OUTPUT;
    }
    o->path = strdup(path);
    if (!o->path)
        goto nomem;
    if (exists && !S_ISREG(st.st_mode)) {
        /* A device or a FIFO (/dev/null, /dev/full): written in place. */
        o->f = fopen(path, "w");
        if (!o->f) {
            fprintf(stderr, "sandtrace %s: cannot write '%s': %s\n", o->cmd, path, strerror(errno));
            return ST_EXIT_OUTPUT;
        }
        return 0;
    }
    /* Through a symbolic link: the file it names is replaced, not the link. */
    char *real = exists ? realpath(path, NULL) : NULL;
    o->target = strdup(real ? real : path);
    free(real);
    if (!o->target)
        goto nomem;
    char *dcopy = strdup(o->target), *bcopy = strdup(o->target);
    if (!dcopy || !bcopy || asprintf(&o->tmp, "%s/.%s.XXXXXX", dirname(dcopy), basename(bcopy)) < 0) {
        free(dcopy);
        free(bcopy);
        o->tmp = NULL;
        goto nomem;
    }
    free(dcopy);
    free(bcopy);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        fprintf(stderr, "sandtrace %s: cannot write '%s': %s\n", o->cmd, path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return ST_EXIT_OUTPUT;
    }
    /* mkstemp makes it 0600; the output gets what a new file would get. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, exists ? st.st_mode & 07777 : 0666 & ~mask);
    o->f = fdopen(fd, "w");
    if (!o->f) {
        close(fd);
        goto nomem;
    }
    return 0;
nomem:
    fprintf(stderr, "sandtrace %s: out of memory\n", o->cmd);
    return ST_EXIT_OUTPUT;
}

int tcli_out_open(struct tcli_out *o, const char *cmd, const char *path,
                  const char *const *inputs, size_t ninputs)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    struct stat ost;
    if (!path || !strcmp(path, "-")) {
        o->f = stdout;
        /* "dump t.sbt >>t.sbt": the shell opened the input for writing. */
        const char *in = fstat(1, &ost) == 0 && S_ISREG(ost.st_mode)
                             ? output_is_input(&ost, inputs, ninputs)
                             : NULL;
        return in ? out_refuse(cmd, "the standard output", in) : 0;
    }
    if (stat(path, &ost) == 0) {
        const char *in = output_is_input(&ost, inputs, ninputs);
        if (in) {
            char q[4200];
            snprintf(q, sizeof q, "'%s'", path);
            return out_refuse(cmd, q, in);
        }
    }
    int status = out_open_file(o, path);
    if (status) {
        free(o->path);
        free(o->target);
        o->path = o->target = NULL;
    }
    return status;
}

int tcli_out_failed(struct tcli_out *o)
{
    if (!o->err && o->f && ferror(o->f))
        o->err = errno ? errno : EIO;
    return o->err != 0;
}

int tcli_out_buf(struct tcli_out *o, struct st_buf *b)
{
    if (!o->err && b->len) {
        errno = 0;
        if (fwrite(b->data, 1, b->len, o->f) != b->len)
            o->err = errno ? errno : EIO;
    }
    st_buf_reset(b);
    return o->err != 0;
}

int tcli_out_close(struct tcli_out *o)
{
    errno = 0;
    if (o->f && fflush(o->f) != 0 && !o->err)
        o->err = errno ? errno : EIO;
    tcli_out_failed(o);
    if (o->f && o->f != stdout) {
        errno = 0;
        if (fclose(o->f) != 0 && !o->err)
            o->err = errno ? errno : EIO;
    }
    o->f = NULL;
    if (!o->err && o->tmp && rename(o->tmp, o->target) < 0)
        o->err = errno;
    if (o->tmp && o->err)
        unlink(o->tmp);
    int status = ST_EXIT_OK;
    if (o->err) {
        if (o->path)
            fprintf(stderr, "sandtrace %s: cannot write '%s': %s\n", o->cmd, o->path,
                    strerror(o->err));
        else
            fprintf(stderr, "sandtrace %s: cannot write the output: %s\n", o->cmd,
                    strerror(o->err));
        status = ST_EXIT_OUTPUT;
    }
    free(o->tmp);
    free(o->path);
    free(o->target);
    o->tmp = o->path = o->target = NULL;
    return status;
}

/* ------------------------------------------------------------------------
 * Values. */

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

const char *tcli_error_word(int err)
{
    switch (err) {
    case TRACE_E_NOMEM: return "out of memory";
    case TRACE_E_IO: return "read error";
    case TRACE_E_BAD_MAGIC: return "not a trace";
    case TRACE_E_VERSION: return "unknown version";
    case TRACE_E_TRUNCATED: return "truncated";
    case TRACE_E_CHECKSUM: return "checksum";
    case TRACE_E_CORRUPT: return "corrupt";
    case TRACE_E_CHAIN: return "chain";
    case TRACE_E_KEY_REQUIRED: return "key required";
    case TRACE_E_WRONG_KEY: return "wrong key";
    case TRACE_E_NOT_KEYED: return "not keyed";
    case TRACE_E_INDEX: return "index";
    case TRACE_E_LIMIT: return "limit";
    default: return "error";
    }
}

void tcli_json_str(struct st_buf *b, const void *data, size_t len)
{
    st_buf_add_json_string(b, data, len, ST_JSON_UTF8);
}

const char *tcli_plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}
