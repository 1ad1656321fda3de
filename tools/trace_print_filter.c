/* The symbolic printer's options and its -e trace= filter: see
 * trace_print.h. */
#include "tools/trace_print.h"

#include <inttypes.h>
#include <time.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/st_util.h"
#include "tools/options.h"
#include "tools/trace_print_int.h"

/* ------------------------------------------------------------------------
 * Options and filter. */

void tp_options_init(struct tp_options *o)
{
    memset(o, 0, sizeof *o);
    o->strsize = 32;
}

static const char *const class_names[] = { "file", "desc", "time", "process", "memory" };

#define CLASS_LIST "%%file, %%desc, %%time, %%process, %%memory"

/* A name of -e trace=: a function of the signature table, or a whole
 * signature ("foo(ii)i", for functions the table does not know). */
static int known_function(const char *name, size_t n)
{
    if (memchr(name, '(', n))
        return 1;
    for (size_t i = 0; i < st_registry_count(); i++) {
        const struct st_sig *sig = st_registry_get((enum st_sig_id)i);
        if (sig && strlen(sig->name) == n && !strncmp(sig->name, name, n))
            return 1;
    }
    return 0;
}

static void unknown_function(const char *name, size_t n, char *err, size_t err_cap)
{
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)(n < 63 ? n : 63), name);
    for (size_t k = 0; k < sizeof class_names / sizeof class_names[0]; k++) {
        if (!strcmp(word, class_names[k])) {
            snprintf(err, err_cap, "unknown function '%s' (did you mean the class '%%%s'?); "
                     "the classes are " CLASS_LIST, word, word);
            return;
        }
    }
    const char *names[ST_SIG_COUNT + 1];
    size_t m = 0;
    for (size_t i = 0; i < st_registry_count() && m < ST_SIG_COUNT; i++) {
        const struct st_sig *sig = st_registry_get((enum st_sig_id)i);
        if (sig)
            names[m++] = sig->name;
    }
    names[m] = NULL;
    const char *near = opt_suggest(word, names);
    if (near)
        snprintf(err, err_cap, "unknown function '%s' (did you mean '%s'?); the classes are "
                 CLASS_LIST, word, near);
    else
        snprintf(err, err_cap, "unknown function '%s': not in the signature table; the classes "
                 "are " CLASS_LIST, word);
}

int tp_filter_parse(struct tp_filter *f, const char *spec, char *err, size_t err_cap)
{
    memset(f, 0, sizeof *f);
    if (!strncmp(spec, "trace=", 6))
        spec += 6;
    else if (strchr(spec, '=')) {
        snprintf(err, err_cap, "unsupported qualifier in '%s' (only trace=SET)", spec);
        return -1;
    }
    if (*spec == '!') {
        f->negate = 1;
        spec++;
    }
    f->active = 1;
    if (!strcmp(spec, "all")) {
        f->active = f->negate; /* "!all" shows no call */
        f->negate = 0;
        return 0;
    }
    if (!strcmp(spec, "none"))
        return 0;
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0 || n >= sizeof f->names[0]) {
            snprintf(err, err_cap, "bad name in trace set '%s'", spec);
            return -1;
        }
        if (*p == '%') {
            size_t k;
            for (k = 0; k < sizeof class_names / sizeof class_names[0]; k++)
                if (strlen(class_names[k]) == n - 1 && !strncmp(p + 1, class_names[k], n - 1))
                    break;
            if (k == sizeof class_names / sizeof class_names[0]) {
                snprintf(err, err_cap, "unknown class '%.*s'; the classes are " CLASS_LIST, (int)n, p);
                return -1;
            }
            f->classes |= 1u << k;
        } else {
            if (!known_function(p, n)) {
                unknown_function(p, n, err, err_cap);
                return -1;
            }
            if (f->nnames == TP_FILTER_MAX_NAMES) {
                snprintf(err, err_cap, "too many names in trace set (at most %d)", TP_FILTER_MAX_NAMES);
                return -1;
            }
            memcpy(f->names[f->nnames], p, n);
            f->names[f->nnames][n] = '\0';
            f->nnames++;
        }
        p = end ? end + 1 : p + n;
    }
    return 0;
}

int tp_filter_match(const struct tp_filter *f, const struct tc_call *c)
{
    if (!f || !f->active)
        return 1;
    int in = c->reg && (f->classes & (1u << c->reg->cls));
    for (size_t i = 0; !in && i < f->nnames; i++)
        in = !strcmp(f->names[i], c->name) || !strcmp(f->names[i], c->sig);
    return f->negate ? !in : in;
}
