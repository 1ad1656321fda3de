/* User handlers: registration, pattern matching, argument decoding and the
 * BEFORE / REPLACE / built-in / AFTER chain the dispatcher runs for a call
 * that matches (controller/handler.h). */
#include "controller/handler.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/handler_int.h"
#include "controller/session_int.h"
#include "controller/vfs.h"

#define ST_HANDLER_MAX_STRS 4      /* decoded strings per call (rename has 2) */
#define ST_HANDLER_MAX_PLUGINS 16
#define ST_HANDLER_MAX_REWRITES 4

struct st_handler_entry {
    char name[64];
    enum st_handler_when when;
    st_handler_fn *fn;
    void *ctx;
    void (*free_ctx)(void *ctx);
};

struct st_handlers {
    struct st_handler_entry h[ST_HANDLER_MAX];
    unsigned n;
    /* Bit k of want[id]: handler k matches signature id. */
    uint64_t want[ST_SIG_COUNT];
    /* The call being answered: its decoded form, the built-in-answered flag
     * (st_handler_call_default), its strings and data, its M blocks. */
    struct st_handler_call hc;
    int answered;
    char str[ST_HANDLER_MAX_STRS][ST_HANDLER_STR_MAX + 1];
    unsigned char *data;            /* ST_HANDLER_DATA_MAX bytes, allocated on first use */
    uint64_t rewrites[ST_HANDLER_MAX_REWRITES];
    unsigned nrewrites;
    void *plugins[ST_HANDLER_MAX_PLUGINS];
    unsigned nplugins;
};

/* ------------------------------------------------------------ patterns */

static int class_of(const char *name, enum st_sig_class *out)
{
    static const enum st_sig_class all[] = { ST_CLASS_FILE, ST_CLASS_DESC, ST_CLASS_TIME,
                                             ST_CLASS_PROCESS, ST_CLASS_MEMORY };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(name, st_sig_class_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return ST_E_INVALID;
}

int st_handler_pattern_match(const char *pattern, const struct st_sig *sig)
{
    if (!pattern || !*pattern || !sig)
        return ST_E_INVALID;
    if (pattern[0] == '%') {
        enum st_sig_class cls;
        if (class_of(pattern + 1, &cls) < 0)
            return ST_E_INVALID;
        return sig->cls == cls;
    }
    /* With a parenthesis the pattern is about whole signatures, else names. */
    const char *subject = strchr(pattern, '(') ? sig->text : sig->name;
    return fnmatch(pattern, subject, 0) == 0;
}

/* ------------------------------------------------------------ registry */

static struct st_handlers *handlers_get(struct st_session *s)
{
    if (!s->handlers)
        s->handlers = calloc(1, sizeof *s->handlers);
    return s->handlers;
}

int st_session_add_handler(struct st_session *s, const struct st_handler_def *def)
{
    int rc = 0;
    if (!s || !def || !def->fn || !def->pattern || s->ran) {
        rc = ST_E_INVALID;
        goto fail;
    }
    struct st_handlers *hs = handlers_get(s);
    if (!hs) {
        rc = ST_E_NOMEM;
        goto fail;
    }
    if (hs->n >= ST_HANDLER_MAX) {
        rc = ST_E_TOO_BIG;
        goto fail;
    }
    unsigned k = hs->n;
    size_t matched = 0;
    for (size_t id = 0; id < st_registry_count(); id++) {
        int m = st_handler_pattern_match(def->pattern, st_registry_get((enum st_sig_id)id));
        if (m < 0) {
            rc = m;
            goto fail;
        }
        matched += (size_t)m;
    }
    if (!matched) {
        rc = ST_E_UNKNOWN_CALL;
        goto fail;
    }
    for (size_t id = 0; id < st_registry_count(); id++)
        if (st_handler_pattern_match(def->pattern, st_registry_get((enum st_sig_id)id)) == 1)
            hs->want[id] |= (uint64_t)1 << k;
    struct st_handler_entry *e = &hs->h[k];
    snprintf(e->name, sizeof e->name, "%s", def->name && *def->name ? def->name : def->pattern);
    e->when = def->when;
    e->fn = def->fn;
    e->ctx = def->ctx;
    e->free_ctx = def->free_ctx;
    hs->n++;
    return 0;
fail:
    if (def && def->free_ctx)
        def->free_ctx(def->ctx);
    return rc;
}

void st_handlers_free(struct st_handlers *hs)
{
    if (!hs)
        return;
    /* Last registered first: a plugin's handlers may use what an earlier
     * registration set up. */
    for (unsigned k = hs->n; k-- > 0;)
        if (hs->h[k].free_ctx)
            hs->h[k].free_ctx(hs->h[k].ctx);
    /* Only now: free_ctx functions may live in the plugins. */
    for (unsigned k = hs->nplugins; k-- > 0;)
        dlclose(hs->plugins[k]);
    free(hs->data);
    free(hs);
}

int st_handlers_want(const struct st_handlers *hs, const struct st_sig *sig)
{
    return hs && sig && hs->want[sig->id] != 0;
}

/* ------------------------------------------------------------- decoding */

/* Decodes c's arguments into hs->hc: strings are read from the guest. */
static int decode(struct st_session *s, struct st_handlers *hs, struct st_call *c)
{
    struct st_handler_call *hc = &hs->hc;
    const struct st_sig *sig = c->sig;
    memset(hc, 0, sizeof *hc);
    hc->call = c;
    hc->sig = sig;
    hc->nargs = c->nargs < sig->nargs ? c->nargs : sig->nargs;
    unsigned nstr = 0;
    for (unsigned i = 0; i < hc->nargs; i++) {
        struct st_handler_arg *a = &hc->arg[i];
        a->raw = c->args[i];
        a->meaning = sig->args[i];
        if ((a->meaning == ST_ARG_BUF_IN || a->meaning == ST_ARG_BUF_OUT) && i + 1 < hc->nargs &&
            sig->args[i + 1] == ST_ARG_LEN)
            a->buf_len = c->args[i + 1];
        if (a->meaning != ST_ARG_STR)
            continue;
        if (a->raw == 0) {
            a->str_err = EFAULT;
            continue;
        }
        if (nstr >= ST_HANDLER_MAX_STRS) {
            a->str_err = E2BIG;
            continue;
        }
        char *buf = hs->str[nstr++];
        size_t len = 0;
        int rc = st_guest_read_str(s, a->raw, ST_HANDLER_STR_MAX, buf, &len);
        if (rc < 0)
            return rc;
        if (len >= ST_HANDLER_STR_MAX) {
            a->str_err = ENAMETOOLONG;
            continue;
        }
        buf[len] = '\0';
        a->str = buf;
        a->str_len = len;
    }
    return 0;
}

int st_handler_arg_data(struct st_session *s, struct st_handler_call *hc, unsigned i,
                        const void **data, size_t *len)
{
    struct st_handlers *hs = s ? s->handlers : NULL;
    if (!hs || !hc || i >= hc->nargs || hc->arg[i].meaning != ST_ARG_BUF_IN)
        return ST_E_INVALID;
    *data = NULL;
    *len = 0;
    uint64_t want = hc->arg[i].buf_len;
    if ((int64_t)want <= 0 || hc->call->args[i] == 0)
        return 0;
    if (want > ST_HANDLER_DATA_MAX)
        want = ST_HANDLER_DATA_MAX;
    if (!hs->data && !(hs->data = malloc(ST_HANDLER_DATA_MAX)))
        return ST_E_NOMEM;
    int rc = st_guest_read(s, hc->call->args[i], hs->data, (size_t)want);
    if (rc < 0)
        return rc;
    *data = hs->data;
    *len = (size_t)want;
    return 0;
}

int st_handler_set_str_arg(struct st_session *s, struct st_handler_call *hc, unsigned i,
                           const char *str)
{
    struct st_handlers *hs = s ? s->handlers : NULL;
    if (!hs || !hc || !str || i >= hc->nargs || hc->arg[i].meaning != ST_ARG_STR)
        return ST_E_INVALID;
    size_t len = strlen(str);
    if (len >= ST_HANDLER_STR_MAX || hs->nrewrites >= ST_HANDLER_MAX_REWRITES)
        return ST_E_TOO_BIG;
    uint64_t p = 0;
    int rc = st_guest_alloc(s, str, len + 1, &p);
    if (rc < 0)
        return rc;
    hs->rewrites[hs->nrewrites++] = p;
    hc->call->args[i] = p;
    /* The decoded copy follows: in the argument's own slot, else in one no
     * other argument uses (there are more slots than string arguments). */
    char *slot = NULL;
    for (unsigned k = 0; k < ST_HANDLER_MAX_STRS && !slot; k++)
        if (hc->arg[i].str == hs->str[k])
            slot = hs->str[k];
    for (unsigned k = 0; k < ST_HANDLER_MAX_STRS && !slot; k++) {
        int used = 0;
        for (unsigned a = 0; a < hc->nargs; a++)
            used |= hc->arg[a].str == hs->str[k];
        if (!used)
            slot = hs->str[k];
    }
    if (!slot)
        return ST_E_TOO_BIG;
    memcpy(slot, str, len + 1);
    hc->arg[i].str = slot;
    hc->arg[i].str_len = len;
    hc->arg[i].str_err = 0;
    return 0;
}

/* --------------------------------------------------------------- running */

int st_handler_call_default(struct st_session *s, struct st_handler_call *hc)
{
    struct st_handlers *hs = s ? s->handlers : NULL;
    if (!hs || !hc || hs->answered)
        return hs && hs->answered ? 0 : ST_E_INVALID;
    hs->answered = 1;
    return st_session_answer_builtin(s, hc->call);
}

int st_handler_fail(struct st_session *s, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    st_session_note(s, "%s", reason);
    st_session_stop(s, ST_STATUS_HANDLER, "%s", reason);
    return ST_E_STOPPED;
}

void st_handler_note(struct st_session *s, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    st_session_note(s, "%s", text);
}

int st_handler_fd_reserve(struct st_session *s)
{
    struct st_vfs *v = s ? st_session_vfs(s) : NULL;
    if (!v)
        return -ENOENT;
    return st_vfs_open(v, ST_VFS_AT_FDCWD, "/dev/null", O_RDONLY, 0);
}

int st_handler_fd_release(struct st_session *s, int fd)
{
    struct st_vfs *v = s ? st_session_vfs(s) : NULL;
    if (!v)
        return -EBADF;
    return st_vfs_close(v, fd);
}

/* Runs handler k; a negative result that did not stop the session is a
 * handler bug reported as its failure, so the run always says who failed. */
static int run_one(struct st_session *s, struct st_handlers *hs, unsigned k)
{
    int rc = hs->h[k].fn(hs->h[k].ctx, s, &hs->hc);
    if (rc < 0 && !s->stopping && rc != ST_E_TRUNCATED && rc != ST_E_IO && rc != ST_E_EOF &&
        rc != ST_E_BAD_REPLY && rc != ST_E_TIMEOUT)
        return st_handler_fail(s, "handler '%s' failed on %s: %s", hs->h[k].name, hs->hc.sig->text,
                               st_error_name(rc));
    return rc;
}

/* The per-call notes cost a format each: made only when someone listens
 * (a trace, --debug), so that a plain run pays nothing for them. */
static int notes_wanted(const struct st_session *s)
{
    for (unsigned i = 0; i < s->nobs; i++)
        if (s->obs[i].on_note)
            return 1;
    return 0;
}

int st_handlers_answer(struct st_session *s, struct st_call *c)
{
    struct st_handlers *hs = s->handlers;
    uint64_t want = hs->want[c->sig->id];
    hs->answered = 0;
    hs->nrewrites = 0;
    int rc = decode(s, hs, c);
    if (rc < 0)
        return rc;
    const char *by = NULL;
    /* BEFORE, then REPLACE: the first that answers ends the search. */
    for (int pass = 0; pass < 2 && !by && !hs->answered; pass++) {
        enum st_handler_when when = pass == 0 ? ST_HANDLER_BEFORE : ST_HANDLER_REPLACE;
        for (unsigned k = 0; k < hs->n && !by && !hs->answered; k++) {
            if (!(want >> k & 1) || hs->h[k].when != when)
                continue;
            rc = run_one(s, hs, k);
            if (rc < 0)
                return rc;
            if (s->stopping)
                return 0;
            if (rc == ST_HANDLER_ANSWERED)
                by = hs->h[k].name;
        }
    }
    if (!by && !hs->answered) {
        hs->answered = 1;
        rc = st_session_answer_builtin(s, c);
        if (rc < 0 || s->stopping)
            return rc;
    }
    hs->hc.answered_by = by ? by : "built-in";
    for (unsigned k = 0; k < hs->n; k++) {
        if (!(want >> k & 1) || hs->h[k].when != ST_HANDLER_AFTER)
            continue;
        uint64_t result = c->result;
        int err = c->err;
        rc = run_one(s, hs, k);
        if (rc < 0)
            return rc;
        if (s->stopping)
            return 0;
        if ((c->result != result || c->err != err) && notes_wanted(s))
            st_session_note(s, "handler '%s' changed the result of %s", hs->h[k].name,
                            c->sig->text);
    }
    if (by && notes_wanted(s))
        st_session_note(s, "handler '%s' answered %s", by, c->sig->text);
    /* Rewritten strings go back to the guest's heap before the result. */
    for (unsigned k = 0; k < hs->nrewrites; k++) {
        rc = st_guest_free(s, hs->rewrites[k]);
        if (rc < 0)
            return rc;
    }
    hs->nrewrites = 0;
    return 0;
}

/* --------------------------------------------------------------- plugins */

int st_session_load_plugin(struct st_session *s, const char *path, const char *args, char *err,
                           size_t cap)
{
    if (cap)
        err[0] = '\0';
    struct st_handlers *hs = s ? handlers_get(s) : NULL;
    if (!hs) {
        snprintf(err, cap, "out of memory");
        return ST_E_NOMEM;
    }
    if (!path || hs->nplugins >= ST_HANDLER_MAX_PLUGINS) {
        snprintf(err, cap, "too many plugins (%d at most)", ST_HANDLER_MAX_PLUGINS);
        return ST_E_INVALID;
    }
    /* A path without a slash would be searched for in the library path:
     * the user means the file in the current directory. */
    char local[4096];
    if (!strchr(path, '/') && snprintf(local, sizeof local, "./%s", path) < (int)sizeof local)
        path = local;
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *why = dlerror();
        snprintf(err, cap, "cannot load plugin '%s': %s", path, why ? why : "unknown error");
        return ST_E_CONFIG;
    }
    const unsigned *abi = dlsym(dl, "sandtrace_plugin_abi");
    st_plugin_init_fn *init;
    *(void **)&init = dlsym(dl, "sandtrace_plugin_init");
    if (!abi || !init) {
        snprintf(err, cap, "'%s' is not a sandtrace plugin (no %s)", path,
                 !abi ? "sandtrace_plugin_abi" : "sandtrace_plugin_init");
        dlclose(dl);
        return ST_E_CONFIG;
    }
    if (*abi != ST_PLUGIN_ABI_VERSION) {
        snprintf(err, cap, "plugin '%s' was built for plugin ABI version %u, this sandtrace has version %u: rebuild it against these headers",
                 path, *abi, ST_PLUGIN_ABI_VERSION);
        dlclose(dl);
        return ST_E_CONFIG;
    }
    /* Kept before init: handlers it registers point into it, and it must
     * outlive them even when init fails halfway. */
    hs->plugins[hs->nplugins++] = dl;
    char msg[256] = "";
    struct st_plugin_api api = { ST_PLUGIN_ABI_VERSION, sizeof api, s, path, msg, sizeof msg };
    int rc = init(&api, args ? args : "");
    if (rc < 0) {
        msg[sizeof msg - 1] = '\0';
        snprintf(err, cap, "plugin '%s' refused to start: %s", path,
                 msg[0] ? msg : st_error_name(rc));
        return ST_E_INVALID;
    }
    return 0;
}
