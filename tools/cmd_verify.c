#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace verify` lands. */
int cmd_verify(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace verify: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
