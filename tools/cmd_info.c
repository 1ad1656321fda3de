#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace info` lands. */
int cmd_info(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace info: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
