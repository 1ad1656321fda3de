/* The signature registry: the table of sigtable.def, with lookups. */
#include "controller/registry.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* sigtable.def gives the text; the name and wire kinds are sliced out of
 * it once, so the table holds nothing that could disagree with the text. */
#define ST_CLASS_OF(c) ST_CLASS_##c
#define ST_ACT_OF(a) ST_ACT_##a

static const struct st_sig_def {
    const char *text;
    enum st_sig_class cls;
    const char *args;
    char res;
    enum st_sig_action action;
    int refuse_errno;
} defs[ST_SIG_COUNT] = {
#define SIG(ident, text, cls, args, res, act, err) \
    { text, ST_CLASS_OF(cls), args, res, ST_ACT_OF(act), err },
#include "controller/sigtable.def"
#undef SIG
};

static struct st_sig table[ST_SIG_COUNT];
static char names[ST_SIG_COUNT][64];
static size_t text_lens[ST_SIG_COUNT];

static pthread_once_t built = PTHREAD_ONCE_INIT;

/* Fills `table` from `defs`, once; the registry is read-only afterwards. */
static void registry_fill(void)
{
    for (size_t i = 0; i < ST_SIG_COUNT; i++) {
        const struct st_sig_def *d = &defs[i];
        struct st_sig *s = &table[i];
        const char *open = strchr(d->text, '(');
        const char *close = strchr(d->text, ')');
        size_t nlen = (size_t)(open - d->text);
        memcpy(names[i], d->text, nlen);
        names[i][nlen] = '\0';
        s->id = (enum st_sig_id)i;
        s->name = names[i];
        s->text = d->text;
        s->cls = d->cls;
        s->args = d->args;
        s->res = d->res;
        s->nargs = (unsigned)(close - open - 1);
        memcpy(s->arg_kinds, open + 1, s->nargs);
        s->arg_kinds[s->nargs] = '\0';
        s->res_kind = close[1];
        s->action = d->action;
        s->refuse_errno = d->refuse_errno;
        text_lens[i] = strlen(d->text);
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
