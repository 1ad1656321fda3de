#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace tap` lands. */
int cmd_tap(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace tap: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
