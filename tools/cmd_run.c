#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace run` lands. */
int cmd_run(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace run: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
