/* The options of `sandtrace run`, shared with `record` (which adds its own
 * observer): parsing from the command line and from --config FILE, building
 * the session (virtual file system, streams, limits), running it, and
 * reporting its end on stderr and in --outcome FILE. */
#ifndef SANDTRACE_TOOLS_CMD_RUN_OPTS_H
#define SANDTRACE_TOOLS_CMD_RUN_OPTS_H

#include <stddef.h>
#include <stdint.h>

#include "controller/observer.h"
#include "controller/session.h"
#include "tools/options.h"
#include "tools/run_output.h"

enum {
    ST_RUN_OPT_HELP = 1,     /* --help was asked for */
    ST_RUN_OPT_USAGE = -1,   /* bad command line (message and hint printed) */
    ST_RUN_OPT_ERROR = -2,   /* a --config file could not be read (message printed) */
};

/* --color=WHEN */
enum st_run_color { ST_RUN_COLOR_AUTO, ST_RUN_COLOR_ALWAYS, ST_RUN_COLOR_NEVER };

/* A command's own options beside run's (record's -o, --key...): their table,
 * with ids from ST_RUN_EXTRA_ID up, and what to do with each one. `take`
 * returns 0, or ST_RUN_OPT_USAGE after a message (opt_usage). */
#define ST_RUN_EXTRA_ID 1000
struct st_run_extra {
    const struct opt_spec *specs;
    int (*take)(void *ctx, const struct opt_parser *p, int id);
    void *ctx;
};

struct st_run_kv {
    char *key;               /* virtual path or env name=value */
    char *value;
};

struct st_run_options {
    struct st_session_config cfg;   /* filled as options are parsed */
    const char *prog;               /* "run" or "record", for messages */
    /* Guest. */
    const char *exe;
    char **guest_args;              /* ARGS after the executable (not owned) */
    int nguest_args;
    char *argv0;                    /* --argv0 or derived */
    const char **argv;              /* argv0 + guest args (owned array) */
    char *home;                     /* --home or derived */
    /* Environment entries "K=V" (owned). */
    char **env;
    size_t nenv;
    /* Virtual file system. */
    struct st_run_kv *mounts;
    size_t nmounts;
    struct st_run_kv *files;
    size_t nfiles;
    char *tmp_dir;                  /* --tmp DIR */
    int tmp_write;                  /* --tmp-write */
    uint64_t tmp_quota;
    char *tmp_export;               /* --export-tmp DIR */
    char *lib_path;                 /* --lib-path DIR */
    char *cwd;
    uint64_t seed;
    char **exclude;                 /* --exclude patterns (owned) */
    size_t nexclude;
    int show_dotfiles, follow_symlinks;
    /* Streams. */
    char *stdin_file, *stdout_file, *stderr_file;
    int raw_stdout, raw_stderr;     /* --raw-stdout, --raw-stderr: raw on a terminal too */
    enum st_run_color color;
    /* Report. */
    char *outcome_file;
    int debug;
    int quiet;                      /* no end-of-run line on stderr */
    char *tz;                       /* --tz ZONE (NULL: UTC) */
    char *locale;                   /* --locale NAME (NULL: C.UTF-8) */
    /* User handlers (docs/handlers.md), in the order given (owned). */
    char **plugins;                 /* --plugin FILE.so[:ARGS] */
    size_t nplugins;
    char **handlers;                /* --handler PATTERN=COMMAND */
    size_t nhandlers;
    double handler_timeout;         /* --handler-timeout SEC (default 5) */
    /* Owned strings from --config FILE. */
    char **owned;
    size_t nowned;
    /* The run options given on the command line, as words ("--mount",
     * "/d=x"), for the trace's record of them (owned). */
    char **words;
    size_t nwords;
    /* record: the trace's file, put in place when the guest starts (not owned). */
    struct run_output *trace_output;
    int started;                    /* st_run_execute: the guest was started */
};

void st_run_options_init(struct st_run_options *ro);
void st_run_options_release(struct st_run_options *ro);

/* The option lines of --help (shared by run and record). */
const char *st_run_options_help(void);

/* Parses argv (argv[0] is the subcommand's name) with tools/options.h: the
 * options end at the executable (or "--"). `extra` (may be NULL) adds the
 * command's own options. Returns 0, ST_RUN_OPT_HELP, or a negative
 * ST_RUN_OPT_* after printing a message. */
int st_run_options_parse(struct st_run_options *ro, int argc, char **argv, const char *prog,
                         const struct st_run_extra *extra);

/* The exit code for a parse result that is not 0: 0 for --help, 2 for a
 * usage error, 4 for a --config file that cannot be read. */
int st_run_options_exit_code(int rc);

/* st_dump_capture (10 s) with SIGPIPE ignored meanwhile: a guest that
 * closes its pipes early must not kill sandtrace. */
int st_run_dump_capture(const char *exe, char **text, int *exec_errno);

/* --debug: runs the guest in dump mode and prints, on stderr, every
 * function it can request that the registry does not handle. */
void st_run_debug_dump(const struct st_run_options *ro);

/* Checks every file of the run (--stdin, --stdout, --stderr, --outcome,
 * --export-tmp) before anything starts, builds the session, adds `extra`
 * (may be NULL) as an observer, runs it, prints the end (unless it exited
 * normally, or -q) on stderr and writes --outcome. The stream files and
 * ro->trace_output replace their targets once the guest has started
 * (ro->started). Returns the exit code (tools/run_outcome.h; 4 for an
 * unreadable --stdin, 6 for an output that cannot be written, 70 for a
 * guest that could not be set up); `out` is always filled. */
int st_run_execute(struct st_run_options *ro, const struct st_observer *extra,
                   struct st_outcome *out);

/* --tz: a POSIX TZ string as it is, or a zone name of this host's zoneinfo
 * turned into its POSIX rule (into out, cap bytes, when cap > 0). Returns 0
 * or -1 when it is neither. */
int st_run_tz_resolve(const char *tz, char *out, size_t cap);

/* The guest's real environment: "LANG=..." and "TZ=..." into the buffers. */
void st_run_real_env(const struct st_run_options *ro, char *lang, size_t lang_cap, char *tz,
                     size_t tz_cap);

#endif
