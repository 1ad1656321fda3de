/* sandtrace run: run a guest in a virtual world, with limits and a jail. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/registry.h"
#include "controller/session.h"
#include "controller/vfs.h"
#include "tools/commands.h"
#include "tools/cmd_record.h"
#include "tools/cmd_run_opts.h"

static void run_usage(FILE *out)
{
    fprintf(out,
        "usage: sandtrace run [OPTIONS] [--] EXECUTABLE [ARGS...]\n"
        "\n"
        "Runs a sandbox-2 guest (e.g. pypy-c-sandbox) and answers its requests from a\n"
        "virtual world: its own files, time, identity and environment.\n"
        "\n"
        "%s"
        "\n"
        "exit status:\n"
        "  N        the guest exited with code N\n"
        "  128+N    the guest was killed by signal N\n"
        "  70       controller error (the guest could not be started, bad setup)\n"
        "  71       --timeout reached           72  --cpu limit reached\n"
        "  73       --memory limit (the guest died of a failed allocation)\n"
        "  74       --max-output reached        75  --max-calls reached\n"
        "  76       protocol violation          77  unknown (or fatal) function called\n"
        "  78       killed by the seccomp jail (a direct system call)\n"
        "  79       with --record: --max-trace reached (or the trace's signature table)\n"
        "  2        bad command line\n"
        "--record FILE (before the executable) records the run: see 'sandtrace record --help'.\n"
        "A guest exiting with 70..79 itself is told apart only by --outcome's \"status\".\n",
        st_run_options_help());
}

int cmd_run(int argc, char **argv)
{
    /* `run --record FILE` is `record -o FILE`: one code path. */
    if (st_record_requested(argc, argv))
        return cmd_record(argc, argv);
    struct st_run_options ro;
    st_run_options_init(&ro);
    int rc = st_run_options_parse(&ro, argc, argv, "run");
    if (rc == ST_RUN_OPT_HELP) {
        run_usage(stdout);
        st_run_options_release(&ro);
        return ST_EXIT_OK;
    }
    if (rc < 0) {
        if (rc == ST_RUN_OPT_USAGE)
            fprintf(stderr, "see 'sandtrace run --help'\n");
        st_run_options_release(&ro);
        return rc == ST_RUN_OPT_USAGE ? ST_EXIT_USAGE : ST_RUN_EXIT_ERROR;
    }
    if (ro.debug)
        st_run_debug_dump(&ro);
    struct st_outcome outcome;
    rc = st_run_execute(&ro, NULL, &outcome);
    int code = rc < 0 && outcome.status != ST_STATUS_ERROR ? ST_RUN_EXIT_ERROR
                                                           : st_outcome_exit_code(&outcome);
    st_run_options_release(&ro);
    return code;
}
