#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace dump` lands. */
int cmd_dump(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace dump: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
