/* The signature registry: the table of sigtable.def, with lookups. */
#include "controller/registry.h"

#include "controller/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* sigtable.def gives the text; the name and wire kinds are sliced out of
 * it once, so the table holds nothing that could disagree with the text. */
#define ST_CLASS_OF(c) ST_CLASS_##c
#define ST_ACT_OF(a) ST_ACT_##a
#define ST_DEC_OF(d) ST_DEC_##d

static const struct st_sig_def {
    const char *text;
    enum st_sig_class cls;
    const char *args;
    char res;
    enum st_sig_action action;
    int refuse_errno;
    enum st_sig_decoder decoder;
} defs[ST_SIG_COUNT] = {
#define SIG(ident, text, cls, args, res, act, err, dec) \
    { text, ST_CLASS_OF(cls), args, res, ST_ACT_OF(act), err, ST_DEC_OF(dec) },
#include "controller/sigtable.def"
#undef SIG
};

static const struct st_arg_info arg_infos[] = {
#define ARG(ident, ch, size, fmt, noun) { ch, size, noun },
#include "controller/argtable.def"
#undef ARG
};

static struct st_sig table[ST_SIG_COUNT];
static char names[ST_SIG_COUNT][64];
static size_t text_lens[ST_SIG_COUNT];

static pthread_once_t built = PTHREAD_ONCE_INIT;

static int is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int st_sig_parse(const char *text, size_t len, struct st_sig_shape *out)
{
    if (len == 0)
        return ST_E_ZERO_LENGTH;
    if (len > ST_SIG_MAX_TEXT)
        return ST_E_BAD_TEXT;
    size_t i = 0;
    while (i < len && is_name_char((unsigned char)text[i]))
        i++;
    if (i == 0 || i == len || text[i] != '(')
        return ST_E_BAD_TEXT;
    out->name_len = i++;
    unsigned n = 0;
    for (; i < len && text[i] != ')'; i++) {
        char k = text[i];
        if (n >= ST_MAX_ARGS)
            return ST_E_TOO_MANY_ARGS;
        if (k != 'i' && k != 'f' && k != 'p')
            return ST_E_BAD_KIND;
        out->arg_kinds[n++] = k;
    }
    out->arg_kinds[n] = '\0';
    out->nargs = n;
    /* ")R" must be exactly the last two characters. */
    if (i + 2 != len)
        return ST_E_BAD_TEXT;
    char rk = text[i + 1];
    if (rk != 'i' && rk != 'f' && rk != 'p' && rk != 'v')
        return ST_E_BAD_KIND;
    out->res_kind = rk;
    return 0;
}

/* Fills `table` from `defs`, once; the registry is read-only afterwards.
 * sigtable.def's texts are well formed (test_registry checks it). */
static void registry_fill(void)
{
    for (size_t i = 0; i < ST_SIG_COUNT; i++) {
        const struct st_sig_def *d = &defs[i];
        struct st_sig *s = &table[i];
        struct st_sig_shape shape;
        text_lens[i] = strlen(d->text);
        if (st_sig_parse(d->text, text_lens[i], &shape) < 0)
            abort();
        memcpy(names[i], d->text, shape.name_len);
        names[i][shape.name_len] = '\0';
        s->id = (enum st_sig_id)i;
        s->name = names[i];
        s->text = d->text;
        s->cls = d->cls;
        s->args = d->args;
        s->res = d->res;
        s->nargs = shape.nargs;
        memcpy(s->arg_kinds, shape.arg_kinds, sizeof s->arg_kinds);
        s->res_kind = shape.res_kind;
        s->action = d->action;
        s->refuse_errno = d->refuse_errno;
        s->decoder = d->decoder;
    }
}

static void registry_build(void)
{
    pthread_once(&built, registry_fill);
}

static int compare_text(const void *key, const void *elem)
{
    const struct { const char *p; size_t n; } *k = key;
    const struct st_sig *s = elem;
    int c = strncmp(k->p, s->text, k->n);
    if (c)
        return c;
    return s->text[k->n] == '\0' ? 0 : -1;
}

const struct st_sig *st_registry_lookup(const char *text, size_t len)
{
    /* A guest tends to repeat its last call (a read loop, a stat storm):
     * the last hit is checked first, saving the binary search's eight
     * string compares. Per thread, so the registry stays read-only. */
    static _Thread_local const struct st_sig *last;
    registry_build();
    if (!text || len == 0)
        return NULL;
    if (last && text_lens[last->id] == len && !memcmp(last->text, text, len))
        return last;
    if (memchr(text, '\0', len))
        return NULL;
    struct { const char *p; size_t n; } key = { text, len };
    const struct st_sig *s = bsearch(&key, table, ST_SIG_COUNT, sizeof table[0], compare_text);
    if (s)
        last = s;
    return s;
}

const struct st_sig *st_registry_get(enum st_sig_id id)
{
    registry_build();
    if ((unsigned)id >= ST_SIG_COUNT)
        return NULL;
    return &table[id];
}

size_t st_registry_count(void)
{
    return ST_SIG_COUNT;
}

const char *st_sig_class_name(enum st_sig_class cls)
{
    switch (cls) {
    case ST_CLASS_FILE: return "file";
    case ST_CLASS_DESC: return "desc";
    case ST_CLASS_TIME: return "time";
    case ST_CLASS_PROCESS: return "process";
    case ST_CLASS_MEMORY: return "memory";
    }
    return "?";
}

int st_sig_failed(const struct st_sig *sig, char res_kind, uint64_t result, int has_errno)
{
    int64_t v = (int64_t)result;
    switch (sig ? sig->res : 0) {
    case ST_RES_ERR: case ST_RES_FD: case ST_RES_COUNT: case ST_RES_OFFSET:
        return v < 0;
    case ST_RES_PTR: case ST_RES_DIR: case ST_RES_STR: case ST_RES_DIRENT:
        return result == 0 && has_errno;
    case ST_RES_VOID: case ST_RES_MODE:
        return 0;
    default: /* ST_RES_NUM, unknown signatures */
        if (!has_errno)
            return 0;
        return res_kind == 'p' ? result == 0 : v == -1;
    }
}

const struct st_arg_info *st_arg_info(char meaning)
{
    for (size_t i = 0; i < sizeof arg_infos / sizeof arg_infos[0]; i++)
        if (arg_infos[i].meaning == meaning)
            return &arg_infos[i];
    return NULL;
}

uint64_t st_sig_arg_extent(const struct st_sig *sig, const uint64_t *args, unsigned nargs,
                           unsigned i)
{
    if (!sig || i >= nargs || i >= sig->nargs)
        return 0;
    char m = sig->args[i];
    if (m == ST_ARG_BUF_IN || m == ST_ARG_BUF_OUT) {
        for (unsigned j = i + 1; j < nargs && j < sig->nargs; j++)
            if (sig->args[j] == ST_ARG_LEN)
                return args[j] <= (1ull << 32) ? args[j] : 0;
        return 0;
    }
    const struct st_arg_info *a = st_arg_info(m);
    return a ? a->size : 0;
}
