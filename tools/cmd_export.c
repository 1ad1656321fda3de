#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace export` lands. */
int cmd_export(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace export: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
