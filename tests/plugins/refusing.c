/* A plugin whose init refuses its arguments with a message. */
#include <stdio.h>

#include "controller/handler.h"

ST_PLUGIN_ABI;

int sandtrace_plugin_init(struct st_plugin_api *api, const char *args);
int sandtrace_plugin_init(struct st_plugin_api *api, const char *args)
{
    snprintf(api->error, api->error_cap, "refusing: bad arguments '%s'", args);
    return -1;
}
