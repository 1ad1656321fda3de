/* A small strict JSON parser for the tests (RFC 8259): it refuses trailing
 * commas, bad escapes, raw control characters, invalid UTF-8, leading zeros,
 * lone surrogates and trailing garbage, and builds a tree that tests can
 * query. Header-only; each test program gets its own copy. */
#ifndef SANDTRACE_TESTS_TOOLS_JSON_MINI_H
#define SANDTRACE_TESTS_TOOLS_JSON_MINI_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum jm_type { JM_NULL, JM_BOOL, JM_NUM, JM_STR, JM_ARR, JM_OBJ };

struct jm_val {
    enum jm_type type;
    int b;
    double num;
    char *str;              /* JM_STR (UTF-8, NUL-terminated; str_len bytes) */
    size_t str_len;
    struct jm_val *items;   /* JM_ARR elements, JM_OBJ values */
    char **keys;            /* JM_OBJ */
    size_t n;
};

struct jm_parser {
    const char *p, *end;
    int depth;
    const char *err;
};

static inline void jm_free(struct jm_val *v)
{
    if (!v)
        return;
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        jm_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static inline void jm_ws(struct jm_parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static inline int jm_fail(struct jm_parser *ps, const char *why)
{
    if (!ps->err)
        ps->err = why;
    return -1;
}

static inline void jm_put(char **buf, size_t *len, size_t *cap, uint32_t c)
{
    if (*len + 5 > *cap) {
        *cap = *cap ? *cap * 2 : 32;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    char *b = *buf;
    if (c < 0x80) {
        b[(*len)++] = (char)c;
    } else if (c < 0x800) {
        b[(*len)++] = (char)(0xc0 | c >> 6);
        b[(*len)++] = (char)(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
        b[(*len)++] = (char)(0xe0 | c >> 12);
        b[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[(*len)++] = (char)(0x80 | (c & 0x3f));
    } else {
        b[(*len)++] = (char)(0xf0 | c >> 18);
        b[(*len)++] = (char)(0x80 | ((c >> 12) & 0x3f));
        b[(*len)++] = (char)(0x80 | ((c >> 6) & 0x3f));
        b[(*len)++] = (char)(0x80 | (c & 0x3f));
    }
    b[*len] = '\0';
}

static inline int jm_hex4(struct jm_parser *ps, uint32_t *out)
{
    if (ps->end - ps->p < 4)
        return jm_fail(ps, "short \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return jm_fail(ps, "bad \\u escape");
    }
    *out = v;
    return 0;
}

static inline int jm_string(struct jm_parser *ps, char **out, size_t *out_len)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    ps->p++; /* the opening quote */
    jm_put(&buf, &len, &cap, 0);
    len = 0;
    for (;;) {
        if (ps->p >= ps->end) {
            free(buf);
            return jm_fail(ps, "unterminated string");
        }
        unsigned char c = (unsigned char)*ps->p++;
        if (c == '"')
            break;
        if (c < 0x20) {
            free(buf);
            return jm_fail(ps, "raw control character in string");
        }
        if (c == '\\') {
            if (ps->p >= ps->end) {
                free(buf);
                return jm_fail(ps, "bad escape");
            }
            char e = *ps->p++;
            uint32_t u;
            switch (e) {
            case '"': jm_put(&buf, &len, &cap, '"'); break;
            case '\\': jm_put(&buf, &len, &cap, '\\'); break;
            case '/': jm_put(&buf, &len, &cap, '/'); break;
            case 'b': jm_put(&buf, &len, &cap, '\b'); break;
            case 'f': jm_put(&buf, &len, &cap, '\f'); break;
            case 'n': jm_put(&buf, &len, &cap, '\n'); break;
            case 'r': jm_put(&buf, &len, &cap, '\r'); break;
            case 't': jm_put(&buf, &len, &cap, '\t'); break;
            case 'u':
                if (jm_hex4(ps, &u) < 0) {
                    free(buf);
                    return -1;
                }
                if (u >= 0xd800 && u < 0xdc00) {
                    uint32_t lo;
                    if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                        free(buf);
                        return jm_fail(ps, "lone high surrogate");
                    }
                    ps->p += 2;
                    if (jm_hex4(ps, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
                        free(buf);
                        return jm_fail(ps, "bad low surrogate");
                    }
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                } else if (u >= 0xdc00 && u < 0xe000) {
                    free(buf);
                    return jm_fail(ps, "lone low surrogate");
                }
                jm_put(&buf, &len, &cap, u);
                break;
            default:
                free(buf);
                return jm_fail(ps, "bad escape");
            }
            continue;
        }
        if (c < 0x80) {
            jm_put(&buf, &len, &cap, c);
            continue;
        }
        /* UTF-8: check the sequence. */
        int extra = (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (extra < 0 || c == 0xc0 || c == 0xc1 || c > 0xf4 || ps->end - ps->p < extra) {
            free(buf);
            return jm_fail(ps, "invalid UTF-8");
        }
        uint32_t u = c & (0x3f >> extra);
        for (int i = 0; i < extra; i++) {
            unsigned char k = (unsigned char)*ps->p++;
            if ((k & 0xc0) != 0x80) {
                free(buf);
                return jm_fail(ps, "invalid UTF-8");
            }
            u = u << 6 | (k & 0x3f);
        }
        if ((extra == 2 && u < 0x800) || (extra == 3 && (u < 0x10000 || u > 0x10ffff)) ||
            (u >= 0xd800 && u < 0xe000)) {
            free(buf);
            return jm_fail(ps, "invalid UTF-8");
        }
        jm_put(&buf, &len, &cap, u);
    }
    *out = buf;
    *out_len = len;
    return 0;
}

static inline int jm_value(struct jm_parser *ps, struct jm_val *v);

static inline int jm_number(struct jm_parser *ps, struct jm_val *v)
{
    const char *s = ps->p;
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p >= ps->end)
        return jm_fail(ps, "bad number");
    if (*ps->p == '0') {
        ps->p++;
    } else if (*ps->p >= '1' && *ps->p <= '9') {
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    } else {
        return jm_fail(ps, "bad number");
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return jm_fail(ps, "bad fraction");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
            return jm_fail(ps, "bad exponent");
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    char tmp[64];
    size_t n = (size_t)(ps->p - s);
    if (n >= sizeof tmp)
        n = sizeof tmp - 1;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    v->type = JM_NUM;
    v->num = strtod(tmp, NULL);
    return 0;
}

static inline int jm_lit(struct jm_parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n))
        return jm_fail(ps, "bad literal");
    ps->p += n;
    return 0;
}

static inline int jm_value(struct jm_parser *ps, struct jm_val *v)
{
    memset(v, 0, sizeof *v);
    jm_ws(ps);
    if (ps->p >= ps->end)
        return jm_fail(ps, "unexpected end");
    if (++ps->depth > 256)
        return jm_fail(ps, "too deep");
    int rc = 0;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        int obj = c == '{';
        v->type = obj ? JM_OBJ : JM_ARR;
        ps->p++;
        jm_ws(ps);
        size_t cap = 0;
        if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
            ps->p++;
        } else {
            for (;;) {
                if (v->n == cap) {
                    cap = cap ? cap * 2 : 8;
                    v->items = realloc(v->items, cap * sizeof *v->items);
                    if (obj)
                        v->keys = realloc(v->keys, cap * sizeof *v->keys);
                    if (!v->items || (obj && !v->keys))
                        abort();
                }
                char *key = NULL;
                if (obj) {
                    jm_ws(ps);
                    size_t kl;
                    if (ps->p >= ps->end || *ps->p != '"' || jm_string(ps, &key, &kl) < 0) {
                        rc = jm_fail(ps, "expected a key");
                        break;
                    }
                    jm_ws(ps);
                    if (ps->p >= ps->end || *ps->p != ':') {
                        free(key);
                        rc = jm_fail(ps, "expected ':'");
                        break;
                    }
                    ps->p++;
                    v->keys[v->n] = key;
                }
                if (jm_value(ps, &v->items[v->n]) < 0) {
                    if (obj)
                        free(key);
                    rc = -1;
                    break;
                }
                v->n++;
                jm_ws(ps);
                if (ps->p < ps->end && *ps->p == ',') {
                    ps->p++;
                    continue;
                }
                if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
                    ps->p++;
                    break;
                }
                rc = jm_fail(ps, obj ? "expected ',' or '}'" : "expected ',' or ']'");
                break;
            }
        }
    } else if (c == '"') {
        v->type = JM_STR;
        rc = jm_string(ps, &v->str, &v->str_len);
    } else if (c == 't') {
        v->type = JM_BOOL;
        v->b = 1;
        rc = jm_lit(ps, "true");
    } else if (c == 'f') {
        v->type = JM_BOOL;
        rc = jm_lit(ps, "false");
    } else if (c == 'n') {
        rc = jm_lit(ps, "null");
    } else {
        rc = jm_number(ps, v);
    }
    ps->depth--;
    return rc;
}

/* Parses exactly one JSON text of `len` bytes. 0, or -1 with *err set. */
static inline int jm_parse(const char *text, size_t len, struct jm_val *out, const char **err)
{
    struct jm_parser ps = { text, text + len, 0, NULL };
    int rc = jm_value(&ps, out);
    if (rc == 0) {
        jm_ws(&ps);
        if (ps.p != ps.end)
            rc = jm_fail(&ps, "trailing characters");
    }
    if (rc < 0) {
        jm_free(out);
        if (err)
            *err = ps.err ? ps.err : "invalid";
    }
    return rc;
}

/* The member `key` of an object, or NULL. */
static inline const struct jm_val *jm_get(const struct jm_val *o, const char *key)
{
    if (!o || o->type != JM_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key))
            return &o->items[i];
    return NULL;
}

#endif
