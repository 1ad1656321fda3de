/* A plugin built for another plugin ABI version: the loader must refuse it
 * without calling its init (which would say so by failing the test). */
#include <stdio.h>

#include "controller/handler.h"

__attribute__((visibility("default"))) const unsigned sandtrace_plugin_abi = 999;

int sandtrace_plugin_init(struct st_plugin_api *api, const char *args);
int sandtrace_plugin_init(struct st_plugin_api *api, const char *args)
{
    fprintf(stderr, "old_abi: init ran, it must not\n");
    return 0;
}
