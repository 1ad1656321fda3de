/* The one option parser of every sandtrace command (tools/options.h). */
#include "tools/options.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/commands.h"

void opt_init(struct opt_parser *p, const char *cmd, const struct opt_spec *specs, int argc,
              char **argv, int flags)
{
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->specs = specs;
    p->argc = argc;
    p->argv = argv;
    p->flags = flags;
    p->i = 1;
    p->operands = calloc((size_t)(argc > 0 ? argc : 1), sizeof *p->operands);
    if (!p->operands) {
        fprintf(stderr, "sandtrace %s: out of memory\n", cmd);
        exit(ST_EXIT_ERROR);
    }
}

void opt_release(struct opt_parser *p)
{
    free(p->operands);
    p->operands = NULL;
    p->noperands = 0;
}

static void hint(const struct opt_parser *p)
{
    fprintf(stderr, "Try 'sandtrace %s --help' for more information.\n", p->cmd);
}

int opt_usage(const struct opt_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sandtrace %s: ", p->cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    hint(p);
    return ST_EXIT_USAGE;
}

int opt_bad_value(const struct opt_parser *p, const char *what)
{
    return opt_usage(p, "option '%s': %s '%s'", p->name, what, p->arg ? p->arg : "");
}

/* Optimal string alignment distance (Levenshtein plus adjacent swaps), for
 * words of up to 63 bytes; longer ones are "far". */
static size_t distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63)
        return 64;
    size_t d[64][64];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v)
                v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    }
    return d[n][m];
}

const char *opt_suggest(const char *word, const char *const *names)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t limit = strlen(word) <= 3 ? 1 : 2;
    for (size_t k = 0; names[k]; k++) {
        size_t d = distance(word, names[k]);
        if (d < best_d) {
            best_d = d;
            best = names[k];
        }
    }
    return best_d <= limit ? best : NULL;
}

static const char *suggest_long(const struct opt_spec *specs, const char *word)
{
    const char *names[256];
    size_t n = 0;
    for (const struct opt_spec *s = specs; s->id && n < 255; s++)
        if (s->lng)
            names[n++] = s->lng;
    names[n] = NULL;
    return opt_suggest(word, names);
}

/* Exact match, else the unique prefix match; *ambiguous set when several. */
static const struct opt_spec *find_long(const struct opt_spec *specs, const char *name, size_t len,
                                        int *ambiguous)
{
    const struct opt_spec *match = NULL;
    *ambiguous = 0;
    for (const struct opt_spec *s = specs; s->id; s++) {
        if (!s->lng || strncmp(s->lng, name, len) != 0)
            continue;
        if (s->lng[len] == '\0')
            return s;
        if (match && match->id != s->id)
            *ambiguous = 1;
        if (!match)
            match = s;
    }
    return *ambiguous ? NULL : match;
}

const struct opt_spec *opt_find_long(const struct opt_spec *specs, const char *name)
{
    int ambiguous;
    return find_long(specs, name, strlen(name), &ambiguous);
}

static const struct opt_spec *find_short(const struct opt_spec *specs, char c)
{
    for (const struct opt_spec *s = specs; s->id; s++)
        if (s->shrt && s->shrt == c)
            return s;
    return NULL;
}

static int looks_numeric(const char *v)
{
    return (v[0] >= '0' && v[0] <= '9') || v[0] == '.' || v[0] == '-' || v[0] == '+';
}

/* The value of a required option from the next word, or an error. */
static int take_next(struct opt_parser *p)
{
    if (p->i >= p->argc)
        return opt_usage(p, "option '%s' requires %s", p->name,
                         p->spec->arg == OPT_NUM ? "a number" : "an argument"),
               OPT_ERROR;
    const char *v = p->argv[p->i];
    if (p->spec->arg == OPT_NUM && !looks_numeric(v))
        return opt_usage(p, "option '%s' requires a number (not '%s')", p->name, v), OPT_ERROR;
    p->arg = v;
    p->i++;
    return p->spec->id;
}

static void list_ambiguous(const struct opt_parser *p, const char *name, size_t len)
{
    fprintf(stderr, "sandtrace %s: option '--%.*s' is ambiguous; it could be", p->cmd, (int)len,
            name);
    int first = 1, last_id = 0;
    for (const struct opt_spec *s = p->specs; s->id; s++) {
        if (!s->lng || strncmp(s->lng, name, len) != 0 || s->id == last_id)
            continue;
        fprintf(stderr, "%s --%s", first ? "" : ",", s->lng);
        first = 0;
        last_id = s->id;
    }
    fputc('\n', stderr);
    hint(p);
}

static int long_option(struct opt_parser *p, const char *word)
{
    const char *name = word + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    int ambiguous;
    const struct opt_spec *s = find_long(p->specs, name, len, &ambiguous);
    if (ambiguous) {
        list_ambiguous(p, name, len);
        return OPT_ERROR;
    }
    if (!s) {
        char bare[64];
        snprintf(bare, sizeof bare, "%.*s", (int)(len < 63 ? len : 63), name);
        const char *near = suggest_long(p->specs, bare);
        if (near)
            opt_usage(p, "unknown option '--%s' (did you mean '--%s'?)", bare, near);
        else
            opt_usage(p, "unknown option '--%s'", bare);
        return OPT_ERROR;
    }
    p->spec = s;
    snprintf(p->name, sizeof p->name, "--%s", s->lng);
    if (eq) {
        if (s->arg == OPT_NONE)
            return opt_usage(p, "option '%s' takes no argument", p->name), OPT_ERROR;
        p->arg = eq + 1;
        if (s->arg == OPT_NUM && !looks_numeric(p->arg))
            return opt_usage(p, "option '%s' requires a number (not '%s')", p->name, p->arg),
                   OPT_ERROR;
        return s->id;
    }
    if (s->arg == OPT_REQ || s->arg == OPT_NUM)
        return take_next(p);
    if (s->arg == OPT_OPT && p->i < p->argc && p->argv[p->i][0] >= '0' && p->argv[p->i][0] <= '9')
        p->arg = p->argv[p->i++];
    return s->id;
}

static int short_option(struct opt_parser *p)
{
    char c = *p->group++;
    const struct opt_spec *s = find_short(p->specs, c);
    snprintf(p->name, sizeof p->name, "-%c", c);
    if (!s) {
        if (strlen(p->group_word) > 2)
            opt_usage(p, "unknown option '-%c' (in '%s')", c, p->group_word);
        else
            opt_usage(p, "unknown option '-%c'", c);
        p->group = NULL;
        return OPT_ERROR;
    }
    p->spec = s;
    if (s->arg == OPT_NONE || s->arg == OPT_OPT) {
        if (!*p->group)
            p->group = NULL;
        return s->id;
    }
    if (*p->group) { /* "-s100" */
        p->arg = p->group;
        p->group = NULL;
        if (s->arg == OPT_NUM && !looks_numeric(p->arg))
            return opt_usage(p, "option '%s' requires a number (not '%s')", p->name, p->arg),
                   OPT_ERROR;
        return s->id;
    }
    p->group = NULL;
    return take_next(p);
}

int opt_next(struct opt_parser *p)
{
    p->spec = NULL;
    p->arg = NULL;
    if (p->group)
        return short_option(p);
    while (p->i < p->argc) {
        char *word = p->argv[p->i];
        if (!strcmp(word, "--")) {
            for (p->i++; p->i < p->argc; p->i++)
                p->operands[p->noperands++] = p->argv[p->i];
            break;
        }
        if (word[0] != '-' || word[1] == '\0') {
            if (p->flags & OPT_STOP_AT_OPERAND) {
                for (; p->i < p->argc; p->i++)
                    p->operands[p->noperands++] = p->argv[p->i];
                break;
            }
            p->operands[p->noperands++] = word;
            p->i++;
            continue;
        }
        p->i++;
        if (word[1] == '-')
            return long_option(p, word);
        p->group = word + 1;
        p->group_word = word;
        return short_option(p);
    }
    return OPT_DONE;
}
