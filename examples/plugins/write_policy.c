/* A sandtrace plugin: a policy that refuses every write outside one
 * directory.
 *
 *   sandtrace run --tmp-write --plugin write_policy.so[:DIR] ...   (default /tmp/out)
 *
 * Before the built-in handlers see them, it refuses with EACCES (and a
 * note in the trace) every call that would create, change or remove
 * something outside DIR: open/openat for writing, creating or truncating;
 * mkdir, rmdir, unlink, rename and their *at forms. Paths below DIR pass
 * to the built-in handlers (which still apply their own rules: only the
 * writable /tmp can be written). A relative path, a path with a ".."
 * component and an *at call with a directory fd other than AT_FDCWD are
 * refused too: the policy does not resolve them, so it does not guess.
 * Read-only calls are not looked at. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/handler.h"

#define WP_O_ACCMODE 3
#define WP_O_CREAT 0100
#define WP_O_TRUNC 01000
#define WP_O_APPEND 02000
#define WP_AT_FDCWD (-100)

struct wp {
    char dir[256];
    size_t dir_len;
};

/* 1 when `path` is DIR or below it, absolute and free of ".." components. */
static int wp_inside(const struct wp *w, const char *path)
{
    if (!path || path[0] != '/')
        return 0;
    for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2)
        if ((p == path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
            return 0;
    return strncmp(path, w->dir, w->dir_len) == 0 &&
           (path[w->dir_len] == '\0' || path[w->dir_len] == '/');
}

static int wp_refuse(struct st_session *s, struct st_handler_call *hc, const char *path)
{
    st_handler_note(s, "write_policy: refused %s of '%s'", hc->sig->name, path ? path : "(null)");
    st_call_fail(hc->call, EACCES);
    return ST_HANDLER_ANSWERED;
}

static int wp_check(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    const struct wp *w = ctx;
    const char *name = hc->sig->name;
    int at = hc->nargs > 0 && hc->arg[0].meaning == ST_ARG_DIRFD;
    if (!strcmp(name, "open") || !strcmp(name, "openat")) {
        uint64_t flags = hc->call->args[at ? 2 : 1];
        if ((flags & WP_O_ACCMODE) == 0 && !(flags & (WP_O_CREAT | WP_O_TRUNC | WP_O_APPEND)))
            return ST_HANDLER_PASS; /* a read */
    }
    /* Every path argument must be inside, and an *at call must use AT_FDCWD. */
    for (unsigned i = 0; i < hc->nargs; i++) {
        if (hc->arg[i].meaning == ST_ARG_DIRFD && (int64_t)hc->arg[i].raw != WP_AT_FDCWD)
            return wp_refuse(s, hc, "(a path relative to a directory fd)");
        if (hc->arg[i].meaning == ST_ARG_STR && !wp_inside(w, hc->arg[i].str))
            return wp_refuse(s, hc, hc->arg[i].str);
    }
    return ST_HANDLER_PASS;
}

ST_PLUGIN_ABI;

int sandtrace_plugin_init(struct st_plugin_api *api, const char *args);
int sandtrace_plugin_init(struct st_plugin_api *api, const char *args)
{
    const char *dir = args && *args ? args : "/tmp/out";
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    if (dir[0] != '/' || len >= sizeof ((struct wp *)0)->dir) {
        snprintf(api->error, api->error_cap, "write_policy: '%s' is not an absolute directory", dir);
        return -1;
    }
    struct wp *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    memcpy(w->dir, dir, len);
    w->dir_len = len == 1 ? 0 : len; /* "/": everything is inside */
    static const char *const calls[] = { "open", "openat", "mkdir", "mkdirat", "rmdir",
                                         "unlink", "unlinkat", "rename", "renameat" };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        struct st_handler_def d = {
            .name = "write_policy", .pattern = calls[i], .when = ST_HANDLER_BEFORE,
            .fn = wp_check, .ctx = w, .free_ctx = i == 0 ? free : NULL,
        };
        int rc = st_session_add_handler(api->session, &d);
        if (rc < 0 && rc != ST_E_UNKNOWN_CALL) {
            snprintf(api->error, api->error_cap, "write_policy: cannot watch '%s'", calls[i]);
            return rc;
        }
    }
    return 0;
}
