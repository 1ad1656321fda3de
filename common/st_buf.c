/* common/st_buf: see st_buf.h. */
#include "common/st_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char st_buf_empty[1];

void st_buf_init(struct st_buf *b, size_t max)
{
    b->data = st_buf_empty;
    b->len = b->cap = 0;
    b->max = max ? max : ST_BUF_DEFAULT_MAX;
    b->overflow = 0;
}

void st_buf_release(struct st_buf *b)
{
    if (b->cap)
        free(b->data);
    st_buf_init(b, b->max);
}

void st_buf_reset(struct st_buf *b)
{
    b->len = 0;
    b->data[0] = '\0';
    b->overflow = 0;
}

void *st_grow(void *p, size_t *cap, size_t need, size_t size, size_t first, size_t max)
{
    if (need <= *cap)
        return p;
    if (need > max || size == 0 || need > SIZE_MAX / size)
        return NULL;
    size_t ncap = *cap ? *cap : (first ? first : 1);
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (ncap > max)
        ncap = max;
    if (ncap > SIZE_MAX / size)
        ncap = need;
    void *n = realloc(p, ncap * size);
    if (!n)
        return NULL;
    *cap = ncap;
    return n;
}

/* Makes room for `extra` more bytes and the NUL; 0 or -1 (overflow set). */
static int buf_grow(struct st_buf *b, size_t extra)
{
    if (extra > b->max || b->len + extra > b->max) {
        b->overflow = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap;
    char *n = st_grow(b->cap ? b->data : NULL, &cap, need, 1, 256, SIZE_MAX);
    if (!n) {
        b->overflow = 1;
        return -1;
    }
    if (!b->cap)
        n[0] = '\0';
    b->data = n;
    b->cap = cap;
    return 0;
}

int st_buf_add(struct st_buf *b, const void *data, size_t len)
{
    if (!len)
        return 0;
    if (buf_grow(b, len) < 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int st_buf_puts(struct st_buf *b, const char *s)
{
    return st_buf_add(b, s, strlen(s));
}

int st_buf_addf(struct st_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof small)
        return st_buf_add(b, small, (size_t)n);
    if (buf_grow(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *st_buf_detach(struct st_buf *b, size_t *len)
{
    char *d = b->cap ? b->data : calloc(1, 1);
    if (len)
        *len = d ? b->len : 0;
    if (b->cap)
        b->cap = 0; /* now the caller's */
    st_buf_init(b, b->max);
    return d;
}

int st_buf_add_json_string(struct st_buf *b, const void *data, size_t len, enum st_json_style style)
{
    const uint8_t *d = data;
    char tmp[8];
    int rc = st_buf_puts(b, "\"");
    for (size_t i = 0; i < len; i++) {
        uint8_t c = d[i];
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            rc |= st_buf_add(b, tmp, 2);
        } else if (style == ST_JSON_UTF8 && c == '\n') {
            rc |= st_buf_puts(b, "\\n");
        } else if (style == ST_JSON_UTF8 && c == '\r') {
            rc |= st_buf_puts(b, "\\r");
        } else if (style == ST_JSON_UTF8 && c == '\t') {
            rc |= st_buf_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f || (style == ST_JSON_ASCII && c >= 0x80)) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            rc |= st_buf_puts(b, tmp);
        } else if (c < 0x80) {
            rc |= st_buf_add(b, &c, 1);
        } else {
            /* U+0080..U+00FF in UTF-8. */
            uint8_t u[2] = { (uint8_t)(0xc0 | c >> 6), (uint8_t)(0x80 | (c & 0x3f)) };
            rc |= st_buf_add(b, u, 2);
        }
    }
    rc |= st_buf_puts(b, "\"");
    return rc ? -1 : 0;
}
