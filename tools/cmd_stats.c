#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace stats` lands. */
int cmd_stats(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace stats: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
