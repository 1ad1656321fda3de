/* What a real PyPy asks for at start-up, answered by our controller the way
 * the reference controller answered it.
 *
 * tests/pypy/data/pypy{,3}-startup-calls.txt list every request a real
 * pypy-c-sandbox (pypy2 and pypy3) made to run `print(6*7)` under the
 * reference controller with --lib-path, with every command it got back. For
 * each transcript this test
 *  - builds a fixture tree laid out like a PyPy checkout holding every file
 *    and directory the transcript found (stat, open, fstat, readdir answers:
 *    same names, types and sizes; contents are filler of the right size);
 *  - converts the requests to a script for tests/guests/pypy_mimic.c (same
 *    signatures, same integers, same strings and bytes behind the pointers
 *    the controller reads, a scratch buffer behind out-pointers, and
 *    pointers the controller handed out mapped to this run's);
 *  - runs `sandtrace run --lib-path FIXTURE --file /script=SCRIPT -- pypy_mimic /script`
 *    and asserts the mimic found no difference outside its allow-list, and
 *    that the guest printed "42\n" as PyPy did.
 * Two paths the transcript does not show are inferred (the reference refused
 * unlink and mkdir without reading their path): unlink's is the one of the
 * open(O_CREAT|O_EXCL) next to it at the same address, mkdir's the last
 * path at the same address found missing (the __pycache__ it then creates). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <dirent.h>

#include "tests/testutil.h"

#define MAXA 8
#define MAXC 8

struct cmd {
    char op;         /* Z R W M F E */
    uint64_t addr;
    unsigned char *data; /* Z string, R bytes, W hex bytes (NULL for file data) */
    size_t len;
    long filedata;   /* W of read(): byte count, else -1 */
};

struct treq {
    char sig[64];
    int nargs;
    uint64_t args[MAXA];
    struct cmd cmds[MAXC];
    int ncmds;
    int has_e;
    long e;
    uint64_t res;
};

struct transcript {
    struct treq *reqs;
    size_t n;
};

static int hexd(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes a Python bytes literal starting at the quote; returns malloc'd bytes. */
static unsigned char *pybytes(const char *s, size_t *len)
{
    char q = *s++;
    unsigned char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    assert_non_null(out);
    while (*s && *s != q) {
        if (*s == '\\' && s[1]) {
            s++;
            switch (*s) {
            case 'n': out[n++] = '\n'; s++; break;
            case 't': out[n++] = '\t'; s++; break;
            case 'r': out[n++] = '\r'; s++; break;
            case 'x': out[n++] = (unsigned char)(hexd(s[1]) * 16 + hexd(s[2])); s += 3; break;
            default: out[n++] = (unsigned char)*s++; break;
            }
        } else {
            out[n++] = (unsigned char)*s++;
        }
    }
    out[n] = 0;
    *len = n;
    return out;
}

static uint64_t num(const char *s)
{
    return (uint64_t)strtoll(s, NULL, 0);
}

static struct transcript load(const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/pypy/data/%s", ST_SOURCE_DIR, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open transcript '%s'", path);
    struct transcript t = { 0 };
    size_t cap = 0;
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || !line[0])
            continue;
        if (line[0] != ' ') {
            if (t.n == cap) {
                cap = cap ? cap * 2 : 256;
                t.reqs = realloc(t.reqs, cap * sizeof *t.reqs);
                assert_non_null(t.reqs);
            }
            struct treq *q = &t.reqs[t.n++];
            memset(q, 0, sizeof *q);
            char *sp = strchr(line, ' ');
            if (sp)
                *sp = '\0';
            assert_true(strlen(line) < sizeof q->sig);
            memcpy(q->sig, line, strlen(line) + 1);
            for (char *a = sp ? strtok(sp + 1, " ") : NULL; a && q->nargs < MAXA; a = strtok(NULL, " "))
                q->args[q->nargs++] = num(a);
            continue;
        }
        assert_true(t.n > 0);
        struct treq *q = &t.reqs[t.n - 1];
        const char *c = line + 2;
        if (c[0] == '=') {
            q->res = num(c + 2);
            continue;
        }
        if (c[0] == 'E') {
            q->has_e = 1;
            q->e = strtol(c + 2, NULL, 10);
            continue;
        }
        assert_true(q->ncmds < MAXC);
        struct cmd *m = &q->cmds[q->ncmds++];
        memset(m, 0, sizeof *m);
        m->op = c[0];
        m->filedata = -1;
        if (m->op == 'M')
            continue;
        m->addr = num(c + 2);
        const char *rest = strchr(c + 2, ' ');
        if (m->op == 'Z' || m->op == 'R') {
            const char *b = strstr(c, "-> b");
            assert_non_null(b);
            m->data = pybytes(b + 4, &m->len);
        } else if (m->op == 'W') {
            assert_non_null(rest);
            rest++;
            if (rest[0] == '<') {
                m->filedata = strtol(rest + 1, NULL, 10);
            } else {
                assert_true(!strncmp(rest, "hex:", 4));
                rest += 4;
                size_t nh = strspn(rest, "0123456789abcdef") / 2;
                const char *all = strstr(rest, "bytes in all");
                size_t total = nh;
                if (all) {
                    const char *semi = strrchr(rest, ';');
                    total = (size_t)strtol(semi + 1, NULL, 10);
                }
                m->data = calloc(total + 1, 1);
                assert_non_null(m->data);
                for (size_t i = 0; i < nh; i++)
                    m->data[i] = (unsigned char)(hexd(rest[2 * i]) * 16 + hexd(rest[2 * i + 1]));
                m->len = total;
            }
        }
    }
    fclose(f);
    return t;
}

static void free_transcript(struct transcript *t)
{
    for (size_t i = 0; i < t->n; i++)
        for (int k = 0; k < t->reqs[i].ncmds; k++)
            free(t->reqs[i].cmds[k].data);
    free(t->reqs);
}

static const struct cmd *find_cmd(const struct treq *q, char op, uint64_t addr)
{
    for (int k = 0; k < q->ncmds; k++)
        if (q->cmds[k].op == op && q->cmds[k].addr == addr)
            return &q->cmds[k];
    return NULL;
}

static int is(const struct treq *q, const char *name)
{
    return !strncmp(q->sig, name, strlen(name)) && q->sig[strlen(name)] == '(';
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* ---------------------------------------------------------------- fixture */

struct node {
    char *vpath;
    int dir;
    long size;
};

struct tree {
    struct node *v;
    size_t n, cap;
};

static void tree_add(struct tree *t, const char *vpath, int dir, long size)
{
    if (strncmp(vpath, "/lib/lib-python/", 16) && strncmp(vpath, "/lib/lib_pypy/", 14) &&
        strcmp(vpath, "/lib/lib-python") && strcmp(vpath, "/lib/lib_pypy"))
        return;
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].vpath, vpath)) {
            if (size >= 0)
                t->v[i].size = size;
            return;
        }
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 256;
        t->v = realloc(t->v, t->cap * sizeof *t->v);
        assert_non_null(t->v);
    }
    t->v[t->n++] = (struct node){ strdup(vpath), dir, size };
}

static void mkdir_p(char *real)
{
    for (char *s = strchr(real + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(real, 0755);
        *s = '/';
    }
    mkdir(real, 0755);
}

static void build_tree(const struct transcript *tr, const char *root)
{
    struct tree t = { 0 };
    char *fd_path[64] = { 0 };
    uint64_t dir_handle[8] = { 0 };
    const char *dir_path[8] = { 0 };
    for (size_t i = 0; i < tr->n; i++) {
        const struct treq *q = &tr->reqs[i];
        const struct cmd *z = q->nargs ? find_cmd(q, 'Z', q->args[0]) : NULL;
        const char *p = z ? (const char *)z->data : NULL;
        if ((is(q, "stat64") || is(q, "lstat64")) && p && q->res == 0) {
            const struct cmd *w = find_cmd(q, 'W', q->args[1]);
            assert_non_null(w);
            uint32_t mode = le32(w->data + 24);
            tree_add(&t, p, S_ISDIR(mode), S_ISDIR(mode) ? 0 : (long)le64(w->data + 48));
        } else if (is(q, "open") && p && (int64_t)q->res >= 0 && q->res < 64) {
            tree_add(&t, p, 0, -1);
            free(fd_path[q->res]);
            fd_path[q->res] = strdup(p);
        } else if (is(q, "fstat64") && q->res == 0 && q->args[0] < 64 && fd_path[q->args[0]]) {
            const struct cmd *w = find_cmd(q, 'W', q->args[1]);
            assert_non_null(w);
            tree_add(&t, fd_path[q->args[0]], 0, (long)le64(w->data + 48));
        } else if (is(q, "close") && q->args[0] < 64) {
            free(fd_path[q->args[0]]);
            fd_path[q->args[0]] = NULL;
        } else if (is(q, "opendir") && p && q->res) {
            tree_add(&t, p, 1, 0);
            for (int k = 0; k < 8; k++)
                if (!dir_handle[k] || dir_handle[k] == q->res) {
                    dir_handle[k] = q->res;
                    dir_path[k] = p;
                    break;
                }
        } else if (is(q, "readdir") && q->res) {
            const struct cmd *w = find_cmd(q, 'W', q->res);
            assert_non_null(w);
            for (int k = 0; k < 8; k++)
                if (dir_handle[k] == q->args[0]) {
                    char v[4096];
                    snprintf(v, sizeof v, "%s/%s", dir_path[k], (const char *)w->data + 19);
                    tree_add(&t, v, w->data[18] == DT_DIR, -1);
                }
        }
    }
    for (int k = 0; k < 64; k++)
        free(fd_path[k]);
    char real[4096];
    for (size_t i = 0; i < t.n; i++) {
        assert_true(snprintf(real, sizeof real, "%s/%s", root, t.v[i].vpath + 5) < (int)sizeof real);
        if (t.v[i].dir) {
            mkdir_p(real);
            chmod(real, 0755);
        }
    }
    for (size_t i = 0; i < t.n; i++) {
        if (t.v[i].dir)
            continue;
        assert_true(snprintf(real, sizeof real, "%s/%s", root, t.v[i].vpath + 5) < (int)sizeof real);
        char *slash = strrchr(real, '/');
        *slash = '\0';
        mkdir_p(real);
        *slash = '/';
        size_t size = t.v[i].size > 0 ? (size_t)t.v[i].size : 0;
        char *fill = malloc(size + 1);
        assert_non_null(fill);
        memset(fill, '#', size);
        int fd = open(real, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        assert_true(fd >= 0);
        assert_true(write(fd, fill, size) == (ssize_t)size);
        close(fd);
        chmod(real, 0644);
        free(fill);
    }
    for (size_t i = 0; i < t.n; i++)
        free(t.v[i].vpath);
    free(t.v);
}

/* ----------------------------------------------------------------- script */

static void put_hex(FILE *f, char tag, const unsigned char *b, size_t n)
{
    fprintf(f, " %c", tag);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

/* The path of a request whose path the reference never read (see the top). */
static const unsigned char *inferred_path(const struct transcript *tr, size_t i, uint64_t addr)
{
    const struct treq *q = &tr->reqs[i];
    if (is(q, "unlink")) {
        for (size_t j = i > 0 ? i - 1 : 0; j <= i + 1 && j < tr->n; j++) {
            const struct cmd *z = is(&tr->reqs[j], "open") ? find_cmd(&tr->reqs[j], 'Z', addr) : NULL;
            if (z)
                return z->data;
        }
    } else if (is(q, "mkdir")) {
        for (size_t j = i; j-- > 0 && j + 8 > i;) {
            const struct cmd *z = find_cmd(&tr->reqs[j], 'Z', addr);
            if (z && tr->reqs[j].has_e && tr->reqs[j].e == ENOENT)
                return z->data;
        }
    }
    return NULL;
}

static void write_script(const struct transcript *tr, const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t handles[64];
    size_t nh = 0;
    for (size_t i = 0; i < tr->n; i++) {
        const struct treq *q = &tr->reqs[i];
        fprintf(f, "%s", q->sig);
        const char *a = strchr(q->sig, '(') + 1;
        for (int k = 0; k < q->nargs && a[k] != ')'; k++) {
            uint64_t v = q->args[k];
            if (a[k] != 'p') {
                fprintf(f, " i%lld", (long long)(int64_t)v);
                continue;
            }
            const struct cmd *c = find_cmd(q, 'Z', v);
            const unsigned char *inf;
            int handle = 0;
            for (size_t h = 0; h < nh; h++)
                handle |= handles[h] == v;
            if (c)
                put_hex(f, 's', c->data, c->len);
            else if ((c = find_cmd(q, 'R', v)) != NULL)
                put_hex(f, 'b', c->data, c->len);
            else if (v == 0)
                fprintf(f, " n");
            else if (handle)
                fprintf(f, " h%llx", (unsigned long long)v);
            else if ((inf = inferred_path(tr, i, v)) != NULL)
                put_hex(f, 's', inf, strlen((const char *)inf));
            else if (is(q, "getenv"))
                /* the reference answered NULL without reading the name */
                put_hex(f, 's', (const unsigned char *)"PYPY_UNREAD_NAME", 16);
            else
                fprintf(f, " o");
        }
        char kind = q->sig[strlen(q->sig) - 1];
        if (kind == 'i')
            fprintf(f, " =r%lld", (long long)(int64_t)q->res);
        else if (kind == 'p' && q->res == 0)
            fprintf(f, " =p0");
        if (q->has_e)
            fprintf(f, " =e%ld", q->e);
        if (kind == 'p' && q->res) {
            if (is(q, "readdir")) {
                const struct cmd *w = find_cmd(q, 'W', q->res);
                assert_non_null(w);
                fprintf(f, " =de%d,", w->data[18]);
                const char *name = (const char *)w->data + 19;
                for (size_t k = 0; name[k]; k++)
                    fprintf(f, "%02x", (unsigned char)name[k]);
            } else {
                fprintf(f, " =p%llx", (unsigned long long)q->res);
                if (nh < 64)
                    handles[nh++] = q->res;
                if (is(q, "get_environ"))
                    fprintf(f, " =env");
            }
        }
        if ((is(q, "stat64") || is(q, "lstat64") || is(q, "fstat64")) && q->res == 0) {
            const struct cmd *w = find_cmd(q, 'W', q->args[1]);
            assert_non_null(w);
            uint32_t mode = le32(w->data + 24);
            long size = S_ISREG(mode) ? (long)le64(w->data + 48) : -1;
            fprintf(f, " =st%u,%ld,%llu", mode, size, (unsigned long long)le64(w->data + 8));
        }
        if (is(q, "gettimeofday") && q->res == 0) {
            const struct cmd *w = find_cmd(q, 'W', q->args[0]);
            assert_non_null(w);
            fprintf(f, " =tv%lld", (long long)le64(w->data));
        }
        fprintf(f, "\n");
    }
    assert_int_equal(fclose(f), 0);
}

static void check_transcript(const char *name, size_t want_requests)
{
    struct transcript tr = load(name);
    assert_int_equal(tr.n, want_requests);
    char *dir = tu_mkdtemp();
    char fx[4096], script[4096], fileopt[8300];
    snprintf(fx, sizeof fx, "%s/pypy", dir);
    mkdir(fx, 0755);
    build_tree(&tr, fx);
    snprintf(script, sizeof script, "%s/script", dir);
    write_script(&tr, script);
    snprintf(fileopt, sizeof fileopt, "/script=%s", script);
    const char *args[] = { "run", "--lib-path", fx, "--file", fileopt, "--quiet", "--",
                           tu_build_path("testguests/pypy_mimic"), "/script", NULL };
    struct tu_run r = tu_run_sandtrace(args, NULL);
    print_message("%s (%zu requests):\n%s", name, tr.n, r.err);
    if (r.status != 0)
        print_message("fixture and script kept in %s\n", dir);
    assert_int_equal(r.status, 0);
    /* What PyPy printed: the mimic's write(1, "42\n") went through. */
    assert_string_equal(r.out, "42\n");
    char want[64];
    snprintf(want, sizeof want, "pypy_mimic: %zu requests,", tr.n);
    assert_non_null(strstr(r.err, want));
    tu_run_release(&r);
    tu_rm_rf(dir);
    free(dir);
    free_transcript(&tr);
}

static void test_pypy2_startup_answered_as_reference(void **state)
{
    (void)state;
    check_transcript("pypy-startup-calls.txt", 330);
}

static void test_pypy3_startup_answered_as_reference(void **state)
{
    (void)state;
    check_transcript("pypy3-startup-calls.txt", 781);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pypy2_startup_answered_as_reference),
        cmocka_unit_test(test_pypy3_startup_answered_as_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
