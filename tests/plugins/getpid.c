/* A plugin answering getpid()i with 4200 (sandtrace's default virtual pid),
 * as the built-in handler does: make bench compares the two. */
#include "controller/handler.h"

static int answer_getpid(void *ctx, struct st_session *s, struct st_handler_call *hc)
{
    st_call_ok(hc->call, 4200);
    return ST_HANDLER_ANSWERED;
}

ST_PLUGIN_ABI;

int sandtrace_plugin_init(struct st_plugin_api *api, const char *args);
int sandtrace_plugin_init(struct st_plugin_api *api, const char *args)
{
    struct st_handler_def d = { .name = "getpid", .pattern = "getpid()i",
                                .when = ST_HANDLER_REPLACE, .fn = answer_getpid };
    return st_session_add_handler(api->session, &d);
}
