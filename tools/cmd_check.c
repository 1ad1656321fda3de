/* sandtrace check EXECUTABLE: runs the guest in dump mode (RPY_SANDBOX_DUMP=1)
 * and lists every function it can request with what the controller does
 * with it: handled, refused (deliberately, with an errno), fatal or unknown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/registry.h"
#include "controller/session.h"
#include "tools/commands.h"

enum { CHECK_EXIT_UNHANDLED = 1 };

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: sandtrace check [--all] EXECUTABLE\n"
            "\n"
            "Runs EXECUTABLE in dump mode (RPY_SANDBOX_DUMP=1), reads the functions it can\n"
            "request, and prints one line per function that the controller does not handle\n"
            "(--all: every function) with its verdict: handled, refused (answered with an\n"
            "errno), fatal or unknown (the guest is ended if it calls them), then a summary.\n"
            "\n"
            "exit status: 0 when every function has an entry (handled or refused), 1 when\n"
            "some are fatal or unknown, 70 when the dump could not be obtained, 2 on usage.\n");
}

int cmd_check(int argc, char **argv)
{
    int all = 0;
    const char *exe = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            check_usage(stdout);
            return ST_EXIT_OK;
        } else if (!strcmp(argv[i], "--all")) {
            all = 1;
        } else if (!strcmp(argv[i], "--") && i + 1 < argc && !exe) {
            exe = argv[++i];
        } else if (argv[i][0] == '-' || exe) {
            fprintf(stderr, "sandtrace check: unexpected argument '%s'\n", argv[i]);
            check_usage(stderr);
            return ST_EXIT_USAGE;
        } else {
            exe = argv[i];
        }
    }
    if (!exe) {
        check_usage(stderr);
        return ST_EXIT_USAGE;
    }
    char *text = NULL;
    int err = 0;
    int rc = st_dump_capture(exe, 10, &text, &err);
    if (rc < 0) {
        fprintf(stderr, "sandtrace check: cannot run '%s' in dump mode: %s\n", exe,
                err ? strerror(err) : st_error_name(rc));
        return ST_RUN_EXIT_ERROR;
    }
    struct st_dump d;
    if (st_dump_parse(text, &d) < 0) {
        fprintf(stderr, "sandtrace check: '%s' printed no Version/Funcs in dump mode "
                        "(is it a sandbox-2 guest?)\n", exe);
        free(text);
        return ST_RUN_EXIT_ERROR;
    }
    size_t handled = 0, refused = 0, fatal = 0, unknown = 0;
    printf("%s: protocol version %ld, platform %s, %zu functions\n", exe, d.version,
           d.platform[0] ? d.platform : "?", d.nfuncs);
    if (d.version != 20001)
        printf("warning: protocol version %ld is not 20001\n", d.version);
    for (size_t i = 0; i < d.nfuncs; i++) {
        const struct st_sig *sig = st_registry_lookup(d.funcs[i], strlen(d.funcs[i]));
        const char *verdict;
        if (!sig) {
            verdict = "unknown";
            unknown++;
        } else if (sig->action == ST_ACT_HANDLED) {
            verdict = "handled";
            handled++;
        } else if (sig->action == ST_ACT_REFUSED) {
            verdict = "refused";
            refused++;
        } else {
            verdict = "fatal";
            fatal++;
        }
        if (all || !sig || sig->action != ST_ACT_HANDLED) {
            if (sig && sig->action == ST_ACT_REFUSED)
                printf("  %-8s %-32s (%s, errno %d)\n", verdict, d.funcs[i],
                       st_sig_class_name(sig->cls), sig->refuse_errno);
            else if (sig)
                printf("  %-8s %-32s (%s)\n", verdict, d.funcs[i], st_sig_class_name(sig->cls));
            else
                printf("  %-8s %s\n", verdict, d.funcs[i]);
        }
    }
    printf("%zu handled, %zu refused, %zu fatal, %zu unknown\n", handled, refused, fatal, unknown);
    st_dump_release(&d);
    free(text);
    return fatal || unknown ? CHECK_EXIT_UNHANDLED : ST_EXIT_OK;
}
