#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace diff` lands. */
int cmd_diff(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace diff: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
