#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace check` lands. */
int cmd_check(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace check: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
