/* A sandtrace plugin: a virtual file whose contents are computed when the
 * guest opens it.
 *
 *   sandtrace run --plugin virtual_file.so[:VPATH] ...     (default /dev/counter)
 *
 * Each open of VPATH gives a fresh file holding "open #N of VPATH\n", N
 * counting the opens of this run; stat64 of VPATH describes it, and read,
 * fstat64, lseek and close on its fds are answered here. Everything else
 * (other paths, other fds) goes to the built-in handlers. It shows the
 * three parts of the handler API: REPLACE handlers that answer or pass,
 * guest memory writes (the stat struct, the data), and fds served by a
 * handler (st_handler_fd_reserve). Built out of tree with:
 *   cc -shared -fPIC $(pkg-config --cflags sandtrace) -o virtual_file.so virtual_file.c */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/handler.h"

#define VF_MAX_OPEN 16

struct vf_file {
    int fd;                 /* -1: free slot */
    char data[160];
    size_t len, off;
};

struct vf {
    char path[256];
    unsigned long opens;
    struct vf_file files[VF_MAX_OPEN];
};

static struct vf_file *vf_find(struct vf *v, int64_t fd)
{
    for (int i = 0; i < VF_MAX_OPEN; i++)
        if (v->files[i].fd >= 0 && v->files[i].fd == fd)
            return &v->files[i];
    return NULL;
}

/* The guest's 144-byte struct stat (x86-64 layout, PROTOCOL.md): a
 * read-only regular file of `size` bytes owned by root. */
static void vf_stat_encode(unsigned char out[144], int64_t size)
{
    memset(out, 0, 144);
    uint64_t dev = 1, ino = 0x7f000001, nlink = 1;
    uint32_t mode = 0100444;
    memcpy(out + 0, &dev, 8);
    memcpy(out + 8, &ino, 8);
    memcpy(out + 16, &nlink, 8);
    memcpy(out + 24, &mode, 4);
    memcpy(out + 48, &size, 8);
}

static int vf_put_stat(struct st_session *s, struct st_handler_call *hc, unsigned i, size_t size)
{
    uint64_t ptr = hc->call->args[i];
    if (ptr == 0) {
        st_call_fail(hc->call, EFAULT);
        return ST_HANDLER_ANSWERED;
    }
    unsigned char st[144];
    vf_stat_encode(st, (int64_t)size);
    int rc = st_guest_write(s, ptr, st, sizeof st);
    if (rc < 0)
        return rc;
    st_call_ok(hc->call, 0);
    return ST_HANDLER_ANSWERED;
}

/* open(path, flags, mode): ours when the path is VPATH. */
static int vf_open(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    struct vf *v = ctx;
    if (!hc->arg[0].str || strcmp(hc->arg[0].str, v->path) != 0)
        return ST_HANDLER_PASS;
    if ((hc->call->args[1] & 3) != 0) { /* O_WRONLY or O_RDWR: it is read-only */
        st_call_fail(hc->call, EACCES);
        return ST_HANDLER_ANSWERED;
    }
    struct vf_file *f = NULL;
    for (int i = 0; i < VF_MAX_OPEN && !f; i++)
        if (v->files[i].fd < 0)
            f = &v->files[i];
    if (!f) {
        st_call_fail(hc->call, EMFILE);
        return ST_HANDLER_ANSWERED;
    }
    int fd = st_handler_fd_reserve(s);
    if (fd < 0) {
        st_call_fail(hc->call, -fd);
        return ST_HANDLER_ANSWERED;
    }
    f->fd = fd;
    f->off = 0;
    int n = snprintf(f->data, sizeof f->data, "open #%lu of %s\n", ++v->opens, v->path);
    f->len = n < 0 ? 0 : (size_t)n < sizeof f->data ? (size_t)n : sizeof f->data - 1;
    st_call_ok(hc->call, (uint64_t)fd);
    return ST_HANDLER_ANSWERED;
}

static int vf_stat(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    struct vf *v = ctx;
    if (!hc->arg[0].str || strcmp(hc->arg[0].str, v->path) != 0)
        return ST_HANDLER_PASS;
    /* The size of the next open's content, as a real file would have it. */
    char next[160];
    int n = snprintf(next, sizeof next, "open #%lu of %s\n", v->opens + 1, v->path);
    return vf_put_stat(s, hc, 1, n < 0 ? 0 : (size_t)n);
}

static int vf_fstat(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    struct vf_file *f = vf_find(ctx, (int64_t)hc->call->args[0]);
    return f ? vf_put_stat(s, hc, 1, f->len) : ST_HANDLER_PASS;
}

static int vf_read(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    struct vf_file *f = vf_find(ctx, (int64_t)hc->call->args[0]);
    if (!f)
        return ST_HANDLER_PASS;
    int64_t want = (int64_t)hc->call->args[2];
    if (want < 0) {
        st_call_fail(hc->call, EINVAL);
        return ST_HANDLER_ANSWERED;
    }
    size_t n = f->len - f->off;
    if ((uint64_t)want < n)
        n = (size_t)want;
    if (n && hc->call->args[1] == 0) {
        st_call_fail(hc->call, EFAULT);
        return ST_HANDLER_ANSWERED;
    }
    if (n) {
        int rc = st_guest_write(s, hc->call->args[1], f->data + f->off, n);
        if (rc < 0)
            return rc;
    }
    f->off += n;
    st_call_ok(hc->call, n);
    return ST_HANDLER_ANSWERED;
}

static int vf_lseek(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    struct vf_file *f = vf_find(ctx, (int64_t)hc->call->args[0]);
    if (!f)
        return ST_HANDLER_PASS;
    int64_t off = (int64_t)hc->call->args[1], base;
    switch ((int64_t)hc->call->args[2]) {
    case 0: base = 0; break;
    case 1: base = (int64_t)f->off; break;
    case 2: base = (int64_t)f->len; break;
    default: st_call_fail(hc->call, EINVAL); return ST_HANDLER_ANSWERED;
    }
    if (off < -base || off > INT32_MAX) {
        st_call_fail(hc->call, EINVAL);
        return ST_HANDLER_ANSWERED;
    }
    int64_t pos = base + off;
    f->off = (size_t)pos > f->len ? f->len : (size_t)pos;
    st_call_ok(hc->call, (uint64_t)pos);
    return ST_HANDLER_ANSWERED;
}

/* close: forget the file; the built-in close frees the reserved fd. */
static int vf_close(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    struct vf_file *f = vf_find(ctx, (int64_t)hc->call->args[0]);
    if (f)
        f->fd = -1;
    return ST_HANDLER_PASS;
}

ST_PLUGIN_ABI;

int sandtrace_plugin_init(struct st_plugin_api *api, const char *args);
int sandtrace_plugin_init(struct st_plugin_api *api, const char *args)
{
    const char *path = args && *args ? args : "/dev/counter";
    if (path[0] != '/' || strlen(path) >= sizeof ((struct vf *)0)->path) {
        snprintf(api->error, api->error_cap, "virtual_file: '%s' is not an absolute path", path);
        return -1;
    }
    struct vf *v = calloc(1, sizeof *v);
    if (!v)
        return -1;
    snprintf(v->path, sizeof v->path, "%s", path);
    for (int i = 0; i < VF_MAX_OPEN; i++)
        v->files[i].fd = -1;
    static const struct {
        const char *pattern;
        st_handler_fn *fn;
    } calls[] = {
        { "open", vf_open }, { "stat64", vf_stat }, { "lstat64", vf_stat }, { "fstat64", vf_fstat },
        { "read", vf_read }, { "lseek", vf_lseek }, { "close", vf_close },
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        struct st_handler_def d = {
            .name = "virtual_file", .pattern = calls[i].pattern, .when = ST_HANDLER_REPLACE,
            .fn = calls[i].fn, .ctx = v,
            /* The first registration owns the state (freed last). */
            .free_ctx = i == 0 ? free : NULL,
        };
        int rc = st_session_add_handler(api->session, &d);
        if (rc < 0) {
            snprintf(api->error, api->error_cap, "virtual_file: cannot handle '%s'", calls[i].pattern);
            return rc;
        }
    }
    return 0;
}
