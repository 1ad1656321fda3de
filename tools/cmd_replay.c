#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace replay` lands. */
int cmd_replay(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace replay: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
