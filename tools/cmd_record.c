#include <stdio.h>

#include "tools/commands.h"

/* Placeholder until the issue that provides `sandtrace record` lands. */
int cmd_record(int argc, char **argv)
{
    (void)argc;
    fprintf(stderr, "sandtrace record: not built yet\n");
    (void)argv;
    return ST_EXIT_NOT_BUILT;
}
