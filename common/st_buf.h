/* common/st_buf: a growable byte buffer with a maximum (curl's dynbuf, git's
 * strbuf), bounded array growth, and JSON string escaping into a buffer.
 *
 * Invariants of struct st_buf: `data` is never NULL and always
 * NUL-terminated (an empty buffer points at a static ""), `len` <= `max`.
 * Growing past `max` (or running out of memory) appends nothing and sets
 * `overflow`, which stays set until st_buf_reset: a hostile size is an
 * error, not an allocation storm. */
#ifndef SANDTRACE_COMMON_ST_BUF_H
#define SANDTRACE_COMMON_ST_BUF_H

#include <stddef.h>

#define ST_BUF_DEFAULT_MAX (256u * 1024 * 1024)

struct st_buf {
    char *data;
    size_t len, cap, max;
    int overflow;
};

/* An empty buffer that may grow to `max` bytes (0: ST_BUF_DEFAULT_MAX). */
void st_buf_init(struct st_buf *b, size_t max);
/* Frees the data; the buffer is empty again (same max). */
void st_buf_release(struct st_buf *b);
/* Empties the buffer, keeping its memory; clears `overflow`. */
void st_buf_reset(struct st_buf *b);
/* Appends; 0, or -1 (over max or out of memory: nothing appended, overflow set). */
int st_buf_add(struct st_buf *b, const void *data, size_t len);
int st_buf_puts(struct st_buf *b, const char *s);
int st_buf_addf(struct st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data over (malloc'ed, NUL-terminated; *len may be NULL) and
 * empties the buffer; NULL on out of memory. */
char *st_buf_detach(struct st_buf *b, size_t *len);

/* Grows an array of `size`-byte elements to hold at least `need` of them:
 * returns `p` itself when *cap already suffices, else the reallocated array
 * with *cap doubled from `first` (at least `need`, at most `max`). NULL (p
 * and *cap unchanged) when `need` > `max`, on overflow or out of memory. */
void *st_grow(void *p, size_t *cap, size_t need, size_t size, size_t first, size_t max);

/* How st_buf_add_json_string shows what is not printable ASCII. */
enum st_json_style {
    ST_JSON_UTF8,  /* \n \r \t, other controls \u00XX, bytes >= 0x80 as the UTF-8 of U+0080..U+00FF */
    ST_JSON_ASCII, /* every control and byte >= 0x7f as \u00XX (bytes read as Latin-1) */
};

/* Appends `len` bytes as a JSON string, quotes included; the bytes are read
 * as Latin-1, so any byte string round-trips. 0 or -1 as st_buf_add. */
int st_buf_add_json_string(struct st_buf *b, const void *data, size_t len, enum st_json_style style);

#endif
