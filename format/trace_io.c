/* format/trace_io.c: the I/O backends (fd/file and memory). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/st_buf.h"
#include "format/trace_internal.h"

/* --- fd backend (also used for files) --- */

struct fd_ctx {
    int fd;
    int close_on_free;
};

static int fd_read(struct trace_io *io, void *buf, size_t cap, size_t *got)
{
    struct fd_ctx *c = io->ctx;
    for (;;) {
        ssize_t n = read(c->fd, buf, cap);
        if (n >= 0) {
            *got = (size_t)n;
            return 0;
        }
        if (errno != EINTR) {
            io->last_errno = errno;
            return TRACE_E_IO;
        }
    }
}

static int fd_write(struct trace_io *io, const void *buf, size_t len)
{
    struct fd_ctx *c = io->ctx;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(c->fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            io->last_errno = n < 0 ? errno : EIO;
            return TRACE_E_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fd_seek(struct trace_io *io, uint64_t off)
{
    struct fd_ctx *c = io->ctx;
    if (off > (uint64_t)INT64_MAX) {
        io->last_errno = EINVAL;
        return TRACE_E_IO;
    }
    if (lseek(c->fd, (off_t)off, SEEK_SET) < 0) {
        io->last_errno = errno;
        return errno == ESPIPE ? TRACE_E_UNSUPPORTED : TRACE_E_IO;
    }
    return 0;
}

static int fd_size(struct trace_io *io, uint64_t *size)
{
    struct fd_ctx *c = io->ctx;
    struct stat st;
    if (fstat(c->fd, &st) < 0) {
        io->last_errno = errno;
        return TRACE_E_IO;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return TRACE_E_UNSUPPORTED;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int fd_sync(struct trace_io *io)
{
    struct fd_ctx *c = io->ctx;
    if (fsync(c->fd) < 0 && errno != EINVAL && errno != EROFS) {
        io->last_errno = errno;
        return TRACE_E_IO;
    }
    return 0;
}

static void fd_free(struct trace_io *io)
{
    struct fd_ctx *c = io->ctx;
    if (c->close_on_free)
        close(c->fd);
    free(c);
    free(io);
}

struct trace_io *trace_io_from_fd(int fd, int close_on_free)
{
    struct trace_io *io = calloc(1, sizeof *io);
    struct fd_ctx *c = calloc(1, sizeof *c);
    if (!io || !c) {
        free(io);
        free(c);
        return NULL;
    }
    c->fd = fd;
    c->close_on_free = close_on_free;
    io->ctx = c;
    io->read = fd_read;
    io->write = fd_write;
    io->sync = fd_sync;
    io->free = fd_free;
    /* A pipe or terminal cannot seek: leave seek/size NULL for it so that
     * the reader knows up front. */
    struct stat st;
    if (fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        io->seek = fd_seek;
        io->size = fd_size;
    }
    return io;
}

int trace_io_open_file(const char *path, enum trace_io_mode mode, struct trace_io **out)
{
    if (!path || !out)
        return TRACE_E_INVAL;
    *out = NULL;
    int flags = mode == TRACE_IO_WRITE ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0)
        return TRACE_E_IO;
    struct trace_io *io = trace_io_from_fd(fd, 1);
    if (!io) {
        close(fd);
        return TRACE_E_NOMEM;
    }
    *out = io;
    return 0;
}

/* --- memory backends --- */

struct mem_ctx {
    const uint8_t *rdata; /* reader: borrowed */
    uint8_t *wdata;       /* writer: owned */
    size_t len, cap, max, pos;
};

static int mem_read(struct trace_io *io, void *buf, size_t cap, size_t *got)
{
    struct mem_ctx *c = io->ctx;
    const uint8_t *data = c->rdata ? c->rdata : c->wdata;
    size_t n = c->pos < c->len ? c->len - c->pos : 0;
    if (n > cap)
        n = cap;
    if (n)
        memcpy(buf, data + c->pos, n);
    c->pos += n;
    *got = n;
    return 0;
}

static int mem_write(struct trace_io *io, const void *buf, size_t len)
{
    struct mem_ctx *c = io->ctx;
    if (!c->wdata && c->rdata)
        return TRACE_E_UNSUPPORTED;
    if (len > c->max || c->pos > c->max - len) {
        io->last_errno = EFBIG;
        return TRACE_E_IO;
    }
    size_t end = c->pos + len;
    if (end > c->cap) {
        uint8_t *n = st_grow(c->wdata, &c->cap, end, 1, 4096, c->max);
        if (!n) {
            io->last_errno = ENOMEM;
            return TRACE_E_NOMEM;
        }
        c->wdata = n;
    }
    if (c->pos > c->len)
        memset(c->wdata + c->len, 0, c->pos - c->len);
    memcpy(c->wdata + c->pos, buf, len);
    c->pos = end;
    if (end > c->len)
        c->len = end;
    return 0;
}

static int mem_seek(struct trace_io *io, uint64_t off)
{
    struct mem_ctx *c = io->ctx;
    if (off > SIZE_MAX)
        return TRACE_E_IO;
    c->pos = (size_t)off;
    return 0;
}

static int mem_size(struct trace_io *io, uint64_t *size)
{
    struct mem_ctx *c = io->ctx;
    *size = c->len;
    return 0;
}

static void mem_free(struct trace_io *io)
{
    struct mem_ctx *c = io->ctx;
    free(c->wdata);
    free(c);
    free(io);
}

static struct trace_io *mem_new(void)
{
    struct trace_io *io = calloc(1, sizeof *io);
    struct mem_ctx *c = calloc(1, sizeof *c);
    if (!io || !c) {
        free(io);
        free(c);
        return NULL;
    }
    io->ctx = c;
    io->read = mem_read;
    io->write = mem_write;
    io->seek = mem_seek;
    io->size = mem_size;
    io->free = mem_free;
    return io;
}

struct trace_io *trace_io_mem_reader(const void *data, size_t len)
{
    struct trace_io *io = mem_new();
    if (!io)
        return NULL;
    struct mem_ctx *c = io->ctx;
    /* A zero-length reader still needs a non-NULL pointer to be a reader. */
    c->rdata = data ? data : (const uint8_t *)"";
    c->len = data ? len : 0;
    io->write = NULL;
    return io;
}

struct trace_io *trace_io_mem_writer(size_t max_size)
{
    struct trace_io *io = mem_new();
    if (!io)
        return NULL;
    struct mem_ctx *c = io->ctx;
    c->max = max_size ? max_size : (size_t)4 << 30;
    return io;
}

const uint8_t *trace_io_mem_data(const struct trace_io *io, size_t *len)
{
    const struct mem_ctx *c = io->ctx;
    if (len)
        *len = c->len;
    return c->wdata ? c->wdata : c->rdata;
}

void trace_io_free(struct trace_io *io)
{
    if (io && io->free)
        io->free(io);
}
