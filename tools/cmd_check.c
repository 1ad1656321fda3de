/* sandtrace check EXECUTABLE: runs the guest in dump mode (RPY_SANDBOX_DUMP=1)
 * and lists every function it can request with what the controller does
 * with it: handled, refused (deliberately, with an errno), fatal or unknown. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/registry.h"
#include "controller/session.h"
#include "tools/cmd_run_opts.h"
#include "tools/commands.h"
#include "tools/options.h"


static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: sandtrace check [--all] [--] EXECUTABLE\n"
            "\n"
            "Runs EXECUTABLE in dump mode (RPY_SANDBOX_DUMP=1), reads the functions it can\n"
            "request, and prints one line per function that the controller does not handle\n"
            "(--all: every function) with its verdict: handled, refused (answered with an\n"
            "errno), fatal or unknown (the guest is ended if it calls them), then a summary.\n"
            "\n"
            "exit status:\n"
            "  0   every function has an entry (handled or refused)\n"
            "  1   some are fatal or unknown\n"
            "  2   bad command line\n"
            "  6   the list cannot be written\n"
            "  70  the dump could not be obtained (not a sandbox-2 guest, cannot run)\n");
}

enum { C_ALL = 256 };

static const struct opt_spec check_specs[] = {
    { C_ALL, 0, "all", OPT_NONE },
    { 'h', 'h', "help", OPT_NONE },
    OPT_SPEC_END,
};

/* The executable from the command line; NULL after a usage message or
 * --help (*code says which). */
static const char *parse(int argc, char **argv, int *all, int *code)
{
    struct opt_parser p;
    opt_init(&p, "check", check_specs, argc, argv, 0);
    const char *exe = NULL;
    *code = ST_EXIT_USAGE;
    for (int id; (id = opt_next(&p)) != OPT_DONE;) {
        if (id == OPT_ERROR)
            goto out;
        if (id == 'h') {
            check_usage(stdout);
            *code = ST_EXIT_OK;
            goto out;
        }
        *all = 1;
    }
    if (p.noperands == 0)
        opt_usage(&p, "no executable given");
    else if (p.noperands > 1)
        opt_usage(&p, "one executable only (not '%s' too)", p.operands[1]);
    else
        exe = p.operands[0];
out:
    opt_release(&p);
    return exe;
}

int cmd_check(int argc, char **argv)
{
    int all = 0, code;
    const char *exe = parse(argc, argv, &all, &code);
    if (!exe)
        return code;
    char *text = NULL;
    int err = 0;
    int rc = st_run_dump_capture(exe, &text, &err);
    if (rc < 0) {
        fprintf(stderr, "sandtrace check: cannot run '%s' in dump mode: %s\n", exe,
                err ? strerror(err) : st_error_name(rc));
        return ST_EXIT_ERROR;
    }
    struct st_dump d;
    if (st_dump_parse(text, &d) < 0) {
        fprintf(stderr, "sandtrace check: '%s' printed no Version/Funcs in dump mode "
                        "(is it a sandbox-2 guest?)\n", exe);
        free(text);
        return ST_EXIT_ERROR;
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
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "sandtrace check: cannot write the list: %s\n", strerror(errno));
        return ST_EXIT_OUTPUT;
    }
    return fatal || unknown ? ST_EXIT_DIFFERENT : ST_EXIT_OK;
}
