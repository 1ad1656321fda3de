/* sandtrace run: run a guest in a virtual world, with limits and a jail. */
#include <stdio.h>

#include "tools/cmd_record.h"
#include "tools/cmd_run_opts.h"
#include "tools/commands.h"

static void run_usage(FILE *out, const char *prog)
{
    (void)prog;
    fprintf(out,
        "usage: sandtrace run [OPTIONS] [--] EXECUTABLE [ARGS...]\n"
        "\n"
        "Runs a sandbox-2 guest (e.g. pypy-c-sandbox) and answers its requests from a\n"
        "virtual world: its own files, time, identity and environment. The options come\n"
        "before the executable: the words after it are the guest's.\n"
        "\n"
        "%s"
        "\n"
        "exit status:\n"
        "  N        the guest exited with code N\n"
        "  128+N    the guest was killed by signal N, or the run interrupted by it\n"
        "           (130: SIGINT, 143: SIGTERM, 129: SIGHUP)\n"
        "  2        bad command line\n"
        "  4        a --config or --stdin file cannot be read\n"
        "  6        an output (--outcome, --stdout, --stderr, --export-tmp) cannot be written\n"
        "  70       the guest could not be set up or started\n"
        "  71       --timeout reached           72  --cpu limit reached\n"
        "  73       --memory limit (the guest died of a failed allocation)\n"
        "  74       --max-output reached        75  --max-calls reached\n"
        "  76       protocol violation          77  unknown (or fatal) function called\n"
        "  78       killed by the seccomp jail (a direct system call)\n"
        "  79       a --plugin or --handler failed\n"
        "--record FILE (before the executable) records the run: see 'sandtrace record --help'.\n"
        "A guest exiting with 70..79 itself is told apart only by --outcome's \"status\".\n",
        st_run_options_help());
}

int cmd_run(int argc, char **argv)
{
    return st_run_main(argc, argv, "run", run_usage);
}
