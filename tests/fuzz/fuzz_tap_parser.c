/* libFuzzer target: tap's push parser of both directions of a session
 * (tracer/tap.h), the other reader of guest replies to R, Z and M. The
 * input is a list of segments, each fed to one stream:
 *   u8 head: bit 0 the direction (0 guest -> controller, 1 controller ->
 *            guest); bits 1..7 unused
 *   u16 len (little-endian), then len bytes (fewer at the end of the input)
 * Every callback's data is touched (ASan checks the pointers), events must
 * come in wire order (a result or memory event only while a request is
 * open), and on_exit is never called by the parser.
 * fuzz-libs: tracer controller format common */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tracer/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct watch {
    int open;          /* a request is open */
    uint64_t sum;
};

static void touch(struct watch *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        w->sum += b[i];
}

static void on_request(void *ctx, const char *text, size_t len, const uint64_t *args, unsigned n)
{
    struct watch *w = ctx;
    if (w->open || len == 0 || len > 255 || n > 32)
        abort();
    touch(w, text, len);
    touch(w, args, 8u * n);
    w->open = 1;
}

static void mem(struct watch *w, const void *data, size_t len)
{
    if (!w->open)
        abort();
    touch(w, data, len);
}

static void on_mem_read(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    mem(ctx, data, len);
}

static void on_mem_read_str(void *ctx, uint64_t ptr, uint64_t maxlen, const void *data, size_t len)
{
    if (len > maxlen)
        abort();
    mem(ctx, data, len);
}

static void on_mem_write(void *ctx, uint64_t ptr, const void *data, size_t len)
{
    mem(ctx, data, len);
}

static void on_mem_alloc(void *ctx, const void *data, size_t len, uint64_t ptr)
{
    mem(ctx, data, len);
}

static void on_mem_free(void *ctx, uint64_t ptr)
{
    mem(ctx, NULL, 0);
}

static void on_errno(void *ctx, int32_t err)
{
    mem(ctx, NULL, 0);
}

static void on_result(void *ctx, char kind, uint64_t value)
{
    struct watch *w = ctx;
    if (!w->open || !strchr("vifp", kind) || kind == '\0')
        abort();
    w->open = 0;
}

static void on_violation(void *ctx, const char *what, const void *raw, size_t len)
{
    struct watch *w = ctx;
    touch(w, what, strlen(what));
    touch(w, raw, len);
}

static void on_note(void *ctx, const char *text)
{
    touch(ctx, text, strlen(text));
}

static void on_exit_cb(void *ctx, const struct st_outcome *o)
{
    abort(); /* the parser never reports the end: the relay does */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct watch w = { 0, 0 };
    struct st_observer obs = {
        .ctx = &w,
        .on_request = on_request,
        .on_mem_read = on_mem_read,
        .on_mem_read_str = on_mem_read_str,
        .on_mem_write = on_mem_write,
        .on_mem_alloc = on_mem_alloc,
        .on_mem_free = on_mem_free,
        .on_errno = on_errno,
        .on_result = on_result,
        .on_violation = on_violation,
        .on_note = on_note,
        .on_exit = on_exit_cb,
    };
    struct st_tap_parser *p = NULL;
    if (st_tap_parser_new(&p, &obs) != 0)
        abort();
    size_t pos = 0;
    while (pos + 3 <= size) {
        int dir = data[pos] & 1;
        size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        if (dir)
            st_tap_parser_feed_controller(p, data + pos, len);
        else
            st_tap_parser_feed_guest(p, data + pos, len);
        pos += len;
    }
    st_tap_parser_finish(p);
    struct st_tap_counts c;
    st_tap_parser_counts(p, &c);
    if (c.results > c.requests)
        abort();
    st_tap_parser_free(p);
    volatile uint64_t sink = w.sum;
    (void)sink;
    return 0;
}
