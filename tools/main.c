/* sandtrace: the command-line front end. Dispatches to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "tools/commands.h"
#include "tools/options.h"

struct command {
    const char *name;
    const char *summary;
    int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
#define CMD(name, summary) { #name, summary, cmd_##name },
#include "tools/commands.def"
#undef CMD
};

static void usage(FILE *out)
{
    fprintf(out, "usage: sandtrace COMMAND [OPTIONS] [ARGS...]\n\n"
                 "Run, record and replay programs that speak PyPy's sandbox-2 protocol.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s  %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'sandtrace COMMAND --help' describes one command; 'man sandtrace' all of them.\n");
}

static void unknown_command(const char *name)
{
    const char *names[sizeof commands / sizeof commands[0] + 1];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        names[i] = commands[i].name;
    names[sizeof commands / sizeof commands[0]] = NULL;
    const char *near = opt_suggest(name, names);
    if (near)
        fprintf(stderr, "sandtrace: unknown command '%s' (did you mean '%s'?)\n", name, near);
    else
        fprintf(stderr, "sandtrace: unknown command '%s'\n", name);
    fprintf(stderr, "Try 'sandtrace help' for the list of commands.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ST_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "help") || !strcmp(name, "--help") || !strcmp(name, "-h")) {
        if (argc > 2) {
            /* `sandtrace help CMD` is `sandtrace CMD --help`. */
            char *sub[] = { argv[2], "--help", NULL };
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (!strcmp(commands[i].name, argv[2]))
                    return commands[i].fn(2, sub);
            unknown_command(argv[2]);
            return ST_EXIT_USAGE;
        }
        usage(stdout);
        return ST_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("sandtrace %s\n", SANDTRACE_VERSION);
        return ST_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(commands[i].name, name))
            return commands[i].fn(argc - 1, argv + 1);
    unknown_command(name);
    return ST_EXIT_USAGE;
}
